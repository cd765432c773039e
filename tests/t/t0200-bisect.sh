#!/bin/sh
# Automatic bisection: confirmed first, found at the exact commit, verified,
# stored with its steps.
. "$(dirname "$0")/test-lib.sh"

# make_range N CULPRIT: stage "two" gets N commits on top of s1; commit
# number CULPRIT (1-based) breaks hmm.hmm_device_private.migrate.
make_range() {
	n=$1 culprit=$2
	git -C repo checkout -q -B s2 s1
	for i in $(seq 1 "$n"); do
		if [ "$i" = "$culprit" ]; then
			set_test repo hmm-tests hmm.hmm_device_private.migrate fail \
				"hmm-tests.c:1017:migrate:Expected ret (-22) == 0 (0)"
			fake_commit repo "lib/test_hmm: commit $i, the culprit"
		else
			fake_commit repo "mm: commit $i" "mm/f$i.c" "int f$i;"
		fi
	done
}

test_expect_success 'setup: a green stage one' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2
'

test_expect_success 'a regression in the middle of 9 commits is found at its commit' '
	make_range 9 4 &&
	test_exit 1 kstage_once &&
	test "$(bisect_field state)" = found &&
	test "$(bisect_field culprit)" = "$(git -C repo rev-parse s2~5)" &&
	test "$(bisect_field culprit_stage)" = two &&
	test "$(bisect_field reason)" = auto &&
	test "$(bisect_field tests)" = hmm-tests/hmm.hmm_device_private.migrate &&
	test_grep "bisection 1: found [0-9a-f]{12} \"lib/test_hmm: commit 4, the culprit\" \(stage two\)" out
'

test_expect_success 'it confirmed first, searched in at most ceil(log2(10)) rounds, then verified' '
	sql k.db "SELECT phase FROM bisection_runs ORDER BY run_id" | uniq > phases &&
	printf "confirm\nsearch\nverify\n" > expect &&
	test_cmp expect phases &&
	test "$(bisect_field rounds)" -le 4 &&
	test "$(sql k.db "SELECT count(*) FROM bisection_runs WHERE phase = \"search\"")" -le 4 &&
	test "$(sql k.db "SELECT verdict FROM bisection_runs WHERE phase = \"verify\" ORDER BY seq" | tr "\n" " ")" = "good bad "
'

test_expect_success 'bisection runs ran only the failing test' '
	run=$(sql k.db "SELECT run_id FROM bisection_runs WHERE phase = \"search\" LIMIT 1") &&
	test "$(sql k.db "SELECT tests FROM runs WHERE id = $run")" = hmm-tests/hmm.hmm_device_private.migrate &&
	sql k.db "SELECT test FROM results WHERE run_id = $run ORDER BY test" > tests &&
	printf "boot\nhmm-tests/hmm.hmm_device_private.migrate\n" > expect &&
	test_cmp expect tests
'

test_expect_success 'the marks agree with the answer' '
	sql k.db "SELECT seq || \" \" || mark FROM bisection_commits WHERE mark IN (\"good\", \"bad\") ORDER BY seq" > marks &&
	awk "\$2 == \"good\" && \$1 >= 3 { exit 1 } \$2 == \"bad\" && \$1 < 3 { exit 1 }" marks
'

test_expect_success 'a second pass starts no second bisection for the same head' '
	kstage_once || true &&
	test "$(sql k.db "SELECT count(*) FROM bisections")" = 1
'

test_expect_success 'culprit at the first and at the last commit' '
	make_range 6 1 &&
	test_exit 1 kstage_once &&
	test "$(bisect_field state)" = found &&
	test "$(bisect_field culprit)" = "$(git -C repo rev-parse s2~5)" &&
	make_range 6 6 &&
	fake_commit repo "mm: touch" mm/z.c "int z;" &&
	git -C repo reset -q --hard HEAD~1 &&
	test_exit 1 kstage_once &&
	test "$(bisect_field state)" = found &&
	test "$(bisect_field culprit)" = "$(git -C repo rev-parse s2)"
'

test_expect_success 'a single-commit stage needs no search' '
	make_range 1 1 &&
	git -C repo commit -q --amend -m "lib/test_hmm: the only commit" &&
	test_exit 1 kstage_once &&
	test "$(bisect_field state)" = found &&
	test "$(bisect_field culprit)" = "$(git -C repo rev-parse s2)" &&
	test "$(bisect_field rounds)" = 0
'

test_expect_success 'an unbuildable commit right before the culprit: an honest range' '
	git -C repo checkout -q -B s2 s1 &&
	fake_commit repo "mm: c1" mm/c1.c "int c1;" &&
	fake_commit repo "mm: c2 does not build" BUILD_ERROR "mm/c2.c:1:1: error: oops" &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate fail &&
	fake_commit repo "lib/test_hmm: c3, the culprit, also fixes the build" BUILD_ERROR - &&
	fake_commit repo "mm: c4" mm/c4.c "int c4;" &&
	fake_commit repo "mm: c5" mm/c5.c "int c5;" &&
	test_exit 1 kstage_once &&
	test "$(bisect_field state)" = inconclusive &&
	test "$(bisect_field range_good)" = "$(git -C repo rev-parse s2~4)" &&
	test "$(bisect_field range_bad)" = "$(git -C repo rev-parse s2~2)" &&
	bisect_field detail | grep "untestable: $(git -C repo rev-parse --short=12 s2~3)"
'

test_expect_success 'an unbuildable commit right after the culprit is worked around' '
	git -C repo checkout -q -B s2 s1 &&
	fake_commit repo "mm: c1" mm/c1.c "int c1;" &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate fail &&
	fake_commit repo "lib/test_hmm: c2, the culprit" &&
	fake_commit repo "mm: c3 does not build" BUILD_ERROR "mm/c3.c:1:1: error: oops" &&
	fake_commit repo "mm: c4 fixes the build" BUILD_ERROR - &&
	fake_commit repo "mm: c5" mm/c5.c "int c5;" &&
	test_exit 1 kstage_once &&
	test "$(bisect_field state)" = found &&
	test "$(bisect_field culprit)" = "$(git -C repo rev-parse s2~3)"
'

test_expect_success 'a panic regression is bisected on the boot result' '
	git -C repo checkout -q -B s2 s1 &&
	fake_commit repo "mm: p1" mm/p1.c "int p1;" &&
	fake_commit repo "mm: p2 panics" PANIC yes &&
	fake_commit repo "mm: p3" mm/p3.c "int p3;" &&
	test_exit 1 kstage_once &&
	test "$(bisect_field tests)" = boot &&
	test "$(bisect_field state)" = found &&
	test "$(bisect_field culprit)" = "$(git -C repo rev-parse s2~1)"
'

test_expect_success 'across stages: the stage below did not build, the culprit is in it' '
	git -C repo checkout -q -B s2 s1 &&
	fake_commit repo "mm: two a" mm/ta.c "int ta;" &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate fail &&
	fake_commit repo "lib/test_hmm: two b, the culprit" &&
	fake_commit repo "mm: two c does not build" BUILD_ERROR "mm/tc.c:1:1: error: x" &&
	git -C repo checkout -q -B s3 s2 &&
	fake_commit repo "mm: three a fixes the build" BUILD_ERROR - &&
	fake_commit repo "mm: three b" mm/tb.c "int tb;" &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 three:s3 &&
	test_exit 1 kstage_once &&
	test "$(stage_field two verdict)" = error &&
	test "$(stage_field three verdict)" = red &&
	test "$(bisect_field good_commit)" = "$(git -C repo rev-parse s1)" &&
	test "$(bisect_field state)" = found &&
	test "$(bisect_field culprit)" = "$(git -C repo rev-parse s2~1)" &&
	test "$(bisect_field culprit_stage)" = two &&
	test "$(sql k.db "SELECT stage || \" \" || boundary FROM bisection_commits WHERE bisection_id = (SELECT max(id) FROM bisections) AND seq >= 0 ORDER BY seq" | tr "\n" ",")" = "two 0,two 0,two 1,three 0,three 1," &&
	first=$(sql k.db "SELECT seq FROM bisection_runs WHERE bisection_id = (SELECT max(id) FROM bisections) AND phase = \"search\" ORDER BY run_id LIMIT 1") &&
	test "$first" = 2
'

test_done
