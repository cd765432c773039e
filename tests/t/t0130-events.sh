#!/bin/sh
# The live event stream (server-sent events): every event in order, replay
# with ?since= and Last-Event-ID, no busy loop while idle, a cap on open
# streams, and streams end when the daemon stops.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"

# Background curls are ours: their pids go to $TRASH/curls.
kill_curls() {
	[ -f "$TRASH/curls" ] && kill $(cat "$TRASH/curls") 2> /dev/null
	rm -f "$TRASH/curls"
	return 0
}
events_cleanup() {
	kill_curls
	api_cleanup
}
trap events_cleanup EXIT

# open_stream FILE [CURL_ARGS...]: a stream into FILE, in the background.
open_stream() {
	out=$1
	shift
	curl -sN "$@" "$(cat "$TRASH/url")/api/v1/events" > "$out" 2>&1 &
	echo $! >> "$TRASH/curls"
}

# streams N: wait until the daemon counts N open streams.
streams() {
	i=0
	while [ $i -lt 100 ]; do
		n=$(curl -s "$(cat "$TRASH/url")/metrics" | sed -n "s/^kstage_event_streams //p")
		[ "$n" = "$1" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	echo "$n streams open, expected $1"
	return 1
}

# cpu_ticks PID: user + system time of a process, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

test_expect_success 'setup: two stages, a token, the daemon' '
	two_stage_setup &&
	"$KSTAGE" token create ci -c kstage.json > token 2> /dev/null &&
	start_daemon &&
	wait_idle
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'a stream shows a run from queued to finished, in order' '
	open_stream live &&
	streams 1 &&
	id=$(stage_field one run_id) &&
	post /api/v1/runs/$id/retry > r.json &&
	new=$(jq .run r.json) &&
	i=0 &&
	while ! grep -q "\"kind\":\"run-finished\".*\"run_id\":$new," live && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1)); done &&
	kill_curls &&
	head -n 1 live | grep -x "retry: 3000" &&
	sed -n "s/^data: //p" live > data &&
	jq -r "select(.run_id == $new) | .kind + (if .kind == \"step\" then
		\" \" + .data.step + \" \" + .data.state else \"\" end)" data > actual &&
	cat > expect <<-\EOF &&
	run-queued
	run-started
	step build running
	step build ok
	step boot running
	step boot ok
	run-finished
	EOF
	test_cmp expect actual &&
	jq -e "select(.run_id == $new and .kind == \"run-finished\") |
		.plan == \"demo\" and .stage == \"one\" and .data.verdict == \"pass\" and
		(.at | type) == \"number\" and .bisection_id == null" data &&
	sed -n "s/^id: //p" live > ids &&
	sort -n ids > sorted && test_cmp sorted ids &&
	test "$(sort -u ids | wc -l)" = "$(wc -l < ids)" &&
	sed -n "s/^event: //p" live > kinds &&
	jq -r .kind data > kinds2 && test_cmp kinds kinds2
'

test_expect_success '?since= replays the table in order, then waits' '
	curl -sN --max-time 0.5 "$(cat url)/api/v1/events?since=0" > replay || test $? = 28 &&
	sed -n "s/^id: //p" replay > actual &&
	sql k.db "SELECT id FROM events ORDER BY id" > expect &&
	test_cmp expect actual &&
	max=$(sql k.db "SELECT max(id) FROM events") &&
	curl -sN --max-time 0.5 "$(cat url)/api/v1/events?since=$max" > none || test $? = 28 &&
	! grep "^id:" none
'

test_expect_success 'Last-Event-ID resumes after that event' '
	max=$(sql k.db "SELECT max(id) FROM events") &&
	curl -sN --max-time 0.5 -H "Last-Event-ID: $((max - 3))" "$(cat url)/api/v1/events" > resume ||
		test $? = 28 &&
	sed -n "s/^id: //p" resume > actual &&
	printf "%s\n" $((max - 2)) $((max - 1)) $max > expect &&
	test_cmp expect actual
'

test_expect_success 'a reconnect (URL with ?since= and Last-Event-ID) does not replay' '
	max=$(sql k.db "SELECT max(id) FROM events") &&
	curl -sN --max-time 0.5 -H "Last-Event-ID: $((max - 1))" "$(cat url)/api/v1/events?since=1" > again ||
		test $? = 28 &&
	sed -n "s/^id: //p" again > actual &&
	echo $max > expect &&
	test_cmp expect actual
'

test_expect_success 'five idle streams do not busy-loop' '
	for i in 1 2 3 4 5; do open_stream idle.$i || exit 1; done &&
	streams 5 &&
	pid=$(cat daemon.pid) &&
	t0=$(cpu_ticks $pid) &&
	sleep 3 &&
	t1=$(cpu_ticks $pid) &&
	echo "daemon CPU over 3 s with 5 idle streams: $((t1 - t0)) ticks" &&
	test $((t1 - t0)) -lt 30
'

test_expect_success 'a client that goes away frees its stream' '
	kill_curls &&
	streams 0
'

test_expect_success 'at most 64 streams: the next one is 503' '
	i=0 &&
	while [ $i -lt 64 ]; do open_stream /dev/null || exit 1; i=$((i + 1)); done &&
	streams 64 &&
	expect_code 503 /api/v1/events -D hdr &&
	grep -i "^Retry-After:" hdr &&
	kill_curls &&
	streams 0 &&
	curl -sN --max-time 0.5 "$(cat url)/api/v1/events" > one || test $? = 28 &&
	grep -x "retry: 3000" one
'

test_expect_success 'SIGTERM ends open streams and stops the daemon at once' '
	open_stream last &&
	streams 1 &&
	pid=$(cat daemon.pid) &&
	kill -TERM $pid &&
	i=0 &&
	while kill -0 $pid 2> /dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done &&
	! kill -0 $pid 2> /dev/null &&
	rm -f daemon.pid &&
	! pgrep -f -- "$TRASH/kstage.json"
'

test_done
