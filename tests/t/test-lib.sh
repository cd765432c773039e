# test-lib.sh: the shell end-to-end test library (after git's t/test-lib.sh).
#
#   . ./test-lib.sh
#   test_expect_success 'what it checks' '
#           command && command
#   '
#   test_done
#
# Each test script runs in its own scratch directory ($TRASH), removed at
# the end unless a test failed (or KSTAGE_TEST_KEEP=1).  Output is TAP:
# "ok N - what" / "not ok N - what", then a "# passed/failed" line.  A
# body runs in a subshell with "set -e"; its output is shown only when it
# fails (or with -v / KSTAGE_TEST_VERBOSE=1).
#
# Helpers to build a fake-kernel repository and plan: fake_repo,
# fake_commit, write_plan, write_profile, kstage_once.

set -u
TEST_NAME=$(basename "$0" .sh)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
# Where the binaries are: the source tree, or build-san/ (make SANITIZE=1).
KSTAGE_BUILD=${KSTAGE_BUILD:-$SRC}
KSTAGE=${KSTAGE:-$KSTAGE_BUILD/kstage}
# How much longer the helpers wait for a daemon to start, stop or go idle:
# more than 1 for slow builds (tests/run.sh sets 3 under SANITIZE=1).
TIME_FACTOR=${KSTAGE_TEST_TIME_FACTOR:-1}
FAKE=$SRC/tests/fake-kernel
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/kstage-$TEST_NAME.XXXXXX")
test_count=0
test_failed=0
verbose=${KSTAGE_TEST_VERBOSE:-0}
[ "${1:-}" = "-v" ] && verbose=1
export GIT_AUTHOR_NAME="A U Thor" GIT_AUTHOR_EMAIL="author@example.com"
export GIT_COMMITTER_NAME="C O Mitter" GIT_COMMITTER_EMAIL="committer@example.com"
export GIT_CONFIG_NOSYSTEM=1 HOME="$TRASH"
unset KSTAGE_TESTS KSTAGE_RUN_TOKEN
cd "$TRASH" || exit 1

if [ ! -x "$KSTAGE" ]; then
	echo "Bail out! $KSTAGE is not built (make kstage)"
	exit 1
fi

test_expect_success() {
	desc=$1
	body=$2
	test_count=$((test_count + 1))
	out="$TRASH/.test-$test_count.out"
	# Not inside "if": there the shell ignores set -e, and a body of
	# plain lines (no &&) would only fail on its last command.
	(set -ex; cd "$TRASH"; eval "$body") > "$out" 2>&1
	if [ $? = 0 ]; then
		echo "ok $test_count - $desc"
		[ "$verbose" = 1 ] && sed 's/^/# /' "$out"
	else
		echo "not ok $test_count - $desc"
		sed 's/^/#   /' "$out" | tail -n 60
		test_failed=$((test_failed + 1))
	fi
	return 0
}

test_done() {
	echo "1..$test_count"
	echo "# $TEST_NAME: $((test_count - test_failed)) passed, $test_failed failed"
	if [ "$test_failed" = 0 ] && [ "${KSTAGE_TEST_KEEP:-0}" != 1 ]; then
		cd / && rm -rf "$TRASH"
	else
		echo "# scratch directory kept: $TRASH"
	fi
	[ "$test_failed" = 0 ]
	exit $?
}

# --- assertions -------------------------------------------------------------

# test_cmp EXPECTED ACTUAL
test_cmp() {
	diff -u "$1" "$2"
}

# test_grep PATTERN FILE: like grep, but shows the file when it fails.
test_grep() {
	if ! grep -E -- "$1" "$2" > /dev/null; then
		echo "no line matching '$1' in $2:"
		sed 's/^/| /' "$2" | tail -n 40
		return 1
	fi
}

test_must_fail() {
	if "$@"; then
		echo "command unexpectedly succeeded: $*"
		return 1
	fi
	return 0
}

# test_exit CODE COMMAND...: the command must exit with exactly CODE.
test_exit() {
	want=$1
	shift
	set +e
	"$@"
	got=$?
	set -e
	if [ "$got" != "$want" ]; then
		echo "exit status $got, expected $want: $*"
		return 1
	fi
}

# test_no_leftovers: no process of this test's steps is alive: none whose
# environment has a KSTAGE_OUT under $TRASH (what every step, and every
# process a step starts, inherits; setsid does not change it).  Only this
# test's own processes count, so tests running at the same time elsewhere
# on the machine do not disturb it.  Lists what it finds.
test_no_leftovers() {
	_left=
	for _e in /proc/[0-9]*/environ; do
		{ tr '\0' '\n' < "$_e"; } 2> /dev/null | grep -qF "KSTAGE_OUT=$TRASH/" || continue
		_p=${_e#/proc/}
		_left="$_left ${_p%/environ}"
	done
	[ -z "$_left" ] && return 0
	echo "leftover processes of this test:"
	# shellcheck disable=SC2086
	ps -o pid,pgid,args -p $_left
	return 1
}

# sql DB QUERY: one query against a kstage database.
sql() {
	sqlite3 -batch -noheader "$1" "$2"
}

# --- the fake kernel ----------------------------------------------------------

# fake_repo DIR: a repository whose branch "base" holds a tests.txt with
# passing hmm-tests and gup_test results.  The base commit has fixed dates,
# so its id is the same in every test (57c2c551...): the mail fixtures'
# "base-commit:" lines name it (tests/fixtures/series/README).
fake_repo() {
	git init -q -b base "$1"
	cat > "$1/tests.txt" <<-\TESTS
	hmm-tests hmm.hmm_device_private.open_close pass
	hmm-tests hmm.hmm_device_private.anon_read pass
	hmm-tests hmm.hmm_device_private.anon_write pass
	hmm-tests hmm.hmm_device_private.migrate pass
	hmm-tests hmm.hmm_device_private.exclusive pass
	hmm-tests hmm.hmm_device_coherent.open_close pass
	hmm-tests hmm.hmm_device_coherent.exclusive pass
	gup_test-u ioctl_status_0 pass
	gup_test-a ioctl_status_0 pass
	TESTS
	echo "obj-y += memremap.o" > "$1/Makefile"
	git -C "$1" add -A
	GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z" \
		git -C "$1" commit -q -m "linux: base"
}

# fake_commit DIR MESSAGE [FILE CONTENT]...: commit on the current branch;
# each FILE gets CONTENT ("-" removes FILE).
fake_commit() {
	repo=$1
	msg=$2
	shift 2
	while [ $# -ge 2 ]; do
		if [ "$2" = "-" ]; then
			git -C "$repo" rm -q -- "$1"
		else
			mkdir -p "$(dirname "$repo/$1")"
			printf '%s\n' "$2" > "$repo/$1"
			git -C "$repo" add -- "$1"
		fi
		shift 2
	done
	git -C "$repo" commit -q --allow-empty -m "$msg"
}

# set_test DIR SUITE TEST OUTCOME [DETAIL]: change one test line.
set_test() {
	repo=$1 suite=$2 t=$3 outcome=$4
	shift 4
	awk -v s="$suite" -v t="$t" -v o="$outcome" -v d="$*" '
		$1 == s && $2 == t { print s, t, o (d == "" ? "" : " " d); found = 1; next }
		{ print }
		END { if (!found) print s, t, o (d == "" ? "" : " " d) }' \
		"$repo/tests.txt" > "$repo/tests.txt+"
	mv "$repo/tests.txt+" "$repo/tests.txt"
	git -C "$repo" add tests.txt
}

# write_profile FILE [BUILD_TIMEOUT BOOT_TIMEOUT [EXTRA_JSON]]: a fake
# profile; EXTRA_JSON is spliced into the top-level object.
write_profile() {
	cat > "$1" <<-EOF
	{
		"name": "fake",
		"steps": [
			{ "name": "build", "run": ["$FAKE/build"], "timeout": ${2:-60} },
			{ "name": "boot", "run": ["$FAKE/boot"], "timeout": ${3:-60}, "console": true }
		],
		"env": { "FAKE_KERNEL_LOG": "$TRASH/fake.log" },
		"end_marker": "KSTAGE-DONE",
		"kill_grace": 1${4:+,
		$4}
	}
	EOF
}

# write_plan FILE REPO PROFILE STAGE:BRANCH...
write_plan() {
	file=$1 repo=$2 profile=$3
	shift 3
	{
		printf '{ "name": "demo", "repo": "%s", "base": "base",\n' "$repo"
		printf '  "integration": "integration", "profile": "%s",\n' "$profile"
		printf '  "stages": ['
		sep=
		for s in "$@"; do
			printf '%s\n    { "name": "%s", "branch": "%s" }' "$sep" "${s%%:*}" "${s#*:}"
			sep=,
		done
		printf '\n  ]\n}\n'
	} > "$file"
}

# kstage_once [ARGS...]: one pass over plan.json with data under $TRASH;
# the table goes to out, the log to err.
kstage_once() {
	"$KSTAGE" run --once --plan "$TRASH/plan.json" --db "$TRASH/k.db" \
		--artifacts "$TRASH/art" --work "$TRASH/work" --cache "$TRASH/cache" \
		"$@" > "$TRASH/out" 2> "$TRASH/err"
}

# stage_field STAGE FIELD: a column of the stage row.
stage_field() {
	sql "$TRASH/k.db" "SELECT $2 FROM stages WHERE name = '$1'"
}

# bisect_field FIELD [SQL-TAIL]: a column of the newest bisection (or of
# the one SQL-TAIL selects, e.g. "WHERE id = 3").
bisect_field() {
	sql "$TRASH/k.db" "SELECT $1 FROM bisections ${2:-ORDER BY id DESC LIMIT 1}"
}

# runs_of WHAT: how many times the fake kernel did WHAT (build / boot).
# gate_setup: a repository with stages s1 and s2 (both green) on "base",
# a branch "integration" at the base, plan.json over them (the gate tests).
gate_setup() {
	fake_repo repo &&
	git -C repo branch integration &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	git -C repo checkout -q -b s2 &&
	fake_commit repo "mm: two" mm/b.c "int b;" &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2
}

runs_of() {
	if [ -f "$TRASH/fake.log" ]; then grep -c "^$1 " "$TRASH/fake.log" || true
	else echo 0; fi
}
