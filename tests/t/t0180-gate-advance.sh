#!/bin/sh
# The gate moves the integration branch: by itself with "gate": "auto",
# on request (kstage gate advance, POST .../gate) with "manual", never
# with "off"; only ever a fast-forward to a stage tested green with every
# stage below it, as a compare-and-swap, with a reflog naming the runs;
# every decision recorded.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

policy() {
	sed -i "s/\"integration\": \"integration\",/\"integration\": \"integration\", \"gate\": \"$1\",/" plan.json
}

decisions() {
	sql k.db "SELECT action || '|' || by FROM gate_decisions ORDER BY id"
}

test_expect_success 'setup: two green stages, integration at the base' '
	gate_setup
'

test_expect_success 'a bad policy is refused with its place' '
	cp plan.json good.json &&
	policy sometimes &&
	test_exit 2 "$KSTAGE" check -p plan.json 2> err &&
	grep "plan.json:2:.*gate: \"sometimes\" is not a gate policy" err &&
	mv good.json plan.json
'

test_expect_success 'auto: the integration branch follows the green stages' '
	policy auto &&
	kstage_once &&
	test "$(git -C repo rev-parse integration)" = "$(git -C repo rev-parse s2)" &&
	test "$(sql k.db "SELECT state FROM gates")" = current &&
	test "$(sql k.db "SELECT count(*) FROM gate_decisions WHERE action <> \"moved\"")" = 0 &&
	sql k.db "SELECT detail FROM gate_decisions ORDER BY id DESC LIMIT 1" |
		grep "^integration moved to stage two" &&
	git -C repo reflog show --format=%gs -1 integration > reflog &&
	grep "^kstage gate: stage two at [0-9a-f]\{12\}, tested by runs [0-9]* [0-9]* (by auto)$" reflog &&
	test "$(sql k.db "SELECT count(*) FROM events WHERE kind = \"gate\" AND data LIKE \"%moved%\"")" = \
		"$(sql k.db "SELECT count(*) FROM gate_decisions")"
'

test_expect_success 'auto: a red stage two stops it at stage one' '
	git -C repo branch -f integration base &&
	git -C repo checkout -q s2 &&
	set_test repo hmm-tests hmm.hmm_device_private.anon_read fail &&
	fake_commit repo "two: break anon_read" &&
	test_exit 1 kstage_once &&
	test "$(git -C repo rev-parse integration)" = "$(git -C repo rev-parse s1)" &&
	test "$(sql k.db "SELECT state FROM gates")" = current
'

test_expect_success 'auto: a diverged branch is never moved, the gate is blocked' '
	git -C repo checkout -q integration &&
	fake_commit repo "a hotfix only on integration" hot.c "int hot;" &&
	hot=$(git -C repo rev-parse integration) &&
	test_exit 1 kstage_once &&
	test "$(git -C repo rev-parse integration)" = "$hot" &&
	test "$(sql k.db "SELECT state FROM gates")" = diverged &&
	test "$(decisions | tail -1)" = "blocked|auto"
'

test_expect_success 'manual: nothing moves by itself; the API moves it on request' '
	git -C repo checkout -q s2 &&
	git -C repo branch -f integration base &&
	git -C repo reset -q --hard HEAD~1 &&
	sed -i "s/\"gate\": \"auto\", //" plan.json &&
	write_config &&
	"$KSTAGE" token create ci -c kstage.json > token 2> /dev/null &&
	start_daemon &&
	wait_idle &&
	test "$(git -C repo rev-parse integration)" = "$(git -C repo rev-parse base)" &&
	test "$(sql k.db "SELECT state FROM gates")" = can-advance &&
	post /api/v1/plans/demo/gate "{\"stage\": \"one\"}" > g1.json &&
	test "$(api_code)" = 200 &&
	jq -e ".moved == true" g1.json &&
	test "$(git -C repo rev-parse integration)" = "$(git -C repo rev-parse s1)" &&
	post /api/v1/plans/demo/gate > g2.json &&
	test "$(api_code)" = 200 &&
	test "$(git -C repo rev-parse integration)" = "$(git -C repo rev-parse s2)" &&
	test "$(decisions | tail -2 | tr "\n" " ")" = "moved|ci moved|ci " &&
	api /api/v1/plans/demo > plan.json.out &&
	jq -e ".gate_decisions[0].action == \"moved\" and .gate_decisions[0].by == \"ci\"
		and .gate_decisions[0].stage == \"two\"
		and .gate_decisions[0].new_commit == \"$(git -C repo rev-parse s2)\"" plan.json.out &&
	"$KSTAGE" status --url "$(cat url)" > status.out &&
	grep "^  gate decision: moved by ci: integration moved to stage two" status.out
'

test_expect_success 'manual: refusals say why, are recorded, and move nothing' '
	post /api/v1/plans/demo/gate > g3.json &&
	test "$(api_code)" = 409 &&
	jq -r .error g3.json | grep "integration is already at stage two" &&
	post /api/v1/plans/demo/gate "{\"stage\": \"nosuch\"}" > /dev/null &&
	test "$(api_code)" = 409 &&
	post /api/v1/plans/demo/gate "{\"stage\": 3}" > /dev/null &&
	test "$(api_code)" = 400 &&
	post /api/v1/plans/nosuch/gate > /dev/null &&
	test "$(api_code)" = 404 &&
	api /api/v1/plans/demo/gate -X POST > /dev/null &&
	test "$(api_code)" = 401 &&
	test "$(decisions | tail -2 | tr "\n" " ")" = "refused|ci refused|ci " &&
	test "$(git -C repo rev-parse integration)" = "$(git -C repo rev-parse s2)"
'

test_expect_success 'kstage gate advance, and a red stage it will not pass' '
	git -C repo branch -f integration base &&
	git -C repo checkout -q s2 &&
	set_test repo hmm-tests hmm.hmm_device_private.anon_read fail &&
	fake_commit repo "two: break anon_read again" &&
	post /api/v1/refresh > /dev/null &&
	i=0 &&
	while [ $i -lt 100 ] && [ "$(stage_field two verdict)" != red ]; do
		sleep 0.1; i=$((i + 1)); done &&
	wait_idle &&
	KSTAGE_TOKEN=$(cat token) test_must_fail "$KSTAGE" gate advance --url "$(cat url)" demo two 2> err &&
	grep "stage two is not tested green" err &&
	KSTAGE_TOKEN=$(cat token) "$KSTAGE" gate advance --url "$(cat url)" demo > out &&
	grep "integration moved to stage one" out &&
	test "$(git -C repo rev-parse integration)" = "$(git -C repo rev-parse s1)"
'

test_expect_success 'off: never moved, not even on request' '
	stop_daemon &&
	policy off &&
	start_daemon &&
	git -C repo branch -f integration base &&
	post /api/v1/plans/demo/gate > g4.json &&
	test "$(api_code)" = 409 &&
	jq -r .error g4.json | grep "gate of plan demo is off" &&
	test "$(git -C repo rev-parse integration)" = "$(git -C repo rev-parse base)" &&
	stop_daemon
'

test_done
