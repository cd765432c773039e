#!/bin/sh
# bench/kernel-rebuild.sh REPO CACHE [WORKDIR]: what a stage switch costs.
#
# Compares, in one persistent tree, jobs/build after `git checkout` from
# one stage to the next with a plain incremental `make` after the same
# checkout, and prints the ratio (goal: <= 1.2).  Both are measured with a
# ccache that already holds the objects of both stages, so neither side is
# charged for compiling what the other one cached; the median of
# BENCH_ROUNDS rounds is reported.
#
#   REPO     the kernel repository (e.g. var/linux.git from jobs/setup-demo)
#   CACHE    the kstage cache dir (ccache in CACHE/ccache)
#   WORKDIR  tree and build output of the bench (default: CACHE/../bench-slot);
#            kept between runs so that only the first run builds from cold
# Environment: BENCH_FROM, BENCH_TO (default stage/1-test-hmm-stats and
# stage/2-memremap-checks), BENCH_ROUNDS (3), KSTAGE_JOBS (nproc).
set -eu
NAME=kernel-rebuild
. "$(dirname "$0")/lib-kernel.sh"
bench_setup "$@"
FROM=${BENCH_FROM:-stage/1-test-hmm-stats}
TO=${BENCH_TO:-stage/2-memremap-checks}
git -C "$REPO" rev-parse -q --verify "$FROM^{commit}" > /dev/null || die "$FROM not found in $REPO"
git -C "$REPO" rev-parse -q --verify "$TO^{commit}" > /dev/null || die "$TO not found in $REPO"
from=$(git -C "$REPO" rev-parse "$FROM^{commit}")
to=$(git -C "$REPO" rev-parse "$TO^{commit}")
export KSTAGE_ARTIFACTS="$WORK/artifacts"
LOG=$WORK/bench-rebuild.log
: > "$LOG"

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

switch() {	# COMMIT
	git -C "$TREE" checkout -q --detach "$1"
}
job_build() {
	KSTAGE_COMMIT=$(git -C "$TREE" rev-parse HEAD) "$JOBS_DIR/build" >> "$LOG" 2>&1 ||
		die "jobs/build failed, see $LOG"
}
# The plain make sees exactly what jobs/build gives kbuild: same CC, same
# ccache directory and base_dir, same build user and host.
plain_make() {
	base=$TREE
	while :; do
		case "$WORK/out/" in "$base"/*) break ;; esac
		base=$(dirname "$base")
	done
	CCACHE_DIR=$CACHE/ccache CCACHE_BASEDIR=$base \
		KBUILD_BUILD_USER=kstage KBUILD_BUILD_HOST=kstage \
		make -C "$TREE" O="$WORK/out/kernel" CC="ccache gcc" -j"$KSTAGE_JOBS" >> "$LOG" 2>&1 ||
		die "make failed, see $LOG"
}

echo "kernel-rebuild: $FROM ($(echo "$from" | cut -c1-12)) -> $TO ($(echo "$to" | cut -c1-12)), $(git -C "$TREE" diff --name-only "$from" "$to" | wc -l) files differ, -j$KSTAGE_JOBS"
t0=$(now)
switch "$from"
job_build
switch "$to"
job_build
echo "kernel-rebuild: warm-up (both stages built, ccache filled) $(secs "$t0" "$(now)")s"

JOB_TIMES=
MAKE_TIMES=
CO_TIMES=
OVER_TIMES=
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	switch "$from"
	job_build
	t0=$(now)
	switch "$to"
	t1=$(now)
	job_build
	t2=$(now)
	tj=$(secs "$t1" "$t2")
	CO_TIMES="$CO_TIMES $(secs "$t0" "$t1")"
	# What jobs/build adds to its own make (config digest and check,
	# selftests): the part of the ratio that is not noise.
	tk=$(sed -n 's/^kstage-build: time: kernel \([0-9.]*\)s.*/\1/p' "$LOG" | tail -n 1)
	OVER_TIMES="$OVER_TIMES $(awk -v a="$tj" -v b="$tk" 'BEGIN { printf "%.2f", a - b }')"

	switch "$from"
	job_build
	switch "$to"
	t1=$(now)
	plain_make
	t2=$(now)
	tm=$(secs "$t1" "$t2")
	echo "kernel-rebuild: round $r: jobs/build ${tj}s, plain make ${tm}s"
	JOB_TIMES="$JOB_TIMES $tj"
	MAKE_TIMES="$MAKE_TIMES $tm"
done
# Leave the tree complete (headers, selftests) for bench/kernel-boot.sh.
job_build

minimum() {
	# shellcheck disable=SC2086 # a list of numbers
	printf '%s\n' $1 | sort -n | head -n 1
}
mj=$(median "$JOB_TIMES")
mm=$(median "$MAKE_TIMES")
mc=$(median "$CO_TIMES")
ratio=$(awk -v a="$mj" -v b="$mm" 'BEGIN { printf "%.2f", a / b }')
# On a shared machine the fastest round is the least disturbed one.
ratio_min=$(awk -v a="$(minimum "$JOB_TIMES")" -v b="$(minimum "$MAKE_TIMES")" 'BEGIN { printf "%.2f", a / b }')
echo "kernel-rebuild: git checkout $FROM -> $TO: ${mc}s (median)"
echo "kernel-rebuild: jobs/build after the switch: ${mj}s (median of$JOB_TIMES)"
echo "kernel-rebuild: plain make after the switch: ${mm}s (median of$MAKE_TIMES)"
mo=$(median "$OVER_TIMES")
ratio_over=$(awk -v o="$mo" -v b="$mm" 'BEGIN { printf "%.2f", (b + o) / b }')
echo "kernel-rebuild: jobs/build beyond its own make: ${mo}s (median of$OVER_TIMES)"
echo "kernel-rebuild: ratio jobs/build / make = $ratio median, $ratio_min fastest rounds, $ratio_over from the overhead (goal <= 1.2)"
