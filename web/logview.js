/*
 * kstage log viewer: the log of one step in a <pre>, loaded with HTTP
 * Range requests and followed while the step runs.  Plain ES2020 script,
 * no build step; it defines one global, window.kstageLog, and touches
 * nothing outside the container it is given.
 *
 *   const lv = new kstageLog.LogView(container, url, options);
 *   lv.update({ running, size, marks });	// the step moved on
 *   lv.destroy();				// stop; empty the container
 *
 * container  an element the viewer fills (heading, buttons, the
 *            <pre class="log">); the caller puts it in the page and may
 *            take it out and put it back (a re-render): the viewer keeps
 *            its state in the nodes, not in the document.
 * url        the log, a same-origin path (daemon/API.md: GET
 *            /api/v1/runs/ID/steps/IDX/log, which answers Range,
 *            ?tail=N, 206 + Content-Range and 416).
 * options    (all optional)
 *   title    heading: text, a node, or an array of them
 *   running  true while the step runs: the viewer asks for the bytes
 *            after those it has (Range: bytes=END-) every FOLLOW_MS and
 *            appends whole lines, keeping the view at the bottom if it was
 *   size     bytes the log has, when known (a finished step's log_bytes):
 *            a log over WHOLE_MAX is loaded from its tail, with buttons
 *            that load what comes before
 *   line     a line number to show (scrolled to, marked "target") once
 *            loaded; without one the container is scrolled into view
 *   marks    Map line number -> title: lines of failing results, marked
 *            "res" and visited first by "first failure" / prev / next
 *   lineHref (n) => the href of line n's number, or null
 *   onError  (message) => void, for a failure after the first load (the
 *            first load's error is shown in the <pre>); default: none
 *
 * update() takes the same running / size / marks as options; when
 * running goes from true to false it fetches the last bytes once and
 * stops.  destroy() stops the timer, aborts requests in flight and
 * empties the container; the viewer does nothing after it.
 *
 * One viewer per page: its "first failure" and "load all" buttons and its
 * lines (L1, L2...) have ids.  Text from the log only ever becomes text
 * nodes, never markup.
 */
'use strict';

window.kstageLog = (() => {
const WHOLE_MAX = 2 << 20;	/* logs up to this size are loaded whole */
const CHUNK = 1 << 20;		/* otherwise the tail, then chunks before it */
const REQUEST_MAX = 8 << 20;	/* bytes asked for in one request */
const FOLLOW_MS = 2000;		/* a running step's log is polled this often */
/* Lines of a log that are worth a look. */
const BAD_LINE = /not ok|FAIL|Kernel panic|Oops|BUG:|WARNING:|Call Trace|Test terminated by assertion|:Expected /;

/* el('span', {class: 'x'}, kids...): attributes through setAttribute
 * (null/undefined/false left out), kids as nodes or text nodes. */
function el(tag, attrs, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {}))
		if (v !== null && v !== undefined && v !== false)
			e.setAttribute(k, v === true ? '' : String(v));
	for (const k of kids.flat(Infinity))
		if (k !== null && k !== undefined && k !== false)
			e.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
	return e;
}

function button(label, id, onclick) {
	const b = el('button', { type: 'button', id });
	b.textContent = label;
	b.addEventListener('click', onclick);
	return b;
}

function fmtBytes(n) {
	if (n < 1024)
		return n + ' B';
	if (n < 1 << 20)
		return (n / 1024).toFixed(1) + ' KiB';
	return (n / 1048576).toFixed(1) + ' MiB';
}

/* Drop a cut first line (the bytes did not start at a line): lines are
 * whole or absent. */
function wholeLines(buf, first) {
	if (first === 0)
		return { buf, first };
	const nl = buf.indexOf(10);
	return { buf: buf.subarray(nl + 1), first: first + nl + 1 };
}

class LogView {
	constructor(container, url, options) {
		const o = options || {};
		if (typeof url !== 'string' || !/^\/(?!\/)/.test(url))
			throw new Error('kstageLog: the log URL must be a same-origin path');
		this.box = container;
		this.url = url;
		this.running = !!o.running;
		this.size = o.size || 0;
		this.want = o.line || 0;	/* line to show once loaded */
		this.marksIn = o.marks || new Map();
		this.lineHref = o.lineHref || (() => null);
		this.onError = o.onError || (() => {});
		this.start = 0;		/* byte offset of the first line we have */
		this.end = 0;		/* bytes we have up to */
		this.lines = [];	/* complete lines, from start */
		this.partial = '';	/* an unterminated last line */
		this.order = [];	/* marked line elements: results first */
		this.cur = -1;
		this.timer = null;
		this.busy = false;	/* a request is on its way... */
		this.again = false;	/* ...and more() was asked for meanwhile */
		this.dead = false;
		this.abort = new AbortController();

		this.info = el('span', { class: 'dim' });
		this.earlier = el('span', { hidden: true },
			button('load 1 MiB earlier', null, () => this.loadEarlier(CHUNK)), ' ',
			button('load all', 'load-all', () => this.loadEarlier(Infinity)));
		this.pre = el('pre', { class: 'log', tabindex: 0 });
		this.pre.addEventListener('keydown', (e) => {
			if (e.key === 'n')
				this.jump(this.cur + 1);
			else if (e.key === 'p')
				this.jump(this.cur - 1);
		});
		container.replaceChildren(
			el('h2', null, o.title || 'log', ' ', this.info),
			el('div', { class: 'bar' },
				button('first failure', 'first-failure', () => this.jump(0)), ' ',
				button('↑ prev', null, () => this.jump(this.cur - 1)), ' ',
				button('↓ next', null, () => this.jump(this.cur + 1)), ' ',
				this.earlier, ' ',
				el('a', { href: url }, 'raw'), ' ',
				el('span', { class: 'dim' }, 'keys: n / p')),
			this.pre);
		this.first();
	}

	/* The next interesting line: failing results first, then the others;
	 * k wraps around. */
	jump(k) {
		if (!this.order.length)
			return;
		if (k < 0)
			k = this.order.length - 1;
		if (k >= this.order.length)
			k = 0;
		this.cur = k;
		this.target(this.order[k]);
		this.pre.focus({ preventScroll: true });
	}

	update(o) {
		if (this.dead)
			return;
		const was = this.running;
		if (o.size !== undefined)
			this.size = o.size || 0;
		if (o.running !== undefined)
			this.running = !!o.running;
		/* The results arrive when the run ends: mark their lines. */
		if (o.marks && [...o.marks].join() !== [...this.marksIn].join()) {
			this.marksIn = o.marks;
			if (this.lines.length || this.partial) {
				const top = this.pre.scrollTop;
				this.renderAll();
				this.pre.scrollTop = top;
			}
		}
		if (was && !this.running) {
			this.stopTimer();
			this.more();	/* the last bytes */
		} else {
			this.follow();
		}
	}

	destroy() {
		this.dead = true;
		this.stopTimer();
		this.abort.abort();
		this.box.replaceChildren();
	}

	/* --- inside ------------------------------------------------------- */

	stopTimer() {
		clearInterval(this.timer);
		this.timer = null;
	}

	follow() {
		if (this.running && !this.timer && !this.dead)
			this.timer = setInterval(() => this.more(), FOLLOW_MS);
	}

	/*
	 * Bytes from..to (to null: to the end; from null: the tail) as
	 * {buf, first}, first being the offset of buf[0]; null when there
	 * is nothing there (416: an empty log, or nothing new).
	 */
	async fetchRange(from, to) {
		const headers = {};
		if (from !== null)
			headers.Range = 'bytes=' + from + '-' + (to === null ? '' : to);
		const r = await fetch(this.url + (from === null ? '?tail=' + CHUNK : ''),
			{ headers, cache: 'no-store', signal: this.abort.signal });
		if (r.status === 416)
			return null;
		if (!r.ok)
			throw new Error(r.status + ' ' + r.statusText);
		const buf = new Uint8Array(await r.arrayBuffer());
		let first = from === null ? 0 : from;
		const cr = r.headers.get('Content-Range');
		const m = cr && /bytes (\d+)-(\d+)\//.exec(cr);
		if (m) {
			first = Number(m[1]);
		} else if (from === null) {
			/* A tail without Content-Range: it ends at size. */
			first = Math.max(0, (this.size || buf.length) - buf.length);
		} else if (r.status === 200 && from > 0) {
			/* The server ignored the range: we got everything. */
			first = 0;
		}
		return { buf, first };
	}

	async first() {
		this.busy = true;
		try {
			const got = this.size > WHOLE_MAX ? await this.fetchRange(null, null) :
				await this.fetchRange(0, null);
			if (this.dead)
				return;
			if (got) {	/* else the log is still empty */
				const { buf, first } = wholeLines(got.buf, got.first);
				this.start = first;
				this.end = first + buf.length;
				this.appendText(new TextDecoder().decode(buf));
			}
			const line = this.want;
			this.renderAll();
			/* Opened for its own sake: bring the log into view. */
			if (!line && this.box.isConnected)
				this.box.scrollIntoView({ block: 'start' });
		} catch (e) {
			if (this.dead)
				return;
			this.pre.replaceChildren(el('span', { class: 'err' }, 'cannot load the log: ' + e.message));
		}
		this.done();
		this.follow();
	}

	/* The request is over: run a more() that was asked for meanwhile
	 * (the step may have ended after our request started). */
	done() {
		this.busy = false;
		if (this.again && !this.dead) {
			this.again = false;
			this.more();
		}
	}

	/* Split text into complete lines (kept) and an unterminated rest. */
	appendText(text) {
		const parts = (this.partial + text).split('\n');
		this.partial = parts.pop();
		for (const p of parts)
			this.lines.push(p);
	}

	/* Line numbers are known only when we have the log from its start. */
	lineNo(i) {
		return this.start === 0 ? i + 1 : null;
	}

	lineEl(i, text) {
		const n = this.lineNo(i);
		const res = n !== null ? this.marksIn.get(n) : undefined;
		let cls = 'l';
		if (res !== undefined)
			cls += ' res';
		else if (BAD_LINE.test(text))
			cls += ' bad';
		const e = el('span', { class: cls, id: n !== null ? 'L' + n : null,
			title: res !== undefined ? res : null },
		el('a', { class: 'ln', href: n !== null ? this.lineHref(n) : null,
			'data-n': n !== null ? n : '' }),
		text + '\n');
		if (cls !== 'l')
			e.dataset.mark = '1';
		return e;
	}

	renderAll() {
		const frag = document.createDocumentFragment();
		this.lines.forEach((t, i) => frag.appendChild(this.lineEl(i, t)));
		if (this.partial)
			frag.appendChild(this.lineEl(this.lines.length, this.partial));
		this.pre.replaceChildren(frag);
		this.afterRender();
		if (this.want) {
			const e = this.pre.querySelector('#L' + this.want);
			if (e) {
				this.target(e);
				this.want = 0;
			}
		}
	}

	afterRender() {
		const marks = Array.from(this.pre.querySelectorAll('[data-mark]'));
		const isRes = (e) => e.classList.contains('res');
		this.order = marks.filter(isRes).concat(marks.filter((e) => !isRes(e)));
		this.earlier.hidden = this.start === 0;
		this.info.textContent = (this.start ? 'the last ' + fmtBytes(this.end - this.start) + ' of ' : '') +
			fmtBytes(this.end) + (this.start ? ' (line numbers once loaded from the start)' : '') +
			', ' + this.lines.length + ' lines, ' + marks.length + ' marked' +
			(this.running ? ', growing' : '');
	}

	target(e) {
		for (const o of this.pre.querySelectorAll('.target'))
			o.classList.remove('target');
		e.classList.add('target');
		e.scrollIntoView({ block: 'center' });
	}

	/*
	 * Prepend up to "bytes" before what we have (whole lines), in
	 * requests of at most REQUEST_MAX (the server sends 16 MiB at most).
	 */
	async loadEarlier(bytes) {
		if (this.start === 0 || this.busy || this.dead)
			return;
		this.busy = true;
		try {
			const goal = Math.max(0, this.start - bytes);
			let from;
			do {
				from = Math.max(goal, this.start - REQUEST_MAX);
				const got = await this.fetchRange(from, this.start - 1);
				if (this.dead)
					return;
				if (!got || got.first !== from)
					break;
				const { buf, first } = wholeLines(got.buf, got.first);
				const more = new TextDecoder().decode(buf).split('\n');
				more.pop();	/* it ends with the newline before start */
				this.lines = more.concat(this.lines);
				this.start = first;
			} while (from > goal);
			this.renderAll();
		} catch (e) {
			if (!this.dead)
				this.onError(e.message);
		}
		this.done();
	}

	/* Append what the step wrote since (whole lines, and the rest). */
	async more() {
		if (this.dead)
			return;
		if (this.busy) {
			this.again = true;
			return;
		}
		this.busy = true;
		try {
			const got = await this.fetchRange(this.end, null);
			if (!this.dead && got && got.buf.length && got.first === this.end) {
				const pre = this.pre;
				const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
				const oldLines = this.lines.length;
				const hadPartial = this.partial !== '';
				this.end += got.buf.length;
				this.appendText(new TextDecoder().decode(got.buf));
				if (hadPartial && pre.lastChild)
					pre.lastChild.remove();
				const frag = document.createDocumentFragment();
				for (let i = oldLines; i < this.lines.length; i++)
					frag.appendChild(this.lineEl(i, this.lines[i]));
				if (this.partial)
					frag.appendChild(this.lineEl(this.lines.length, this.partial));
				pre.appendChild(frag);
				this.afterRender();
				if (atBottom)
					pre.scrollTop = pre.scrollHeight;
			}
		} catch (e) { /* the next round tries again */ }
		this.done();
	}
}

return Object.freeze({ LogView, BAD_LINE });
})();
