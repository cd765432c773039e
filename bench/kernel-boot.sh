#!/bin/sh
# bench/kernel-boot.sh REPO CACHE [WORKDIR]: boot + tests time of jobs/boot.
#
# Builds BENCH_REF (default stage/1-test-hmm-stats) with jobs/build in a
# persistent bench tree, then times jobs/boot BENCH_ROUNDS times (default 3)
# with the test set of the by-hand reference runs (hmm-tests and the three
# gup_test invocations) and prints the median against the by-hand figure:
# 9.21 s start-to-marker for memmap (7-9.5 s over both pmem modes), 7.29 s
# for nvdimm (shared/KERNEL.md).  Every round must end with the KSTAGE-DONE
# marker and hmm-tests passing, or the bench fails.
#
#   REPO     the kernel repository (e.g. var/linux.git from jobs/setup-demo)
#   CACHE    the kstage cache dir (ccache, KVM probe)
#   WORKDIR  tree and build output (default: CACHE/../bench-slot, shared
#            with bench/kernel-rebuild.sh)
# Environment: BENCH_REF, BENCH_ROUNDS, BENCH_PMEM (memmap | nvdimm),
# BENCH_SELFTESTS (default "hmm-tests gup_test"), KSTAGE_ACCEL (auto).
set -eu
NAME=kernel-boot
. "$(dirname "$0")/lib-kernel.sh"
bench_setup "$@"
REF=${BENCH_REF:-stage/1-test-hmm-stats}
PMEM=${BENCH_PMEM:-memmap}
case "$PMEM" in
memmap) REF_SECS=9.21 ;;
nvdimm) REF_SECS=7.29 ;;
*) die "BENCH_PMEM=$PMEM: expected memmap or nvdimm" ;;
esac
commit=$(git -C "$REPO" rev-parse -q --verify "$REF^{commit}") || die "$REF not found in $REPO"
git -C "$TREE" checkout -q --detach "$commit"

export KSTAGE_COMMIT="$commit"
export KSTAGE_PMEM="$PMEM" KSTAGE_THP=madvise KSTAGE_ACCEL="${KSTAGE_ACCEL:-auto}"
export KSTAGE_SELFTESTS="${BENCH_SELFTESTS:-hmm-tests gup_test}"
if [ "$PMEM" = memmap ]; then
	export KSTAGE_SPM=1
else
	export KSTAGE_SPM=0
fi
unset KSTAGE_TESTS

echo "kernel-boot: building $REF ($(echo "$commit" | cut -c1-12))"
KSTAGE_ARTIFACTS=$WORK/artifacts "$JOBS_DIR/build" > "$WORK/bench-boot-build.log" 2>&1 ||
	die "jobs/build failed, see $WORK/bench-boot-build.log"

TIMES=
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	art=$WORK/artifacts/boot-$r
	rm -rf "$art"
	mkdir -p "$art"
	log=$art/console.log
	t0=$(now)
	(cd "$art" && KSTAGE_ARTIFACTS=$art "$JOBS_DIR/boot") > "$log" 2>&1 ||
		die "jobs/boot failed, see $log"
	t=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
	grep -q '^KSTAGE-DONE' "$log" || die "round $r: no KSTAGE-DONE marker, see $log"
	grep -q '^ok [0-9]* hmm-tests$' "$log" || die "round $r: hmm-tests did not pass, see $log"
	accel=$(sed -n 's/^kstage-boot: accel=\([a-z]*\).*/\1/p' "$log")
	echo "kernel-boot: round $r: ${t}s (accel $accel, $(grep '^# # PASSED\|^# # FAILED' "$log" | head -n 1 | sed 's/^# # //'))"
	TIMES="$TIMES $t"
done

med=$(median "$TIMES")
ratio=$(awk -v a="$med" -v b="$REF_SECS" 'BEGIN { printf "%.2f", a / b }')
echo "kernel-boot: jobs/boot $PMEM, selftests \"$KSTAGE_SELFTESTS\": median ${med}s of$TIMES"
echo "kernel-boot: ratio to the by-hand ${REF_SECS}s = $ratio (goal <= 1.1)"
