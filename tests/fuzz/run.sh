#!/bin/sh
# make fuzz: run each libFuzzer target (build-fuzz/fuzz_NAME) for SECONDS
# seconds, starting from its seeds (tests/fuzz/targets) and from every
# input that once crashed it (tests/fuzz/regress/NAME/, run first), with
# the dictionary tests/fuzz/NAME.dict if there is one.
# The corpus grows in build-fuzz/corpus/NAME/ (kept between runs, never
# committed).  A crash, a leak, a timeout or a broken promise fails the
# run, and its input is copied to tests/fuzz/regress/NAME/: commit it
# with the fix, so that make test replays it from then on (t0005).
#
#   sh tests/fuzz/run.sh SECONDS [NAME...]
cd "$(dirname "$0")/../.." || exit 1
seconds=${1:-30}
shift
out=build-fuzz
failed=0
summary=
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

for name in "$@"; do
	grep -q "^$name	" tests/fuzz/targets ||
		{ echo "fuzz: no target $name in tests/fuzz/targets"; exit 1; }
done

while read -r name seeds; do
	case "$name" in ''|'#'*) continue ;; esac
	if [ $# -gt 0 ]; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	bin=$out/fuzz_$name
	if [ ! -x "$bin" ]; then
		echo "fuzz: $bin is not built (make fuzz)"
		exit 1
	fi
	mkdir -p "$out/corpus/$name" "$out/crash/$name"
	dirs=
	[ -d "tests/fuzz/regress/$name" ] && dirs="tests/fuzz/regress/$name"
	for d in $seeds; do
		[ -d "$d" ] && dirs="$dirs $d"
	done
	dict=
	[ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
	log=$out/fuzz_$name.log
	echo "fuzz: $name for $seconds s (seeds: $dirs)"
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/crash/$name/" $dict \
		"$out/corpus/$name" $dirs > "$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	corpus=$(find "$out/corpus/$name" -type f | wc -l)
	if [ $rc -ne 0 ]; then
		failed=$((failed + 1))
		mkdir -p "tests/fuzz/regress/$name"
		for f in "$out/crash/$name"/*; do
			[ -f "$f" ] || continue
			cp "$f" "tests/fuzz/regress/$name/"
			echo "fuzz: $name: kept $f as tests/fuzz/regress/$name/$(basename "$f")"
		done
		grep -A 30 -E '^==[0-9]+==ERROR|runtime error|broken promise|ERROR: libFuzzer' "$log" |
			head -n 50 | sed 's/^/    /'
		summary="$summary$(printf '\n  %-8s FAILED (status %s) after %s executions' "$name" "$rc" "${execs:-?}")"
	else
		summary="$summary$(printf '\n  %-8s %10s executions in %s s, corpus %s inputs' \
			"$name" "${execs:-?}" "$seconds" "$corpus")"
	fi
done < tests/fuzz/targets

echo "fuzz:$summary"
[ "$failed" -eq 0 ]
