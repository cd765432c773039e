# lib-slurm.sh: a real single-node Slurm cluster for the tests of the Slurm
# executor (issue 12), sourced after test-lib.sh.  Everything it starts and
# keeps is under $SLURM_DIR ($TRASH/slurm): a munge key and munged on its
# own socket, a generated slurm.conf with free loopback ports, slurmctld's
# state, slurmd's spool, the logs.  A system munged or slurmctld (the
# Debian packages install init scripts) is never talked to: every Slurm
# daemon and client reads $SLURM_CONF, whose AuthInfo names the test's
# munge socket, and the ports are the test's own.
#
#   slurm_start         (top level of the script, not in a test body)
#                       skip the whole test ("1..0 # SKIP why", exit 0)
#                       unless root with munge and slurm-wlm installed;
#                       then start munged, slurmctld and slurmd and wait
#                       until sinfo shows the node idle.  A cluster that
#                       has what it needs but does not come up is a
#                       failure ("Bail out!" with the logs), not a skip.
#                       Exports SLURM_CONF: sbatch, squeue, scontrol,
#                       scancel and sinfo in the test use the cluster.
#   slurm_stop          cancel every job, stop slurmd, slurmctld and
#                       munged (TERM; KILL after a grace period) and wait
#                       until they and every job process are gone.
#                       Non-zero, with what was left, if anything had to
#                       be killed.  Works in a test body.
#   slurm_ctld_stop / slurm_ctld_start
#                       stop slurmctld alone / start it again on the same
#                       state directory (the restart tests); jobs and
#                       slurmd go on meanwhile.  Work in a test body.
#   slurm_state ID      the job's state (PENDING, RUNNING, COMPLETED,
#                       CANCELLED, TIMEOUT, FAILED, ...), finished jobs
#                       included ("squeue -t all"); empty if unknown
#   slurm_wait_state ID STATE [SECONDS]
#                       until the job is in STATE (default 30 s)
#   slurm_wait_ended ID [SECONDS]
#                       until the job is neither pending, running nor
#                       completing: its processes are gone, its CPUs free
#   slurm_job_field ID FIELD
#                       one field of "scontrol -o show job ID" (ExitCode,
#                       RunTime, NodeList, ...)
#   slurm_now_ms        milliseconds since the epoch, for measurements
#   slurm_note TEXT     keep a line for slurm_report (a test body's
#                       output is hidden)
#   slurm_report        print the kept lines as "# ..." TAP comments
#   slurm_no_leftovers  no process of this cluster is alive: none whose
#                       environment has SLURM_CONF=$SLURM_CONF (the
#                       daemons, slurmstepd and every job process inherit
#                       it); lists what it finds.  test_no_leftovers only
#                       sees processes of kstage steps.
#   slurm_cleanup       the EXIT trap: kills whatever of the cluster is
#                       left; a script with its own EXIT trap calls it.
#
# Only the processes this file started, by their pid files under
# $SLURM_DIR/run, and processes carrying this cluster's SLURM_CONF are
# ever signalled.  The waits are multiplied by $TIME_FACTOR.
#
# Measured on the development machine (2 cores, Debian 12, slurm-wlm
# 22.05.8, munge 0.5.15; other sessions' tests and builds beside it) by
# t0300-slurm-cluster.sh, which prints its figures as "# ..." lines; three
# runs, t0300 takes 80 s, 70 of them waiting for the TIMEOUT:
#
#   slurm_start                 0.4 to 0.55 s to an idle node
#   sbatch --parsable           10 to 30 ms to return the job id
#   sbatch to RUNNING           0.4 to 1.3 s: slurmctld allocates on a
#                               1-second tick (every "sched: Allocate"
#                               in its log is at the same fraction of a
#                               second), and the first job after the
#                               start waited 2.8 s.  The "about 10 s" of
#                               sbatch --wait is sbatch's own polling,
#                               not the scheduler.
#   the job's end to COMPLETED  under 0.1 s after its completion file
#   scancel to CANCELLED        about 0.1 s; the job's processes (its
#                               background child too) and its CPU are
#                               freed within 0.11 s.  The batch script
#                               gets SIGTERM (ExitCode=143:0 when it exits
#                               on it), SIGKILL after KillWait=2 s.
#                               proctrack/linuxproc follows descendants
#                               by parent pid: a process that daemonizes
#                               escapes it; kstage node-run must kill its
#                               own process groups as the local executor
#                               does.
#   --time=0:05 to TIMEOUT      70 s after RUNNING (60 to 90 s): Slurm
#                               keeps time limits in whole minutes (0:05
#                               is TimeLimit=00:01:00, the smallest) and
#                               slurmctld checks them every 30 s (a fixed
#                               PERIODIC_TIMEOUT, counted from its start),
#                               so no setting makes it faster.  SIGTERM
#                               first, then SIGKILL after KillWait.  The
#                               test runs this job beside the others.
#   slurmctld restart           SIGTERM stops it in 0.13 s (1.6 s seen
#                               once); jobs go on under slurmstepd; a new
#                               slurmctld on the same StateSaveLocation
#                               answers in 0.05 to 0.07 s with every job:
#                               a RUNNING one stays RUNNING (and still
#                               times out), one that ended while it was
#                               down is COMPLETED, ExitCode 0:0, about 1 s
#                               after the start (slurmstepd retries its
#                               completion message).  Nothing is
#                               submitted twice; adoption is free.
#   a client while slurmctld is down
#                               squeue fails ("Unable to contact slurm
#                               controller") only after 4 s of retries;
#                               a daemon must never call it on its loop
#                               without a timeout of its own
#   slurm_stop                  1.4 to 3.3 s
#
# Also found:
#   - On a cluster whose only node is "localhost", --nodelist takes any
#     name for that node (--nodelist=nosuchnode is accepted and the job
#     runs on localhost): refusal or preference between nodes can only be
#     tested with a second NodeName.
#   - Debian's packages install init scripts for munge, slurmctld and
#     slurmd; on this machine policy-rc.d kept them from starting, and
#     they would read /etc/munge and /etc/slurm, which this cluster never
#     uses.
#   - The jobs of this cluster run as root (the tests run as root); the
#     job's environment is the submitter's (sbatch's default
#     --export=ALL): HOME, SLURM_CONF, and SLURM_JOB_ID added.
#   - The job's argv is passed as given: "a b", "$(touch pwned)", "*", ""
#     and "-x" arrive unchanged, nothing is run by a shell.
#
# Settings that matter (see slurm_write_conf):
#   AuthInfo=socket=...         munge socket of this cluster; munged
#                               wants every directory above its socket
#                               searchable by all (hence chmod 711)
#   SlurmctldHost=localhost, NodeName=localhost, slurmd -N localhost
#                               the node name need not be the hostname
#   SlurmdParameters=config_overrides
#                               CPUs=2 and RealMemory from slurm.conf, not
#                               from the hardware (a node whose hardware
#                               differs would otherwise be INVAL)
#   SchedulerParameters=batch_sched_delay=0
#                               start a batch job when it is submitted
#   MinJobAge=600               a finished job stays in squeue -t all and
#                               scontrol show job for 10 minutes (default
#                               300 s); after that it is unknown
#   KillWait=2                  SIGTERM to SIGKILL on cancel and timeout
#                               (default 30 s)
#   OverTimeLimit=0             the time limit is hard
#   ReturnToService=2           a node DOWN because its slurmd was not
#                               reachable comes back when slurmd registers
#   JobCompType=jobcomp/filetxt one line per finished job in
#                               $SLURM_DIR/log/jobcomp.txt (JobId=,
#                               JobState=), kept whatever MinJobAge says;
#                               its ExitCode= is 0:0 even for a job that
#                               exited 143: take exit codes from scontrol
#                               (ExitCode=143:0) while the job is known
#   AccountingStorageType=accounting_storage/none
#                               sacct then answers "Slurm accounting
#                               storage is disabled": sacct needs
#                               slurmdbd (and a database), which this
#                               cluster does not run.  squeue -t all,
#                               scontrol and the job's own files are what
#                               a backend can follow jobs with.
#   squeue -h -j ID -o %T       prints nothing for a finished job: add
#                               "-t all" to see COMPLETED, CANCELLED, ...

SLURM_DIR=$TRASH/slurm
SLURM_CONF=$SLURM_DIR/slurm.conf
# The node's name: "localhost" unless the test names it (SLURM_NODE).
SLURM_NODE=${SLURM_NODE:-localhost}
export SLURM_CONF

slurm_skip() {
	echo "1..0 # SKIP $*"
	cd / && rm -rf "$TRASH"
	exit 0
}

slurm_bail() {
	echo "Bail out! $*"
	for f in "$SLURM_DIR"/log/*.log; do
		[ -f "$f" ] || continue
		echo "# --- $f"
		sed 's/^/#   /' "$f" | tail -n 30
	done
	slurm_cleanup
	echo "# scratch directory kept: $TRASH"
	exit 1
}

slurm_now_ms() {
	date +%s%3N
}

slurm_note() {
	echo "$*" >> "$SLURM_DIR/notes"
}

slurm_report() {
	[ -f "$SLURM_DIR/notes" ] && sed 's/^/# /' "$SLURM_DIR/notes"
	rm -f "$SLURM_DIR/notes"
	return 0
}

# slurm_alive PID: the process exists and is not a zombie (a daemon whose
# parent was a test body is reparented, and reaped whenever init gets to
# it).
slurm_alive() {
	[ -n "$1" ] || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2> /dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}

slurm_pid() {
	cat "$SLURM_DIR/run/$1.pid" 2> /dev/null
}

# slurm_kill NAME: TERM the daemon NAME, wait; KILL it after 10 s.
# Non-zero if it had to be killed.
slurm_kill() {
	pid=$(slurm_pid "$1")
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2> /dev/null
	i=0
	while slurm_alive "$pid" && [ $i -lt $((100 * TIME_FACTOR)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	rm -f "$SLURM_DIR/run/$1.pid"
	if slurm_alive "$pid"; then
		echo "$1 ($pid) did not stop on SIGTERM"
		kill -KILL "$pid" 2> /dev/null
		return 1
	fi
}

# slurm_free_port: a loopback port free right now (a daemon may still lose
# it to a race: slurm_start then tries others).
slurm_free_port() {
	perl -MIO::Socket::INET -e \
		'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0",
			ReuseAddr => 1)->sockport, "\n"'
}

# slurm_listening PORT: something accepts connections on it.
slurm_listening() {
	perl -MIO::Socket::INET -e \
		'exit(IO::Socket::INET->new(PeerAddr => "127.0.0.1:$ARGV[0]") ? 0 : 1)' "$1"
}

slurm_require() {
	[ "$(id -u)" = 0 ] ||
		slurm_skip "the test Slurm cluster needs root (slurmd runs jobs as their owner)"
	for c in munged munge slurmctld slurmd sbatch squeue scontrol scancel sinfo perl; do
		command -v "$c" > /dev/null ||
			slurm_skip "$c is not installed (make deps: slurm-wlm, munge)"
	done
}

slurm_start_munged() {
	m=$SLURM_DIR/munge
	mkdir -p "$m" && chmod 711 "$m" || return 1
	if command -v mungekey > /dev/null; then
		mungekey -c -f -k "$m/munge.key" || return 1
	else
		dd if=/dev/urandom of="$m/munge.key" bs=1024 count=1 2> /dev/null &&
			chmod 600 "$m/munge.key" || return 1
	fi
	munged -F --socket="$m/munge.socket" --key-file="$m/munge.key" \
		--pid-file="$m/munged.pid" --seed-file="$m/munge.seed" \
		< /dev/null > "$SLURM_DIR/log/munged.log" 2>&1 &
	echo $! > "$SLURM_DIR/run/munged.pid"
	i=0
	until munge -n -S "$m/munge.socket" 2> /dev/null |
		unmunge -S "$m/munge.socket" > /dev/null 2>&1; do
		slurm_alive "$(slurm_pid munged)" || { echo "munged died"; return 1; }
		i=$((i + 1))
		[ $i -lt $((100 * TIME_FACTOR)) ] || { echo "munged does not answer"; return 1; }
		sleep 0.1
	done
}

# slurm_write_conf CTLD_PORT SLURMD_PORT
slurm_write_conf() {
	mem=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
	cat > "$SLURM_CONF" <<-EOF
	# Written by tests/t/lib-slurm.sh: a one-node cluster under $SLURM_DIR.
	ClusterName=kstagetest
	SlurmctldHost=localhost
	SlurmctldPort=$1
	SlurmdPort=$2
	AuthType=auth/munge
	CredType=cred/munge
	AuthInfo=socket=$SLURM_DIR/munge/munge.socket
	SlurmUser=root
	SlurmdUser=root
	StateSaveLocation=$SLURM_DIR/state
	SlurmdSpoolDir=$SLURM_DIR/spool
	SlurmctldPidFile=$SLURM_DIR/run/slurmctld.own.pid
	SlurmdPidFile=$SLURM_DIR/run/slurmd.own.pid
	SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
	SlurmdLogFile=$SLURM_DIR/log/slurmd.log
	SlurmctldDebug=info
	SlurmdDebug=info
	ProctrackType=proctrack/linuxproc
	TaskPlugin=task/none
	JobAcctGatherType=jobacct_gather/none
	AccountingStorageType=accounting_storage/none
	JobCompType=jobcomp/filetxt
	JobCompLoc=$SLURM_DIR/log/jobcomp.txt
	MpiDefault=none
	SwitchType=switch/none
	MailProg=/bin/true
	SelectType=select/cons_tres
	SelectTypeParameters=CR_CPU
	SchedulerType=sched/backfill
	SchedulerParameters=batch_sched_delay=0
	SlurmdParameters=config_overrides
	MinJobAge=600
	KillWait=2
	OverTimeLimit=0
	MessageTimeout=5
	ReturnToService=2
	NodeName=$SLURM_NODE NodeHostName=localhost CPUs=2 RealMemory=$mem State=UNKNOWN
	EOF
	# A second node that never comes (SLURM_ABSENT_NODE=NAME): a job that
	# asks for it waits, which is how placement is tested on one machine.
	# Its address is TEST-NET-1 (192.0.2.1), where nothing answers: on
	# any 127.x address the one slurmd would answer for it, and slurmctld
	# would run jobs "there".  (slurmctld refuses a second node beside
	# one named "localhost", "Duplicated NodeHostName": hence SLURM_NODE.)
	nodes=$SLURM_NODE
	if [ -n "${SLURM_ABSENT_NODE:-}" ]; then
		echo "NodeName=$SLURM_ABSENT_NODE NodeHostName=$SLURM_ABSENT_NODE NodeAddr=192.0.2.1 CPUs=2 RealMemory=$mem State=UNKNOWN" >> "$SLURM_CONF"
		nodes=$SLURM_NODE,$SLURM_ABSENT_NODE
	fi
	echo "PartitionName=test Nodes=$nodes Default=YES MaxTime=INFINITE State=UP" >> "$SLURM_CONF"
}

slurm_ctld_start() {
	slurmctld -D -f "$SLURM_CONF" < /dev/null >> "$SLURM_DIR/log/slurmctld.out" 2>&1 &
	echo $! > "$SLURM_DIR/run/slurmctld.pid"
	port=$(sed -n 's/^SlurmctldPort=//p' "$SLURM_CONF")
	i=0
	# Wait for the port first: a client asking a controller that is not
	# there yet retries for seconds.
	until slurm_listening "$port" && scontrol ping > /dev/null 2>&1; do
		slurm_alive "$(slurm_pid slurmctld)" || { echo "slurmctld died"; return 1; }
		i=$((i + 1))
		[ $i -lt $((200 * TIME_FACTOR)) ] || { echo "slurmctld does not answer"; return 1; }
		sleep 0.05
	done
}

slurm_ctld_stop() {
	slurm_kill slurmctld
}

slurm_slurmd_start() {
	slurmd -D -N "$SLURM_NODE" -f "$SLURM_CONF" < /dev/null > "$SLURM_DIR/log/slurmd.out" 2>&1 &
	echo $! > "$SLURM_DIR/run/slurmd.pid"
	i=0
	until [ "$(sinfo -h -n "$SLURM_NODE" -o %T 2> /dev/null)" = idle ]; do
		slurm_alive "$(slurm_pid slurmd)" || { echo "slurmd died"; return 1; }
		i=$((i + 1))
		[ $i -lt $((300 * TIME_FACTOR)) ] || {
			echo "the node is not idle: $(sinfo -h -n "$SLURM_NODE" -o %T 2>&1)"; return 1; }
		sleep 0.1
	done
}

slurm_start() {
	slurm_require
	mkdir -p "$SLURM_DIR/run" "$SLURM_DIR/log" "$SLURM_DIR/state" "$SLURM_DIR/spool" ||
		slurm_bail "cannot make $SLURM_DIR"
	# munged refuses a socket under a directory that not all can search.
	chmod 711 "$TRASH" "$SLURM_DIR" || slurm_bail "chmod $TRASH"
	t0=$(slurm_now_ms)
	why=$(slurm_start_munged) || slurm_bail "munged: $why"
	tries=0
	while :; do
		tries=$((tries + 1))
		p1=$(slurm_free_port) && p2=$(slurm_free_port) || slurm_bail "no free port"
		[ "$p1" != "$p2" ] || continue
		slurm_write_conf "$p1" "$p2"
		why=$(slurm_ctld_start) && why=$(slurm_slurmd_start) && break
		# Most likely a port was taken meanwhile: stop and try others.
		slurm_kill slurmd > /dev/null
		slurm_kill slurmctld > /dev/null
		[ $tries -lt 3 ] || slurm_bail "the cluster did not start: $why"
	done
	slurm_note "slurm_start: $(($(slurm_now_ms) - t0)) ms to an idle node"
}

slurm_state() {
	squeue -h -t all -j "$1" -o %T 2> /dev/null
}

slurm_wait_state() {
	id=$1 want=$2
	i=0
	while [ "$(slurm_state "$id")" != "$want" ]; do
		i=$((i + 1))
		[ $i -lt $((${3:-30} * 20 * TIME_FACTOR)) ] || {
			echo "job $id is '$(slurm_state "$id")', not $want"; return 1; }
		sleep 0.05
	done
}

slurm_wait_ended() {
	i=0
	while [ -n "$(squeue -h -j "$1" -o %T 2> /dev/null)" ]; do
		i=$((i + 1))
		[ $i -lt $((${2:-30} * 20 * TIME_FACTOR)) ] || {
			echo "job $1 is still $(slurm_state "$1")"; return 1; }
		sleep 0.05
	done
}

slurm_job_field() {
	scontrol -o show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# slurm_procs: the pids of this cluster's processes (see slurm_no_leftovers).
slurm_procs() {
	for _e in /proc/[0-9]*/environ; do
		{ tr '\0' '\n' < "$_e"; } 2> /dev/null | grep -qxF "SLURM_CONF=$SLURM_CONF" || continue
		_p=${_e#/proc/}
		_p=${_p%/environ}
		slurm_alive "$_p" && echo "$_p"
	done
	return 0
}

slurm_no_leftovers() {
	_left=$(slurm_procs)
	[ -z "$_left" ] && return 0
	echo "leftover processes of this Slurm cluster:"
	# shellcheck disable=SC2086
	ps -o pid,pgid,args -p $_left
	return 1
}

slurm_stop() {
	rc=0
	if slurm_alive "$(slurm_pid slurmctld)"; then
		scancel --quiet --user="$(id -un)" 2> /dev/null
		i=0
		while [ -n "$(squeue -h -o %i 2> /dev/null)" ]; do
			i=$((i + 1))
			[ $i -lt $((200 * TIME_FACTOR)) ] || {
				echo "jobs still there:"; squeue; rc=1; break; }
			sleep 0.05
		done
	fi
	slurm_kill slurmd || rc=1
	slurm_kill slurmctld || rc=1
	slurm_kill munged || rc=1
	# slurmstepd and job processes that outlived slurmd.
	i=0
	while [ -n "$(slurm_procs)" ] && [ $i -lt $((50 * TIME_FACTOR)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	left=$(slurm_procs)
	if [ -n "$left" ]; then
		slurm_no_leftovers
		# shellcheck disable=SC2086
		kill -KILL $left 2> /dev/null
		rc=1
	fi
	return $rc
}

slurm_cleanup() {
	[ -d "$SLURM_DIR/run" ] || return 0
	for n in slurmd slurmctld munged; do
		pid=$(slurm_pid "$n")
		[ -n "$pid" ] && kill -TERM "$pid" 2> /dev/null
	done
	i=0
	while [ -n "$(slurm_procs)" ] && [ $i -lt 30 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	# shellcheck disable=SC2046
	kill -KILL $(slurm_procs) 2> /dev/null
	rm -f "$SLURM_DIR"/run/*.pid
	return 0
}

trap 'slurm_cleanup' EXIT
trap 'exit 1' INT TERM
