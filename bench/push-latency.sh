#!/bin/sh
# Benchmark: from "git push" to the run starting.  A repository made by
# "kstage repo init" (its post-receive hook tells the daemon), served by
# "git daemon --enable=receive-pack" on loopback, a daemon with no polling
# (poll_interval 0: only the hook can start a run) and the fake kernel.
# Each round pushes a new commit of stage one and times, from the start of
# the push, when the run is queued and when it starts; the baseline is the
# same push into a plain bare repository (no hooks) in the same run.
#
#   sh bench/push-latency.sh [ROUNDS]      (default 10)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$top/bench/out/push-latency}
n=${1:-10}
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@e GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@e
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
pids=
cleanup() { for p in $pids; do kill "$p" 2> /dev/null || true; done; }
trap cleanup EXIT

git init -q -b base src
echo "hmm-tests hmm.hmm_device_private.open_close pass" > src/tests.txt
git -C src add -A && git -C src commit -q -m base
git -C src checkout -q -b s1 && echo "int one;" > src/one.c &&
	git -C src add -A && git -C src commit -q -m one
git init -q --bare plain.git
cat > plan.json <<EOF2
{ "name": "bench", "repo": "$work/served.git", "base": "base",
  "profile": "$top/tests/fake-kernel/profile.json",
  "stages": [ { "name": "one", "branch": "s1" } ] }
EOF2
cat > kstage.json <<EOF2
{ "db": "k.db", "artifacts": "art", "work": "work", "cache": "cache",
  "plans": ["plan.json"], "poll_interval": 0, "listen": "127.0.0.1:0" }
EOF2
"$top/kstage" -q token create hooks --scope push -c kstage.json > token 2> /dev/null
"$top/kstage" -q serve -c kstage.json > serve.out 2> serve.err &
pids="$pids $!"
i=0
until url=$(sed -n 's|^kstage: serving \(http://127\.0\.0\.1:[0-9]*\)/ .*|\1|p' serve.out) &&
	[ -n "$url" ] || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -n "$url" ] || { echo "push-latency: the daemon did not start"; exit 1; }
"$top/kstage" -q repo init served.git --url "$url" --token "$(cat token)" > /dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
git daemon --reuseaddr --listen=127.0.0.1 --port="$port" --base-path="$work" \
	--export-all --enable=receive-pack > /dev/null 2>&1 &
pids="$pids $!"
i=0
until git ls-remote "git://127.0.0.1:$port/plain.git" > /dev/null 2>&1 || [ $i -ge 50 ]; do
	sleep 0.1; i=$((i + 1)); done
git -C src push -q "git://127.0.0.1:$port/served.git" base s1 2> /dev/null
git -C src push -q "git://127.0.0.1:$port/plain.git" base s1 2> /dev/null

ms() { date +%s%3N; }
for r in $(seq 1 "$n"); do
	echo "int r$r;" > src/one.c && git -C src commit -q -a -m "round $r"
	c=$(git -C src rev-parse s1)
	t0=$(ms)
	git -C src push -q "git://127.0.0.1:$port/plain.git" s1 2> /dev/null
	t1=$(ms)
	git -C src push -q "git://127.0.0.1:$port/served.git" s1 2> /dev/null
	i=0
	while [ $i -lt 200 ]; do
		got=$(sqlite3 k.db "SELECT queued_at, coalesce(started_at, 0) FROM runs
			WHERE commit_id = '$c'" 2> /dev/null || true)
		case "$got" in *'|'0 | '') ;; *) break ;; esac
		sleep 0.01; i=$((i + 1))
	done
	[ -n "$got" ] || { echo "push-latency: no run for round $r"; exit 1; }
	echo "$((t1 - t0)) $(( ${got%|*} - t1 )) $(( ${got#*|} - t1 ))"
	# The next round starts when this run is done.
	while [ "$(sqlite3 k.db "SELECT count(*) FROM runs WHERE state IN ('queued', 'running')")" != 0 ]; do
		sleep 0.02; done
done > samples
med() { cut -d' ' -f"$1" samples | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
plain=$(med 1) queued=$(med 2) started=$(med 3)
echo "push-latency: $n rounds, medians"
echo "  plain git push (no hooks):           ${plain} ms"
echo "  push start -> run queued (hooked):   ${queued} ms"
echo "  push start -> run started (hooked):  ${started} ms"
echo "  ratio run started / plain push: $(echo "scale=2; $started / $plain" | bc)"
