#!/bin/sh
# Benchmark: the dashboard's load time on a big plan, 50 stages x 200
# tests, in headless Chromium against a real "kstage serve".
#
# The data is real: a fake-kernel plan of 50 stages whose tests.txt has
# 200 tests (every 7th stage breaks a test, the next one fixes it), run
# once with "kstage run --once" (no automatic bisection), then served.
# Measured, each in a fresh browser context (cold cache), median of
# $ROUNDS loads:
#   - baseline: a tiny static file from the same server (/static/favicon.svg)
#     to its load event;
#   - the matrix page (#/plan/bench/matrix: pipeline + test x stage
#     matrix) until the app marks itself rendered (window.kstageReadyAt,
#     performance.now() after the DOM of the view is in place);
#   - the plan page (#/plan/bench: pipeline, stage table, runs).
# Prints each and its ratio to the baseline.  Goal: the matrix page in
# under 1500 ms.
#
#   sh bench/dashboard.sh [STAGES [TESTS]]      (default 50 200)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$top/bench/out/dashboard}
stages=${1:-50}
tests=${2:-200}
rounds=${ROUNDS:-7}
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -d "$top/tests/web/node_modules/playwright-core" ] || [ ! -x "$chromium" ]; then
	echo "dashboard: needs playwright-core (make deps) and $chromium"
	exit 1
fi
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@e GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@e
export GIT_CONFIG_NOSYSTEM=1

# tests.txt: $tests tests in suites of 20; "broken" names one that fails.
tests_txt() {	# BROKEN_INDEX (0 = none)
	awk -v n="$tests" -v bad="$1" 'BEGIN {
		for (i = 1; i <= n; i++) {
			s = "suite" int((i - 1) / 20)
			o = (i == bad) ? "fail " s ".c:" 100 + i ":t" i ":Expected 0 == 1" : \
			    (i % 50 == 0) ? "skip no device" : "pass"
			printf "%s t%03d %s\n", s, i, o
		}
	}'
}

git init -q -b base repo
tests_txt 0 > repo/tests.txt
git -C repo add -A && git -C repo commit -q -m base
list=
prev=base
for i in $(seq 1 "$stages"); do
	git -C repo checkout -q -b "s$i" "$prev"
	echo "int s$i;" > "repo/s$i.c"
	if [ $((i % 7)) = 0 ]; then
		tests_txt "$i" > repo/tests.txt
	else
		tests_txt 0 > repo/tests.txt
	fi
	git -C repo add -A && git -C repo commit -q -m "mm: stage $i"
	prev=s$i
	list="$list${list:+,} { \"name\": \"stage$i\", \"branch\": \"s$i\" }"
done
cat > plan.json <<EOF
{ "name": "bench", "repo": "$work/repo", "base": "base",
  "profile": "$top/tests/fake-kernel/profile.json", "stages": [ $list ] }
EOF
cat > kstage.json <<EOF
{ "db": "$work/k.db", "artifacts": "$work/art", "work": "$work/work",
  "cache": "$work/cache", "web_root": "$top/web", "auto_bisect": false,
  "slots": $(nproc 2>/dev/null || echo 2), "plans": ["$work/plan.json"] }
EOF
t0=$(date +%s)
"$top/kstage" -q run --once -c kstage.json > once.out 2> once.err || true
echo "dashboard: $stages stages x $tests tests ran in $(($(date +%s) - t0)) s" \
	"($(sqlite3 k.db 'SELECT count(*) FROM results') results," \
	"$(sqlite3 k.db "SELECT count(*) FROM stages WHERE verdict = 'red'") red stages)"

"$top/kstage" -q serve -c kstage.json --listen 127.0.0.1:0 > serve.out 2> serve.err &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT INT TERM
url=
for _ in $(seq 1 100); do
	url=$(sed -n 's|^kstage: serving \(http://[^/ ]*\)/.*|\1|p' serve.out)
	[ -n "$url" ] && break
	sleep 0.1
done
[ -n "$url" ] || { echo "dashboard: kstage serve did not start"; cat serve.err; exit 1; }

cat > measure.cjs <<'EOF'
// Loads each page ROUNDS times in a fresh context; prints medians.
const { createRequire } = require('node:module');
const req = createRequire(process.env.WEB_DIR + '/package.json');
const { chromium } = req('playwright-core');
const URL = process.env.URL, ROUNDS = Number(process.env.ROUNDS), GOAL = 1500;

function median(a) {
	const s = a.slice().sort((x, y) => x - y);
	return s[Math.floor(s.length / 2)];
}

(async () => {
	const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'] });
	async function load(path, ready) {
		const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
		const page = await ctx.newPage();
		await page.goto(URL + path, { waitUntil: ready ? 'commit' : 'load' });
		let t;
		if (ready) {
			await page.waitForSelector('body[data-ready]', { timeout: 30000 });
			t = await page.evaluate(() => window.kstageReadyAt);
			const err = await page.locator('main .err').count();
			if (err)
				throw new Error(path + ': ' + await page.locator('main .err').innerText());
		} else {
			t = await page.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
		}
		const cells = ready ? await page.evaluate(() =>
			document.querySelectorAll('table.matrix tbody tr').length *
			document.querySelectorAll('table.matrix thead .col').length) : 0;
		await ctx.close();
		return { t, cells };
	}
	const pages = [['baseline', '/static/favicon.svg', false],
		['matrix', '/#/plan/bench/matrix', true],
		['plan', '/#/plan/bench', true]];
	const res = {};
	await load('/static/favicon.svg', false);	/* warm up the browser */
	for (let r = 0; r < ROUNDS; r++) {
		for (const [name, path, ready] of pages) {
			const { t, cells } = await load(path, ready);
			(res[name] = res[name] || []).push(t);
			if (name === 'matrix')
				res.cells = cells;
		}
	}
	await browser.close();
	const base = median(res.baseline);
	console.log(`dashboard: baseline (tiny static file, load event): median ${base.toFixed(1)} ms`);
	for (const name of ['matrix', 'plan']) {
		const m = median(res[name]);
		console.log(`dashboard: ${name === 'matrix' ? 'pipeline + matrix (#/plan/bench/matrix, ' + res.cells + ' cells)' :
			'plan page (#/plan/bench: pipeline, stages, runs)'} rendered: median ${m.toFixed(1)} ms` +
			` (min ${Math.min(...res[name]).toFixed(1)}, max ${Math.max(...res[name]).toFixed(1)}),` +
			` ratio ${(m / base).toFixed(1)}x the baseline`);
	}
	const m = median(res.matrix);
	console.log(`dashboard: goal: matrix page < ${GOAL} ms: ${m < GOAL ? 'met' : 'MISSED'}`);
	process.exit(m < GOAL ? 0 : 1);
})().catch((e) => { console.error('dashboard:', e); process.exit(1); });
EOF
bytes=$(curl -s "$url/api/v1/plans/bench/matrix" | wc -c)
echo "dashboard: matrix JSON $((bytes / 1024)) KiB, plan JSON $(($(curl -s "$url/api/v1/plans/bench" | wc -c) / 1024)) KiB"
URL=$url ROUNDS=$rounds CHROMIUM=$chromium WEB_DIR=$top/tests/web node measure.cjs
