#!/bin/sh
# Concurrent clients while runs progress: no errors, no torn JSON, and the
# loop keeps scheduling (runs finish on time).
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"

load_cleanup() {
	[ -f "$TRASH/loaders" ] && kill $(cat "$TRASH/loaders") 2> /dev/null
	api_cleanup
}
trap load_cleanup EXIT

test_expect_success 'setup: stages whose boots take a second each' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one (slow boot)" SLEEP 1 &&
	git -C repo checkout -q -b s2 &&
	fake_commit repo "mm: two" mm/b.c "int b;" &&
	git -C repo checkout -q -b s3 &&
	fake_commit repo "mm: three" mm/c.c "int c;" &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 three:s3 &&
	write_config &&
	cat > loader.sh <<-\EOF &&
	# loader.sh URL N OUT: N rounds of reads; every answer must be 200 and JSON.
	url=$1 n=$2 out=$3
	i=0
	while [ $i -lt $n ]; do
		for p in /api/v1/plans /api/v1/plans/demo/stages/three /api/v1/runs?limit=20 \
			/api/v1/plans/demo/matrix /api/v1/bisections; do
			code=$(curl -s -o "$out.body" -w "%{http_code}" "$url$p")
			if [ "$code" != 200 ] || ! jq -e . "$out.body" > /dev/null 2>&1; then
				echo "$p: HTTP $code" >> "$out.bad"
				cat "$out.body" >> "$out.bad"
			fi
			echo x >> "$out.count"
		done
		i=$((i + 1))
	done
	EOF
	start_daemon
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'curl loops and wrk hammer the API while the stages run' '
	url=$(cat url) &&
	for l in 1 2 3 4; do
		sh loader.sh "$url" 8 load.$l &
		echo $! >> loaders
	done &&
	if command -v wrk > /dev/null; then
		wrk -t2 -c16 -d2s "$url/api/v1/plans/demo/stages/three" > wrk.out 2>&1 &&
		cat wrk.out &&
		! grep -E "Non-2xx|Socket errors" wrk.out &&
		grep "Requests/sec" wrk.out
	fi &&
	for p in $(cat loaders); do
		while kill -0 $p 2> /dev/null; do sleep 0.1; done
	done &&
	rm -f loaders &&
	cat load.*.count | wc -l > count &&
	test "$(cat count)" = 160 &&
	! cat load.*.bad 2> /dev/null | grep .
'

test_expect_success 'the runs finished on time: boots of a second, no gaps' '
	wait_idle 20 &&
	sql k.db "SELECT count(*) FROM runs WHERE state = \"done\"" > n &&
	test "$(cat n)" = 4 &&
	sql k.db "SELECT max(finished_at - started_at) FROM steps WHERE name = \"boot\"" > longest &&
	echo "longest boot: $(cat longest) ms" &&
	test "$(cat longest)" -lt 2000 &&
	sql k.db "SELECT max(b.started_at - a.finished_at) FROM runs a JOIN runs b
		ON b.id = a.id + 1" > gap &&
	echo "longest gap between runs: $(cat gap) ms" &&
	test "$(cat gap)" -lt 500 &&
	test "$(stage_field three verdict)" = green
'

test_expect_success 'SIGTERM stops the daemon; no kstage process is left' '
	stop_daemon &&
	! pgrep -f -- "$TRASH/kstage.json"
'

test_done
