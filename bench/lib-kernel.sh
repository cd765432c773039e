# bench/lib-kernel.sh: what the kernel benchmarks share.  Sourced by
# bench/kernel-boot.sh and bench/kernel-rebuild.sh after they set NAME:
#
#   bench_setup REPO CACHE [WORKDIR]
#
# checks the arguments and BENCH_ROUNDS, clones (once) and fetches the
# kernel repository into the persistent bench tree WORKDIR/tree (default
# CACHE/../bench-slot, shared by both benchmarks), and exports the step
# environment of jobs/ that does not depend on the benchmark.  Sets
# JOBS_DIR, REPO, CACHE, WORK, TREE and ROUNDS.

die() {
	echo "$NAME: error: $*" >&2
	exit 1
}

now() { date +%s.%N; }

# median "N N N...": the median of a list of numbers.
median() {
	# shellcheck disable=SC2086 # a list of numbers
	printf '%s\n' $1 | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bench_setup() {
	[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: bench/$NAME.sh REPO CACHE [WORKDIR]"
	JOBS_DIR=$(cd "$(dirname "$0")/../jobs" && pwd -P)
	REPO=$1
	mkdir -p "$2"
	CACHE=$(cd "$2" && pwd -P)
	WORK=${3:-$(dirname "$CACHE")/bench-slot}
	ROUNDS=${BENCH_ROUNDS:-3}
	case "$ROUNDS" in '' | *[!0-9]*) die "BENCH_ROUNDS=$ROUNDS is not a number" ;; esac
	[ "$ROUNDS" -ge 1 ] || die "BENCH_ROUNDS must be at least 1"

	mkdir -p "$WORK/out" "$WORK/artifacts"
	TREE=$WORK/tree
	if [ ! -d "$TREE/.git" ]; then
		echo "$NAME: cloning $REPO into $TREE"
		git clone -q --no-checkout "$REPO" "$TREE"
	fi
	git -C "$TREE" fetch -q "$(cd "$REPO" && pwd -P)" "+refs/heads/*:refs/remotes/bench/*"

	export KSTAGE_TREE="$TREE" KSTAGE_OUT="$WORK/out" KSTAGE_CACHE="$CACHE"
	export KSTAGE_JOBS="${KSTAGE_JOBS:-$(nproc)}"
	export KSTAGE_RUN=bench KSTAGE_SLOT=bench KSTAGE_PLAN=bench KSTAGE_STAGE=bench
}
