#!/bin/sh
# GET /api/v1/outbox and its filters (daemon/API.md): by state, plan,
# stage, run and bisection, each narrowing the list, the limit applied
# after them; a bad value is 400, an unknown plan, stage, run or
# bisection 404.  The notifications go to a webhook on a closed port and
# are given up after one try (state failed), so no receiver is needed.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

# ids QUERY: the ids of GET /api/v1/outbox?QUERY, one a line.
ids() {
	api "/api/v1/outbox?$1" > out.json &&
	test "$(api_code)" = 200 &&
	jq -r ".outbox[].id" out.json
}

test_expect_success 'setup: stage two regresses and is bisected; every notification fails' '
	two_stage_setup &&
	write_config "\"notify_tries\": 1,
		\"webhooks\": [{\"url\": \"http://127.0.0.1:1/hook\",
			\"events\": [\"run-finished\", \"stage-verdict\", \"regression\",
				\"bisection-found\"]}]" &&
	start_daemon &&
	# Not wait_idle: the bisection starts after the run that makes
	# stage two red, and may not be there yet when nothing runs.
	wait_for 60 "SELECT count(*) = 1 FROM bisections WHERE state = \"found\"" &&
	wait_idle 60 &&
	wait_for 20 "SELECT count(*) = 1 FROM outbox WHERE kind = \"bisection-found\"" &&
	wait_for 20 "SELECT count(*) = 0 FROM outbox WHERE state = \"pending\"" &&
	test "$(sql k.db "SELECT count(*) FROM outbox WHERE kind = \"bisection-found\"")" = 1
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'no filter: every row, newest first; state and limit as before' '
	sql k.db "SELECT id FROM outbox ORDER BY id DESC" > all &&
	test "$(wc -l < all)" -ge 5 &&
	ids "" > got && test_cmp all got &&
	ids "state=failed" > got && test_cmp all got &&
	ids "state=delivered" > got && test ! -s got &&
	ids "limit=2" > got && head -n 2 all > want && test_cmp want got &&
	jq -e ".outbox[0] | .state == \"failed\" and .tries == 1 and
		(.attempts | length) == 1 and .attempts[0].ok == false and
		(.last_error | length) > 0" out.json
'

test_expect_success 'plan= and stage=: the rows about the plan, about the stage' '
	ids "plan=demo" > got && test_cmp all got &&
	sql k.db "SELECT o.id FROM outbox o JOIN stages s ON s.id = o.stage_id
		WHERE s.name = \"two\" ORDER BY o.id DESC" > two &&
	sql k.db "SELECT o.id FROM outbox o JOIN stages s ON s.id = o.stage_id
		WHERE s.name = \"one\" ORDER BY o.id DESC" > one &&
	test -s two && test -s one &&
	ids "plan=demo&stage=two" > got && test_cmp two got &&
	jq -e "all(.outbox[]; .plan == \"demo\" and .stage == \"two\")" out.json &&
	jq -e "[.outbox[].kind] | index(\"bisection-found\") and index(\"stage-verdict\")" out.json &&
	ids "plan=demo&stage=one" > got && test_cmp one got &&
	ids "plan=demo&stage=two&state=failed&limit=1" > got &&
	head -n 1 two > want && test_cmp want got
'

test_expect_success 'bisection=: its regression, its runs, what it found' '
	b=$(sql k.db "SELECT id FROM bisections") &&
	sql k.db "SELECT id FROM outbox WHERE bisection_id = $b ORDER BY id DESC" > want &&
	ids "bisection=$b" > got && test_cmp want got &&
	jq -r "[.outbox[].kind] | unique | join(\" \")" out.json > kinds &&
	echo "bisection-found regression run-finished" > want && test_cmp want kinds &&
	jq -e "all(.outbox[]; .bisection_id == $b)" out.json &&
	ids "bisection=$b&state=delivered" > got && test ! -s got
'

test_expect_success 'run=: the rows about one run' '
	r=$(sql k.db "SELECT run_id FROM outbox WHERE kind = \"run-finished\" ORDER BY id LIMIT 1") &&
	test -n "$r" &&
	sql k.db "SELECT id FROM outbox WHERE run_id = $r ORDER BY id DESC" > want &&
	test -s want &&
	ids "run=$r" > got && test_cmp want got &&
	jq -e "all(.outbox[]; .run_id == $r)" out.json &&
	ids "run=$r&plan=demo" > got && test_cmp want got
'

test_expect_success 'bad values are 400 with what is wrong' '
	expect_code 400 "/api/v1/outbox?state=nope" &&
	test_grep "state must be one of pending, delivered, failed, superseded" body &&
	expect_code 400 "/api/v1/outbox?limit=0" &&
	test_grep "limit must be an integer from 1 to 1000" body &&
	expect_code 400 "/api/v1/outbox?limit=1001" &&
	expect_code 200 "/api/v1/outbox?limit=1000" &&
	expect_code 400 "/api/v1/outbox?stage=two" &&
	test_grep "stage needs plan" body &&
	expect_code 400 "/api/v1/outbox?plan=a/b" &&
	test_grep "invalid plan name" body &&
	expect_code 400 "/api/v1/outbox?plan=demo&stage=%3Cb%3E" &&
	test_grep "invalid stage name" body &&
	for v in "" 0 -1 01 1x abc 99999999999999999999; do
		expect_code 400 "/api/v1/outbox?run=$v" &&
		test_grep "run must be a run id" body &&
		expect_code 400 "/api/v1/outbox?bisection=$v" &&
		test_grep "bisection must be a bisection id" body || return 1
	done
'

test_expect_success 'an unknown plan, stage, run or bisection is 404' '
	expect_code 404 "/api/v1/outbox?plan=nope" &&
	test_grep "no such plan: nope" body &&
	expect_code 404 "/api/v1/outbox?plan=demo&stage=nope" &&
	test_grep "no stage nope in plan demo" body &&
	expect_code 404 "/api/v1/outbox?run=9999" &&
	test_grep "no such run: 9999" body &&
	expect_code 404 "/api/v1/outbox?bisection=9999" &&
	test_grep "no such bisection: 9999" body
'

test_expect_success '/plain: a stage says how many notifications failed, and why' '
	n=$(sql k.db "SELECT count(*) FROM outbox o JOIN stages s ON s.id = o.stage_id
		WHERE s.name = \"two\" AND o.state = \"failed\"") &&
	api /plain/plans/demo/stages/two > two.html &&
	test "$(api_code)" = 200 &&
	test_grep "notifications: 0 pending, $n failed \(latest: webhook [a-z-]+: .+\) &mdash; <a href=\"/api/v1/outbox\?plan=demo&amp;stage=two\">JSON</a>" two.html
'

test_expect_success 'the daemon stops cleanly' '
	stop_daemon
'

test_done
