#!/bin/sh
# A bisection of 600 test names of 250 bytes (150 KB): the step gets the list as a
# file (KSTAGE_TESTS_FILE), not in one environment variable, which the
# kernel caps at 128 KiB ("Argument list too long" for every step).
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap 'api_cleanup' EXIT

test_expect_success 'setup: 600 tests with long names (150 KB of names); stage two breaks migrate' '
	fake_repo repo &&
	long=$(printf "%0220d" 0 | tr 0 x) &&
	i=0 &&
	while [ $i -lt 600 ]; do
		printf "hmm-tests hmm.long_%03d_%s pass\n" $i "$long" >> repo/tests.txt
		i=$((i + 1))
	done &&
	git -C repo add tests.txt && fake_commit repo "selftests: 600 more" &&
	git -C repo checkout -q -b s1 &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	git -C repo checkout -q -b s2 &&
	fake_commit repo "mm: two a" mm/b.c "int b;" &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate fail "migrate: bad refcount" &&
	fake_commit repo "mm: two b breaks migrate" &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 &&
	write_config &&
	"$KSTAGE" token create t -c kstage.json > token 2> /dev/null &&
	cp token "$TRASH/token" 2> /dev/null || true &&
	{
		printf "{\"plan\": \"demo\", \"stage\": \"two\", \"tests\": [\"hmm-tests/hmm.hmm_device_private.migrate\""
		i=0
		while [ $i -lt 600 ]; do
			printf ", \"hmm-tests/hmm.long_%03d_%s\"" $i "$long"
			i=$((i + 1))
		done
		printf "]}"
	} > body.json &&
	test "$(wc -c < body.json)" -gt 140000 &&
	start_daemon &&
	wait_idle
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'the bisection runs every step and finds the commit' '
	api /api/v1/bisections -X POST --data-binary @body.json \
		-H "Authorization: Bearer $(cat token)" -H "Content-Type: application/json" > r.json &&
	test "$(api_code)" = 202 &&
	id=$(jq -r .bisection r.json) &&
	wait_idle 60 &&
	test "$(sql k.db "SELECT state FROM bisections WHERE id = $id")" = found &&
	test "$(sql k.db "SELECT culprit FROM bisections WHERE id = $id")" = "$(git -C repo rev-parse s2)" &&
	test "$(sql k.db "SELECT count(*) FROM runs r JOIN bisection_runs b ON b.run_id = r.id
		WHERE b.bisection_id = $id AND r.verdict = \"error\"")" = 0 &&
	run=$(sql k.db "SELECT max(run_id) FROM bisection_runs WHERE bisection_id = $id") &&
	test "$(wc -l < "art/runs/$run/tests-selected.txt")" = 601 &&
	test "$(sql k.db "SELECT count(*) FROM results WHERE run_id = $run AND test != \"boot\"")" = 601
'

test_expect_success 'stop the daemon' '
	stop_daemon
'

test_done
