# lib.sh: helpers shared by the kstage job scripts.  Sourced, never run.
#
# The caller sets "prog" (the name used in messages, e.g. kstage-build)
# before sourcing.  Everything here is POSIX sh: the scripts run under dash.

: "${prog:=kstage}"

# Where the repository's jobs/ and configs/ live, wherever we are run from.
# shellcheck disable=SC2034 # used by the scripts that source this file
KSTAGE_JOBS_DIR=$(cd "$(dirname "$0")" && pwd -P)
# shellcheck disable=SC2034
KSTAGE_CONFIGS_DIR=$(cd "$KSTAGE_JOBS_DIR/../configs" && pwd -P)

say() {
	printf '%s: %s\n' "$prog" "$*"
}

warn() {
	printf '%s: warning: %s\n' "$prog" "$*" >&2
}

# die MESSAGE: the last line of a failed step says what went wrong.
die() {
	printf '%s: error: %s\n' "$prog" "$*" >&2
	exit 1
}

# need_env VAR...: every environment variable must be set and non-empty.
need_env() {
	for _v in "$@"; do
		_val=$(printenv "$_v" || true)
		[ -n "$_val" ] || die "$_v is not set (the kstage daemon sets it; to run by hand see jobs/README.md)"
	done
}

# need_dir VAR...: like need_env, and the directory must exist.
need_dir() {
	need_env "$@"
	for _v in "$@"; do
		_val=$(printenv "$_v")
		[ -d "$_val" ] || die "$_v=$_val is not a directory"
	done
}

now() {
	date +%s.%N
}

# since T0: seconds elapsed since T0 (from now), two decimals.
since() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'
}

# timed NAME CMD...: run CMD, print and record how long it took.  The
# record goes to $KSTAGE_ARTIFACTS/timings as "NAME SECONDS RC".
timed() {
	_name=$1
	shift
	_t0=$(now)
	_rc=0
	"$@" || _rc=$?
	_dt=$(since "$_t0")
	if [ "$_rc" = 0 ]; then
		say "time: $_name ${_dt}s"
	else
		say "time: $_name ${_dt}s (exit $_rc)"
	fi
	if [ -n "${KSTAGE_ARTIFACTS:-}" ] && [ -d "${KSTAGE_ARTIFACTS:-}" ]; then
		printf '%s %s %s\n' "$_name" "$_dt" "$_rc" >> "$KSTAGE_ARTIFACTS/timings"
	fi
	return "$_rc"
}

# logged LOG CMD...: run CMD with its output on stdout and in LOG; return
# its exit status (a plain pipe into tee would return tee's).
logged() {
	_log=$1
	shift
	rm -f "$_log.rc"
	{
		_rc=0
		"$@" 2>&1 || _rc=$?
		echo "$_rc" > "$_log.rc"
	} | tee "$_log"
	_rc=$(cat "$_log.rc" 2>/dev/null || echo 1)
	rm -f "$_log.rc"
	return "$_rc"
}

# first_error LOG: the first compiler or make error in LOG, if any.
first_error() {
	grep -m 1 -E ': (fatal )?error: |\*\*\* ' "$1" 2>/dev/null | sed 's/^[[:space:]]*//' || true
}

# is_uint VALUE: a non-empty string of digits.
is_uint() {
	case "$1" in
	'' | *[!0-9]*) return 1 ;;
	esac
	return 0
}

# One word, letters, digits and a few safe punctuation characters only:
# used for names that end up in file names and argument lists.
is_word() {
	case "$1" in
	'' | *[!A-Za-z0-9._+-]*) return 1 ;;
	esac
	return 0
}

# The kernel output directory inside $KSTAGE_OUT (O= for kbuild).
kstage_kout() {
	printf '%s/kernel' "$KSTAGE_OUT"
}

# The selftest binaries built by jobs/build.
kstage_selftests_bin() {
	printf '%s/selftests/bin' "$KSTAGE_OUT"
}

# Default mm selftests: built by jobs/build, run by jobs/boot.
# shellcheck disable=SC2034
KSTAGE_DEFAULT_SELFTESTS="hmm-tests gup_test gup_longterm mkdirty madv_populate cow"
