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

die() {
	echo "kernel-boot: error: $*" >&2
	exit 1
}
[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: bench/kernel-boot.sh REPO CACHE [WORKDIR]"
JOBS_DIR=$(cd "$(dirname "$0")/../jobs" && pwd -P)
REPO=$1
mkdir -p "$2"
CACHE=$(cd "$2" && pwd -P)
WORK=${3:-$(dirname "$CACHE")/bench-slot}
REF=${BENCH_REF:-stage/1-test-hmm-stats}
ROUNDS=${BENCH_ROUNDS:-3}
PMEM=${BENCH_PMEM:-memmap}
case "$ROUNDS" in '' | *[!0-9]*) die "BENCH_ROUNDS=$ROUNDS is not a number" ;; esac
[ "$ROUNDS" -ge 1 ] || die "BENCH_ROUNDS must be at least 1"
case "$PMEM" in
memmap) REF_SECS=9.21 ;;
nvdimm) REF_SECS=7.29 ;;
*) die "BENCH_PMEM=$PMEM: expected memmap or nvdimm" ;;
esac
commit=$(git -C "$REPO" rev-parse -q --verify "$REF^{commit}") || die "$REF not found in $REPO"

mkdir -p "$WORK/out" "$WORK/artifacts"
TREE=$WORK/tree
if [ ! -d "$TREE/.git" ]; then
	echo "kernel-boot: cloning $REPO into $TREE"
	git clone -q --no-checkout "$REPO" "$TREE"
fi
git -C "$TREE" fetch -q "$(cd "$REPO" && pwd -P)" "+refs/heads/*:refs/remotes/bench/*"
git -C "$TREE" checkout -q --detach "$commit"

export KSTAGE_TREE="$TREE" KSTAGE_OUT="$WORK/out" KSTAGE_CACHE="$CACHE"
export KSTAGE_JOBS="${KSTAGE_JOBS:-$(nproc)}" KSTAGE_COMMIT="$commit"
export KSTAGE_RUN=bench KSTAGE_SLOT=bench KSTAGE_PLAN=bench KSTAGE_STAGE=bench
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

now() { date +%s.%N; }
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

# shellcheck disable=SC2086 # a list of numbers
med=$(printf '%s\n' $TIMES | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
ratio=$(awk -v a="$med" -v b="$REF_SECS" 'BEGIN { printf "%.2f", a / b }')
echo "kernel-boot: jobs/boot $PMEM, selftests \"$KSTAGE_SELFTESTS\": median ${med}s of$TIMES"
echo "kernel-boot: ratio to the by-hand ${REF_SECS}s = $ratio (goal <= 1.1)"
