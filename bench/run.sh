#!/bin/sh
# Run every benchmark; each prints its numbers and a ratio against a
# baseline measured in the same run.  Output also goes to bench/out/.
#
#   make bench                 (or: sh bench/run.sh [NAME...])
#
# The kernel benchmarks need the demo kernel repository (make run or
# jobs/setup-demo creates var/linux.git) and are skipped without it.
cd "$(dirname "$0")/.." || exit 1
mkdir -p bench/out
status=0
want() { [ $# -eq 0 ] || case " $ARGS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
ARGS="$*"
run() {	# NAME COMMAND...
	name=$1
	shift
	[ -z "$ARGS" ] || want "$name" || return 0
	echo "=== $name"
	if "$@" 2>&1 | tee "bench/out/$name.txt"; then :; else
		echo "=== $name: FAILED (or missed its goal)"
		status=1
	fi
}
run checkout sh bench/checkout.sh
run overhead sh bench/overhead.sh
run bisect-runs sh bench/bisect-runs.sh
run push-latency sh bench/push-latency.sh
run slurm sh bench/slurm.sh
[ -f bench/api-status.sh ] && run api-status sh bench/api-status.sh
[ -f bench/dashboard.sh ] && run dashboard sh bench/dashboard.sh
if [ -d var/linux.git ]; then
	[ -f bench/kernel-rebuild.sh ] && run kernel-rebuild sh bench/kernel-rebuild.sh var/linux.git var/cache
	[ -f bench/kernel-boot.sh ] && run kernel-boot sh bench/kernel-boot.sh var/linux.git var/cache
	run series-apply sh bench/series-apply.sh var/linux.git
	run kernel-slurm sh bench/kernel-slurm.sh var/linux.git var/cache
else
	echo "=== kernel benchmarks skipped: no var/linux.git (run jobs/setup-demo)"
fi
exit $status
