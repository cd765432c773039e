#!/bin/sh
# tests/kernel/progress.sh, the progress lines of make check-kernel: each
# run's start, steps and end as they happen, read from the database of a
# "kstage run --once" on the fake kernel; it stops on SIGTERM and when
# the process it serves is gone, and leaves nothing running.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"	# two_stage_setup

PROGRESS=$SRC/tests/kernel/progress.sh
export KSTAGE_PROGRESS_INTERVAL=0.2

# gone PID: wait up to 5 s for the process to end.
gone() {
	i=0
	while kill -0 "$1" 2> /dev/null; do
		[ $i -lt $((50 * TIME_FACTOR)) ] || { echo "process $1 is still alive"; return 1; }
		sleep 0.1
		i=$((i + 1))
	done
}

test_expect_success 'setup: stage one green, stage two breaks migrate in its 2nd commit' '
	two_stage_setup
'

test_expect_success 'every run is shown as it starts and ends, with its stage and steps' '
	start=$(date +%s)
	# started before the database exists: it waits for it
	"$PROGRESS" "$TRASH/k.db" 0 "$start" > progress 2> progress.err &
	follower=$!
	test_exit 1 kstage_once &&
	sleep 0.5 &&
	# the runs are all shown before it is told to stop
	n=$(sql k.db "SELECT count(*) FROM runs WHERE reused_from IS NULL AND started_at IS NOT NULL") &&
	test "$(grep -c " finished: " progress)" = "$n" &&
	kill -TERM "$follower" &&
	gone "$follower" &&
	cat progress &&
	test ! -s progress.err &&
	test "$(grep -c " started: " progress)" = "$n" &&
	test_grep "^# \[ *0m[0-9][0-9]s\] run 1 started: demo/base [0-9a-f]{12} \(change\)$" progress &&
	test_grep "^# \[ *0m[0-9][0-9]s\] run 1: step build running$" progress &&
	test_grep "^# \[ *0m[0-9][0-9]s\] run 1: step build ok after 0m0[0-9]s$" progress &&
	test_grep "^# \[ *0m[0-9][0-9]s\] run 1: step boot ok after 0m0[0-9]s$" progress &&
	test_grep "^# \[ *0m[0-9][0-9]s\] run 1 finished: pass \(pass 10, fail 0, skip 0, error 0\) after 0m0[0-9]s$" progress &&
	test_grep "run [0-9]+ started: demo/two [0-9a-f]{12} \(change\)$" progress &&
	test_grep "run [0-9]+ finished: fail \(pass 9, fail 1, skip 0, error 0\)" progress &&
	# the bisection and its runs of one test
	test_grep "bisection 1: requested$" progress &&
	test_grep "run [0-9]+ started: demo/two [0-9a-f]{12} \(bisect, 1 test\)$" progress &&
	test_grep "bisection 1: found$" progress &&
	# in the order they happened, each run started before it finished
	awk "/ started: / { s[\$4] = NR } / finished: / { if (!(\$4 in s) || s[\$4] > NR) bad = 1 }
		END { exit bad }" progress
'

test_expect_success 'SINCE: only what comes after; SIGTERM: a last poll, then nothing left' '
	last=$(sql k.db "SELECT max(id) FROM events")
	"$PROGRESS" "$TRASH/k.db" "$last" > progress2 2>&1 &
	follower=$!
	sleep 0.5 &&
	naps=$(ps -o pid= --ppid "$follower" || true) &&
	"$KSTAGE" trigger demo one --db "$TRASH/k.db" > /dev/null 2>&1 || true &&
	kill -TERM "$follower" &&
	gone "$follower" &&
	for p in $naps; do gone "$p" || exit 1; done &&
	! grep " started: demo/base" progress2 &&
	! grep "run 1 " progress2
'

test_expect_success 'it stops by itself when the process it serves is gone' '
	sh -c "\"$PROGRESS\" \"$TRASH/k.db\" > progress3 2>&1 & echo \$! > follower.pid; sleep 0.3"
	follower=$(cat follower.pid)
	gone "$follower"
	# and so does one told whom to serve
	sleep 30 &
	serve=$!
	KSTAGE_PROGRESS_PARENT=$serve "$PROGRESS" "$TRASH/k.db" > progress4 2>&1 &
	follower=$!
	sleep 0.5
	kill -0 "$follower"
	kill "$serve"
	gone "$follower"
'

test_expect_success 'bad arguments are refused' '
	test_exit 2 "$PROGRESS" k.db "1; DROP TABLE runs" 2> err &&
	test_grep "SINCE and START are integers" err &&
	test_exit 2 "$PROGRESS" k.db 0 x 2> err &&
	test "$(sql k.db "SELECT count(*) > 0 FROM runs")" = 1
'

test_expect_success 'nothing of the steps is left' '
	test_no_leftovers
'

test_done
