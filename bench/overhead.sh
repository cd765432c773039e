#!/bin/sh
# Benchmark: orchestration overhead per run with the fake kernel: the time
# a run takes outside its steps (queueing, process setup, log capture,
# parsing, storing results), against the time of the steps themselves in
# the same runs.  Goal: < 50 ms per run.
#
#   sh bench/overhead.sh [STAGES]        (default 30 stages, 1 commit each)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$top/bench/out/overhead}
n=${1:-30}
rm -rf "$work" && mkdir -p "$work" && cd "$work"
. "$top/bench/lib-fake-stack.sh"
fake_stack "$n" "$top"
t0=$(date +%s.%N)
"$top/kstage" -q run --once --plan plan.json --db k.db --artifacts art --work work --cache cache > out
t1=$(date +%s.%N)
sqlite3 k.db "SELECT overhead_ms, checkout_ms,
	(SELECT sum(finished_at - started_at) FROM steps WHERE run_id = runs.id)
	FROM runs WHERE reused_from IS NULL" | tr '|' ' ' | sort -n > samples
awk -v wall="$(echo "$t1 - $t0" | bc)" '
	{ o[NR] = $1; c += $2; s += $3; ot += $1 }
	END {
		n = NR
		printf "overhead: %d runs in %.2f s wall\n", NR, wall
		printf "overhead: outside the steps per run: mean %.1f ms, p50 %d ms, p95 %d ms, max %d ms (goal < 50 ms)\n",
			ot / NR, o[int((n + 1) / 2)], o[int(n * 0.95 + 0.5)], o[n]
		printf "overhead: checkout per run: mean %.1f ms; steps per run: mean %.1f ms\n", c / NR, s / NR
		printf "overhead: ratio overhead/steps = %.2f\n", (ot / NR) / (s / NR)
		exit !(ot / NR < 50)
	}' samples
