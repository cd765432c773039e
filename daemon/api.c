/*
 * api: JSON resources, writes, metrics and plain HTML views (see api.h
 * and daemon/API.md).
 *
 * Read replies are written straight from query rows into the reply
 * buffer (the "jw" functions below): the column names (SQL aliases) are
 * the JSON keys, "a.b" nests b inside an object a (which is null when its
 * "a.id" is NULL: a LEFT JOIN that found nothing), a leading "?" makes an
 * integer column a boolean, and a leading "_" marks a column the code uses
 * but does not show.  The column's SQLite type decides the JSON type.
 * Building these replies with jansson cost an allocation per key and
 * value (a stage with 100 results: more than a thousand) and was most of
 * the time of the hot endpoints.  Request bodies are parsed, and the
 * small replies of writes built, with jansson.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "api.h"
#include "engine.h"
#include "log.h"
#include "queue.h"
#include "wrapper.h"
#include "banned.h"

#define PRIO_MANUAL 10
#define RUNS_LIMIT_MAX 500
#define EXCERPT_CONTEXT 15		/* lines either side */
#define EXCERPT_MAX 8192		/* bytes of text per excerpt */
#define EXCERPT_LINE_MAX 400		/* bytes kept of one line */
#define ARTIFACTS_MAX 1000		/* files listed per run */
#define TEST_NAME_MAX 512
#define TESTS_MAX 1000

/* --- JSON text ---------------------------------------------------------------- */

/*
 * Append to a reply: the common case (room left in the buffer) without a
 * call into strbuf; strbuf_add() grows the buffer and enforces its cap.
 * A reply is made of thousands of small pieces, so this matters.
 */
static inline void jw_add(struct strbuf *sb, const void *data, size_t n)
{
	if (sb->buf && sb->len + n < sb->alloc) {
		memcpy(sb->buf + sb->len, data, n);
		sb->len += n;
		sb->buf[sb->len] = '\0';
		return;
	}
	strbuf_add(sb, data, n);
}

static inline void jw_ch(struct strbuf *sb, char c)
{
	jw_add(sb, &c, 1);
}

#define jw_lit(sb, s) jw_add((sb), (s), sizeof(s) - 1)

/* Length of the valid UTF-8 character at s (n bytes left), 0 if invalid. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (c == 0xe0 && s[1] < 0xa0) ||	/* overlong */
		    (c == 0xed && s[1] >= 0xa0))	/* surrogate */
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80 || (c == 0xf0 && s[1] < 0x90) ||
		    (c == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* A JSON string of s (n bytes); invalid UTF-8 becomes U+FFFD. */
static void jw_strn(struct strbuf *sb, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;

	jw_ch(sb, '"');
	while (p < end) {
		unsigned c = *p;
		size_t len;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0x80 && (len = utf8_char(p, (size_t)(end - p)))) {
			p += len;
			continue;
		}
		jw_add(sb, run, (size_t)(p - run));
		switch (c) {
		case '"': jw_lit(sb, "\\\""); break;
		case '\\': jw_lit(sb, "\\\\"); break;
		case '\n': jw_lit(sb, "\\n"); break;
		case '\t': jw_lit(sb, "\\t"); break;
		case '\r': jw_lit(sb, "\\r"); break;
		default:
			if (c < 0x20)
				strbuf_addf(sb, "\\u%04x", c);
			else
				jw_lit(sb, "\\ufffd");
		}
		run = ++p;
	}
	jw_add(sb, run, (size_t)(p - run));
	jw_ch(sb, '"');
}

static void jw_str(struct strbuf *sb, const char *s)
{
	if (s)
		jw_strn(sb, s, strlen(s));
	else
		jw_lit(sb, "null");
}

static void jw_int(struct strbuf *sb, long long v)
{
	char buf[24], *p = buf + sizeof(buf);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	jw_add(sb, p, (size_t)(buf + sizeof(buf) - p));
}

/* A comma, unless this is the first member or element. */
static void jw_sep(struct strbuf *sb)
{
	char last = sb->len ? sb->buf[sb->len - 1] : '[';

	if (last != '{' && last != '[' && last != ':')
		jw_ch(sb, ',');
}

static void jw_keyn(struct strbuf *sb, const char *key, size_t n)
{
	jw_sep(sb);
	jw_strn(sb, key, n);
	jw_ch(sb, ':');
}

static void jw_key(struct strbuf *sb, const char *key)
{
	jw_keyn(sb, key, strlen(key));
}

static void jw_col(struct strbuf *sb, sqlite3_stmt *st, int i, int boolean)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		if (boolean)
			strbuf_adds(sb, sqlite3_column_int64(st, i) ? "true" : "false");
		else
			jw_int(sb, sqlite3_column_int64(st, i));
		break;
	case SQLITE_FLOAT: {
		double d = sqlite3_column_double(st, i);

		if (isfinite(d))
			strbuf_addf(sb, "%.17g", d);
		else
			jw_lit(sb, "null");
		break;
	}
	case SQLITE_TEXT:
		jw_strn(sb, (const char *)sqlite3_column_text(st, i),
			(size_t)sqlite3_column_bytes(st, i));
		break;
	default:
		jw_lit(sb, "null");
	}
}

/* One member from column i: "name": value (name without its marks). */
static void jw_member(struct strbuf *sb, sqlite3_stmt *st, int i, const char *name)
{
	int boolean = name[0] == '?';

	jw_key(sb, name + boolean);
	jw_col(sb, st, i, boolean);
}

/* The members of the current row (see the comment at the top). */
static void jw_fields(struct strbuf *sb, sqlite3_stmt *st)
{
	int i, j, k, n = sqlite3_column_count(st);

	for (i = 0; i < n; i = j) {
		const char *name = sqlite3_column_name(st, i);
		const char *dot = strchr(name, '.');
		size_t plen;
		int null = 0;

		j = i + 1;
		if (name[0] == '_')
			continue;
		if (!dot) {
			jw_member(sb, st, i, name);
			continue;
		}
		/* A nested object: the columns that share the prefix. */
		plen = (size_t)(dot - name);
		while (j < n && !strncmp(sqlite3_column_name(st, j), name, plen + 1))
			j++;
		for (k = i; k < j; k++)
			if (!strcmp(sqlite3_column_name(st, k) + plen + 1, "id") &&
			    sqlite3_column_type(st, k) == SQLITE_NULL)
				null = 1;
		jw_keyn(sb, name, plen);
		if (null) {
			jw_lit(sb, "null");
			continue;
		}
		jw_ch(sb, '{');
		for (k = i; k < j; k++)
			jw_member(sb, st, k, sqlite3_column_name(st, k) + plen + 1);
		jw_ch(sb, '}');
	}
}

static void jw_object(struct strbuf *sb, sqlite3_stmt *st)
{
	jw_ch(sb, '{');
	jw_fields(sb, st);
	jw_ch(sb, '}');
}

/* Every row of st (stepped here, then done) as an array of objects. */
static int jw_rows(struct strbuf *sb, sqlite3_stmt *st)
{
	int rc;

	if (!st)
		return -1;
	jw_ch(sb, '[');
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		jw_sep(sb);
		jw_object(sb, st);
	}
	jw_ch(sb, ']');
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A newline-separated list as an array of strings; NULL -> null. */
static void jw_lines(struct strbuf *sb, const char *text)
{
	const char *p = text;

	if (!text) {
		jw_lit(sb, "null");
		return;
	}
	jw_ch(sb, '[');
	while (*p) {
		size_t len = strcspn(p, "\n");

		if (len) {
			jw_sep(sb);
			jw_strn(sb, p, len);
		}
		p += len;
		if (*p)
			p++;
	}
	jw_ch(sb, ']');
}

/* --- replies ---------------------------------------------------------------- */

void api_reply_release(struct api_reply *r)
{
	strbuf_release(&r->body);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

void api_reply_header(struct api_reply *r, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (r->nr_headers >= API_MAX_HEADERS)
		return;
	r->headers[r->nr_headers].name = name;
	va_start(ap, fmt);
	vsnprintf(r->headers[r->nr_headers].value,
		  sizeof(r->headers[r->nr_headers].value), fmt, ap);
	va_end(ap);
	r->nr_headers++;
}

/* Start a JSON reply body (the handler appends the text). */
static struct strbuf *begin_json(struct api_reply *out)
{
	strbuf_reset(&out->body);
	/* Room for a typical reply, so that it is not grown ten times. */
	if (out->body.alloc < 16384 && strbuf_add(&out->body, "", 0) == 0) {
		out->body.buf = xrealloc(out->body.buf, 16384);
		out->body.alloc = 16384;
	}
	out->content_type = NULL;
	return &out->body;
}

static int end_json(struct api_reply *out, int status)
{
	if (out->body.truncated)
		return error("reply over %zu bytes", out->body.len);
	strbuf_addch(&out->body, '\n');
	out->status = status;
	return 0;
}

typedef int (*row_writer)(struct strbuf *sb, struct db *db, sqlite3_stmt *st);

/*
 * The reply {"KEY": [...]}: every row of st (stepped here, then done)
 * written as one element by fn.
 */
static int reply_list(struct api_reply *out, struct db *db, sqlite3_stmt *st,
		      const char *key, row_writer fn)
{
	struct strbuf *sb;
	int rc;

	if (!st)
		return -1;
	sb = begin_json(out);
	strbuf_addf(sb, "{\"%s\":[", key);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		jw_sep(sb);
		if (fn(sb, db, st) < 0)
			break;
	}
	db_done(st);
	if (rc != SQLITE_DONE)
		return -1;
	jw_lit(sb, "]}");
	return end_json(out, 200);
}

/* Make j (stolen; a small object built with jansson) the reply. */
static int reply_json(struct api_reply *out, int status, json_t *j)
{
	char *text;

	if (!j)
		return error("out of memory building a reply");
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		return error("cannot serialise a reply");
	strbuf_adds(begin_json(out), text);
	free(text);
	return end_json(out, status);
}

int api_error(struct api_reply *out, int status, const char *fmt, ...)
{
	struct strbuf *sb = begin_json(out);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	jw_lit(sb, "{\"error\":");
	jw_str(sb, msg);	/* msg may quote client input: jw makes it valid */
	jw_ch(sb, '}');
	return end_json(out, status);
}

const char *api_query(const struct api_request *req, const char *key)
{
	size_t i;

	for (i = 0; i < req->nr_query; i++)
		if (!strcmp(req->query[i][0], key))
			return req->query[i][1] ? req->query[i][1] : "";
	return NULL;
}

int api_parse_int(const char *s, long long min, long long max, long long *out)
{
	long long v = 0;
	size_t i;

	if (!s || !*s || strlen(s) > 18 || (s[0] == '0' && s[1]))
		return -1;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int api_read_begin(struct db *db)
{
	if (sqlite3_exec(db->h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return error("BEGIN: %s", sqlite3_errmsg(db->h));
	return 0;
}

void api_read_end(struct db *db)
{
	if (sqlite3_get_autocommit(db->h))
		return;
	if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

static int col_is_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL;
}

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

/* --- lookups -------------------------------------------------------------------- */

/* 1 found, 0 not found (404 replied), -1 error. */
static int find_plan(struct api_reply *out, struct db *db, const char *name,
		     long long *id)
{
	int rc = db_get_int(db, id, "SELECT id FROM plans WHERE name = ?", "s", name);

	if (rc == 0)
		api_error(out, 404, "no such plan: %s", name);
	return rc;
}

static int find_stage(struct api_reply *out, struct db *db, long long plan_id,
		      const char *plan, const char *name, long long *id)
{
	int rc = db_get_int(db, id, "SELECT id FROM stages WHERE plan_id = ?"
			    " AND name = ?", "ls", plan_id, name);

	if (rc == 0)
		api_error(out, 404, "no stage %s in plan %s", name, plan);
	return rc;
}

static long long param_id(const struct api_request *req, size_t i)
{
	long long id = 0;

	api_parse_int(req->params[i], 1, (long long)1 << 53, &id);
	return id;
}

/* --- plans and stages ------------------------------------------------------------ */

#define PLAN_SQL \
	"SELECT p.id AS _id, p.name, p.repo, p.base, p.integration, p.profile," \
	" p.profile_digest, p.gate_state AS \"gate.state\"," \
	" p.integration_head AS \"gate.integration_head\"," \
	" (SELECT name FROM stages WHERE id = p.gate_stage_id) AS \"gate.stage\"," \
	" p.gate_commit AS \"gate.commit\", p.gate_detail AS \"gate.detail\"" \
	" FROM plans p"

#define RUN_SUMMARY_COLS(prefix) \
	" r.id AS \"" prefix "id\", r.state AS \"" prefix "state\"," \
	" r.verdict AS \"" prefix "verdict\"," \
	" r.current_step AS \"" prefix "current_step\"," \
	" (SELECT started_at FROM steps WHERE run_id = r.id AND name = r.current_step)" \
	" AS \"" prefix "step_started_at\", r.queued_at AS \"" prefix "queued_at\"," \
	" r.started_at AS \"" prefix "started_at\"," \
	" r.finished_at AS \"" prefix "finished_at\"," \
	" r.reused_from AS \"" prefix "reused_from\"," \
	" r.reason AS \"" prefix "reason\"," \
	" r.boot_verdict AS \"" prefix "boot_verdict\""

/*
 * Columns 0-2 are the stage id, its run and its baseline run; commits is
 * the column name of the count of own commits ("_commits" hides it where
 * the list of commits takes its place).
 */
#define STAGE_SQL(commits) \
	"SELECT s.id AS _id, coalesce(s.run_id, 0) AS _run," \
	" coalesce(s.baseline_run_id, 0) AS _base, s.name, s.idx, s.branch," \
	" s.title, s.head, s.tree, s.stack_state, s.stack_detail, s.missing_commit," \
	" s.verdict, s.regressions, s.fixed, s.new_tests AS new, s.skipped, s.known," \
	" coalesce(r.n_pass, 0) AS \"counts.pass\"," \
	" coalesce(r.n_fail, 0) AS \"counts.fail\"," \
	" coalesce(r.n_skip, 0) AS \"counts.skip\"," \
	" coalesce(r.n_error, 0) AS \"counts.error\"," \
	" (SELECT count(*) FROM stage_commits c WHERE c.stage_id = s.id) AS " commits "," \
	RUN_SUMMARY_COLS("run.") "," \
	" s.baseline_run_id, b.id AS \"bisection.id\"," \
	" b.state AS \"bisection.state\", b.culprit AS \"bisection.culprit\"" \
	" FROM stages s LEFT JOIN runs r ON r.id = s.run_id" \
	" LEFT JOIN bisections b ON b.id =" \
	" (SELECT max(id) FROM bisections WHERE stage_id = s.id)"

/* The stages of a plan, base first. */
static int plan_stages(struct strbuf *sb, struct db *db, long long plan_id)
{
	return jw_rows(sb, db_stmt(db, STAGE_SQL("commits") " WHERE s.plan_id = ?"
				   " ORDER BY s.idx", "l", plan_id));
}

/* The plan of the current row of st, with its stages. */
static int plan_object(struct strbuf *sb, struct db *db, sqlite3_stmt *st)
{
	jw_ch(sb, '{');
	jw_fields(sb, st);
	jw_key(sb, "stages");
	if (plan_stages(sb, db, sqlite3_column_int64(st, 0)) < 0)
		return -1;
	jw_ch(sb, '}');
	return 0;
}

int api_plans(struct api_reply *out, const struct api_request *req)
{
	return reply_list(out, req->db, db_stmt(req->db, PLAN_SQL " ORDER BY p.name",
						NULL), "plans", plan_object);
}

int api_plan(struct api_reply *out, const struct api_request *req)
{
	struct strbuf *sb = begin_json(out);
	sqlite3_stmt *st;
	int rc, ret = 0;

	st = db_stmt(req->db, PLAN_SQL " WHERE p.name = ?", "s", req->params[0]);
	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = plan_object(sb, req->db, st);
	db_done(st);
	if (rc == SQLITE_DONE)
		return api_error(out, 404, "no such plan: %s", req->params[0]);
	if (rc != SQLITE_ROW || ret < 0)
		return -1;
	return end_json(out, 200);
}

/*
 * The results of a stage's run, each with its status on the baseline run:
 * two scans in test order, merged (a lookup per result cost twice as much).
 */
static int stage_results(struct strbuf *sb, struct db *db, long long run,
			 long long base)
{
	sqlite3_stmt *x, *b = NULL;
	int rc, brc = SQLITE_DONE;

	x = db_stmt(db, "SELECT test, status, detail, line FROM results"
		    " WHERE run_id = ? ORDER BY test", "l", run);
	if (!x)
		return -1;
	if (base) {
		b = db_stmt(db, "SELECT test, status FROM results WHERE run_id = ?"
			    " ORDER BY test", "l", base);
		if (!b) {
			db_done(x);
			return -1;
		}
		brc = sqlite3_step(b);
	}
	jw_ch(sb, '[');
	while ((rc = sqlite3_step(x)) == SQLITE_ROW) {
		const char *test = db_col_text(x, 0);
		int cmp = -1;

		while (brc == SQLITE_ROW && (cmp = strcmp(db_col_text(b, 0), test)) < 0)
			brc = sqlite3_step(b);
		jw_sep(sb);
		jw_ch(sb, '{');
		jw_fields(sb, x);
		jw_key(sb, "baseline");
		if (brc == SQLITE_ROW && cmp == 0)
			jw_col(sb, b, 1, 0);
		else
			jw_lit(sb, "null");
		jw_ch(sb, '}');
	}
	jw_ch(sb, ']');
	db_done(x);
	db_done(b);
	return rc == SQLITE_DONE && (brc == SQLITE_ROW || brc == SQLITE_DONE) ? 0 : -1;
}

int api_stage(struct api_reply *out, const struct api_request *req)
{
	struct strbuf *sb = begin_json(out);
	struct db *db = req->db;
	long long plan_id, stage_id = 0, run_id = 0, base_id = 0;
	sqlite3_stmt *st;
	int rc;

	rc = find_plan(out, db, req->params[0], &plan_id);
	if (rc <= 0)
		return rc;
	st = db_stmt(db, STAGE_SQL("_commits") " WHERE s.plan_id = ? AND s.name = ?",
		     "ls", plan_id, req->params[1]);
	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		stage_id = sqlite3_column_int64(st, 0);
		run_id = sqlite3_column_int64(st, 1);
		base_id = sqlite3_column_int64(st, 2);
		jw_ch(sb, '{');
		jw_fields(sb, st);
	}
	db_done(st);
	if (rc == SQLITE_DONE)
		return api_error(out, 404, "no stage %s in plan %s", req->params[1],
				 req->params[0]);
	if (rc != SQLITE_ROW)
		return -1;
	jw_key(sb, "commits");
	if (jw_rows(sb, db_stmt(db, "SELECT commit_id AS id, subject, author"
				" FROM stage_commits WHERE stage_id = ? ORDER BY seq",
				"l", stage_id)) < 0)
		return -1;
	jw_key(sb, "changes");
	if (jw_rows(sb, db_stmt(db, "SELECT test, kind, before, after, detail"
				" FROM changes WHERE stage_id = ? ORDER BY"
				" kind NOT IN ('regression', 'missing'), kind, test",
				"l", stage_id)) < 0)
		return -1;
	jw_key(sb, "results");
	if (stage_results(sb, db, run_id, base_id) < 0)
		return -1;
	jw_key(sb, "runs");
	if (jw_rows(sb, db_stmt(db, "SELECT" RUN_SUMMARY_COLS("") " FROM runs r"
				" WHERE r.stage_id = ? ORDER BY r.id DESC LIMIT 20",
				"l", stage_id)) < 0)
		return -1;
	jw_ch(sb, '}');
	return end_json(out, 200);
}

#define MATRIX_STAGES 256

int api_matrix(struct api_reply *out, const struct api_request *req)
{
	struct strbuf *sb = begin_json(out);
	struct db *db = req->db;
	long long plan_id, pos[MATRIX_STAGES];
	char status[MATRIX_STAGES][16], kind[MATRIX_STAGES][16];
	struct strbuf test = STRBUF_INIT;
	sqlite3_stmt *st;
	size_t n = 0, i;
	int rc, have = 0;

	rc = find_plan(out, db, req->params[0], &plan_id);
	if (rc <= 0)
		return rc;
	st = db_stmt(db, "SELECT idx, name FROM stages WHERE plan_id = ? ORDER BY idx",
		     "l", plan_id);
	if (!st)
		return -1;
	jw_lit(sb, "{\"stages\":[");
	while (sqlite3_step(st) == SQLITE_ROW && n < MATRIX_STAGES) {
		pos[n++] = sqlite3_column_int64(st, 0);
		jw_sep(sb);
		jw_str(sb, db_col_text(st, 1));
	}
	db_done(st);
	jw_lit(sb, "],\"tests\":[");
	st = db_stmt(db, "SELECT x.test, s.idx, x.status, c.kind FROM stages s"
		     " JOIN results x ON x.run_id = s.run_id LEFT JOIN changes c"
		     " ON c.stage_id = s.id AND c.test = x.test WHERE s.plan_id = ?"
		     " ORDER BY x.test, s.idx", "l", plan_id);
	if (!st)
		return -1;
	/* Rows come sorted by test: one line of the matrix per test. */
	for (;;) {
		const char *t = NULL;

		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			t = db_col_text(st, 0);
		if (have && (!t || strcmp(t, strbuf_str(&test)))) {
			jw_sep(sb);
			jw_lit(sb, "{\"test\":");
			jw_strn(sb, test.buf, test.len);
			jw_lit(sb, ",\"status\":[");
			for (i = 0; i < n; i++) {
				jw_sep(sb);
				jw_str(sb, status[i][0] ? status[i] : NULL);
			}
			jw_lit(sb, "],\"kind\":[");
			for (i = 0; i < n; i++) {
				jw_sep(sb);
				jw_str(sb, kind[i][0] ? kind[i] : NULL);
			}
			jw_lit(sb, "]}");
			have = 0;
		}
		if (!t)
			break;
		if (!have) {
			strbuf_reset(&test);
			strbuf_adds(&test, t);
			memset(status, 0, sizeof(status));
			memset(kind, 0, sizeof(kind));
			have = 1;
		}
		for (i = 0; i < n; i++)
			if (pos[i] == sqlite3_column_int64(st, 1)) {
				snprintf(status[i], sizeof(status[i]), "%s",
					 db_col_text(st, 2));
				snprintf(kind[i], sizeof(kind[i]), "%s",
					 db_col_text(st, 3));
			}
	}
	db_done(st);
	strbuf_release(&test);
	if (rc != SQLITE_DONE)
		return -1;
	jw_lit(sb, "]}");
	return end_json(out, 200);
}

int api_history(struct api_reply *out, const struct api_request *req)
{
	const char *test = api_query(req, "test");
	struct strbuf *sb;
	long long plan_id;
	int rc;

	if (!test || !*test)
		return api_error(out, 400, "the test parameter is required"
				 " (?test=SUITE/TEST)");
	rc = find_plan(out, req->db, req->params[0], &plan_id);
	if (rc <= 0)
		return rc;
	sb = begin_json(out);
	jw_lit(sb, "{\"test\":");
	jw_str(sb, test);
	jw_key(sb, "history");
	if (jw_rows(sb, db_stmt(req->db, "SELECT s.name AS stage, r.id AS run_id,"
				" r.commit_id AS \"commit\", x.status, x.detail,"
				" r.finished_at FROM results x"
				" JOIN runs r ON r.id = x.run_id"
				" LEFT JOIN stages s ON s.id = r.stage_id"
				" WHERE x.test = ? AND r.plan_id = ?"
				" ORDER BY x.run_id DESC LIMIT 500", "sl",
				test, plan_id)) < 0)
		return -1;
	jw_ch(sb, '}');
	return end_json(out, 200);
}

int api_acks(struct api_reply *out, const struct api_request *req)
{
	struct strbuf *sb;
	long long plan_id;
	int rc;

	rc = find_plan(out, req->db, req->params[0], &plan_id);
	if (rc <= 0)
		return rc;
	sb = begin_json(out);
	jw_lit(sb, "{\"acks\":");
	if (jw_rows(sb, db_stmt(req->db, "SELECT id, test, reason, until_stage AS"
				" until, created_by, created_at FROM acks"
				" WHERE plan_id = ? ORDER BY id", "l", plan_id)) < 0)
		return -1;
	jw_ch(sb, '}');
	return end_json(out, 200);
}

/* --- runs ------------------------------------------------------------------------ */

#define RUN_SQL \
	"SELECT r.id, p.name AS plan, s.name AS stage, r.commit_id AS \"commit\"," \
	" r.tree_id AS tree, r.profile, r.profile_digest, r.reason, r.tests AS _tests," \
	" r.bisection_id, r.state, r.verdict, r.boot_verdict, r.boot_line," \
	" r.boot_text, r.failed_step, r.error, r.reused_from, r.slot, r.current_step," \
	" r.n_pass AS \"counts.pass\", r.n_fail AS \"counts.fail\"," \
	" r.n_skip AS \"counts.skip\", r.n_error AS \"counts.error\"," \
	" r.queued_at, r.started_at, r.finished_at, r.checkout_ms, r.overhead_ms" \
	" FROM runs r JOIN plans p ON p.id = r.plan_id" \
	" LEFT JOIN stages s ON s.id = r.stage_id"

/* The run of the current row of st (RUN_SQL), with its steps. */
static int run_object(struct strbuf *sb, struct db *db, sqlite3_stmt *st)
{
	long long id = sqlite3_column_int64(st, 0);
	sqlite3_stmt *s;
	int rc;

	jw_ch(sb, '{');
	jw_fields(sb, st);
	jw_key(sb, "tests");
	jw_lines(sb, (const char *)sqlite3_column_text(st, 8));
	jw_key(sb, "steps");
	s = db_stmt(db, "SELECT idx, name, state, exit_code, signal, started_at,"
		    " finished_at, log AS _log, log_bytes, log_dropped, console"
		    " FROM steps WHERE run_id = ? ORDER BY idx", "l", id);
	if (!s)
		return -1;
	jw_ch(sb, '[');
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		jw_sep(sb);
		jw_ch(sb, '{');
		jw_fields(sb, s);
		jw_key(sb, "log");
		if (col_is_null(s, 7))
			jw_lit(sb, "null");
		else
			strbuf_addf(sb, "\"/api/v1/runs/%lld/steps/%d/log\"", id,
				    sqlite3_column_int(s, 0));
		jw_ch(sb, '}');
	}
	db_done(s);
	jw_lit(sb, "]}");
	return rc == SQLITE_DONE ? 0 : -1;
}

static const char *const run_states[] = {
	"queued", "running", "done", "canceled", "superseded", NULL
};

/* The plan=, stage= and limit= arguments shared by the list endpoints. */
static int list_filters(struct api_reply *out, const struct api_request *req,
			long long *plan_id, long long *stage_id, long long *limit,
			long long def_limit)
{
	const char *plan = api_query(req, "plan"), *stage = api_query(req, "stage");
	const char *lim = api_query(req, "limit");
	int rc;

	*plan_id = *stage_id = 0;
	*limit = def_limit;
	if (lim && api_parse_int(lim, 1, RUNS_LIMIT_MAX, limit) < 0)
		return api_error(out, 400, "limit must be an integer from 1 to %d",
				 RUNS_LIMIT_MAX), 0;
	if (stage && !plan)
		return api_error(out, 400, "stage needs plan (stage names are per plan)"), 0;
	if (plan) {
		if (!config_valid_name(plan))
			return api_error(out, 400, "invalid plan name"), 0;
		rc = find_plan(out, req->db, plan, plan_id);
		if (rc <= 0)
			return rc;
	}
	if (stage) {
		if (!config_valid_name(stage))
			return api_error(out, 400, "invalid stage name"), 0;
		rc = find_stage(out, req->db, *plan_id, plan, stage, stage_id);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

int api_runs(struct api_reply *out, const struct api_request *req)
{
	const char *state = api_query(req, "state");
	long long plan_id, stage_id, limit;
	sqlite3_stmt *st;
	int rc;

	rc = list_filters(out, req, &plan_id, &stage_id, &limit, 50);
	if (rc <= 0)
		return rc;
	if (state && !in_list(run_states, state))
		return api_error(out, 400, "state must be one of queued, running, done,"
				 " canceled, superseded");
	st = db_stmt(req->db, RUN_SQL " WHERE (?1 IS NULL OR r.plan_id = ?1)"
		     " AND (?2 IS NULL OR r.stage_id = ?2) AND (?3 IS NULL OR"
		     " r.state = ?3) ORDER BY r.id DESC LIMIT ?4", "LLsl", plan_id,
		     stage_id, state, limit);
	return reply_list(out, req->db, st, "runs", run_object);
}

int api_run(struct api_reply *out, const struct api_request *req)
{
	long long id = param_id(req, 0);
	struct strbuf *sb = begin_json(out);
	sqlite3_stmt *st = db_stmt(req->db, RUN_SQL " WHERE r.id = ?", "l", id);
	int rc, ret = 0;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = run_object(sb, req->db, st);
	db_done(st);
	if (rc == SQLITE_DONE)
		return api_error(out, 404, "no such run: %lld", id);
	if (rc != SQLITE_ROW || ret < 0)
		return -1;
	return end_json(out, 200);
}

static int run_exists(struct api_reply *out, struct db *db, long long id)
{
	long long one;
	int rc = db_get_int(db, &one, "SELECT 1 FROM runs WHERE id = ?", "l", id);

	if (rc == 0)
		api_error(out, 404, "no such run: %lld", id);
	return rc;
}

int api_run_results(struct api_reply *out, const struct api_request *req)
{
	long long id = param_id(req, 0);
	struct strbuf *sb;
	int rc = run_exists(out, req->db, id);

	if (rc <= 0)
		return rc;
	sb = begin_json(out);
	jw_lit(sb, "{\"results\":");
	if (jw_rows(sb, db_stmt(req->db, "SELECT test, status, detail, line"
				" FROM results WHERE run_id = ? ORDER BY test",
				"l", id)) < 0)
		return -1;
	jw_ch(sb, '}');
	return end_json(out, 200);
}

struct file_entry {
	char *name;
	long long size;
};

struct file_list {
	struct file_entry *v;
	size_t nr, alloc;
};

/* Regular files under dirfd (no symlinks followed), names relative. */
static void list_files(struct file_list *fl, int dirfd, const char *prefix, int depth)
{
	DIR *d;
	struct dirent *de;

	if (depth > 4) {
		close(dirfd);
		return;
	}
	d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d)) && fl->nr < ARTIFACTS_MAX) {
		struct stat sb;
		char name[1024];

		if (!is_safe_component(de->d_name))
			continue;
		if (fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? "/" : "",
			 de->d_name);
		if (S_ISREG(sb.st_mode)) {
			if (fl->nr == fl->alloc) {
				fl->alloc = fl->alloc ? 2 * fl->alloc : 16;
				fl->v = xrealloc(fl->v, fl->alloc * sizeof(*fl->v));
			}
			fl->v[fl->nr].name = xstrdup(name);
			fl->v[fl->nr].size = (long long)sb.st_size;
			fl->nr++;
		} else if (S_ISDIR(sb.st_mode)) {
			int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY |
					O_NOFOLLOW | O_CLOEXEC);

			if (fd >= 0)
				list_files(fl, fd, name, depth + 1);
		}
	}
	closedir(d);
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct file_entry *)a)->name,
		      ((const struct file_entry *)b)->name);
}

int api_run_artifacts(struct api_reply *out, const struct api_request *req)
{
	long long id = param_id(req, 0);
	struct file_list fl = { NULL, 0, 0 };
	struct strbuf *sb;
	char rel[64];
	char *dir;
	int rc = run_exists(out, req->db, id), fd;
	size_t i;

	if (rc <= 0)
		return rc;
	snprintf(rel, sizeof(rel), "runs/%lld", id);
	dir = path_join(req->cfg->artifacts, rel);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	free(dir);
	if (fd >= 0)
		list_files(&fl, fd, "", 0);
	qsort(fl.v, fl.nr, sizeof(*fl.v), entry_cmp);
	sb = begin_json(out);
	jw_lit(sb, "{\"files\":[");
	for (i = 0; i < fl.nr; i++) {
		jw_sep(sb);
		jw_lit(sb, "{\"name\":");
		jw_str(sb, fl.v[i].name);
		jw_lit(sb, ",\"size\":");
		jw_int(sb, fl.v[i].size);
		jw_ch(sb, '}');
		free(fl.v[i].name);
	}
	free(fl.v);
	jw_lit(sb, "]}");
	return end_json(out, 200);
}

/* --- bisections ----------------------------------------------------------------- */

#define BISECTION_SQL \
	"SELECT b.id, p.name AS plan, s.name AS stage, b.reason, b.state," \
	" b.good_commit, b.bad_commit, b.tests AS _tests, b.runs_per_step," \
	" b.confirm_runs, b.fail_rate, b.confidence, b.culprit AS _culprit," \
	" b.culprit_stage AS _culprit_stage, b.range_good AS _range_good," \
	" b.range_bad AS _range_bad, b.detail, b.rounds, b.runs, b.reused," \
	" b.created_at, b.updated_at, b.finished_at" \
	" FROM bisections b JOIN plans p ON p.id = b.plan_id" \
	" LEFT JOIN stages s ON s.id = b.stage_id"

enum { B_ID, B_PLAN, B_STAGE, B_REASON, B_STATE, B_GOOD, B_BAD, B_TESTS,
       B_RPS, B_CONFIRM, B_RATE, B_CONF, B_CULPRIT, B_CULPRIT_STAGE,
       B_RANGE_GOOD, B_RANGE_BAD };

static const char *const finished_bisection[] = {
	"found", "inconclusive", "flaky", "not-reproduced", "canceled", "error", NULL
};

/* The members of a bisection (current row of st): fields, culprit, range. */
static void bisection_fields(struct strbuf *sb, struct db *db, sqlite3_stmt *st)
{
	long long id = sqlite3_column_int64(st, B_ID);

	jw_fields(sb, st);
	jw_key(sb, "tests");
	jw_lines(sb, (const char *)sqlite3_column_text(st, B_TESTS));
	jw_key(sb, "culprit");
	if (col_is_null(st, B_CULPRIT)) {
		jw_lit(sb, "null");
	} else {
		sqlite3_stmt *c = db_stmt(db, "SELECT subject, author, stage FROM"
					  " bisection_commits WHERE bisection_id = ?"
					  " AND commit_id = ? LIMIT 1", "ls", id,
					  db_col_text(st, B_CULPRIT));
		int found = c && sqlite3_step(c) == SQLITE_ROW;

		jw_lit(sb, "{\"commit\":");
		jw_col(sb, st, B_CULPRIT, 0);
		jw_lit(sb, ",\"subject\":");
		if (found)
			jw_col(sb, c, 0, 0);
		else
			jw_lit(sb, "null");
		jw_lit(sb, ",\"author\":");
		if (found)
			jw_col(sb, c, 1, 0);
		else
			jw_lit(sb, "null");
		jw_lit(sb, ",\"stage\":");
		if (!col_is_null(st, B_CULPRIT_STAGE) || !found)
			jw_col(sb, st, B_CULPRIT_STAGE, 0);
		else
			jw_col(sb, c, 2, 0);
		jw_ch(sb, '}');
		db_done(c);
	}
	jw_key(sb, "range");
	if (col_is_null(st, B_RANGE_GOOD) && col_is_null(st, B_RANGE_BAD)) {
		jw_lit(sb, "null");
	} else {
		sqlite3_stmt *c = db_stmt(db, "SELECT commit_id FROM bisection_commits"
					  " WHERE bisection_id = ? AND mark = 'skip'"
					  " ORDER BY seq", "l", id);

		jw_lit(sb, "{\"good\":");
		jw_col(sb, st, B_RANGE_GOOD, 0);
		jw_lit(sb, ",\"bad\":");
		jw_col(sb, st, B_RANGE_BAD, 0);
		jw_lit(sb, ",\"untestable\":[");
		while (c && sqlite3_step(c) == SQLITE_ROW) {
			jw_sep(sb);
			jw_col(sb, c, 0, 0);
		}
		db_done(c);
		jw_lit(sb, "]}");
	}
}

/* A bisection without its commits and steps (for lists). */
static int bisection_summary(struct strbuf *sb, struct db *db, sqlite3_stmt *st)
{
	jw_ch(sb, '{');
	bisection_fields(sb, db, st);
	jw_ch(sb, '}');
	return 0;
}

int api_bisections(struct api_reply *out, const struct api_request *req)
{
	long long plan_id, stage_id, limit;
	sqlite3_stmt *st;
	int rc;

	rc = list_filters(out, req, &plan_id, &stage_id, &limit, 50);
	if (rc <= 0)
		return rc;
	st = db_stmt(req->db, BISECTION_SQL " WHERE (?1 IS NULL OR b.plan_id = ?1)"
		     " AND (?2 IS NULL OR b.stage_id = ?2) ORDER BY b.id DESC LIMIT ?3",
		     "LLl", plan_id, stage_id, limit);
	return reply_list(out, req->db, st, "bisections", bisection_summary);
}

/* The log of a run's console step (the one parsed for results). */
static int console_log(struct db *db, long long run_id, int *idx, char **rel)
{
	/* The console step; for runs from before it was recorded, the last log. */
	sqlite3_stmt *st = db_stmt(db, "SELECT idx, log FROM steps WHERE run_id = ?"
				   " AND log IS NOT NULL ORDER BY console DESC, idx DESC"
				   " LIMIT 1", "l", run_id);
	int found = 0;

	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*idx = sqlite3_column_int(st, 0);
		*rel = db_col_dup(st, 1);
		found = 1;
	}
	db_done(st);
	return found;
}

/*
 * Lines [line - EXCERPT_CONTEXT, line + EXCERPT_CONTEXT] of a file
 * (1-based), each cut at EXCERPT_LINE_MAX bytes, all at EXCERPT_MAX.
 */
static int read_excerpt(struct strbuf *out, long long *first, const char *path,
			long long line)
{
	long long from = line - EXCERPT_CONTEXT > 1 ? line - EXCERPT_CONTEXT : 1;
	long long to = line + EXCERPT_CONTEXT, cur = 1;
	size_t in_line = 0;
	char buf[65536];
	ssize_t n;
	int fd = xopen(path, O_RDONLY | O_NOFOLLOW);

	*first = from;
	if (fd < 0)
		return -1;
	while (cur <= to && (n = xread(fd, buf, sizeof(buf))) > 0) {
		char *p = buf, *end = buf + n;

		while (p < end && cur <= to) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = (size_t)((nl ? nl : end) - p);

			if (cur >= from) {
				size_t room = in_line < EXCERPT_LINE_MAX ?
					      EXCERPT_LINE_MAX - in_line : 0;

				if (out->len + (len < room ? len : room) + 1 > EXCERPT_MAX)
					goto done;
				strbuf_add(out, p, len < room ? len : room);
				in_line += len;
				if (nl)
					strbuf_addch(out, '\n');
			}
			if (!nl)
				break;
			in_line = 0;
			cur++;
			p = nl + 1;
		}
	}
done:
	close(fd);
	return 0;
}

/* {"run_id", "log", "first_line", "text"} for test's result line, or null. */
static void excerpt_of(struct strbuf *sb, const struct api_request *req,
		       long long run_id, const char *test)
{
	struct strbuf text = STRBUF_INIT;
	long long line = 0, first = 0;
	char *rel = NULL, *abs = NULL;
	int idx = 0;

	if (!run_id || !req->cfg ||
	    db_get_int(req->db, &line, "SELECT line FROM results WHERE run_id = ?"
		       " AND test = ? AND line IS NOT NULL", "ls", run_id, test) != 1 ||
	    line <= 0 || console_log(req->db, run_id, &idx, &rel) != 1 ||
	    rel[0] == '/' || strstr(rel, ".."))
		goto none;
	abs = path_join(req->cfg->artifacts, rel);
	if (read_excerpt(&text, &first, abs, line) < 0)
		goto none;
	strbuf_addf(sb, "{\"run_id\":%lld,\"log\":\"/api/v1/runs/%lld/steps/%d/log\","
		    "\"first_line\":%lld,\"text\":", run_id, run_id, idx, first);
	jw_strn(sb, strbuf_str(&text), text.len);
	jw_ch(sb, '}');
	goto out;
none:
	jw_lit(sb, "null");
out:
	strbuf_release(&text);
	free(rel);
	free(abs);
}

/* The last verify-phase run of commit position seq, 0 if none. */
static long long verify_run(struct db *db, long long bisection_id, long long seq)
{
	long long id = 0;

	if (db_get_int(db, &id, "SELECT max(run_id) FROM bisection_runs WHERE"
		       " bisection_id = ? AND seq = ? AND phase = 'verify'", "ll",
		       bisection_id, seq) != 1)
		return 0;
	return id;
}

/*
 * The console lines around the first failing bisected test in the
 * culprit's last verify run, and around the same test in its parent's.
 */
static void excerpts(struct strbuf *sb, const struct api_request *req, long long id,
		     const char *culprit, const char *tests)
{
	long long seq = 0, culprit_run, parent_run;
	char *test = NULL;
	sqlite3_stmt *st;
	size_t mark;

	if (!culprit ||
	    db_get_int(req->db, &seq, "SELECT seq FROM bisection_commits WHERE"
		       " bisection_id = ? AND commit_id = ?", "ls", id, culprit) != 1 ||
	    !(culprit_run = verify_run(req->db, id, seq))) {
		jw_lit(sb, "null");
		return;
	}
	parent_run = verify_run(req->db, id, seq - 1);
	st = db_stmt(req->db, "SELECT test FROM results WHERE run_id = ? AND status"
		     " IN ('fail', 'error') AND line IS NOT NULL ORDER BY line", "l",
		     culprit_run);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (lines_contain(tests, db_col_text(st, 0))) {
			test = db_col_dup(st, 0);
			break;
		}
	}
	db_done(st);
	if (!test) {
		jw_lit(sb, "null");
		return;
	}
	mark = sb->len;
	jw_lit(sb, "{\"culprit\":");
	excerpt_of(sb, req, culprit_run, test);
	jw_lit(sb, ",\"parent\":");
	excerpt_of(sb, req, parent_run, test);
	jw_ch(sb, '}');
	if (!strcmp(sb->buf + mark, "{\"culprit\":null,\"parent\":null}")) {
		sb->len = mark;
		sb->buf[mark] = '\0';
		jw_lit(sb, "null");
	}
	free(test);
}

int api_bisection(struct api_reply *out, const struct api_request *req)
{
	long long id = param_id(req, 0);
	struct strbuf *sb = begin_json(out);
	char *culprit = NULL, *tests = NULL;
	sqlite3_stmt *st;
	int rc;

	st = db_stmt(req->db, BISECTION_SQL " WHERE b.id = ?", "l", id);
	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		jw_ch(sb, '{');
		bisection_fields(sb, req->db, st);
		culprit = db_col_dup(st, B_CULPRIT);
		tests = db_col_dup(st, B_TESTS);
	}
	db_done(st);
	if (rc == SQLITE_DONE)
		return api_error(out, 404, "no such bisection: %lld", id);
	if (rc != SQLITE_ROW)
		return -1;
	jw_key(sb, "commits");
	rc = jw_rows(sb, db_stmt(req->db, "SELECT seq, commit_id AS \"commit\", subject,"
				 " author, stage, boundary AS \"?boundary\", mark"
				 " FROM bisection_commits WHERE bisection_id = ?"
				 " ORDER BY seq", "l", id));
	jw_key(sb, "steps");
	if (jw_rows(sb, db_stmt(req->db, "SELECT x.run_id, x.seq, r.commit_id AS"
				" \"commit\", x.phase, x.round, x.verdict,"
				" r.state AS run_state FROM bisection_runs x"
				" JOIN runs r ON r.id = x.run_id"
				" WHERE x.bisection_id = ? ORDER BY x.run_id", "l", id)) < 0)
		rc = -1;
	jw_key(sb, "excerpts");
	excerpts(sb, req, id, culprit, tests ? tests : "");
	jw_ch(sb, '}');
	free(culprit);
	free(tests);
	if (rc < 0)
		return -1;
	return end_json(out, 200);
}

/* --- request bodies -------------------------------------------------------------- */

/*
 * Parse the JSON body into *root: an object with only the allowed keys
 * (an empty body is {}).  1 ok, 0 the reply says what is wrong.
 */
static int parse_body(struct api_reply *out, const struct api_request *req,
		      json_t **root, const char *const *allowed)
{
	json_error_t jerr;
	const char *key;
	json_t *v;

	*root = NULL;
	if (req->body_len == 0) {
		*root = json_object();
		return 1;
	}
	*root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*root)
		return api_error(out, 400, "invalid JSON at line %d, column %d: %s",
				 jerr.line, jerr.column, jerr.text), 0;
	if (!json_is_object(*root)) {
		json_decref(*root);
		*root = NULL;
		return api_error(out, 400, "the body must be a JSON object"), 0;
	}
	json_object_foreach(*root, key, v) {
		if (!in_list(allowed, key)) {
			api_error(out, 400, "unknown field \"%.64s\"", key);
			json_decref(*root);
			*root = NULL;
			return 0;
		}
	}
	return 1;
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * An optional string field: 1 (value or NULL in *out), 0 (400 replied).
 * max: longest allowed; empty strings and control characters are refused.
 */
static int get_string(struct api_reply *out, json_t *root, const char *key,
		      int required, size_t max, const char **value)
{
	json_t *v = json_object_get(root, key);

	*value = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return api_error(out, 400, "%s is required", key), 0;
		return 1;
	}
	if (!json_is_string(v))
		return api_error(out, 400, "%s must be a string", key), 0;
	if (json_string_length(v) == 0 || json_string_length(v) > max)
		return api_error(out, 400, "%s must be 1 to %zu characters", key, max), 0;
	if (strlen(json_string_value(v)) != json_string_length(v) ||
	    has_control(json_string_value(v)))
		return api_error(out, 400, "%s must not contain control characters", key), 0;
	*value = json_string_value(v);
	return 1;
}

static void wake(const struct api_request *req, int pass)
{
	if (req->engine)
		engine_wake(req->engine, pass);
}

/*
 * The end of every write: a success (rc >= 0 and a 2xx reply) commits and,
 * if wake_loop, wakes the engine; anything else rolls back, so a failed
 * request changes nothing.  Returns the handler's result (0 or -1).
 */
static int end_write(struct api_reply *out, const struct api_request *req,
		     int rc, int wake_loop)
{
	if (rc >= 0 && out->status < 300) {
		if (db_commit(req->db) < 0)
			return -1;
		if (wake_loop)
			wake(req, 0);
	} else {
		db_rollback(req->db);
	}
	return rc < 0 ? -1 : 0;
}

/* --- writes: runs ---------------------------------------------------------------- */

static const char *const no_fields[] = { NULL };

int api_trigger(struct api_reply *out, const struct api_request *req)
{
	struct run_request rr = { 0 };
	struct db *db = req->db;
	char *head = NULL, *tree = NULL, *profile = NULL, *digest = NULL;
	long long plan_id, stage_id, existing = 0, id;
	sqlite3_stmt *st;
	json_t *body;
	int rc, reused = 0;

	if (!parse_body(out, req, &body, no_fields))
		return 0;
	json_decref(body);
	if (db_begin(db) < 0)
		return -1;
	rc = find_plan(out, db, req->params[0], &plan_id);
	if (rc > 0)
		rc = find_stage(out, db, plan_id, req->params[0], req->params[1], &stage_id);
	if (rc <= 0)
		goto out;
	rc = -1;
	st = db_stmt(db, "SELECT s.head, s.tree, p.profile, p.profile_digest"
		     " FROM stages s JOIN plans p ON p.id = s.plan_id WHERE s.id = ?",
		     "l", stage_id);
	if (!st)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		head = db_col_dup(st, 0);
		tree = db_col_dup(st, 1);
		profile = db_col_dup(st, 2);
		digest = db_col_dup(st, 3);
	}
	db_done(st);
	if (!profile)
		goto out;
	if (!head || !tree) {
		rc = api_error(out, 409, "stage %s has no head (its branch does not"
			       " resolve); nothing to run", req->params[1]);
		goto out;
	}
	if (db_get_int(db, &existing, "SELECT id FROM runs WHERE stage_id = ?"
		       " AND commit_id = ? AND profile_digest = ? AND tests IS NULL"
		       " AND state IN ('queued', 'running') ORDER BY id DESC LIMIT 1",
		       "lss", stage_id, head, digest) < 0)
		goto out;
	if (existing) {
		rc = reply_json(out, 200, json_pack("{s:I,s:b,s:b}", "run",
						    (json_int_t)existing, "existing", 1,
						    "reused", 0));
		goto out;
	}
	rr.plan_id = plan_id;
	rr.stage_id = stage_id;
	rr.commit = head;
	rr.tree = tree;
	rr.profile = profile;
	rr.digest = digest;
	rr.reason = "manual";
	rr.priority = PRIO_MANUAL;
	rr.supersede = 1;
	id = queue_add(db, &rr, &reused);
	if (id < 0)
		goto out;
	rc = reply_json(out, 202, json_pack("{s:I,s:b}", "run", (json_int_t)id,
					    "reused", reused));
out:
	rc = end_write(out, req, rc, !existing);
	free(head);
	free(tree);
	free(profile);
	free(digest);
	return rc;
}

int api_retry(struct api_reply *out, const struct api_request *req)
{
	struct run_request rr = { 0 };
	struct db *db = req->db;
	long long run_id = param_id(req, 0), id;
	char *commit = NULL, *tree = NULL, *profile = NULL, *digest = NULL;
	char *tests = NULL, *state = NULL;
	sqlite3_stmt *st;
	json_t *body;
	int rc = -1;

	if (!parse_body(out, req, &body, no_fields))
		return 0;
	json_decref(body);
	if (db_begin(db) < 0)
		return -1;
	st = db_stmt(db, "SELECT plan_id, coalesce(stage_id, 0), commit_id, tree_id,"
		     " profile, profile_digest, tests, state FROM runs WHERE id = ?",
		     "l", run_id);
	if (!st)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		rr.plan_id = sqlite3_column_int64(st, 0);
		rr.stage_id = sqlite3_column_int64(st, 1);
		commit = db_col_dup(st, 2);
		tree = db_col_dup(st, 3);
		profile = db_col_dup(st, 4);
		digest = db_col_dup(st, 5);
		tests = db_col_dup(st, 6);
		state = db_col_dup(st, 7);
	}
	db_done(st);
	if (!state) {
		rc = api_error(out, 404, "no such run: %lld", run_id);
		goto out;
	}
	if (!strcmp(state, "queued") || !strcmp(state, "running")) {
		rc = api_error(out, 409, "run %lld is %s: wait for it or cancel it"
			       " first", run_id, state);
		goto out;
	}
	rr.commit = commit;
	rr.tree = tree;
	rr.profile = profile;
	rr.digest = digest;
	rr.tests = tests;
	rr.reason = "retry";
	rr.priority = PRIO_MANUAL;
	rr.no_reuse = 1;
	/* Not supersede: a retry of an old commit must not drop the head's run. */
	id = queue_add(db, &rr, NULL);
	if (id < 0)
		goto out;
	rc = reply_json(out, 202, json_pack("{s:I}", "run", (json_int_t)id));
out:
	rc = end_write(out, req, rc, 1);
	free(commit);
	free(tree);
	free(profile);
	free(digest);
	free(tests);
	free(state);
	return rc;
}

int api_cancel(struct api_reply *out, const struct api_request *req)
{
	long long id = param_id(req, 0);
	char why[160];
	char *state = NULL;
	json_t *body;
	int rc;

	if (!parse_body(out, req, &body, no_fields))
		return 0;
	json_decref(body);
	snprintf(why, sizeof(why), "canceled through the API%s%s",
		 req->token_name ? " by " : "", req->token_name ? req->token_name : "");
	rc = queue_cancel(req->db, id, why);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		wake(req, 0);
		return reply_json(out, 200, json_pack("{s:I,s:s}", "run", (json_int_t)id,
						      "state", "canceled"));
	}
	rc = db_get_text(req->db, &state, "SELECT state FROM runs WHERE id = ?", "l", id);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return api_error(out, 404, "no such run: %lld", id);
	api_error(out, 409, "run %lld is %s, not queued or running", id, state);
	free(state);
	return 0;
}

/* --- writes: bisections ------------------------------------------------------------ */

/* The tests of a bisection request as newline-separated text, or 0 (400). */
static int body_tests(struct api_reply *out, json_t *root, struct strbuf *tests)
{
	json_t *a = json_object_get(root, "tests"), *v;
	size_t i;

	if (!a || json_is_null(a))
		return 1;
	if (!json_is_array(a))
		return api_error(out, 400, "tests must be an array of test names"), 0;
	if (json_array_size(a) > TESTS_MAX)
		return api_error(out, 400, "tests: at most %d names", TESTS_MAX), 0;
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);

		if (!json_is_string(v))
			return api_error(out, 400, "tests[%zu] must be a string", i), 0;
		if (!*s || json_string_length(v) > TEST_NAME_MAX ||
		    strlen(s) != json_string_length(v) || has_control(s))
			return api_error(out, 400, "tests[%zu] must be a test name"
					 " (1 to %d characters, no control characters)",
					 i, TEST_NAME_MAX), 0;
		if (!lines_contain(strbuf_str(tests), s))
			strbuf_addf(tests, "%s%s", tests->len ? "\n" : "", s);
	}
	return 1;
}

int api_bisection_start(struct api_reply *out, const struct api_request *req)
{
	static const char *const fields[] = { "plan", "stage", "tests", NULL };
	struct strbuf tests = STRBUF_INIT;
	struct db *db = req->db;
	const char *plan, *stage;
	char *bad = NULL, *good = NULL;
	long long plan_id, stage_id, idx = 0, base_run = 0, base_stage = 0, existing = 0;
	sqlite3_stmt *st;
	json_t *body;
	int rc = 0;

	if (!parse_body(out, req, &body, fields))
		return 0;
	if (!get_string(out, body, "plan", 1, 64, &plan) ||
	    !get_string(out, body, "stage", 1, 64, &stage) ||
	    !body_tests(out, body, &tests)) {
		json_decref(body);
		strbuf_release(&tests);
		return 0;
	}
	if (!config_valid_name(plan) || !config_valid_name(stage)) {
		api_error(out, 400, "plan and stage must be names ([A-Za-z0-9._-]{1,64})");
		json_decref(body);
		strbuf_release(&tests);
		return 0;
	}
	if (db_begin(db) < 0) {
		json_decref(body);
		strbuf_release(&tests);
		return -1;
	}
	rc = find_plan(out, db, plan, &plan_id);
	if (rc > 0)
		rc = find_stage(out, db, plan_id, plan, stage, &stage_id);
	if (rc <= 0)
		goto out;
	rc = -1;
	st = db_stmt(db, "SELECT idx, head, coalesce(baseline_run_id, 0) FROM stages"
		     " WHERE id = ?", "l", stage_id);
	if (!st)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		idx = sqlite3_column_int64(st, 0);
		bad = db_col_dup(st, 1);
		base_run = sqlite3_column_int64(st, 2);
	}
	db_done(st);
	if (idx == 0) {
		rc = api_error(out, 409, "%s is the plan base: there is no stage below"
			       " it to bisect from", stage);
		goto out;
	}
	if (!bad) {
		rc = api_error(out, 409, "stage %s has no head (its branch does not"
			       " resolve)", stage);
		goto out;
	}
	/* The baseline stage: the one whose run the comparison used. */
	if (base_run &&
	    db_get_int(db, &base_stage, "SELECT coalesce(stage_id, 0) FROM runs"
		       " WHERE id = ?", "l", base_run) < 0)
		goto out;
	if (base_stage &&
	    db_get_text(db, &good, "SELECT head FROM stages WHERE id = ?", "l",
			base_stage) < 0)
		goto out;
	if (!good &&
	    db_get_text(db, &good, "SELECT head FROM stages WHERE plan_id = ? AND"
			" idx < ? AND head IS NOT NULL ORDER BY idx DESC LIMIT 1",
			"ll", plan_id, idx) < 0)
		goto out;
	if (!good) {
		rc = api_error(out, 409, "no stage below %s has a head to bisect from",
			       stage);
		goto out;
	}
	if (!strcmp(good, bad)) {
		rc = api_error(out, 409, "stage %s has no commits of its own to bisect",
			       stage);
		goto out;
	}
	if (!tests.len) {
		st = db_stmt(db, "SELECT test FROM changes WHERE stage_id = ? AND kind"
			     " IN ('regression', 'missing') ORDER BY test", "l", stage_id);
		while (st && sqlite3_step(st) == SQLITE_ROW)
			strbuf_addf(&tests, "%s%s", tests.len ? "\n" : "",
				    db_col_text(st, 0));
		db_done(st);
		if (!tests.len) {
			rc = api_error(out, 409, "stage %s has no regressions: name the"
				       " tests to bisect", stage);
			goto out;
		}
	}
	if (db_get_int(db, &existing, "SELECT id FROM bisections WHERE stage_id = ?"
		       " AND bad_commit = ? AND tests = ? AND state IN ('requested',"
		       " 'confirming', 'searching', 'verifying') ORDER BY id DESC"
		       " LIMIT 1", "lss", stage_id, bad, strbuf_str(&tests)) < 0)
		goto out;
	if (existing) {
		rc = reply_json(out, 200, json_pack("{s:I,s:b}", "bisection",
						    (json_int_t)existing, "existing", 1));
		goto out;
	}
	if (db_exec(db, "INSERT INTO bisections (plan_id, stage_id, reason,"
		    " good_commit, bad_commit, tests, state, runs_per_step,"
		    " confirm_runs, created_at, updated_at) VALUES (?, ?, 'manual',"
		    " ?, ?, ?, 'requested', ?, ?, ?, ?)", "llsssiill", plan_id,
		    stage_id, good, bad, strbuf_str(&tests),
		    req->cfg ? (int)req->cfg->bisect_runs : 1,
		    req->cfg ? (int)req->cfg->confirm_runs : 1, now_wall_ms(),
		    now_wall_ms()) < 0)
		goto out;
	existing = db_last_id(db);
	if (db_event(db, "bisection", plan_id, stage_id, 0, existing,
		     "{\"state\":\"requested\",\"reason\":\"manual\"}") < 0)
		goto out;
	rc = reply_json(out, 202, json_pack("{s:I}", "bisection", (json_int_t)existing));
	existing = 0;
out:
	rc = end_write(out, req, rc, out->status == 202);
	json_decref(body);
	strbuf_release(&tests);
	free(bad);
	free(good);
	return rc;
}

int api_bisection_cancel(struct api_reply *out, const struct api_request *req)
{
	struct db *db = req->db;
	long long id = param_id(req, 0), plan_id = 0, stage_id = 0;
	char *state = NULL;
	sqlite3_stmt *st;
	json_t *body;
	int rc = -1;

	if (!parse_body(out, req, &body, no_fields))
		return 0;
	json_decref(body);
	if (db_begin(db) < 0)
		return -1;
	st = db_stmt(db, "SELECT state, plan_id, coalesce(stage_id, 0) FROM bisections"
		     " WHERE id = ?", "l", id);
	if (!st)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		state = db_col_dup(st, 0);
		plan_id = sqlite3_column_int64(st, 1);
		stage_id = sqlite3_column_int64(st, 2);
	}
	db_done(st);
	if (!state) {
		rc = api_error(out, 404, "no such bisection: %lld", id);
		goto out;
	}
	if (in_list(finished_bisection, state)) {
		rc = api_error(out, 409, "bisection %lld is already %s", id, state);
		goto out;
	}
	if (db_exec(db, "UPDATE bisections SET state = 'canceled', detail = ?,"
		    " updated_at = ?, finished_at = ? WHERE id = ?", "slll",
		    "canceled through the API", now_wall_ms(), now_wall_ms(), id) < 0 ||
	    db_event(db, "bisection", plan_id, stage_id, 0, id,
		     "{\"state\":\"canceled\"}") < 0)
		goto out;
	rc = reply_json(out, 200, json_pack("{s:I,s:s}", "bisection", (json_int_t)id,
					    "state", "canceled"));
out:
	rc = end_write(out, req, rc, 1);
	free(state);
	return rc;
}

/* --- writes: acks and refresh ------------------------------------------------------ */

int api_ack_add(struct api_reply *out, const struct api_request *req)
{
	static const char *const fields[] = { "test", "reason", "until", NULL };
	struct db *db = req->db;
	const char *test, *reason, *until;
	long long plan_id, have = 0, id;
	json_t *body;
	int rc;

	if (!parse_body(out, req, &body, fields))
		return 0;
	if (!get_string(out, body, "test", 1, TEST_NAME_MAX, &test) ||
	    !get_string(out, body, "reason", 1, 1000, &reason) ||
	    !get_string(out, body, "until", 0, 64, &until)) {
		json_decref(body);
		return 0;
	}
	if (db_begin(db) < 0) {
		json_decref(body);
		return -1;
	}
	rc = find_plan(out, db, req->params[0], &plan_id);
	if (rc <= 0)
		goto out;
	if (until && (rc = db_get_int(db, &have, "SELECT id FROM stages WHERE"
				      " plan_id = ? AND name = ?", "ls", plan_id,
				      until)) <= 0) {
		if (rc == 0)
			api_error(out, 400, "until: no stage %s in plan %s", until,
				  req->params[0]);
		goto out;
	}
	rc = db_get_int(db, &have, "SELECT id FROM acks WHERE plan_id = ? AND test = ?",
			"ls", plan_id, test);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		rc = api_error(out, 409, "%s is already acknowledged (ack %lld)", test, have);
		goto out;
	}
	rc = -1;
	if (db_exec(db, "INSERT INTO acks (plan_id, test, reason, until_stage,"
		    " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)", "lssssl",
		    plan_id, test, reason, until, req->token_name, now_wall_ms()) < 0)
		goto out;
	id = db_last_id(db);
	rc = reply_json(out, 201, json_pack("{s:I}", "ack", (json_int_t)id));
out:
	rc = end_write(out, req, rc, 1);
	json_decref(body);
	return rc;
}

int api_ack_delete(struct api_reply *out, const struct api_request *req)
{
	long long plan_id, id = param_id(req, 1);
	int rc;

	if (req->body_len)
		return api_error(out, 400, "DELETE takes no body");
	if (db_begin(req->db) < 0)
		return -1;
	rc = find_plan(out, req->db, req->params[0], &plan_id);
	if (rc <= 0)
		goto out;
	rc = -1;
	if (db_exec(req->db, "DELETE FROM acks WHERE id = ? AND plan_id = ?", "ll",
		    id, plan_id) < 0)
		goto out;
	if (db_changes(req->db) == 0)
		rc = api_error(out, 404, "no ack %lld in plan %s", id, req->params[0]);
	else
		rc = reply_json(out, 200, json_pack("{s:I,s:b}", "ack", (json_int_t)id,
						    "deleted", 1));
out:
	rc = end_write(out, req, rc, 1);
	return rc;
}

int api_refresh(struct api_reply *out, const struct api_request *req)
{
	json_t *body;

	if (!parse_body(out, req, &body, no_fields))
		return 0;
	json_decref(body);
	wake(req, 1);
	return reply_json(out, 202, json_pack("{s:b}", "refresh", 1));
}

/* --- metrics ---------------------------------------------------------------------- */

static void label_escape(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			strbuf_addch(out, '\\');
		if (*s == '\n')
			strbuf_adds(out, "\\n");
		else
			strbuf_addch(out, *s);
	}
}

/* One gauge per label value: the listed values always, others as found. */
static int grouped(struct strbuf *out, struct db *db, const char *metric,
		   const char *label, const char *help, const char *sql,
		   const char *const *known)
{
	sqlite3_stmt *st = db_stmt(db, sql, NULL);
	long long counts[16] = { 0 };
	size_t i;
	int rc;

	strbuf_addf(out, "# HELP %s %s\n# TYPE %s gauge\n", metric, help, metric);
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = db_col_text(st, 0);

		for (i = 0; known[i]; i++)
			if (!strcmp(known[i], v))
				break;
		if (known[i] && i < 16) {
			counts[i] = sqlite3_column_int64(st, 1);
			continue;
		}
		strbuf_addf(out, "%s{%s=\"", metric, label);
		label_escape(out, v);
		strbuf_addf(out, "\"} %lld\n", (long long)sqlite3_column_int64(st, 1));
	}
	db_done(st);
	for (i = 0; known[i] && i < 16; i++)
		strbuf_addf(out, "%s{%s=\"%s\"} %lld\n", metric, label, known[i], counts[i]);
	return rc == SQLITE_DONE ? 0 : -1;
}

int api_metrics(struct strbuf *out, struct db *db)
{
	static const char *const verdicts[] = {
		"green", "red", "error", "queued", "running", "waiting", "unknown", NULL
	};
	static const char *const bstates[] = {
		"requested", "confirming", "searching", "verifying", "found",
		"inconclusive", "flaky", "not-reproduced", "canceled", "error", NULL
	};
	sqlite3_stmt *st;
	long long n = 0;
	int ret = 0;

	if (db_get_int(db, &n, "SELECT count(*) FROM runs WHERE state = 'queued'",
		       NULL) < 0)
		return -1;
	strbuf_addf(out, "# HELP kstage_queue_length Runs waiting for a slot.\n"
		    "# TYPE kstage_queue_length gauge\nkstage_queue_length %lld\n", n);
	ret |= grouped(out, db, "kstage_runs", "state", "Runs by state.",
		       "SELECT state, count(*) FROM runs GROUP BY state", run_states);
	strbuf_adds(out, "# HELP kstage_step_duration_seconds Time spent in finished"
		    " steps.\n# TYPE kstage_step_duration_seconds summary\n");
	st = db_stmt(db, "SELECT name, sum(finished_at - started_at) / 1000.0,"
		     " count(*) FROM steps WHERE finished_at IS NOT NULL AND"
		     " started_at IS NOT NULL GROUP BY name ORDER BY name", NULL);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		strbuf_adds(out, "kstage_step_duration_seconds_sum{step=\"");
		label_escape(out, db_col_text(st, 0));
		strbuf_addf(out, "\"} %.3f\nkstage_step_duration_seconds_count{step=\"",
			    sqlite3_column_double(st, 1));
		label_escape(out, db_col_text(st, 0));
		strbuf_addf(out, "\"} %lld\n", (long long)sqlite3_column_int64(st, 2));
	}
	db_done(st);
	ret |= grouped(out, db, "kstage_bisections", "state", "Bisections by state.",
		       "SELECT state, count(*) FROM bisections GROUP BY state", bstates);
	ret |= grouped(out, db, "kstage_stages", "verdict", "Stages by verdict.",
		       "SELECT verdict, count(*) FROM stages GROUP BY verdict", verdicts);
	n = 0;
	if (db_get_int(db, &n, "SELECT coalesce(max(id), 0) FROM events", NULL) < 0)
		ret = -1;
	strbuf_addf(out, "# HELP kstage_events_total Events recorded.\n"
		    "# TYPE kstage_events_total counter\nkstage_events_total %lld\n", n);
	return ret ? -1 : 0;
}

/* --- plain HTML ------------------------------------------------------------------- */

void api_html_escape(struct strbuf *out, const char *s)
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
	api_html_escape(out, title);
	strbuf_adds(out, "</title><style>body{font-family:sans-serif;margin:1em}"
		    "table{border-collapse:collapse}td,th{padding:2px 8px;"
		    "border-bottom:1px solid #ddd;text-align:left}"
		    ".green{color:#080}.red{color:#c00;font-weight:bold}"
		    ".error{color:#a50}code{font-size:90%}</style></head><body>\n");
}

static void html_cell(struct strbuf *out, const char *text, const char *cls)
{
	strbuf_adds(out, "<td");
	if (cls) {
		strbuf_adds(out, " class=\"");
		api_html_escape(out, cls);
		strbuf_addch(out, '"');
	}
	strbuf_addch(out, '>');
	api_html_escape(out, text);
	strbuf_adds(out, "</td>");
}

static void reply_html(struct api_reply *out, int status)
{
	strbuf_adds(&out->body, "<p><small>kstage &mdash; this page refreshes every"
		    " 15 s; the dashboard is at <a href=\"/\">/</a>, the JSON API at"
		    " <a href=\"/api/v1/plans\">/api/v1</a>.</small></p></body></html>\n");
	out->status = status;
	out->content_type = "text/html; charset=utf-8";
}

int api_plain(struct api_reply *out, const struct api_request *req)
{
	struct strbuf *b = &out->body;
	sqlite3_stmt *p;
	int nplans = 0;

	strbuf_reset(b);
	html_head(b, "kstage");
	strbuf_adds(b, "<h1>kstage</h1>\n");
	p = db_stmt(req->db, "SELECT id, name, profile, gate_state, coalesce(gate_detail,"
		    " '') FROM plans ORDER BY name", NULL);
	if (!p)
		return -1;
	while (sqlite3_step(p) == SQLITE_ROW) {
		const char *plan = db_col_text(p, 1);
		sqlite3_stmt *s;

		nplans++;
		strbuf_adds(b, "<h2>plan ");
		api_html_escape(b, plan);
		strbuf_adds(b, "</h2>\n<p>profile ");
		api_html_escape(b, db_col_text(p, 2));
		strbuf_adds(b, ", gate ");
		api_html_escape(b, db_col_text(p, 3));
		if (*db_col_text(p, 4)) {
			strbuf_adds(b, ": ");
			api_html_escape(b, db_col_text(p, 4));
		}
		strbuf_adds(b, " &mdash; <a href=\"/api/v1/plans/");
		api_html_escape(b, plan);
		strbuf_adds(b, "\">JSON</a></p>\n<table><tr><th>#</th><th>stage</th>"
			    "<th>head</th><th>stack</th><th>verdict</th><th>pass</th>"
			    "<th>fail</th><th>skip</th><th>error</th><th>regressions</th>"
			    "<th>run</th></tr>\n");
		s = db_stmt(req->db, "SELECT s.idx, s.name, substr(coalesce(s.head, '-'),"
			    " 1, 12), s.stack_state, s.verdict, coalesce(r.n_pass, 0),"
			    " coalesce(r.n_fail, 0), coalesce(r.n_skip, 0),"
			    " coalesce(r.n_error, 0), s.regressions, s.run_id"
			    " FROM stages s LEFT JOIN runs r ON r.id = s.run_id"
			    " WHERE s.plan_id = ? ORDER BY s.idx", "l",
			    sqlite3_column_int64(p, 0));
		while (s && sqlite3_step(s) == SQLITE_ROW) {
			const char *stage = db_col_text(s, 1);
			int i;

			strbuf_addf(b, "<tr><td>%d</td><td><a href=\"/plain/plans/",
				    sqlite3_column_int(s, 0));
			api_html_escape(b, plan);
			strbuf_adds(b, "/stages/");
			api_html_escape(b, stage);
			strbuf_adds(b, "\">");
			api_html_escape(b, stage);
			strbuf_adds(b, "</a></td>");
			html_cell(b, db_col_text(s, 2), NULL);
			html_cell(b, db_col_text(s, 3), NULL);
			html_cell(b, db_col_text(s, 4), db_col_text(s, 4));
			for (i = 5; i <= 9; i++)
				strbuf_addf(b, "<td>%d</td>", sqlite3_column_int(s, i));
			if (col_is_null(s, 10))
				strbuf_adds(b, "<td>-</td>");
			else
				strbuf_addf(b, "<td><a href=\"/api/v1/runs/%lld\">%lld</a></td>",
					    (long long)sqlite3_column_int64(s, 10),
					    (long long)sqlite3_column_int64(s, 10));
			strbuf_adds(b, "</tr>\n");
		}
		db_done(s);
		strbuf_adds(b, "</table>\n");
	}
	db_done(p);
	if (!nplans)
		strbuf_adds(b, "<p>No plans yet.</p>\n");
	reply_html(out, 200);
	return 0;
}

int api_plain_stage(struct api_reply *out, const struct api_request *req)
{
	struct strbuf *b = &out->body;
	long long plan_id, stage_id, run_id = 0, base_id = 0;
	sqlite3_stmt *st;
	int rc;

	rc = find_plan(out, req->db, req->params[0], &plan_id);
	if (rc > 0)
		rc = find_stage(out, req->db, plan_id, req->params[0], req->params[1],
				&stage_id);
	if (rc <= 0)
		return rc;
	strbuf_reset(b);
	html_head(b, req->params[1]);
	strbuf_adds(b, "<p><a href=\"/plain\">all plans</a></p><h1>");
	api_html_escape(b, req->params[0]);
	strbuf_adds(b, " / ");
	api_html_escape(b, req->params[1]);
	strbuf_adds(b, "</h1>\n");
	st = db_stmt(req->db, "SELECT coalesce(head, '-'), stack_state, coalesce("
		     "stack_detail, ''), verdict, coalesce(run_id, 0),"
		     " coalesce(baseline_run_id, 0), branch FROM stages WHERE id = ?",
		     "l", stage_id);
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		strbuf_adds(b, "<p>branch <code>");
		api_html_escape(b, db_col_text(st, 6));
		strbuf_adds(b, "</code> at <code>");
		api_html_escape(b, db_col_text(st, 0));
		strbuf_adds(b, "</code>, stack ");
		api_html_escape(b, db_col_text(st, 1));
		strbuf_addch(b, ' ');
		api_html_escape(b, db_col_text(st, 2));
		strbuf_adds(b, ", verdict <b class=\"");
		api_html_escape(b, db_col_text(st, 3));
		strbuf_adds(b, "\">");
		api_html_escape(b, db_col_text(st, 3));
		strbuf_adds(b, "</b> &mdash; <a href=\"/api/v1/plans/");
		api_html_escape(b, req->params[0]);
		strbuf_adds(b, "/stages/");
		api_html_escape(b, req->params[1]);
		strbuf_adds(b, "\">JSON</a></p>\n");
		run_id = sqlite3_column_int64(st, 4);
		base_id = sqlite3_column_int64(st, 5);
	}
	db_done(st);

	strbuf_adds(b, "<h2>Changes against the baseline</h2>\n<table><tr><th>kind</th>"
		    "<th>test</th><th>before</th><th>after</th><th>detail</th></tr>\n");
	st = db_stmt(req->db, "SELECT kind, test, coalesce(before, '-'), coalesce(after,"
		     " '-'), coalesce(detail, '') FROM changes WHERE stage_id = ? ORDER BY"
		     " kind NOT IN ('regression', 'missing'), kind, test", "l", stage_id);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
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
	strbuf_adds(b, "</table>\n<h2>Runs</h2>\n<table><tr><th>run</th><th>commit</th>"
		    "<th>reason</th><th>state</th><th>verdict</th><th>boot</th>"
		    "<th>logs</th></tr>\n");
	st = db_stmt(req->db, "SELECT r.id, substr(r.commit_id, 1, 12), r.reason, r.state,"
		     " coalesce(r.verdict, '-'), coalesce(r.boot_verdict, '-'),"
		     " (SELECT group_concat(idx || ':' || name, ' ') FROM steps"
		     " WHERE run_id = r.id AND log IS NOT NULL) FROM runs r"
		     " WHERE r.stage_id = ? ORDER BY r.id DESC LIMIT 20", "l", stage_id);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		long long id = sqlite3_column_int64(st, 0);
		const char *p = db_col_text(st, 6);
		int i;

		strbuf_addf(b, "<tr><td><a href=\"/api/v1/runs/%lld\">%lld</a></td>", id, id);
		for (i = 1; i < 6; i++)
			html_cell(b, db_col_text(st, i), i == 4 ? (!strcmp(db_col_text(st, 4),
					"pass") ? "green" : "red") : NULL);
		strbuf_adds(b, "<td>");
		/* "0:build 1:boot": one link per step log. */
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
		strbuf_adds(b, "</td></tr>\n");
	}
	db_done(st);
	strbuf_adds(b, "</table>\n<h2>Results of the head's run</h2>\n<table><tr>"
		    "<th>test</th><th>status</th><th>baseline</th><th>detail</th></tr>\n");
	if (run_id) {
		st = db_stmt(req->db, "SELECT x.test, x.status, coalesce(b.status, '-'),"
			     " coalesce(x.detail, '') FROM results x LEFT JOIN results b"
			     " ON b.run_id = ? AND b.test = x.test WHERE x.run_id = ?"
			     " ORDER BY x.test", "Ll", base_id, run_id);
		while (st && sqlite3_step(st) == SQLITE_ROW) {
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
	reply_html(out, 200);
	return 0;
}
