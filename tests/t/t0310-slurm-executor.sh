#!/bin/sh
# The Slurm executor (daemon/exec_slurm.h) against a real single-node
# Slurm cluster (lib-slurm.sh): the fake-kernel plan end to end, each run
# a batch job running "kstage node-run"; placement on the node that ran
# the stage, and any node when that one does not come; a bisection over
# two slots; the checks of every commit as jobs too; a canceled job; a
# job over its time limit; a daemon killed (-9) while a job runs, whose
# job the next daemon adopts, and one stopped by SIGTERM; a node that
# fails under a job; a job canceled in Slurm by someone else.  Skipped,
# never passed, where Slurm cannot start (not root, or slurm-wlm/munge
# missing).
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
SLURM_NODE=kstage-n1 SLURM_ABSENT_NODE=kstage-absent
. "$SRC/tests/t/lib-slurm.sh"

slurm_start
trap 'api_cleanup; slurm_cleanup' EXIT

# The run's id of stage STAGE's head.
head_run() {
	sql k.db "SELECT r.id FROM runs r JOIN stages s ON s.id = r.stage_id
		WHERE s.name = '$1' AND r.commit_id = s.head AND r.reason != 'commit'
		ORDER BY r.id DESC LIMIT 1"
}

# job_of RUN: its Slurm job id.
job_of() {
	sql k.db "SELECT job FROM runs WHERE id = $1"
}

# wait_boot STAGE: until the boot step of the run of STAGE's head runs.
wait_boot() {
	wait_for 30 "SELECT count(*) = 1 FROM steps st JOIN runs r ON r.id = st.run_id
		JOIN stages s ON s.id = r.stage_id WHERE s.name = '$1' AND r.commit_id = s.head
		AND st.name = 'boot' AND st.state = 'running'"
}

# sleeping_head STAGE SECONDS MESSAGE: a commit on the branch checked out
# whose boot sleeps SECONDS, the daemon told, until its run boots; sets
# run and job (the run of STAGE's head and its Slurm job).
sleeping_head() {
	echo "$2" > repo/SLEEP && git -C repo add SLEEP &&
	fake_commit repo "$3" &&
	refresh &&
	wait_boot "$1" &&
	run=$(head_run "$1") && job=$(job_of $run)
}

# refresh: the daemon reads the branches now.
refresh() {
	post /api/v1/refresh > /dev/null && test "$(cat code)" = 202 -o "$(cat code)" = 200
}

test_expect_success 'setup: two stages, the Slurm executor, the daemon' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	git -C repo checkout -q -b s2 &&
	fake_commit repo "mm: two" mm/b.c "int b;" &&
	write_profile profile.json 60 600 "\"each_commit\": [\"build\"]" &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 &&
	write_config "\"slots\": 2, \"executor\": \"slurm\", \"slurm\": {
		\"work\": \"node-work\", \"cache\": \"node-cache\", \"poll\": 1,
		\"prefer_wait\": 3, \"command_timeout\": 20,
		\"profiles\": { \"fake\": { \"cpus\": 1, \"time\": 1 } } }" &&
	"$KSTAGE" token create ci -c kstage.json > token 2> err &&
	start_daemon &&
	wait_idle 60
'

test_expect_success 'every run was a batch job on the node, results stored by the daemon' '
	test "$(stage_field one verdict)" = green &&
	test "$(stage_field two verdict)" = green &&
	test "$(sql k.db "SELECT count(*) FROM runs WHERE state = \"done\" AND
		reused_from IS NULL AND (job IS NULL OR node IS NOT \"kstage-n1\")")" = 0 &&
	run=$(head_run two) && job=$(job_of $run) &&
	test -n "$job" &&
	test "$(slurm_state $job)" = COMPLETED &&
	test "$(slurm_job_field $job JobName)" = kstage-run-$run &&
	test "$(slurm_job_field $job TimeLimit)" = 00:01:00 &&
	test "$(slurm_job_field $job NumCPUs)" = 1 &&
	test "$(sql k.db "SELECT count(*) FROM results WHERE run_id = $run")" = 10 &&
	test "$(sql k.db "SELECT group_concat(state, \" \") FROM steps WHERE run_id = $run ORDER BY idx")" = "ok ok" &&
	test -s art/runs/$run/02-boot.log &&
	grep -q "run $run: node kstage-n1, job $job, slot" art/runs/$run/slurm-$job.out &&
	grep -q "\"event\":\"finish\"" art/runs/$run/node-*.jsonl &&
	ls -d node-work/*/slot-*/tree > trees &&
	test -f "$(head -1 trees)/tests.txt" &&
	grep -q "run $run: job $job submitted" serve.err
'

test_expect_success 'a new head of a stage asks for the node that ran the stage' '
	fake_commit repo "mm: two more" mm/c.c "int c;" &&
	refresh && wait_idle 60 &&
	run=$(head_run two) && job=$(job_of $run) &&
	test "$(sql k.db "SELECT verdict FROM runs WHERE id = $run")" = pass &&
	test "$(slurm_job_field $job ReqNodeList)" = kstage-n1
'

test_expect_success 'a preferred node that does not come: any node after prefer_wait' '
	sql k.db "UPDATE runs SET node = \"kstage-absent\" WHERE stage_id =
		(SELECT id FROM stages WHERE name = \"two\")" &&
	fake_commit repo "mm: two again" mm/d.c "int d;" &&
	refresh && wait_idle 60 &&
	run=$(head_run two) && job=$(job_of $run) &&
	test "$(sql k.db "SELECT verdict || \" \" || node FROM runs WHERE id = $run")" = "pass kstage-n1" &&
	grep -q "run $run: job $job waited 3 s for node kstage-absent: any node now" serve.err
'

test_expect_success 'a regression is bisected to its commit with jobs on both slots' '
	for i in 1 2 3 4 5 6 7; do
		if [ $i = 5 ]; then
			set_test repo hmm-tests hmm.hmm_device_private.migrate fail "broken" &&
			fake_commit repo "mm: commit $i, the culprit" || return 1
		else
			fake_commit repo "mm: commit $i" mm/f$i.c "int f$i;" || return 1
		fi
	done &&
	refresh && wait_idle 120 &&
	test "$(bisect_field state)" = found &&
	test "$(bisect_field culprit)" = "$(git -C repo rev-parse s2~2)" &&
	test "$(sql k.db "SELECT count(*) FROM bisection_runs b JOIN runs r ON r.id = b.run_id
		WHERE r.job IS NULL AND r.reused_from IS NULL")" = 0 &&
	test "$(sql k.db "SELECT count(DISTINCT r.slot) FROM bisection_runs b JOIN runs r
		ON r.id = b.run_id")" = 2
'

test_expect_success 'the checks of every commit ran as jobs too (their steps only)' '
	test "$(sql k.db "SELECT count(*) FROM runs WHERE reason = \"commit\" AND
		state = \"done\" AND verdict = \"pass\" AND node = \"kstage-n1\"")" -ge 1 &&
	test "$(sql k.db "SELECT count(*) FROM runs WHERE reason = \"commit\" AND
		state = \"done\" AND job IS NULL")" = 0 &&
	run=$(sql k.db "SELECT max(id) FROM runs WHERE reason = \"commit\"") &&
	test "$(sql k.db "SELECT group_concat(name || \" \" || state, \", \") FROM steps
		WHERE run_id = $run ORDER BY idx")" = "build ok" &&
	test "$(sql k.db "SELECT status FROM each_builds WHERE run_id = $run")" = pass
'

test_expect_success 'a canceled run: its job is scancel-ed, nothing of it is left' '
	git -C repo checkout -q s1 &&
	sleeping_head one 300 "mm: one sleeps" &&
	test "$(slurm_state $job)" = RUNNING &&
	post /api/v1/runs/$run/cancel > /dev/null && test "$(cat code)" = 200 &&
	wait_for 30 "SELECT count(*) = 1 FROM runs WHERE id = $run AND finished_at IS NOT NULL" &&
	test "$(sql k.db "SELECT state FROM runs WHERE id = $run")" = canceled &&
	slurm_wait_ended $job &&
	test "$(slurm_state $job)" = CANCELLED &&
	! pgrep -f "sleep 300" > /dev/null
'

test_expect_success 'a job over its time limit: the run ends in a timeout' '
	post /api/v1/plans/demo/stages/one/trigger > /dev/null &&
	wait_for 30 "SELECT count(*) = 1 FROM runs r JOIN stages s ON s.id = r.stage_id
		WHERE s.name = \"one\" AND r.state = \"running\" AND r.job IS NOT NULL
		AND r.reason = \"manual\"" &&
	sql k.db "SELECT id FROM runs WHERE state = \"running\" AND reason = \"manual\"" > timeout-run
'

test_expect_success 'a daemon killed while a job runs: the next one adopts the job' '
	git -C repo checkout -q s2 &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate pass &&
	sleeping_head two 6 "mm: two sleeps, fixed" &&
	kill -9 "$(cat daemon.pid)" &&
	test "$(slurm_state $job)" = RUNNING &&
	start_daemon &&
	grep -q "run $run: adopted its job $job" serve.err &&
	wait_for 60 "SELECT count(*) = 1 FROM runs WHERE id = $run AND state = \"done\"" &&
	test "$(sql k.db "SELECT verdict || \" \" || job FROM runs WHERE id = $run")" = "pass $job" &&
	test "$(squeue -h -t all -n kstage-run-$run -o %i | wc -l)" = 1 &&
	test "$(grep -c "^boot $(git -C repo rev-parse s2)" fake.log)" = 1 &&
	test "$(sql k.db "SELECT group_concat(state, \" \") FROM steps WHERE run_id = $run ORDER BY idx")" = "ok ok"
'

test_expect_success 'the job over its time limit ended as TIMEOUT, the run an error' '
	run=$(cat timeout-run) && job=$(job_of $run) &&
	wait_for 150 "SELECT count(*) = 1 FROM runs WHERE id = $run AND state = \"done\"" &&
	test "$(slurm_state $job)" = TIMEOUT &&
	test "$(sql k.db "SELECT verdict FROM runs WHERE id = $run")" = error &&
	sql k.db "SELECT error FROM runs WHERE id = $run" > why &&
	test_grep "step boot: the Slurm job $job reached its time limit \(1 min\)" why &&
	test "$(sql k.db "SELECT state FROM steps WHERE run_id = $run AND name = \"boot\"")" = timeout
'

test_expect_success 'a daemon stopped by SIGTERM leaves its job running; the next adopts it' '
	sleeping_head two 4 "mm: two sleeps less" &&
	stop_daemon &&
	grep -q "run $run: job $job goes on without us" serve.err &&
	test "$(sql k.db "SELECT state FROM runs WHERE id = $run")" = running &&
	test "$(slurm_state $job)" = RUNNING &&
	start_daemon &&
	wait_for 60 "SELECT count(*) = 1 FROM runs WHERE id = $run AND state = \"done\"" &&
	test "$(sql k.db "SELECT verdict || \" \" || job FROM runs WHERE id = $run")" = "pass $job" &&
	test "$(squeue -h -t all -n kstage-run-$run -o %i | wc -l)" = 1
'

test_expect_success 'a node that fails under a job: the run goes back to the queue and runs again' '
	sleeping_head two 7 "mm: two on a node that fails" &&
	scontrol update NodeName=kstage-n1 State=DOWN Reason=kstage-test &&
	wait_for 30 "SELECT count(*) = 1 FROM runs WHERE id = $run AND state = \"queued\" OR
		(id = $run AND job IS NOT NULL AND job != \"$job\")" &&
	test "$(slurm_state $job)" = NODE_FAIL &&
	grep -q "run $run: job $job ended NODE_FAIL: back in the queue" serve.err &&
	# ReturnToService=2 may have brought it back already (slurmd answers).
	{ scontrol update NodeName=kstage-n1 State=RESUME 2> /dev/null || :; } &&
	wait_for 90 "SELECT count(*) = 1 FROM runs WHERE id = $run AND state = \"done\"" &&
	test "$(sql k.db "SELECT verdict || \" \" || node FROM runs WHERE id = $run")" = "pass kstage-n1" &&
	test "$(squeue -h -t all -n kstage-run-$run -o %i | wc -l)" = 2
'

test_expect_success 'a job canceled in Slurm by someone else: the run is canceled' '
	post /api/v1/plans/demo/stages/one/trigger > /dev/null &&
	wait_for 30 "SELECT count(*) = 1 FROM runs r JOIN stages s ON s.id = r.stage_id
		WHERE s.name = \"one\" AND r.state = \"running\" AND r.job IS NOT NULL
		AND r.reason = \"manual\"" &&
	run=$(sql k.db "SELECT id FROM runs WHERE state = \"running\" AND reason = \"manual\"") &&
	job=$(job_of $run) &&
	scancel $job &&
	wait_for 30 "SELECT count(*) = 1 FROM runs WHERE id = $run AND finished_at IS NOT NULL" &&
	test "$(sql k.db "SELECT state || \" \" || error FROM runs WHERE id = $run")" = \
		"canceled job $job was canceled in Slurm"
'

test_expect_success 'bad Slurm settings are refused with a clear error' '
	write_config "\"executor\": \"slurm\", \"slurm\": { \"profiles\": { \"fake\": { \"sbatch\": [\"--wrap=id\"] } } }" &&
	test_exit 2 "$KSTAGE" check -c kstage.json 2> err &&
	test_grep "kstage sets --wrap itself" err &&
	write_config "\"executor\": \"slurm\", \"slurm\": { \"partition\": \"-x\" }" &&
	test_exit 2 "$KSTAGE" check -c kstage.json 2> err &&
	test_grep "expected a Slurm partition name" err &&
	write_config "\"slurm\": { }" &&
	test_exit 2 "$KSTAGE" check -c kstage.json 2> err &&
	test_grep "with \"executor\": \"slurm\" only" err
'

test_expect_success 'everything stops; nothing of the runs or the cluster is left' '
	stop_daemon &&
	slurm_stop &&
	slurm_no_leftovers &&
	test_no_leftovers
'

test_done
