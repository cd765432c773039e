# lib-cluster.sh: the single-node Slurm cluster of tests/t/lib-slurm.sh
# for a benchmark, sourced with TRASH (an empty directory: the cluster
# lives in TRASH/slurm), top and NAME set.  Skips the benchmark (exit 0,
# "NAME: skipped") without root, slurm-wlm or munge; starts the cluster
# (SLURM_CONF exported) and stops it on exit.  The benchmark ends with
# cluster_stop.
TIME_FACTOR=1
set +eu
. "$top/tests/t/lib-slurm.sh"
set -eu
trap 'set +e; slurm_cleanup' EXIT
slurm_require() {
	[ "$(id -u)" = 0 ] && command -v slurmctld > /dev/null && command -v munged > /dev/null ||
		{ echo "$NAME: skipped (needs root, slurm-wlm and munge)"; exit 0; }
}
slurm_start > "$TRASH/start.out"

cluster_stop() {
	slurm_stop > /dev/null || true
	trap - EXIT
}
