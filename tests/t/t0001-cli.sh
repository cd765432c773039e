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

test_expect_success 'every command: --help and -h on stdout (0); an unknown option: usage on stderr (2)' '
	for c in run serve check status trigger retry cancel log bisect token version; do
		"$KSTAGE" $c --help > out 2> err || exit 1
		grep -q "^usage: kstage $c" out || exit 1
		test ! -s err || exit 1
		"$KSTAGE" $c -h > out.h || exit 1
		test_cmp out out.h || exit 1
		"$KSTAGE" help $c > out.help || exit 1
		test_cmp out out.help || exit 1
		test_exit 2 "$KSTAGE" $c --no-such-option > out 2> err || exit 1
		test ! -s out || exit 1
		grep -q "^kstage $c: unknown option --no-such-option" err || exit 1
		grep -q "^usage: kstage $c" err || exit 1
	done
'

test_expect_success 'a missing value or an extra argument is a usage error (2)' '
	test_exit 2 "$KSTAGE" run --once --db 2> err &&
	test_grep "^kstage run: --db needs a value" err &&
	test_grep "^usage: kstage run" err &&
	test_exit 2 "$KSTAGE" check -p 2> err &&
	test_grep "^kstage check: -p needs a value" err &&
	test_exit 2 "$KSTAGE" status --url 2> err &&
	test_grep "^usage: kstage status" err &&
	test_exit 2 "$KSTAGE" log 1 --tail 2> err &&
	test_grep "^kstage log: --tail needs a value" err &&
	test_exit 2 "$KSTAGE" run --once --slots 65 2> err &&
	test_grep "slots must be 1..64" err &&
	test_exit 2 "$KSTAGE" run --once extra 2> err &&
	test_grep "unexpected argument \"extra\"" err &&
	test_exit 2 "$KSTAGE" --no-such-option 2> err &&
	test_grep "^usage: kstage " err &&
	test_exit 2 "$KSTAGE" 2> err &&
	test_grep "^usage: kstage " err
'

test_expect_success 'global options before the command: -v, -q, --version' '
	"$KSTAGE" --version > a &&
	"$KSTAGE" version > b &&
	test_cmp a b &&
	test_grep "^kstage [0-9.]+ \(libgit2" a &&
	"$KSTAGE" -q version > c &&
	test_cmp a c &&
	"$KSTAGE" -v version > c &&
	test_cmp a c
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

test_expect_success 'options: --opt=value and --opt value, before or after the arguments' '
	"$KSTAGE" check --plan plan.json > a &&
	"$KSTAGE" check --plan=plan.json > b &&
	test_cmp a b &&
	"$KSTAGE" check -p plan.json > b &&
	test_cmp a b &&
	"$KSTAGE" token create ci --db=t.db > /dev/null 2>&1 &&
	"$KSTAGE" token --db t.db list > list &&
	test_grep "^ci " list &&
	"$KSTAGE" token revoke --db t.db ci > out &&
	test_grep "token ci revoked" out
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

test_expect_success 'run --once prints the plans it followed, status every plan' '
	sed "s/\"name\": \"demo\"/\"name\": \"other\"/" plan.json > other.json &&
	"$KSTAGE" run --once --plan other.json --db k.db --artifacts art \
		--work work --cache cache > out 2> err &&
	test_grep "^plan other \(profile fake, [0-9a-f]{12}\), gate " out &&
	! grep "^plan demo" out &&
	"$KSTAGE" status --db k.db > all &&
	test_grep "^plan demo " all &&
	test_grep "^plan other " all
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

# done_runs DB: how many runs of DB are done (0 while there is no DB).
done_runs() {
	if [ -f "$1" ]; then
		sql "$1" "SELECT count(*) FROM runs WHERE state = \"done\""
	else
		echo 0
	fi
}

test_expect_success 'run without --once follows the plans until SIGTERM, then exits 0' '
	cat > follow.json <<-EOF &&
	{ "db": "follow.db", "artifacts": "art-f", "work": "work-f",
	  "cache": "cache-f", "poll_interval": 1, "plans": ["plan.json"] }
	EOF
	"$KSTAGE" run -c follow.json > out 2> err &
	pid=$! &&
	for i in $(seq 300); do
		test "$(done_runs follow.db)" -ge 2 && break
		sleep 0.1
	done &&
	test "$(done_runs follow.db)" = 2 &&
	test "$(sql follow.db "SELECT verdict FROM stages WHERE name = \"one\"")" = green &&
	git -C repo checkout -q s1 &&
	fake_commit repo "mm: follow" mm/follow.c "int follow;" &&
	for i in $(seq 300); do
		test "$(done_runs follow.db)" -ge 3 && break
		sleep 0.1
	done &&
	test "$(done_runs follow.db)" = 3 &&
	kill -0 $pid &&
	kill -TERM $pid &&
	test_exit 0 wait $pid &&
	test_grep "following 1 plan" err &&
	test ! -s out
'

test_done
