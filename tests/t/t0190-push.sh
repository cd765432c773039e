#!/bin/sh
# git push into a repository kstage serves (kstage repo init), through
# "git daemon --enable=receive-pack" on loopback: the post-receive hook
# starts the runs at once, the pre-receive hook refuses a push to the
# integration branch that is not tested green, with the reason.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"
trap 'api_cleanup; for f in "$TRASH/gitd.pid" "$TRASH/hook.pid"; do [ -f "$f" ] && kill "$(cat "$f")" 2> /dev/null; done; true' EXIT

push() {	# REFSPEC...: push from src to the served repository
	git -C src push -q "$(cat gitd.url)" "$@"
}

test_expect_success 'setup: a served repository, the daemon, git daemon' '
	fake_repo src &&
	git -C src checkout -q -b s1 &&
	fake_commit src "mm: one" mm/a.c "int a;" &&
	git -C src checkout -q -b s2 &&
	fake_commit src "mm: two" mm/b.c "int b;" &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/served.git" "$TRASH/profile.json" one:s1 two:s2 &&
	printf "gate-secret\n" > hook.secret &&
	{ python3 "$SRC/tests/t/webhook-receiver.py" hook.secret hook.log hook.port 0 \
		2> hook.err & } && echo $! > hook.pid &&
	i=0 && until [ -f hook.port ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done &&
	write_config "\"webhooks\": [{\"url\": \"http://127.0.0.1:$(cat hook.port)/gate\",
		\"secret_file\": \"hook.secret\", \"events\": [\"gate-moved\", \"gate-refused\"]}]" &&
	"$KSTAGE" token create push --scope push -c kstage.json > token 2> /dev/null &&
	"$KSTAGE" token create boss --scope admin -c kstage.json > admin.token 2> /dev/null &&
	"$KSTAGE" token create dev -c kstage.json > write.token 2> /dev/null &&
	"$KSTAGE" token create dash --scope read -c kstage.json > read.token 2> /dev/null &&
	"$KSTAGE" token list -c kstage.json > tokens &&
	test_grep "^push +push " tokens && test_grep "^boss +admin " tokens &&
	test_grep "^dev +write " tokens && test_grep "^dash +read " tokens &&
	start_daemon &&
	"$KSTAGE" repo init served.git --url "$(cat url)" --token "$(cat token)" > init.out &&
	grep "served.git takes pushes" init.out &&
	test -x served.git/hooks/pre-receive &&
	test "$(stat -c %a served.git/kstage-token)" = 600 &&
	! grep "$TRASH" served.git/hooks/post-receive &&
	port=$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])") &&
	git daemon --reuseaddr --listen=127.0.0.1 --port=$port --base-path="$TRASH" \
		--export-all --enable=receive-pack --detach --pid-file="$TRASH/gitd.pid" &&
	echo "git://127.0.0.1:$port/served.git" > gitd.url &&
	i=0 &&
	until git ls-remote "$(cat gitd.url)" > /dev/null 2>&1 || [ $i -ge 50 ]; do
		sleep 0.1; i=$((i + 1)); done
'
DAEMON_PID=$(cat "$TRASH/daemon.pid" 2> /dev/null)

test_expect_success 'a pushed stack is run at once, lowest stage first' '
	date +%s%3N > push.at &&
	push base s1 s2 2> push.err &&
	grep "kstage: 3 refs moved; the daemon looks at them now" push.err &&
	i=0 &&
	while [ $i -lt 50 ] && [ "$(sql k.db "SELECT count(*) FROM runs")" -lt 3 ]; do
		sleep 0.1; i=$((i + 1)); done &&
	test "$(sql k.db "SELECT count(*) FROM runs")" -ge 3 &&
	wait_idle &&
	test "$(stage_field one verdict)" = green &&
	test "$(stage_field two verdict)" = green &&
	test "$(sql k.db "SELECT commit_id FROM runs r JOIN stages s ON s.id = r.stage_id
		WHERE s.name = \"two\" ORDER BY r.id DESC LIMIT 1")" = "$(git -C src rev-parse s2)"
'

test_expect_success 'a tested-green stage head may become integration' '
	push s1:refs/heads/integration &&
	test "$(git -C served.git rev-parse integration)" = "$(git -C src rev-parse s1)" &&
	push s2:refs/heads/integration &&
	test "$(git -C served.git rev-parse integration)" = "$(git -C src rev-parse s2)"
'

test_expect_success 'the gate moves integration in the bare repository, with a reflog' '
	git -C served.git update-ref refs/heads/integration "$(git -C src rev-parse s1)" &&
	api /api/v1/plans/demo/gate -X POST -H "Authorization: Bearer $(cat write.token)" > g.json &&
	test "$(api_code)" = 200 &&
	test "$(git -C served.git rev-parse integration)" = "$(git -C src rev-parse s2)" &&
	git -C served.git reflog show --format=%gs -1 integration > reflog &&
	test_grep "^kstage gate: stage two at [0-9a-f]{12}, tested by runs [0-9]+ [0-9]+ \(by dev\)$" reflog
'

test_expect_success 'an untested commit may not, and the reason says why' '
	git -C src checkout -q -b local s2 &&
	fake_commit src "mm: not pushed as a stage" mm/c.c "int c;" &&
	test_must_fail push local:refs/heads/integration 2> err &&
	test_grep "push to integration refused: $(git -C src rev-parse local | cut -c1-12) is not the head of a stage tested green" err &&
	test_grep "the gate is at stage two" err &&
	test "$(git -C served.git rev-parse integration)" = "$(git -C src rev-parse s2)" &&
	test "$(sql k.db "SELECT action || \"|\" || by FROM gate_decisions ORDER BY id DESC LIMIT 1")" = "refused|push"
'

test_expect_success 'a red stage head may not: its verdict and failing test are named' '
	git -C src checkout -q s2 &&
	set_test src hmm-tests hmm.hmm_device_private.migrate fail &&
	fake_commit src "two: break migrate" &&
	push s2 2> /dev/null &&
	i=0 &&
	while [ $i -lt 100 ] && [ "$(stage_field two verdict)" != red ]; do
		sleep 0.1; i=$((i + 1)); done &&
	test_must_fail push -f s2:refs/heads/integration 2> err &&
	grep "is the head of stage two, which is red: hmm-tests/hmm.hmm_device_private.migrate" err &&
	test "$(git -C served.git rev-parse integration)" = "$(git -C src rev-parse s2~1)"
'

test_expect_success 'scopes: the hooks token may refresh and check, not trigger; read may not write' '
	expect_code 403 /api/v1/plans/demo/stages/one/trigger -X POST \
		-H "Authorization: Bearer $(cat token)" &&
	jq -e ".error | test(\"scope push; this needs write\")" body &&
	expect_code 403 /api/v1/refresh -X POST -H "Authorization: Bearer $(cat read.token)" &&
	expect_code 202 /api/v1/refresh -X POST -H "Authorization: Bearer $(cat token)" &&
	expect_code 200 /api/v1/plans -H "Authorization: Bearer $(cat read.token)" &&
	expect_code 200 /api/v1/plans -H "Authorization: Basic dXNlcjpwYXNz"
'

test_expect_success 'an admin override lets exactly one push of one commit through, recorded' '
	red=$(git -C src rev-parse s2) &&
	body="{\"commit\": \"$red\", \"reason\": \"revert needed upstream today\"}" &&
	expect_code 403 /api/v1/plans/demo/gate/override -X POST --data-binary "$body" \
		-H "Authorization: Bearer $(cat write.token)" -H "Content-Type: application/json" &&
	"$KSTAGE" gate override --url "$(cat url)" --token "$(cat admin.token)" demo "$red" \
		--reason "revert needed upstream today" > ov.out &&
	test_grep "^override [0-9]+: the next push of $(echo "$red" | cut -c1-12) to the integration branch of demo passes the gate" ov.out &&
	push -f s2:refs/heads/integration 2> err &&
	test_grep "allowed by override [0-9]+ of boss: revert needed upstream today \(the gate says: .*red" err &&
	test "$(git -C served.git rev-parse integration)" = "$red" &&
	test "$(sql k.db "SELECT action || \"|\" || by FROM gate_decisions ORDER BY id DESC LIMIT 1")" = "overridden|push" &&
	test "$(sql k.db "SELECT used_by FROM gate_overrides")" = push &&
	git -C served.git update-ref refs/heads/integration "$(git -C src rev-parse s2~1)" &&
	test_must_fail push -f s2:refs/heads/integration 2> err &&
	test_grep "refused" err &&
	test_exit 2 "$KSTAGE" gate override --url "$(cat url)" --token "$(cat admin.token)" demo "$red"
'

test_expect_success 'refnames with .., @{ or spaces: refused, nothing moves, the daemon serves on' '
	runs=$(sql k.db "SELECT count(*) FROM runs") &&
	for ref in "refs/heads/a..b" "refs/heads/x@{1}" "refs/heads/with space" "refs/heads/ctl$(printf "\001")"; do
		test_must_fail push "local:$ref" 2> err || return 1
	done &&
	test "$(git -C served.git for-each-ref --format=x | wc -l)" = "$(git -C served.git for-each-ref --format=x refs/heads/ | wc -l)" &&
	! git -C served.git for-each-ref --format="%(refname)" | grep -E "\.\.|@\{| " &&
	test "$(sql k.db "SELECT count(*) FROM runs")" = "$runs" &&
	expect_code 200 /api/v1/plans
'

test_expect_success 'the integration branch may not be deleted; other refs pass' '
	test_must_fail push :refs/heads/integration 2> err &&
	grep "integration may not be deleted" err &&
	push local:refs/heads/topic &&
	test "$(git -C served.git rev-parse topic)" = "$(git -C src rev-parse local)"
'

test_expect_success 'every gate decision reached the webhook, signed, once' '
	i=0 &&
	while [ $i -lt 100 ] && [ "$(sql k.db "SELECT count(*) FROM outbox WHERE state = \"pending\"")" != 0 ]; do
		sleep 0.1; i=$((i + 1)); done &&
	sql k.db "SELECT action FROM gate_decisions WHERE action IN (\"moved\", \"refused\",
		\"overridden\") ORDER BY id" | sed -e "s/^moved$/gate-moved/" \
		-e "s/^overridden$/gate-moved/" -e "s/^refused$/gate-refused/" > expect &&
	jq -r -s "sort_by(.delivery | tonumber) | .[].event" hook.log > got &&
	test_cmp expect got &&
	test "$(grep -c "^gate-moved$" got)" -ge 2 && test "$(grep -c "^gate-refused$" got)" -ge 3 &&
	jq -e -s "all(.sig_ok and .code == 200) and
		(map(.delivery) | unique | length) == length and
		(map(select(.event == \"gate-refused\")) | .[0].payload.data |
			.action == \"refused\" and .by == \"push\" and
			(.detail | contains(\"is not the head of a stage tested green\"))) and
		(map(select(.payload.data.action == \"overridden\")) | length) == 1 and
		(map(select(.event == \"gate-moved\")) | all(.payload.plan == \"demo\" and
			(.payload.data.commit | length) == 40))" hook.log
'

test_expect_success 'with the daemon down, a push to integration is refused' '
	stop_daemon &&
	test_must_fail push -f s1:refs/heads/integration 2> err &&
	test_grep "cannot ask the daemon about refs/heads/integration; refused" err &&
	push local:refs/heads/topic2 &&
	kill "$(cat hook.pid)" && rm -f hook.pid
'

test_done
