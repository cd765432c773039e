/*
 * api_read: the GET resources of the JSON API (see api_read.h and
 * daemon/API.md).
 *
 * Replies are written straight from query rows into the reply buffer by
 * the one JSON writer (json.h): the SQL aliases below are the JSON keys,
 * with its marks ("a.b" nests, "?" makes a boolean, "_" hides a column
 * that the code reads).  Changing an alias changes the API.
 */
#include <dirent.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_read.h"
#include "excerpt.h"
#include "each.h"
#include "outbox.h"
#include "json.h"
#include "kcidb.h"
#include "wrapper.h"
#include "states.h"
#include "banned.h"

#define RUNS_LIMIT_MAX 500
#define OUTBOX_LIMIT_MAX 1000
#define ARTIFACTS_MAX 1000		/* files listed per run */

static int col_is_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL;
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
	sb = api_begin_json(out);
	json_ch(sb, '{');
	json_key(sb, key);
	json_ch(sb, '[');
	while ((rc = db_step(db, st)) == 1) {
		json_sep(sb);
		if (fn(sb, db, st) < 0)
			break;
	}
	db_done(st);
	if (rc)
		return -1;	/* a failed step, or fn failed on a row */
	json_lit(sb, "]}");
	return api_end_json(out, 200);
}

/* --- plans and stages ------------------------------------------------------------ */

#define PLAN_SQL \
	"SELECT p.id AS _id, p.name, p.repo, p.base, p.integration, p.profile," \
	" p.profile_digest, coalesce(g.state, 'unknown') AS \"gate.state\"," \
	" g.integration_head AS \"gate.integration_head\"," \
	" (SELECT name FROM stages WHERE id = g.stage_id) AS \"gate.stage\"," \
	" g.commit_id AS \"gate.commit\", g.detail AS \"gate.detail\"" \
	" FROM plans p LEFT JOIN gates g ON g.plan_id = p.id"

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
 * the list of commits takes its place).  The latest series from mail is
 * joined the way the latest bisection is (through the index series_stage,
 * so a plan's stages stay one query); series_current says whether the
 * branch still holds what it made.
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
	" b.state AS \"bisection.state\", b.culprit AS \"bisection.culprit\"," \
	" x.id AS \"series.id\", x.title AS \"series.title\"," \
	" x.version AS \"series.version\", x.nr_patches AS \"series.nr_patches\"," \
	" x.message_id AS \"series.message_id\", x.source AS \"series.source\"," \
	" x.link_base AS \"series.link_base\", x.at AS \"series.at\"," \
	" x.by AS \"series.by\", x.head AS \"series.head\"," \
	" coalesce(x.head = s.head, 0) AS \"?series_current\"" \
	" FROM stages s LEFT JOIN runs r ON r.id = s.run_id" \
	" LEFT JOIN bisections b ON b.id =" \
	" (SELECT max(id) FROM bisections WHERE stage_id = s.id)" \
	" LEFT JOIN series x ON x.id =" \
	" (SELECT max(id) FROM series WHERE stage_id = s.id)"

/*
 * The stages of a plan, base first, each with the summary of its commit
 * checks ("each_commit" without the list of commits).
 */
static int plan_stages(struct strbuf *sb, struct db *db, long long plan_id)
{
	sqlite3_stmt *st = db_stmt(db, STAGE_SQL("commits") " WHERE s.plan_id = ?"
				   " ORDER BY s.idx", "l", plan_id);
	int rc;

	if (!st)
		return -1;
	json_ch(sb, '[');
	while ((rc = db_step(db, st)) == 1) {
		json_sep(sb);
		json_ch(sb, '{');
		json_fields(sb, st);
		json_key(sb, "each_commit");
		if (each_stage_json(sb, db, sqlite3_column_int64(st, 0), 0) < 0)
			rc = -1;
		json_ch(sb, '}');
		if (rc < 0)
			break;
	}
	db_done(st);
	json_ch(sb, ']');
	return rc < 0 ? -1 : 0;
}

/* "remote": the plan's remote and how its fetches go, or null. */
static int plan_remote(struct strbuf *sb, struct db *db, long long plan_id)
{
	sqlite3_stmt *st;
	int rc;

	json_key(sb, "remote");
	rc = db_first(db, &st, "SELECT remote_url AS url, fetch_state AS state,"
		      " fetch_error AS error, fetch_failures AS failures,"
		      " failing_since, last_fetch_at AS last_fetch, last_ok_at AS last_ok,"
		      " next_fetch_at AS next_fetch FROM plans WHERE id = ?"
		      " AND remote_url IS NOT NULL", "l", plan_id);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		json_lit(sb, "null");
		return 0;
	}
	json_row(sb, st);
	db_done(st);
	return 0;
}

/* The plan of the current row of st, with its stages. */
static int plan_object(struct strbuf *sb, struct db *db, sqlite3_stmt *st)
{
	json_ch(sb, '{');
	json_fields(sb, st);
	if (plan_remote(sb, db, sqlite3_column_int64(st, 0)) < 0)
		return -1;
	json_key(sb, "stages");
	if (plan_stages(sb, db, sqlite3_column_int64(st, 0)) < 0)
		return -1;
	/* The gate's last decisions about the integration branch, newest first. */
	json_key(sb, "gate_decisions");
	if (json_rows(sb, db, db_stmt(db, "SELECT d.id, d.at, d.action, d.by,"
				      " s.name AS stage, d.old_commit, d.new_commit,"
				      " d.detail FROM gate_decisions d LEFT JOIN stages s"
				      " ON s.id = d.stage_id WHERE d.plan_id = ?"
				      " ORDER BY d.id DESC LIMIT 10", "l",
				      sqlite3_column_int64(st, 0))) < 0)
		return -1;
	json_ch(sb, '}');
	return 0;
}

int api_plans(struct api_reply *out, const struct api_request *req)
{
	return reply_list(out, req->db, db_stmt(req->db, PLAN_SQL " ORDER BY p.name",
						NULL), "plans", plan_object);
}

int api_plan(struct api_reply *out, const struct api_request *req)
{
	struct strbuf *sb = api_begin_json(out);
	sqlite3_stmt *st;
	int rc, ret = 0;

	rc = db_first(req->db, &st, PLAN_SQL " WHERE p.name = ?", "s", req->params[0]);
	if (rc == 1) {
		ret = plan_object(sb, req->db, st);
		db_done(st);
	}
	if (rc == 0)
		return api_error(out, 404, "no such plan: %s", req->params[0]);
	if (rc < 0 || ret < 0)
		return -1;
	return api_end_json(out, 200);
}

/*
 * The results of a stage's run, each with its status on the baseline run:
 * two scans in test order, merged (a lookup per result cost twice as much).
 */
static int stage_results(struct strbuf *sb, struct db *db, long long run,
			 long long base)
{
	sqlite3_stmt *x, *b = NULL;
	int rc = 0, brc = 0;

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
		brc = db_step(db, b);
	}
	json_ch(sb, '[');
	while (brc >= 0 && (rc = db_step(db, x)) == 1) {
		const char *test = db_col_text(x, 0);
		int cmp = -1;

		while (brc == 1 && (cmp = strcmp(db_col_text(b, 0), test)) < 0)
			brc = db_step(db, b);
		json_sep(sb);
		json_ch(sb, '{');
		json_fields(sb, x);
		json_key(sb, "baseline");
		if (brc == 1 && cmp == 0)
			json_col(sb, b, 1, 0);
		else
			json_lit(sb, "null");
		json_ch(sb, '}');
	}
	json_ch(sb, ']');
	db_done(x);
	db_done(b);
	return rc < 0 || brc < 0 ? -1 : 0;
}

int api_stage(struct api_reply *out, const struct api_request *req)
{
	struct strbuf *sb = api_begin_json(out);
	struct db *db = req->db;
	long long plan_id, stage_id = 0, run_id = 0, base_id = 0;
	sqlite3_stmt *st;
	int rc;

	rc = api_find_plan(out, db, req->params[0], &plan_id);
	if (rc <= 0)
		return rc;
	rc = db_first(db, &st, STAGE_SQL("_commits") " WHERE s.plan_id = ? AND s.name = ?",
		      "ls", plan_id, req->params[1]);
	if (rc == 1) {
		stage_id = sqlite3_column_int64(st, 0);
		run_id = sqlite3_column_int64(st, 1);
		base_id = sqlite3_column_int64(st, 2);
		json_ch(sb, '{');
		json_fields(sb, st);
		db_done(st);
	}
	if (rc == 0)
		return api_error(out, 404, "no stage %s in plan %s", req->params[1],
				 req->params[0]);
	if (rc < 0)
		return -1;
	json_key(sb, "commits");
	if (json_rows(sb, db, db_stmt(db, "SELECT commit_id AS id, subject, author"
				      " FROM stage_commits WHERE stage_id = ? ORDER BY seq",
				      "l", stage_id)) < 0)
		return -1;
	json_key(sb, "each_commit");
	if (each_stage_json(sb, db, stage_id, 1) < 0)
		return -1;
	json_key(sb, "changes");
	if (json_rows(sb, db, db_stmt(db, "SELECT test, kind, before, after, detail"
				      " FROM changes WHERE stage_id = ? ORDER BY"
				      " kind NOT IN ('regression', 'missing'), kind, test",
				      "l", stage_id)) < 0)
		return -1;
	json_key(sb, "results");
	if (stage_results(sb, db, run_id, base_id) < 0)
		return -1;
	json_key(sb, "runs");
	if (json_rows(sb, db, db_stmt(db, "SELECT" RUN_SUMMARY_COLS("") " FROM runs r"
				      " WHERE r.stage_id = ? AND r.reason != 'commit'"
				      " ORDER BY r.id DESC LIMIT 20",
				      "l", stage_id)) < 0)
		return -1;
	json_ch(sb, '}');
	return api_end_json(out, 200);
}

#define MATRIX_STAGES 256

/*
 * One line of the matrix: a test, and its status and change kind on each
 * of the n stages ("" for none: null).
 */
static void matrix_line(struct strbuf *sb, const struct strbuf *test, size_t n,
			char (*status)[16], char (*kind)[16])
{
	size_t i;

	json_sep(sb);
	json_lit(sb, "{\"test\":");
	json_strn(sb, test->buf, test->len);
	json_lit(sb, ",\"status\":[");
	for (i = 0; i < n; i++) {
		json_sep(sb);
		json_str(sb, status[i][0] ? status[i] : NULL);
	}
	json_lit(sb, "],\"kind\":[");
	for (i = 0; i < n; i++) {
		json_sep(sb);
		json_str(sb, kind[i][0] ? kind[i] : NULL);
	}
	json_lit(sb, "]}");
}

/*
 * The names of the first MATRIX_STAGES stages of a plan, as elements of
 * an array; pos[i] gets the idx of the i-th and *n how many there are.
 */
static int matrix_stages(struct strbuf *sb, struct db *db, long long plan_id,
			 long long *pos, size_t *n)
{
	sqlite3_stmt *st;
	int rc = 0;

	*n = 0;
	st = db_stmt(db, "SELECT idx, name FROM stages WHERE plan_id = ? ORDER BY idx",
		     "l", plan_id);
	if (!st)
		return -1;
	while (*n < MATRIX_STAGES && (rc = db_step(db, st)) == 1) {
		pos[(*n)++] = sqlite3_column_int64(st, 0);
		json_sep(sb);
		json_str(sb, db_col_text(st, 1));
	}
	db_done(st);
	return rc < 0 ? -1 : 0;
}

int api_matrix(struct api_reply *out, const struct api_request *req)
{
	struct strbuf *sb = api_begin_json(out);
	struct db *db = req->db;
	long long plan_id, pos[MATRIX_STAGES];
	char status[MATRIX_STAGES][16], kind[MATRIX_STAGES][16];
	struct strbuf test = STRBUF_INIT;
	sqlite3_stmt *st;
	size_t n = 0, i;
	int rc, have = 0;

	rc = api_find_plan(out, db, req->params[0], &plan_id);
	if (rc <= 0)
		return rc;
	json_lit(sb, "{\"stages\":[");
	if (matrix_stages(sb, db, plan_id, pos, &n) < 0)
		return -1;
	json_lit(sb, "],\"tests\":[");
	st = db_stmt(db, "SELECT x.test, s.idx, x.status, c.kind FROM stages s"
		     " JOIN results x ON x.run_id = s.run_id LEFT JOIN changes c"
		     " ON c.stage_id = s.id AND c.test = x.test WHERE s.plan_id = ?"
		     " ORDER BY x.test, s.idx", "l", plan_id);
	if (!st)
		return -1;
	/* Rows come sorted by test: one line of the matrix per test. */
	for (;;) {
		const char *t = NULL;

		rc = db_step(db, st);
		if (rc == 1)
			t = db_col_text(st, 0);
		if (have && (!t || strcmp(t, strbuf_str(&test)))) {
			matrix_line(sb, &test, n, status, kind);
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
	if (rc < 0)
		return -1;
	json_lit(sb, "]}");
	return api_end_json(out, 200);
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
	rc = api_find_plan(out, req->db, req->params[0], &plan_id);
	if (rc <= 0)
		return rc;
	sb = api_begin_json(out);
	json_lit(sb, "{\"test\":");
	json_str(sb, test);
	json_key(sb, "history");
	if (json_rows(sb, req->db, db_stmt(req->db, "SELECT s.name AS stage, r.id AS"
					   " run_id, r.commit_id AS \"commit\", x.status,"
					   " x.detail, r.finished_at FROM results x"
					   " JOIN runs r ON r.id = x.run_id"
					   " LEFT JOIN stages s ON s.id = r.stage_id"
					   " WHERE x.test = ? AND r.plan_id = ?"
					   " ORDER BY x.run_id DESC LIMIT 500", "sl",
					   test, plan_id)) < 0)
		return -1;
	json_ch(sb, '}');
	return api_end_json(out, 200);
}

int api_acks(struct api_reply *out, const struct api_request *req)
{
	struct strbuf *sb;
	long long plan_id;
	int rc;

	rc = api_find_plan(out, req->db, req->params[0], &plan_id);
	if (rc <= 0)
		return rc;
	sb = api_begin_json(out);
	json_lit(sb, "{\"acks\":");
	if (json_rows(sb, req->db, db_stmt(req->db, "SELECT id, test, reason, until_stage"
					   " AS until, created_by, created_at FROM acks"
					   " WHERE plan_id = ? ORDER BY id", "l",
					   plan_id)) < 0)
		return -1;
	json_ch(sb, '}');
	return api_end_json(out, 200);
}

/* --- runs ------------------------------------------------------------------------ */

#define RUN_SQL \
	"SELECT r.id, p.name AS plan, s.name AS stage, r.commit_id AS \"commit\"," \
	" r.tree_id AS tree, r.profile, r.profile_digest, r.reason, r.tests AS _tests," \
	" r.bisection_id, r.state, r.verdict, r.boot_verdict, r.boot_line," \
	" r.boot_text, r.failed_step, r.error, r.reused_from, r.slot, r.job, r.node," \
	" r.current_step," \
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

	json_ch(sb, '{');
	json_fields(sb, st);
	json_key(sb, "tests");
	json_lines(sb, (const char *)sqlite3_column_text(st, 8));
	json_key(sb, "steps");
	s = db_stmt(db, "SELECT idx, name, state, exit_code, signal, started_at,"
		    " finished_at, log AS _log, log_bytes, log_dropped, console"
		    " FROM steps WHERE run_id = ? ORDER BY idx", "l", id);
	if (!s)
		return -1;
	json_ch(sb, '[');
	while ((rc = db_step(db, s)) == 1) {
		json_sep(sb);
		json_ch(sb, '{');
		json_fields(sb, s);
		json_key(sb, "log");
		if (col_is_null(s, 7))
			json_lit(sb, "null");
		else
			api_log_url(sb, id, sqlite3_column_int(s, 0));
		json_ch(sb, '}');
	}
	db_done(s);
	json_lit(sb, "]}");
	return rc < 0 ? -1 : 0;
}

/*
 * The plan=, stage= and limit= arguments shared by the list endpoints
 * (limit from 1 to max_limit).  1 with the ids set (0: not given), 0
 * when the reply is made (400, 404), -1 on a database error.
 */
static int list_filters(struct api_reply *out, const struct api_request *req,
			long long *plan_id, long long *stage_id, long long *limit,
			long long def_limit, long long max_limit)
{
	const char *plan = api_query(req, "plan"), *stage = api_query(req, "stage");
	const char *lim = api_query(req, "limit");
	int rc;

	*plan_id = *stage_id = 0;
	*limit = def_limit;
	if (lim && api_parse_int(lim, 1, max_limit, limit) < 0)
		return api_error(out, 400, "limit must be an integer from 1 to %lld",
				 max_limit), 0;
	if (stage && !plan)
		return api_error(out, 400, "stage needs plan (stage names are per plan)"), 0;
	if (plan) {
		if (!config_valid_name(plan))
			return api_error(out, 400, "invalid plan name"), 0;
		rc = api_find_plan(out, req->db, plan, plan_id);
		if (rc <= 0)
			return rc;
	}
	if (stage) {
		if (!config_valid_name(stage))
			return api_error(out, 400, "invalid stage name"), 0;
		rc = api_find_stage(out, req->db, *plan_id, plan, stage, stage_id);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

/*
 * A list filtered by ?plan=, ?stage=, ?state= (one of states) and
 * ?limit=: sql binds them as ?1 to ?4.
 */
static int filtered_list(struct api_reply *out, const struct api_request *req,
			 const char *sql, const char *const *states,
			 const char *key, row_writer fn)
{
	const char *state = api_query(req, "state");
	long long plan_id, stage_id, limit;
	int rc;

	rc = list_filters(out, req, &plan_id, &stage_id, &limit, 50, RUNS_LIMIT_MAX);
	if (rc <= 0)
		return rc;
	if (state && !api_in_list(states, state)) {
		struct strbuf sb = STRBUF_INIT;
		const char *const *s;

		for (s = states; *s; s++)
			strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", *s);
		api_error(out, 400, "state must be one of %s", sb.buf);
		strbuf_release(&sb);
		return 0;
	}
	return reply_list(out, req->db, db_stmt(req->db, sql, "LLsl", plan_id,
						 stage_id, state, limit), key, fn);
}

/*
 * The id of query argument key (a run or a bisection: exists is the
 * query that finds it) in *id, 0 when absent: 1, or 0 when the reply is
 * made (400 not an id, 404 no such one), or -1.
 */
static int id_filter(struct api_reply *out, const struct api_request *req,
		     const char *key, const char *exists, long long *id)
{
	const char *v = api_query(req, key);
	long long one;
	int rc;

	*id = 0;
	if (!v)
		return 1;
	if (api_parse_int(v, 1, LLONG_MAX, id) < 0)
		return api_error(out, 400, "%s must be a %s id (a positive integer)",
				 key, key), 0;
	rc = db_get_int(req->db, &one, exists, "l", *id);
	if (rc == 0)
		api_error(out, 404, "no such %s: %lld", key, *id);
	return rc;
}

int api_outbox(struct api_reply *out, const struct api_request *req)
{
	static const char *const states[] = {
		"pending", "delivered", "failed", "superseded", NULL
	};
	struct outbox_filter f = OUTBOX_FILTER_INIT;
	long long limit;
	struct strbuf *sb;
	json_t *arr, *o;
	char *text;
	int rc;

	f.state = api_query(req, "state");
	if (f.state && !api_in_list(states, f.state))
		return api_error(out, 400, "state must be one of pending, delivered,"
				 " failed, superseded");
	rc = list_filters(out, req, &f.plan_id, &f.stage_id, &limit, f.limit,
			  OUTBOX_LIMIT_MAX);
	if (rc > 0)
		rc = id_filter(out, req, "run", "SELECT 1 FROM runs WHERE id = ?",
			       &f.run_id);
	if (rc > 0)
		rc = id_filter(out, req, "bisection",
			       "SELECT 1 FROM bisections WHERE id = ?", &f.bisection_id);
	if (rc <= 0)
		return rc;
	f.limit = (int)limit;
	arr = outbox_list(req->db, &f);
	if (!arr)
		return -1;
	o = json_pack("{s:o}", "outbox", arr);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return -1;
	sb = api_begin_json(out);
	strbuf_adds(sb, text);
	free(text);
	return api_end_json(out, 200);
}

int api_runs(struct api_reply *out, const struct api_request *req)
{
	return filtered_list(out, req, RUN_SQL " WHERE (?1 IS NULL OR"
			     " r.plan_id = ?1) AND (?2 IS NULL OR r.stage_id = ?2)"
			     " AND (?3 IS NULL OR r.state = ?3) ORDER BY r.id DESC"
			     " LIMIT ?4", run_state_names, "runs", run_object);
}

int api_run(struct api_reply *out, const struct api_request *req)
{
	long long id = api_param_id(req, 0);
	struct strbuf *sb = api_begin_json(out);
	sqlite3_stmt *st;
	int rc, ret = 0;

	rc = db_first(req->db, &st, RUN_SQL " WHERE r.id = ?", "l", id);
	if (rc == 1) {
		ret = run_object(sb, req->db, st);
		db_done(st);
	}
	if (rc == 0)
		return api_error(out, 404, "no such run: %lld", id);
	if (rc < 0 || ret < 0)
		return -1;
	return api_end_json(out, 200);
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
	long long id = api_param_id(req, 0);
	struct strbuf *sb;
	int rc = run_exists(out, req->db, id);

	if (rc <= 0)
		return rc;
	sb = api_begin_json(out);
	json_lit(sb, "{\"results\":");
	if (json_rows(sb, req->db, db_stmt(req->db, "SELECT test, status, detail, line"
					   " FROM results WHERE run_id = ? ORDER BY test",
					   "l", id)) < 0)
		return -1;
	json_ch(sb, '}');
	return api_end_json(out, 200);
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
	long long id = api_param_id(req, 0);
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
	sb = api_begin_json(out);
	json_lit(sb, "{\"files\":[");
	for (i = 0; i < fl.nr; i++) {
		json_sep(sb);
		json_lit(sb, "{\"name\":");
		json_str(sb, fl.v[i].name);
		json_lit(sb, ",\"size\":");
		json_int(sb, fl.v[i].size);
		json_ch(sb, '}');
		free(fl.v[i].name);
	}
	free(fl.v);
	json_lit(sb, "]}");
	return api_end_json(out, 200);
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

/*
 * The culprit of a bisection (current row of st, whose culprit is not
 * null), with its subject, author and stage from the bisection's commits.
 */
static int bisection_culprit(struct strbuf *sb, struct db *db, sqlite3_stmt *st)
{
	sqlite3_stmt *c = db_stmt(db, "SELECT subject, author, stage FROM"
				  " bisection_commits WHERE bisection_id = ?"
				  " AND commit_id = ? LIMIT 1", "ls",
				  sqlite3_column_int64(st, B_ID),
				  db_col_text(st, B_CULPRIT));
	int found;

	if (!c)
		return -1;
	found = db_step(db, c);
	if (found >= 0) {
		json_lit(sb, "{\"commit\":");
		json_col(sb, st, B_CULPRIT, 0);
		json_lit(sb, ",\"subject\":");
		if (found)
			json_col(sb, c, 0, 0);
		else
			json_lit(sb, "null");
		json_lit(sb, ",\"author\":");
		if (found)
			json_col(sb, c, 1, 0);
		else
			json_lit(sb, "null");
		json_lit(sb, ",\"stage\":");
		if (!col_is_null(st, B_CULPRIT_STAGE) || !found)
			json_col(sb, st, B_CULPRIT_STAGE, 0);
		else
			json_col(sb, c, 2, 0);
		json_ch(sb, '}');
	}
	db_done(c);
	return found < 0 ? -1 : 0;
}

/* The range of a bisection (current row of st), with its untestable commits. */
static int bisection_range(struct strbuf *sb, struct db *db, sqlite3_stmt *st)
{
	sqlite3_stmt *c = db_stmt(db, "SELECT commit_id FROM bisection_commits"
				  " WHERE bisection_id = ? AND mark = 'skip'"
				  " ORDER BY seq", "l", sqlite3_column_int64(st, B_ID));
	int rc;

	if (!c)
		return -1;
	json_lit(sb, "{\"good\":");
	json_col(sb, st, B_RANGE_GOOD, 0);
	json_lit(sb, ",\"bad\":");
	json_col(sb, st, B_RANGE_BAD, 0);
	json_lit(sb, ",\"untestable\":[");
	while ((rc = db_step(db, c)) == 1) {
		json_sep(sb);
		json_col(sb, c, 0, 0);
	}
	db_done(c);
	json_lit(sb, "]}");
	return rc < 0 ? -1 : 0;
}

/* The members of a bisection (current row of st): fields, culprit, range. */
static int bisection_fields(struct strbuf *sb, struct db *db, sqlite3_stmt *st)
{
	json_fields(sb, st);
	json_key(sb, "tests");
	json_lines(sb, (const char *)sqlite3_column_text(st, B_TESTS));
	json_key(sb, "culprit");
	if (col_is_null(st, B_CULPRIT))
		json_lit(sb, "null");
	else if (bisection_culprit(sb, db, st) < 0)
		return -1;
	json_key(sb, "range");
	if (col_is_null(st, B_RANGE_GOOD) && col_is_null(st, B_RANGE_BAD))
		json_lit(sb, "null");
	else if (bisection_range(sb, db, st) < 0)
		return -1;
	return 0;
}

/* A bisection without its commits and steps (for lists). */
static int bisection_summary(struct strbuf *sb, struct db *db, sqlite3_stmt *st)
{
	json_ch(sb, '{');
	if (bisection_fields(sb, db, st) < 0)
		return -1;
	json_ch(sb, '}');
	return 0;
}

int api_bisections(struct api_reply *out, const struct api_request *req)
{
	return filtered_list(out, req, BISECTION_SQL " WHERE (?1 IS NULL OR"
			     " b.plan_id = ?1) AND (?2 IS NULL OR b.stage_id = ?2)"
			     " AND (?3 IS NULL OR b.state = ?3) ORDER BY b.id DESC"
			     " LIMIT ?4", bisection_state_names, "bisections",
			     bisection_summary);
}

int api_bisection(struct api_reply *out, const struct api_request *req)
{
	long long id = api_param_id(req, 0);
	struct strbuf *sb = api_begin_json(out);
	char *culprit = NULL, *tests = NULL;
	sqlite3_stmt *st;
	int rc, ret = -1;

	rc = db_first(req->db, &st, BISECTION_SQL " WHERE b.id = ?", "l", id);
	if (rc == 1) {
		json_ch(sb, '{');
		if (bisection_fields(sb, req->db, st) < 0)
			rc = -1;
		culprit = db_col_dup(st, B_CULPRIT);
		tests = db_col_dup(st, B_TESTS);
		db_done(st);
	}
	if (rc == 0)
		return api_error(out, 404, "no such bisection: %lld", id);
	if (rc < 0)
		goto out;
	json_key(sb, "commits");
	if (json_rows(sb, req->db, db_stmt(req->db, "SELECT seq, commit_id AS \"commit\","
					   " subject, author, stage, boundary AS"
					   " \"?boundary\", mark FROM bisection_commits"
					   " WHERE bisection_id = ? ORDER BY seq",
					   "l", id)) < 0)
		goto out;
	json_key(sb, "steps");
	if (json_rows(sb, req->db, db_stmt(req->db, "SELECT x.run_id, x.seq, r.commit_id"
					   " AS \"commit\", x.phase, x.round, x.verdict,"
					   " r.state AS run_state FROM bisection_runs x"
					   " JOIN runs r ON r.id = x.run_id"
					   " WHERE x.bisection_id = ? ORDER BY x.run_id",
					   "l", id)) < 0)
		goto out;
	json_key(sb, "excerpts");
	if (bisection_excerpts(sb, req, id, culprit, tests ? tests : "") < 0)
		goto out;
	json_ch(sb, '}');
	ret = api_end_json(out, 200);
out:
	free(culprit);
	free(tests);
	return ret;
}

/* --- series ------------------------------------------------------------------------ */

/*
 * The patch series applied to a stage from mail, newest first (at most
 * 50), each with its patches and the commits they became.
 */
int api_series_list(struct api_reply *out, const struct api_request *req)
{
	struct strbuf *sb;
	long long plan_id, stage_id;
	sqlite3_stmt *st;
	int rc;

	rc = api_find_plan_stage(out, req->db, req->params[0], req->params[1],
				 &plan_id, &stage_id);
	if (rc <= 0)
		return rc;
	st = db_stmt(req->db, "SELECT id, at, title, version, message_id, base_commit,"
		     " onto, head, old_head, nr_patches, source, link_base, by FROM series"
		     " WHERE stage_id = ? ORDER BY id DESC LIMIT 50", "l", stage_id);
	if (!st)
		return -1;
	sb = api_begin_json(out);
	json_lit(sb, "{\"series\":[");
	while ((rc = db_step(req->db, st)) == 1) {
		json_sep(sb);
		json_ch(sb, '{');
		json_fields(sb, st);
		json_key(sb, "patches");
		if (json_rows(sb, req->db, db_stmt(req->db, "SELECT number, commit_id AS"
						   " \"commit\", message_id, author, subject"
						   " FROM series_patches WHERE series_id = ?"
						   " ORDER BY number", "l",
						   sqlite3_column_int64(st, 0))) < 0) {
			db_done(st);
			return -1;
		}
		json_ch(sb, '}');
	}
	db_done(st);
	if (rc < 0)
		return -1;
	json_lit(sb, "]}");
	return api_end_json(out, 200);
}

/* --- KCIDB ------------------------------------------------------------------------------ */

/*
 * The finished runs (of ?plan=, after run ?since=) as KCIDB I/O JSON
 * v5.3 (kcidb.h), ids under the configuration's kcidb_origin.
 */
int api_kcidb(struct api_reply *out, const struct api_request *req)
{
	struct kcidb_options o = KCIDB_OPTIONS_INIT;
	const char *plan = api_query(req, "plan"), *since = api_query(req, "since");
	int rc;

	if (since && api_parse_int(since, 0, (long long)1 << 53, &o.since) < 0)
		return api_error(out, 400, "since must be a run id (an integer from 0)");
	if (plan) {
		if (!config_valid_name(plan))
			return api_error(out, 400, "invalid plan name");
		rc = api_find_plan(out, req->db, plan, &o.plan_id);
		if (rc <= 0)
			return rc;
	}
	if (req->cfg) {
		o.origin = req->cfg->kcidb_origin;
		o.base_url = req->cfg->public_url;
	}
	if (kcidb_export(api_begin_json(out), req->db, &o) < 0)
		return -1;
	return api_end_json(out, 200);
}
