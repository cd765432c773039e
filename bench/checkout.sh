#!/bin/sh
# Benchmark: a slot's checkouts with kstage (libgit2) against git, in the
# same run:
#
#  - the first checkout of a slot (an empty directory, the whole tree)
#    against `git checkout -f A -- .` into an empty work tree (with a
#    private index file, so the repository is not written to), BENCH_FIRST
#    pairs (default 3), the two taking turns to go first;
#  - switching the persistent tree between two adjacent stages (only the
#    changed paths) against `git checkout` of the same two commits in a
#    copy, BENCH_SWITCHES switches (default 10).
#
#   sh bench/checkout.sh [REPO COMMIT_A COMMIT_B]
#
# Without arguments it generates a repository of ~80k files (400
# directories x 200 files) and a second commit that changes 20 files,
# removes 2 and adds 2, like two adjacent stages of a kernel plan.  Give the
# kernel repository and two stage branches to measure the real thing.
# Prints the median times of each, the ratios kstage/git (lower is
# better), and whether unchanged files kept their mtime.  The checked-out
# trees (a kernel tree is 1.7 GB) live in a scratch directory under
# BENCH_TMP (default /tmp) that is removed at the end; the figures stay in
# BENCH_DIR.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$top/bench/out/checkout}
n=${BENCH_SWITCHES:-10}
nfirst=${BENCH_FIRST:-3}
mkdir -p "$work"
scratch=$(mktemp -d "${BENCH_TMP:-/tmp}/kstage-bench-checkout.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
cc -O2 -std=gnu11 -D_GNU_SOURCE -I"$top/daemon" $(pkg-config --cflags libgit2) \
	-o "$work/checkout" "$top/bench/checkout.c" "$top/libkstage.a" \
	$(pkg-config --libs libgit2 libcurl sqlite3 libmicrohttpd jansson) -lpthread

export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@e GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@e
if [ $# -ge 3 ]; then
	repo=$1 a=$2 b=$3
else
	repo=$work/gen.git
	if [ ! -d "$repo" ]; then
		echo "generating a repository of 80000 files..." >&2
		src=$work/gen-src
		rm -rf "$src" && mkdir -p "$src"
		awk -v root="$src" 'BEGIN {
			for (d = 0; d < 400; d++) {
				dir = sprintf("%s/d%03d", root, d)
				system("mkdir -p " dir)
				for (f = 0; f < 200; f++) {
					p = sprintf("%s/f%03d.c", dir, f)
					printf("/* file %d/%d */\nint f_%d_%d(void) { return %d; }\n",
					       d, f, d, f, d * f) > p
					close(p)
				}
			}
		}'
		git init -q --bare "$repo"
		GIT_DIR=$repo GIT_WORK_TREE=$src git add -A
		GIT_DIR=$repo GIT_WORK_TREE=$src git commit -q -m "stage 1"
		GIT_DIR=$repo git branch -f s1
		for i in $(seq 0 19); do echo "/* changed */" >> "$src/d$(printf %03d $((i * 17)))/f010.c"; done
		rm "$src/d001/f001.c" "$src/d002/f002.c"
		echo "int new1;" > "$src/d003/new1.c"; echo "int new2;" > "$src/d399/new2.c"
		GIT_DIR=$repo GIT_WORK_TREE=$src git add -A
		GIT_DIR=$repo GIT_WORK_TREE=$src git commit -q -m "stage 2"
		GIT_DIR=$repo git branch -f s2
		rm -rf "$src"
	fi
	a=s1 b=s2
fi
ta=$(git -C "$repo" rev-parse "$a^{tree}")
tb=$(git -C "$repo" rev-parse "$b^{tree}")
files=$(git -C "$repo" ls-tree -r "$ta" | wc -l)
probe=$(git -C "$repo" diff --name-only "$a" "$b" > "$work/changed"; \
	git -C "$repo" ls-tree -r --name-only "$ta" | grep -vxFf "$work/changed" | awk 'NR <= 1000 { p = $0 } END { print p }')

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }

# First checkouts into empty directories, timed from outside the process
# on both sides.  Each tree is removed (and the removal written out)
# before the next one is timed: creating files right after a mass removal
# is slower on ext4 for a while, and must not fall on one side only.
first_ours() {
	t0=$(now)
	"$work/checkout" "$repo" "$ta" "$tb" "$scratch/first" 0 "$probe" > /dev/null
	t1=$(now)
	echo "$t1 - $t0" | bc >> "$work/first-ours"
	[ -f "$scratch/first/$probe" ]
	rm -rf "$scratch/first" "$scratch/first.state"
	sync
}
first_git() {
	mkdir "$scratch/first"
	t0=$(now)
	GIT_INDEX_FILE=$scratch/first.index \
		git --git-dir="$repo" --work-tree="$scratch/first" checkout -q -f "$ta" -- .
	t1=$(now)
	echo "$t1 - $t0" | bc >> "$work/first-git"
	[ -f "$scratch/first/$probe" ]
	rm -rf "$scratch/first" "$scratch/first.index"
	sync
}
: > "$work/first-ours"
: > "$work/first-git"
i=0
while [ $i -lt "$nfirst" ]; do
	if [ $((i % 2)) = 0 ]; then first_ours; first_git; else first_git; first_ours; fi
	i=$((i + 1))
done
first_ratio=$(paste "$work/first-ours" "$work/first-git" | awk '{ print $1 / $2 }' | median)

"$work/checkout" "$repo" "$ta" "$tb" "$scratch/slot" "$n" "$probe" > "$work/ours"
ours=$(awk '$1 == "switch" { print $2 }' "$work/ours" | median)
full=$(awk '$1 == "full" { print $2 }' "$work/ours")
kept=$(awk '$1 == "mtime-kept" { print $2 }' "$work/ours")

rm -rf "$scratch/slot" "$scratch/slot.state"
git clone -q --no-checkout "$repo" "$scratch/copy"
git -C "$scratch/copy" checkout -q "$a"
before=$(stat -c %y "$scratch/copy/$probe")
: > "$work/git"
i=0
while [ $i -lt "$n" ]; do
	if [ $((i % 2)) = 0 ]; then c=$b; else c=$a; fi
	t0=$(date +%s.%N)
	git -C "$scratch/copy" checkout -q "$c"
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc >> "$work/git"
	i=$((i + 1))
done
gitt=$(median < "$work/git")
git_kept=no
[ "$(stat -c %y "$scratch/copy/$probe")" = "$before" ] && git_kept=yes
rm -rf "$scratch/copy"

echo "checkout: $files files, $(wc -l < "$work/changed") paths differ, $nfirst first checkouts, $n switches"
printf 'checkout: first checkout into an empty directory: kstage median %.2f s, git median %.2f s\n' \
	"$(median < "$work/first-ours")" "$(median < "$work/first-git")"
printf 'checkout: first checkout ratio kstage/git = %.2f (median of pairs, lower is better)\n' "$first_ratio"
printf 'checkout: kstage switch median %.4f s (first full checkout %.2f s), git checkout median %.4f s\n' "$ours" "$full" "$gitt"
printf 'checkout: switch ratio kstage/git = %.2f (lower is better)\n' "$(echo "$ours / $gitt" | bc -l)"
echo "checkout: unchanged file $probe kept its mtime: kstage $kept, git $git_kept"
[ "$kept" = yes ]
