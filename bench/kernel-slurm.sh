#!/bin/sh
# bench/kernel-slurm.sh REPO CACHE: the demo plan on the real kernel, once
# on 1 local slot and once on 1 Slurm slot of the single-node test cluster
# (tests/t/lib-slurm.sh; needs root, slurm-wlm and munge, else skipped),
# with the same warm slot trees and ccache (the node is this machine, its
# "work" and "cache" are the daemon's).  Every run of the plan (heads,
# commit checks, confirmations, the bisection) is a batch job the second
# time.  Printed: the wall time of each pass, the sum of the runs' times
# (submission to stored result) and its ratio Slurm/local; both passes
# must reach the same verdicts and the same culprit, or the bench fails.
#
#   REPO    the kernel repository (var/linux.git from jobs/setup-demo)
#   CACHE   the ccache of the kernel profiles (var/cache)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$1" && pwd) cache=$(cd "$2" && pwd)
work=$(dirname "$cache")/work
TRASH=${BENCH_DIR:-$top/bench/out/kernel-slurm} NAME=kernel-slurm
rm -rf "$TRASH" && mkdir -p "$TRASH"
. "$top/bench/lib-cluster.sh"

# pass NAME EXTRA_JSON: the demo plan once; NAME/result: "WALL RUNS SUM_MS".
pass() {
	# The plan's gate (auto) moves integration: start it at the base.
	git -C "$repo" update-ref refs/heads/integration "$(git -C "$repo" rev-parse base)"
	mkdir -p "$TRASH/$1"
	cat > "$TRASH/$1/kstage.json" <<-EOF
	{ "db": "k.db", "artifacts": "art", "work": "$work", "cache": "$cache",
	  "plans": ["$top/configs/plans/demo.json"], "slots": 1, "auto_bisect": true$2 }
	EOF
	t0=$(date +%s.%N)
	"$top/kstage" -q run --once -c "$TRASH/$1/kstage.json" > "$TRASH/$1/report" \
		2> "$TRASH/$1/log" || true
	t1=$(date +%s.%N)
	sqlite3 "$TRASH/$1/k.db" "SELECT reason || ' ' || coalesce(verdict, state) FROM runs
		ORDER BY id" > "$TRASH/$1/verdicts"
	sqlite3 "$TRASH/$1/k.db" "SELECT state || ' ' || coalesce(culprit, '') FROM bisections" \
		> "$TRASH/$1/bisections"
	echo "$(echo "$t1 - $t0" | bc) $(sqlite3 -separator ' ' "$TRASH/$1/k.db" "SELECT count(*),
		sum(finished_at - started_at) FROM runs WHERE reused_from IS NULL AND state = 'done'")" \
		> "$TRASH/$1/result"
}

pass local ""
pass p-slurm ", \"executor\": \"slurm\", \"slurm\": { \"work\": \"$work\",
  \"cache\": \"$cache\", \"poll\": 1, \"profiles\": { \"*\": { \"cpus\": 2 } } }"
cmp -s "$TRASH/local/verdicts" "$TRASH/p-slurm/verdicts" ||
	{ echo "kernel-slurm: the verdicts differ"; diff "$TRASH/local/verdicts" "$TRASH/p-slurm/verdicts"; exit 1; }
cmp -s "$TRASH/local/bisections" "$TRASH/p-slurm/bisections" ||
	{ echo "kernel-slurm: the bisections differ"; exit 1; }
grep -q "^found " "$TRASH/local/bisections" || { echo "kernel-slurm: no culprit found"; exit 1; }
read -r lwall lruns lsum < "$TRASH/local/result"
read -r swall sruns ssum < "$TRASH/p-slurm/result"
jobs=$(squeue -h -t all -o %i | wc -l)
awk -v lw="$lwall" -v ln="$lruns" -v ls="$lsum" -v sw="$swall" -v sn="$sruns" -v ss="$ssum" \
    -v jobs="$jobs" -v culprit="$(cut -c7-18 "$TRASH/local/bisections")" 'BEGIN {
	printf "kernel-slurm: demo plan, %d runs each (%d batch jobs), same verdicts, culprit %s\n",
		ln, jobs, culprit
	printf "kernel-slurm: wall: slurm %.0f s, local %.0f s: ratio %.2f\n", sw, lw, sw / lw
	printf "kernel-slurm: runs, submission to result: slurm %.1f s, local %.1f s: ratio %.2f (%.1f s more per run)\n",
		ss / 1000, ls / 1000, ss / ls, (ss - ls) / 1000 / ln
}'
cluster_stop
