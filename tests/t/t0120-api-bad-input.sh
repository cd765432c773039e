#!/bin/sh
# Bad input to the HTTP API: every case gets the right 4xx, a JSON error
# that says what is wrong, and changes nothing.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap api_cleanup EXIT

test_expect_success 'setup: two stages, a live and a revoked token, the daemon' '
	two_stage_setup &&
	"$KSTAGE" token create ci -c kstage.json > token 2> /dev/null &&
	"$KSTAGE" token create old -c kstage.json > old-token 2> /dev/null &&
	"$KSTAGE" token revoke old -c kstage.json &&
	echo "top secret" > secret.txt &&
	mkdir -p web &&
	echo "body{}" > web/style.css &&
	ln -s ../secret.txt web/leak.css &&
	start_daemon &&
	wait_idle &&
	state_snapshot > before
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'malformed JSON bodies: 400 with line and column' '
	post /api/v1/bisections "{\"plan\": \"demo\"," > /dev/null &&
	test "$(api_code)" = 400 &&
	jq -e ".error | test(\"invalid JSON at line 1, column [0-9]+\")" body &&
	post /api/v1/bisections "[\"demo\", \"two\"]" > /dev/null &&
	test "$(api_code)" = 400 && jq -e ".error | test(\"JSON object\")" body &&
	post /api/v1/bisections "\"demo\"" > /dev/null && test "$(api_code)" = 400 &&
	post /api/v1/bisections "{\"plan\": \"demo\", \"plan\": \"demo\", \"stage\": \"two\"}" > /dev/null &&
	test "$(api_code)" = 400 && jq -e ".error | test(\"duplicate\")" body &&
	printf "{\"plan\": \"demo\", \"stage\": \"two\"}\0" > nul.json &&
	api /api/v1/bisections -X POST -H "Authorization: Bearer $(cat token)" \
		-H "Content-Type: application/json" --data-binary @nul.json > /dev/null &&
	test "$(api_code)" = 400 &&
	post /api/v1/plans/demo/stages/two/trigger "{oops}" > /dev/null &&
	test "$(api_code)" = 400
'

test_expect_success 'wrong types: 400 naming the field' '
	post /api/v1/bisections "{\"plan\": 5, \"stage\": \"two\"}" > /dev/null &&
	test "$(api_code)" = 400 && jq -e ".error == \"plan must be a string\"" body &&
	post /api/v1/bisections "{\"plan\": \"demo\", \"stage\": \"two\", \"tests\": \"x\"}" > /dev/null &&
	test "$(api_code)" = 400 && jq -e ".error | test(\"tests must be an array\")" body &&
	post /api/v1/bisections "{\"plan\": \"demo\", \"stage\": \"two\", \"tests\": [1]}" > /dev/null &&
	test "$(api_code)" = 400 && jq -e ".error | test(\"tests\\\\[0\\\\] must be a string\")" body &&
	post /api/v1/bisections "{\"plan\": \"demo\", \"stage\": \"two\", \"tests\": [\"a\nb\"]}" > /dev/null &&
	test "$(api_code)" = 400 &&
	post /api/v1/bisections "{\"plan\": \"demo\"}" > /dev/null &&
	test "$(api_code)" = 400 && jq -e ".error == \"stage is required\"" body &&
	post /api/v1/bisections "{\"plan\": \"de mo\", \"stage\": \"two\"}" > /dev/null &&
	test "$(api_code)" = 400 &&
	post /api/v1/plans/demo/acks "{\"test\": 42, \"reason\": \"x\"}" > /dev/null &&
	test "$(api_code)" = 400 && jq -e ".error == \"test must be a string\"" body &&
	post /api/v1/plans/demo/acks "{\"test\": \"x\", \"reason\": \"\"}" > /dev/null &&
	test "$(api_code)" = 400 &&
	post /api/v1/plans/demo/acks "{\"test\": \"x\", \"reason\": \"y\", \"until\": 7}" > /dev/null &&
	test "$(api_code)" = 400 &&
	post /api/v1/plans/demo/acks "{\"test\": \"x\", \"reason\": \"y\", \"until\": \"nine\"}" > /dev/null &&
	test "$(api_code)" = 400 && jq -e ".error | test(\"until: no stage nine\")" body
'

test_expect_success 'unknown fields: 400' '
	post /api/v1/plans/demo/stages/two/trigger "{\"force\": true}" > /dev/null &&
	test "$(api_code)" = 400 && jq -e ".error == \"unknown field \\\"force\\\"\"" body &&
	post /api/v1/bisections "{\"plan\": \"demo\", \"stage\": \"two\", \"depth\": 3}" > /dev/null &&
	test "$(api_code)" = 400 &&
	post /api/v1/plans/demo/acks "{\"test\": \"x\", \"reason\": \"y\", \"colour\": 1}" > /dev/null &&
	test "$(api_code)" = 400 &&
	post /api/v1/runs/1/cancel "{\"why\": \"x\"}" > /dev/null &&
	test "$(api_code)" = 400
'

test_expect_success 'unknown plans, stages, runs, bisections, acks: 404' '
	expect_code 404 /api/v1/plans/nope &&
	jq -e ".error == \"no such plan: nope\"" body &&
	expect_code 404 /api/v1/plans/demo/stages/nope &&
	expect_code 404 /api/v1/plans/nope/matrix &&
	expect_code 404 /api/v1/runs/999999 &&
	expect_code 404 /api/v1/runs/999999/results &&
	expect_code 404 /api/v1/runs/999999/steps/0/log &&
	expect_code 404 /api/v1/runs/1/steps/7/log &&
	expect_code 404 /api/v1/runs/999999/artifacts &&
	expect_code 404 /api/v1/bisections/999999 &&
	expect_code 404 "/api/v1/runs?plan=nope" &&
	expect_code 404 /api/v1/nothing/here &&
	post /api/v1/plans/nope/stages/two/trigger > /dev/null && test "$(api_code)" = 404 &&
	post /api/v1/plans/demo/stages/nope/trigger > /dev/null && test "$(api_code)" = 404 &&
	post /api/v1/runs/999999/retry > /dev/null && test "$(api_code)" = 404 &&
	post /api/v1/runs/999999/cancel > /dev/null && test "$(api_code)" = 404 &&
	post /api/v1/bisections/999999/cancel > /dev/null && test "$(api_code)" = 404 &&
	post /api/v1/bisections "{\"plan\": \"nope\", \"stage\": \"two\"}" > /dev/null &&
	test "$(api_code)" = 404 &&
	api /api/v1/plans/demo/acks/999 -X DELETE -H "Authorization: Bearer $(cat token)" > /dev/null &&
	test "$(api_code)" = 404
'

test_expect_success 'malformed names and ids in the path or the query: 400' '
	expect_code 400 /api/v1/runs/abc &&
	jq -e ".error | test(\"positive integer\")" body &&
	expect_code 400 /api/v1/runs/0 &&
	expect_code 400 /api/v1/runs/-1 &&
	expect_code 400 /api/v1/runs/007 &&
	expect_code 400 /api/v1/runs/99999999999999999999 &&
	expect_code 400 /api/v1/runs/1/steps/x/log &&
	expect_code 400 "/api/v1/plans/de%20mo" &&
	expect_code 400 "/api/v1/plans/$(printf "%065d" 0)" &&
	expect_code 400 "/api/v1/plans/demo/stages/a%2fb" &&
	expect_code 400 "/api/v1/runs?limit=0" &&
	expect_code 400 "/api/v1/runs?limit=501" &&
	expect_code 400 "/api/v1/runs?limit=ten" &&
	expect_code 400 "/api/v1/runs?state=bogus" &&
	expect_code 400 "/api/v1/bisections?state=bogus" &&
	grep "one of requested, confirming" "$TRASH/body" &&
	expect_code 400 "/api/v1/runs?stage=two" &&
	expect_code 400 /api/v1/plans/demo/history &&
	expect_code 400 "/api/v1/events?since=x" &&
	expect_code 400 "/api/v1/runs/%zz"
'

test_expect_success 'oversized bodies: 413, declared or chunked' '
	head -c 1100000 /dev/zero | tr "\0" " " > big.json &&
	api /api/v1/bisections -X POST -H "Authorization: Bearer $(cat token)" \
		-H "Content-Type: application/json" --data-binary @big.json > /dev/null &&
	test "$(api_code)" = 413 && jq -e ".error | test(\"at most\")" body &&
	api /api/v1/bisections -X POST -H "Authorization: Bearer $(cat token)" \
		-H "Content-Type: application/json" -H "Transfer-Encoding: chunked" \
		--data-binary @big.json > /dev/null &&
	test "$(api_code)" = 413
'

test_expect_success 'a body that is not JSON: 415' '
	api /api/v1/bisections -X POST -H "Authorization: Bearer $(cat token)" \
		-H "Content-Type: text/plain" --data-binary "plan=demo" > /dev/null &&
	test "$(api_code)" = 415
'

test_expect_success 'path traversal in static, log and artifact URLs: 404' '
	id=$(stage_field two run_id) &&
	for p in "/static/../kstage.json" "/static/%2e%2e/kstage.json" \
		"/static/..%2fkstage.json" "/static/%2e%2e%2fkstage.json" \
		"/static/%2E%2E/%2E%2E/etc/passwd" "/static/leak.css" "/static/a%00b" \
		"/static//etc/passwd" "/static/.hidden" \
		"/api/v1/runs/$id/artifacts/../../../secret.txt" \
		"/api/v1/runs/$id/artifacts/%2e%2e/%2e%2e/%2e%2e/secret.txt" \
		"/api/v1/runs/$id/artifacts/..%2f..%2f..%2fsecret.txt" \
		"/api/v1/runs/$id/artifacts/%2fetc%2fpasswd" \
		"/api/v1/runs/$id/artifacts//etc/passwd"; do
		expect_code 404 "$p" || exit 1
		! grep -q "top secret\|root:" body || exit 1
	done &&
	expect_code 200 /static/style.css
'

test_expect_success 'a log path in the database that leaves the artifact root: 404' '
	id=$(stage_field two run_id) &&
	sql k.db "UPDATE steps SET log = \"../secret.txt\" WHERE run_id = $id AND idx = 0" &&
	expect_code 404 /api/v1/runs/$id/steps/0/log &&
	! grep -q "top secret" body &&
	sql k.db "UPDATE steps SET log = \"$TRASH/secret.txt\" WHERE run_id = $id AND idx = 0" &&
	expect_code 404 /api/v1/runs/$id/steps/0/log &&
	! grep -q "top secret" body &&
	sql k.db "UPDATE steps SET log = \"runs/$id/01-build.log\" WHERE run_id = $id AND idx = 0"
'

test_expect_success 'missing, unknown, malformed and revoked tokens' '
	expect_code 401 /api/v1/plans/demo/stages/two/trigger -X POST -D hdr &&
	grep -i "^WWW-Authenticate: Bearer" hdr &&
	jq -e ".error | test(\"token create\")" body &&
	expect_code 401 /api/v1/plans/demo/stages/two/trigger -X POST \
		-H "Authorization: Bearer kst_0000000000000000000000000000000000000000000000000000000000000000" &&
	jq -e ".error == \"unknown token\"" body &&
	expect_code 401 /api/v1/plans/demo/stages/two/trigger -X POST -H "Authorization: Basic Y2k6eA==" &&
	expect_code 401 /api/v1/refresh -X POST -H "Authorization: Bearer" &&
	expect_code 403 /api/v1/plans/demo/stages/two/trigger -X POST \
		-H "Authorization: Bearer $(cat old-token)" &&
	jq -e ".error == \"token old was revoked\"" body &&
	expect_code 403 /api/v1/plans/demo/acks/1 -X DELETE -H "Authorization: Bearer $(cat old-token)"
'

test_expect_success 'a wrong method: 405 with Allow' '
	expect_code 405 /api/v1/plans -X DELETE -D hdr &&
	grep -i "^Allow: GET, HEAD" hdr &&
	expect_code 405 /api/v1/runs/1/cancel -X PUT -D hdr &&
	grep -i "^Allow: POST" hdr &&
	expect_code 405 /api/v1/refresh -D hdr &&
	grep -i "^Allow: POST" hdr &&
	expect_code 405 /api/v1/plans/demo/acks/1 -X POST -H "Authorization: Bearer $(cat token)" -D hdr &&
	grep -i "^Allow: DELETE" hdr &&
	expect_code 405 /api/v1/plans/demo/acks -X PATCH -D hdr &&
	grep -i "^Allow: GET, HEAD, POST" hdr
'

test_expect_success 'requests that conflict with the state: 409' '
	post /api/v1/bisections "{\"plan\": \"demo\", \"stage\": \"base\"}" > /dev/null &&
	test "$(api_code)" = 409 && jq -e ".error | test(\"plan base\")" body &&
	post /api/v1/bisections "{\"plan\": \"demo\", \"stage\": \"one\"}" > /dev/null &&
	test "$(api_code)" = 409 && jq -e ".error | test(\"no regressions\")" body &&
	post /api/v1/runs/1/cancel > /dev/null &&
	test "$(api_code)" = 409 && jq -e ".error == \"run 1 is done, not queued or running\"" body &&
	bid=$(bisect_field id) &&
	post /api/v1/bisections/$bid/cancel > /dev/null &&
	test "$(api_code)" = 409
'

test_expect_success 'without a dashboard in web_root, / is the plain view' '
	expect_code 200 / &&
	grep "<h2>plan demo</h2>" body
'

test_expect_success 'none of it changed anything' '
	state_snapshot > after &&
	test_cmp before after
'

test_expect_success 'read_auth: reads need a token too (files of the dashboard do not)' '
	stop_daemon &&
	write_config "\"read_auth\": true" &&
	start_daemon &&
	expect_code 401 /api/v1/plans &&
	expect_code 401 /metrics &&
	expect_code 401 /plain &&
	expect_code 401 / &&
	expect_code 401 "/api/v1/runs/1/steps/1/log" &&
	expect_code 403 /api/v1/plans -H "Authorization: Bearer $(cat old-token)" &&
	expect_code 200 /api/v1/plans -H "Authorization: Bearer $(cat token)" &&
	expect_code 401 "/api/v1/runs?access_token=$(cat token)" &&
	expect_code 200 /static/style.css &&
	{ api "/api/v1/events?access_token=$(cat token)" --max-time 1 > /dev/null || :; } &&
	test "$(api_code)" = 200 &&
	! grep -r "$(cat token)" serve.err serve.out
'

test_expect_success 'revoking a token ends the event streams opened with it' '
	"$KSTAGE" token create watcher -c kstage.json > watcher 2> /dev/null &&
	{ curl -sN --max-time 20 -o stream.out -w "%{http_code}" \
		"$(cat url)/api/v1/events?access_token=$(cat watcher)" > stream.code & } &&
	cpid=$! &&
	i=0 && until grep -q "retry:" stream.out 2> /dev/null || [ $i -ge 50 ]; do
		sleep 0.1; i=$((i + 1)); done &&
	grep -q "retry:" stream.out &&
	t0=$(date +%s) &&
	"$KSTAGE" token revoke watcher -c kstage.json > /dev/null &&
	{ wait $cpid || :; } &&
	test $(( $(date +%s) - t0 )) -le 3 &&
	test "$(cat stream.code)" = 200
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'SIGTERM stops the daemon; no kstage process is left' '
	stop_daemon &&
	! pgrep -f -- "$TRASH/kstage.json"
'

test_done
