/*
 * plain: the HTML views that need no JavaScript (see plain.h): the plans
 * with their remotes and stages (and the series from mail a stage holds),
 * and one stage with its notifications not delivered, changes, runs and
 * results.  Every text from the
 * database or the request goes through plain_html_escape(); the pages
 * refresh themselves every 15 seconds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "plain.h"
#include "text.h"
#include "wrapper.h"
#include "banned.h"

void plain_html_escape(struct strbuf *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': strbuf_adds(out, "&amp;"); break;
		case '<': strbuf_adds(out, "&lt;"); break;
		case '>': strbuf_adds(out, "&gt;"); break;
		case '"': strbuf_adds(out, "&quot;"); break;
		case '\'': strbuf_adds(out, "&#39;"); break;
		default: strbuf_addch(out, *s);
		}
	}
}

static void html_head(struct strbuf *out, const char *title)
{
	strbuf_adds(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		    "<meta http-equiv=\"refresh\" content=\"15\">"
		    "<meta name=\"viewport\" content=\"width=device-width\"><title>");
	plain_html_escape(out, title);
	strbuf_adds(out, "</title><style>body{font-family:sans-serif;margin:1em}"
		    "table{border-collapse:collapse}td,th{padding:2px 8px;"
		    "border-bottom:1px solid #ddd;text-align:left}"
		    ".green{color:#080}.red{color:#c00;font-weight:bold}"
		    ".error{color:#a50}code{font-size:90%}</style></head><body>\n");
}

/*
 * Append HTML: fmt is markup, and every %s argument is text, escaped.
 * Understands %s, %d, %lld and %%; checked by the compiler as printf.
 */
static void html_addf(struct strbuf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void html_addf(struct strbuf *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	while (*fmt) {
		size_t n = strcspn(fmt, "%");

		strbuf_add(out, fmt, n);
		fmt += n;
		if (!*fmt)
			break;
		if (!strncmp(fmt, "%s", 2))
			plain_html_escape(out, va_arg(ap, const char *));
		else if (!strncmp(fmt, "%d", 2))
			strbuf_addf(out, "%d", va_arg(ap, int));
		else if (!strncmp(fmt, "%lld", 4))
			strbuf_addf(out, "%lld", va_arg(ap, long long));
		else
			strbuf_addch(out, '%');
		fmt += !strncmp(fmt, "%lld", 4) ? 4 : 2;
	}
	va_end(ap);
}

static void html_cell(struct strbuf *out, const char *text, const char *cls)
{
	strbuf_adds(out, "<td");
	if (cls) {
		strbuf_adds(out, " class=\"");
		plain_html_escape(out, cls);
		strbuf_addch(out, '"');
	}
	strbuf_addch(out, '>');
	plain_html_escape(out, text);
	strbuf_adds(out, "</td>");
}

/*
 * A Message-ID as a segment of a URL path, the way a public-inbox archive
 * is addressed: what may stand in a path segment stays ('@' included),
 * everything else (a '/', '%', '?', '#', spaces, bytes above ASCII) is
 * %XX.  The result is a URL, still to be escaped for HTML.
 */
static void url_segment(struct strbuf *out, const char *s)
{
	static const char keep[] = "-._~!$&'()*+,;=:@";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c && strchr(keep, c)))
			strbuf_addch(out, (char)c);
		else
			strbuf_addf(out, "%%%02X", c);
	}
}

/* A wall-clock time in ms as local "YYYY-MM-DD HH:MM:SS" ("-" for none). */
static void fmt_ms(char *buf, size_t size, long long ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !localtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, size, "-");
}

/*
 * The series from mail a stage holds: 'v2 "TITLE" &middot; 2 patches
 * &middot; from inbox &middot; <MESSAGE-ID>', the Message-ID a link into
 * the archive when the series names one (an http(s) URL: nothing else
 * becomes a link), and a warning when the branch has moved away from it.
 * The columns of s from col on: version, title, nr_patches, source,
 * message_id, link_base, whether the head is still the series'.  Writes
 * nothing when the version is NULL (no series).
 */
static void series_line(struct strbuf *b, sqlite3_stmt *s, int col)
{
	const char *msgid = (const char *)sqlite3_column_text(s, col + 4);
	const char *link = (const char *)sqlite3_column_text(s, col + 5);
	int n = sqlite3_column_int(s, col + 2);

	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return;
	html_addf(b, "series v%d &quot;%s&quot; &middot; %d patch%s &middot; from %s",
		  sqlite3_column_int(s, col), db_col_text(s, col + 1), n,
		  n == 1 ? "" : "es", db_col_text(s, col + 3));
	if (msgid && link && text_is_http_url(link)) {
		struct strbuf url = STRBUF_INIT;
		size_t len = strlen(link);

		while (len && link[len - 1] == '/')
			len--;
		strbuf_add(&url, link, len);
		strbuf_addch(&url, '/');
		url_segment(&url, msgid);
		html_addf(b, " &middot; <a class=\"msgid\" href=\"%s\">&lt;%s&gt;</a>",
			  strbuf_str(&url), msgid);
		strbuf_release(&url);
	} else if (msgid) {
		html_addf(b, " &middot; <code class=\"msgid\">&lt;%s&gt;</code>", msgid);
	}
	if (!sqlite3_column_int(s, col + 6))
		strbuf_adds(b, " &middot; <b class=\"error\">the branch has moved"
			    " away from this series</b>");
}

/*
 * The line of a plan's remote: 'remote URL: fetched TIME' or 'failing
 * since TIME (N in a row)', then when the next fetch is due and why the
 * last one failed (as "kstage status" says it, report.h).  The columns of
 * p from col on: url, state, error, failures, failing_since, last_fetch,
 * next_fetch.  Nothing for a plan without a remote.
 */
static void remote_line(struct strbuf *b, sqlite3_stmt *p, int col)
{
	const char *state = (const char *)sqlite3_column_text(p, col + 1);
	long long next = sqlite3_column_int64(p, col + 6);
	char when[32];

	if (sqlite3_column_type(p, col) == SQLITE_NULL)
		return;
	html_addf(b, "<p class=\"remote\">remote <code>%s</code>: ", db_col_text(p, col));
	if (state && !strcmp(state, "failing")) {
		fmt_ms(when, sizeof(when), sqlite3_column_int64(p, col + 4));
		html_addf(b, "<b class=\"red\">failing</b> since %s (%lld in a row)", when,
			  (long long)sqlite3_column_int64(p, col + 3));
	} else if (state && !strcmp(state, "ok")) {
		fmt_ms(when, sizeof(when), sqlite3_column_int64(p, col + 5));
		html_addf(b, "<b class=\"green\">ok</b>, fetched %s", when);
	} else {
		strbuf_adds(b, "not fetched yet");
	}
	if (next) {
		long long in = (next - now_wall_ms() + 999) / 1000;

		html_addf(b, ", next try in %lld s", in > 0 ? in : 0);
	}
	if (state && !strcmp(state, "failing"))
		html_addf(b, ": <span class=\"error\">%s</span>", db_col_text(p, col + 2));
	strbuf_adds(b, "</p>\n");
}

static void reply_html(struct api_reply *out, int status)
{
	strbuf_adds(&out->body, "<p><small>kstage &mdash; this page refreshes every"
		    " 15 s; the dashboard is at <a href=\"/\">/</a>, the JSON API at"
		    " <a href=\"/api/v1/plans\">/api/v1</a>.</small></p></body></html>\n");
	out->status = status;
	out->content_type = "text/html; charset=utf-8";
}

/* --- the plans ------------------------------------------------------------ */

/* One row of a plan's table: the current row of s (see plan_stages()). */
static void stage_row(struct strbuf *b, const char *plan, sqlite3_stmt *s)
{
	const char *stage = db_col_text(s, 1);
	int i;

	strbuf_addf(b, "<tr><td>%d</td><td><a href=\"/plain/plans/",
		    sqlite3_column_int(s, 0));
	plain_html_escape(b, plan);
	strbuf_adds(b, "/stages/");
	plain_html_escape(b, stage);
	strbuf_adds(b, "\">");
	plain_html_escape(b, stage);
	strbuf_adds(b, "</a></td>");
	html_cell(b, db_col_text(s, 2), NULL);
	html_cell(b, db_col_text(s, 3), NULL);
	html_cell(b, db_col_text(s, 4), db_col_text(s, 4));
	for (i = 5; i <= 9; i++)
		strbuf_addf(b, "<td>%d</td>", sqlite3_column_int(s, i));
	if (sqlite3_column_type(s, 10) == SQLITE_NULL)
		strbuf_adds(b, "<td>-</td>");
	else
		strbuf_addf(b, "<td><a href=\"/api/v1/runs/%lld\">%lld</a></td>",
			    (long long)sqlite3_column_int64(s, 10),
			    (long long)sqlite3_column_int64(s, 10));
	strbuf_adds(b, "</tr>\n");
	if (sqlite3_column_type(s, 11) != SQLITE_NULL) {
		strbuf_adds(b, "<tr class=\"series\"><td></td><td colspan=\"10\">");
		series_line(b, s, 11);
		strbuf_adds(b, "</td></tr>\n");
	}
}

/*
 * The columns of the latest series of stage s (see series_line()), and
 * the join that finds it.
 */
#define SERIES_COLS \
	" x.version, x.title, x.nr_patches, x.source, x.message_id, x.link_base," \
	" coalesce(x.head = s.head, 0)"
#define SERIES_JOIN \
	" LEFT JOIN series x ON x.id = (SELECT max(id) FROM series WHERE stage_id = s.id)"

/* The table of the stages of a plan. */
static int plan_stages(struct strbuf *b, struct db *db, long long plan_id,
		       const char *plan)
{
	sqlite3_stmt *s;
	int rc;

	strbuf_adds(b, "<table><tr><th>#</th><th>stage</th>"
		    "<th>head</th><th>stack</th><th>verdict</th><th>pass</th>"
		    "<th>fail</th><th>skip</th><th>error</th><th>regressions</th>"
		    "<th>run</th></tr>\n");
	s = db_stmt(db, "SELECT s.idx, s.name, substr(coalesce(s.head, '-'),"
		    " 1, 12), s.stack_state, s.verdict, coalesce(r.n_pass, 0),"
		    " coalesce(r.n_fail, 0), coalesce(r.n_skip, 0),"
		    " coalesce(r.n_error, 0), s.regressions, s.run_id," SERIES_COLS
		    " FROM stages s LEFT JOIN runs r ON r.id = s.run_id" SERIES_JOIN
		    " WHERE s.plan_id = ? ORDER BY s.idx", "l", plan_id);
	if (!s)
		return -1;
	while ((rc = db_step(db, s)) == 1)
		stage_row(b, plan, s);
	db_done(s);
	strbuf_adds(b, "</table>\n");
	return rc < 0 ? -1 : 0;
}

int plain_plans(struct api_reply *out, const struct api_request *req)
{
	struct strbuf *b = &out->body;
	sqlite3_stmt *p;
	int nplans = 0, rc;

	strbuf_reset(b);
	html_head(b, "kstage");
	strbuf_adds(b, "<h1>kstage</h1>\n");
	p = db_stmt(req->db, "SELECT p.id, p.name, p.profile, coalesce(g.state,"
		    " 'unknown'), coalesce(g.detail, ''), p.remote_url, p.fetch_state,"
		    " p.fetch_error, p.fetch_failures, p.failing_since, p.last_fetch_at,"
		    " p.next_fetch_at FROM plans p LEFT JOIN gates g"
		    " ON g.plan_id = p.id ORDER BY p.name", NULL);
	if (!p)
		return -1;
	while ((rc = db_step(req->db, p)) == 1) {
		const char *plan = db_col_text(p, 1);

		nplans++;
		strbuf_adds(b, "<h2>plan ");
		plain_html_escape(b, plan);
		strbuf_adds(b, "</h2>\n<p>profile ");
		plain_html_escape(b, db_col_text(p, 2));
		strbuf_adds(b, ", gate ");
		plain_html_escape(b, db_col_text(p, 3));
		if (*db_col_text(p, 4)) {
			strbuf_adds(b, ": ");
			plain_html_escape(b, db_col_text(p, 4));
		}
		strbuf_adds(b, " &mdash; <a href=\"/api/v1/plans/");
		plain_html_escape(b, plan);
		strbuf_adds(b, "\">JSON</a></p>\n");
		remote_line(b, p, 5);
		if (plan_stages(b, req->db, sqlite3_column_int64(p, 0), plan) < 0)
			break;
	}
	db_done(p);
	if (rc)
		return -1;	/* a failed step, or a plan's stages */
	if (!nplans)
		strbuf_adds(b, "<p>No plans yet.</p>\n");
	reply_html(out, 200);
	return 0;
}

/* --- one stage ------------------------------------------------------------ */

/*
 * The line under the title: branch, head, stack state, verdict.  Sets
 * *run_id and *base_id to the stage's run and its baseline (0: none).
 */
static int stage_summary(struct strbuf *b, const struct api_request *req,
			 long long stage_id, long long *run_id, long long *base_id)
{
	sqlite3_stmt *st;
	int rc;

	rc = db_first(req->db, &st, "SELECT coalesce(s.head, '-'), s.stack_state,"
		      " coalesce(s.stack_detail, ''), s.verdict, coalesce(s.run_id, 0),"
		      " coalesce(s.baseline_run_id, 0), s.branch," SERIES_COLS
		      " FROM stages s" SERIES_JOIN " WHERE s.id = ?", "l", stage_id);
	if (rc == 1) {
		html_addf(b, "<p>branch <code>%s</code> at <code>%s</code>, stack %s %s,"
			  " verdict <b class=\"%s\">%s</b> &mdash; <a href=\"/api/v1/"
			  "plans/%s/stages/%s\">JSON</a></p>\n", db_col_text(st, 6),
			  db_col_text(st, 0), db_col_text(st, 1), db_col_text(st, 2),
			  db_col_text(st, 3), db_col_text(st, 3), req->params[0],
			  req->params[1]);
		if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
			strbuf_adds(b, "<p class=\"series\">");
			series_line(b, st, 7);
			strbuf_adds(b, "</p>\n");
		}
		*run_id = sqlite3_column_int64(st, 4);
		*base_id = sqlite3_column_int64(st, 5);
		db_done(st);
	}
	return rc < 0 ? -1 : 0;
}

static int stage_changes(struct strbuf *b, struct db *db, long long stage_id)
{
	sqlite3_stmt *st;
	int rc;

	strbuf_adds(b, "<h2>Changes against the baseline</h2>\n<table><tr><th>kind</th>"
		    "<th>test</th><th>before</th><th>after</th><th>detail</th></tr>\n");
	st = db_stmt(db, "SELECT kind, test, coalesce(before, '-'), coalesce(after,"
		     " '-'), coalesce(detail, '') FROM changes WHERE stage_id = ? ORDER BY"
		     " kind NOT IN ('regression', 'missing'), kind, test", "l", stage_id);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		const char *kind = db_col_text(st, 0);
		int i;

		strbuf_adds(b, "<tr>");
		html_cell(b, kind, !strcmp(kind, "regression") || !strcmp(kind, "missing")
			  ? "red" : NULL);
		for (i = 1; i < 5; i++)
			html_cell(b, db_col_text(st, i), NULL);
		strbuf_adds(b, "</tr>\n");
	}
	db_done(st);
	strbuf_adds(b, "</table>\n");
	return rc < 0 ? -1 : 0;
}

/* "0:build 1:boot" (index:name of the steps with a log): one link each. */
static void step_links(struct strbuf *b, long long id, const char *p)
{
	while (*p) {
		const char *sp = strchr(p, ' '), *colon = strchr(p, ':');
		size_t len = sp ? (size_t)(sp - p) : strlen(p);

		if (colon && colon < p + len) {
			strbuf_addf(b, "<a href=\"/api/v1/runs/%lld/steps/%.*s/log\">",
				    id, (int)(colon - p), p);
			strbuf_add(b, colon + 1, len - (size_t)(colon + 1 - p));
			strbuf_adds(b, "</a> ");
		}
		p += len;
		while (*p == ' ')
			p++;
	}
}

static int stage_runs(struct strbuf *b, struct db *db, long long stage_id)
{
	sqlite3_stmt *st;
	int rc;

	strbuf_adds(b, "<h2>Runs</h2>\n<table><tr><th>run</th><th>commit</th>"
		    "<th>reason</th><th>state</th><th>verdict</th><th>boot</th>"
		    "<th>logs</th></tr>\n");
	st = db_stmt(db, "SELECT r.id, substr(r.commit_id, 1, 12), r.reason, r.state,"
		     " coalesce(r.verdict, '-'), coalesce(r.boot_verdict, '-'),"
		     " (SELECT group_concat(idx || ':' || name, ' ') FROM steps"
		     " WHERE run_id = r.id AND log IS NOT NULL) FROM runs r"
		     " WHERE r.stage_id = ? AND r.reason != 'commit'"
		     " ORDER BY r.id DESC LIMIT 20", "l", stage_id);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		long long id = sqlite3_column_int64(st, 0);
		int i;

		strbuf_addf(b, "<tr><td><a href=\"/api/v1/runs/%lld\">%lld</a></td>", id, id);
		for (i = 1; i < 6; i++)
			html_cell(b, db_col_text(st, i), i == 4 ? (!strcmp(db_col_text(st, 4),
					"pass") ? "green" : "red") : NULL);
		strbuf_adds(b, "<td>");
		step_links(b, id, db_col_text(st, 6));
		strbuf_adds(b, "</td></tr>\n");
	}
	db_done(st);
	strbuf_adds(b, "</table>\n");
	return rc < 0 ? -1 : 0;
}

/* The results of the stage's run (none without one) beside the baseline's. */
static int stage_results(struct strbuf *b, struct db *db, long long run_id,
			 long long base_id)
{
	sqlite3_stmt *st;
	int rc = 0;

	strbuf_adds(b, "<h2>Results of the head's run</h2>\n<table><tr>"
		    "<th>test</th><th>status</th><th>baseline</th><th>detail</th></tr>\n");
	if (run_id) {
		st = db_stmt(db, "SELECT x.test, x.status, coalesce(b.status, '-'),"
			     " coalesce(x.detail, '') FROM results x LEFT JOIN results b"
			     " ON b.run_id = ? AND b.test = x.test WHERE x.run_id = ?"
			     " ORDER BY x.test", "Ll", base_id, run_id);
		if (!st)
			return -1;
		while ((rc = db_step(db, st)) == 1) {
			const char *status = db_col_text(st, 1);

			strbuf_adds(b, "<tr>");
			html_cell(b, db_col_text(st, 0), NULL);
			html_cell(b, status, !strcmp(status, "pass") ? "green" :
				  !strcmp(status, "fail") ? "red" : NULL);
			html_cell(b, db_col_text(st, 2), NULL);
			html_cell(b, db_col_text(st, 3), NULL);
			strbuf_adds(b, "</tr>\n");
		}
		db_done(st);
	}
	strbuf_adds(b, "</table>\n");
	return rc < 0 ? -1 : 0;
}

/*
 * The stage's notifications not delivered (yet), in one line: how many
 * are pending and failed, and what the latest failure said.  Nothing
 * when every one was delivered.
 */
static int stage_notes(struct strbuf *b, const struct api_request *req,
		       long long stage_id)
{
	sqlite3_stmt *st;
	int rc;

	rc = db_first(req->db, &st, "SELECT coalesce(sum(state = 'pending'), 0),"
		      " coalesce(sum(state = 'failed'), 0), (SELECT channel || ' ' ||"
		      " kind || ': ' || coalesce(last_error, '?') FROM outbox WHERE"
		      " stage_id = ?1 AND state = 'failed' ORDER BY id DESC LIMIT 1)"
		      " FROM outbox WHERE stage_id = ?1 AND state IN ('pending', 'failed')",
		      "l", stage_id);
	if (rc == 1 && (sqlite3_column_int(st, 0) || sqlite3_column_int(st, 1))) {
		html_addf(b, "<p class=\"notes\">notifications: %d pending, %d failed",
			  sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			html_addf(b, " (latest: %s)", db_col_text(st, 2));
		html_addf(b, " &mdash; <a href=\"/api/v1/outbox?plan=%s&amp;stage=%s\">JSON</a></p>\n",
			  req->params[0], req->params[1]);
	}
	if (rc == 1)
		db_done(st);
	return rc < 0 ? -1 : 0;
}

int plain_stage(struct api_reply *out, const struct api_request *req)
{
	struct strbuf *b = &out->body;
	long long plan_id, stage_id, run_id = 0, base_id = 0;
	int rc;

	rc = api_find_plan_stage(out, req->db, req->params[0], req->params[1],
				 &plan_id, &stage_id);
	if (rc <= 0)
		return rc;
	strbuf_reset(b);
	html_head(b, req->params[1]);
	strbuf_adds(b, "<p><a href=\"/plain\">all plans</a></p><h1>");
	plain_html_escape(b, req->params[0]);
	strbuf_adds(b, " / ");
	plain_html_escape(b, req->params[1]);
	strbuf_adds(b, "</h1>\n");
	if (stage_summary(b, req, stage_id, &run_id, &base_id) < 0 ||
	    stage_notes(b, req, stage_id) < 0 ||
	    stage_changes(b, req->db, stage_id) < 0 ||
	    stage_runs(b, req->db, stage_id) < 0 ||
	    stage_results(b, req->db, run_id, base_id) < 0)
		return -1;
	reply_html(out, 200);
	return 0;
}
