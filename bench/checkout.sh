#!/bin/sh
# Benchmark: switching a slot's persistent tree between two adjacent stages
# with kstage's checkout (libgit2, only the changed paths) against
# `git checkout` of the same two commits in a copy, in the same run.
#
#   sh bench/checkout.sh [REPO COMMIT_A COMMIT_B]
#
# Without arguments it generates a repository of ~80k files (400
# directories x 200 files) and a second commit that changes 20 files,
# removes 2 and adds 2, like two adjacent stages of a kernel plan.  Give the
# kernel repository and two stage branches to measure the real thing.
# Prints the median switch time of each and the ratio kstage/git (lower is
# better), and whether unchanged files kept their mtime.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$top/bench/out/checkout}
n=${BENCH_SWITCHES:-10}
mkdir -p "$work"
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
	git -C "$repo" ls-tree -r --name-only "$ta" | grep -vxFf "$work/changed" | sed -n '1000p')

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

rm -rf "$work/slot" "$work/slot.state"
"$work/checkout" "$repo" "$ta" "$tb" "$work/slot" "$n" "$probe" > "$work/ours"
ours=$(awk '$1 == "switch" { print $2 }' "$work/ours" | median)
full=$(awk '$1 == "full" { print $2 }' "$work/ours")
kept=$(awk '$1 == "mtime-kept" { print $2 }' "$work/ours")

rm -rf "$work/copy"
git clone -q --no-checkout "$repo" "$work/copy"
git -C "$work/copy" checkout -q "$a"
before=$(stat -c %y "$work/copy/$probe")
: > "$work/git"
i=0
while [ $i -lt "$n" ]; do
	if [ $((i % 2)) = 0 ]; then c=$b; else c=$a; fi
	t0=$(date +%s.%N)
	git -C "$work/copy" checkout -q "$c"
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc >> "$work/git"
	i=$((i + 1))
done
gitt=$(median < "$work/git")
git_kept=no
[ "$(stat -c %y "$work/copy/$probe")" = "$before" ] && git_kept=yes

echo "checkout: $files files, $(wc -l < "$work/changed") paths differ, $n switches"
printf 'checkout: kstage switch median %.4f s (first full checkout %.2f s), git checkout median %.4f s\n' "$ours" "$full" "$gitt"
printf 'checkout: ratio kstage/git = %.2f (lower is better)\n' "$(echo "$ours / $gitt" | bc -l)"
echo "checkout: unchanged file $probe kept its mtime: kstage $kept, git $git_kept"
[ "$kept" = yes ]
