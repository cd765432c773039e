#!/bin/sh
# Notifications of an inconclusive bisection, over the hard paths: mail
# through an SMTP server that requires STARTTLS and AUTH (a self-signed
# certificate given as ca_file), a wrong password first (refused, then
# fixed in its file), and a kill -9 of the daemon after the server took
# the message but before it answered: the mail is sent again after the
# restart, the same message (at least once, deduped by its ids).  The webhook and the
# Patchwork checks of the same bisection.
. "$(dirname "$0")/test-lib.sh"
. "$SRC/tests/t/lib-api.sh"

. "$SRC/tests/t/lib-notify.sh"
notify_python aiosmtpd
command -v openssl > /dev/null || { echo "1..0 # SKIP openssl is not installed"; exit 0; }

# wait_until SECONDS COMMAND...: until COMMAND succeeds.
wait_until() {
	n=$(($1 * 10 * TIME_FACTOR))
	shift
	i=0
	until "$@"; do
		i=$((i + 1)); [ $i -lt $n ] || { echo "timed out: $*"; return 1; }
		sleep 0.1
	done
}

patch_commit() {	# N: the commit patch N of the series became
	sql "$TRASH/k.db" "SELECT commit_id FROM series_patches WHERE number = $1"
}

sql_is() {	# SQL VALUE
	test "$(sql "$TRASH/k.db" "$1" 2> /dev/null)" = "$2"
}

smtp_logged() {	# JQ: some line of the SMTP log matches
	[ -f "$TRASH/smtp/log" ] && jq -e -s "any($1)" "$TRASH/smtp/log" > /dev/null
}

test_expect_success 'setup: five patches by mail, the second does not build, the third breaks a test' '
	fake_repo work &&
	git -C work checkout -q -b s1 &&
	fake_commit work "mm: stage one" mm/one.c "int one;" &&
	git clone -q --bare work repo.git &&
	git -C work checkout -q -b topic &&
	fake_commit work "mm: c1" mm/c1.c "int c1;" &&
	fake_commit work "mm: c2 does not build" BUILD_ERROR "mm/c2.c:1:1: error: oops" &&
	set_test work hmm-tests hmm.hmm_device_private.migrate fail \
		"hmm-tests.c:1017:migrate:Expected ret (-22) == 0 (0)" &&
	fake_commit work "lib/test_hmm: c3 breaks migrate, fixes the build" BUILD_ERROR - &&
	fake_commit work "mm: c4" mm/c4.c "int c4;" &&
	fake_commit work "mm: c5" mm/c5.c "int c5;" &&
	git -C work format-patch -q --stdout --thread s1..topic > series.mbox &&
	sed -n "s/^Message-I[dD]: <\(.*\)>$/\1/p" series.mbox > known &&
	test "$(wc -l < known)" = 5 &&
	write_profile profile.json &&
	write_plan plan.json "$TRASH/repo.git" "$TRASH/profile.json" one:s1 two:s2 &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
		-subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" 2> /dev/null &&
	printf "right horse battery\n" > smtp.password &&
	printf "wrong\n" > daemon.password &&
	printf "s3cret\n" > hook.secret && printf "pw-token\n" > pw.token &&
	start_receiver smtp smtp/port "$PY" "$SRC/tests/t/smtp-server.py" smtp cert.pem \
		key.pem smtp.password 1 &&
	start_receiver hook hook.port "$PY" "$SRC/tests/t/webhook-receiver.py" hook.secret \
		hook.log hook.port 0 &&
	start_receiver pw pw.port "$PY" "$SRC/tests/t/patchwork-stub.py" known pw.token \
		pw.log pw.port ok &&
	write_config "\"notify_tries\": 10, \"notify_backoff\": 1,
		\"public_url\": \"https://kstage.example.org\",
		\"webhooks\": [{\"url\": \"http://127.0.0.1:$(cat hook.port)/hook\",
			\"secret_file\": \"hook.secret\", \"events\": [\"bisection-inconclusive\"]}],
		\"mail\": {\"url\": \"smtp://127.0.0.1:$(cat smtp/port)\", \"starttls\": true,
			\"ca_file\": \"cert.pem\", \"username\": \"kstage\",
			\"password_file\": \"daemon.password\",
			\"from\": \"kstage@example.org\", \"to\": [\"mm@example.org\"]},
		\"patchwork\": {\"url\": \"http://127.0.0.1:$(cat pw.port)\",
			\"token_file\": \"pw.token\"}" &&
	"$KSTAGE" check -c kstage.json &&
	"$KSTAGE" series apply -c kstage.json --plan demo --stage two series.mbox > out
'

test_expect_success 'the bisection ends with an honest range; the wrong password is refused' '
	start_daemon &&
	wait_for 60 "SELECT count(*) = 1 FROM bisections WHERE state = \"inconclusive\"" &&
	wait_idle 60 &&
	test "$(bisect_field state)" = inconclusive &&
	test "$(bisect_field range_good)" = "$(patch_commit 1)" &&
	test "$(bisect_field range_bad)" = "$(patch_commit 3)" &&
	wait_until 20 sql_is "SELECT count(*) >= 1 FROM outbox_attempts a JOIN outbox o ON
		o.id = a.outbox_id WHERE o.channel = \"mail\"" 1 &&
	test "$(sql k.db "SELECT state FROM outbox WHERE channel = \"mail\"")" = pending &&
	sql k.db "SELECT a.code || \" \" || a.error FROM outbox_attempts a JOIN outbox o ON
		o.id = a.outbox_id WHERE o.channel = \"mail\" ORDER BY a.n LIMIT 1" > err1 &&
	test_grep "^535 " err1 &&
	smtp_logged ".ev == \"auth\" and .ok == false and .tls == true" &&
	! smtp_logged ".ev == \"data\"" &&
	! grep -q "wrong" serve.err
'

test_expect_success 'the password is fixed; kill -9 after the server took the mail, before its answer' '
	cp smtp.password daemon.password &&
	wait_until 30 smtp_logged ".ev == \"stored\"" &&
	kill -KILL "$(cat daemon.pid)" && rm -f daemon.pid &&
	test "$(sql k.db "SELECT state FROM outbox WHERE channel = \"mail\"")" = pending &&
	test -f smtp/1.eml &&
	start_daemon &&
	wait_until 30 sql_is "SELECT state FROM outbox WHERE channel = \"mail\"" delivered &&
	stop_daemon &&
	test -f smtp/2.eml && test ! -f smtp/3.eml
'

test_expect_success 'the same message twice: one delivery id, one Message-ID, over STARTTLS with AUTH' '
	"$PY" - smtp/1.eml smtp/2.eml "$(patch_commit 1)" "$(patch_commit 3)" <<-\PY &&
	import email, sys
	a, b = (email.message_from_bytes(open(p, "rb").read()) for p in sys.argv[1:3])
	good, bad = sys.argv[3], sys.argv[4]
	for h in ("X-Kstage-Delivery", "Message-ID", "Subject", "Date"):
	    assert a[h] and a[h] == b[h], (h, a[h], b[h])
	assert a.get_payload() == b.get_payload()
	assert a["X-Kstage-Event"] == "bisection-inconclusive", a["X-Kstage-Event"]
	subj = a["Subject"]
	assert subj.startswith("[kstage] demo stage 2 (two): hmm-tests regression, bisection inconclusive between %s" % good[:8]), subj
	assert bad[:8] in subj, subj
	body = a.get_payload(decode=True).decode()
	for s in ("hmm-tests/hmm.hmm_device_private.migrate", good[:12], bad[:12],
	          "https://kstage.example.org/api/v1/bisections/1"):
	    assert s in body, s
	# It answers the thread of the first bad candidate.
	assert a["In-Reply-To"], "no In-Reply-To"
	PY
	jq -e -s "map(select(.ev == \"data\")) | length == 2 and all(.tls and .authenticated)" smtp/log &&
	jq -e -s "map(select(.ev == \"auth\" and .ok)) | length >= 2 and all(.tls and .login == \"kstage\")" smtp/log &&
	sql k.db "SELECT group_concat(ok, \"\") FROM (SELECT ok FROM outbox_attempts a
		JOIN outbox o ON o.id = a.outbox_id WHERE o.channel = \"mail\" ORDER BY a.n)" > oks &&
	grep -Eq "^0+1$" oks
'

test_expect_success 'the webhook: bisection-inconclusive with its range, signed' '
	jq -e -s "length == 1 and .[0].sig_ok and .[0].code == 200 and
		.[0].event == \"bisection-inconclusive\" and
		.[0].payload.bisection.state == \"inconclusive\" and
		.[0].payload.bisection.range_good == \"$(patch_commit 1)\" and
		.[0].payload.bisection.range_bad == \"$(patch_commit 3)\" and
		(.[0].payload.bisection.detail | contains(\"untestable\"))" hook.log
'

test_expect_success 'Patchwork: good up to the range, the range and after it a warning' '
	jq -r -s --rawfile ids known "
		(\$ids | split(\"\n\") | map(select(. != \"\"))) as \$m |
		[.[] | select(.method == \"POST\" and .code == 201)] as \$c |
		\$m | map(. as \$id | (\$c | map(select(.msgid == \$id)) | last | .state)) |
		join(\" \")" pw.log > got &&
	echo "success warning warning warning warning" > expect && test_cmp expect got &&
	jq -e -s "map(select(.method == \"POST\")) | last |
		(.description | contains(\"one of patches 2..3/5\"))" pw.log
'

test_expect_success 'stop the receivers' '
	stop_receivers
'

test_done
