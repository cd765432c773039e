#!/bin/sh
# Every fuzz target (tests/fuzz/targets) over its seeds and over every
# input that once crashed it (tests/fuzz/regress/NAME/): the replay
# programs are the fuzz targets linked without libFuzzer, built by make
# unit (and sanitized by make SANITIZE=1 test).
. "$(dirname "$0")/test-lib.sh"

while read -r name seeds; do
	case "$name" in ''|'#'*) continue ;; esac
	dirs=
	for d in "tests/fuzz/regress/$name" $seeds; do
		[ -d "$SRC/$d" ] && dirs="$dirs $SRC/$d"
	done
	test_expect_success "fuzz target $name: its seeds and past crashes" "
		\"\$KSTAGE_BUILD/tests/fuzz/replay_$name\" $dirs > out &&
		cat out &&
		grep -q '^[1-9][0-9]* inputs\$' out
	"
done < "$SRC/tests/fuzz/targets"

test_done
