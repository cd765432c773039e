# tests/web/lib.sh: fake-kernel fixtures and a real "kstage serve" for the
# browser tests and the dashboard benchmark.  Sourced (after
# tests/t/test-lib.sh, which makes $TRASH, cds there and provides
# fake_repo, fake_commit, set_test, write_profile, write_plan).
#
#   web_fixture                  the repository and plan of the browser tests
#   web_hooks                    start the webhook receiver (before web_config)
#   web_config                   $TRASH/kstage.json (data under $TRASH)
#   web_series                   plan "mail": a series applied from mail
#   web_serve                    start the daemon; sets $KSTAGE_URL, $SERVE_PID
#   web_stop                     stop it and the receiver (only what these started)

# The browser tests' stack (plan "demo"):
#   one    green; a commit whose subject is HTML, a test whose name is HTML,
#          a known failure (the profile's known_failures)
#   two    five commits, the third breaks hmm.hmm_device_private.migrate:
#          red, and the automatic bisection finds commit 3
#   three  green at first; the live test pushes a slow, failing commit
#   four   its branch does not exist (missing) until the hostile names
#          test makes it
# The plan's gate is "auto": "integration" is created at stage one.  Its
# profile builds every commit of a stage too ("each_commit": ["build"]).
#
# And plan "mail" (web_series), in mail.git, a bare clone of the same:
#   hmm    its branch m1 made by "kstage series apply" of a v2 series
#          (git format-patch --cover-letter, two patches) whose title is
#          hostile HTML, with --link; v3.mbox (three patches, a plain
#          title) waits for the live test to post it
# Its remote refuses connections: the plan says it is failing.
WEB_SERIES_TITLE='mm/hmm: build hmm.o and test mremap <img src=x onerror=alert(1)> "quoted" & '"'"'single'"'"
WEB_SERIES_LINK=https://lore.example.org/linux-mm
export WEB_SERIES_TITLE WEB_SERIES_LINK

web_fixture() {
	fake_repo repo &&
	git -C repo checkout -q -b s1 &&
	set_test repo hmm-tests '<img/src=x/onerror=window.__xss=2>' pass &&
	set_test repo hmm-tests hmm.hmm_device_coherent.exclusive fail \
		"hmm-tests.c:2041:exclusive:Expected ret (-16) == 0 (0)" &&
	fake_commit repo 'mm: <img src=x onerror="window.__xss=1"> & <b>not bold</b>' mm/a.c "int a;" &&
	git -C repo checkout -q -b s2 &&
	fake_commit repo "mm: commit 1" mm/f1.c "int f1;" &&
	fake_commit repo "mm: commit 2" mm/f2.c "int f2;" &&
	set_test repo hmm-tests hmm.hmm_device_private.migrate fail \
		"hmm-tests.c:1017:migrate:Expected ret (-22) == 0 (0)" &&
	fake_commit repo "lib/test_hmm: commit 3, the culprit" &&
	fake_commit repo "mm: commit 4" mm/f4.c "int f4;" &&
	fake_commit repo "mm: commit 5" mm/f5.c "int f5;" &&
	git -C repo checkout -q -b s3 &&
	fake_commit repo "mm: three" mm/t.c "int t;" &&
	write_profile profile.json 60 60 '"known_failures": [ { "test": "hmm-tests/hmm.hmm_device_coherent.exclusive", "reason": "fails with THP=always" } ], "each_commit": ["build"]' &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 three:s3 four:s4 &&
	# The gate moves "integration" by itself: the plan page shows it.
	sed -i 's/"integration": "integration",/"integration": "integration", "gate": "auto",/' plan.json
}

# The notifications (after web_hooks; without it, none): a webhook to the
# receiver, which refuses each delivery once with the hostile answer
# WEB_HOOK_ERROR and then takes it (delivered, a failed attempt before);
# one to its /refuse for bisection-found, always refused with that answer
# (failed after notify_tries 2, the answer in its last error); and
# Patchwork checks of plan "mail", whose server is a closed port (failed:
# the connection is refused).
WEB_HOOK_ERROR='<img src=x onerror="window.__xss=3"> & "refused"'
export WEB_HOOK_ERROR

# web_hooks: start tests/t/webhook-receiver.py on a free loopback port
# ($TRASH/hook.port); its pid goes to $TRASH/hook.pid for web_stop.
web_hooks() {
	printf 'hook-secret\n' > "$TRASH/hook.secret" &&
	printf 'pw-token\n' > "$TRASH/pw.token" &&
	rm -f "$TRASH/hook.port" || return 1
	python3 "$SRC/tests/t/webhook-receiver.py" "$TRASH/hook.secret" \
		"$TRASH/hook.log" "$TRASH/hook.port" 1 "$WEB_HOOK_ERROR" \
		< /dev/null > /dev/null 2> "$TRASH/hook.err" &
	echo $! > "$TRASH/hook.pid"
	i=0
	while [ ! -s "$TRASH/hook.port" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] && kill -0 "$(cat "$TRASH/hook.pid")" 2> /dev/null || {
			echo "the webhook receiver did not start:"; cat "$TRASH/hook.err"; return 1; }
		sleep 0.1
	done
}

# web_notify_config: the config's notification part, if web_hooks ran.
web_notify_config() {
	[ -s "$TRASH/hook.port" ] || return 0
	cat <<-EOF
		"notify_tries": 2, "notify_backoff": 1,
		"webhooks": [
			{"url": "http://127.0.0.1:$(cat "$TRASH/hook.port")/hook",
			 "secret_file": "$TRASH/hook.secret",
			 "events": ["stage-verdict", "regression", "bisection-found",
				"bisection-inconclusive"]},
			{"url": "http://127.0.0.1:$(cat "$TRASH/hook.port")/refuse",
			 "events": ["bisection-found"]}
		],
		"patchwork": {"url": "http://127.0.0.1:1/", "token_file": "$TRASH/pw.token"},
	EOF
}

# web_config [SLOTS]: a daemon configuration with every path under $TRASH.
web_config() {
	cat > "$TRASH/kstage.json" <<-EOF
	{
		$(web_notify_config)
		"db": "$TRASH/k.db",
		"artifacts": "$TRASH/art",
		"work": "$TRASH/work",
		"cache": "$TRASH/cache",
		"web_root": "$SRC/web",
		"slots": ${1:-2},
		"plans": ["$TRASH/plan.json", "$TRASH/mail.json"]
	}
	EOF
}

# web_series_mbox VERSION TITLE: the series on branch hmm of mailwork as
# an mbox, $TRASH/VERSION.mbox, its cover letter titled TITLE (as text).
web_series_mbox() {
	git -C mailwork format-patch -q --stdout --cover-letter --thread \
		--subject-prefix="PATCH $1" origin/base..hmm > "$TRASH/$1.mbox+" &&
	awk -v t="$2" '{ i = index($0, "*** SUBJECT HERE ***")
		if (i) $0 = substr($0, 1, i - 1) t substr($0, i + 20)
		print }' "$TRASH/$1.mbox+" > "$TRASH/$1.mbox" &&
	rm -f "$TRASH/$1.mbox+"
}

# web_series: plan "mail" (see above); after web_fixture and web_config.
web_series() {
	git clone -q --bare repo mail.git &&
	git clone -q repo mailwork &&
	git -C mailwork checkout -q -b hmm origin/base &&
	fake_commit mailwork "mm/hmm: build hmm.o" mm/hmm.c "int hmm;" &&
	fake_commit mailwork "selftests/mm: test mremap" tools/mremap.c "int m;" &&
	web_series_mbox v2 "$WEB_SERIES_TITLE" &&
	fake_commit mailwork "selftests/mm: test mremap of device memory" tools/mremap.c "int m, d;" &&
	web_series_mbox v3 "mm/hmm: build hmm.o and test mremap" &&
	cat > mail.json <<-EOF &&
	{ "name": "mail", "repo": "$TRASH/mail.git", "base": "base",
	  "profile": "$TRASH/profile.json",
	  "remote": { "url": "git://127.0.0.1:1/mm.git" },
	  "stages": [ { "name": "hmm", "branch": "m1" } ] }
	EOF
	"$KSTAGE" series apply -c "$TRASH/kstage.json" --plan mail --stage hmm \
		--link "$WEB_SERIES_LINK" "$TRASH/v2.mbox"
}

# web_serve: start "kstage serve" in the background on a free port.
web_serve() {
	"$KSTAGE" serve -c "$TRASH/kstage.json" --listen 127.0.0.1:0 \
		> "$TRASH/serve.out" 2> "$TRASH/serve.err" &
	SERVE_PID=$!
	KSTAGE_URL=
	i=0
	while [ $i -lt 100 ]; do
		KSTAGE_URL=$(sed -n 's|^kstage: serving \(http://[^/ ]*\)/.*|\1|p' "$TRASH/serve.out")
		[ -n "$KSTAGE_URL" ] && break
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	if [ -z "$KSTAGE_URL" ]; then
		echo "# kstage serve did not start:"
		sed 's/^/#   /' "$TRASH/serve.err" | tail -n 20
		return 1
	fi
	export KSTAGE_URL
}

web_stop() {
	# The receiver is no child of this shell (web_hooks ran in a
	# subshell): stop it by its pid, and wait until it is gone.
	if [ -s "$TRASH/hook.pid" ]; then
		hpid=$(cat "$TRASH/hook.pid")
		kill "$hpid" 2> /dev/null
		i=0
		while kill -0 "$hpid" 2> /dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$hpid" 2> /dev/null
		rm -f "$TRASH/hook.pid"
	fi
	if [ -n "${SERVE_PID:-}" ]; then
		kill "$SERVE_PID" 2>/dev/null
		i=0
		while kill -0 "$SERVE_PID" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$SERVE_PID" 2>/dev/null
		wait "$SERVE_PID" 2>/dev/null
		SERVE_PID=
	fi
}
