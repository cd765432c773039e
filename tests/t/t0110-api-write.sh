#!/bin/sh
# The write side of the HTTP API: trigger, retry, cancel, bisections,
# acknowledged failures and refresh, with a token; the loop picks
# each change up.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

test_expect_success 'setup: two stages, a token, the daemon' '
	two_stage_setup &&
	"$KSTAGE" token create ci -c kstage.json > token 2> err &&
	grep "^kst_[0-9a-f]\{64\}$" token &&
	grep "shown only this once" err &&
	start_daemon &&
	wait_idle
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'trigger a tested head: 202, answered from the earlier run' '
	post /api/v1/plans/demo/stages/one/trigger > t.json &&
	test "$(api_code)" = 202 &&
	jq -e ".reused == true and (.run | type) == \"number\"" t.json &&
	id=$(jq .run t.json) &&
	test "$(sql k.db "SELECT reason || \" \" || state || \" \" || (reused_from IS NOT NULL)
		FROM runs WHERE id = $id")" = "manual done 1" &&
	test "$(sql k.db "SELECT count(*) FROM events WHERE kind = \"run-reused\" AND run_id = $id")" = 1
'

test_expect_success 'retry: the same commit again, without reuse' '
	id=$(stage_field one run_id) &&
	builds=$(runs_of build) &&
	post /api/v1/runs/$id/retry > r.json &&
	test "$(api_code)" = 202 &&
	new=$(jq .run r.json) &&
	wait_idle &&
	test "$(sql k.db "SELECT commit_id FROM runs WHERE id = $new")" = \
		"$(sql k.db "SELECT commit_id FROM runs WHERE id = $id")" &&
	test "$(sql k.db "SELECT reason || \" \" || no_reuse || \" \" || state || \" \" ||
		(reused_from IS NULL) FROM runs WHERE id = $new")" = "retry 1 done 1" &&
	test "$(runs_of build)" = $((builds + 1))
'

test_expect_success 'a bisection of the stage regressions: found' '
	wait_idle &&
	test "$(stage_field two verdict)" = red &&
	post /api/v1/bisections "{\"plan\": \"demo\", \"stage\": \"two\"}" > b.json &&
	test "$(api_code)" = 202 &&
	bid=$(jq .bisection b.json) &&
	test "$(bisect_field tests "WHERE id = $bid")" = hmm-tests/hmm.hmm_device_private.migrate &&
	wait_idle 30 &&
	api /api/v1/bisections/$bid > show.json &&
	jq -e ".state == \"found\" and .reason == \"manual\" and
		.culprit.subject == \"mm: two b breaks migrate\"" show.json
'

test_expect_success 'acks: add, list, refuse a duplicate, delete' '
	post /api/v1/plans/demo/acks "{\"test\": \"hmm-tests/*.migrate\",
		\"reason\": \"known: refcount rework\", \"until\": \"two\"}" > a.json &&
	test "$(api_code)" = 201 &&
	aid=$(jq .ack a.json) &&
	api /api/v1/plans/demo/acks > l.json &&
	jq -e ".acks == [{\"id\": $aid, \"test\": \"hmm-tests/*.migrate\",
		\"reason\": \"known: refcount rework\", \"until\": \"two\",
		\"created_by\": \"ci\", \"created_at\": .acks[0].created_at}]" l.json &&
	post /api/v1/plans/demo/acks "{\"test\": \"hmm-tests/*.migrate\", \"reason\": \"x\"}" > /dev/null &&
	test "$(api_code)" = 409 &&
	api /api/v1/plans/demo/acks/$aid -X DELETE -H "Authorization: Bearer $(cat token)" > d.json &&
	test "$(api_code)" = 200 &&
	test "$(sql k.db "SELECT count(*) FROM acks")" = 0 &&
	api /api/v1/plans/demo/acks/$aid -X DELETE -H "Authorization: Bearer $(cat token)" > /dev/null &&
	test "$(api_code)" = 404
'

test_expect_success 'refresh: the branches are read again at once' '
	git -C repo checkout -q s2 &&
	fake_commit repo "mm: two c" mm/c.c "int c;" &&
	post /api/v1/refresh > r.json &&
	test "$(api_code)" = 202 &&
	i=0 &&
	while [ "$(stage_field two head)" != "$(git -C repo rev-parse s2)" ] && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1)); done &&
	test "$(stage_field two head)" = "$(git -C repo rev-parse s2)" &&
	wait_idle
'

test_expect_success 'a slow stage three on a restarted daemon' '
	stop_daemon &&
	git -C repo checkout -q -b s3 s2 &&
	fake_commit repo "mm: three (slow boot)" SLEEP 30 &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 three:s3 &&
	start_daemon &&
	i=0 &&
	while [ "$(sql k.db "SELECT count(*) FROM runs r JOIN stages s ON s.id = r.stage_id
		WHERE s.name = \"three\" AND r.state = \"running\"")" != 1 ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1)); done &&
	test $i -lt 100 &&
	sql k.db "SELECT id FROM runs WHERE state = \"running\"" > slow-run
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'trigger while the head runs: 200, the existing run' '
	post /api/v1/plans/demo/stages/three/trigger > t.json &&
	test "$(api_code)" = 200 &&
	jq -e ".existing == true and .run == $(cat slow-run)" t.json &&
	test "$(sql k.db "SELECT count(*) FROM runs WHERE state IN (\"queued\", \"running\")")" = 1
'

test_expect_success 'retry of a run that has not finished is 409' '
	post /api/v1/runs/$(cat slow-run)/retry > /dev/null &&
	test "$(api_code)" = 409
'

test_expect_success 'a manual bisection waits while the slot is busy; it can be canceled' '
	post /api/v1/bisections "{\"plan\": \"demo\", \"stage\": \"two\",
		\"tests\": [\"hmm-tests/hmm.hmm_device_private.open_close\"]}" > b.json &&
	test "$(api_code)" = 202 &&
	bid=$(jq .bisection b.json) &&
	test "$(bisect_field "reason || \" \" || good_commit || \" \" || bad_commit || \" \" || tests" "WHERE id = $bid")" = \
		"manual $(git -C repo rev-parse s1) $(git -C repo rev-parse s2) hmm-tests/hmm.hmm_device_private.open_close" &&
	test "$(bisect_field "runs_per_step || confirm_runs" "WHERE id = $bid")" = 11 &&
	post /api/v1/bisections "{\"plan\": \"demo\", \"stage\": \"two\",
		\"tests\": [\"hmm-tests/hmm.hmm_device_private.open_close\"]}" > again.json &&
	test "$(api_code)" = 200 &&
	jq -e ".existing == true and .bisection == $bid" again.json &&
	post /api/v1/bisections/$bid/cancel > c.json &&
	test "$(api_code)" = 200 &&
	jq -e ".state == \"canceled\"" c.json &&
	test "$(bisect_field state "WHERE id = $bid")" = canceled &&
	post /api/v1/bisections/$bid/cancel > /dev/null &&
	test "$(api_code)" = 409 &&
	sql k.db "SELECT json_extract(data, \"$.state\") FROM events WHERE kind = \"bisection\"
		AND bisection_id = $bid ORDER BY id" > states &&
	head -n 1 states | grep -x requested &&
	grep -x canceled states
'

test_expect_success 'cancel the running run: 200, its processes stop; again: 409' '
	id=$(cat slow-run) &&
	tok=$(sql k.db "SELECT token FROM runs WHERE id = $id") &&
	test -n "$tok" &&
	grep -qsl "KSTAGE_RUN_TOKEN=$tok" /proc/[0-9]*/environ &&
	post /api/v1/runs/$id/cancel > c.json &&
	test "$(api_code)" = 200 &&
	jq -e ".run == $id and .state == \"canceled\"" c.json &&
	test "$(sql k.db "SELECT state FROM runs WHERE id = $id")" = canceled &&
	sql k.db "SELECT error FROM runs WHERE id = $id" | grep "canceled through the API by ci" &&
	i=0 &&
	while grep -qsl "KSTAGE_RUN_TOKEN=$tok" /proc/[0-9]*/environ && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1)); done &&
	! grep -qsl "KSTAGE_RUN_TOKEN=$tok" /proc/[0-9]*/environ &&
	post /api/v1/runs/$id/cancel > /dev/null &&
	test "$(api_code)" = 409 &&
	test "$(sql k.db "SELECT count(*) FROM events WHERE kind = \"run-canceled\" AND run_id = $id")" = 1
'

test_expect_success 'trigger a head that has no result: 202, a new run (not reused)' '
	post /api/v1/plans/demo/stages/three/trigger > t.json &&
	test "$(api_code)" = 202 &&
	jq -e ".reused == false and .run != $(cat slow-run)" t.json &&
	id=$(jq .run t.json) &&
	test "$(sql k.db "SELECT reason || \" \" || priority FROM runs WHERE id = $id")" = "manual 10" &&
	post /api/v1/runs/$id/cancel > /dev/null &&
	test "$(api_code)" = 200 &&
	wait_idle
'

test_expect_success 'the token was marked used' '
	test "$(sql k.db "SELECT last_used_at > 0 FROM tokens WHERE name = \"ci\"")" = 1
'

test_expect_success 'SIGTERM stops the daemon; no kstage process is left' '
	stop_daemon &&
	! pgrep -f -- "$TRASH/kstage.json"
'

test_done
