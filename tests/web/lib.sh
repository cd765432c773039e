# tests/web/lib.sh: fake-kernel fixtures and a real "kstage serve" for the
# browser tests and the dashboard benchmark.  Sourced (after
# tests/t/test-lib.sh, which makes $TRASH, cds there and provides
# fake_repo, fake_commit, set_test, write_profile, write_plan).
#
#   web_fixture                  the repository and plan of the browser tests
#   web_config                   $TRASH/kstage.json (data under $TRASH)
#   web_serve                    start the daemon; sets $KSTAGE_URL, $SERVE_PID
#   web_stop                     stop it (only the daemon this started)

# The browser tests' stack (plan "demo"):
#   one    green; a commit whose subject is HTML, a test whose name is HTML,
#          a known failure (the profile's known_failures)
#   two    five commits, the third breaks hmm.hmm_device_private.migrate:
#          red, and the automatic bisection finds commit 3
#   three  green at first; the live test pushes a slow, failing commit
#   four   its branch does not exist (missing) until the hostile names
#          test makes it
# The plan's gate is "auto": "integration" is created at stage one.
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
	write_profile profile.json 60 60 '"known_failures": [ { "test": "hmm-tests/hmm.hmm_device_coherent.exclusive", "reason": "fails with THP=always" } ]' &&
	write_plan plan.json "$TRASH/repo" "$TRASH/profile.json" one:s1 two:s2 three:s3 four:s4 &&
	# The gate moves "integration" by itself: the plan page shows it.
	sed -i 's/"integration": "integration",/"integration": "integration", "gate": "auto",/' plan.json
}

# web_config [SLOTS]: a daemon configuration with every path under $TRASH.
web_config() {
	cat > "$TRASH/kstage.json" <<-EOF
	{
		"db": "$TRASH/k.db",
		"artifacts": "$TRASH/art",
		"work": "$TRASH/work",
		"cache": "$TRASH/cache",
		"web_root": "$SRC/web",
		"slots": ${1:-2},
		"plans": ["$TRASH/plan.json"]
	}
	EOF
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
