#!/bin/sh
# The read side of the HTTP API (daemon/API.md) against the real daemon on
# loopback: plans, stages, matrix, history, runs, logs with ranges,
# artifacts, bisections, metrics, the plain HTML view and static files.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

test_expect_success 'setup: two stages, the second breaks a test; the daemon' '
	two_stage_setup &&
	mkdir -p web/css &&
	echo "<!doctype html><title>dash</title>" > web/index.html &&
	echo "body{}" > web/style.css &&
	echo "console.log(1)" > web/app.js &&
	echo "nested" > web/css/x.css &&
	echo "top secret" > secret.txt &&
	start_daemon &&
	wait_idle
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'GET /api/v1/plans: every plan with its stages, base first' '
	api /api/v1/plans > plans.json &&
	test "$(api_code)" = 200 &&
	jq -e ".plans | length == 1" plans.json &&
	jq -e ".plans[0] | .name == \"demo\" and .profile == \"fake\" and
		(.profile_digest | length) == 40 and .base == \"base\" and
		(.gate.state | type) == \"string\"" plans.json &&
	jq -e "[.plans[0].stages[].name] == [\"base\", \"one\", \"two\"]" plans.json &&
	jq -e "[.plans[0].stages[].idx] == [0, 1, 2]" plans.json
'

test_expect_success 'a stage: verdict, counts, run summary, latest bisection' '
	jq -e ".plans[0].stages[1] | .verdict == \"green\" and .regressions == 0 and
		.counts.pass == 10 and .commits == 1 and .stack_state == \"ok\"" plans.json &&
	jq -e ".plans[0].stages[2] | .verdict == \"red\" and .regressions == 1 and
		.counts.fail == 1 and .commits == 2 and .run.state == \"done\" and
		.run.verdict == \"fail\" and (.baseline_run_id | type) == \"number\" and
		(.head | length) == 40 and (.tree | length) == 40" plans.json &&
	jq -e ".plans[0].stages[2].bisection | .state == \"found\" and
		(.culprit | length) == 40" plans.json &&
	jq -e ".plans[0].stages[2].run | has(\"current_step\") and
		has(\"step_started_at\") and has(\"reused_from\") and
		has(\"boot_verdict\") and has(\"queued_at\")" plans.json
'

test_expect_success 'GET /api/v1/plans/demo is the same plan' '
	api /api/v1/plans/demo > plan.json &&
	jq -S ".plans[0]" plans.json > expect &&
	jq -S . plan.json > actual &&
	test_cmp expect actual
'

test_expect_success 'GET a stage: own commits, changes, results with baseline, runs' '
	api /api/v1/plans/demo/stages/two > two.json &&
	test "$(api_code)" = 200 &&
	jq -r ".commits[].subject" two.json > actual &&
	printf "mm: two a\nmm: two b breaks migrate\n" > expect &&
	test_cmp expect actual &&
	jq -e ".changes == [{\"test\": \"hmm-tests/hmm.hmm_device_private.migrate\",
		\"kind\": \"regression\", \"before\": \"pass\", \"after\": \"fail\",
		\"detail\": .changes[0].detail}]" two.json &&
	jq -e ".changes[0].detail | test(\"bad refcount\")" two.json &&
	jq -e ".results | length == 10" two.json &&
	jq -e ".results[] | select(.test == \"hmm-tests/hmm.hmm_device_private.migrate\") |
		.status == \"fail\" and .baseline == \"pass\" and (.line | type) == \"number\"" two.json &&
	jq -e "[.runs[].id] == ([.runs[].id] | sort | reverse)" two.json &&
	jq -e "(.runs | length) >= 1 and (.runs | length) <= 20" two.json
'

test_expect_success 'the matrix: test x stage' '
	api /api/v1/plans/demo/matrix > m.json &&
	jq -e ".stages == [\"base\", \"one\", \"two\"]" m.json &&
	jq -e ".tests[] | select(.test == \"hmm-tests/hmm.hmm_device_private.migrate\") |
		.status == [\"pass\", \"pass\", \"fail\"]" m.json &&
	jq -e ".tests[] | select(.test == \"hmm-tests/hmm.hmm_device_private.migrate\") |
		.kind == [null, null, \"regression\"]" m.json &&
	jq -e ".tests | length == 10" m.json
'

test_expect_success 'the history of one test across stages and runs, newest first' '
	api "/api/v1/plans/demo/history?test=hmm-tests%2Fhmm.hmm_device_private.migrate" > h.json &&
	test "$(api_code)" = 200 &&
	jq -e ".test == \"hmm-tests/hmm.hmm_device_private.migrate\"" h.json &&
	jq -e "[.history[] | select(.stage == \"two\" and .status == \"fail\")] | length >= 1" h.json &&
	jq -e "[.history[] | select(.stage == \"one\")][0].status == \"pass\"" h.json &&
	jq -e "[.history[].run_id] == ([.history[].run_id] | sort | reverse)" h.json
'

test_expect_success 'runs: filters, limit, newest first' '
	api "/api/v1/runs?plan=demo&stage=two&limit=2" > r.json &&
	test "$(api_code)" = 200 &&
	jq -e ".runs | length == 2" r.json &&
	jq -e "[.runs[].stage] | unique == [\"two\"]" r.json &&
	jq -e ".runs[0].id > .runs[1].id" r.json &&
	api "/api/v1/runs?state=done&limit=500" > all.json &&
	jq -e "[.runs[].state] | unique == [\"done\"]" all.json &&
	test "$(jq ".runs | length" all.json)" = "$(sql k.db "SELECT count(*) FROM runs WHERE state = \"done\"")"
'

test_expect_success 'a run: everything, with its steps and their log URLs' '
	id=$(stage_field two run_id) &&
	api /api/v1/runs/$id > run.json &&
	jq -e ".id == $id and .plan == \"demo\" and .stage == \"two\" and
		.state == \"done\" and .verdict == \"fail\" and .tests == null and
		.counts.fail == 1 and .reason == \"change\" and .boot_verdict == \"clean\"" run.json &&
	jq -e "[.steps[].name] == [\"build\", \"boot\"]" run.json &&
	jq -e ".steps[1].log == \"/api/v1/runs/$id/steps/1/log\" and
		.steps[1].state == \"ok\" and .steps[1].log_bytes > 0" run.json &&
	jq -e "[.steps[].console] == [0, 1]" run.json &&
	api /api/v1/plans/demo > p.json &&
	jq -e ".stages[] | select(.name == \"two\") | .run.reason == \"change\"" p.json &&
	api /api/v1/runs/$id/results > res.json &&
	jq -e ".results | length == 10" res.json &&
	jq -e ".results[0] | has(\"test\") and has(\"status\") and has(\"detail\") and has(\"line\")" res.json
'

test_expect_success 'a step log: whole, Range, tail, offset and length' '
	id=$(stage_field two run_id) &&
	log=art/runs/$id/02-boot.log &&
	api /api/v1/runs/$id/steps/1/log > whole &&
	test "$(api_code)" = 200 &&
	test_cmp $log whole &&
	api /api/v1/runs/$id/steps/1/log -H "Range: bytes=0-9" -D hdr > part &&
	test "$(api_code)" = 206 &&
	head -c 10 $log > expect && test_cmp expect part &&
	size=$(wc -c < $log) &&
	grep -i "^Content-Range: bytes 0-9/$size" hdr &&
	api /api/v1/runs/$id/steps/1/log -H "Range: bytes=-25" > part &&
	tail -c 25 $log > expect && test_cmp expect part &&
	api "/api/v1/runs/$id/steps/1/log?tail=40" > part &&
	test "$(api_code)" = 206 &&
	tail -c 40 $log > expect && test_cmp expect part &&
	api "/api/v1/runs/$id/steps/1/log?offset=5&length=7" > part &&
	tail -c +6 $log | head -c 7 > expect && test_cmp expect part &&
	api "/api/v1/runs/$id/steps/1/log?offset=$size" > part &&
	test ! -s part
'

test_expect_success 'ranges that cannot be satisfied are 416' '
	id=$(stage_field two run_id) &&
	size=$(wc -c < art/runs/$id/02-boot.log) &&
	expect_code 416 /api/v1/runs/$id/steps/1/log -H "Range: bytes=$size-" -D hdr &&
	grep -i "^Content-Range: bytes \*/$size" hdr &&
	expect_code 416 /api/v1/runs/$id/steps/1/log -H "Range: bytes=0-1,4-5" &&
	expect_code 416 /api/v1/runs/$id/steps/1/log -H "Range: lines=1-2" &&
	expect_code 416 "/api/v1/runs/$id/steps/1/log?offset=$((size + 1))"
'

test_expect_success 'artifacts: listed, fetched, only inside the run directory' '
	id=$(stage_field two run_id) &&
	mkdir -p art/runs/$id/extra &&
	echo "kernel config" > art/runs/$id/extra/config.txt &&
	ln -s "$TRASH/secret.txt" art/runs/$id/leak.txt &&
	api /api/v1/runs/$id/artifacts > a.json &&
	jq -e "[.files[].name] == [\"01-build.log\", \"02-boot.log\", \"extra/config.txt\"]" a.json &&
	jq -e ".files[2].size == 14" a.json &&
	api /api/v1/runs/$id/artifacts/extra/config.txt > got &&
	test "$(api_code)" = 200 &&
	test_cmp art/runs/$id/extra/config.txt got &&
	expect_code 404 /api/v1/runs/$id/artifacts/leak.txt &&
	! grep secret "$TRASH/body"
'

test_expect_success 'no response is over 16 MiB: a bigger file comes in parts' '
	id=$(stage_field two run_id) &&
	head -c 17000000 /dev/zero | tr "\0" x > art/runs/$id/big.txt &&
	api /api/v1/runs/$id/artifacts/big.txt -D hdr > got &&
	test "$(api_code)" = 206 &&
	test "$(wc -c < got)" = 16777216 &&
	grep -i "^Content-Range: bytes 0-16777215/17000000" hdr &&
	api /api/v1/runs/$id/artifacts/big.txt -H "Range: bytes=16777216-" > rest &&
	test "$(api_code)" = 206 &&
	test "$(wc -c < rest)" = $((17000000 - 16777216)) &&
	rm art/runs/$id/big.txt
'

test_expect_success 'a bisection: culprit, commits, steps, log excerpts' '
	api "/api/v1/bisections?plan=demo&stage=two" > bl.json &&
	jq -e ".bisections | length >= 1" bl.json &&
	api "/api/v1/bisections?state=found" > bf.json &&
	jq -e "(.bisections | length) >= 1 and
		(.bisections | map(.state == \"found\") | all)" bf.json &&
	api "/api/v1/bisections?state=canceled" > bc.json &&
	jq -e ".bisections | map(.state == \"canceled\") | all" bc.json &&
	bid=$(jq ".bisections[0].id" bl.json) &&
	api /api/v1/bisections/$bid > b.json &&
	test "$(api_code)" = 200 &&
	jq -e ".state == \"found\" and .plan == \"demo\" and .stage == \"two\" and
		.tests == [\"hmm-tests/hmm.hmm_device_private.migrate\"]" b.json &&
	jq -e ".culprit.subject == \"mm: two b breaks migrate\" and .culprit.stage == \"two\"" b.json &&
	jq -e ".culprit.commit == \"$(git -C repo rev-parse s2)\"" b.json &&
	jq -e "(.commits | length) >= 2 and (.steps | length) >= 2" b.json &&
	jq -e ".steps[0] | has(\"run_id\") and has(\"phase\") and has(\"verdict\") and has(\"run_state\")" b.json &&
	jq -e ".excerpts.culprit.text | test(\"not ok .*migrate\")" b.json &&
	jq -e ".excerpts.parent.text | test(\"ok .*migrate\")" b.json &&
	jq -e ".excerpts.culprit.log | test(\"^/api/v1/runs/[0-9]+/steps/1/log$\")" b.json &&
	jq -e "(.excerpts.culprit.text | length) <= 8192" b.json
'

test_expect_success 'metrics in the Prometheus text format' '
	api /metrics > metrics &&
	test "$(api_code)" = 200 &&
	grep "^kstage_queue_length 0$" metrics &&
	grep "^kstage_runs{state=\"done\"} [1-9]" metrics &&
	grep "^kstage_step_duration_seconds_sum{step=\"boot\"} " metrics &&
	grep "^kstage_step_duration_seconds_count{step=\"build\"} [1-9]" metrics &&
	grep "^kstage_bisections{state=\"found\"} 1$" metrics &&
	grep "^kstage_stages{verdict=\"red\"} 1$" metrics &&
	grep "^kstage_http_requests_total{code=\"200\"} [1-9]" metrics &&
	grep "^kstage_http_requests_total{code=\"404\"} [1-9]" metrics &&
	grep "^kstage_events_total [1-9]" metrics &&
	grep "^# TYPE kstage_runs gauge" metrics
'

test_expect_success 'the plain HTML view works without JavaScript' '
	api /plain > plain.html &&
	test "$(api_code)" = 200 &&
	grep "<h2>plan demo</h2>" plain.html &&
	grep "href=\"/plain/plans/demo/stages/two\"" plain.html &&
	grep "class=\"red\">red<" plain.html &&
	! grep -i "<script" plain.html &&
	api /plain/plans/demo/stages/two > stage.html &&
	grep "regression" stage.html &&
	grep "hmm.hmm_device_private.migrate" stage.html &&
	grep "href=\"/api/v1/runs/[0-9]*/steps/1/log\"" stage.html
'

test_expect_success 'the dashboard files, with their content types' '
	api / -D hdr > got && test_cmp web/index.html got &&
	grep -i "^Content-Type: text/html" hdr &&
	api /static/style.css -D hdr > got && test_cmp web/style.css got &&
	grep -i "^Content-Type: text/css" hdr &&
	api /static/app.js -D hdr > /dev/null &&
	grep -i "^Content-Type: text/javascript" hdr &&
	api /static/css/x.css > got && test_cmp web/css/x.css got &&
	expect_code 404 /static/nope.js &&
	curl -sS -I "$(cat url)/static/style.css" > head &&
	grep "200 OK" head
'

test_expect_success 'keep-alive: one connection serves several requests' '
	url=$(cat url) &&
	curl -sv "$url/api/v1/plans" -o /dev/null "$url/api/v1/runs" -o /dev/null 2> v &&
	grep "Re-using existing connection" v
'

test_expect_success 'SIGTERM stops the daemon; no kstage process is left' '
	stop_daemon &&
	! pgrep -f -- "$TRASH/kstage.json"
'

test_done
