#!/bin/sh
# Run every test suite (unit, end-to-end, API, browser) and finish with
# the line "N passed, M failed".  Every suite speaks TAP ("ok", "not ok");
# cmocka is asked for TAP too.  Exit status 0 only if nothing failed.
#
#   sh tests/run.sh            everything
#   sh tests/run.sh unit       only the unit tests
#   sh tests/run.sh t0010      only the matching shell/browser tests
#
# KSTAGE_BUILD names the directory that holds kstage and tests/unit/
# (default: the source tree).  With KSTAGE_SANITIZE=1 (make SANITIZE=1
# test) every sanitizer report, from a unit test or from a daemon a test
# started in the background, goes to a file in one directory; the run
# fails when any file is there at the end.
cd "$(dirname "$0")/.." || exit 1
filter=${1:-}
results=$(mktemp)
build=${KSTAGE_BUILD:+$KSTAGE_BUILD/}
san=
trap 'rm -f "$results"' EXIT
export CMOCKA_MESSAGE_OUTPUT=TAP

if [ "${KSTAGE_SANITIZE:-0}" = 1 ]; then
	san=$(mktemp -d "${TMPDIR:-/tmp}/kstage-san.XXXXXX")
	export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$san/asan"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$san/ubsan"
	export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
	# An ASan daemon starts and stops slower (more so on a loaded
	# machine): the helpers' waits, not the checks, get longer.
	export KSTAGE_TEST_TIME_FACTOR="${KSTAGE_TEST_TIME_FACTOR:-3}"
	echo "# sanitizer reports go to $san"
fi

for t in "$build"tests/unit/test_*; do
	case "$t" in *.c|*.o|*.h) continue ;; esac
	[ -x "$t" ] || continue
	case "$filter" in ''|unit|$(basename "$t")) ;; *) continue ;; esac
	echo "*** $t"
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -E '^(not ok|#)' || true
	printf '%s\n' "$out" >> "$results"
	if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok'; then
		echo "not ok - $t exited with status $rc" | tee -a "$results"
	fi
done

for t in tests/t/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	case "$filter" in ''|t|$(basename "$t" .sh)|$(basename "$t" .sh | cut -c1-5)) ;; *) continue ;; esac
	echo "*** $t"
	out=$(sh "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -Ev '^ok ' || true
	printf '%s\n' "$out" >> "$results"
	if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok'; then
		echo "not ok - $t exited with status $rc" | tee -a "$results"
	fi
done

if [ -f tests/web/run.sh ]; then
	case "$filter" in ''|web)
		echo "*** tests/web"
		out=$(sh tests/web/run.sh 2>&1)
		rc=$?
		printf '%s\n' "$out" | grep -Ev '^ok ' || true
		printf '%s\n' "$out" >> "$results"
		if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok'; then
			echo "not ok - tests/web exited with status $rc" | tee -a "$results"
		fi ;;
	esac
fi

if [ -n "$san" ]; then
	reports=$(find "$san" -type f | wc -l)
	if [ "$reports" -gt 0 ]; then
		for f in "$san"/*; do
			echo "# --- $f"
			sed 's/^/#   /' "$f" | head -n 60
		done
		echo "not ok - sanitizers: $reports report(s) in $san" | tee -a "$results"
	else
		rmdir "$san"
	fi
fi

passed=$(grep -c '^ok ' "$results")
failed=$(grep -c '^not ok' "$results")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
