#!/bin/sh
# Plan tracking: stacked stages, own commits, stale and missing stages,
# lowest stage first.
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: three stacked stages' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one a" mm/a.c "int a;" &&
	fake_commit repo "mm: one b" mm/b.c "int b;" &&
	git -C repo checkout -q -b s2 &&
	fake_commit repo "mm: two" mm/c.c "int c;" &&
	git -C repo checkout -q -b s3 &&
	fake_commit repo "mm: three a" mm/d.c "int d;" &&
	fake_commit repo "mm: three b" mm/e.c "int e;" &&
	fake_commit repo "mm: three c" mm/f.c "int f;" &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 three:s3
'

test_expect_success 'a consistent green stack exits 0' '
	kstage_once &&
	test_grep "^  1 +one .* ok +green" out &&
	test_grep "^  3 +three .* ok +green" out &&
	test "$(stage_field three verdict)" = green
'

test_expect_success 'every stage ran once, lowest stage first' '
	test "$(runs_of build)" = 4 &&
	git -C repo rev-parse base s1 s2 s3 > expect &&
	sed -n "s/^build //p" fake.log > actual &&
	test_cmp expect actual
'

test_expect_success 'each stage lists its own commits, oldest first' '
	sql k.db "SELECT c.subject FROM stage_commits c JOIN stages s ON s.id = c.stage_id
		WHERE s.name = \"three\" ORDER BY c.seq" > actual &&
	printf "mm: three a\nmm: three b\nmm: three c\n" > expect &&
	test_cmp expect actual &&
	test "$(sql k.db "SELECT count(*) FROM stage_commits c JOIN stages s ON s.id = c.stage_id WHERE s.name = \"one\"")" = 2
'

test_expect_success 'results are per test with the suite as parent' '
	sql k.db "SELECT test, status FROM results WHERE run_id =
		(SELECT run_id FROM stages WHERE name = \"one\") ORDER BY test" > actual &&
	test_grep "^hmm-tests/hmm.hmm_device_private.exclusive\|pass$" actual &&
	test_grep "^gup_test-u/ioctl_status_0\|pass$" actual &&
	test_grep "^boot\|pass$" actual &&
	test "$(wc -l < actual)" = 10
'

test_expect_success 'a second pass with nothing changed runs nothing' '
	kstage_once &&
	test "$(runs_of build)" = 4
'

test_expect_success 'a first-parent merge inside a stage counts as one own commit' '
	git -C repo checkout -q -b side s1 &&
	fake_commit repo "side work" mm/side.c "int side;" &&
	git -C repo checkout -q s2 &&
	git -C repo merge -q --no-ff -m "Merge side into two" side &&
	git -C repo branch -f s3 s2 &&
	git -C repo checkout -q s3 &&
	fake_commit repo "mm: three again" mm/g.c "int g;" &&
	kstage_once &&
	sql k.db "SELECT c.subject FROM stage_commits c JOIN stages s ON s.id = c.stage_id
		WHERE s.name = \"two\" ORDER BY c.seq" > actual &&
	printf "mm: two\nMerge side into two\n" > expect &&
	test_cmp expect actual
'

test_expect_success 'a stage that no longer contains the stage below needs a rebase' '
	git -C repo checkout -q s1 &&
	fake_commit repo "mm: one fixup" mm/a.c "int a = 1;" &&
	test_exit 3 kstage_once &&
	test "$(stage_field two stack_state)" = needs-rebase &&
	test "$(stage_field two missing_commit)" = "$(git -C repo rev-parse s1)" &&
	stage_field two stack_detail | grep "does not contain one.s head" &&
	stage_field two stack_detail | grep "mm: one fixup" &&
	test "$(stage_field three stack_state)" = ok &&
	test_grep "needs-rebase" out
'

test_expect_success 'only the changed stage ran again' '
	test "$(runs_of build)" = 7
'

test_expect_success 'a missing branch is reported and the stage above compares with the one below it' '
	git -C repo branch -D s2 > /dev/null &&
	git -C repo checkout -q s1 &&
	git -C repo branch -f s3 s1 &&
	git -C repo checkout -q s3 &&
	fake_commit repo "mm: three rebased" mm/h.c "int h;" &&
	test_exit 3 kstage_once &&
	test "$(stage_field two stack_state)" = missing &&
	stage_field two stack_detail | grep "branch s2 does not exist" &&
	test "$(stage_field three stack_state)" = ok &&
	test "$(stage_field three verdict)" = green &&
	test "$(sql k.db "SELECT count(*) FROM stage_commits c JOIN stages s ON s.id = c.stage_id WHERE s.name = \"three\"")" = 1
'

test_expect_success 'a missing base is a clear error' '
	sed "s/\"base\": \"base\"/\"base\": \"nosuch\"/" plan.json > nobase.json &&
	test_exit 2 "$KSTAGE" run --once --plan nobase.json --db nb.db \
		--artifacts art --work work --cache cache 2> err &&
	test_grep "base \"nosuch\" does not resolve" err
'

test_done
