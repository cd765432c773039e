#!/bin/sh
# Notifications: the outbox, signed webhooks and report mails, with real
# receivers on loopback (a python3 http.server that checks the signature
# and fails twice before it accepts, and aiosmtpd storing mail in a
# maildir).  A regression from a mailed series is bisected; the daemon is
# killed (-9) while the SMTP server is down, then restarted: everything is
# delivered, once.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"

. "$SRC/tests/t/lib-notify.sh"
notify_python aiosmtpd

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_smtp() {
	"$PY" -m aiosmtpd -n -l "127.0.0.1:$(cat "$TRASH/smtp.port")" \
		-c aiosmtpd.handlers.Mailbox "$TRASH/maildir" \
		> "$TRASH/smtp.log" 2>&1 &
	echo $! > "$TRASH/smtp.pid"
	i=0
	while ! "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $(cat "$TRASH/smtp.port")), 1)" 2> /dev/null; do
		i=$((i + 1)); [ $i -lt 100 ] || return 1; sleep 0.1
	done
}

# The webhook receiver: refuses each delivery twice (500), then takes it.
start_hook() {
	start_receiver hook hook.port "$PY" "$SRC/tests/t/webhook-receiver.py" \
		"$TRASH/hook.secret" "$TRASH/hook.log" "$TRASH/hook.port" 2
}

mails() { find "$TRASH/maildir/new" -type f 2> /dev/null | sort; }

test_expect_success 'setup: a series from mail whose second patch breaks a test' '
	fake_repo work &&
	git -C work checkout -q -b s1 &&
	fake_commit work "mm: stage one" mm/one.c "int one;" &&
	git clone -q --bare work repo.git &&
	git -C work checkout -q -b topic &&
	fake_commit work "mm: two a" mm/b.c "int b;" &&
	set_test work hmm-tests hmm.hmm_device_private.migrate fail \
		"hmm-tests.c:1017:migrate:Expected ret (-22) == 0 (0)" &&
	GIT_AUTHOR_NAME="Zoë Müller" GIT_AUTHOR_EMAIL=zoe@example.org \
		fake_commit work "mm: two b breaks migrate" &&
	git -C work format-patch -q --stdout --thread s1..topic > series.mbox &&
	grep -ci "^Message-Id: <" series.mbox > n && test "$(cat n)" = 2 &&
	# The culprit'"'"'s subject, once decoded, holds CR LF and a header.
	evil=$(printf "mm: two b breaks migrate\r\nBcc: victim@example.org" | base64 -w0) &&
	sed -i "s/^Subject: \[PATCH 2\/2\] mm: two b breaks migrate$/Subject: [PATCH 2\/2] =?UTF-8?B?$evil?=/" series.mbox &&
	grep -q "^Subject: \[PATCH 2/2\] =?UTF-8?B?" series.mbox &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo.git" "$TRASH/profile.json" one:s1 two:s2 &&
	printf "s3cret\n" > hook.secret &&
	free_port > smtp.port &&
	start_hook &&
	write_config "\"notify_tries\": 8, \"notify_backoff\": 1,
		\"public_url\": \"https://kstage.example.org\",
		\"webhooks\": [{\"url\": \"http://127.0.0.1:$(cat hook.port)/hook\",
			\"secret_file\": \"hook.secret\",
			\"events\": [\"stage-verdict\", \"regression\", \"bisection-found\"]}],
		\"mail\": {\"url\": \"smtp://127.0.0.1:$(cat smtp.port)\",
			\"from\": \"kstage@example.org\", \"to\": [\"mm@example.org\"]}" &&
	"$KSTAGE" check -c kstage.json &&
	"$KSTAGE" series apply -c kstage.json --plan demo --stage two series.mbox > out &&
	test "$(sql k.db "SELECT count(*) FROM series_patches WHERE message_id IS NOT NULL")" = 2
'

test_expect_success 'a bad notification config is refused with file, line and field' '
	cat > bad.json <<-\EOF &&
	{ "db": "k.db", "webhooks": [{"url": "ftp://x", "events": ["stage-verdict"]}] }
	EOF
	test_exit 2 "$KSTAGE" check -c bad.json 2> err &&
	test_grep "bad.json:1:[0-9]+: webhooks\[0\]\.url: \"ftp://x\": expected a URL" err &&
	cat > bad.json <<-\EOF &&
	{ "db": "k.db", "mail": {"url": "smtp://h", "from": "a@b", "to": ["x@y"], "events": ["nope"]} }
	EOF
	test_exit 2 "$KSTAGE" check -c bad.json 2> err &&
	test_grep "mail\.events\[0\]: \"nope\" is not a notification kind" err &&
	cat > bad.json <<-\EOF &&
	{ "db": "k.db", "mail": {"url": "smtp://h", "from": "a@b", "to": ["x@y>\r\nBcc: z@w"]} }
	EOF
	test_exit 2 "$KSTAGE" check -c bad.json 2> err &&
	test_grep "mail\.to\[0\]: not a mail address \(a control character" err
'

test_expect_success 'with the SMTP server down: the regression is bisected, the mail waits' '
	start_daemon &&
	wait_idle 60 &&
	test "$(sql k.db "SELECT state FROM bisections")" = found &&
	wait_for 20 "SELECT count(*) >= 1 FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id WHERE o.channel = \"mail\"" &&
	test "$(sql k.db "SELECT state || \" \" || (last_error IS NOT NULL) FROM outbox WHERE channel = \"mail\"")" = "pending 1" &&
	test "$(sql k.db "SELECT count(*) FROM outbox WHERE channel = \"mail\"")" = 1 &&
	test "$(sql k.db "SELECT count(*) FROM outbox o JOIN events e ON e.id = o.event_id")" = "$(sql k.db "SELECT count(*) FROM outbox")"
'

test_expect_success 'kill -9, then the SMTP server comes up and the daemon restarts' '
	kill -KILL "$(cat daemon.pid)" && rm -f daemon.pid &&
	sleep 0.2 &&
	start_smtp &&
	start_daemon &&
	wait_for 30 "SELECT count(*) = 0 FROM outbox WHERE state = \"pending\"" &&
	test "$(sql k.db "SELECT count(*) FROM outbox WHERE state = \"failed\"")" = 0 &&
	sleep 2 && mails > list && test "$(wc -l < list)" = 1
'

test_expect_success 'the webhook got each event once, signed, after two refusals' '
	jq -e -s "all(.sig_ok)" hook.log &&
	sql k.db "SELECT id FROM outbox WHERE channel = \"webhook\" ORDER BY id" > rows &&
	test -s rows &&
	jq -r -s "map(select(.code == 200)) | .[].delivery" hook.log | sort -n > got &&
	test_cmp rows got &&
	for id in $(cat rows); do
		# Three calls (500, 500, 200), one body; an attempt in flight
		# at the kill -9 may have reached the receiver unrecorded.
		test "$(jq -s "map(select(.delivery == \"$id\")) | map(.code)" -c hook.log)" = "[500,500,200]" &&
		test "$(jq -r -s "map(select(.delivery == \"$id\")) | map(.body_sha256) | unique | length" hook.log)" = 1 &&
		test "$(sql k.db "SELECT state FROM outbox WHERE id = $id")" = delivered &&
		sql k.db "SELECT group_concat(ok, \"\") FROM (SELECT ok FROM outbox_attempts WHERE outbox_id = $id ORDER BY n)" > oks &&
		grep -Eq "^0{1,2}1$" oks &&
		test "$(sql k.db "SELECT tries = (SELECT count(*) FROM outbox_attempts WHERE outbox_id = $id) FROM outbox WHERE id = $id")" = 1 || return 1
	done &&
	jq -r -s "map(select(.code == 200)) | .[].event" hook.log | sort -u > kinds &&
	printf "bisection-found\nregression\nstage-verdict\n" > expect && test_cmp expect kinds &&
	jq -e -s "map(select(.code == 200 and .event == \"bisection-found\")) | .[0].payload |
		.plan == \"demo\" and .stage == \"two\" and .bisection.state == \"found\" and
		(.bisection.culprit | length) == 40 and
		.bisection.tests == [\"hmm-tests/hmm.hmm_device_private.migrate\"]" hook.log
'

test_expect_success 'the mail: subject, threading, encoded author, the report' '
	m=$(mails) &&
	culprit=$(git -C repo.git rev-parse s2) &&
	idx=$(sql k.db "SELECT idx FROM stages WHERE name = \"two\"") &&
	msgid=$(sql k.db "SELECT message_id FROM series_patches WHERE commit_id = \"$culprit\"") &&
	test -n "$msgid" &&
	"$PY" - "$m" "$msgid" "$idx" "$culprit" <<-\PY
	import email, email.header, sys
	raw = open(sys.argv[1], "rb").read()
	msg = email.message_from_bytes(raw)
	def dec(v):
	    return str(email.header.make_header(email.header.decode_header(v)))
	subj = dec(msg["Subject"])
	want = "[kstage] demo stage %s (two): hmm-tests regression, first bad commit %s \"mm: two b breaks migrate" % (sys.argv[3], sys.argv[4][:8])
	assert subj.startswith(want), (subj, want)
	assert "\r" not in subj and "\n" not in subj, repr(subj)
	# The CR LF in the subject of the culprit made no header of its own.
	assert msg["Bcc"] is None, msg["Bcc"]
	assert not any(l.lower().startswith(b"bcc:") for l in raw.split(b"\n")), "injected"
	mid = sys.argv[2] if sys.argv[2].startswith("<") else "<%s>" % sys.argv[2]
	assert msg["In-Reply-To"] == mid, msg["In-Reply-To"]
	assert mid in msg["References"], msg["References"]
	to = msg["To"]
	assert "=?UTF-8?B?" in to, to
	assert "Zoë Müller <zoe@example.org>" in dec(to), dec(to)
	assert "mm@example.org" in to
	for h in ("X-Kstage-Delivery", "X-Kstage-Event", "Message-ID", "Date"):
	    assert msg[h], h
	assert msg["X-Kstage-Event"] == "bisection-found"
	for line in raw.split(b"\n"):
	    assert len(line) < 998
	head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
	assert all(b < 0x80 for b in head), "8-bit header"
	body = msg.get_payload(decode=True).decode()
	for s in ("hmm-tests/hmm.hmm_device_private.migrate",
	          "hmm-tests.c:1017:migrate:Expected ret (-22) == 0 (0)",
	          "Bisection 1 log", "Console (run", "Reported-by: kstage <kstage@example.org>",
	          "Closes: https://kstage.example.org/api/v1/bisections/1",
	          "https://kstage.example.org/api/v1/bisections/1"):
	    assert s in body, s
	assert sys.argv[4][:12] in body
	PY
'

test_expect_success 'GET /api/v1/outbox lists the deliveries with their attempts' '
	expect_code 200 "/api/v1/outbox?state=delivered" &&
	jq -e ".outbox | length >= 2 and all(.state == \"delivered\") and
		any(.channel == \"mail\") and
		all(.tries == (.attempts | length) and .attempts[-1].ok and
			(.attempts[:-1] | all(.ok | not)) and .delivered_at != null) and
		(map(select(.channel == \"webhook\")) | all(.attempts[0].code == 500 and .attempts[-1].code == 200))" body &&
	# The path of a hook URL may be its secret: the API shows its origin.
	jq -e ".outbox | map(select(.channel == \"webhook\")) | length > 0 and
		all(.target == \"http://127.0.0.1:$(cat hook.port)/...\")" body &&
	expect_code 200 "/api/v1/outbox?state=failed" && jq -e ".outbox == []" body &&
	expect_code 400 "/api/v1/outbox?state=nope"
'

test_expect_success 'a restart sends nothing again' '
	stop_daemon && n=$(wc -l < hook.log) &&
	start_daemon && sleep 2 &&
	test "$(wc -l < hook.log)" = "$n" &&
	mails > list && test "$(wc -l < list)" = 1 &&
	stop_daemon
'

# test_done removes $TRASH, and with it the pid files the EXIT trap reads.
test_expect_success 'stop the receivers' '
	stop_receivers
'

test_done
