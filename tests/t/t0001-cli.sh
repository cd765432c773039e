#!/bin/sh
# The command line and bad configuration: clear errors that name the file,
# line, column and field, and change nothing.
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'help lists the commands and exits 0' '
	"$KSTAGE" --help > help &&
	test_grep "run --once" help &&
	test_grep "serve" help &&
	"$KSTAGE" run --help > run-help &&
	test_grep "exits|exit" run-help
'

test_expect_success 'an unknown command is a usage error (2)' '
	test_exit 2 "$KSTAGE" frobnicate 2> err &&
	test_grep "not a command" err
'

test_expect_success 'run without a plan is a usage error' '
	test_exit 2 "$KSTAGE" run --once --db k.db 2> err &&
	test_grep "no plan" err
'

test_expect_success 'setup: a repository and a valid plan' '
	fake_repo repo &&
	git -C repo branch s1 &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 &&
	"$KSTAGE" check --plan plan.json > out &&
	test_grep "plan demo, 1 stages, profile fake" out
'

test_expect_success 'invalid JSON: file, line and column' '
	printf "{\n  \"name\": \"x\",\n  \"repo\": \n}\n" > bad.json &&
	test_exit 2 "$KSTAGE" check --plan bad.json 2> err &&
	test_grep "bad.json:4:1: invalid JSON" err
'

test_expect_success 'unknown field: named with its position' '
	sed "s/\"branch\"/\"brnch\"/" plan.json > typo.json &&
	test_exit 2 "$KSTAGE" check --plan typo.json 2> err &&
	test_grep "typo.json:[0-9]+:[0-9]+: stages\[0\]\.brnch: unknown field" err
'

test_expect_success 'wrong type: named with its position' '
	sed "s/\"timeout\": 60/\"timeout\": \"soon\"/" profile.json > p2.json &&
	sed "s|$TRASH/profile.json|$TRASH/p2.json|" plan.json > plan2.json &&
	test_exit 2 "$KSTAGE" check --plan plan2.json 2> err &&
	test_grep "p2.json:[0-9]+:[0-9]+: steps\[0\]\.timeout: expected an integer" err &&
	test_grep "profile of plan .*plan2.json" err
'

test_expect_success 'a branch with shell metacharacters is refused, nothing runs' '
	write_plan evil.json "$TRASH/repo" "$TRASH/profile.json" "one:s1;touch\$IFS$TRASH/pwned" &&
	test_exit 2 "$KSTAGE" run --once --plan evil.json --db evil.db \
		--artifacts art --work work --cache cache 2> err &&
	test_grep "stages\[0\]\.branch: .* is not a valid branch name" err &&
	test ! -e pwned &&
	test ! -e evil.db &&
	test ! -e art
'

test_expect_success 'a branch with a space is refused' '
	write_plan space.json "$TRASH/repo" "$TRASH/profile.json" "one:s 1" &&
	test_exit 2 "$KSTAGE" check --plan space.json 2> err &&
	test_grep "is not a valid branch name" err
'

test_expect_success 'duplicate stage names are refused' '
	write_plan dup.json "$TRASH/repo" "$TRASH/profile.json" one:s1 one:s2 &&
	test_exit 2 "$KSTAGE" check --plan dup.json 2> err &&
	test_grep "duplicate stage name" err
'

test_expect_success 'a bad plan leaves an existing database untouched' '
	kstage_once &&
	before=$(sql k.db "SELECT count(*) || \"/\" || max(id) FROM runs") &&
	cp k.db k.db.before &&
	sed "s/\"base\": \"base\"/\"base\": \"ba se\"/" plan.json > badbase.json &&
	test_exit 2 "$KSTAGE" run --once --plan badbase.json --db k.db \
		--artifacts art --work work --cache cache 2> err &&
	test_grep "base: .* is not a valid revision" err &&
	after=$(sql k.db "SELECT count(*) || \"/\" || max(id) FROM runs") &&
	test "$before" = "$after"
'

test_expect_success 'a profile step that does not exist is an error verdict, not a crash' '
	write_profile p3.json &&
	sed -i "s|$FAKE/build|$TRASH/no-such-build|" p3.json &&
	write_plan plan3.json "$TRASH/repo" "$TRASH/p3.json" one:s1 &&
	test_exit 1 "$KSTAGE" run --once --plan plan3.json --db k3.db \
		--artifacts art3 --work work3 --cache cache3 > out 2> err &&
	test "$(sql k3.db "SELECT DISTINCT verdict FROM runs")" = error &&
	sql k3.db "SELECT error FROM runs" | grep "no-such-build"
'

test_done
