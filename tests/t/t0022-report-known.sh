#!/bin/sh
# The report of "kstage run --once" names a known failure once per plan,
# on the lowest stage that has it; the stages above count it ("N more,
# named on a stage above") instead of repeating every line.
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'a known failure on three stages: named once, counted twice' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate fail "migrate: wrong errno" &&
	fake_commit repo "mm: one breaks migrate" &&
	git -C repo checkout -q -b s2 &&
	fake_commit repo "mm: two" mm/b.c "int b;" &&
	git -C repo checkout -q -b s3 &&
	fake_commit repo "mm: three" mm/c.c "int c;" &&
	write_profile known.json 60 60 "\"known_failures\": [{ \"test\": \"hmm-tests/hmm.*.migrate\", \"reason\": \"wrong errno on this base\" }]" &&
	write_plan plan.json "$TRASH/repo" "$TRASH/known.json" one:s1 two:s2 three:s3 &&
	kstage_once &&
	test "$(sql k.db "SELECT count(*) FROM changes WHERE kind = \"known\"")" = 3 &&
	test "$(grep -c "^ *known  *hmm-tests/hmm.hmm_device_private.migrate (fail -> fail): wrong errno on this base" out)" = 0 &&
	test "$(grep -c "^ *known  *hmm-tests/hmm.hmm_device_private.migrate (pass -> fail): wrong errno on this base" out)" = 1 &&
	test "$(grep -c "^ *known  *1 more, named on a stage above$" out)" = 2
'

test_done
