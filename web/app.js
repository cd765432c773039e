/*
 * kstage dashboard: plain ES2020, no framework, no build step.
 *
 * Every view is a route of location.hash with a load() that fetches JSON
 * from the daemon's API (daemon/API.md) and a render() that builds DOM
 * nodes.  Data from the API is only ever put into the page as text
 * (textContent / text nodes, attribute values through setAttribute): test
 * names, subjects and logs are data, never markup.  There is no innerHTML
 * in this file.
 *
 * Live updates: an EventSource on /api/v1/events; each event asks the
 * current view whether it cares (relevant()), and if it does the view is
 * re-fetched (debounced) and swapped in one step when its data changed, so
 * nothing flickers.  When the stream is down the view is polled instead.
 * A view whose data change without an event (a notification's delivery:
 * the sender writes none) also says when to look again (recheck()).
 *
 * The run page's log viewer is its own module, web/logview.js (loaded
 * first, as window.kstageLog); this file gives it a container, the log's
 * URL and the lines to mark, and tells it when the step has ended.
 */
'use strict';

(() => {
const API = '/api/v1';
const POLL_MS = 5000;		/* refresh period while the stream is down */
const DEBOUNCE_MS = 120;	/* events closer than this share one refresh */
const EVENT_KINDS = ['stage-head', 'stage-verdict', 'run-queued', 'run-reused',
	'run-started', 'step', 'run-finished', 'run-canceled', 'bisection', 'gate', 'ack',
	'series-applied', 'remote-failing', 'remote-ok', 'each-commits', 'commit-check'];
/* Lines of a log that are worth a look (the log viewer's rule, web/logview.js). */
const BAD_LINE = window.kstageLog.BAD_LINE;

const $main = document.getElementById('main');
const $live = document.getElementById('live');
const $status = document.getElementById('status');
const $crumbs = document.getElementById('crumbs');

/* --- DOM helpers: text only, never markup --------------------------------- */

function add(el, kid) {
	if (kid === null || kid === undefined || kid === false)
		return;
	if (Array.isArray(kid)) {
		for (const k of kid)
			add(el, k);
	} else if (kid instanceof Node) {
		el.appendChild(kid);
	} else {
		el.appendChild(document.createTextNode(String(kid)));
	}
}

/*
 * h('td', {class: 'x', title: t, onclick: f}, kids...): an element.  An
 * attribute whose value is null/undefined/false is left out; functions
 * become event listeners; everything else goes through setAttribute.
 */
function h(tag, attrs, ...kids) {
	const el = document.createElement(tag);
	if (attrs) {
		for (const [k, v] of Object.entries(attrs)) {
			if (v === null || v === undefined || v === false)
				continue;
			if (typeof v === 'function')
				el.addEventListener(k.replace(/^on/, ''), v);
			else
				el.setAttribute(k, v === true ? '' : String(v));
		}
	}
	add(el, kids);
	return el;
}

const enc = encodeURIComponent;

/* Only our own routes and API paths are ever used as link targets. */
function safeHref(u) {
	return typeof u === 'string' && /^(#\/|\/api\/v1\/|\/plain)/.test(u) ? u : null;
}

function a(href, ...kids) {
	return h('a', { href: safeHref(href) }, ...kids);
}

/*
 * A link out of the dashboard (a mail in its archive): only an http(s)
 * URL with no space or control character in it; anything else is no
 * link (the text is still shown).
 */
function extHref(u) {
	return typeof u === 'string' && /^https?:\/\/[^\s\x00-\x1f\x7f]+$/.test(u) ? u : null;
}

const R = {
	plan: (p) => '#/plan/' + enc(p),
	stage: (p, s) => '#/plan/' + enc(p) + '/stage/' + enc(s),
	matrix: (p) => '#/plan/' + enc(p) + '/matrix',
	history: (p, t) => '#/plan/' + enc(p) + '/history/' + enc(t),
	run: (id) => '#/run/' + id,
	log: (id, idx, line) => '#/run/' + id + '/step/' + idx +
		(line ? '?line=' + line : ''),
	bisection: (id) => '#/bisection/' + id,
};

/* --- formatting ------------------------------------------------------------- */

function short(id) {
	return id ? String(id).slice(0, 12) : '—';
}

function commitEl(id) {
	return id ? h('code', { class: 'c', title: id }, short(id)) : h('span', { class: 'dim' }, '—');
}

function pad(n) {
	return n < 10 ? '0' + n : String(n);
}

function fmtTime(ms) {
	if (!ms)
		return '';
	const d = new Date(ms);
	return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) +
		' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

function timeEl(ms) {
	return ms ? h('time', { datetime: new Date(ms).toISOString() }, fmtTime(ms)) : '';
}

function fmtDur(ms) {
	if (ms === null || ms === undefined || ms < 0)
		ms = 0;
	if (ms < 10000)
		return (ms / 1000).toFixed(1) + 's';
	const s = Math.floor(ms / 1000);
	if (s < 3600)
		return Math.floor(s / 60) + 'm' + pad(s % 60) + 's';
	return Math.floor(s / 3600) + 'h' + pad(Math.floor(s / 60) % 60) + 'm';
}

function durEl(from, to) {
	if (!from)
		return '';
	if (to)
		return h('span', { class: 'dur' }, fmtDur(to - from));
	/* Still going: ticks every second (see tick()). */
	return h('span', { class: 'dur tick', 'data-t0': from }, fmtDur(Date.now() - from));
}

function fmtBytes(n) {
	if (n === null || n === undefined)
		return '';
	if (n < 1024)
		return n + ' B';
	if (n < 1 << 20)
		return (n / 1024).toFixed(1) + ' KiB';
	return (n / 1048576).toFixed(1) + ' MiB';
}

/* Whole seconds from now until ms, never below 0. */
function secondsUntil(ms) {
	return Math.max(0, Math.ceil((ms - Date.now()) / 1000));
}

function tick() {
	const now = Date.now();
	for (const el of document.querySelectorAll('[data-t0]'))
		el.textContent = fmtDur(now - Number(el.dataset.t0));
	for (const el of document.querySelectorAll('[data-until]'))
		el.textContent = String(secondsUntil(Number(el.dataset.until)));
}

/* A state word in a coloured box: the word is always there. */
function chip(kind, word, title) {
	const w = word || 'unknown';
	return h('span', { class: 'v ' + kind + '-' + w.replace(/[^a-z-]/g, ''), title }, w);
}
const verdict = (v, t) => chip('v', v || 'unknown', t);
const status = (s, t) => s ? chip('s', s, t) : h('span', { class: 'dim' }, '—');
const kindChip = (k) => chip('k', k);

function counts(c) {
	if (!c)
		return '';
	return h('span', { class: 'counts', title: 'pass / fail / skip / error' },
		h('span', { class: 'n-pass' }, c.pass + 'p'), ' ',
		h('span', { class: c.fail ? 'n-fail' : 'dim' }, c.fail + 'f'), ' ',
		h('span', { class: c.skip ? 'n-skip' : 'dim' }, c.skip + 's'), ' ',
		h('span', { class: c.error ? 'n-error' : 'dim' }, c.error + 'e'));
}

function table(cls, head, rows) {
	return h('table', { class: cls },
		h('thead', null, h('tr', null, head.map((t) => h('th', null, t)))),
		h('tbody', null, rows));
}

function section(title, ...kids) {
	return h('section', null, h('h2', null, title), ...kids);
}

function dl(pairs) {
	const out = h('dl', { class: 'kv' });
	for (const [k, v] of pairs) {
		if (v === null || v === undefined || v === '')
			continue;
		out.append(h('dt', null, k), h('dd', null, v));
	}
	return out;
}

/* --- API ---------------------------------------------------------------- */

class ApiError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

async function get(path) {
	let r;
	try {
		r = await fetch(API + path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
	} catch (e) {
		throw new ApiError(0, 'the daemon is not reachable (' + e.message + ')');
	}
	if (!r.ok) {
		let msg = r.statusText;
		try {
			msg = (await r.json()).error || msg;
		} catch (e) { /* not JSON */ }
		throw new ApiError(r.status, r.status + ' ' + msg);
	}
	return r.json();
}

/* --- the pipeline of a plan -------------------------------------------- */

/* What a stage is doing now, as nodes: "boot 12.3s" while running. */
function activity(run) {
	if (!run)
		return null;
	if (run.state === 'running')
		return h('span', { class: 'act' }, h('b', { class: 'step' }, run.current_step || 'starting'),
			' ', durEl(run.step_started_at || run.started_at, null));
	if (run.state === 'queued')
		return h('span', { class: 'act' }, 'queued ', durEl(run.queued_at, null));
	return null;
}

function stackNote(p, st) {
	if (!st.stack_state || st.stack_state === 'ok')
		return null;
	return h('div', { class: 'stack stack-' + st.stack_state, title: st.stack_detail || null },
		st.stack_state,
		st.stack_state === 'needs-rebase' && st.missing_commit ?
			[': lacks ', commitEl(st.missing_commit)] : null,
		st.stack_state === 'missing' ? [': no branch ', h('code', null, st.branch)] : null);
}

function bisectBadge(b) {
	if (!b)
		return null;
	return a(R.bisection(b.id), h('span', { class: 'bis bis-' + b.state },
		'bisect ', b.state, b.culprit ? [' ', h('code', null, short(b.culprit))] : null));
}

/*
 * Where a mail of a series is in its archive: link_base/MESSAGE-ID, the
 * Message-ID a path segment (what may stand there stays, '@' included;
 * '/', '%', '?', '#' and the like are %XX), as /plain makes it.
 */
function mailHref(linkBase, msgid) {
	if (!linkBase || !msgid)
		return null;
	const seg = encodeURIComponent(msgid).replace(/%(40|24|26|2B|2C|3B|3D|3A)/g,
		(m, x) => String.fromCharCode(parseInt(x, 16)));
	return extHref(linkBase.replace(/\/+$/, '') + '/' + seg);
}

/* A Message-ID as text, linked into the archive when there is one. */
function msgidEl(linkBase, msgid) {
	if (!msgid)
		return null;
	const href = mailHref(linkBase, msgid);
	const text = '<' + msgid + '>';
	return href ? h('a', { class: 'msgid', href, rel: 'noopener noreferrer' }, text) :
		h('code', { class: 'msgid' }, text);
}

const plural = (n, word) => n + ' ' + word + (n === 1 ? '' : word.endsWith('h') ? 'es' : 's');

/*
 * The series from mail a stage holds: v2 "title" · 2 patches · from
 * inbox · <message-id>, and a mark when the branch is no longer the
 * series' head (current false; null: an older series, no mark).
 */
function seriesLine(x, current, cls) {
	if (!x)
		return null;
	return h('div', { class: cls + ' series' + (current === false ? ' series-moved' : ''),
		'data-series': x.id, 'data-current': current === null ? null : current ? '1' : '0',
		title: 'v' + x.version + ' "' + x.title + '", applied ' + fmtTime(x.at) + ' by ' + x.by },
	h('b', { class: 'sver' }, 'v' + x.version), ' "', h('span', { class: 'stitle' }, x.title), '"',
	' · ', plural(x.nr_patches, 'patch'), ' · from ', x.source,
	x.message_id ? [' · ', msgidEl(x.link_base, x.message_id)] : null,
	current !== false ? null : [' ', h('span', { class: 'moved', title: 'the branch has moved away from this series: its head is no longer ' +
		short(x.head) }, 'branch moved')]);
}

/*
 * The plan's remote: its URL and how its fetches go; "next try in N s"
 * counts down (tick()).
 */
function remoteLine(r) {
	if (!r)
		return null;
	const failing = r.state === 'failing';
	const next = r.next_fetch ? [failing ? ', next try in ' : ', next fetch in ',
		h('span', { class: 'countdown', 'data-until': r.next_fetch }, String(secondsUntil(r.next_fetch))), ' s'] : null;
	return h('div', { class: 'remote remote-' + (r.state || 'unknown'), 'data-state': r.state || '' },
		'remote ', h('code', null, r.url), ': ',
		failing ? [chip('rm', 'failing'), ' since ', timeEl(r.failing_since),
			' (' + r.failures + ' in a row)'] :
			r.state === 'ok' ? [chip('rm', 'ok'), ' fetched ', timeEl(r.last_fetch)] :
				h('span', { class: 'dim' }, 'not fetched yet'),
		next,
		failing && r.error ? [': ', h('span', { class: 'err remote-error' }, r.error)] : null);
}

/*
 * The verdict to show: the stage's, except that a stage whose head's run
 * is running says so (the daemon keeps "queued" until the run ends).
 */
function stageVerdict(st) {
	const v = st.verdict || 'unknown';
	if (st.run && st.run.state === 'running' && ['queued', 'waiting', 'unknown'].includes(v))
		return 'running';
	return v;
}

function stageNode(p, st) {
	const run = st.run;
	const v = stageVerdict(st);
	return h('li', { class: 'node v-' + v, 'data-stage': st.name, 'data-verdict': v },
		h('div', { class: 'nh' },
			a(R.stage(p.name, st.name), h('b', null, st.name)),
			' ', verdict(v)),
		h('div', { class: 'nl' }, commitEl(st.head),
			st.idx > 0 ? h('span', { class: 'dim' }, ' ' + st.commits + ' c') : null),
		seriesLine(st.series, !!st.series_current, 'nl'),
		activity(run) ? h('div', { class: 'nl' }, activity(run)) : null,
		run && run.state === 'done' ? h('div', { class: 'nl' }, counts(st.counts)) : null,
		st.regressions ? h('div', { class: 'nl regr' }, st.regressions + ' regression' +
			(st.regressions > 1 ? 's' : '')) : null,
		st.known || st.fixed ? h('div', { class: 'nl dim' }, [st.fixed ? st.fixed + ' fixed' : null,
			st.known ? st.known + ' known' : null].filter(Boolean).join(', ')) : null,
		run && run.boot_verdict && run.boot_verdict !== 'clean' ?
			h('div', { class: 'nl' }, 'boot: ', h('b', { class: 'boot-' + run.boot_verdict }, run.boot_verdict)) : null,
		stackNote(p, st),
		st.bisection ? h('div', { class: 'nl' }, bisectBadge(st.bisection)) : null);
}

function pipeline(p) {
	return h('ol', { class: 'pipeline', 'data-plan': p.name },
		p.stages.map((st) => stageNode(p, st)));
}

function gate(p) {
	const g = p.gate || {};
	return h('div', { class: 'gate' }, 'gate ',
		h('code', null, p.integration || 'integration'), ': ',
		chip('g', g.state || 'unknown'),
		g.stage ? [' → ', a(R.stage(p.name, g.stage), g.stage), ' ', commitEl(g.commit)] : null,
		g.integration_head ? [' (at ', commitEl(g.integration_head), ')'] : null,
		g.detail ? h('span', { class: 'dim' }, ' ' + g.detail) : null,
		lastDecision(p));
}

/* The gate's last decision about the integration branch, if any. */
function lastDecision(p) {
	const d = (p.gate_decisions || [])[0];
	if (!d)
		return null;
	return h('div', { class: 'gate-decision' }, 'last decision: ',
		chip('g', d.action), ' by ', h('code', null, d.by), ' ', timeEl(d.at),
		h('span', { class: 'dim' }, ' ' + d.detail));
}

function stageTable(p) {
	return table('grid stages', ['#', 'stage', 'branch', 'head', 'stack', 'verdict', 'now',
		'counts', 'regr', 'fixed', 'new', 'known', 'bisection'],
	p.stages.map((st) => h('tr', { 'data-stage': st.name },
		h('td', { class: 'num' }, st.idx),
		h('td', null, a(R.stage(p.name, st.name), st.name)),
		h('td', null, h('code', null, st.branch)),
		h('td', null, commitEl(st.head)),
		h('td', null, st.stack_state === 'ok' ? 'ok' : stackNote(p, st)),
		h('td', null, verdict(stageVerdict(st))),
		h('td', null, activity(st.run) || (st.run ? a(R.run(st.run.id), 'run ' + st.run.id) : '')),
		h('td', null, st.run && st.run.state === 'done' ? counts(st.counts) : ''),
		h('td', { class: 'num' + (st.regressions ? ' regr' : '') }, st.regressions),
		h('td', { class: 'num' }, st.fixed),
		h('td', { class: 'num' }, st.new),
		h('td', { class: 'num' }, st.known),
		h('td', null, bisectBadge(st.bisection)))));
}

/* --- views ---------------------------------------------------------------- */

function evPlan(ev, plan) {
	return !ev.plan || ev.plan === plan;
}

function planHead(p, here) {
	const tab = (href, name) => href === here ? h('b', null, name) : a(href, name);
	return h('div', { class: 'title' },
		h('h1', null, 'plan ', a(R.plan(p.name), p.name)),
		h('span', { class: 'tabs' }, tab(R.plan(p.name), 'stages'), ' · ',
			tab(R.matrix(p.name), 'matrix'), ' · ',
			a('#/bisections?plan=' + enc(p.name), 'bisections'), ' · ',
			a('#/runs?plan=' + enc(p.name), 'runs')),
		h('div', { class: 'sub' }, h('code', null, p.repo), ' base ', h('code', null, p.base),
			' profile ', h('code', { title: p.profile_digest }, p.profile)),
		remoteLine(p.remote));
}

const views = {};

views.home = () => ({
	title: 'plans',
	load: () => get('/plans'),
	relevant: () => true,
	render(d) {
		if (!d.plans.length)
			return h('p', { class: 'empty' }, 'No plans yet: list plans in the configuration or give --plan.');
		return d.plans.map((p) => h('div', { class: 'plan' },
			planHead(p, null), gate(p), pipeline(p)));
	},
});

views.plan = (name) => ({
	title: 'plan ' + name,
	crumbs: [['plan ' + name]],
	async load() {
		const [p, b, r] = await Promise.all([get('/plans/' + enc(name)),
			get('/bisections?limit=10&plan=' + enc(name)),
			get('/runs?limit=15&plan=' + enc(name))]);
		return { p, b: b.bisections, r: r.runs };
	},
	relevant: (ev) => evPlan(ev, name),
	render({ p, b, r }) {
		return [planHead(p, R.plan(name)), gate(p), pipeline(p),
			section('stages', stageTable(p)),
			section('bisections', bisectionTable(b, false)),
			section('recent runs', runTable(r, false))];
	},
});

function changeIndex(changes) {
	const m = new Map();
	for (const c of changes || [])
		m.set(c.test, c);
	return m;
}

/*
 * A filter box and checkboxes over a table's rows; the state survives
 * re-renders (st is the view's state object).
 */
function filterBar(st, tbody, onlyLabel, isInteresting) {
	const apply = () => {
		const q = (st.q || '').toLowerCase();
		for (const tr of tbody.rows) {
			const name = tr.dataset.test || '';
			tr.hidden = (q && !name.toLowerCase().includes(q)) ||
				(st.only && !isInteresting(tr));
		}
	};
	const input = h('input', { id: 'filter', type: 'search', placeholder: 'filter tests',
		value: st.q || '', size: 30,
		oninput: (e) => { st.q = e.target.value; apply(); } });
	const box = h('input', { id: 'only', type: 'checkbox', checked: st.only,
		onchange: (e) => { st.only = e.target.checked; apply(); } });
	apply();
	return h('div', { class: 'bar' }, input, ' ', h('label', null, box, ' ', onlyLabel));
}

views.stage = (plan, name) => {
	const st = { only: false, q: '', open: new Set() };
	const notesQuery = 'plan=' + enc(plan) + '&stage=' + enc(name);
	return {
		title: plan + '/' + name,
		crumbs: [['plan ' + plan, R.plan(plan)], ['stage ' + name]],
		async load() {
			const base = '/plans/' + enc(plan) + '/stages/' + enc(name);
			const [s, series, notes] = await Promise.all([get(base), get(base + '/series'),
				get('/outbox?limit=' + NOTES_LIMIT + '&' + notesQuery)]);
			const run = s.run ? await get('/runs/' + s.run.id) : null;
			return { s, run, series: series.series, notes: notes.outbox };
		},
		relevant: (ev) => ev.plan === plan && (ev.stage === name || !ev.stage) ||
			(ev.kind === 'bisection' && !ev.plan),
		recheck: (d) => outboxRecheck(d.notes),
		render: (d) => renderStage(plan, d, st, notesQuery),
	};
};

/* The step whose log the results' line numbers refer to: the console
 * step, which every profile has last (the daemon assumes the same). */
function consoleStep(run) {
	if (!run || !run.steps)
		return null;
	for (let i = run.steps.length - 1; i >= 0; i--)
		if (run.steps[i].log)
			return run.steps[i];
	return null;
}

function stepLinks(run) {
	return (run.steps || []).map((s) => h('span', { class: 'steplink' },
		s.log ? a(R.log(run.id, s.idx), s.name) : s.name, ' ',
		chip('st', s.state), ' ', durEl(s.started_at, s.state === 'running' ? null : s.finished_at || s.started_at)));
}

function bootLine(run) {
	if (!run || !run.boot_verdict)
		return null;
	const cs = consoleStep(run);
	return h('div', { class: 'boot' }, 'boot verdict: ',
		h('b', { class: 'boot-' + run.boot_verdict }, run.boot_verdict),
		run.boot_text ? [' — ', cs && run.boot_line ?
			a(R.log(run.id, cs.idx, run.boot_line), h('code', null, run.boot_text)) :
			h('code', null, run.boot_text)] : null);
}

/* The series applied to a stage, newest first, each with its patches. */
function seriesSection(list, s) {
	if (!list || !list.length)
		return null;
	return section('series from mail (' + list.length + ')', list.map((x) => h('div',
		{ class: 'series-item', 'data-series': x.id },
		seriesLine(x, x.id === (s.series || {}).id ? !!s.series_current : null, 'sline'),
		h('div', { class: 'dim' }, 'applied ', timeEl(x.at), ' by ', x.by, ' onto ', commitEl(x.onto),
			x.old_head ? [' (was ', commitEl(x.old_head), ')'] : null, ', head ', commitEl(x.head)),
		table('grid patches', ['#', 'subject', 'author', 'commit'],
			(x.patches || []).map((q) => h('tr', { 'data-number': q.number },
				h('td', { class: 'num' }, q.number),
				h('td', { class: 'subject' }, q.subject,
					q.message_id ? [' ', msgidEl(x.link_base, q.message_id)] : null),
				h('td', null, q.author),
				h('td', null, commitEl(q.commit))))))));
}

/* The summary of a stage's commit checks, next to its verdict (not part of it). */
function eachLine(e) {
	if (!e)
		return null;
	return h('span', { class: 'each' }, e.summary.text,
		e.total > e.checked ? h('span', { class: 'dim' },
			' (the newest ' + e.checked + ' of ' + e.total + ' commits)') : null);
}

/* One check of a commit: its status, linked to the run that did it. */
function eachCheck(c, extra) {
	if (!c)
		return h('span', { class: 'dim' }, '—');
	const word = chip('s', c.status, c.detail || undefined);
	return h('span', null, c.run_id ? a(R.run(c.run_id), word) : word, extra ? [' ', extra] : null);
}

/* The stage's commits with the checks of each (the profile's each_commit). */
function eachSection(s) {
	const e = s.each_commit;
	const rows = [];

	for (const c of e.commits) {
		const w = c.build_warnings;
		const cp = c.checkpatch;
		rows.push(h('tr', { 'data-commit': c.commit },
			h('td', null, commitEl(c.commit)),
			h('td', { class: 'subject' }, c.subject),
			h('td', null, eachCheck(c.build, c.build && c.build.warnings ?
				h('span', { class: 'dim' }, c.build.warnings + ' w') : null)),
			h('td', null, w ? chip('s', w.status) : h('span', { class: 'dim' }, '—')),
			h('td', null, eachCheck(cp, cp && cp.status !== 'pending' && cp.status !== 'error' ?
				h('span', { class: 'dim' }, cp.errors + 'e ' + cp.warnings + 'w' +
					(cp.checks ? ' ' + cp.checks + 'c' : '')) : null))));
		const notes = [];
		if (c.build && c.build.status !== 'pass' && c.build.detail)
			notes.push(h('div', null, 'build: ', h('code', null, c.build.detail)));
		for (const l of w ? w.new : [])
			notes.push(h('div', null, 'new warning: ', h('code', null, l)));
		for (const l of cp ? cp.lines.slice(0, 5) : [])
			notes.push(h('div', null, 'checkpatch: ', h('code', null, l)));
		if (cp && cp.lines.length > 5)
			notes.push(h('div', { class: 'dim' }, (cp.lines.length - 5) + ' more checkpatch lines'));
		if (cp && cp.status === 'error' && cp.detail)
			notes.push(h('div', null, 'checkpatch: ', h('code', null, cp.detail)));
		if (notes.length)
			rows.push(h('tr', { class: 'each-notes' }, h('td', null), h('td', { colspan: 4, class: 'detail' }, notes)));
	}
	return section('commits (' + e.checked + (e.total > e.checked ? ' of ' + e.total : '') + ')',
		h('p', null, eachLine(e)),
		table('grid commits each', ['commit', 'subject', 'build', 'new warnings', 'checkpatch'], rows));
}

function renderStage(plan, { s, run, series, notes }, st, notesQuery) {
	const changes = changeIndex(s.changes);
	const cs = consoleStep(run);
	const out = [];

	out.push(h('div', { class: 'title' },
		h('h1', null, a(R.plan(plan), plan), ' / ', s.name, ' ', verdict(stageVerdict(s))),
		s.title ? h('div', { class: 'sub' }, s.title) : null));
	out.push(dl([
		['branch', h('code', null, s.branch)],
		['head', s.head ? h('code', null, s.head) : h('span', { class: 'dim' }, 'does not resolve')],
		['tree', s.tree ? h('code', null, s.tree) : null],
		['stack', s.stack_state === 'ok' ? 'ok' : stackNote({ name: plan }, s)],
		['counts', s.run ? counts(s.counts) : null],
		['changes', h('span', null,
			h('span', { class: s.regressions ? 'regr' : '' }, s.regressions + (s.regressions === 1 ? ' regression' : ' regressions')),
			', ' + s.fixed + ' fixed, ' + s.new + ' new, ' + s.skipped + ' skipped, ' + s.known + ' known')],
		['baseline', s.baseline_run_id ? a(R.run(s.baseline_run_id), 'run ' + s.baseline_run_id) :
			h('span', { class: 'dim' }, 'none')],
		['run', run ? h('span', null, a(R.run(run.id), 'run ' + run.id), ' ', chip('r', run.state),
			run.verdict ? [' ', chip('s', run.verdict)] : null, ' ',
			activity(s.run) || '', run.reused_from ? [' reused from ', a(R.run(run.reused_from), 'run ' + run.reused_from)] : null) : null],
		['steps', run ? stepLinks(run) : null],
		['bisection', bisectBadge(s.bisection)],
		['series', seriesLine(s.series, !!s.series_current, 'sline')],
		['commit checks', eachLine(s.each_commit)],
	]));
	if (run)
		out.push(bootLine(run));
	if (run && run.error)
		out.push(h('div', { class: 'err' }, 'error: ', run.failed_step ? run.failed_step + ': ' : '', run.error));

	/* The changes against the stage below. */
	if (s.changes && s.changes.length) {
		out.push(section('changes against ' + (s.idx > 1 ? 'the stage below' : 'the base'),
			table('grid changes', ['kind', 'test', 'baseline', 'stage', 'detail'],
				s.changes.map((c) => h('tr', { class: 'ck-' + c.kind, 'data-test': c.test },
					h('td', null, kindChip(c.kind)),
					h('td', null, a(R.history(plan, c.test), c.test)),
					h('td', null, status(c.before)),
					h('td', null, status(c.after)),
					h('td', { class: 'detail' }, c.detail || ''))))));
	}

	/* The head's results, failures and changes first. */
	const rank = (r) => {
		const c = changes.get(r.test);
		if (c && (c.kind === 'regression' || c.kind === 'missing'))
			return 0;
		if (r.status === 'fail' || r.status === 'error')
			return c && c.kind === 'known' ? 2 : 1;
		return c ? 3 : 4;
	};
	const results = (s.results || []).slice().sort((x, y) => rank(x) - rank(y) ||
		(x.test < y.test ? -1 : x.test > y.test ? 1 : 0));
	const tbody = h('tbody', null, results.map((r) => {
		const c = changes.get(r.test);
		const cls = [c ? 'ck-' + c.kind : '', 's-' + r.status].join(' ');
		return h('tr', { class: cls, 'data-test': r.test, 'data-change': c ? c.kind : null },
			h('td', null, a(R.history(plan, r.test), r.test)),
			h('td', null, status(r.baseline)),
			h('td', null, status(r.status)),
			h('td', null, c ? kindChip(c.kind) : ''),
			h('td', { class: 'detail' }, r.detail || ''),
			h('td', { class: 'num' }, r.line && run && cs ?
				a(R.log(run.id, cs.idx, r.line), 'L' + r.line) : ''));
	}));
	out.push(section('results' + (run ? ' of run ' + run.id : ''),
		results.length ? [filterBar(st, tbody, 'only failures and changes',
			(tr) => tr.dataset.change || /s-(fail|error)/.test(tr.className)),
		h('table', { class: 'grid results' },
			h('thead', null, h('tr', null, ['test', 'baseline', 'status', 'change', 'detail', 'log']
				.map((t) => h('th', null, t)))), tbody)] :
			h('p', { class: 'empty' }, 'No results yet.')));

	out.push(seriesSection(series, s));
	out.push(outboxSection(notes, st, notesQuery));
	out.push(s.each_commit ? eachSection(s) :
		section('commits (' + (s.commits || []).length + ')',
		table('grid commits', ['commit', 'subject', 'author'],
			(s.commits || []).map((c) => h('tr', null,
				h('td', null, commitEl(c.id)),
				h('td', { class: 'subject' }, c.subject),
				h('td', null, c.author))))));
	out.push(section('runs of this stage', runTable(s.runs || [], true)));
	return out;
}

function runTable(runs, compact) {
	if (!runs || !runs.length)
		return h('p', { class: 'empty' }, 'No runs.');
	const head = compact ? ['run', 'state', 'verdict', 'now', 'boot', 'queued', 'took'] :
		['run', 'stage', 'commit', 'reason', 'state', 'verdict', 'now', 'counts', 'queued', 'took'];
	return table('grid runs', head, runs.map((r) => h('tr', { 'data-run': r.id },
		h('td', null, a(R.run(r.id), String(r.id)), r.reused_from ?
			h('span', { class: 'dim', title: 'reused the results of run ' + r.reused_from }, ' ↺') : null),
		compact ? null : h('td', null, r.stage ? a(R.stage(r.plan, r.stage), r.stage) : ''),
		compact ? null : h('td', null, commitEl(r.commit)),
		compact ? null : h('td', null, r.reason),
		h('td', null, chip('r', r.state)),
		h('td', null, r.verdict ? chip('s', r.verdict) : ''),
		h('td', null, activity(r) || ''),
		compact ? h('td', null, r.boot_verdict || '') : h('td', null, r.state === 'done' ? counts(r.counts) : ''),
		h('td', null, timeEl(r.queued_at)),
		h('td', null, r.started_at ? durEl(r.started_at, r.finished_at) : ''))));
}

/* The API's query string from a view's: only the keys it takes. */
function apiQuery(q, keys) {
	const p = new URLSearchParams();
	for (const k of keys)
		if (q.get(k))
			p.set(k, q.get(k));
	return p.toString();
}

/* A list's state filter: "state: all · a · b", links that keep the rest of the query. */
function stateBar(route, q, states, attrs) {
	const link = (state) => {
		const p = new URLSearchParams(q);
		if (state)
			p.set('state', state);
		else
			p.delete('state');
		const href = route + (p.toString() ? '?' + p.toString() : '');
		return (q.get('state') || '') === (state || '') ? h('b', null, state || 'all') :
			a(href, state || 'all');
	};
	return h('div', Object.assign({ class: 'bar' }, attrs), 'state: ',
		['', ...states].map((x, i) => [i ? ' · ' : '', link(x)]));
}

views.runs = (q) => ({
	title: 'runs',
	crumbs: [['runs']],
	load() {
		return get('/runs?' + apiQuery(q, ['plan', 'stage', 'state', 'limit']));
	},
	relevant: (ev) => /^run-|^step$/.test(ev.kind) && (!q.get('plan') || ev.plan === q.get('plan')),
	render(d) {
		return [h('h1', null, 'runs', q.get('plan') ? ' of plan ' + q.get('plan') : ''),
			stateBar('#/runs', q, ['queued', 'running', 'done', 'canceled', 'superseded']),
			runTable(d.runs, false)];
	},
});

/* --- run page and its log viewer (web/logview.js) -------------------------- */

/*
 * Line number -> what failed there, in the log of "step": the lines of
 * failing results and the boot verdict's line, which are in the console
 * step's log only.
 */
function logMarks(run, step, results) {
	const cs = consoleStep(run);
	const m = new Map();
	if (cs && cs.idx === step.idx) {
		for (const r of results || [])
			if (r.line && (r.status === 'fail' || r.status === 'error'))
				m.set(r.line, r.test);
		if (run.boot_line && run.boot_verdict && run.boot_verdict !== 'clean')
			m.set(run.boot_line, m.get(run.boot_line) || 'boot: ' + run.boot_verdict);
	}
	return m;
}

views.run = (id, stepIdx, q) => {
	const v = {
		title: 'run ' + id,
		log: null,	/* the viewer of step stepIdx, once it has a log */
		logBox: h('section', { class: 'logview', id: 'log' }),
		async load() {
			const [run, res] = await Promise.all([get('/runs/' + id), get('/runs/' + id + '/results')]);
			return { run, results: res.results };
		},
		relevant: (ev) => ev.run_id === id || (ev.kind === 'bisection' && !ev.plan),
		render(d) {
			const { run } = d;
			v.crumbs = [['plan ' + run.plan, R.plan(run.plan)],
				run.stage ? ['stage ' + run.stage, R.stage(run.plan, run.stage)] : null, ['run ' + id]];
			const step = stepIdx === null ? null : run.steps.find((s) => s.idx === stepIdx);
			const now = step && { running: step.state === 'running', size: step.log_bytes || 0,
				marks: logMarks(run, step, d.results) };
			if (step && step.log && safeHref(step.log) && !v.log) {
				v.log = new window.kstageLog.LogView(v.logBox, step.log, {
					...now,
					title: ['log of step ', h('b', null, step.name)],
					line: Number(q.get('line')) || 0,
					lineHref: (n) => safeHref(R.log(run.id, step.idx, n)),
					onError: (msg) => setStatus('log: ' + msg),
				});
			} else if (v.log) {
				v.log.update(now);
			} else if (step) {
				v.logBox.replaceChildren(h('h2', null, 'log of step ', h('b', null, step.name)),
					h('p', { class: 'empty' }, 'No log yet: the step is ' + step.state + '.'));
			}
			return renderRun(d, step ? v.logBox : null, stepIdx);
		},
		dispose() {
			if (v.log)
				v.log.destroy();
		},
	};
	return v;
};

function renderRun({ run, results }, logBox, stepIdx) {
	const cs = consoleStep(run);
	const out = [];
	out.push(h('div', { class: 'title' },
		h('h1', null, 'run ', String(run.id), ' ', chip('r', run.state), ' ',
			run.verdict ? chip('s', run.verdict) : ''),
		h('div', { class: 'sub' }, a(R.plan(run.plan), run.plan), ' / ',
			run.stage ? a(R.stage(run.plan, run.stage), run.stage) : '(no stage)', ' ',
			commitEl(run.commit))));
	out.push(dl([
		['commit', h('code', null, run.commit)],
		['tree', h('code', null, run.tree)],
		['profile', h('code', { title: run.profile_digest }, run.profile)],
		['reason', run.reason],
		['tests', run.tests && run.tests.length ? run.tests.join(' ') : 'all'],
		['bisection', run.bisection_id ? a(R.bisection(run.bisection_id), 'bisection ' + run.bisection_id) : null],
		['reused from', run.reused_from ? a(R.run(run.reused_from), 'run ' + run.reused_from) : null],
		['now', run.state === 'running' ? activity({ state: 'running', current_step: run.current_step,
			step_started_at: (run.steps.find((s) => s.name === run.current_step) || {}).started_at,
			started_at: run.started_at }) : null],
		['counts', run.state === 'done' ? counts(run.counts) : null],
		['queued', timeEl(run.queued_at)],
		['started', run.started_at ? [timeEl(run.started_at), ' on slot ', String(run.slot ?? '?'),
			run.node ? ' of node ' + run.node : '', run.job ? ' (Slurm job ' + run.job + ')' : ''] : null],
		['finished', run.finished_at ? [timeEl(run.finished_at), ' after ', fmtDur(run.finished_at - run.started_at)] : null],
		['overhead', run.checkout_ms !== null && run.checkout_ms !== undefined ?
			'checkout ' + run.checkout_ms + ' ms, overhead ' + (run.overhead_ms ?? '?') + ' ms' : null],
	]));
	out.push(bootLine(run));
	if (run.error)
		out.push(h('div', { class: 'err' }, 'error: ', run.failed_step ? run.failed_step + ': ' : '', run.error));
	out.push(section('steps', table('grid steps', ['#', 'step', 'state', 'exit', 'started', 'took', 'log', ''],
		run.steps.map((s) => h('tr', { class: s.idx === stepIdx ? 'sel' : null, 'data-step': s.name },
			h('td', { class: 'num' }, s.idx),
			h('td', null, s.name),
			h('td', null, chip('st', s.state)),
			h('td', { class: 'num' }, s.signal ? 'sig ' + s.signal : s.exit_code ?? ''),
			h('td', null, timeEl(s.started_at)),
			h('td', null, s.started_at ? durEl(s.started_at, s.state === 'running' ? null : s.finished_at || s.started_at) : ''),
			h('td', null, s.log ? [a(R.log(run.id, s.idx), 'view'), ' ',
				h('a', { href: safeHref(s.log), class: 'dim' }, 'raw'), ' ',
				h('span', { class: 'dim' }, fmtBytes(s.log_bytes)),
				s.log_dropped ? h('span', { class: 'warn' }, ' (' + fmtBytes(s.log_dropped) + ' dropped)') : null] : ''),
			h('td', null, s.idx === stepIdx ? 'shown below' : ''))))));
	const bad = (results || []).filter((r) => r.status === 'fail' || r.status === 'error');
	if (results && results.length) {
		out.push(section('results: ' + results.length + ' (' + bad.length + ' failed)',
			table('grid results', ['test', 'status', 'detail', 'log'],
				bad.concat(results.filter((r) => !(r.status === 'fail' || r.status === 'error')))
					.map((r) => h('tr', { class: 's-' + r.status, 'data-test': r.test },
						h('td', null, a(R.history(run.plan, r.test), r.test)),
						h('td', null, status(r.status)),
						h('td', { class: 'detail' }, r.detail || ''),
						h('td', { class: 'num' }, r.line && cs ? a(R.log(run.id, cs.idx, r.line), 'L' + r.line) : ''))))));
	}
	if (logBox)
		out.push(logBox);
	return out;
}

/* --- matrix and history ---------------------------------------------------- */

const LETTER = { pass: 'P', fail: 'F', skip: 'S', error: 'E' };
const CHANGE_MARK = { regression: '!', missing: '!', known: '~', fixed: '+', new: '', skipped: '' };

views.matrix = (plan) => {
	const st = { only: false, q: '' };
	return {
		title: plan + ' matrix',
		crumbs: [['plan ' + plan, R.plan(plan)], ['matrix']],
		async load() {
			/*
			 * The matrix has statuses only; what counts as a
			 * regression (known failures, acks, missing tests) is the
			 * daemon's call, so the changes of the stages that have
			 * any are fetched too (usually a few stages), as soon as
			 * the plan says which, while the matrix is on its way.
			 */
			const pp = get('/plans/' + enc(plan));
			const mp = get('/plans/' + enc(plan) + '/matrix');
			const dp = pp.then((p) => Promise.all(p.stages
				.filter((x) => x.regressions || x.known || x.fixed)
				.map((x) => get('/plans/' + enc(plan) + '/stages/' + enc(x.name)))));
			const [p, m, details] = await Promise.all([pp, mp, dp]);
			const changes = {};
			details.forEach((d) => { changes[d.name] = (d.changes || []).map((c) => [c.test, c.kind]); });
			return { p, m, changes };
		},
		relevant: (ev) => evPlan(ev, plan) && ev.kind !== 'bisection',
		render: ({ p, m, changes }) => [planHead(p, R.matrix(plan)), pipeline(p),
			renderMatrix(plan, m, changes, st)],
	};
};

/*
 * The matrix is text: a row per test, a 3-character column per stage
 * ("P  F! S  · "), in a monospace font under vertical stage names.  Only
 * cells that are not a plain pass get an element of their own (a span
 * with data-col and data-change), so 50 stages x 200 tests is a few
 * hundred elements to lay out, not 10000 table cells.
 */
const CELL = 3;

function cellWord(s, ch) {
	let w = s ? LETTER[s] || s[0] : '·';
	if (ch)
		w = (ch === 'missing' ? 'M' : w) + CHANGE_MARK[ch];
	return w.padEnd(CELL - 1).slice(0, CELL - 1);
}

function renderMatrix(plan, m, changes, st) {
	const n = m.stages.length;
	const kinds = m.stages.map((name) => new Map(changes[name] || []));
	const rows = m.tests.map((t) => ({ test: t.test, status: t.status }));
	const known = new Set(rows.map((r) => r.test));
	/* A test that vanished everywhere but below is still a row. */
	kinds.forEach((map) => {
		for (const [test, kind] of map) {
			if (kind === 'missing' && !known.has(test)) {
				known.add(test);
				rows.push({ test, status: new Array(n).fill(null) });
			}
		}
	});
	let regressions = 0;
	const tbody = document.createElement('tbody');
	for (const t of rows) {
		const tr = document.createElement('tr');
		tr.dataset.test = t.test;
		const th = document.createElement('th');
		th.appendChild(a(R.history(plan, t.test), t.test));
		const td = document.createElement('td');
		td.className = 'cells';
		let text = '';
		let interesting = false;
		for (let i = 0; i < n; i++) {
			const s = t.status[i];
			const ch = kinds[i].get(t.test) || null;
			const word = cellWord(s, ch);
			if (s === 'pass' && !ch) {
				text += word + ' ';
				continue;
			}
			if (text) {
				td.appendChild(document.createTextNode(text));
				text = '';
			}
			const span = document.createElement('span');
			span.className = (s ? 's-' + s : 'none') + (ch ? ' c-' + ch : '');
			span.dataset.col = i;
			if (ch) {
				span.dataset.change = ch;
				if (ch === 'regression' || ch === 'missing')
					regressions++;
				interesting = true;
			}
			if (s === 'fail' || s === 'error')
				interesting = true;
			span.textContent = word;
			td.appendChild(span);
			text = ' ';
		}
		if (text)
			td.appendChild(document.createTextNode(text));
		if (interesting)
			tr.dataset.interesting = '1';
		tr.appendChild(th);
		tr.appendChild(td);
		tbody.appendChild(tr);
	}
	/* Titles are made where the pointer is: stage, test, status. */
	tbody.addEventListener('mousemove', (e) => {
		const td = e.target.closest('td.cells');
		if (!td)
			return;
		const probe = td.ownerDocument.getElementById('cellprobe');
		const w = probe ? probe.getBoundingClientRect().width : 0;
		if (!w)
			return;
		const cs = getComputedStyle(td);
		const x = e.clientX - td.getBoundingClientRect().left - parseFloat(cs.paddingLeft);
		const i = Math.floor(x / w);
		if (i < 0 || i >= n)
			return;
		const row = rows.find((r) => r.test === td.parentNode.dataset.test);
		const ch = kinds[i].get(row.test);
		td.title = m.stages[i] + ': ' + row.test + ': ' + (row.status[i] || 'no result') +
			(ch ? ' (' + ch + ')' : '');
	});
	const head = h('tr', null, h('th', { class: 'corner' }, rows.length + ' tests × ' + n + ' stages',
		h('span', { id: 'cellprobe', class: 'probe' }, ' '.repeat(CELL))),
	h('th', { class: 'cols' }, m.stages.map((s, i) => h('span', { class: 'col', title: s, 'data-col': i },
		a(R.stage(plan, s), i + ' ' + s)))));
	return section('test × stage matrix',
		h('p', { class: 'legend' }, 'P pass · F fail · S skip · E error · · no result · ',
			h('span', { class: 'c-regression' }, 'F!'), ' regression against the stage below · ',
			h('span', { class: 'c-missing' }, 'M!'), ' missing · ',
			h('span', { class: 'c-known' }, 'F~'), ' known failure · ',
			h('span', { class: 'c-fixed' }, 'P+'), ' fixed · ',
			h('b', { class: regressions ? 'regr' : '' }, regressions + (regressions === 1 ? ' regression' : ' regressions'))),
		filterBar(st, tbody, 'only failing or changing tests', (tr) => tr.dataset.interesting),
		h('div', { class: 'scroll' }, h('table', { class: 'matrix' }, h('thead', null, head), tbody)));
}

views.history = (plan, test) => ({
	title: test,
	crumbs: [['plan ' + plan, R.plan(plan)], ['history']],
	load: () => get('/plans/' + enc(plan) + '/history?test=' + enc(test)),
	relevant: (ev) => ev.plan === plan && ev.kind === 'run-finished',
	render: (d) => [h('h1', null, 'history of ', h('code', null, d.test)),
		d.history.length ? table('grid history', ['stage', 'run', 'commit', 'status', 'detail', 'finished'],
			d.history.map((x) => h('tr', { class: 's-' + x.status },
				h('td', null, x.stage ? a(R.stage(plan, x.stage), x.stage) : ''),
				h('td', null, a(R.run(x.run_id), String(x.run_id))),
				h('td', null, commitEl(x.commit)),
				h('td', null, status(x.status)),
				h('td', { class: 'detail' }, x.detail || ''),
				h('td', null, timeEl(x.finished_at))))) :
			h('p', { class: 'empty' }, 'This test has no results in plan ' + plan + '.')],
});

/* --- bisections ------------------------------------------------------------ */

function bisectionTable(list, withPlan) {
	if (!list || !list.length)
		return h('p', { class: 'empty' }, 'No bisections.');
	return table('grid bisections', ['#', withPlan ? 'plan' : null, 'stage', 'state', 'tests', 'culprit',
		'runs', 'created'].filter((x) => x !== null),
	list.map((b) => h('tr', { 'data-bisection': b.id },
		h('td', null, a(R.bisection(b.id), String(b.id))),
		withPlan ? h('td', null, a(R.plan(b.plan), b.plan)) : null,
		h('td', null, b.stage ? a(R.stage(b.plan, b.stage), b.stage) : ''),
		h('td', null, chip('b', b.state)),
		h('td', { class: 'detail' }, (b.tests || []).join(' ')),
		h('td', null, b.culprit ? [commitEl(b.culprit.commit), ' ', h('span', { class: 'subject' }, b.culprit.subject)] :
			b.range ? ['range ', commitEl(b.range.good), '..', commitEl(b.range.bad)] : ''),
		h('td', { class: 'num' }, b.runs + (b.reused ? ' (+' + b.reused + ' reused)' : '')),
		h('td', null, timeEl(b.created_at)))));
}

views.bisections = (q) => ({
	title: 'bisections',
	crumbs: [['bisections']],
	load() {
		return get('/bisections?' + apiQuery(q, ['plan', 'stage', 'limit']));
	},
	relevant: (ev) => ev.kind === 'bisection',
	render: (d) => [h('h1', null, 'bisections', q.get('plan') ? ' of plan ' + q.get('plan') : ''),
		bisectionTable(d.bisections, true)],
});

views.bisection = (id) => {
	let runIds = new Set();
	const st = { open: new Set() };
	return {
		title: 'bisection ' + id,
		async load() {
			const [b, notes] = await Promise.all([get('/bisections/' + id),
				get('/outbox?limit=' + NOTES_LIMIT + '&bisection=' + id)]);
			return { b, notes: notes.outbox };
		},
		relevant: (ev) => ev.bisection_id === id || (ev.run_id && runIds.has(ev.run_id)),
		recheck: (d) => outboxRecheck(d.notes),
		render({ b, notes }) {
			runIds = new Set((b.steps || []).map((s) => s.run_id));
			this.crumbs = [['plan ' + b.plan, R.plan(b.plan)],
				b.stage ? ['stage ' + b.stage, R.stage(b.plan, b.stage)] : null, ['bisection ' + id]];
			return renderBisection(b, outboxSection(notes, st, 'bisection=' + id));
		},
	};
};

function pct(x) {
	return x === null || x === undefined ? null : Math.round(x * 100) + '%';
}

function strip(b) {
	const commits = (b.commits || []).filter((c) => c.seq >= 0);
	const culprit = b.culprit && b.culprit.commit;
	const range = b.range || {};
	const untestable = new Set(range.untestable || []);
	const cells = [];
	let lastStage = null;
	cells.push(h('span', { class: 'cm m-good base', title: 'good: ' + (b.good_commit || '') }, 'G'));
	for (const c of commits) {
		if (c.stage !== lastStage) {
			cells.push(h('span', { class: 'stg' }, c.stage || ''));
			lastStage = c.stage;
		}
		const marks = ['cm', 'm-' + c.mark];
		if (c.commit === culprit)
			marks.push('culprit');
		if (untestable.has(c.commit))
			marks.push('untestable');
		if (c.commit === range.good || c.commit === range.bad)
			marks.push('edge');
		cells.push(h('a', { class: marks.join(' '), href: '#c-' + c.seq,
			title: c.seq + ' ' + short(c.commit) + ' ' + c.mark + (c.commit === culprit ? ' CULPRIT' : '') +
				' — ' + c.subject, 'data-mark': c.mark,
			onclick: (e) => { e.preventDefault(); const r = document.getElementById('c-' + c.seq); if (r) r.scrollIntoView({ block: 'center' }); } },
		c.commit === culprit ? 'X' : { good: 'g', bad: 'b', skip: 's', pending: '…', untested: '·' }[c.mark] || '?'));
		if (c.boundary)
			cells.push(h('span', { class: 'bnd', title: 'stage head' }, '|'));
	}
	return h('div', { class: 'strip-wrap' },
		h('div', { class: 'strip', role: 'img', 'aria-label': 'commit range with marks' }, cells),
		h('div', { class: 'legend' }, 'G the good base · g good · b bad · s skip (untestable) · … running · · untested · X first bad commit · | stage head'));
}

function excerpt(title, x, cls) {
	if (!x)
		return h('div', { class: 'excerpt' }, h('h3', null, title), h('p', { class: 'empty' }, 'no excerpt'));
	const lines = (x.text || '').replace(/\n$/, '').split('\n');
	const pre = h('pre', { class: 'log' }, lines.map((t, i) => h('span',
		{ class: 'l' + (BAD_LINE.test(t) ? ' bad' : '') },
		h('a', { class: 'ln', 'data-n': x.first_line + i, href: null }), t + '\n')));
	const m = /\/runs\/(\d+)\/steps\/(\d+)\/log$/.exec(x.log || '');
	return h('div', { class: 'excerpt ' + cls },
		h('h3', null, title, ' — ', a(R.run(x.run_id), 'run ' + x.run_id),
			m ? [' ', a(R.log(x.run_id, Number(m[2]), x.first_line + 8), 'full log')] : null),
		pre);
}

function renderBisection(b, notes) {
	const out = [];
	out.push(h('div', { class: 'title' },
		h('h1', null, 'bisection ', String(b.id), ' ', chip('b', b.state)),
		h('div', { class: 'sub' }, a(R.plan(b.plan), b.plan), ' / ',
			b.stage ? a(R.stage(b.plan, b.stage), b.stage) : '', ' · ', b.reason,
			' · tests: ', (b.tests || []).map((t, i) => [i ? ' ' : '', a(R.history(b.plan, t), t)]))));
	if (b.culprit) {
		out.push(h('div', { class: 'culprit' },
			h('div', null, h('b', null, 'first bad commit: '), h('code', { class: 'c' }, b.culprit.commit)),
			h('div', { class: 'subject' }, b.culprit.subject),
			h('div', null, 'author: ', b.culprit.author, ' · stage: ',
				b.culprit.stage ? a(R.stage(b.plan, b.culprit.stage), b.culprit.stage) : '?')));
	} else if (b.range) {
		out.push(h('div', { class: 'culprit inconclusive' },
			h('div', null, h('b', null, 'inconclusive: '), 'the first bad commit is in ',
				commitEl(b.range.good), '..', commitEl(b.range.bad)),
			b.range.untestable && b.range.untestable.length ?
				h('div', null, 'untestable: ', b.range.untestable.map((c) => [commitEl(c), ' '])) : null));
	}
	out.push(dl([
		['good', h('code', null, b.good_commit)],
		['bad', h('code', null, b.bad_commit)],
		['detail', b.detail],
		['runs/step', b.runs_per_step],
		['confirm runs', b.confirm_runs],
		['fail rate', pct(b.fail_rate)],
		['confidence', pct(b.confidence)],
		['rounds', b.rounds],
		['runs', b.runs + ' ran, ' + b.reused + ' reused'],
		['created', timeEl(b.created_at)],
		['updated', timeEl(b.updated_at)],
		['finished', b.finished_at ? [timeEl(b.finished_at), ' after ', fmtDur(b.finished_at - b.created_at)] : null],
	]));
	out.push(notes);
	out.push(section('range', strip(b),
		table('grid commits', ['#', 'commit', 'subject', 'author', 'stage', 'mark'],
			(b.commits || []).map((c) => h('tr', { id: 'c-' + c.seq,
				class: 'm-' + c.mark + (b.culprit && c.commit === b.culprit.commit ? ' culprit' : '') },
			h('td', { class: 'num' }, c.seq),
			h('td', null, commitEl(c.commit)),
			h('td', { class: 'subject' }, c.subject),
			h('td', null, c.author),
			h('td', null, c.seq < 0 ? h('span', { class: 'dim' }, 'good base') :
				[c.stage || '', c.boundary ? h('span', { class: 'dim' }, ' (head)') : null]),
			h('td', null, chip('m', c.mark)))))));
	const bySeq = new Map((b.commits || []).map((c) => [c.seq, c]));
	out.push(section('steps', (b.steps || []).length ?
		table('grid bsteps', ['run', 'phase', 'round', 'commit', 'subject', 'run state', 'verdict'],
			b.steps.map((s) => h('tr', null,
				h('td', null, a(R.run(s.run_id), String(s.run_id))),
				h('td', null, s.phase),
				h('td', { class: 'num' }, s.round),
				h('td', null, commitEl(s.commit), s.seq < 0 ? h('span', { class: 'dim' }, ' (good base)') : null),
				h('td', { class: 'subject' }, (bySeq.get(s.seq) || {}).subject || ''),
				h('td', null, chip('r', s.run_state)),
				h('td', null, s.verdict ? chip('m', s.verdict) : h('span', { class: 'dim' }, 'running'))))) :
		h('p', { class: 'empty' }, 'No runs yet.')));
	if (b.excerpts)
		out.push(section('log excerpts', h('div', { class: 'excerpts' },
			excerpt('culprit', b.excerpts.culprit, 'x-bad'),
			excerpt('its parent', b.excerpts.parent, 'x-good'))));
	return out;
}

/* --- notifications (the outbox: webhooks, mail, Patchwork checks) ---------- */

const OUTBOX_STATES = ['pending', 'delivered', 'failed', 'superseded'];
/* Events that may write outbox rows (daemon/outbox.h): the views that
 * list notifications look again after one of them. */
const NOTIFYING = new Set(['run-finished', 'stage-verdict', 'bisection', 'gate']);
const CHANNEL_NAME = { webhook: 'webhook', mail: 'mail', patchwork: 'Patchwork check' };

/*
 * A delivery is written, retried and given up on by the daemon's sender,
 * which writes no event: while a row is pending the view looks again
 * when it is due (at least every RECHECK_MAX_MS, at most every
 * RECHECK_MIN_MS while an attempt is in flight).
 */
const RECHECK_MIN_MS = 1500;
const RECHECK_MAX_MS = 30000;
function outboxRecheck(rows) {
	const due = (rows || []).filter((o) => o.state === 'pending').map((o) => o.next_at || 0);
	if (!due.length)
		return null;
	return Math.min(RECHECK_MAX_MS, Math.max(RECHECK_MIN_MS, Math.min(...due) - Date.now() + 300));
}

/* What a row is about: its run or bisection, as links. */
function outboxAbout(o) {
	return [o.bisection_id ? a(R.bisection(o.bisection_id), 'bisection ' + o.bisection_id) : null,
		o.bisection_id && o.run_id ? ' ' : null,
		o.run_id ? a(R.run(o.run_id), 'run ' + o.run_id) : null];
}

/* The check a Patchwork row posts: patch 2/3 success "description". */
function checkLine(c) {
	if (!c)
		return null;
	return h('div', { class: 'check' }, 'patch ', h('b', { class: 'pnum' }, c.number + '/' + c.of), ' ',
		chip('pw', c.state), ' ', h('code', { class: 'ctx' }, c.context), ' ',
		h('span', { class: 'cdesc' }, c.description || ''),
		c.msgid ? [' ', h('code', { class: 'msgid' }, '<' + c.msgid + '>')] : null,
		c.target_url && extHref(c.target_url) ? [' ', h('a', { href: extHref(c.target_url),
			rel: 'noopener noreferrer' }, 'target')] : null);
}

/* A row's attempts, in a <details> whose open state st.open keeps. */
function attemptsBox(o, st) {
	const list = o.attempts || [];
	if (!list.length)
		return h('span', { class: 'dim' }, 'no attempt yet');
	return h('details', { class: 'attempts', open: st.open.has(o.id),
		ontoggle: (e) => { if (e.target.open) st.open.add(o.id); else st.open.delete(o.id); } },
	h('summary', null, plural(list.length, 'attempt'),
		list.some((x) => !x.ok) ? h('span', { class: 'dim' }, ' (' + list.filter((x) => !x.ok).length + ' failed)') : null),
	table('grid att', ['#', 'at', 'result', 'code', 'error'], list.map((x) => h('tr',
		{ 'data-n': x.n, class: x.ok ? 'ok' : 'bad' },
		h('td', { class: 'num' }, x.n),
		h('td', null, timeEl(x.at)),
		h('td', null, chip('o', x.ok ? 'ok' : 'failed')),
		h('td', { class: 'num' }, x.code ?? ''),
		h('td', { class: 'detail' }, x.error || '')))));
}

/*
 * The notifications of rows: one line each (state, channel, kind, what
 * it is about, where it goes, tries, times, last error), then a line
 * with the Patchwork check and the attempts.  compact leaves out the
 * plan and stage (the page is about them).
 */
function outboxTable(rows, st, compact) {
	if (!rows || !rows.length)
		return h('p', { class: 'empty' }, 'No notifications.');
	const head = ['#', 'state', 'channel', 'kind', compact ? null : 'plan / stage', 'about', 'target',
		'tries', 'created', 'delivered / next', 'last error'].filter((x) => x !== null);
	return table('grid outbox', head, rows.map((o) => [
		h('tr', { class: 'o-row o-' + o.state, 'data-outbox': o.id, 'data-state': o.state,
			'data-channel': o.channel, 'data-kind': o.kind, 'data-bisection': o.bisection_id },
		h('td', { class: 'num' }, o.id),
		h('td', null, chip('o', o.state)),
		h('td', null, CHANNEL_NAME[o.channel] || o.channel),
		h('td', null, o.kind),
		compact ? null : h('td', null, o.plan ? a(R.plan(o.plan), o.plan) : '',
			o.stage ? [' / ', a(R.stage(o.plan, o.stage), o.stage)] : null),
		h('td', null, outboxAbout(o)),
		h('td', null, h('code', null, o.target)),
		h('td', { class: 'num' }, o.tries),
		h('td', null, timeEl(o.created_at)),
		h('td', null, o.state === 'delivered' ? timeEl(o.delivered_at) :
			o.state === 'pending' && o.next_at ? ['next try in ',
				h('span', { class: 'countdown', 'data-until': o.next_at }, String(secondsUntil(o.next_at))), ' s'] : ''),
		h('td', { class: 'detail' + (o.state === 'failed' ? ' err' : '') }, o.last_error || '')),
		h('tr', { class: 'o-more', 'data-outbox': o.id },
			h('td', { colspan: head.length }, checkLine(o.check), attemptsBox(o, st)))]));
}

const NOTES_LIMIT = 20;		/* notifications listed on a stage or bisection page */

/*
 * The notifications about one stage or bisection (query: the API's
 * filter), as a page section that links to the full list.
 */
function outboxSection(rows, st, query) {
	const n = (rows || []).length;
	const by = {};
	for (const o of rows || [])
		by[o.state] = (by[o.state] || 0) + 1;
	return h('section', { class: 'notes' }, h('h2', null, 'notifications',
		n ? h('span', { class: 'dim' }, ' (' + OUTBOX_STATES.filter((x) => by[x]).map((x) => by[x] + ' ' + x)
			.join(', ') + (n >= NOTES_LIMIT ? ', latest ' + NOTES_LIMIT : '') + ')') : null,
		' ', a('#/outbox?' + query, 'all')),
	outboxTable(rows, st, true));
}

views.outbox = (q) => {
	const st = { open: new Set() };
	return {
		title: 'notifications',
		crumbs: [['notifications']],
		load() {
			return get('/outbox?' + apiQuery(q, ['plan', 'stage', 'run', 'bisection', 'state', 'limit']));
		},
		relevant: (ev) => NOTIFYING.has(ev.kind) && (!q.get('plan') || ev.plan === q.get('plan')),
		recheck: (d) => outboxRecheck(d.outbox),
		render(d) {
			const of = [q.get('plan') ? ['plan ', a(R.plan(q.get('plan')), q.get('plan'))] : null,
				q.get('plan') && q.get('stage') ? [' stage ', a(R.stage(q.get('plan'), q.get('stage')), q.get('stage'))] : null,
				q.get('run') ? ['run ', a(R.run(q.get('run')), q.get('run'))] : null,
				q.get('bisection') ? ['bisection ', a(R.bisection(q.get('bisection')), q.get('bisection'))] : null]
				.filter(Boolean);
			return [h('h1', null, 'notifications', of.length ? [' of ', of.map((x, i) => [i ? ', ' : '', x])] : null),
				stateBar('#/outbox', q, OUTBOX_STATES, { id: 'outbox-states' }),
				outboxTable(d.outbox, st, false)];
		},
	};
};

/* --- routing ------------------------------------------------------------- */

const ROUTES = [
	[/^\/?$/, () => views.home()],
	[/^\/plan\/([^/]+)$/, (m) => views.plan(m[1])],
	[/^\/plan\/([^/]+)\/stage\/([^/]+)$/, (m) => views.stage(m[1], m[2])],
	[/^\/plan\/([^/]+)\/matrix$/, (m) => views.matrix(m[1])],
	[/^\/plan\/([^/]+)\/history\/([^/]+)$/, (m) => views.history(m[1], m[2])],
	[/^\/runs$/, (m, q) => views.runs(q)],
	[/^\/run\/(\d+)$/, (m, q) => views.run(Number(m[1]), null, q)],
	[/^\/run\/(\d+)\/step\/(\d+)$/, (m, q) => views.run(Number(m[1]), Number(m[2]), q)],
	[/^\/bisections$/, (m, q) => views.bisections(q)],
	[/^\/bisection\/(\d+)$/, (m) => views.bisection(Number(m[1]))],
	[/^\/outbox$/, (m, q) => views.outbox(q)],
];

function route(hash) {
	const raw = hash.replace(/^#/, '');
	const qi = raw.indexOf('?');
	const path = qi < 0 ? raw : raw.slice(0, qi);
	const q = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
	for (const [re, make] of ROUTES) {
		const m = re.exec(path);
		if (m) {
			let dec;
			try {
				dec = m.map((x) => decodeURIComponent(x));
			} catch (e) {
				return null;
			}
			return make(dec, q);
		}
	}
	return null;
}

let cur = null;		/* {view, key (of the data shown), gen, busy, again, timer} */
let gen = 0;
let renders = 0;

function setStatus(msg) {
	$status.textContent = msg;
}

function setCrumbs(list) {
	$crumbs.replaceChildren(...(list || []).filter(Boolean).flatMap(([t, href], i) =>
		[i ? ' › ' : '', href ? a(href, t) : h('span', null, t)]));
}

/* Swap the view's nodes in at once, keeping focus and the caret. */
function swap(nodes) {
	const act = document.activeElement;
	let id = null, s = null, e = null;
	if (act && act.id && $main.contains(act)) {
		id = act.id;
		try {
			s = act.selectionStart;
			e = act.selectionEnd;
		} catch (x) { /* not a text field */ }
	}
	const frag = document.createDocumentFragment();
	add(frag, nodes);
	$main.replaceChildren(frag);
	if (id) {
		const n = document.getElementById(id);
		if (n && n !== document.activeElement) {
			n.focus({ preventScroll: true });
			if (s !== null) {
				try {
					n.setSelectionRange(s, e);
				} catch (x) { /* not a text field */ }
			}
		}
	}
}

function ready(view) {
	renders++;
	document.body.dataset.view = view.title;
	document.body.dataset.renders = String(renders);
	/* Ready once the first view is laid out and painted: the frame
	 * after the one that draws it (the benchmark reads kstageReadyAt). */
	if (!window.kstageReadyAt && !ready.pending) {
		ready.pending = true;
		requestAnimationFrame(() => setTimeout(() => {
			window.kstageReadyAt = performance.now();
			document.body.dataset.ready = '1';
		}, 0));
	}
	document.dispatchEvent(new CustomEvent('kstage:rendered'));
}

/*
 * A view whose data change without an event (a notification's delivery)
 * says when to look again: recheck(data) -> ms, or null.
 */
function recheck(c, data) {
	clearTimeout(c.timer);
	c.timer = null;
	const ms = c.view.recheck ? c.view.recheck(data) : null;
	if (ms !== null && ms !== undefined)
		c.timer = setTimeout(() => { if (c === cur) refresh(); }, ms);
}

async function show(c, first) {
	let data;
	try {
		data = await c.view.load();
	} catch (e) {
		if (c !== cur)
			return;
		/* A refresh that fails keeps the page (and says so below),
		 * unless what it shows is gone. */
		if (first || e.status === 404) {
			swap(h('div', { class: 'err big' }, e.message));
			ready(c.view);
		}
		setStatus(e.status ? e.message : 'offline: ' + e.message);
		return;
	}
	if (c !== cur)
		return;
	recheck(c, data);
	const key = JSON.stringify(data);
	setStatus('updated ' + fmtTime(Date.now()));
	if (!first && key === c.key)
		return;	/* nothing changed: leave the page alone */
	c.key = key;
	let nodes;
	try {
		nodes = c.view.render(data);
	} catch (e) {
		nodes = h('div', { class: 'err big' }, 'cannot show this: ' + e.message);
		console.error(e);
	}
	document.title = 'kstage: ' + c.view.title;
	setCrumbs(c.view.crumbs);
	swap(nodes);
	ready(c.view);
}

function navigate() {
	if (cur)
		clearTimeout(cur.timer);
	if (cur && cur.view.dispose)
		cur.view.dispose();
	const view = route(location.hash || '#/');
	if (!view) {
		cur = null;
		setCrumbs([]);
		swap(h('div', { class: 'err big' }, 'No such page: ', location.hash, ' — ', a('#/', 'plans')));
		ready({ title: 'no such page' });
		return;
	}
	cur = { view, key: null, gen: ++gen, busy: false, again: false, timer: null };
	for (const el of document.querySelectorAll('#nav a'))
		el.classList.toggle('here', el.getAttribute('href') === (location.hash || '#/').split('?')[0]);
	show(cur, true).then(() => window.scrollTo(0, 0));
}

/* Re-fetch the view in sight; one at a time, coalescing requests. */
async function refresh() {
	const c = cur;
	if (!c)
		return;
	if (c.busy) {
		c.again = true;
		return;
	}
	c.busy = true;
	try {
		await show(c, false);
	} finally {
		c.busy = false;
	}
	if (c.again && c === cur) {
		c.again = false;
		refresh();
	}
}

let debounce = null;
function soon() {
	if (!debounce)
		debounce = setTimeout(() => { debounce = null; refresh(); }, DEBOUNCE_MS);
}

/* --- the event stream, and polling when it is down ------------------------ */

const live = {
	es: null,
	lastId: null,
	poll: null,
	retry: null,
	wasDown: false,
	events: 0,
};

function setLive(state) {
	$live.textContent = state;
	$live.className = 'live live-' + state;
	document.body.dataset.live = state;
}

function startPoll() {
	if (!live.poll)
		live.poll = setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
}

function stopPoll() {
	clearInterval(live.poll);
	live.poll = null;
}

function onEvent(e) {
	let ev;
	try {
		ev = JSON.parse(e.data);
	} catch (x) {
		return;
	}
	if (e.lastEventId)
		live.lastId = e.lastEventId;
	live.events++;
	if (cur && cur.view.relevant && cur.view.relevant(ev))
		soon();
}

function connect() {
	if (typeof EventSource === 'undefined') {
		setLive('polling');
		startPoll();
		return;
	}
	/* The browser resends Last-Event-ID itself while it reconnects; a
	 * new EventSource (after a hard failure) says where it was. */
	const url = API + '/events' + (live.lastId ? '?since=' + enc(live.lastId) : '');
	const es = new EventSource(url);
	live.es = es;
	es.onopen = () => {
		setLive('live');
		stopPoll();
		if (live.wasDown) {
			live.wasDown = false;
			refresh();
		}
	};
	es.onmessage = onEvent;
	for (const k of EVENT_KINDS)
		es.addEventListener(k, onEvent);
	es.onerror = () => {
		live.wasDown = true;
		startPoll();
		if (es.readyState === EventSource.CLOSED) {
			/* No automatic retry (an HTTP error): try again later. */
			setLive('polling');
			es.close();
			clearTimeout(live.retry);
			live.retry = setTimeout(connect, 10000);
		} else {
			setLive('reconnecting');
		}
	};
}

window.addEventListener('hashchange', navigate);
setInterval(tick, 1000);
setLive('connecting');
navigate();
connect();
})();
