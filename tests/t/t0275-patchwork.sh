#!/bin/sh
# Patchwork checks: a series from mail whose second patch breaks a test
# gets a check on each patch (found by its Message-ID) from a stand-in of
# Patchwork's REST API (tests/t/patchwork-stub.py: no Patchwork server is
# packaged).  Red at the head, then the bisection's answer per patch; a
# v2 that fixes it turns every check green.  Then the bad targets: a
# Patchwork that answers 500 forever (given up, recorded), a webhook to a
# closed port and one to a server too slow for notify_timeout.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"

. "$SRC/tests/t/lib-notify.sh"
notify_python json

# start_stub NAME MODE: a Patchwork stand-in, its port in NAME.port.
start_stub() {
	start_receiver "$1" "$1.port" "$PY" "$SRC/tests/t/patchwork-stub.py" \
		"$TRASH/known" "$TRASH/pw.token" "$TRASH/$1.log" "$TRASH/$1.port" "$2"
}

# mk_series VERSION OUTCOME: three patches on s1, the second sets the
# migrate test to OUTCOME; the mails into VERSION.mbox, their
# Message-IDs appended to known (Patchwork has read them).
mk_series() {
	git -C work checkout -q -B "series-$1" s1 &&
	fake_commit work "mm: add a.c" mm/a.c "int a; /* $1 */" &&
	set_test work hmm-tests hmm.hmm_device_private.migrate "$2" \
		"hmm-tests.c:1017:migrate:Expected ret (-22) == 0 (0)" &&
	fake_commit work "mm: rework migrate" mm/b.c "int b;" &&
	fake_commit work "mm: use a and b" Makefile "obj-y += memremap.o a.o b.o" &&
	git -C work format-patch -q --stdout --thread --subject-prefix="PATCH $1" \
		s1..HEAD > "$1.mbox" &&
	sed -n "s/^Message-I[dD]: <\(.*\)>$/\1/p" "$1.mbox" >> known
}

# head_judged VERDICT: stage two is VERDICT at the newest series' head.
head_judged() {
	wait_for 60 "SELECT s.verdict = \"$1\" AND r.commit_id = (SELECT head FROM series
		ORDER BY id DESC LIMIT 1) FROM stages s JOIN runs r ON r.id = s.run_id
		WHERE s.name = \"two\""
}

# last_checks LOG: "number state" of the newest check posted on each patch
# of the series whose Message-IDs are in FILE, in patch order.
last_checks() {
	jq -r -s --rawfile ids "$2" '
		($ids | split("\n") | map(select(. != ""))) as $m |
		[.[] | select(.method == "POST" and .code == 201)] as $c |
		$m | to_entries | map(.key as $k | .value as $id |
			($c | map(select(.msgid == $id)) | last) as $l |
			"\($k + 1) \($l.state // "none")") | .[]' "$1"
}

test_expect_success 'setup: a stage of three patches from mail, Patchwork knows them' '
	fake_repo work &&
	git -C work checkout -q -b s1 &&
	fake_commit work "mm: stage one" mm/one.c "int one;" &&
	git clone -q --bare work repo.git &&
	mk_series v1 fail &&
	sed -n "s/^Message-I[dD]: <\(.*\)>$/\1/p" v1.mbox > v1.ids &&
	test "$(wc -l < v1.ids)" = 3 &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo.git" "$TRASH/profile.json" one:s1 two:s2 &&
	printf "pw-s3cret-token\n" > pw.token &&
	start_stub pw late &&
	write_config "\"notify_tries\": 8, \"notify_backoff\": 1,
		\"public_url\": \"https://kstage.example.org\",
		\"patchwork\": {\"url\": \"http://127.0.0.1:$(cat pw.port)/\",
			\"token_file\": \"pw.token\", \"project\": \"linux-mm\"}" &&
	"$KSTAGE" check -c kstage.json &&
	"$KSTAGE" token create t -c kstage.json > token 2> /dev/null &&
	"$KSTAGE" series apply -c kstage.json --plan demo --stage two v1.mbox > out
'

test_expect_success 'a bad patchwork config is refused with file, line and field' '
	cat > bad.json <<-\EOF &&
	{ "db": "k.db", "patchwork": {"url": "http://pw.example.org"} }
	EOF
	test_exit 2 "$KSTAGE" check -c bad.json 2> err &&
	test_grep "bad.json:1:[0-9]+: patchwork: expected \"token_file\"" err &&
	cat > bad.json <<-\EOF &&
	{ "db": "k.db", "patchwork": {"url": "http://pw.example.org", "token_file": "pw.token",
	  "context": "kstage fake"} }
	EOF
	test_exit 2 "$KSTAGE" check -c bad.json 2> err &&
	test_grep "patchwork\.context: \"kstage fake\": a check context is a slug" err &&
	cat > bad.json <<-\EOF &&
	{ "db": "k.db", "patchwork": {"url": "http://pw.example.org", "token_file": "pw.token",
	  "project": "a&b=c"} }
	EOF
	test_exit 2 "$KSTAGE" check -c bad.json 2> err &&
	test_grep "patchwork\.project: \"a&b=c\": expected a project" err &&
	cat > bad.json <<-\EOF &&
	{ "db": "k.db", "patchwork": {"url": "file:///etc", "token_file": "pw.token"} }
	EOF
	test_exit 2 "$KSTAGE" check -c bad.json 2> err &&
	test_grep "patchwork\.url: \"file:///etc\": expected a URL" err &&
	cat > bad.json <<-\EOF &&
	{ "db": "k.db", "patchwork": {"url": "http://pw.example.org", "token_file": "nope"} }
	EOF
	test_exit 2 "$KSTAGE" check -c bad.json 2> err &&
	test_grep "patchwork\.token_file: cannot read" err
'

test_expect_success 'red, then bisected: each patch gets the check it deserves' '
	start_daemon &&
	wait_for 60 "SELECT count(*) = 1 FROM bisections WHERE state = \"found\"" &&
	wait_idle 60 &&
	test "$(bisect_field state)" = found &&
	culprit=$(bisect_field culprit) &&
	test "$(sql k.db "SELECT number FROM series_patches WHERE commit_id = \"$culprit\"")" = 2 &&
	wait_for 30 "SELECT count(*) = 0 FROM outbox WHERE state = \"pending\"" &&
	last_checks pw.log v1.ids > got &&
	printf "1 success\n2 fail\n3 warning\n" > expect && test_cmp expect got &&
	# The red head was checked first: its last patch failed, the others
	# wait for the bisection (sent, or superseded before a retry).
	sql k.db "SELECT payload FROM outbox WHERE channel = \"patchwork\" AND
		kind = \"stage-verdict\" ORDER BY id" > red.json &&
	jq -e -s --rawfile ids v1.ids "length == 3 and
		map(.msgid) == (\$ids | split(\"\n\") | map(select(. != \"\"))) and
		map(.state) == [\"pending\", \"pending\", \"fail\"] and
		(.[2].description | contains(\"hmm-tests/hmm.hmm_device_private.migrate\")) and
		.[2].target_url == \"https://kstage.example.org/#/plan/demo/stage/two\"" red.json &&
	jq -e -s --arg m "$(sed -n 2p v1.ids)" "map(select(.method == \"POST\" and
		.code == 201 and .msgid == \$m)) | last |
		(.description | startswith(\"first bad commit: hmm-tests/hmm.hmm_device_private.migrate\")) and
		.target_url == \"https://kstage.example.org/#/bisection/1\"" pw.log &&
	jq -e -s "map(select(.method == \"POST\")) | all(.code == 201 and
		.context == \"kstage-fake\" and .content_type == \"application/json\")" pw.log &&
	# Looked up without angle brackets, in the project; the first look
	# found nothing (Patchwork had not read the mail) and was retried.
	jq -e -s --rawfile ids v1.ids "map(select(.method == \"GET\")) |
		all(.project == \"linux-mm\" and (.msgid | startswith(\"<\") | not)) and
		(map(.msgid) | unique) == (\$ids | split(\"\n\") | map(select(. != \"\")) | sort)" pw.log &&
	sql k.db "SELECT count(*) FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id
		WHERE o.channel = \"patchwork\" AND a.ok = 0 AND a.error LIKE \"%does not know%\"" > n &&
	test "$(cat n)" -ge 3 &&
	test "$(sql k.db "SELECT count(*) FROM outbox WHERE channel = \"patchwork\" AND
		state NOT IN (\"delivered\", \"superseded\")")" = 0
'

test_expect_success 'the outbox API shows each check with its patch' '
	expect_code 200 "/api/v1/outbox?limit=100" &&
	jq -e "[.outbox[] | select(.channel == \"patchwork\")] | length >= 6 and
		all(.topic == .check.msgid and (.check.of == 3) and
			(.check.state | IN(\"pending\", \"success\", \"warning\", \"fail\")))" body &&
	expect_code 200 "/api/v1/outbox?state=superseded"
'

test_expect_success 'v2 fixes the test: every patch of v2 gets success' '
	mk_series v2 pass &&
	sed -n "s/^Message-I[dD]: <\(.*\)>$/\1/p" v2.mbox > v2.ids &&
	api /api/v1/plans/demo/stages/two/series -X POST --data-binary @v2.mbox \
		-H "Authorization: Bearer $(cat token)" -H "Content-Type: application/mbox" > r.json &&
	test "$(cat code)" = 201 &&
	head_judged green &&
	wait_idle 60 &&
	test "$(stage_field two verdict)" = green &&
	wait_for 30 "SELECT count(*) = 0 FROM outbox WHERE state = \"pending\"" &&
	last_checks pw.log v2.ids > got &&
	printf "1 success\n2 success\n3 success\n" > expect && test_cmp expect got &&
	# The v1 patches kept their answers.
	last_checks pw.log v1.ids > got && printf "1 success\n2 fail\n3 warning\n" > expect &&
	test_cmp expect got &&
	stop_daemon
'

test_expect_success 'bad targets: 500 forever, a closed port, a slow server' '
	start_stub pwclosed 500 &&
	start_stub pw500 500 &&
	start_stub pwslow slow &&
	closed=$(cat pwclosed.port) && kill "$(cat pwclosed.pid)" && rm -f pwclosed.pid &&
	write_config "\"notify_tries\": 2, \"notify_backoff\": 1, \"notify_timeout\": 1,
		\"webhooks\": [{\"url\": \"http://127.0.0.1:$closed/closed\", \"events\": [\"run-finished\"]},
			{\"url\": \"http://127.0.0.1:$(cat pwslow.port)/slow\", \"events\": [\"run-finished\"]}],
		\"patchwork\": {\"url\": \"http://127.0.0.1:$(cat pw500.port)\",
			\"token_file\": \"pw.token\"}" &&
	mk_series v3 pass &&
	sed -n "s/^Message-I[dD]: <\(.*\)>$/\1/p" v3.mbox > v3.ids &&
	start_daemon &&
	api /api/v1/plans/demo/stages/two/series -X POST --data-binary @v3.mbox \
		-H "Authorization: Bearer $(cat token)" -H "Content-Type: application/mbox" > r.json &&
	test "$(cat code)" = 201 &&
	head_judged green &&
	wait_idle 60 &&
	wait_for 40 "SELECT count(*) = 0 FROM outbox WHERE state = \"pending\"" &&
	pw=$(cat pw500.port) &&
	test "$(sql k.db "SELECT count(*) FROM outbox WHERE target LIKE \"%:$pw\" AND
		state = \"failed\" AND tries = 2")" = 3 &&
	test "$(sql k.db "SELECT count(*) FROM outbox_attempts a JOIN outbox o ON
		o.id = a.outbox_id WHERE o.target LIKE \"%:$pw\" AND a.code = 500 AND
		a.error LIKE \"looking the patch up: HTTP 500%\"")" = 6 &&
	sql k.db "SELECT DISTINCT a.error FROM outbox_attempts a JOIN outbox o ON
		o.id = a.outbox_id WHERE o.target LIKE \"%/closed\"" > closed.err &&
	test_grep "(Failed to connect|Couldn.t connect)" closed.err &&
	test "$(sql k.db "SELECT count(*) FROM outbox WHERE target LIKE \"%/closed\" AND state != \"failed\"")" = 0 &&
	sql k.db "SELECT DISTINCT a.error FROM outbox_attempts a JOIN outbox o ON
		o.id = a.outbox_id WHERE o.target LIKE \"%/slow\"" > slow.err &&
	test_grep "timed out" slow.err &&
	test "$(sql k.db "SELECT count(*) FROM outbox WHERE target LIKE \"%/slow\" AND state != \"failed\"")" = 0 &&
	grep -q "giving up" serve.err &&
	! grep -q "pw-s3cret-token" serve.err &&
	stop_daemon
'

test_expect_success 'stop the stand-ins' '
	stop_receivers
'

test_done
