#!/bin/sh
# Results are keyed by (tree, profile digest): a tree tested once is never
# built again, whatever commit carries it.
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'setup: two stages' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	git -C repo checkout -q -b s2 &&
	fake_commit repo "mm: two" mm/b.c "int b;" &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 &&
	kstage_once &&
	test "$(runs_of build)" = 3
'

test_expect_success 'a commit with the same tree (amended message) reuses the result' '
	git -C repo checkout -q s2 &&
	git -C repo commit -q --amend -m "mm: two, better message" &&
	kstage_once &&
	test "$(runs_of build)" = 3 &&
	run=$(stage_field two run_id) &&
	test "$(sql k.db "SELECT reused_from IS NOT NULL FROM runs WHERE id = $run")" = 1 &&
	test "$(sql k.db "SELECT count(*) FROM results WHERE run_id = $run")" = 10 &&
	test_grep "two .*green" out &&
	test_grep "\(reused\)" out
'

test_expect_success 'a stage reset to a tree tested before costs nothing' '
	old=$(git -C repo rev-parse s1) &&
	fake_commit repo "mm: two b" mm/c.c "int c;" &&
	kstage_once &&
	test "$(runs_of build)" = 4 &&
	git -C repo reset -q --hard HEAD~1 &&
	kstage_once &&
	test "$(runs_of build)" = 4
'

test_expect_success 'a changed profile is a new key: everything runs again' '
	write_profile profile.json 61 &&
	kstage_once &&
	test "$(runs_of build)" = 7
'

test_expect_success 'the slot tree is switched incrementally: unchanged files keep their mtime' '
	tree=$(ls -d work/*/slot-0/tree) &&
	before=$(stat -c %Y.%y "$tree/mm/a.c") &&
	sleep 1.1 &&
	git -C repo checkout -q s2 &&
	fake_commit repo "mm: two c" mm/b.c "int b2;" &&
	kstage_once &&
	test "$(stat -c %Y.%y "$tree/mm/a.c")" = "$before" &&
	test "$(cat "$tree/mm/b.c")" = "int b2;" &&
	test ! -e "$tree/mm/c.c" || { echo "c.c should have been removed by the reset"; false; }
'

test_expect_success 'a slot left dirty by a crash is checked out in full again' '
	tree=$(ls -d work/*/slot-0/tree) &&
	state=$(ls work/*/slot-0/state) &&
	echo garbage > "$tree/mm/a.c" &&
	echo stray > "$tree/stray" &&
	sed -i "s/clean/dirty/" "$state" &&
	fake_commit repo "mm: two d" mm/b.c "int b3;" &&
	kstage_once &&
	test "$(cat "$tree/mm/a.c")" = "int a;" &&
	test ! -e "$tree/stray" &&
	grep -q " clean" "$state"
'

test_expect_success 'two queued runs of one tree: the later one takes the first one'"'"'s result' '
	git -C repo branch -f same base &&
	write_plan same.json "$TRASH/repo" "$TRASH/profile.json" same:same &&
	: > fake.log &&
	"$KSTAGE" run --once --plan same.json --db same.db --artifacts art \
		--work work --cache cache > out 2> err &&
	test "$(runs_of build)" = 1 &&
	test "$(sql same.db "SELECT count(*) FROM runs WHERE reused_from IS NOT NULL")" = 1 &&
	test_grep "same .*green" out
'

test_expect_success 'the repository itself is never touched' '
	git -C repo status --porcelain > status &&
	test ! -s status
'

test_done
