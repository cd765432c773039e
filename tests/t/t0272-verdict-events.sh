#!/bin/sh
# When a stage is judged anew it says so (event stage-verdict, and with it
# its notifications): the verdict changed, a red stage's regressions
# changed (an ack took one of two away), or a settled verdict now holds
# for another commit (a new head with the same tree, its results reused).
# Nothing else writes one.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

MIGRATE=hmm-tests/hmm.hmm_device_private.migrate
EXCL=hmm-tests/hmm.hmm_device_private.exclusive

verdicts() {	# the stage-verdict events of stage two: "verdict was [regressions]"
	sql "$TRASH/k.db" "SELECT e.data FROM events e JOIN stages s ON s.id = e.stage_id
		WHERE e.kind = 'stage-verdict' AND s.name = 'two' ORDER BY e.id" |
		jq -r '"\(.verdict) \(.was) \((.regressions // []) | join(","))"'
}

# wait_events N: until stage two has N stage-verdict events.
wait_events() {
	i=0
	while [ "$(verdicts | wc -l)" -lt "$1" ] && [ $i -lt $((100 * TIME_FACTOR)) ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ "$(verdicts | wc -l)" -ge "$1" ] || { verdicts; return 1; }
}

test_expect_success 'setup: stage two breaks migrate and exclusive' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	git -C repo checkout -q -b s2 &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate fail "migrate: bad refcount" &&
	set_test repo hmm-tests hmm.hmm_device_private.exclusive fail "exclusive: -EBUSY" &&
	fake_commit repo "mm: two breaks two tests" &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 &&
	write_config "\"auto_bisect\": false" &&
	"$KSTAGE" token create ci -c kstage.json > token 2> /dev/null &&
	start_daemon &&
	wait_idle &&
	test "$(stage_field two verdict)" = red &&
	verdicts | tail -n 1 > got &&
	echo "red running $EXCL,$MIGRATE" > expect && test_cmp expect got
'

test_expect_success 'an ack takes one regression away: still red, a new event names the other' '
	n=$(verdicts | wc -l) &&
	"$KSTAGE" ack add --url "$(cat url)" --token "$(cat token)" demo "$EXCL" \
		"exclusive is known to fail here" > ack.id &&
	wait_events $((n + 1)) &&
	test "$(stage_field two verdict)" = red &&
	verdicts | tail -n 1 > got &&
	echo "red red $MIGRATE" > expect && test_cmp expect got
'

test_expect_success 'a new head with the same tree: the results are reused, the event names the commit' '
	n=$(verdicts | wc -l) &&
	runs=$(sql k.db "SELECT count(*) FROM runs") &&
	git -C repo checkout -q s2 &&
	git -C repo commit -q --allow-empty -m "mm: two, reworded" &&
	post /api/v1/refresh > /dev/null &&
	wait_events $((n + 1)) &&
	wait_idle &&
	verdicts | tail -n 1 > got &&
	echo "red red $MIGRATE" > expect && test_cmp expect got &&
	test "$(sql k.db "SELECT json_extract(data, \"$.commit\") FROM events WHERE
		kind = \"stage-verdict\" ORDER BY id DESC LIMIT 1")" = "$(git -C repo rev-parse s2)" &&
	test "$(sql k.db "SELECT count(*) FROM runs WHERE reused_from IS NULL")" -le "$runs"
'

test_expect_success 'judging again with nothing changed writes no event' '
	n=$(verdicts | wc -l) &&
	post /api/v1/refresh > /dev/null &&
	sleep 1 && wait_idle &&
	test "$(verdicts | wc -l)" = "$n"
'

test_expect_success 'the last regression acknowledged: green' '
	n=$(verdicts | wc -l) &&
	"$KSTAGE" ack add --url "$(cat url)" --token "$(cat token)" demo "$MIGRATE" \
		"migrate too" > ack2.id &&
	wait_events $((n + 1)) &&
	verdicts | tail -n 1 > got &&
	echo "green red " > expect && test_cmp expect got &&
	stop_daemon
'

test_done
