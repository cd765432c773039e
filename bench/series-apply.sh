#!/bin/sh
# bench/series-apply.sh [REPO]: the 12 demo patches (configs/demo) applied
# as mail by "kstage series apply" (GMime + libgit2 in memory, one process
# per stage, recorded in a database) against the baseline the demo used
# before: git mailinfo + git apply --cached on a temporary index +
# git commit-tree, per patch (what git am does without a work tree).
# Both write the same commits (same ids); a scratch repository borrows the
# kernel's objects (alternates), so nothing of REPO changes.
#
# REPO: the demo kernel repository (default var/linux.git, made by
# jobs/setup-demo).  Prints the median of 5 runs of each and the ratio.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "${1:-$top/var/linux.git}" && pwd)
demo=$top/configs/demo
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GIT_COMMITTER_NAME="kstage demo" GIT_COMMITTER_EMAIL="demo@kstage.invalid"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null TZ=UTC LC_ALL=C
base=$(git --git-dir="$repo" rev-parse base)

scratch() {	# a bare repository on REPO's objects, with only base
	rm -rf "$tmp/s.git" "$tmp/k.db"*
	git init -q --bare "$tmp/s.git"
	echo "$repo/objects" > "$tmp/s.git/objects/info/alternates"
	git --git-dir="$tmp/s.git" update-ref refs/heads/base "$base"
}

jq --arg repo "$tmp/s.git" --arg dir "$top/configs/plans" \
	'.repo = $repo | .profile = ($dir + "/" + .profile)' \
	"$top/configs/plans/demo.json" > "$tmp/demo.json"
jq -n --arg p "$tmp/demo.json" --arg db "$tmp/k.db" '{plans: [$p], db: $db}' > "$tmp/kstage.json"

# The stages and their patch files, from configs/demo/series.
stages() {
	awk '/^\[/ { if (b) print b, f; b = substr($0, 2, length($0) - 2); f = ""; next }
	     /^[0-9]/ { f = f (f ? "," : "") $0 }
	     END { if (b) print b, f }' "$demo/series"
}

with_kstage() {
	scratch
	stages | while read -r branch files; do
		stage=$(jq -r --arg b "$branch" '.stages[] | select(.branch == $b) | .name' "$tmp/demo.json")
		# shellcheck disable=SC2046
		(cd "$demo" && "$top/kstage" -q series apply -c "$tmp/kstage.json" --plan \
			zone-device-demo --stage "$stage" --committer-date-is-author-date \
			$(echo "$files" | tr , ' ') > /dev/null)
	done
}

with_git() {
	scratch
	export GIT_DIR="$tmp/s.git" GIT_INDEX_FILE="$tmp/index"
	git read-tree "$base"
	parent=$base
	stages | while read -r branch files; do
		for f in $(echo "$files" | tr , ' '); do
			git mailinfo "$tmp/msg" "$tmp/patch" < "$demo/$f" > "$tmp/info"
			git apply --cached "$tmp/patch"
			date=$(sed -n 's/^Date: //p' "$tmp/info")
			parent=$({ sed -n 's/^Subject: //p' "$tmp/info"; echo; cat "$tmp/msg"; } |
				GIT_AUTHOR_NAME=$(sed -n 's/^Author: //p' "$tmp/info") \
				GIT_AUTHOR_EMAIL=$(sed -n 's/^Email: //p' "$tmp/info") \
				GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" \
				git commit-tree "$(git write-tree)" -p "$parent")
		done
		git update-ref "refs/heads/$branch" "$parent"
	done
	unset GIT_DIR GIT_INDEX_FILE
}

median() {	# FUNCTION: median wall seconds of 5 runs
	for i in 1 2 3 4 5; do
		t0=$(date +%s.%N); "$1"; t1=$(date +%s.%N)
		echo "$t1 - $t0" | bc
	done | sort -n | sed -n 3p
}

k=$(median with_kstage)
# The commit ids are the same either way (configs/demo/ids).
want=$(awk '$1 == "stage/5-devmap-cleanup" { print $2 }' "$demo/ids")
got=$(git --git-dir="$tmp/s.git" rev-parse stage/5-devmap-cleanup)
g=$(median with_git)
gotg=$(git --git-dir="$tmp/s.git" rev-parse stage/5-devmap-cleanup)
echo "series-apply: 12 demo patches in 5 stages on $(git --git-dir="$repo" log -1 --format=%s base)"
echo "  kstage series apply (5 calls, recorded): ${k}s (median of 5)"
echo "  git mailinfo + apply --cached + commit-tree: ${g}s (median of 5)"
echo "  ratio kstage/git: $(echo "scale=2; $k / $g" | bc)"
[ "$got" = "$gotg" ] || { echo "  the two disagree: $got vs $gotg"; exit 1; }
[ "$got" = "$want" ] && echo "  same commit ids as configs/demo/ids: yes" ||
	echo "  same commit ids as configs/demo/ids: no ($got; another linux-source?)"
