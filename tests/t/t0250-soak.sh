#!/bin/sh
# Kill -9 soak: the daemon is killed at random moments, 20 times, while
# it runs a fake plan whose top stage has a regression to bisect.  After
# every kill: the database is intact (PRAGMA integrity_check), every run
# that was done is still done with the same results, and nothing of its
# steps is alive.  At the end the verdicts, the regressions and the
# bisection's culprit are those of an uninterrupted pass.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap 'api_cleanup' EXIT

ROUNDS=${KSTAGE_SOAK_ROUNDS:-20}

# done_runs DB: "RUN|VERDICT|RESULTS" for every finished run.
done_runs() {
	sql "$1" "SELECT r.id || '|' || r.verdict || '|' || (SELECT count(*) FROM results
		WHERE run_id = r.id) FROM runs r WHERE r.state = 'done' ORDER BY r.id"
}

# outcome DB: what a pass decides, for comparing two databases.
outcome() {
	sql "$1" "SELECT name || '|' || verdict FROM stages ORDER BY idx"
	sql "$1" "SELECT s.name || '|' || c.test || '|' || c.kind FROM changes c
		JOIN stages s ON s.id = c.stage_id ORDER BY s.idx, c.test"
	sql "$1" "SELECT state || '|' || coalesce(culprit, '-') FROM bisections
		WHERE reason = 'auto' ORDER BY id"
}

test_expect_success 'setup: three stages, the top one breaks migrate in the 7th of 12 commits' '
	fake_repo repo &&
	echo 1 > repo/SLEEP && git -C repo add SLEEP && fake_commit repo "slow boots" &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	git -C repo checkout -q -b s2 &&
	fake_commit repo "mm: two" mm/b.c "int b;" &&
	git -C repo checkout -q -b s3 &&
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		if [ $i = 7 ]; then
			set_test repo hmm-tests hmm.hmm_device_private.migrate fail "refcount" &&
			fake_commit repo "lib/test_hmm: commit $i, the culprit" || return 1
		else
			fake_commit repo "mm: commit $i" "mm/f$i.c" "int f$i;" || return 1
		fi
	done &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 three:s3 &&
	write_config &&
	# The reference: one uninterrupted pass (exit 1: a stage regressed).
	test_exit 1 "$KSTAGE" run --once -c kstage.json --db ref.db --artifacts ref-art \
		> ref.out 2> ref.err &&
	test "$(sql ref.db "SELECT state FROM bisections WHERE reason = \"auto\"")" = found &&
	outcome ref.db > expect
'

test_expect_success "$ROUNDS kills at random moments: nothing lost, nothing left, the database intact" '
	: > kills &&
	r=0 &&
	while [ $r -lt $ROUNDS ]; do
		r=$((r + 1))
		done_runs k.db > before 2> /dev/null || : > before
		{ "$KSTAGE" serve -c kstage.json --listen 127.0.0.1:0 > serve.out 2>> serve.err & }
		pid=$!
		# 0.3 to 3 s (boots take 1 s): during checkouts, steps, parsing,
		# stage judgements and bisection rounds.
		sleep "$(awk -v s=$r "BEGIN { srand(s * 7919); printf \"%.2f\", 0.3 + rand() * 2.7 }")"
		kill -9 $pid
		wait $pid 2> /dev/null
		echo "round $r: killed after $(sql k.db "SELECT count(*) FROM runs WHERE state = \"done\"") runs done" >> kills
		test "$(sql k.db "PRAGMA integrity_check")" = ok || return 1
		# What was done stays done, with the same results.
		done_runs k.db > after
		while read -r line; do
			grep -qxF "$line" after || { echo "round $r: lost $line"; return 1; }
		done < before
		i=0 && until test_no_leftovers > /dev/null || [ $i -ge 30 ]; do sleep 0.1; i=$((i + 1)); done
		test_no_leftovers || return 1
	done &&
	test "$(wc -l < kills)" = "$ROUNDS"
'

test_expect_success 'then left alone, it decides what an uninterrupted pass decides' '
	start_daemon &&
	wait_idle 120 &&
	stop_daemon &&
	outcome k.db > got &&
	test_cmp expect got &&
	test "$(sql k.db "SELECT count(*) FROM runs WHERE state IN (\"queued\", \"running\")")" = 0 &&
	test "$(sql k.db "PRAGMA integrity_check")" = ok &&
	test_no_leftovers
'

test_done
