#!/bin/sh
# Browser tests of the dashboard: a real "kstage serve" on a fake-kernel
# plan (tests/web/lib.sh), driven by headless Chromium (Debian's
# /usr/bin/chromium through playwright-core; no browser is downloaded).
# Prints TAP; exits non-zero when a test failed.  Screenshots go to
# tests/web/out/.
#
#   sh tests/web/run.sh [-v]
#
# Needs: make kstage, and playwright-core in tests/web/node_modules (make deps).
. "$(dirname "$0")/../t/test-lib.sh"
. "$SRC/tests/web/lib.sh"

WEB=$SRC/tests/web
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export WEB_OUT="$WEB/out"

bail() {
	echo "not ok 1 - $1"
	echo "1..1"
	web_stop
	exit 1
}

[ -d "$WEB/node_modules/playwright-core" ] ||
	bail "playwright-core is not installed (make deps, or npm install in tests/web)"
[ -x "$CHROMIUM" ] || bail "no Chromium at $CHROMIUM (apt-get install chromium)"
command -v node > /dev/null || bail "no node (apt-get install nodejs)"

(web_fixture && web_hooks && web_config 2 && web_series) > "$TRASH/setup.out" 2>&1 || {
	sed 's/^/# /' "$TRASH/setup.out"
	bail "setting up the fake-kernel repository and plan"
}
KSTAGE_TOKEN=$("$KSTAGE" token create web -c "$TRASH/kstage.json" 2> "$TRASH/token.err") ||
	bail "kstage token create: $(cat "$TRASH/token.err")"
export KSTAGE_TOKEN TRASH CHROMIUM
web_serve || bail "kstage serve did not start"
trap 'web_stop' EXIT INT TERM

mkdir -p "$WEB_OUT"
timeout 180 node "$WEB/dashboard.test.mjs" > "$TRASH/tap" 2>&1
rc=$?
cat "$TRASH/tap"
if [ $rc -ne 0 ] && ! grep -q '^not ok' "$TRASH/tap"; then
	n=$(grep -c '^ok ' "$TRASH/tap")
	echo "not ok $((n + 1)) - the browser test script stopped (status $rc)"
	echo "1..$((n + 1))"
fi
web_stop
trap - EXIT INT TERM
if [ $rc -ne 0 ]; then
	echo "# daemon log (last lines):"
	tail -n 30 "$TRASH/serve.err" | sed 's/^/#   /'
	echo "# scratch directory kept: $TRASH"
elif [ "${KSTAGE_TEST_KEEP:-0}" != 1 ]; then
	cd / && rm -rf "$TRASH"
fi
exit $rc
