#!/bin/sh
# KCIDB: "kstage kcidb export" and GET /api/v1/kcidb write KernelCI's KCIDB
# I/O JSON v5.3, valid against the schema in tests/fixtures/kcidb (checked
# with python3-jsonschema), with the checkouts, builds and tests the
# database holds: a failing test FAIL under its dotted path, a known
# failure FAIL with its reason, a skip SKIP, the boot verdict as the test
# "boot"; ids under the configured origin; --since and --plan filter.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

SCHEMA=${KCIDB_SCHEMA:-$SRC/tests/fixtures/kcidb/kcidb-io-v5.3.schema.json}
python3 -c 'import jsonschema' 2> /dev/null ||
	{ echo "Bail out! python3-jsonschema is needed"; exit 1; }
[ -f "$SCHEMA" ] || { echo "Bail out! no KCIDB schema at $SCHEMA"; exit 1; }
# exit_code CMD...: the exit status of CMD (its stderr in err).
exit_code() {
	"$@" > /dev/null 2> err && echo 0 || echo $?
}
validate() {
	python3 "$SRC/tests/t/kcidb-validate.py" "$SCHEMA" "$@"
}
MIGRATE=hmm-tests/hmm.hmm_device_private.migrate
KNOWN=hmm-tests/hmm.hmm_device_coherent.exclusive

test_expect_success 'setup: stage one skips a test; two fails one, a known one, and warns at boot' '
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	set_test repo gup_test-a ioctl_status_0 skip "no gup_test module" &&
	fake_commit repo "mm: one" mm/a.c "int a;" &&
	git -C repo checkout -q -b s2 &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate fail "migrate: bad refcount" &&
	set_test repo hmm-tests hmm.hmm_device_coherent.exclusive fail "exclusive: -EBUSY" &&
	fake_commit repo "mm: two breaks migrate" WARNING "1" &&
	write_profile profile.json 60 60 "\"known_failures\": [{ \"test\": \"$KNOWN\",
		\"reason\": \"fails with THP=always\" }]" &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 &&
	write_config "\"kcidb_origin\": \"kstage_t\", \"public_url\": \"https://ci.example.org/\"" &&
	start_daemon &&
	wait_idle 60
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'the CLI and the API export the same JSON, valid against the schema' '
	"$KSTAGE" kcidb export -c kstage.json > cli.json &&
	api /api/v1/kcidb > api.json &&
	test "$(api_code)" = 200 &&
	validate cli.json api.json &&
	jq -S . cli.json > expect &&
	jq -S . api.json > actual &&
	test_cmp expect actual &&
	jq -e ".version == {\"major\": 5, \"minor\": 3}" cli.json
'

test_expect_success 'counts: a checkout per tested commit, a build per run, a test per result' '
	n=$(sql k.db "SELECT count(*) FROM (SELECT DISTINCT plan_id, commit_id FROM runs
		WHERE state = '\''done'\'')") &&
	test "$(jq ".checkouts | length" cli.json)" = "$n" &&
	n=$(sql k.db "SELECT count(*) FROM runs WHERE state = '\''done'\''") &&
	test "$n" -ge 3 &&
	test "$(jq ".builds | length" cli.json)" = "$n" &&
	n=$(sql k.db "SELECT count(*) FROM results x JOIN runs r ON r.id = x.run_id
		WHERE r.state = '\''done'\''") &&
	test "$(jq ".tests | length" cli.json)" = "$n" &&
	jq -e "[.checkouts[], .builds[], .tests[] | .origin == \"kstage_t\" and
		(.id | startswith(\"kstage_t:\"))] | all" cli.json &&
	jq -e "([.checkouts[].id]) as \$c | [.builds[].checkout_id | IN(\$c[])] | all" cli.json &&
	jq -e "([.builds[].id]) as \$b | [.tests[].build_id | IN(\$b[])] | all" cli.json &&
	jq -e "[.tests[].id] | length == (unique | length)" cli.json
'

test_expect_success 'the checkout of stage two: commit, branch, local repository in misc' '
	head=$(git -C repo rev-parse s2) &&
	jq -e --arg h "$head" --arg repo "$TRASH/repo" ".checkouts[] |
		select(.git_commit_hash == \$h) | .id == \"kstage_t:demo:\" + \$h and
		.git_repository_branch == \"s2\" and .patchset_hash == \"\" and
		.valid == true and .tree_name == \"demo\" and .misc.stage == \"two\" and
		.misc.repo == \$repo and (has(\"git_repository_url\") | not) and
		(.start_time | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$\"))" cli.json
'

test_expect_success 'a build: the build step of the run, its status, profile and log URL' '
	run=$(stage_field two run_id) &&
	jq -e --arg id "kstage_t:$run" ".builds[] | select(.id == \$id) |
		.status == \"PASS\" and .architecture == \"x86_64\" and
		.config_name == \"fake\" and .misc.step == \"build\" and
		.log_url == \"https://ci.example.org/api/v1/runs/$run/steps/0/log\" and
		.duration >= 0 and (.start_time | type) == \"string\"" cli.json
'

test_expect_success 'the failing test: FAIL under its dotted path, with the detail' '
	run=$(stage_field two run_id) &&
	jq -e --arg id "kstage_t:$run:$MIGRATE" ".tests[] | select(.id == \$id) |
		.status == \"FAIL\" and
		.path == \"hmm-tests.hmm.hmm_device_private.migrate\" and
		.build_id == \"kstage_t:$run\" and (.comment | test(\"bad refcount\")) and
		.misc.kstage_test == \"$MIGRATE\"" cli.json &&
	jq -e --arg id "kstage_t:$run:$MIGRATE" "[.tests[] | select(.id == \$id)] |
		length == 1" cli.json
'

test_expect_success 'a known failure stays FAIL, with its reason' '
	run=$(stage_field two run_id) &&
	jq -e --arg id "kstage_t:$run:$KNOWN" ".tests[] | select(.id == \$id) |
		.status == \"FAIL\" and .comment == \"known failure: fails with THP=always\" and
		.misc.known == true" cli.json
'

test_expect_success 'a skip is SKIP, a pass PASS' '
	run=$(stage_field one run_id) &&
	jq -e --arg id "kstage_t:$run:gup_test-a/ioctl_status_0" ".tests[] |
		select(.id == \$id) | .status == \"SKIP\" and
		.path == \"gup_test-a.ioctl_status_0\"" cli.json &&
	jq -e --arg id "kstage_t:$run:hmm-tests/hmm.hmm_device_private.migrate" ".tests[] |
		select(.id == \$id) | .status == \"PASS\"" cli.json
'

test_expect_success 'the boot verdict is the test "boot": PASS when clean, FAIL on a warning' '
	one=$(stage_field one run_id) two=$(stage_field two run_id) &&
	jq -e --arg id "kstage_t:$one:boot" ".tests[] | select(.id == \$id) |
		.path == \"boot\" and .status == \"PASS\" and .misc.boot_verdict == \"clean\" and
		.output_files[0].url == \"https://ci.example.org/api/v1/runs/$one/steps/1/log\"" \
		cli.json &&
	test "$(sql k.db "SELECT boot_verdict FROM runs WHERE id = $two")" = warning &&
	jq -e --arg id "kstage_t:$two:boot" ".tests[] | select(.id == \$id) |
		.path == \"boot\" and .status == \"FAIL\" and .misc.boot_verdict == \"warning\" and
		(.comment | test(\"warning\"))" cli.json
'

test_expect_success '--since RUN: only the later runs; --plan filters' '
	last=$(sql k.db "SELECT max(id) FROM runs WHERE state = '\''done'\''") &&
	"$KSTAGE" kcidb export -c kstage.json --since $((last - 1)) > since.json &&
	validate since.json &&
	jq -e ".builds | length == 1 and .[0].id == \"kstage_t:$last\"" since.json &&
	n=$(sql k.db "SELECT count(*) FROM results WHERE run_id = $last") &&
	test "$(jq ".tests | length" since.json)" = "$n" &&
	test "$(jq ".checkouts | length" since.json)" = 1 &&
	api "/api/v1/kcidb?since=$((last - 1))&plan=demo" > api-since.json &&
	jq -S . since.json > expect && jq -S . api-since.json > actual &&
	test_cmp expect actual &&
	"$KSTAGE" kcidb export -c kstage.json --since "$last" > none.json &&
	validate none.json &&
	jq -e ".checkouts == [] and .builds == [] and .tests == []" none.json &&
	"$KSTAGE" kcidb export --db k.db --plan demo > plan.json.out &&
	jq -e ".builds | length" plan.json.out > /dev/null &&
	jq -e "[.tests[].id | startswith(\"kstage:\")] | all" plan.json.out
'

test_expect_success 'bad requests: an unknown plan, a bad since, a bad origin' '
	test_must_fail "$KSTAGE" kcidb export -c kstage.json --plan nope 2> err &&
	test_grep "no such plan: nope" err &&
	expect_code 404 "/api/v1/kcidb?plan=nope" &&
	expect_code 400 "/api/v1/kcidb?since=abc" &&
	test "$(exit_code "$KSTAGE" kcidb export -c kstage.json --since x)" = 2 &&
	test_grep "since" err &&
	test "$(exit_code "$KSTAGE" kcidb show -c kstage.json)" = 2 &&
	sed "s/\"kstage_t\"/\"Kstage-T\"/" kstage.json > bad.json &&
	test "$(exit_code "$KSTAGE" kcidb export -c bad.json)" = 2 &&
	test_grep "kcidb_origin.*Kstage-T" err &&
	sed "s|https://ci.example.org/|ftp://x|" kstage.json > bad.json &&
	test "$(exit_code "$KSTAGE" kcidb export -c bad.json)" = 2 &&
	test_grep "public_url" err
'

test_expect_success 'the validation catches a broken object' '
	jq ".tests[0].status = \"BROKEN\"" cli.json > broken.json &&
	test_must_fail validate broken.json > out &&
	test_grep "BROKEN" out &&
	jq ".tests[0].path = \"hmm-tests/x\"" cli.json > broken.json &&
	test_must_fail validate broken.json &&
	jq ".builds[0].origin = \"Bad-Origin\"" cli.json > broken.json &&
	test_must_fail validate broken.json &&
	jq ".checkouts[0].start_time = \"yesterday\"" cli.json > broken.json &&
	test_must_fail validate broken.json &&
	jq "del(.tests[0].build_id)" cli.json > broken.json &&
	test_must_fail validate broken.json
'

test_expect_success 'stop the daemon' '
	stop_daemon
'

test_done
