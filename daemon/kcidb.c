/*
 * kcidb: finished runs as KCIDB I/O JSON v5.3 (see kcidb.h for what
 * becomes what).  Three queries over the same runs, one per array, each
 * written row by row with the one JSON writer: no tree in between, so an
 * export of thousands of results costs no allocation per value.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "json.h"
#include "kcidb.h"
#include "banned.h"

/* The runs an export covers: ?1 = since, ?2 = the plan (NULL: all). */
#define RUN_FILTER " r.state = 'done' AND r.id > ?1 AND (?2 IS NULL OR r.plan_id = ?2)" \
	" AND r.reason != 'commit'"

/* The run whose steps did the work: itself, or the run it reused. */
#define STEP_RUN "coalesce(r.reused_from, r.id)"

/* --- the mappings --------------------------------------------------------------------- */

int kcidb_valid_origin(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return 0;
	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
		      s[n] == '_') || n >= 64)
			return 0;
	return 1;
}

static int path_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

void kcidb_test_path(struct strbuf *out, const char *test)
{
	const char *p = test ? test : "";
	size_t seg = 0;		/* bytes in the current segment */

	for (;; p++) {
		if (!*p || *p == '/' || *p == '.') {
			if (!seg)
				strbuf_addch(out, '_');
			if (!*p)
				break;
			strbuf_addch(out, '.');
			seg = 0;
			continue;
		}
		strbuf_addch(out, path_char((unsigned char)*p) ? *p : '_');
		seg++;
	}
}

/* kstage's name -> KCIDB's, for results and steps: tables, not if-chains. */
struct name_map {
	const char *from, *to;
};

static const struct name_map test_status_map[] = {
	{ "pass", "PASS" }, { "fail", "FAIL" }, { "skip", "SKIP" }, { "error", "ERROR" },
};

static const struct name_map step_status_map[] = {
	{ "ok", "PASS" }, { "failed", "FAIL" }, { "timeout", "ERROR" },
	{ "error", "ERROR" }, { "skipped", "SKIP" }, { "pending", "MISS" },
	{ "running", "MISS" },
};

static const char *map_name(const struct name_map *m, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		if (!strcmp(m[i].from, s))
			return m[i].to;
	return NULL;
}

const char *kcidb_test_status(const char *status)
{
	return map_name(test_status_map, sizeof(test_status_map) /
			sizeof(test_status_map[0]), status);
}

const char *kcidb_step_status(const char *state)
{
	return map_name(step_status_map, sizeof(step_status_map) /
			sizeof(step_status_map[0]), state);
}

int kcidb_time(char *buf, size_t size, long long ms)
{
	time_t t;
	struct tm tm;
	size_t n;

	if (ms < 0)
		return -1;
	t = (time_t)(ms / 1000);
	if (!gmtime_r(&t, &tm))
		return -1;
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!n || snprintf(buf + n, size - n, ".%03dZ", (int)(ms % 1000)) >= (int)(size - n))
		return -1;
	return 0;
}

/* --- writing --------------------------------------------------------------------------- */

struct export {
	struct strbuf *sb;
	struct db *db;
	const char *origin;
	const char *base_url;
	struct strbuf tmp;
};

/* "key": the time of column i, when it is not NULL. */
static void put_time(struct strbuf *sb, const char *key, sqlite3_stmt *st, int i)
{
	char when[40];

	if (sqlite3_column_type(st, i) == SQLITE_NULL ||
	    kcidb_time(when, sizeof(when), sqlite3_column_int64(st, i)) < 0)
		return;
	json_key(sb, key);
	json_str(sb, when);
}

/* "duration": seconds from column a to column b, when both are set. */
static void put_duration(struct strbuf *sb, sqlite3_stmt *st, int a, int b)
{
	long long d;
	char num[32];

	if (sqlite3_column_type(st, a) == SQLITE_NULL ||
	    sqlite3_column_type(st, b) == SQLITE_NULL)
		return;
	d = sqlite3_column_int64(st, b) - sqlite3_column_int64(st, a);
	if (d < 0)
		return;
	snprintf(num, sizeof(num), "%lld.%03lld", d / 1000, d % 1000);
	json_key(sb, "duration");
	json_add(sb, num, strlen(num));
}

/* "key": "text" when the column is not NULL. */
static void put_col(struct strbuf *sb, const char *key, sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return;
	json_key(sb, key);
	json_col(sb, st, i, 0);
}

/*
 * "misc": {KEY: column, ...} of the current row of st, nulls kept (KCIDB
 * takes any misc); left open for the caller's own members and '}'.
 */
struct misc_col {
	const char *key;
	int col;
};

static void open_misc(struct strbuf *sb, sqlite3_stmt *st, const struct misc_col *m,
		      size_t n)
{
	size_t i;

	json_key(sb, "misc");
	json_ch(sb, '{');
	for (i = 0; i < n; i++) {
		json_key(sb, m[i].key);
		json_col(sb, st, m[i].col, 0);
	}
}

/* "id": "ORIGIN:" followed by what fmt makes of the arguments. */
static void put_id(struct export *x, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void put_id(struct export *x, const char *key, const char *fmt, ...)
{
	va_list ap;

	strbuf_reset(&x->tmp);
	strbuf_addf(&x->tmp, "%s:", x->origin);
	va_start(ap, fmt);
	strbuf_vaddf(&x->tmp, fmt, ap);
	va_end(ap);
	json_key(x->sb, key);
	json_strn(x->sb, x->tmp.buf, x->tmp.len);
}

/* "key": the URL of a step's log, when a base URL is configured. */
static void put_log_url(struct export *x, const char *key, long long run, int idx)
{
	size_t n;

	if (!x->base_url)
		return;
	n = strlen(x->base_url);
	while (n && x->base_url[n - 1] == '/')
		n--;
	strbuf_reset(&x->tmp);
	strbuf_add(&x->tmp, x->base_url, n);
	strbuf_addf(&x->tmp, "/api/v1/runs/%lld/steps/%d/log", run, idx);
	json_key(x->sb, key);
	json_strn(x->sb, x->tmp.buf, x->tmp.len);
}

/* The origin and the object's common members. */
static void put_origin(struct export *x)
{
	json_key(x->sb, "origin");
	json_str(x->sb, x->origin);
}

enum { C_PLAN, C_COMMIT, C_FIRST, C_BRANCH, C_STAGE, C_REPO, C_REMOTE, C_START,
       C_TITLE };
static const struct misc_col checkout_misc[] = {
	{ "plan", C_PLAN }, { "stage", C_STAGE }, { "repo", C_REPO },
};

static int write_checkouts(struct export *x, long long since, long long plan_id)
{
	struct strbuf *sb = x->sb;
	sqlite3_stmt *st;
	int rc;

	/* min() makes the bare columns those of the commit's first run. */
	st = db_stmt(x->db, "SELECT p.name, r.commit_id, min(r.id), s.branch, s.name,"
		     " p.repo, p.remote_url, coalesce(r.started_at, r.queued_at), s.title"
		     " FROM runs r JOIN plans p ON p.id = r.plan_id"
		     " LEFT JOIN stages s ON s.id = r.stage_id WHERE" RUN_FILTER
		     " GROUP BY r.plan_id, r.commit_id ORDER BY min(r.id)", "lL",
		     since, plan_id);
	if (!st)
		return -1;
	json_ch(sb, '[');
	while ((rc = db_step(x->db, st)) == 1) {
		const char *remote = db_col_text(st, C_REMOTE);

		json_sep(sb);
		json_ch(sb, '{');
		put_id(x, "id", "%s:%s", db_col_text(st, C_PLAN), db_col_text(st, C_COMMIT));
		put_origin(x);
		put_col(sb, "git_commit_hash", st, C_COMMIT);
		/* The schema takes https:// only: a local path goes to misc. */
		if (!strncmp(remote, "https://", 8)) {
			json_key(sb, "git_repository_url");
			json_str(sb, remote);
		}
		put_col(sb, "git_repository_branch", st, C_BRANCH);
		json_key(sb, "tree_name");
		json_col(sb, st, C_PLAN, 0);
		json_lit(sb, ",\"patchset_hash\":\"\"");
		put_time(sb, "start_time", st, C_START);
		json_lit(sb, ",\"valid\":true");
		put_col(sb, "comment", st, C_TITLE);
		open_misc(sb, st, checkout_misc, sizeof(checkout_misc) / sizeof(*checkout_misc));
		json_lit(sb, "}}");
	}
	db_done(st);
	json_ch(sb, ']');
	return rc < 0 ? -1 : 0;
}

enum { B_RUN, B_PLAN, B_COMMIT, B_PROFILE, B_VERDICT, B_REASON, B_REUSED,
       B_STAGE, B_STEP_RUN, B_IDX, B_STEP, B_STATE, B_STARTED, B_FINISHED, B_LOG };
static const struct misc_col build_misc[] = {
	{ "run_id", B_RUN }, { "stage", B_STAGE }, { "step", B_STEP },
	{ "verdict", B_VERDICT }, { "reason", B_REASON }, { "reused_from", B_REUSED },
};

static int write_builds(struct export *x, long long since, long long plan_id)
{
	struct strbuf *sb = x->sb;
	sqlite3_stmt *st;
	int rc;

	/* The step named "build", else the first one. */
	st = db_stmt(x->db, "SELECT r.id, p.name, r.commit_id, r.profile, r.verdict,"
		     " r.reason, r.reused_from, s.name, " STEP_RUN ", k.idx, k.name,"
		     " k.state, k.started_at, k.finished_at, k.log"
		     " FROM runs r JOIN plans p ON p.id = r.plan_id"
		     " LEFT JOIN stages s ON s.id = r.stage_id"
		     " LEFT JOIN steps k ON k.run_id = " STEP_RUN " AND k.idx ="
		     " (SELECT idx FROM steps WHERE run_id = " STEP_RUN
		     " ORDER BY name = 'build' DESC, idx LIMIT 1)"
		     " WHERE" RUN_FILTER " ORDER BY r.id", "lL", since, plan_id);
	if (!st)
		return -1;
	json_ch(sb, '[');
	while ((rc = db_step(x->db, st)) == 1) {
		const char *status = kcidb_step_status(db_col_text(st, B_STATE));

		json_sep(sb);
		json_ch(sb, '{');
		put_id(x, "id", "%lld", sqlite3_column_int64(st, B_RUN));
		put_origin(x);
		put_id(x, "checkout_id", "%s:%s", db_col_text(st, B_PLAN),
		       db_col_text(st, B_COMMIT));
		put_time(sb, "start_time", st, B_STARTED);
		put_duration(sb, st, B_STARTED, B_FINISHED);
		json_lit(sb, ",\"architecture\":\"x86_64\"");
		put_col(sb, "config_name", st, B_PROFILE);
		if (sqlite3_column_type(st, B_LOG) != SQLITE_NULL)
			put_log_url(x, "log_url", sqlite3_column_int64(st, B_STEP_RUN),
				    sqlite3_column_int(st, B_IDX));
		if (status) {
			json_key(sb, "status");
			json_str(sb, status);
		}
		open_misc(sb, st, build_misc, sizeof(build_misc) / sizeof(*build_misc));
		json_lit(sb, "}}");
	}
	db_done(st);
	json_ch(sb, ']');
	return rc < 0 ? -1 : 0;
}

enum { T_RUN, T_TEST, T_STATUS, T_DETAIL, T_KNOWN, T_KNOWN_REASON, T_BOOT,
       T_STEP_RUN, T_IDX, T_STARTED, T_FINISHED, T_LOG };
static const struct misc_col test_misc[] = {
	{ "kstage_test", T_TEST }, { "kstage_status", T_STATUS }, { "run_id", T_RUN },
	{ "boot_verdict", T_BOOT },	/* the boot result's only */
};

/* "comment" and "misc" of a test (current row of st). */
static void test_notes(struct export *x, sqlite3_stmt *st, int boot)
{
	struct strbuf *sb = x->sb;
	int known = sqlite3_column_int(st, T_KNOWN);

	if (known) {
		strbuf_reset(&x->tmp);
		strbuf_addf(&x->tmp, "known failure: %s", db_col_text(st, T_KNOWN_REASON));
		json_key(sb, "comment");
		json_strn(sb, x->tmp.buf, x->tmp.len);
	} else if (boot && sqlite3_column_type(st, T_DETAIL) == SQLITE_NULL) {
		json_key(sb, "comment");
		strbuf_reset(&x->tmp);
		strbuf_addf(&x->tmp, "boot: %s", db_col_text(st, T_BOOT));
		json_strn(sb, x->tmp.buf, x->tmp.len);
	} else {
		put_col(sb, "comment", st, T_DETAIL);
	}
	open_misc(sb, st, test_misc, sizeof(test_misc) / sizeof(*test_misc) - !boot);
	if (known) {
		json_lit(sb, ",\"known\":true,\"known_reason\":");
		json_col(sb, st, T_KNOWN_REASON, 0);
	}
	json_ch(sb, '}');
}

static int write_tests(struct export *x, long long since, long long plan_id)
{
	struct strbuf *sb = x->sb;
	sqlite3_stmt *st;
	int rc;

	/*
	 * A failure is known when the stage's latest comparison says so
	 * (changes, kind "known": a profile's known failure or an ack).
	 */
	st = db_stmt(x->db, "SELECT x.run_id, x.test, x.status, x.detail,"
		     " c.test IS NOT NULL AND x.status = 'fail', c.detail,"
		     " r.boot_verdict, " STEP_RUN ", k.idx, k.started_at,"
		     " k.finished_at, k.log FROM results x JOIN runs r ON r.id = x.run_id"
		     " LEFT JOIN changes c ON c.stage_id = r.stage_id AND c.test = x.test"
		     " AND c.kind = 'known'"
		     " LEFT JOIN steps k ON k.run_id = " STEP_RUN " AND k.idx ="
		     " (SELECT min(idx) FROM steps WHERE run_id = " STEP_RUN
		     " AND console = 1)"
		     " WHERE" RUN_FILTER " ORDER BY x.run_id, x.test", "lL", since, plan_id);
	if (!st)
		return -1;
	json_ch(sb, '[');
	while ((rc = db_step(x->db, st)) == 1) {
		const char *test = db_col_text(st, T_TEST);
		const char *status = kcidb_test_status(db_col_text(st, T_STATUS));
		int boot = !strcmp(test, "boot") &&
			   sqlite3_column_type(st, T_BOOT) != SQLITE_NULL;
		int has_log = sqlite3_column_type(st, T_LOG) != SQLITE_NULL;

		if (boot)	/* the boot verdict decides, whatever was stored */
			status = strcmp(db_col_text(st, T_BOOT), "clean") ? "FAIL" : "PASS";
		json_sep(sb);
		json_ch(sb, '{');
		put_id(x, "id", "%lld:%s", sqlite3_column_int64(st, T_RUN), test);
		put_origin(x);
		put_id(x, "build_id", "%lld", sqlite3_column_int64(st, T_RUN));
		strbuf_reset(&x->tmp);
		kcidb_test_path(&x->tmp, test);
		json_key(sb, "path");
		json_strn(sb, x->tmp.buf, x->tmp.len);
		if (status) {
			json_key(sb, "status");
			json_str(sb, status);
		}
		put_time(sb, "start_time", st, T_STARTED);
		if (boot)
			put_duration(sb, st, T_STARTED, T_FINISHED);
		if (has_log)
			put_log_url(x, "log_url", sqlite3_column_int64(st, T_STEP_RUN),
				    sqlite3_column_int(st, T_IDX));
		if (boot && has_log && x->base_url) {
			json_lit(sb, ",\"output_files\":[{\"name\":\"console.log\"");
			put_log_url(x, "url", sqlite3_column_int64(st, T_STEP_RUN),
				    sqlite3_column_int(st, T_IDX));
			json_lit(sb, "}]");
		}
		test_notes(x, st, boot);
		json_ch(sb, '}');
	}
	db_done(st);
	json_ch(sb, ']');
	return rc < 0 ? -1 : 0;
}

int kcidb_export(struct strbuf *sb, struct db *db, const struct kcidb_options *o)
{
	struct export x = { sb, db, o->origin ? o->origin : KCIDB_ORIGIN_DEFAULT,
			    o->base_url, STRBUF_INIT };
	int rc = -1;

	json_lit(sb, "{\"version\":{\"major\":5,\"minor\":3},\"checkouts\":");
	if (write_checkouts(&x, o->since, o->plan_id) < 0)
		goto out;
	json_lit(sb, ",\"builds\":");
	if (write_builds(&x, o->since, o->plan_id) < 0)
		goto out;
	json_lit(sb, ",\"tests\":");
	if (write_tests(&x, o->since, o->plan_id) < 0)
		goto out;
	json_ch(sb, '}');
	rc = 0;
out:
	strbuf_release(&x.tmp);
	return rc;
}
