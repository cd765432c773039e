#!/bin/sh
# bisect-runs: build and run the bisection benchmark (bench/bisect-runs.c).
# Prints runs and rounds against ceil(log2(N+1)) and ceil(log_{P+1}(N+1));
# exits non-zero when a rounds bound is exceeded or an answer is wrong.
#
#   sh bench/bisect-runs.sh        (from the repository root; CC to override)

cd "$(dirname "$0")/.." || exit 1
CC=${CC:-cc}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bisect-runs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

$CC -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wformat=2 \
	-Wno-format-nonliteral -Wvla -Wdeclaration-after-statement \
	-Wno-unused-parameter -O2 -g -D_GNU_SOURCE -Idaemon \
	-o "$tmp/bisect-runs" \
	bench/bisect-runs.c daemon/bisect.c daemon/wrapper.c || exit 1

"$tmp/bisect-runs"
status=$?
if [ "$status" -ne 0 ]; then
	echo "bisect-runs: FAILED (a bound was exceeded or an answer was wrong)" >&2
fi
exit "$status"
