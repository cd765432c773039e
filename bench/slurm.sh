#!/bin/sh
# Benchmark: the Slurm executor against the local one, with the fake
# kernel, on the single-node Slurm cluster of tests/t/lib-slurm.sh (2
# CPUs; needs root, slurm-wlm and munge: skipped otherwise).
#
# The same plan of N independent-looking stage heads (a chain of N stages,
# every head new) runs once through "kstage run --once" on 2 local slots
# and once on 2 Slurm slots ("slots": 2, "executor": "slurm", poll 1 s).
# Printed:
#   - the dispatch rate: runs per minute the daemon submits and collects
#     (N over the wall time of the pass), Slurm and local;
#   - the per-run wall time (runs.started_at to finished_at: submission,
#     scheduling, node-run's checkout and steps, the record read back)
#     and its ratio Slurm/local, the per-run overhead of going through
#     the cluster.
#
#   sh bench/slurm.sh [N]        (default 30)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$top/bench/out/slurm}
n=${1:-30}
rm -rf "$work" && mkdir -p "$work"
TRASH=$work NAME=slurm
. "$top/bench/lib-cluster.sh"
cd "$work"
. "$top/bench/lib-fake-stack.sh"
fake_stack "$n" "$top"

# pass NAME EXTRA_JSON: one pass over the plan (N stage heads and the
# base: N + 1 runs); NAME/result gets "WALL MEAN_RUN_MS".
pass() {
	mkdir -p "$1"
	cat > "$1/kstage.json" <<EOF
{ "db": "k.db", "artifacts": "art", "work": "work", "cache": "cache",
  "plans": ["../plan.json"], "slots": 2, "auto_bisect": false$2 }
EOF
	t0=$(date +%s.%N)
	"$top/kstage" -q run --once -c "$1/kstage.json" > "$1/out" 2> "$1/err" || true
	t1=$(date +%s.%N)
	done=$(sqlite3 "$1/k.db" "SELECT count(*) FROM runs WHERE state = 'done'
		AND verdict = 'pass' AND reused_from IS NULL")
	[ "$done" = $((n + 1)) ] || { echo "slurm: $1: $done of $((n + 1)) runs passed"; tail "$1/err"; exit 1; }
	mean=$(sqlite3 "$1/k.db" "SELECT avg(finished_at - started_at) FROM runs
		WHERE reused_from IS NULL")
	echo "$(echo "$t1 - $t0" | bc) $mean" > "$1/result"
}

pass local ""
pass slurm ", \"executor\": \"slurm\", \"slurm\": {
  \"work\": \"node-work\", \"cache\": \"node-cache\", \"poll\": 1 }"
read -r lwall lrun < local/result
read -r swall srun < slurm/result
n=$((n + 1))
jobs=$(squeue -h -t all -o %i | wc -l)
awk -v n="$n" -v lw="$lwall" -v lr="$lrun" -v sw="$swall" -v sr="$srun" -v jobs="$jobs" 'BEGIN {
	printf "slurm: %d runs, 2 slots each; %d batch jobs in the cluster\n", n, jobs
	printf "slurm: dispatch rate: slurm %.1f runs/min (%.1f s), local %.1f runs/min (%.1f s)\n",
		n * 60 / sw, sw, n * 60 / lw, lw
	printf "slurm: per run, submission to result: slurm %.0f ms, local %.0f ms: ratio %.1f\n",
		sr, lr, sr / lr
	printf "slurm: per-run overhead of the cluster: %.0f ms\n", sr - lr
}'
cluster_stop
