#!/bin/sh
# Bisection: flaky tests, runs per step and confidence, k-ary rounds with
# several slots, a re-pushed range costs nothing, restart resumes, a newer
# push cancels.
. "$(dirname "$0")/test-lib.sh"

# range N CULPRIT OUTCOME: stage two = N commits on s1; commit CULPRIT
# sets hmm.hmm_device_private.migrate to OUTCOME ("fail" or "flaky 2").
range() {
	git -C repo checkout -q -B s2 s1
	for i in $(seq 1 "$1"); do
		if [ "$i" = "$2" ]; then
			set_test repo hmm-tests hmm.hmm_device_private.migrate $3
			fake_commit repo "lib/test_hmm: commit $i, the culprit"
		else
			fake_commit repo "mm: commit $i" "mm/f$i.c" "int f$i;"
		fi
	done
}

config() {	# KEY VALUE...: a daemon config with these settings
	printf "{" > config.json
	sep=
	while [ $# -ge 2 ]; do
		printf "%s \"%s\": %s" "$sep" "$1" "$2" >> config.json
		sep=,
		shift 2
	done
	printf " }\n" >> config.json
}

test_expect_success 'setup' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2
'

test_expect_success 'a flaky failure is reported as flaky with its rate, not bisected' '
	range 7 3 "flaky 2" &&
	test_exit 1 kstage_once &&
	test "$(bisect_field state)" = flaky &&
	test "$(bisect_field fail_rate)" = 0.5 &&
	bisect_field detail | grep "failed 1 of 2 runs on the bad head (50%)" &&
	test "$(sql k.db "SELECT count(*) FROM bisection_runs WHERE phase = \"search\"")" = 0
'

test_expect_success 'with runs per step it is bisected and the confidence stated' '
	config bisect_runs 3 &&
	range 7 3 "flaky 2" &&
	fake_commit repo "mm: again" mm/again.c "int again;" &&
	test_exit 1 kstage_once -c config.json &&
	test "$(bisect_field state)" = found &&
	test "$(bisect_field culprit)" = "$(git -C repo rev-parse s2~5)" &&
	test "$(bisect_field runs_per_step)" = 3 &&
	bisect_field detail | grep -E "confidence [0-9.]+% at a 50% fail rate, 3 runs per commit" &&
	awk "BEGIN { exit !($(bisect_field confidence) > 0.5) }" &&
	test "$(sql k.db "SELECT count(*) % 3 FROM bisection_runs WHERE bisection_id = (SELECT max(id) FROM bisections) AND phase = \"search\"")" = 0
'

test_expect_success 'three slots: a 15-commit range in at most ceil(log4(16)) = 2 rounds' '
	config slots 3 &&
	range 15 11 fail &&
	test_exit 1 kstage_once -c config.json &&
	test "$(bisect_field state)" = found &&
	test "$(bisect_field culprit)" = "$(git -C repo rev-parse s2~4)" &&
	test "$(bisect_field rounds)" -le 2 &&
	ls -d work/*/slot-2/tree
'

test_expect_success 'a re-pushed, already-tested range costs no run at all' '
	builds=$(runs_of build) &&
	git -C repo checkout -q s2 &&
	parent=$(git -C repo rev-parse s1) &&
	for c in $(git -C repo rev-list --reverse s1..s2); do
		parent=$(git -C repo log -1 --format="%B" $c | sed "1s/\$/ (v2)/" |
			git -C repo commit-tree $(git -C repo rev-parse $c^{tree}) -p $parent)
	done &&
	git -C repo reset -q --hard $parent &&
	test_exit 1 kstage_once &&
	test "$(runs_of build)" = "$builds" &&
	test "$(bisect_field state)" = found &&
	test "$(bisect_field runs)" = 0 &&
	test "$(bisect_field culprit)" = "$(git -C repo rev-parse s2~4)" &&
	bisect_field detail | grep "answered from bisection"
'

test_expect_success 'kill -9 mid-search: the next start resumes the same bisection' '
	git -C repo checkout -q s1 &&
	fake_commit repo "mm: one, slow boots" SLEEP 1 &&
	range 12 9 fail &&
	"$KSTAGE" run --once --plan plan.json --db k.db --artifacts art --work work \
		--cache cache > out 2> err &
	pid=$!
	for i in $(seq 300); do
		test "$(bisect_field state)" = searching &&
		test "$(sql k.db "SELECT count(*) FROM bisection_runs br JOIN runs r ON r.id = br.run_id
			WHERE br.bisection_id = (SELECT max(id) FROM bisections) AND br.phase = \"search\" AND r.state = \"done\"")" -ge 1 &&
		test "$(sql k.db "SELECT count(*) FROM steps s JOIN runs r ON r.id = s.run_id
			WHERE r.state = \"running\" AND s.name = \"boot\" AND s.state = \"running\"")" = 1 &&
		break
		sleep 0.1
	done
	kill -9 $pid
	wait $pid || true
	id=$(bisect_field id)
	test "$(bisect_field state)" = searching
	confirms=$(sql k.db "SELECT count(*) FROM bisection_runs WHERE bisection_id = $id AND phase = \"confirm\"")
	test_exit 1 kstage_once
	test "$(bisect_field id)" = "$id"
	test "$(bisect_field state)" = found
	test "$(bisect_field culprit)" = "$(git -C repo rev-parse s2~3)"
	test "$(sql k.db "SELECT count(*) FROM bisection_runs WHERE bisection_id = $id AND phase = \"confirm\"")" = "$confirms"
	test_grep "re-queued 1 run" err
'

test_expect_success 'a newer push cancels the bisection of the old head' '
	range 12 9 fail &&
	fake_commit repo "mm: one more" mm/more.c "int more;" &&
	# Boots of two seconds each, below the range too: the bisection is
	# caught while it is under way.
	git -C repo checkout -q s1 && fake_commit repo "slow boots" SLEEP 2 &&
	git -C repo rebase -q s1 s2 &&
	before=$(sql k.db "SELECT coalesce(max(id), 0) FROM bisections") &&
	{ "$KSTAGE" run --once --plan plan.json --db k.db --artifacts art --work work \
		--cache cache > out 2> err & } &&
	pid=$! &&
	i=0 &&
	until [ -n "$(sql k.db "SELECT id FROM bisections WHERE id > $before AND state IN
		(\"requested\", \"confirming\", \"searching\", \"verifying\")")" ] || [ $i -ge 600 ]; do
		sleep 0.1; i=$((i + 1)); done &&
	old=$(sql k.db "SELECT id FROM bisections WHERE id > $before ORDER BY id DESC LIMIT 1") &&
	test -n "$old" &&
	kill -9 $pid && { wait $pid || true; } &&
	git -C repo checkout -q s2 &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate pass &&
	fake_commit repo "lib/test_hmm: fix migrate" &&
	kstage_once &&
	test "$(bisect_field state "WHERE id = $old")" = canceled &&
	bisect_field detail "WHERE id = $old" | grep "newer head" &&
	test "$(sql k.db "SELECT count(*) FROM runs WHERE bisection_id = $old AND state IN (\"queued\", \"running\")")" = 0 &&
	test "$(stage_field two verdict)" = green &&
	test_no_leftovers
'

test_done
