#!/bin/sh
# No silent passes: a clean boot that reached the end marker but reported
# no test is a run error ("no test results") unless the profile is
# "boot_only"; a suite the profile's "expect" names that reported nothing
# is an error result under its own name; a bisection, which runs only a
# subset, expects only the suites of that subset.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

# run_of PLAN STAGE: the id of the stage's head run.
run_of() {
	sql "$TRASH/k.db" "SELECT s.run_id FROM stages s JOIN plans p ON
		p.id = s.plan_id WHERE p.name = '$1' AND s.name = '$2'"
}

test_expect_success 'setup: three plans over one repository; the daemon' '
	fake_repo repo &&
	# empty: the tests are gone, the kernel still boots cleanly
	git -C repo checkout -q -b empty base &&
	fake_commit repo "selftests: lose every test" tests.txt - &&
	git -C repo checkout -q -b empty2 &&
	fake_commit repo "mm: still nothing to test" mm/e.c "int e;" &&
	# missing: gup_test -a no longer runs
	git -C repo checkout -q -b missing base &&
	grep -v "^gup_test-a " repo/tests.txt > t && mv t repo/tests.txt &&
	git -C repo add tests.txt &&
	fake_commit repo "selftests: drop gup_test -a" &&
	# regress: on top of missing, the second of two commits breaks migrate
	git -C repo checkout -q -b regress &&
	fake_commit repo "mm: harmless" mm/h.c "int h;" &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate fail "migrate: bad refcount" &&
	fake_commit repo "mm: break migrate" &&

	write_profile plain.json &&
	write_profile bootonly.json 60 60 "\"boot_only\": true" &&
	write_profile expect.json 60 60 \
		"\"expect\": [\"hmm-tests\", \"gup_test-u\", \"gup_test-a\"]" &&
	write_plan plain-plan.json "$TRASH/repo" "$TRASH/plain.json" empty:empty &&
	sed -i "s/\"name\": \"demo\"/\"name\": \"plain\"/" plain-plan.json &&
	{
		printf "{ \"name\": \"bootonly\", \"repo\": \"%s\", \"base\": \"empty\",\n" "$TRASH/repo"
		printf "  \"profile\": \"%s\",\n" "$TRASH/bootonly.json"
		printf "  \"stages\": [ { \"name\": \"one\", \"branch\": \"empty2\" } ] }\n"
	} > bootonly-plan.json &&
	write_plan expect-plan.json "$TRASH/repo" "$TRASH/expect.json" \
		missing:missing regress:regress &&
	sed -i "s/\"name\": \"demo\"/\"name\": \"expect\"/" expect-plan.json &&
	write_config "\"slots\": 2" &&
	sed -i "s|\"plans\": \\[\"plan.json\"\\]|\"plans\": [\"plain-plan.json\", \"bootonly-plan.json\", \"expect-plan.json\"]|" \
		kstage.json &&
	"$KSTAGE" check -c kstage.json &&
	"$KSTAGE" token create ci -c kstage.json > token 2> err &&
	start_daemon &&
	wait_idle 60
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'a clean boot with no results is an error, with its reason in the API' '
	run=$(run_of plain empty) &&
	expect_code 200 "/api/v1/runs/$run" &&
	cp "$TRASH/body" run.json &&
	jq -e ".state == \"done\" and .verdict == \"error\" and
		.boot_verdict == \"clean\" and .failed_step == \"boot\" and
		(.error | test(\"^no test results: the boot was clean and reached the end marker\"))" run.json &&
	jq -e ".counts == {\"pass\": 1, \"fail\": 0, \"skip\": 0, \"error\": 0}" run.json &&
	api "/api/v1/runs/$run/results" > results.json &&
	jq -e "[.results[].test] == [\"boot\"]" results.json &&
	api /api/v1/plans/plain/stages/empty > stage.json &&
	jq -e ".verdict == \"error\"" stage.json &&
	test_grep "run $run: .*: error .*no test results" "$TRASH/serve.err"
'

test_expect_success 'the same console under a boot_only profile passes' '
	for s in base one; do
		run=$(run_of bootonly $s) &&
		api "/api/v1/runs/$run" > run.json &&
		jq -e ".verdict == \"pass\" and .error == null" run.json || return 1
	done &&
	api /api/v1/plans/bootonly/stages/one > stage.json &&
	jq -e ".verdict == \"green\"" stage.json
'

test_expect_success 'an expected suite that reported nothing is an error result under its name' '
	run=$(run_of expect missing) &&
	api "/api/v1/runs/$run/results" > results.json &&
	jq -e "[.results[] | select(.test == \"gup_test-a\")] | length == 1 and
		.[0].status == \"error\" and .[0].detail == \"expected suite reported no results\"" results.json &&
	# the suites that ran are still recorded, and nothing else is invented
	jq -e "[.results[] | select(.test | startswith(\"hmm-tests/\"))] | length == 7 and
		all(.status == \"pass\")" results.json &&
	jq -e "[.results[] | select(.test == \"gup_test-u/ioctl_status_0\")][0].status == \"pass\"" results.json &&
	jq -e "[.results[] | select(.status == \"error\")] | length == 1" results.json &&
	api "/api/v1/runs/$run" > run.json &&
	jq -e ".verdict == \"fail\" and .error == null and .counts.error == 1" run.json
'

test_expect_success 'the missing suite is no pass: the stage is red, its tests missing' '
	api /api/v1/plans/expect/stages/missing > stage.json &&
	jq -e ".verdict == \"red\"" stage.json &&
	jq -e "[.changes[] | select(.test == \"gup_test-a/ioctl_status_0\")][0].kind == \"missing\"" stage.json &&
	jq -e "[.changes[] | select(.test == \"gup_test-a\")][0] |
		.kind == \"new\" and .after == \"error\"" stage.json &&
	# the base, where every expected suite ran, passed
	api "/api/v1/runs/$(run_of expect base)" > base.json &&
	jq -e ".verdict == \"pass\" and .counts.error == 0" base.json
'

test_expect_success 'bisection runs expect only the suites of their subset' '
	test "$(sql k.db "SELECT state FROM bisections WHERE stage_id =
		(SELECT id FROM stages WHERE name = \"regress\")")" = found &&
	test "$(sql k.db "SELECT culprit FROM bisections WHERE stage_id =
		(SELECT id FROM stages WHERE name = \"regress\")")" = "$(git -C repo rev-parse regress)" &&
	sql k.db "SELECT DISTINCT r.tests FROM runs r JOIN bisection_runs b ON
		b.run_id = r.id" > subsets &&
	echo hmm-tests/hmm.hmm_device_private.migrate > expect &&
	test_cmp expect subsets &&
	# gup_test-u and gup_test-a did not run there, and are no errors
	test "$(sql k.db "SELECT count(*) FROM results WHERE status = \"error\" AND
		run_id IN (SELECT run_id FROM bisection_runs)")" = 0 &&
	sql k.db "SELECT DISTINCT test FROM results WHERE run_id IN
		(SELECT run_id FROM bisection_runs) ORDER BY test" > tests &&
	printf "boot\nhmm-tests/hmm.hmm_device_private.migrate\n" > expect &&
	test_cmp expect tests &&
	# the good side of the range passed, not merely "not failed"
	test "$(sql k.db "SELECT count(*) FROM runs WHERE id IN (SELECT run_id FROM
		bisection_runs WHERE verdict = \"good\") AND verdict != \"pass\"")" = 0
'

test_expect_success 'a subset expects its own suites: one that reported nothing is an error' '
	# a bisection asked by a person for the test that vanished on stage
	# "missing": its runs are restricted to that test, whose suite is gone
	post /api/v1/bisections "{\"plan\": \"expect\", \"stage\": \"missing\",
		\"tests\": [\"gup_test-a/ioctl_status_0\"]}" > bisect.json &&
	test "$(api_code)" = 202 &&
	wait_idle 60 &&
	id=$(jq -r .bisection bisect.json) &&
	run=$(sql k.db "SELECT b.run_id FROM bisection_runs b JOIN runs r ON r.id = b.run_id
		WHERE b.bisection_id = $id AND r.commit_id = \"$(git -C repo rev-parse missing)\"
		LIMIT 1") &&
	test -n "$run" &&
	api "/api/v1/runs/$run/results" > results.json &&
	jq -e "[.results[] | [.test, .status]] | sort ==
		[[\"boot\", \"pass\"], [\"gup_test-a\", \"error\"]]" results.json &&
	# and it reported no test at all: the run itself is an error
	api "/api/v1/runs/$run" > run.json &&
	jq -e ".tests == [\"gup_test-a/ioctl_status_0\"] and .verdict == \"error\" and
		(.error | startswith(\"no test results\"))" run.json
'

test_expect_success 'stop the daemon' '
	stop_daemon &&
	test_no_leftovers
'

test_done
