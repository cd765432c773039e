#!/bin/sh
# The gate state: how far the integration branch could move (every stage
# up to it green on a consistent stack).
. "$(dirname "$0")/test-lib.sh"

gate() {
	sql k.db "SELECT state || '|' || coalesce(detail, '') FROM gates"
}

test_expect_success 'setup: two green stages, integration at the base' '
	gate_setup &&
	kstage_once
'

test_expect_success 'the integration branch can fast-forward to the top stage' '
	test "$(gate)" = "can-advance|integration can fast-forward to stage two" &&
	test "$(sql k.db "SELECT commit_id FROM gates")" = "$(git -C repo rev-parse s2)" &&
	test "$(sql k.db "SELECT integration_head FROM gates")" = "$(git -C repo rev-parse base)" &&
	test_grep "^  gate can-advance" out
'

test_expect_success 'at the top stage it is current' '
	git -C repo branch -f integration s2 &&
	kstage_once &&
	test "$(gate)" = "current|integration is at stage two"
'

test_expect_success 'a gate event is recorded when the gate changes, not otherwise' '
	sql k.db "SELECT data FROM events WHERE kind = \"gate\" ORDER BY id DESC LIMIT 1" | grep "\"state\":\"current\"" &&
	before=$(sql k.db "SELECT count(*) FROM events WHERE kind = \"gate\"") &&
	kstage_once &&
	test "$(sql k.db "SELECT count(*) FROM events WHERE kind = \"gate\"")" = "$before"
'

test_expect_success 'a red stage stops the gate below it' '
	git -C repo branch -f integration s1 &&
	git -C repo checkout -q s2 &&
	set_test repo hmm-tests hmm.hmm_device_private.anon_read fail &&
	fake_commit repo "two: break anon_read" &&
	test_exit 1 kstage_once &&
	test "$(gate)" = "current|integration is at stage one" &&
	git -C repo branch -f integration base &&
	test_exit 1 kstage_once &&
	test "$(gate)" = "can-advance|integration can fast-forward to stage one (not further: stage two is red)"
'

test_expect_success 'red at stage one: blocked' '
	git -C repo checkout -q s1 &&
	set_test repo hmm-tests hmm.hmm_device_private.anon_write fail &&
	fake_commit repo "one: break anon_write" &&
	test_exit 1 kstage_once &&
	gate | grep "^blocked|stage one is red"
'

test_expect_success 'integration with commits of its own: diverged' '
	git -C repo checkout -q s1 &&
	git -C repo reset -q --hard HEAD~1 &&
	git -C repo checkout -q -B s2 s1 &&
	fake_commit repo "mm: two again" mm/b.c "int b;" &&
	git -C repo checkout -q integration &&
	fake_commit repo "a hotfix only on integration" hot.c "int hot;" &&
	kstage_once &&
	test "$(gate)" = "diverged|integration has commits that stage two does not contain"
'

test_done
