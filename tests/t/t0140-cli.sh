#!/bin/sh
# The client commands against a live daemon: status, trigger, retry,
# cancel, log, bisect, token; their exit codes and help texts.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

test_expect_success 'setup: two stages, a token, the daemon' '
	two_stage_setup &&
	"$KSTAGE" token create ci -c kstage.json > token 2> /dev/null &&
	start_daemon &&
	wait_idle
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'every command has complete help and exits 0' '
	for c in serve status trigger retry cancel log bisect token; do
		"$KSTAGE" $c --help > help.$c || exit 1
		grep -q "^usage: kstage $c" help.$c || exit 1
		grep -qi "exit" help.$c || exit 1
	done &&
	"$KSTAGE" --help > help &&
	for c in serve status trigger retry cancel log bisect token; do
		grep -q "^  $c" help || exit 1
	done
'

test_expect_success 'usage errors exit 2' '
	test_exit 2 "$KSTAGE" trigger demo 2> err && test_grep "wrong number of arguments" err &&
	test_exit 2 "$KSTAGE" retry abc 2> err && test_grep "not a number" err &&
	test_exit 2 "$KSTAGE" cancel 2> err &&
	test_exit 2 "$KSTAGE" log 2> err &&
	test_exit 2 "$KSTAGE" log 1 --tail x 2> err &&
	test_exit 2 "$KSTAGE" bisect 2> err && test_grep "start, cancel or show" err &&
	test_exit 2 "$KSTAGE" bisect frob 2> err &&
	test_exit 2 "$KSTAGE" token 2> err &&
	test_exit 2 "$KSTAGE" token create "a b" 2> err && test_grep "not a valid token name" err &&
	test_exit 2 "$KSTAGE" status extra 2> err &&
	test_exit 2 "$KSTAGE" status --frob 2> err &&
	test_exit 2 "$KSTAGE" serve extra 2> err
'

test_expect_success 'status: the table of every stage, with the regression' '
	"$KSTAGE" status --url "$(cat url)" > out &&
	test_grep "^plan demo \(profile fake, [0-9a-f]{12}\), gate " out &&
	test_grep "^  0 +base .* ok +green +10 +0 +0 +0  0$" out &&
	test_grep "^  1 +one .* ok +green" out &&
	test_grep "^  2 +two +[0-9a-f]{12} ok +red +9 +1 +0 +0  1$" out &&
	test_grep "^      regression hmm-tests/hmm.hmm_device_private.migrate \(pass -> fail\): migrate: bad refcount" out
'

test_expect_success 'status --db reads the database without the server, the same table' '
	"$KSTAGE" status --db k.db > out.db &&
	"$KSTAGE" status --url "$(cat url)" > out &&
	test_cmp out out.db &&
	test_exit 1 "$KSTAGE" status --db nosuch.db 2> err &&
	test_grep "no such database" err &&
	test ! -e nosuch.db
'

test_expect_success 'status --json is the API JSON' '
	"$KSTAGE" status --url "$(cat url)" --json > s.json &&
	api /api/v1/plans > p.json &&
	jq -S "del(.plans[].stages[].run.step_started_at)" s.json > a &&
	jq -S "del(.plans[].stages[].run.step_started_at)" p.json > b &&
	test_cmp b a &&
	"$KSTAGE" --url "$(cat url)" status --json | jq -e ".plans[0].name == \"demo\""
'

test_expect_success 'an unreachable server: exit 1 with the reason' '
	test_exit 1 "$KSTAGE" status --url http://127.0.0.1:1 2> err &&
	test_grep "connect" err
'

test_expect_success 'trigger needs a token; with one it reports the run' '
	test_exit 1 "$KSTAGE" trigger --url "$(cat url)" demo one 2> err &&
	test_grep "this needs a token.*HTTP 401" err &&
	KSTAGE_TOKEN=$(cat token) "$KSTAGE" trigger --url "$(cat url)" demo one > out &&
	test_grep "^run [0-9]+ of demo/one: the results of an earlier run of the same tree were reused$" out &&
	"$KSTAGE" trigger --url "$(cat url)" --token "$(cat token)" --json demo one > t.json &&
	jq -e ".reused == true" t.json &&
	test_exit 1 "$KSTAGE" trigger --url "$(cat url)" --token "$(cat token)" demo nope 2> err &&
	test_grep "no stage nope in plan demo \(HTTP 404\)" err
'

test_expect_success 'retry and cancel' '
	id=$(stage_field one run_id) &&
	"$KSTAGE" retry --url "$(cat url)" --token "$(cat token)" $id > out &&
	test_grep "^run [0-9]+ queued \(a retry of run $id\)$" out &&
	wait_idle &&
	test_exit 1 "$KSTAGE" cancel --url "$(cat url)" --token "$(cat token)" $id 2> err &&
	test_grep "run $id is done, not queued or running \(HTTP 409\)" err
'

test_expect_success 'log: the console by default, a step by name or index, --tail' '
	id=$(stage_field two run_id) &&
	"$KSTAGE" log --url "$(cat url)" $id > out &&
	test_cmp art/runs/$id/02-boot.log out &&
	"$KSTAGE" log --url "$(cat url)" $id build > out &&
	test_cmp art/runs/$id/01-build.log out &&
	"$KSTAGE" log --url "$(cat url)" $id 1 --tail 30 > out &&
	tail -c 30 art/runs/$id/02-boot.log > expect &&
	test_cmp expect out &&
	test_exit 1 "$KSTAGE" log --url "$(cat url)" $id 9 2> err &&
	test_grep "has no step 9" err &&
	test_exit 1 "$KSTAGE" log --url "$(cat url)" 99999 2> err &&
	test_grep "no such run: 99999" err
'

test_expect_success 'bisect start, show, cancel' '
	"$KSTAGE" bisect start --url "$(cat url)" --token "$(cat token)" demo two > out &&
	test_grep "^bisection [0-9]+ requested$" out &&
	bid=$(sed -n "s/^bisection \([0-9]*\) requested$/\1/p" out) &&
	wait_idle 30 &&
	"$KSTAGE" bisect show --url "$(cat url)" $bid > show &&
	test_grep "^bisection $bid of demo/two \(manual\): found$" show &&
	test_grep "first bad commit: [0-9a-f]{12} mm: two b breaks migrate" show &&
	test_grep "test hmm-tests/hmm.hmm_device_private.migrate" show &&
	test_exit 1 "$KSTAGE" bisect cancel --url "$(cat url)" --token "$(cat token)" $bid 2> err &&
	test_grep "already found" err &&
	"$KSTAGE" bisect start --url "$(cat url)" --token "$(cat token)" demo two \
		hmm-tests/hmm.hmm_device_private.anon_read > out &&
	bid=$(sed -n "s/^bisection \([0-9]*\) requested$/\1/p" out) &&
	test "$(bisect_field tests "WHERE id = $bid")" = hmm-tests/hmm.hmm_device_private.anon_read &&
	wait_idle 30 &&
	test_exit 1 "$KSTAGE" bisect show --url "$(cat url)" 99999 2> err &&
	test_grep "no such bisection" err
'

test_expect_success 'token list, revoke, create again' '
	"$KSTAGE" token list -c kstage.json > list &&
	test_grep "^ci +write +[0-9-]+ [0-9:]+ +[0-9-]+ [0-9:]+ +- +active$" list &&
	"$KSTAGE" token revoke ci -c kstage.json &&
	test_exit 1 "$KSTAGE" token revoke ci -c kstage.json 2> err &&
	test_grep "already revoked" err &&
	test_exit 1 "$KSTAGE" token revoke nobody -c kstage.json 2> err &&
	test_exit 1 "$KSTAGE" trigger --url "$(cat url)" --token "$(cat token)" demo one 2> err &&
	test_grep "token ci was revoked \(HTTP 403\)" err &&
	"$KSTAGE" token create ci -c kstage.json > token2 2> /dev/null &&
	test_exit 1 "$KSTAGE" token create ci -c kstage.json 2> err &&
	test_grep "exists already" err &&
	"$KSTAGE" trigger --url "$(cat url)" --token "$(cat token2)" demo one > out &&
	"$KSTAGE" token list --db k.db > list &&
	test_grep "^ci .* active$" list
'

test_expect_success 'SIGTERM stops the daemon; no kstage process is left' '
	stop_daemon &&
	! pgrep -f -- "$TRASH/kstage.json"
'

test_done
