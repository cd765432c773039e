# lib-inbox.sh: a real public-inbox for the tests that fetch mail threads,
# sourced after test-lib.sh.  It makes a V2 inbox under $TRASH, serves it
# with public-inbox-httpd on a free loopback port, and delivers mail into
# it the way a list's MTA would (public-inbox-mda), so what a test fetches
# is exactly what lore.kernel.org would give for the same mails.
#
#   inbox_start NAME    make the inbox NAME and serve it; sets INBOX_URL
#                       (http://127.0.0.1:PORT/NAME), INBOX_PID and
#                       INBOX_ADDRESS.  Call it at the top level of the
#                       script, not in a test body (a body is a subshell:
#                       what it sets is lost when it ends); it returns
#                       non-zero, with the reason on stdout, if the server
#                       does not answer.  One inbox per script.
#   inbox_deliver FILE...
#                       deliver each mail (a file starting with an mbox
#                       "From " line is split with git mailsplit --mboxrd
#                       first, so an mbox of many mails works too), then
#                       index.  Works in test bodies.
#   inbox_stop          stop the server (TERM, then KILL after 5 s).  Also
#                       run on exit, so an early exit leaves nothing behind;
#                       a script with its own EXIT trap calls inbox_cleanup.
#
# Everything public-inbox keeps goes under $TRASH: PI_CONFIG is
# $TRASH/.public-inbox/config and HOME is $TRASH (test-lib.sh), with
# publicinboxmda.spamcheck=none (no spamc here).  Only the server this
# file started is ever signalled, by its pid.
#
# Cost, measured on the development machine (Debian 12, public-inbox
# 1.9.0, three runs): inbox_start 0.6 to 1.2 s (public-inbox-init 0.3 s,
# then the server answers); inbox_deliver of the 6 mails of the hmm v1 and
# v2 series 2.2 to 2.7 s, of 2 more mails 0.8 to 1.5 s (public-inbox-mda
# is about 0.3 s a mail, public-inbox-index after them 0.3 s).  So a test
# with one small series thread pays about 3.5 s; all of t0225-inbox.sh
# (start, 9 mails, 10 fetches) takes 5 s.

command -v public-inbox-httpd > /dev/null ||
	{ echo "Bail out! public-inbox is needed (make deps)"; exit 1; }
command -v curl > /dev/null || { echo "Bail out! curl is needed"; exit 1; }

PI_CONFIG=$TRASH/.public-inbox/config
export PI_CONFIG
INBOX_URL=
INBOX_PID=
INBOX_ADDRESS=
INBOX_DIR=

# A loopback port free right now (the server may still lose it to a race:
# inbox_start then tries another).
inbox_free_port() {
	perl -MIO::Socket::INET -e \
		'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0",
			ReuseAddr => 1)->sockport, "\n"'
}

inbox_start() {
	name=$1
	INBOX_DIR=$TRASH/inbox/$name
	INBOX_ADDRESS=$name@lists.example.org
	mkdir -p "$(dirname "$PI_CONFIG")" "$TRASH/inbox" &&
	git config -f "$PI_CONFIG" publicinboxmda.spamcheck none &&
	public-inbox-init -V2 "$name" "$INBOX_DIR" "http://127.0.0.1/$name" \
		"$INBOX_ADDRESS" > "$TRASH/inbox/init.out" 2>&1 || {
		echo "# public-inbox-init failed:"; sed 's/^/#   /' "$TRASH/inbox/init.out"
		return 1
	}
	tries=0
	while [ $tries -lt 3 ]; do
		tries=$((tries + 1))
		port=$(inbox_free_port) || return 1
		# -W0: one process, no master and workers, so that one pid is
		# all there is to stop.
		public-inbox-httpd -W0 -l "http://127.0.0.1:$port" \
			> "$TRASH/inbox/httpd.out" 2> "$TRASH/inbox/httpd.err" &
		INBOX_PID=$!
		echo "$INBOX_PID" > "$TRASH/inbox/httpd.pid"
		i=0
		while [ $i -lt 200 ] && kill -0 "$INBOX_PID" 2> /dev/null; do
			# Any status will do (an empty inbox is a 404).
			code=$(curl -s -o /dev/null -w '%{http_code}' \
				"http://127.0.0.1:$port/$name/" 2> /dev/null) || code=000
			if [ "$code" != 000 ]; then
				INBOX_URL=http://127.0.0.1:$port/$name
				return 0
			fi
			sleep 0.05
			i=$((i + 1))
		done
		# Died (most likely the port was taken meanwhile) or never
		# answered: stop it and try another port.
		inbox_stop
	done
	echo "# public-inbox-httpd did not answer:"
	sed 's/^/#   /' "$TRASH/inbox/httpd.err" | tail -n 20
	return 1
}

inbox_deliver() {
	[ -n "${INBOX_ADDRESS:-}" ] || { echo "inbox_deliver: no inbox_start"; return 1; }
	for f in "$@"; do
		if head -n 1 "$f" | grep -q '^From '; then
			split=$(mktemp -d "$TRASH/inbox/split.XXXXXX")
			git mailsplit --mboxrd -o"$split" "$f" > /dev/null || return 1
			for m in "$split"/*; do
				ORIGINAL_RECIPIENT=$INBOX_ADDRESS \
					public-inbox-mda --no-precheck < "$m" || {
					echo "public-inbox-mda refused $m (from $f)"; return 1; }
			done
			rm -rf "$split"
		else
			ORIGINAL_RECIPIENT=$INBOX_ADDRESS \
				public-inbox-mda --no-precheck < "$f" || {
				echo "public-inbox-mda refused $f"; return 1; }
		fi
	done
	public-inbox-index "$INBOX_DIR"
}

inbox_stop() {
	pid=${INBOX_PID:-}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2> /dev/null || true
	i=0
	while kill -0 "$pid" 2> /dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$pid" 2> /dev/null || true
	wait "$pid" 2> /dev/null || true
	INBOX_PID=
	rm -f "$TRASH/inbox/httpd.pid"
}

inbox_cleanup() {
	inbox_stop
	return 0
}

trap 'inbox_cleanup' EXIT
