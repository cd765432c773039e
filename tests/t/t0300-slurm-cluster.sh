#!/bin/sh
# The single-node Slurm cluster of lib-slurm.sh, and what a Slurm
# executor (issue 12) relies on, measured: sbatch --parsable of a script
# with an argv returns a job id; the job runs as the submitting user and
# writes its files; squeue follows its state to COMPLETED (or FAILED with
# its exit code); scancel ends a running job as CANCELLED, its child too;
# a job over its time limit ends as TIMEOUT; --nodelist places a job; a
# slurmctld restart loses no job, neither one still running nor one that
# ended while it was down.  Then everything stops and nothing is left.
# The figures are printed as "# ..." lines (lib-slurm.sh's header keeps
# them).  The time-limit job runs beside the others: it takes 60 to 90 s
# whatever the settings.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-slurm.sh"

slurm_start

JOBS=$TRASH/jobs
mkdir -p "$JOBS"
# job.sh DIR EXIT: the tests' batch job.  Records its argv, uid and job id
# in DIR, starts a child (DIR/child) and waits for DIR/go, then exits EXIT.
cat > "$JOBS/job.sh" <<-\EOF
#!/bin/sh
dir=$1 code=$2
printf '%s\n' "$@" > "$dir/argv"
id -u > "$dir/uid"
echo "${SLURM_JOB_ID:-}" > "$dir/jobid"
trap 'echo TERM >> "$dir/signals"; exit 143' TERM
sleep 600 &
echo $! > "$dir/child"
: > "$dir/started"
while [ ! -f "$dir/go" ]; do sleep 0.1; done
kill $!
: > "$dir/done"
exit "$code"
EOF
chmod +x "$JOBS/job.sh"

# submit NAME [SBATCH_OPTIONS...] -- [JOB_ARGS...]: sbatch job.sh with
# DIR=$JOBS/NAME as its first argument and the job id in $JOBS/NAME/id;
# the job's exit code is 0 unless JOB_ARGS says otherwise.
submit() {
	name=$1
	shift
	dir=$JOBS/$name
	mkdir -p "$dir"
	opts=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts="$opts $1"
		shift
	done
	[ $# -gt 0 ] && shift
	[ $# -gt 0 ] || set -- 0
	# shellcheck disable=SC2086
	sbatch --parsable -J "$name" --chdir="$dir" -o "$dir/out" $opts \
		"$JOBS/job.sh" "$dir" "$@" > "$dir/id"
}

# ms_since FILE: milliseconds since the time kept in FILE.
ms_since() {
	echo $(($(slurm_now_ms) - $(cat "$1")))
}

# wait_gone PID: until the process is gone (10 s).
wait_gone() {
	i=0
	while slurm_alive "$1"; do
		i=$((i + 1))
		[ $i -lt $((200 * TIME_FACTOR)) ] || { echo "$1 is still there"; return 1; }
		sleep 0.05
	done
}

# wait_file FILE [SECONDS]
wait_file() {
	i=0
	while [ ! -e "$1" ]; do
		i=$((i + 1))
		[ $i -lt $((${2:-30} * 20 * TIME_FACTOR)) ] || { echo "no $1"; return 1; }
		sleep 0.05
	done
}

test_expect_success 'the cluster is up, on its own munge socket and ports' '
	test "$(sinfo -h -n localhost -o %T)" = idle &&
	scontrol show config > config &&
	test_grep "^AuthInfo *= socket=$SLURM_DIR/munge/munge.socket" config &&
	test_grep "^SlurmctldPort *= $(sed -n "s/^SlurmctldPort=//p" "$SLURM_CONF")" config &&
	# munged, slurmctld (and its slurmscriptd), slurmd: what
	# slurm_no_leftovers looks for is really there.
	test "$(slurm_procs | wc -l)" -ge 3 &&
	test_must_fail slurm_no_leftovers
'

# Submitted first: its limit needs 60 to 90 s, while the others run.
test_expect_success 'a job with --time=0:05 starts; its limit is a whole minute' '
	slurm_now_ms > "$JOBS/timeout.t0" &&
	submit timeout --time=0:05 &&
	slurm_wait_state "$(cat "$JOBS/timeout/id")" RUNNING &&
	slurm_now_ms > "$JOBS/timeout.running" &&
	test "$(slurm_job_field "$(cat "$JOBS/timeout/id")" TimeLimit)" = 00:01:00
'

test_expect_success 'sbatch --parsable with an argv: a job id; the job runs as the submitter' '
	t0=$(slurm_now_ms) &&
	submit plain -- 0 "a b" "\$(touch pwned)" "*" "" "-x" &&
	t1=$(slurm_now_ms) &&
	id=$(cat "$JOBS/plain/id") &&
	echo "$id" | grep -qxE "[0-9]+" &&
	slurm_wait_state "$id" RUNNING &&
	t2=$(slurm_now_ms) &&
	wait_file "$JOBS/plain/started" &&
	t3=$(slurm_now_ms) &&
	slurm_note "sbatch --parsable: $((t1 - t0)) ms; sbatch to RUNNING: $((t2 - t0)) ms, to the job'"'"'s first file: $((t3 - t0)) ms" &&
	printf "%s\n" "$JOBS/plain" 0 "a b" "\$(touch pwned)" "*" "" "-x" > expect &&
	test_cmp expect "$JOBS/plain/argv" &&
	! test -e "$JOBS/plain/pwned" && ! test -e pwned &&
	test "$(cat "$JOBS/plain/uid")" = "$(id -u)" &&
	test "$(cat "$JOBS/plain/jobid")" = "$id" &&
	test "$(slurm_job_field "$id" UserId)" = "$(id -un)($(id -u))"
'

test_expect_success 'squeue follows the job to COMPLETED; scontrol has its exit code' '
	id=$(cat "$JOBS/plain/id") &&
	test "$(squeue -h -j "$id" -o %T)" = RUNNING &&
	t0=$(slurm_now_ms) &&
	: > "$JOBS/plain/go" &&
	wait_file "$JOBS/plain/done" &&
	t1=$(slurm_now_ms) &&
	slurm_wait_state "$id" COMPLETED &&
	t2=$(slurm_now_ms) &&
	slurm_note "go to the job'"'"'s completion file: $((t1 - t0)) ms; completion file to COMPLETED: $((t2 - t1)) ms" &&
	test "$(slurm_job_field "$id" ExitCode)" = 0:0 &&
	# Without -t all, squeue says nothing of a finished job.
	test -z "$(squeue -h -j "$id" -o %T)" &&
	test_grep "^JobId=$id .*JobState=COMPLETED" "$SLURM_DIR/log/jobcomp.txt" &&
	# No slurmdbd: no sacct.
	test_must_fail sacct -n -j "$id" > sacct.out 2>&1 &&
	cat sacct.out
'

test_expect_success 'a job that exits 3 is FAILED with ExitCode 3:0' '
	submit fails -- 3 &&
	id=$(cat "$JOBS/fails/id") &&
	wait_file "$JOBS/fails/started" &&
	: > "$JOBS/fails/go" &&
	slurm_wait_state "$id" FAILED &&
	test "$(slurm_job_field "$id" ExitCode)" = 3:0
'

test_expect_success 'scancel ends a running job as CANCELLED, its child with it' '
	submit cancel &&
	id=$(cat "$JOBS/cancel/id") &&
	wait_file "$JOBS/cancel/started" &&
	child=$(cat "$JOBS/cancel/child") &&
	kill -0 "$child" &&
	t0=$(slurm_now_ms) &&
	scancel "$id" &&
	t1=$(slurm_now_ms) &&
	slurm_wait_state "$id" CANCELLED &&
	t2=$(slurm_now_ms) &&
	wait_gone "$child" &&
	slurm_wait_ended "$id" &&
	t3=$(slurm_now_ms) &&
	slurm_note "scancel: $((t1 - t0)) ms; to CANCELLED: $((t2 - t0)) ms; to its processes gone and the node free: $((t3 - t0)) ms" &&
	test_grep TERM "$JOBS/cancel/signals" &&
	! test -e "$JOBS/cancel/done" &&
	test "$(slurm_job_field "$id" ExitCode)" = 143:0
'

# Not checked: that a node name the cluster does not have is refused.  A
# cluster whose only node is "localhost" takes any name for it (sbatch
# accepts --nodelist=nosuchnode and the job runs on localhost).
test_expect_success '--nodelist=localhost places the job' '
	submit placed --nodelist=localhost &&
	id=$(cat "$JOBS/placed/id") &&
	wait_file "$JOBS/placed/started" &&
	test "$(slurm_job_field "$id" ReqNodeList)" = localhost &&
	test "$(slurm_job_field "$id" NodeList)" = localhost &&
	: > "$JOBS/placed/go" &&
	slurm_wait_state "$id" COMPLETED
'

# The job still running is the --time=0:05 one (the node has 2 CPUs).
test_expect_success 'a slurmctld restart loses no job: one still running, one that ended meanwhile' '
	submit ends &&
	wait_file "$JOBS/ends/started" &&
	t0=$(slurm_now_ms) &&
	slurm_ctld_stop &&
	t1=$(slurm_now_ms) &&
	test_must_fail squeue -h > down.out 2>&1 &&
	t2=$(slurm_now_ms) &&
	cat down.out &&
	: > "$JOBS/ends/go" &&
	wait_file "$JOBS/ends/done" &&
	t3=$(slurm_now_ms) &&
	slurm_ctld_start &&
	t4=$(slurm_now_ms) &&
	test "$(slurm_state "$(cat "$JOBS/timeout/id")")" = RUNNING &&
	slurm_wait_state "$(cat "$JOBS/ends/id")" COMPLETED &&
	t5=$(slurm_now_ms) &&
	slurm_note "slurmctld stop: $((t1 - t0)) ms; squeue while it is down fails after $((t2 - t1)) ms; start to answering: $((t4 - t3)) ms; a job that ended while it was down COMPLETED $((t5 - t4)) ms after the start" &&
	test "$(slurm_job_field "$(cat "$JOBS/ends/id")" ExitCode)" = 0:0
'

test_expect_success 'the --time=0:05 job ends as TIMEOUT, TERM first' '
	id=$(cat "$JOBS/timeout/id") &&
	slurm_wait_state "$id" TIMEOUT 150 &&
	slurm_note "--time=0:05: TIMEOUT $(ms_since "$JOBS/timeout.running") ms after RUNNING ($(ms_since "$JOBS/timeout.t0") ms after sbatch)" &&
	test_grep TERM "$JOBS/timeout/signals" &&
	! test -e "$JOBS/timeout/done"
'

test_expect_success 'slurm_stop stops everything; nothing is left' '
	t0=$(slurm_now_ms) &&
	slurm_stop &&
	slurm_note "slurm_stop: $(($(slurm_now_ms) - t0)) ms" &&
	slurm_no_leftovers &&
	test_no_leftovers
'

slurm_report
test_done
