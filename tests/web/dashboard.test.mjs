// Browser tests of the kstage dashboard, against a real "kstage serve" on
// the fake-kernel plan that tests/web/run.sh set up (tests/web/lib.sh):
//
//   one    green; its commit subject and one test name are HTML
//   two    red: commit 3 of 5 breaks hmm.hmm_device_private.migrate,
//          bisected automatically
//   three  green; the live test pushes a slow (SLEEP) failing commit,
//          whose run the log viewer test retries to follow its boot;
//          then tests with hostile names
//   four   missing, until the hostile names test makes it: one of
//          three's hostile tests fails there
//
// and plan "mail" (tests/web/lib.sh, web_series), whose remote refuses
// connections:
//   hmm    made by "kstage series apply" of a v2 series with a hostile
//          title; the series test posts v3, then moves the branch away
//
// Prints TAP.  Environment: KSTAGE_URL, KSTAGE_TOKEN, TRASH, WEB_OUT,
// CHROMIUM.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const URL = process.env.KSTAGE_URL;
const TOKEN = process.env.KSTAGE_TOKEN;
const TRASH = process.env.TRASH;
const OUT = process.env.WEB_OUT;
const REPO = join(TRASH, 'repo');
const MAIL_REPO = join(TRASH, 'mail.git');
const SERIES_TITLE = process.env.WEB_SERIES_TITLE;
const SERIES_LINK = process.env.WEB_SERIES_LINK;
const MIGRATE = 'hmm-tests/hmm.hmm_device_private.migrate';
const XSS_SUBJECT = 'mm: <img src=x onerror="window.__xss=1"> & <b>not bold</b>';
const XSS_TEST = 'hmm-tests/<img/src=x/onerror=window.__xss=2>';
/* Hostile test names as the daemon stores them (tests/t/t0160-hostile-names.sh). */
const HOSTILE = [
	'hostile/q"uo"te\\back\\\\slash\\"end',
	'hostile/</script><img src=x onerror=alert(1)>',
	'hostile/ctl?bellred tab?del',
	'hostile/bad??utf8-ü',
];
const HOSTILE_REG = 'hostile/reg"q"\\ </script><img src=x onerror=alert(1)> red???';

let count = 0;
let failed = 0;

function diag(text) {
	for (const line of String(text).split('\n').slice(0, 25))
		console.log('#   ' + line);
}

async function test(name, fn) {
	count++;
	const t0 = Date.now();
	try {
		await fn();
		console.log(`ok ${count} - ${name} (${Date.now() - t0} ms)`);
	} catch (e) {
		failed++;
		console.log(`not ok ${count} - ${name}`);
		diag(e && e.stack ? e.stack : e);
	}
}

function assert(cond, msg) {
	if (!cond)
		throw new Error('assertion failed: ' + msg);
}

function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

function git(...args) {
	return execFileSync('git', ['-C', REPO, ...args], { encoding: 'utf8' }).trim();
}

function mailGit(...args) {
	return execFileSync('git', ['-C', MAIL_REPO, ...args], { encoding: 'utf8' }).trim();
}

async function api(method, path, body) {
	const r = await fetch(URL + '/api/v1' + path, {
		method,
		headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await r.text();
	if (!r.ok)
		throw new Error(`${method} ${path}: ${r.status} ${text}`);
	return text ? JSON.parse(text) : null;
}

/* A fresh load of a route (a new document, as a deep link is). */
async function open(p, route) {
	await p.goto('about:blank');
	await p.goto(URL + '/' + route);
	await p.waitForSelector('body[data-ready]');
}

/*
 * The cells of a matrix row: [text, change kind] per stage.  A row is
 * text, 3 characters per stage; cells that are not a plain pass are
 * spans with data-col and data-change.
 */
function matrixRow(page, test) {
	return page.locator(`table.matrix tr[data-test="${test}"] td.cells`).evaluate((td) => {
		const text = td.textContent;
		const out = [];
		for (let i = 0; i * 3 < text.length; i++)
			out.push([text.substr(i * 3, 2).trim(), '']);
		for (const sp of td.querySelectorAll('span[data-col]'))
			out[Number(sp.dataset.col)][1] = sp.dataset.change || '';
		return out;
	});
}

/* The pipeline node of a stage. */
function node(page, stage) {
	return page.locator(`.pipeline .node[data-stage="${stage}"]`);
}

mkdirSync(OUT, { recursive: true });
/* A fresh temporary profile each time (playwright's default). */
const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(15000);
const pageErrors = [];
const dialogs = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('console', (m) => {
	/* A 404 from the API is an answer, not a script error. */
	if (m.type() === 'error' && !/^Failed to load resource/.test(m.text()))
		pageErrors.push('console: ' + m.text());
});
page.on('dialog', (d) => {
	dialogs.push(d.message());
	d.dismiss();
});

await test('the pipeline shows every stage with its verdict', async () => {
	await page.goto(URL + '/#/plan/demo');
	const want = { base: 'green', one: 'green', two: 'red', three: 'green' };
	await page.waitForFunction((w) => Object.entries(w).every(([s, v]) => {
		const n = document.querySelector(`.pipeline .node[data-stage="${s}"]`);
		return n && n.dataset.verdict === v;
	}), want, { timeout: 20000 });
	const names = await page.$$eval('.pipeline .node', (ns) => ns.map((n) => n.dataset.stage));
	assert(names.join(' ') === 'base one two three four', 'stages in order: ' + names.join(' '));
	for (const [s, v] of Object.entries(want)) {
		const text = await node(page, s).innerText();
		/* The word is there, not only a colour. */
		assert(text.includes(s) && text.includes(v), `node ${s} says ${v}: ${JSON.stringify(text)}`);
	}
	assert((await node(page, 'two').innerText()).includes('1 regression'), 'two counts its regression');
	assert(/missing: no branch s4/.test(await node(page, 'four').innerText()), 'four: its branch is missing');
	assert(await page.locator('.gate').count() === 1, 'the gate is shown');
	/* The gate (auto) made "integration" at stage one, the highest green. */
	await page.waitForFunction(() => {
		const d = document.querySelector('.gate .gate-decision');
		return d && /moved/.test(d.innerText) && /integration moved to stage one/.test(d.innerText);
	}, null, { timeout: 20000 });
	assert(/by auto/.test(await page.locator('.gate .gate-decision').innerText()),
		'the decision says who made it');
	await page.waitForFunction(() => document.body.dataset.live === 'live');
});

await test('a stage goes from running to red live, without a reload', async () => {
	await page.evaluate(() => { window.__sameDocument = 1; });
	/* Stage three: a commit whose boot sleeps 3 s, then fails a test. */
	writeFileSync(join(REPO, 'SLEEP'), '3\n');
	const tests = readFileSync(join(REPO, 'tests.txt'), 'utf8').replace(/^gup_test-a ioctl_status_0 .*$/m,
		'gup_test-a ioctl_status_0 fail gup_test.c:120:ioctl_status_0:Expected ret (-1) == 0 (0)');
	writeFileSync(join(REPO, 'tests.txt'), tests);
	git('add', 'SLEEP', 'tests.txt');
	git('commit', '-q', '-m', 'mm/gup: a slow boot that breaks gup_test-a');
	await api('POST', '/refresh');

	await page.waitForFunction(() => {
		const n = document.querySelector('.pipeline .node[data-stage="three"]');
		return n && n.dataset.verdict === 'running' && n.querySelector('.step') &&
			n.querySelector('.step').textContent === 'boot';
	});
	const text = await node(page, 'three').innerText();
	assert(/running/.test(text) && /boot/.test(text), 'running with its step: ' + JSON.stringify(text));
	/* The elapsed time ticks. */
	const t1 = await node(page, 'three').locator('.tick').innerText();
	await page.waitForFunction((t) => {
		const el = document.querySelector('.pipeline .node[data-stage="three"] .tick');
		return el && el.textContent !== t;
	}, t1, { timeout: 3000 });

	await page.waitForFunction(() => {
		const n = document.querySelector('.pipeline .node[data-stage="three"]');
		return n && n.dataset.verdict === 'red';
	});
	const after = await node(page, 'three').innerText();
	assert(after.includes('red') && after.includes('1 regression'), 'three is red: ' + JSON.stringify(after));
	assert(await page.evaluate(() => window.__sameDocument) === 1, 'the page was not reloaded');
	await page.screenshot({ path: join(OUT, 'plan.png'), fullPage: true });
	assert(await page.evaluate(() => document.body.dataset.live) === 'live', 'driven by the event stream');
});

await test('the stage page lists the regression with its assertion; its log line is marked', async () => {
	await node(page, 'two').locator('a', { hasText: 'two' }).first().click();
	await page.waitForURL(/#\/plan\/demo\/stage\/two$/);
	const row = page.locator(`.results tr[data-test="${MIGRATE}"]`);
	await row.waitFor();
	assert(await row.getAttribute('data-change') === 'regression', 'marked as a regression');
	const text = await row.innerText();
	assert(text.includes('hmm-tests.c:1017:migrate:Expected ret (-22) == 0 (0)'), 'assertion text: ' + text);
	assert(/pass[\s\S]*fail[\s\S]*regression/.test(text), 'baseline pass, stage fail: ' + text);
	const change = page.locator(`.changes tr[data-test="${MIGRATE}"]`);
	assert((await change.innerText()).includes('regression'), 'in the changes table');
	assert((await page.locator('.commits td.subject').allInnerTexts()).includes('lib/test_hmm: commit 3, the culprit'),
		'own commits listed');
	await page.screenshot({ path: join(OUT, 'stage.png'), fullPage: true });

	/* Its log, at the failing result's line. */
	await row.locator('a', { hasText: /^L\d+$/ }).click();
	await page.waitForURL(/#\/run\/\d+\/step\/\d+\?line=\d+$/);
	const target = page.locator('pre.log .l.target');
	await target.waitFor();
	const line = await target.innerText();
	assert(/not ok \d+ hmm\.hmm_device_private\.migrate/.test(line), 'the failing line: ' + line);
	assert(await target.evaluate((el) => el.classList.contains('res')), 'marked as a failing result');
	assert(await page.locator('pre.log .l.bad').count() > 0, 'FAIL lines highlighted');
	/* "first failure" goes to the first failing result. */
	await page.locator('pre.log').evaluate((el) => { el.scrollTop = 0; });
	await page.click('#first-failure');
	assert(/migrate/.test(await page.locator('pre.log .l.target').innerText()), 'first failure');
	await page.screenshot({ path: join(OUT, 'log.png'), fullPage: false });

	/* A deep link survives a reload; the back button goes back. */
	await page.reload();
	await page.locator('pre.log .l.target').waitFor();
	await page.goBack();
	await page.waitForURL(/#\/plan\/demo\/stage\/two$/);
	await page.locator(`.results tr[data-test="${MIGRATE}"]`).waitFor();
});

await test('the matrix marks the regressions', async () => {
	await open(page, '#/plan/demo/matrix');
	const row = page.locator(`table.matrix tr[data-test="${MIGRATE}"]`);
	await row.waitFor();
	const heads = await page.$$eval('table.matrix thead .col', (cs) => cs.map((c) => c.title));
	assert(heads.join(' ') === 'base one two three four', 'columns: ' + heads.join(' '));
	const cells = await matrixRow(page, MIGRATE);
	assert(cells[2][1] === 'regression' && cells[2][0] === 'F!', 'two: ' + cells[2]);
	assert(cells[3][1] === '' && cells[3][0] === 'F', 'three still fails, no regression: ' + cells[3]);
	assert(cells[1][0] === 'P' && cells[0][0] === 'P', 'base and one pass: ' + cells[1]);
	const gup = await matrixRow(page, 'gup_test-a/ioctl_status_0');
	assert(gup[3][1] === 'regression', 'the live regression of three: ' + gup[3]);
	assert((await page.locator('.legend b').innerText()) === '2 regressions', 'two regressions counted');
	await page.screenshot({ path: join(OUT, 'matrix.png'), fullPage: true });
});

await test('the bisection page shows the culprit', async () => {
	const culprit = git('rev-parse', 's2~2');
	await open(page, '#/plan/demo/stage/two');
	const badge = page.locator('.kv a .bis-found');
	await badge.waitFor({ timeout: 20000 });
	await badge.click();
	await page.waitForURL(/#\/bisection\/\d+$/);
	const box = page.locator('div.culprit');
	await box.waitFor();
	const text = await box.innerText();
	assert(text.includes(culprit), 'culprit commit ' + culprit + ' in ' + text);
	assert(text.includes('lib/test_hmm: commit 3, the culprit'), 'culprit subject');
	assert(text.includes('A U Thor'), 'culprit author');
	assert((await page.locator('h1 .v').innerText()) === 'found', 'state found');
	const strip = await page.$$eval('.strip .cm', (cs) => cs.map((c) => c.className));
	assert(strip.filter((c) => c.includes('culprit')).length === 1, 'one culprit in the strip: ' + strip);
	assert(strip.some((c) => c.includes('m-good')) && strip.some((c) => c.includes('m-bad')), 'marks drawn');
	const phases = await page.$$eval('.bsteps tbody tr td:nth-child(2)', (t) => t.map((x) => x.textContent));
	assert(phases.includes('confirm') && phases.includes('verify'), 'steps: ' + phases);
	await page.locator('.excerpt.x-bad pre.log').waitFor();
	await page.screenshot({ path: join(OUT, 'bisection.png'), fullPage: true });
});

await test('HTML in commit subjects and test names is shown as text', async () => {
	await open(page, '#/plan/demo/stage/one');
	const subjects = await page.locator('.commits td.subject').allInnerTexts();
	assert(subjects.includes(XSS_SUBJECT), 'subject as text: ' + JSON.stringify(subjects));
	const row = page.locator(`.results tr[data-test="${XSS_TEST}"]`);
	await row.waitFor();
	assert((await row.locator('td').first().innerText()) === XSS_TEST, 'test name as text');
	await row.locator('td a').first().click();
	await page.waitForURL(/#\/plan\/demo\/history\//);
	await page.locator('.history').waitFor();
	assert((await page.locator('h1 code').innerText()) === XSS_TEST, 'history title as text');
	for (const route of ['#/', '#/plan/demo/matrix', '#/plan/demo/stage/one']) {
		await open(page, route);
		assert(await page.locator('main img, main b:text("not bold")').count() === 0, 'no markup from data on ' + route);
	}
	assert(await page.evaluate(() => window.__xss) === undefined, 'no script ran');
	assert(dialogs.length === 0, 'no dialogs: ' + dialogs.join(', '));
});

/* The series line of a stage's card: what it says, and its parts. */
function seriesOfNode(page, stage) {
	return node(page, stage).locator('.series').evaluate((el) => ({
		text: el.textContent,
		title: el.querySelector('.stitle') && el.querySelector('.stitle').textContent,
		current: el.dataset.current,
		moved: el.querySelector('.moved') ? el.querySelector('.moved').textContent : null,
		link: el.querySelector('a.msgid') ? [el.querySelector('a.msgid').getAttribute('href'),
			el.querySelector('a.msgid').textContent] : null,
		elements: Array.from(el.querySelectorAll('*')).map((x) => x.tagName.toLowerCase()),
	}));
}

await test('the stage page lists every commit with its checks, beside the verdict', async () => {
	let two = null;
	for (let i = 0; i < 300; i++) {
		two = await api('GET', '/plans/demo/stages/two');
		if (two.each_commit && two.each_commit.summary.build_pending === 0)
			break;
		await sleep(100);
	}
	assert(two.each_commit && two.each_commit.summary.build_pending === 0, 'every commit built');
	assert(two.verdict === 'red', 'the verdict stays the head\'s: ' + two.verdict);
	await open(page, '#/plan/demo/stage/two');
	const table = page.locator('table.each');
	await table.waitFor();
	const rows = await table.locator('tbody tr[data-commit]').evaluateAll((trs) =>
		trs.map((tr) => [tr.querySelector('td.subject').textContent,
			tr.querySelectorAll('td')[2].querySelector('.v').textContent]));
	assert(JSON.stringify(rows) === JSON.stringify([['mm: commit 1', 'pass'], ['mm: commit 2', 'pass'],
		['lib/test_hmm: commit 3, the culprit', 'pass'], ['mm: commit 4', 'pass'], ['mm: commit 5', 'pass']]),
	'each commit and its build: ' + JSON.stringify(rows));
	const dl = await page.locator('dl.kv').innerText();
	assert(/commit checks\s+5\/5 commits build/.test(dl), 'the summary beside the verdict: ' + dl);
	await page.screenshot({ path: join(OUT, 'stage-commits.png'), fullPage: true });
});

await test('a stage made from mail shows its series; a hostile title is text', async () => {
	const plan = await api('GET', '/plans/mail');
	const hmm = plan.stages.find((x) => x.name === 'hmm');
	assert(hmm.series && hmm.series.version === 2 && hmm.series_current === true,
		'the API: ' + JSON.stringify(hmm.series));
	const msgid = hmm.series.message_id;

	await open(page, '#/plan/mail');
	await node(page, 'hmm').locator('.series').waitFor();
	const sr = await seriesOfNode(page, 'hmm');
	assert(sr.title === SERIES_TITLE, 'the title as text: ' + JSON.stringify(sr.title));
	assert(sr.text.startsWith('v2 "' + SERIES_TITLE + '" · 2 patches · from file · <' + msgid + '>'),
		'the line: ' + JSON.stringify(sr.text));
	assert(sr.current === '1' && sr.moved === null, 'the branch holds the series: no mark');
	assert(sr.link && sr.link[0] === SERIES_LINK + '/' + msgid && sr.link[1] === '<' + msgid + '>',
		'the Message-ID links into the archive: ' + JSON.stringify(sr.link));
	assert(sr.elements.every((t) => ['b', 'span', 'a'].includes(t)),
		'only the line\'s own elements: ' + sr.elements.join(' '));

	/* The plan's remote: failing, why, and when it is tried again. */
	const remote = page.locator('.title .remote');
	assert(await remote.getAttribute('data-state') === 'failing', 'the remote is failing');
	const rtext = await remote.innerText();
	assert(/^remote git:\/\/127\.0\.0\.1:1\/mm\.git: failing since \d{4}-\d\d-\d\d [\d:]+ \(\d+ in a row\), next try in \d+ s: .*127\.0\.0\.1.*refused/i
		.test(rtext), 'the remote line: ' + JSON.stringify(rtext));
	await page.screenshot({ path: join(OUT, 'series-plan.png'), fullPage: true });

	/* The stage page: the series with each patch and the commit it made. */
	await open(page, '#/plan/mail/stage/hmm');
	const item = page.locator('.series-item');
	await item.first().waitFor();
	assert(await item.count() === 1, 'one series');
	assert(await item.locator('.stitle').innerText() === SERIES_TITLE, 'its title as text');
	const rows = await item.locator('.patches tbody tr').evaluateAll((trs) => trs.map((tr) =>
		Array.from(tr.cells).map((td) => td.textContent)));
	const commits = [mailGit('rev-parse', 'm1~1'), mailGit('rev-parse', 'm1')];
	const want = [['1', 'mm/hmm: build hmm.o', commits[0]], ['2', 'selftests/mm: test mremap', commits[1]]];
	assert(rows.length === 2, 'two patches: ' + JSON.stringify(rows));
	rows.forEach((r, i) => {
		assert(r[0] === want[i][0] && r[1].startsWith(want[i][1] + ' <') &&
			r[2] === 'A U Thor <author@example.com>' && r[3] === want[i][2].slice(0, 12),
		'patch ' + (i + 1) + ': ' + JSON.stringify(r));
	});
	await page.screenshot({ path: join(OUT, 'series-stage.png'), fullPage: true });
	for (const route of ['#/', '#/plan/mail', '#/plan/mail/stage/hmm']) {
		await open(page, route);
		await page.locator('.series').first().waitFor();
		assert(await page.locator('main img, main script').count() === 0, 'no markup from the title on ' + route);
	}
	assert(dialogs.length === 0, 'no dialogs (alert(1) did not run): ' + dialogs.join(', '));
	assert((await fetch(URL + '/plain').then((r) => r.text())).includes(
		'v2 &quot;mm/hmm: build hmm.o and test mremap &lt;img src=x onerror=alert(1)&gt; &quot;quoted&quot; &amp; &#39;single&#39;&quot;'),
	'/plain shows the title escaped');
});

await test('a new version, then a push away from it: the card follows live', async () => {
	await open(page, '#/plan/mail');
	await node(page, 'hmm').locator('.series').waitFor();
	await page.waitForFunction(() => document.body.dataset.live === 'live');
	await page.evaluate(() => { window.__sameDocument = 1; });
	const r = await fetch(URL + '/api/v1/plans/mail/stages/hmm/series?link=' + encodeURIComponent(SERIES_LINK), {
		method: 'POST',
		headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/mbox' },
		body: readFileSync(join(TRASH, 'v3.mbox')),
	});
	assert(r.status === 201, 'v3 applied: ' + r.status + ' ' + await r.text());
	await page.waitForFunction(() => {
		const el = document.querySelector('.pipeline .node[data-stage="hmm"] .series');
		return el && /^v3 "mm\/hmm: build hmm\.o and test mremap" · 3 patches · from api · </.test(el.textContent);
	}, null, { timeout: 10000 });
	assert((await seriesOfNode(page, 'hmm')).current === '1', 'v3 is what the branch holds');

	/* A plain update of the branch: the card marks the series as left. */
	mailGit('update-ref', 'refs/heads/m1', 'refs/heads/m1~1');
	await api('POST', '/refresh');
	await page.waitForFunction(() => {
		const el = document.querySelector('.pipeline .node[data-stage="hmm"] .series');
		return el && el.dataset.current === '0';
	}, null, { timeout: 10000 });
	const sr = await seriesOfNode(page, 'hmm');
	assert(sr.moved === 'branch moved' && /^v3 /.test(sr.text), 'marked: ' + JSON.stringify(sr));
	assert(await page.evaluate(() => window.__sameDocument) === 1, 'the page was not reloaded');

	/* The stage page lists both versions, the newest first. */
	await open(page, '#/plan/mail/stage/hmm');
	await page.locator('.series-item').first().waitFor();
	const items = await page.locator('.series-item').evaluateAll((els) => els.map((el) => [
		el.querySelector('.sver').textContent, el.querySelectorAll('.patches tbody tr').length,
		el.querySelector('.series').dataset.current || null]));
	assert(JSON.stringify(items) === JSON.stringify([['v3', 3, '0'], ['v2', 2, null]]),
		'v3 (left by the branch), then v2: ' + JSON.stringify(items));
	assert(/branch moved/.test(await page.locator('.kv .series').innerText()), 'the stage says so too');
});

await test('a known failure is shown as known, not as a regression', async () => {
	const known = 'hmm-tests/hmm.hmm_device_coherent.exclusive';
	await open(page, '#/plan/demo/stage/one');
	const row = page.locator(`.results tr[data-test="${known}"]`);
	await row.waitFor();
	assert(await row.getAttribute('data-change') === 'known', 'known in the results');
	assert((await row.innerText()).includes('known'), 'the word "known"');
	await open(page, '#/plan/demo/matrix');
	await page.locator(`table.matrix tr[data-test="${known}"]`).waitFor();
	const cells = await matrixRow(page, known);
	assert(cells[1][1] === 'known' && cells[1][0] === 'F~', 'known in the matrix: ' + cells[1]);
	assert(await page.locator('.pipeline .node[data-stage="one"]').getAttribute('data-verdict') === 'green',
		'one stays green');
});

await test('the log viewer follows a running step with Range requests (web/logview.js)', async () => {
	/* Stage three's head again: its boot prints the kernel's first
	 * lines, sleeps 3 s (SLEEP), then the tests. */
	const three = await api('GET', '/plans/demo/stages/three');
	const { run } = await api('POST', '/runs/' + three.run.id + '/retry');
	let step = null;
	for (let i = 0; i < 600 && !(step && step.state === 'running' && step.log); i++) {
		const r = await api('GET', '/runs/' + run);
		assert(r.state !== 'done', 'run ' + run + ' ended before its boot was seen running');
		step = r.steps.find((s) => s.name === 'boot');
		await sleep(100);
	}
	assert(step && step.state === 'running', 'the boot step of run ' + run + ' runs');

	/* The module on its own, told that the step runs and nothing else. */
	const p3 = await context.newPage();
	p3.setDefaultTimeout(15000);
	p3.on('pageerror', (e) => pageErrors.push('log viewer page: ' + e.message));
	const ranges = [];
	p3.on('request', (r) => {
		if (r.url().endsWith(step.log))
			ranges.push(r.headers().range || '(none)');
	});
	await open(p3, '#/');
	await p3.evaluate((url) => {
		const box = document.createElement('section');
		box.id = 'lv';
		document.body.appendChild(box);
		window.__lv = new window.kstageLog.LogView(box, url,
			{ running: true, title: 'followed', lineHref: (n) => '#L' + n });
	}, step.log);
	/* And the run page, which hears from the daemon when the step ends. */
	await open(page, `#/run/${run}/step/${step.idx}`);

	await p3.waitForFunction(() => /KSTAGE-DONE/.test(document.querySelector('#lv pre.log').textContent),
		null, { timeout: 20000 });
	const raw = await (await fetch(URL + step.log)).text();
	const shown = await p3.locator('#lv pre.log').evaluate((pre) => pre.textContent);
	assert(shown === raw, `the viewer shows the log exactly (${shown.length} of ${raw.length} bytes)`);
	const follows = ranges.filter((x) => /^bytes=[1-9]\d*-$/.test(x));
	assert(ranges[0] === 'bytes=0-' && follows.length > 0,
		'loaded from 0, then followed from where it was: ' + ranges.join(', '));
	const lines = raw.split('\n').length - 1;
	assert(await p3.locator('#lv pre.log .l').count() === lines, lines + ' line elements');
	assert(await p3.locator(`#lv pre.log #L${lines} a.ln`).getAttribute('href') === '#L' + lines,
		'line numbers from lineHref');
	assert(/growing/.test(await p3.locator('#lv h2').innerText()), 'still "growing": nobody said it ended');

	/* destroy(): the container is emptied and the polling stops. */
	await p3.evaluate(() => window.__lv.destroy());
	const before = ranges.length;
	await sleep(2500);
	assert(ranges.length === before, 'no request after destroy(): ' + ranges.slice(before).join(', '));
	assert(await p3.locator('#lv *').count() === 0, 'the container is empty');
	await p3.close();

	/* The run page's viewer was told by the app that the step ended,
	 * and marks the failing result's line once the run has results. */
	await page.waitForFunction(() => {
		const h2 = document.querySelector('#log h2');
		return h2 && !/growing/.test(h2.textContent) &&
			/KSTAGE-DONE/.test(document.querySelector('#log pre.log').textContent) &&
			document.querySelector('#log pre.log .l.res');
	}, null, { timeout: 20000 });
	const marked = await page.locator('#log pre.log .l.res').allInnerTexts();
	assert(marked.some((t) => /not ok \d+ ioctl_status_0/.test(t)), 'the failing gup_test line is marked: ' +
		marked.join(' | '));
});

await test('without the event stream the page polls and stays current', async () => {
	const p2 = await context.newPage();
	p2.setDefaultTimeout(15000);
	await p2.route('**/api/v1/events*', (r) => r.abort());
	await p2.goto(URL + '/#/plan/demo');
	await p2.locator('.runs tbody tr').first().waitFor();
	await p2.waitForFunction(() => ['polling', 'reconnecting'].includes(document.body.dataset.live));
	const top = Number(await p2.locator('.runs tbody tr').first().getAttribute('data-run'));
	const { run } = await api('POST', '/runs/2/retry');
	assert(run > top, `a new run ${run} > ${top}`);
	await p2.locator(`.runs tbody tr[data-run="${run}"]`).waitFor({ timeout: 12000 });
	assert(await p2.evaluate(() => document.body.dataset.live) !== 'live', 'the stream stayed down');
	await p2.close();
});

await test('hostile test names are shown as text, as the daemon stores them', async () => {
	/*
	 * Stage three gets tests whose names have quotes, backslashes,
	 * HTML that would run a script, control characters, terminal
	 * escapes and invalid UTF-8 (printf %b escapes: the fake kernel's
	 * ESCAPES); stage four, new on top of it, fails one of them.  The
	 * daemon cleans names (daemon/text.h), tests/t/t0160-hostile-names.sh
	 * checks the API; here the dashboard must show HOSTILE as text.
	 */
	const lines = [
		'hostile q"uo"te\\\\back\\\\\\\\slash\\\\"end pass',
		'hostile </script><img\\040src=x\\040onerror=alert(1)> pass',
		'hostile ctl\\001bell\\033[31mred\\033[0m\\ttab\\177del pass',
		'hostile bad\\377\\376utf8-ü pass',
	];
	const reg = 'hostile reg"q"\\\\\\040</script><img\\040src=x\\040onerror=alert(1)>\\040\\033[31mred\\001\\377\\376';
	const tests = readFileSync(join(REPO, 'tests.txt'), 'utf8');
	writeFileSync(join(REPO, 'tests.txt'), tests + lines.join('\n') + '\n' + reg + ' pass\n');
	writeFileSync(join(REPO, 'ESCAPES'), '');
	git('rm', '-q', 'SLEEP');
	git('add', 'tests.txt', 'ESCAPES');
	git('commit', '-q', '-m', 'selftests: tests with hostile names');
	git('checkout', '-q', '-b', 's4');
	writeFileSync(join(REPO, 'tests.txt'), tests + lines.join('\n') + '\n' + reg + ' fail\n');
	git('commit', '-q', '-a', '-m', 'selftests: break the most hostile one');
	await api('POST', '/refresh');

	await open(page, '#/plan/demo');
	await page.waitForFunction(() => {
		const n = document.querySelector('.pipeline .node[data-stage="four"]');
		return n && n.dataset.verdict === 'red';
	}, null, { timeout: 30000 });
	assert((await node(page, 'four').innerText()).includes('1 regression'), 'four has one regression');

	/* The stage: the regression in its changes, every name in its results. */
	await open(page, '#/plan/demo/stage/four');
	await page.locator('.changes tbody tr').first().waitFor();
	const stage = await page.evaluate(([names, regName]) => {
		const rows = (sel) => Array.from(document.querySelectorAll(sel));
		const change = rows('.changes tbody tr').filter((tr) => tr.dataset.test === regName);
		return {
			change: change.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]),
			results: names.map((n) => rows('.results tbody tr').filter((tr) => tr.dataset.test === n)
				.map((tr) => tr.cells[0].textContent)),
		};
	}, [HOSTILE.concat(HOSTILE_REG), HOSTILE_REG]);
	assert(JSON.stringify(stage.change) === JSON.stringify([['regression', HOSTILE_REG]]),
		'the regression, named as stored: ' + JSON.stringify(stage.change));
	HOSTILE.concat(HOSTILE_REG).forEach((n, i) => assert(JSON.stringify(stage.results[i]) === JSON.stringify([n]),
		'result ' + JSON.stringify(n) + ' as text: ' + JSON.stringify(stage.results[i])));
	await page.screenshot({ path: join(OUT, 'hostile-stage.png'), fullPage: true });

	/* Its history, through the name in the URL. */
	await page.evaluate((n) => {
		const tr = Array.from(document.querySelectorAll('.changes tbody tr')).find((r) => r.dataset.test === n);
		tr.querySelector('a').click();
	}, HOSTILE_REG);
	await page.waitForURL(/#\/plan\/demo\/history\//);
	await page.locator('.history').waitFor();
	assert((await page.locator('h1 code').innerText()) === HOSTILE_REG, 'history title as text');

	/* The matrix: a row per name, the regression marked on four. */
	await open(page, '#/plan/demo/matrix');
	await page.locator('table.matrix tbody tr').first().waitFor();
	const rows = await page.evaluate((names) => names.map((n) => {
		const tr = Array.from(document.querySelectorAll('table.matrix tbody tr')).find((r) => r.dataset.test === n);
		if (!tr)
			return null;
		const sp = tr.querySelector('td.cells span[data-col="4"]');
		return [tr.querySelector('th').textContent, sp ? sp.dataset.change || '' : 'pass'];
	}), HOSTILE.concat(HOSTILE_REG));
	HOSTILE.forEach((n, i) => assert(JSON.stringify(rows[i]) === JSON.stringify([n, 'pass']),
		'matrix row ' + JSON.stringify(n) + ': ' + JSON.stringify(rows[i])));
	assert(JSON.stringify(rows[4]) === JSON.stringify([HOSTILE_REG, 'regression']),
		'the regression in the matrix: ' + JSON.stringify(rows[4]));
	await page.screenshot({ path: join(OUT, 'hostile-matrix.png'), fullPage: true });

	for (const route of ['#/plan/demo/stage/four', '#/plan/demo/stage/three', '#/plan/demo/matrix']) {
		await open(page, route);
		assert(await page.locator('main img, main script').count() === 0, 'no markup from data on ' + route);
	}
	assert(dialogs.length === 0, 'no dialogs (alert(1) did not run): ' + dialogs.join(', '));
});

/* The rows of a notifications table: what each says, by its cells' classes. */
function outboxRows(page, sel) {
	return page.locator(sel + ' tr.o-row').evaluateAll((trs) => trs.map((tr) => {
		const more = tr.nextElementSibling;
		return {
			id: Number(tr.dataset.outbox), state: tr.dataset.state, channel: tr.dataset.channel,
			kind: tr.dataset.kind, bisection: tr.dataset.bisection ? Number(tr.dataset.bisection) : null,
			text: tr.textContent,
			error: tr.cells[tr.cells.length - 1].textContent,
			check: more.querySelector('.check') ? more.querySelector('.check').textContent : null,
			attempts: Array.from(more.querySelectorAll('table.att tbody tr')).map((a) =>
				Array.from(a.cells).map((td) => td.textContent)),
		};
	}));
}

await test('the notifications page: states, the filter, attempts; a hostile answer is text', async () => {
	const hookError = 'HTTP 500: ' + process.env.WEB_HOOK_ERROR;
	/* The automatic bisection of two found its culprit: its webhook
	 * was delivered at the second try, the one to /refuse failed. */
	await open(page, '#/outbox');
	await page.waitForFunction(() => {
		const rows = Array.from(document.querySelectorAll('table.outbox tr.o-row'));
		const has = (k, st, ch) => rows.some((r) => r.dataset.kind === k && r.dataset.state === st &&
			r.dataset.channel === ch);
		return has('bisection-found', 'delivered', 'webhook') && has('bisection-found', 'failed', 'webhook') &&
			has('stage-verdict', 'delivered', 'webhook') && has('stage-verdict', 'failed', 'patchwork');
	}, null, { timeout: 20000 });
	assert(await page.locator('#nav a.here').innerText() === 'notifications', 'the nav link is marked');
	const api1 = (await api('GET', '/outbox')).outbox;
	const rows = await outboxRows(page, 'table.outbox');
	/* The same rows as the API (rows written since the page loaded aside). */
	const ids = rows.map((r) => r.id);
	const same = api1.map((o) => o.id).filter((id) => id <= ids[0] && id >= ids[ids.length - 1]);
	assert(JSON.stringify(ids) === JSON.stringify(same), 'the rows of the API: ' + ids.join(' ') +
		' vs ' + same.join(' '));

	/* Delivered after one refusal: two attempts, the refusal's answer as text. */
	const ok = rows.find((r) => r.kind === 'bisection-found' && r.state === 'delivered');
	assert(/delivered/.test(ok.text) && /webhook/.test(ok.text) && /demo \/ (two|three)/.test(ok.text) &&
		/bisection \d+/.test(ok.text), 'the delivered row: ' + JSON.stringify(ok.text));
	assert(ok.attempts.length === 2 && ok.attempts[0][2] === 'failed' && ok.attempts[0][3] === '500' &&
		ok.attempts[0][4] === hookError && ok.attempts[1][2] === 'ok' && ok.attempts[1][0] === '2',
	'its attempts: ' + JSON.stringify(ok.attempts));
	const bad = rows.find((r) => r.kind === 'bisection-found' && r.state === 'failed');
	assert(bad.error === hookError, 'the failed row\'s last error as text: ' + JSON.stringify(bad.error));
	assert(bad.attempts.length === 2 && bad.attempts.every((x) => x[2] === 'failed' && x[4] === hookError),
		'both attempts failed: ' + JSON.stringify(bad.attempts));
	/* The attempts open and stay open across a refresh. */
	const more = page.locator(`tr.o-more[data-outbox="${bad.id}"] details.attempts`);
	await more.locator('summary').click();
	assert(await more.locator('table.att').isVisible(), 'the attempts are shown');
	assert(/2 attempts \(2 failed\)/.test(await more.locator('summary').innerText()), 'the summary counts');

	/* A Patchwork check: which patch, which state; its server refuses connections. */
	const pw = rows.find((r) => r.channel === 'patchwork');
	assert(pw.state === 'failed' && /Patchwork check/.test(pw.text) && /mail \/ hmm/.test(pw.text),
		'the Patchwork row: ' + JSON.stringify(pw.text));
	assert(/^patch \d+\/[23] (success|fail|warning|pending) kstage-fake /.test(pw.check),
		'its check: ' + JSON.stringify(pw.check));
	assert(/connect|refused/i.test(pw.error), 'why it failed: ' + JSON.stringify(pw.error));
	await page.screenshot({ path: join(OUT, 'outbox.png'), fullPage: true });

	/* The filter by state, in the query string. */
	await page.locator('#outbox-states a', { hasText: /^failed$/ }).click();
	await page.waitForURL(/#\/outbox\?state=failed$/);
	await page.waitForFunction(() => document.querySelector('h1') &&
		document.querySelector('#outbox-states b').textContent === 'failed');
	const failed = await outboxRows(page, 'table.outbox');
	assert(failed.length >= 2 && failed.every((r) => r.state === 'failed'), 'only failed rows: ' +
		failed.map((r) => r.state).join(' '));
	const apiFailed = (await api('GET', '/outbox?state=failed')).outbox.map((o) => o.id);
	assert(JSON.stringify(failed.map((r) => r.id)) === JSON.stringify(apiFailed),
		'the failed rows of the API: ' + apiFailed.join(' '));
	assert(await page.locator('main img, main script').count() === 0, 'no markup from the answers');
	assert(await page.evaluate(() => window.__xss) === undefined, 'no script ran');

	/* Live: a new bisection's notifications appear, then are delivered, without a reload. */
	await open(page, '#/outbox?plan=demo');
	await page.waitForFunction(() => document.body.dataset.live === 'live');
	await page.evaluate(() => { window.__sameDocument = 1; });
	const { bisection } = await api('POST', '/bisections', { plan: 'demo', stage: 'two', tests: [MIGRATE] });
	await page.waitForFunction((b) => {
		const rows = Array.from(document.querySelectorAll(`table.outbox tr.o-row[data-bisection="${b}"]`));
		return rows.some((r) => r.dataset.state === 'delivered') && rows.some((r) => r.dataset.state === 'failed');
	}, bisection, { timeout: 60000 });
	assert(await page.evaluate(() => window.__sameDocument) === 1, 'the page was not reloaded');

	/* The bisection's page lists its notifications, the stage's too. */
	await open(page, '#/bisection/' + bisection);
	await page.locator('section.notes tr.o-row').first().waitFor();
	const bnotes = await outboxRows(page, 'section.notes');
	assert(bnotes.every((r) => r.bisection === bisection), 'only this bisection\'s: ' + JSON.stringify(bnotes));
	assert(bnotes.some((r) => r.kind === 'bisection-found' && r.state === 'delivered') &&
		bnotes.some((r) => r.kind === 'bisection-found' && r.state === 'failed' && r.error === hookError),
	'delivered and failed: ' + JSON.stringify(bnotes.map((r) => [r.kind, r.state, r.error])));
	assert(/^notifications \(\d+ delivered, \d+ failed\) all$/.test(await page.locator('section.notes h2').innerText()),
		'the section says how many: ' + await page.locator('section.notes h2').innerText());
	assert(await page.locator('section.notes h2 a').getAttribute('href') === '#/outbox?bisection=' + bisection,
		'it links to the full list');
	await page.screenshot({ path: join(OUT, 'bisection-notes.png'), fullPage: true });

	await open(page, '#/plan/demo/stage/two');
	await page.locator('section.notes tr.o-row').first().waitFor();
	const snotes = await outboxRows(page, 'section.notes');
	const apiStage = (await api('GET', '/outbox?plan=demo&stage=two&limit=20')).outbox.map((o) => o.id);
	assert(JSON.stringify(snotes.map((r) => r.id)) === JSON.stringify(apiStage), 'the stage\'s rows: ' +
		snotes.map((r) => r.id).join(' ') + ' vs ' + apiStage.join(' '));
	assert(snotes.some((r) => r.kind === 'stage-verdict' && r.state === 'delivered'), 'its verdict was delivered');
	assert(snotes.some((r) => r.kind === 'bisection-found' && r.state === 'failed'), 'a failed one is there');
	assert(await page.locator('section.notes th', { hasText: 'plan / stage' }).count() === 0, 'no plan column');

	await open(page, '#/plan/mail/stage/hmm');
	await page.locator('section.notes tr.o-row').first().waitFor();
	const mnotes = await outboxRows(page, 'section.notes');
	assert(mnotes.some((r) => r.channel === 'patchwork' && r.state === 'failed' && /^patch \d/.test(r.check)),
		'Patchwork check failed, on the stage from mail: ' + JSON.stringify(mnotes.map((r) => [r.channel, r.state])));
	for (const route of ['#/outbox', '#/bisection/' + bisection, '#/plan/demo/stage/two']) {
		await open(page, route);
		await page.locator('tr.o-row').first().waitFor();
		assert(await page.locator('main img, main script').count() === 0, 'no markup on ' + route);
	}
	assert(await page.evaluate(() => window.__xss) === undefined, 'no script ran');
	assert(dialogs.length === 0, 'no dialogs: ' + dialogs.join(', '));
	const plain = await fetch(URL + '/plain/plans/demo/stages/two').then((r) => r.text());
	assert(/notifications: 0 pending, \d+ failed \(latest: webhook bisection-found: HTTP 500: &lt;img src=x onerror=&quot;window.__xss=3&quot;&gt; &amp; &quot;refused&quot;\)/
		.test(plain), '/plain says what failed, escaped: ' + plain.slice(0, 2000));
});

await test('no script errors on any page', async () => {
	for (const route of ['#/', '#/runs', '#/bisections', '#/outbox', '#/outbox?state=pending',
		'#/run/1', '#/nonsense', '#/plan/nope']) {
		await open(page, route);
	}
	assert((await page.locator('main .err').innerText()).includes('404'), 'an unknown plan is a 404');
	assert(pageErrors.length === 0, 'errors: ' + pageErrors.join('\n'));
});

await browser.close();
console.log(`1..${count}`);
console.log(`# dashboard: ${count - failed} passed, ${failed} failed; screenshots in ${OUT}`);
process.exit(failed ? 1 : 0);
