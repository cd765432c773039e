# lib-api.sh: helpers for the API tests (t01NN-*.sh), sourced after
# test-lib.sh.  They run the real daemon ("kstage serve") on a free
# loopback port with its data under $TRASH and talk to it with curl and jq.
#
# Test bodies run in subshells, so what must outlive one test is kept in
# files: $TRASH/url (the server), $TRASH/daemon.pid, $TRASH/token.
#
#   write_config [EXTRA_JSON]     $TRASH/kstage.json for plan.json
#   start_daemon                  serve, wait for "serving", write url/pid
#   stop_daemon                   SIGTERM, wait until it is gone
#   api PATH [CURL_ARGS...]       curl $URL$PATH; body to stdout, and the
#                                 status code to $TRASH/code
#   expect_code CODE PATH [ARGS]  the same, and the status must be CODE
#   post PATH [JSON [ARGS]]       POST with the token ($TRASH/token)
#   wait_idle [SECONDS]           until no run is queued or running and no
#                                 bisection is under way, twice 0.1 s apart
#                                 with no event between
#   wait_for SECONDS SQL          until the query prints 1
#
# Their waits are multiplied by $TIME_FACTOR (test-lib.sh).

command -v jq > /dev/null || { echo "Bail out! jq is needed"; exit 1; }
command -v curl > /dev/null || { echo "Bail out! curl is needed"; exit 1; }

write_config() {
	cat > "$TRASH/kstage.json" <<-EOF
	{
		"db": "k.db", "artifacts": "art", "work": "work", "cache": "cache",
		"web_root": "web", "plans": ["plan.json"], "poll_interval": 0${1:+,
		$1}
	}
	EOF
}

start_daemon() {
	rm -f "$TRASH/serve.out"
	"$KSTAGE" serve -c "$TRASH/kstage.json" --listen 127.0.0.1:0 \
		> "$TRASH/serve.out" 2>> "$TRASH/serve.err" &
	echo $! > "$TRASH/daemon.pid"
	i=0
	while [ $i -lt $((200 * TIME_FACTOR)) ]; do
		port=$(sed -n 's|^kstage: serving http://127\.0\.0\.1:\([0-9]*\)/ .*|\1|p' \
			"$TRASH/serve.out" 2> /dev/null)
		[ -n "$port" ] && break
		if ! kill -0 "$(cat "$TRASH/daemon.pid")" 2> /dev/null; then
			echo "the daemon died:"; cat "$TRASH/serve.err"; return 1
		fi
		sleep 0.05
		i=$((i + 1))
	done
	[ -n "$port" ] || { echo "the daemon did not start"; return 1; }
	echo "http://127.0.0.1:$port" > "$TRASH/url"
}

stop_daemon() {
	[ -f "$TRASH/daemon.pid" ] || return 0
	pid=$(cat "$TRASH/daemon.pid")
	kill -TERM "$pid" 2> /dev/null || true
	i=0
	while kill -0 "$pid" 2> /dev/null && [ $i -lt $((100 * TIME_FACTOR)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2> /dev/null; then
		echo "the daemon did not stop on SIGTERM"
		kill -KILL "$pid" 2> /dev/null
		return 1
	fi
	rm -f "$TRASH/daemon.pid"
}

# The safety net for a script that stops early: the daemon never outlives it.
api_cleanup() {
	[ -n "${DAEMON_PID:-}" ] && kill -KILL "$DAEMON_PID" 2> /dev/null
	return 0
}

api() {
	path=$1
	shift
	curl -sS --path-as-is -o "$TRASH/body" -w '%{http_code}' "$@" \
		"$(cat "$TRASH/url")$path" > "$TRASH/code"
	cat "$TRASH/body"
}

# api_code: the status of the last api call.
api_code() {
	cat "$TRASH/code"
}

# expect_code CODE PATH [CURL_ARGS...]: the call must answer CODE, with a
# JSON {"error": ...} when CODE >= 400; the body is kept in $TRASH/body.
expect_code() {
	want=$1
	shift
	api "$@" > /dev/null
	got=$(api_code)
	if [ "$got" != "$want" ]; then
		echo "HTTP $got, expected $want: $*"
		cat "$TRASH/body"
		return 1
	fi
	if [ "$want" -ge 400 ]; then
		jq -e '.error | type == "string" and length > 0' "$TRASH/body" > /dev/null || {
			echo "no JSON error message for $want:"; cat "$TRASH/body"; return 1; }
	fi
}

# post PATH [JSON [CURL_ARGS...]]: POST with the token and a JSON body.
post() {
	path=$1
	body=${2:-}
	shift
	[ $# -gt 0 ] && shift
	api "$path" -X POST -H "Authorization: Bearer $(cat "$TRASH/token")" \
		-H "Content-Type: application/json" ${body:+--data-binary "$body"} "$@"
}

wait_idle() {
	i=0
	was_idle=
	limit=$((${1:-20} * 10 * TIME_FACTOR))
	while [ $i -lt $limit ]; do
		# Busy: runs or bisections under way, or a daemon that has not
		# done its first pass yet (no plan stored, or plans stored at
		# start-up whose heads are not read and no run queued yet).
		busy=$(sql "$TRASH/k.db" "SELECT ((SELECT count(*) FROM runs WHERE state IN
			('queued', 'running')) + (SELECT count(*) FROM bisections WHERE state IN
			('requested', 'confirming', 'searching', 'verifying')) +
			(SELECT count(*) = 0 FROM plans) + ((SELECT count(*) = 0 FROM runs) AND
			(SELECT count(*) > 0 FROM stages WHERE head IS NULL))) || ' ' ||
			(SELECT coalesce(max(id), 0) FROM events)" 2> /dev/null || echo 1)
		# Idle, and still so 0.1 s later with no new event: a finished
		# run is judged and its bisection requested in transactions of
		# their own, a moment after the run is done.
		case "$busy" in
		"0 "*) [ "$busy" = "${was_idle:-}" ] && return 0; was_idle=$busy ;;
		*) was_idle= ;;
		esac
		sleep 0.1
		i=$((i + 1))
	done
	echo "still busy after ${1:-20} s"
	sql "$TRASH/k.db" "SELECT id, state, reason FROM runs WHERE state IN ('queued', 'running')"
	return 1
}

wait_for() {
	i=0
	while [ "$(sql "$TRASH/k.db" "$2" 2> /dev/null)" != 1 ]; do
		i=$((i + 1))
		[ $i -lt $(($1 * 10 * TIME_FACTOR)) ] || { echo "timed out: $2"; return 1; }
		sleep 0.1
	done
}

# state_snapshot: counts of everything a write could change.
state_snapshot() {
	sql "$TRASH/k.db" "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM
		runs WHERE state = 'canceled'), (SELECT count(*) FROM bisections),
		(SELECT group_concat(state) FROM bisections), (SELECT count(*) FROM acks),
		(SELECT count(*) FROM events), (SELECT count(*) FROM tokens WHERE revoked = 0)"
}

# two_stage_setup: a plan "demo" with stage one (green) and stage two,
# whose only commit breaks hmm.hmm_device_private.migrate.
two_stage_setup() {
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	git -C repo checkout -q -b s2 &&
	fake_commit repo "mm: two a" mm/b.c "int b;" &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate fail "migrate: bad refcount" &&
	fake_commit repo "mm: two b breaks migrate" &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 &&
	write_config
}
