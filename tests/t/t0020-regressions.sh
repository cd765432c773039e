#!/bin/sh
# Regressions against the stage below, the other transitions, and known
# failures.
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: a regression planted in stage 3 of 4' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	git -C repo checkout -q -b s2 &&
	fake_commit repo "mm: two" mm/b.c "int b;" &&
	git -C repo checkout -q -b s3 &&
	fake_commit repo "mm: three a" mm/c.c "int c;" &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate fail \
		"hmm-tests.c:1017:migrate:Expected ret (-22) == 0 (0)" &&
	fake_commit repo "lib/test_hmm: return the wrong error" &&
	fake_commit repo "mm: three c" mm/d.c "int d;" &&
	git -C repo checkout -q -b s4 &&
	fake_commit repo "mm: four" mm/e.c "int e;" &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" \
		one:s1 two:s2 three:s3 four:s4
'

test_expect_success 'the pass exits 1 and stage 3 is red, naming the test' '
	test_exit 1 kstage_once &&
	test "$(stage_field one verdict)" = green &&
	test "$(stage_field two verdict)" = green &&
	test "$(stage_field three verdict)" = red &&
	test "$(stage_field three regressions)" = 1 &&
	test_grep "regression +hmm-tests/hmm.hmm_device_private.migrate \(pass -> fail\): hmm-tests.c:1017:migrate:Expected ret \(-22\) == 0" out
'

test_expect_success 'stage 4 inherits the failure but did not regress against stage 3' '
	test "$(stage_field four verdict)" = green &&
	test "$(stage_field four regressions)" = 0 &&
	test "$(sql k.db "SELECT status FROM results WHERE run_id = (SELECT run_id FROM stages WHERE name = \"four\") AND test = \"hmm-tests/hmm.hmm_device_private.migrate\"")" = fail
'

test_expect_success 'the suite line counts too: the parent failing is not a separate result' '
	test "$(sql k.db "SELECT count(*) FROM results WHERE test = \"hmm-tests\"")" = 0
'

test_expect_success 'fixed, new and skipped transitions' '
	git -C repo checkout -q s4 &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate pass &&
	set_test repo hmm-tests hmm.hmm_device_private.exclusive skip "no device" &&
	set_test repo cow anon_cow pass &&
	fake_commit repo "four: fix migrate, skip exclusive, add cow" &&
	kstage_once || true &&
	sql k.db "SELECT kind || \" \" || test FROM changes WHERE stage_id =
		(SELECT id FROM stages WHERE name = \"four\") ORDER BY test" > actual &&
	cat > expect <<-\EOF &&
	new cow/anon_cow
	skipped hmm-tests/hmm.hmm_device_private.exclusive
	fixed hmm-tests/hmm.hmm_device_private.migrate
	EOF
	test_cmp expect actual &&
	test "$(stage_field four verdict)" = green &&
	test "$(stage_field four fixed)" = 1
'

test_expect_success 'a known failure is shown, not counted' '
	write_profile known.json 60 60 "\"known_failures\": [{ \"test\": \"hmm-tests/hmm.*.migrate\", \"reason\": \"wrong errno, fixed in four\", \"until\": \"four\" }]" &&
	write_plan plan.json "$TRASH/repo" "$TRASH/known.json" \
		one:s1 two:s2 three:s3 four:s4 &&
	kstage_once &&
	test "$(stage_field three verdict)" = green &&
	test "$(stage_field three known)" = 1 &&
	test "$(sql k.db "SELECT kind || \"|\" || detail FROM changes WHERE stage_id = (SELECT id FROM stages WHERE name = \"three\")")" = "known|wrong errno, fixed in four"
'

test_expect_success 'a known failure with "until" no longer covers that stage' '
	git -C repo checkout -q s4 &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate fail &&
	fake_commit repo "four: break migrate again" &&
	kstage_once &&
	test "$(sql k.db "SELECT count(*) FROM changes WHERE stage_id = (SELECT id FROM stages WHERE name = \"four\") AND kind = \"known\"")" = 0 &&
	test "$(sql k.db "SELECT count(*) FROM changes WHERE stage_id = (SELECT id FROM stages WHERE name = \"three\") AND kind = \"known\"")" = 1
'

test_expect_success 'a new failure on a stage at or past "until" is a regression' '
	git -C repo checkout -q s3 &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate pass &&
	fake_commit repo "three: fix migrate" &&
	git -C repo checkout -q -B s4 s3 &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate fail &&
	fake_commit repo "four: break migrate" &&
	test_exit 1 kstage_once &&
	test "$(stage_field three verdict)" = green &&
	test "$(stage_field four verdict)" = red &&
	test_grep "regression +hmm-tests/hmm.hmm_device_private.migrate" out
'

test_expect_success 'the known-failure list does not change the profile digest' '
	test "$(sql k.db "SELECT count(DISTINCT profile_digest) FROM runs")" = 1
'

test_done
