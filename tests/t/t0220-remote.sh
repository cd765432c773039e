#!/bin/sh
# A plan that follows a remote (the plan's "remote"): "git daemon" serves
# an upstream repository on loopback; the daemon creates the plan's mirror,
# fetches it (libgit2) and runs what moved; the integration branch stays
# the gate's.  A remote that stops answering (refused, or a listener that
# accepts and never speaks) is reported on the plan, retried with backoff,
# and holds up nothing: the API answers and another plan runs meanwhile.
# When the remote is back, the plan says so.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap 'api_cleanup; for p in gitd.pid silent.pid; do [ -f "$TRASH/$p" ] && kill "$(cat "$TRASH/$p")" 2> /dev/null; done; true' EXIT

# wait_for SECONDS CODE: until the shell code CODE succeeds (evaluated
# afresh each time), polling every 0.1 s.
wait_for() {
	wf_max=$(($1 * 10))
	wf_i=0
	until eval "$2"; do
		wf_i=$((wf_i + 1))
		if [ $wf_i -ge "$wf_max" ]; then
			echo "still not true after $1 s: $2"
			return 1
		fi
		sleep 0.1
	done
}

# remote FIELD: a field of plan demo's "remote" in the API.
remote() {
	curl -sS --max-time 5 "$(cat "$TRASH/url")/api/v1/plans/demo" | jq -r ".remote.$1"
}

# remote_gap: next_fetch - last_fetch, both from one answer (a fetch may
# happen between two requests).
remote_gap() {
	curl -sS --max-time 5 "$(cat "$TRASH/url")/api/v1/plans/demo" |
		jq -r ".remote.next_fetch - .remote.last_fetch"
}

is_remote() {	# FIELD VALUE
	test "$(remote "$1")" = "$2"
}

runs_for() {	# COMMIT: how many full runs of that commit
	sql "$TRASH/k.db" "SELECT count(*) FROM runs WHERE commit_id = '$1' AND tests IS NULL"
}

has_run() {	# COMMIT STATE...
	c=$1
	shift
	for s in "$@"; do
		[ "$(sql "$TRASH/k.db" "SELECT count(*) FROM runs WHERE commit_id = '$c'
			AND state = '$s' AND tests IS NULL")" -gt 0 ] && return 0
	done
	return 1
}

start_gitd() {
	git daemon --reuseaddr --listen=127.0.0.1 --port="$(cat "$TRASH/port")" \
		--base-path="$TRASH/srv" --export-all --detach \
		--pid-file="$TRASH/gitd.pid" &&
	wait_for 5 'git ls-remote "git://127.0.0.1:$(cat "$TRASH/port")/up.git" > /dev/null 2>&1'
}

stop_gitd() {
	kill "$(cat "$TRASH/gitd.pid")" &&
	rm -f "$TRASH/gitd.pid" &&
	wait_for 5 '! git ls-remote "git://127.0.0.1:$(cat "$TRASH/port")/up.git" > /dev/null 2>&1'
}

refresh() {
	post /api/v1/refresh '{}' > /dev/null && test "$(api_code)" = 202
}

test_expect_success 'setup: an upstream served by git daemon, a plan that follows it' '
	fake_repo up &&
	git -C up checkout -q -b s1 &&
	fake_commit up "mm: one" mm/a.c "int a;" &&
	git -C up checkout -q -b s2 &&
	fake_commit up "mm: two" mm/b.c "int b;" &&
	git -C up branch integration base &&
	mkdir srv &&
	git clone -q --bare up srv/up.git &&
	python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])" > port &&
	start_gitd &&
	write_profile profile.json &&
	cat > plan.json <<-EOF &&
	{ "name": "demo", "repo": "mirror/linux.git", "base": "base",
	  "integration": "integration", "profile": "profile.json",
	  "remote": { "url": "git://127.0.0.1:$(cat port)/up.git" },
	  "stages": [ { "name": "one", "branch": "s1" }, { "name": "two", "branch": "s2" } ] }
	EOF
	fake_repo local &&
	git -C local checkout -q -b l1 &&
	fake_commit local "mm: local one" mm/c.c "int c;" &&
	cat > local.json <<-EOF &&
	{ "name": "local", "repo": "local", "base": "base", "profile": "profile.json",
	  "stages": [ { "name": "one", "branch": "l1" } ] }
	EOF
	write_config "\"fetch_timeout\": 2" &&
	sed -i -e "s|\"plans\": \[\"plan.json\"\]|\"plans\": [\"plan.json\", \"local.json\"]|" \
		-e "s|\"poll_interval\": 0|\"poll_interval\": 1|" kstage.json &&
	"$KSTAGE" check -c kstage.json &&
	"$KSTAGE" token create t -c kstage.json > token 2> /dev/null &&
	test ! -e mirror &&
	start_daemon
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'the mirror is created, fetched, and every stage runs' '
	wait_for 10 "has_run $(git -C up rev-parse s2) done" &&
	test "$(git -C mirror/linux.git rev-parse --is-bare-repository)" = true &&
	test "$(git -C mirror/linux.git rev-parse s1)" = "$(git -C up rev-parse s1)" &&
	test "$(git -C mirror/linux.git rev-parse s2)" = "$(git -C up rev-parse s2)" &&
	has_run "$(git -C up rev-parse s1)" done &&
	wait_idle &&
	test "$(stage_field two verdict)" = green &&
	is_remote url "git://127.0.0.1:$(cat port)/up.git" &&
	is_remote state ok &&
	is_remote failures 0 &&
	is_remote error null &&
	test "$(remote last_fetch)" -gt 0 &&
	test "$(remote_gap)" -gt 0 &&
	test "$(curl -sS "$(cat url)/api/v1/plans/local" | jq -r .remote)" = null
'

test_expect_success 'upstream integration is not fetched: the gate moves it' '
	test_must_fail git -C mirror/linux.git rev-parse -q --verify refs/heads/integration &&
	post /api/v1/plans/demo/gate "{}" > g.json &&
	test "$(api_code)" = 200 &&
	test "$(git -C mirror/linux.git rev-parse integration)" = "$(git -C up rev-parse s2)" &&
	git -C srv/up.git update-ref refs/heads/integration "$(git -C up rev-parse base)" &&
	before=$(remote last_fetch) &&
	refresh &&
	wait_for 5 "test \$(remote last_fetch) -gt $before" &&
	is_remote state ok &&
	test "$(git -C mirror/linux.git rev-parse integration)" = "$(git -C up rev-parse s2)"
'

test_expect_success 'a branch moved upstream is run after the next fetch' '
	git -C up checkout -q s2 &&
	fake_commit up "mm: two more" mm/b2.c "int b2;" &&
	git -C up push -q "$TRASH/srv/up.git" s2 &&
	new=$(git -C up rev-parse s2) &&
	refresh &&
	wait_for 5 "has_run $new queued running done" &&
	test "$(git -C mirror/linux.git rev-parse s2)" = "$new" &&
	wait_idle &&
	test "$(stage_field two head)" = "$new"
'

test_expect_success 'a server that never answers: the fetch times out, nothing waits for it' '
	stop_gitd &&
	cat > silent.py <<-\EOF &&
	import socket, sys
	s = socket.socket()
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	s.bind(("127.0.0.1", int(sys.argv[1])))
	s.listen(64)
	held = []
	while True:
	    held.append(s.accept()[0])
	EOF
	{ python3 silent.py "$(cat port)" & } && echo $! > silent.pid &&
	# Listening before the fetch (a loaded machine starts python slowly).
	i=0 &&
	until python3 -c "import socket, sys; socket.create_connection((\"127.0.0.1\", int(sys.argv[1])), 1)" "$(cat port)" 2> /dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1
	done &&
	refresh &&
	sleep 0.5 &&
	# a fetch hangs now: the API answers at once, the other plan runs
	for i in 1 2 3 4 5; do
		curl -sS --max-time 1 "$(cat url)/api/v1/plans" > /dev/null || exit 1
	done &&
	git -C local checkout -q l1 &&
	fake_commit local "mm: local two" mm/d.c "int d;" &&
	refresh &&
	wait_for 5 "has_run $(git -C local rev-parse l1) done" &&
	wait_for 10 "is_remote state failing" &&
	remote error > error &&
	test_grep "nothing for 2 s" error
'

test_expect_success 'an unreachable remote is reported, once, and retried with backoff' '
	kill "$(cat silent.pid)" && rm -f silent.pid &&
	refresh &&
	wait_for 10 "remote error | grep -q \"cannot connect to 127.0.0.1 port [0-9]*: Connection refused\"" &&
	n=$(remote failures) &&
	d1=$(remote_gap) &&
	refresh &&
	wait_for 10 "test \$(remote failures) -gt $n" &&
	d2=$(remote_gap) &&
	echo "failures $n: next after $d1 ms; then after $d2 ms" &&
	test "$d2" -gt "$d1" &&
	test "$d2" -ge 2000 &&
	is_remote state failing &&
	test "$(sql k.db "SELECT count(*) FROM events WHERE kind = \"remote-failing\"")" = 1 &&
	sql k.db "SELECT data FROM events WHERE kind = \"remote-failing\"" | jq -e ".url | test(\"^git://\")" &&
	"$KSTAGE" status --url "$(cat url)" > status.out &&
	test_grep "^  remote git://127.0.0.1:[0-9]+/up.git: failing since [0-9-]+ [0-9:]+ \([0-9]+ in a row\), next try in [0-9]+ s: cannot connect" status.out &&
	test_grep "^  2 +two +[0-9a-f]{12} ok +green" status.out
'

test_expect_success 'the remote back: the plan says so, and follows it again' '
	start_gitd &&
	refresh &&
	wait_for 10 "is_remote state ok" &&
	is_remote failures 0 &&
	is_remote error null &&
	test "$(sql k.db "SELECT count(*) FROM events WHERE kind = \"remote-ok\"")" = 1 &&
	"$KSTAGE" status --url "$(cat url)" > status.out &&
	test_grep "^  remote git://127.0.0.1:[0-9]+/up.git: fetched [0-9-]+ [0-9:]+" status.out &&
	git -C up checkout -q s1 &&
	fake_commit up "mm: one more" mm/a2.c "int a2;" &&
	git -C up push -q "$TRASH/srv/up.git" s1 &&
	wait_for 10 "has_run $(git -C up rev-parse s1) queued running done"
'

test_expect_success 'the daemon stops promptly' '
	stop_daemon
'

test_done
