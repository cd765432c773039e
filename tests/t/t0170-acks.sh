#!/bin/sh
# Acknowledged failures: an ack makes a failing test "known" on a plan's
# stages below its until stage (shown, not a regression, never bisected)
# until it is removed; the loop re-judges the plan as soon as it is told.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

MIGRATE=hmm-tests/hmm.hmm_device_private.migrate

# Wait (at most 10 s) until stage two's verdict is $1.
wait_verdict() {
	i=0
	while [ $i -lt 100 ]; do
		[ "$(stage_field two verdict)" = "$1" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "stage two is $(stage_field two verdict), not $1"
	return 1
}

test_expect_success 'setup: stage two breaks migrate, the daemon, a token' '
	two_stage_setup &&
	write_config "\"auto_bisect\": false" &&
	"$KSTAGE" token create ci -c kstage.json > token 2> /dev/null &&
	start_daemon &&
	wait_idle &&
	test "$(stage_field two verdict)" = red &&
	test "$(sql k.db "SELECT kind FROM changes WHERE test = \"$MIGRATE\"")" = regression
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'an ack turns the regression into a known failure' '
	post /api/v1/plans/demo/acks "{\"test\": \"hmm-tests/*.migrate\",
		\"reason\": \"refcount bug, fixed in stage three\"}" > a.json &&
	test "$(api_code)" = 201 &&
	jq .ack a.json > ack_id &&
	wait_verdict green &&
	test "$(sql k.db "SELECT kind || \"|\" || detail FROM changes WHERE test = \"$MIGRATE\"")" = \
		"known|refcount bug, fixed in stage three" &&
	test "$(stage_field two known)" = 1 &&
	test "$(stage_field two regressions)" = 0 &&
	api /api/v1/plans/demo/stages/two > s.json &&
	jq -e ".verdict == \"green\" and
		(.changes | map(select(.test == \"$MIGRATE\")) | .[0].kind) == \"known\"" s.json &&
	test "$(sql k.db "SELECT count(*) FROM events WHERE kind = \"ack\"")" = 1
'

test_expect_success 'the gate moves past the acknowledged stage' '
	i=0 &&
	while [ $i -lt 50 ] && [ "$(sql k.db "SELECT state FROM gates")" != can-advance ]; do
		sleep 0.1; i=$((i + 1)); done &&
	test "$(sql k.db "SELECT s.name FROM gates g JOIN stages s ON s.id = g.stage_id")" = two
'

test_expect_success 'deleting the ack makes it a regression again' '
	api /api/v1/plans/demo/acks/$(cat ack_id) -X DELETE \
		-H "Authorization: Bearer $(cat token)" > d.json &&
	test "$(api_code)" = 200 &&
	wait_verdict red &&
	test "$(sql k.db "SELECT kind FROM changes WHERE test = \"$MIGRATE\"")" = regression &&
	test "$(stage_field two regressions)" = 1
'

test_expect_success 'an ack until stage two counts from stage two on' '
	post /api/v1/plans/demo/acks "{\"test\": \"$MIGRATE\", \"reason\": \"r\",
		\"until\": \"two\"}" > u.json &&
	test "$(api_code)" = 201 &&
	sleep 0.5 &&
	test "$(stage_field two verdict)" = red &&
	test "$(sql k.db "SELECT kind FROM changes WHERE test = \"$MIGRATE\"")" = regression &&
	api /api/v1/plans/demo/acks/$(jq .ack u.json) -X DELETE \
		-H "Authorization: Bearer $(cat token)" > /dev/null &&
	test "$(api_code)" = 200
'

test_expect_success 'bad acks are refused and change nothing' '
	post /api/v1/plans/demo/acks "{\"test\": \"x\", \"reason\": \"r\", \"until\": \"nosuch\"}" > /dev/null &&
	test "$(api_code)" = 400 &&
	post /api/v1/plans/demo/acks "{\"test\": \"x\"}" > /dev/null &&
	test "$(api_code)" = 400 &&
	post /api/v1/plans/nosuch/acks "{\"test\": \"x\", \"reason\": \"r\"}" > /dev/null &&
	test "$(api_code)" = 404 &&
	api /api/v1/plans/demo/acks/999 -X DELETE -H "Authorization: Bearer $(cat token)" > /dev/null &&
	test "$(api_code)" = 404 &&
	test "$(sql k.db "SELECT count(*) FROM acks")" = 0
'

test_expect_success 'kstage ack: add, list, delete from the command line' '
	url=$(cat url) &&
	KSTAGE_TOKEN=$(cat token) &&
	export KSTAGE_TOKEN &&
	"$KSTAGE" ack add --url "$url" --until two demo "hmm-tests/*.migrate" "cli reason" > add.out &&
	grep "^ack [0-9]*: hmm-tests/\*.migrate on demo$" add.out &&
	id=$(sed -n "s/^ack \([0-9]*\):.*/\1/p" add.out) &&
	"$KSTAGE" ack list --url "$url" demo > list.out &&
	grep "^$id  *hmm-tests/\*.migrate  *two  *ci  *cli reason$" list.out &&
	"$KSTAGE" ack list --url "$url" --json demo | jq -e ".acks[0].until == \"two\"" &&
	"$KSTAGE" ack delete --url "$url" demo $id > del.out &&
	grep "^ack $id deleted$" del.out &&
	test "$(sql k.db "SELECT count(*) FROM acks")" = 0 &&
	test_must_fail "$KSTAGE" ack delete --url "$url" demo $id 2> err &&
	grep "no ack $id in plan demo" err &&
	test_exit 2 "$KSTAGE" ack add --url "$url" demo onlytest &&
	test_exit 2 "$KSTAGE" ack delete --url "$url" demo notanumber &&
	KSTAGE_TOKEN= test_must_fail "$KSTAGE" ack add --url "$url" demo x y
'

test_expect_success 'an ack through the command line re-judges the stage' '
	KSTAGE_TOKEN=$(cat token) "$KSTAGE" ack add --url "$(cat url)" demo \
		"$MIGRATE" "known" > add.out &&
	wait_verdict green &&
	KSTAGE_TOKEN=$(cat token) "$KSTAGE" ack delete --url "$(cat url)" demo \
		"$(sed -n "s/^ack \([0-9]*\):.*/\1/p" add.out)" > /dev/null &&
	wait_verdict red
'

test_expect_success 'stop the daemon' '
	stop_daemon
'

test_expect_success 'with auto_bisect: an acknowledged failure is never bisected' '
	write_config &&
	start_daemon &&
	post /api/v1/plans/demo/acks "{\"test\": \"$MIGRATE\", \"reason\": \"known\"}" > /dev/null &&
	test "$(api_code)" = 201 &&
	git -C repo checkout -q s2 &&
	fake_commit repo "mm: two c" mm/c.c "int c;" &&
	post /api/v1/refresh > /dev/null &&
	test "$(api_code)" = 202 &&
	head=$(git -C repo rev-parse s2) &&
	i=0 &&
	while [ $i -lt 100 ] && [ "$(sql k.db "SELECT count(*) FROM runs WHERE commit_id = \"$head\" AND state = \"done\"")" = 0 ]; do
		sleep 0.1; i=$((i + 1)); done &&
	wait_idle &&
	wait_verdict green &&
	test "$(sql k.db "SELECT count(*) FROM bisections WHERE bad_commit = \"$head\"")" = 0 &&
	stop_daemon
'

test_done
