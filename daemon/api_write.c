/*
 * api_write: the POST and DELETE resources of the JSON API (see
 * api_write.h and daemon/API.md).
 *
 * Request bodies are parsed, and the small replies built, with jansson.
 * Each handler is one readable unit: it checks its input, then writes in
 * one transaction that end_write() commits or rolls back (api_cancel()
 * goes through queue_cancel(); api_refresh() only wakes the engine).
 * Some of the SQL here writes tables that other modules own (bisections,
 * acks); it is kept whole per handler so that each write can move into
 * its owner's module as one piece.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "api_write.h"
#include "engine.h"
#include "log.h"
#include "queue.h"
#include "wrapper.h"
#include "banned.h"

#define PRIO_MANUAL 10
#define TEST_NAME_MAX 512
#define TESTS_MAX 1000

static const char *const finished_bisection[] = {
	"found", "inconclusive", "flaky", "not-reproduced", "canceled", "error", NULL
};

/* --- request bodies and replies -------------------------------------------------- */

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
	strbuf_adds(api_begin_json(out), text);
	free(text);
	return api_end_json(out, status);
}

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
		if (!api_in_list(allowed, key)) {
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
	rc = api_find_plan(out, db, req->params[0], &plan_id);
	if (rc > 0)
		rc = api_find_stage(out, db, plan_id, req->params[0], req->params[1],
				    &stage_id);
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
	long long run_id = api_param_id(req, 0), id;
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
	long long id = api_param_id(req, 0);
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

/*
 * What to bisect on a stage: bad is its head, good the head of the stage
 * whose run was its baseline or else of the nearest stage below with a
 * head.  1 (the caller frees *good and *bad), 0 (409 replied), -1.
 */
static int bisection_range(struct api_reply *out, struct db *db, long long plan_id,
			   long long stage_id, const char *stage, char **good,
			   char **bad)
{
	long long idx = 0, base_run = 0, base_stage = 0;
	sqlite3_stmt *st;

	st = db_stmt(db, "SELECT idx, head, coalesce(baseline_run_id, 0) FROM stages"
		     " WHERE id = ?", "l", stage_id);
	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		idx = sqlite3_column_int64(st, 0);
		*bad = db_col_dup(st, 1);
		base_run = sqlite3_column_int64(st, 2);
	}
	db_done(st);
	if (idx == 0)
		return api_error(out, 409, "%s is the plan base: there is no stage below"
				 " it to bisect from", stage), 0;
	if (!*bad)
		return api_error(out, 409, "stage %s has no head (its branch does not"
				 " resolve)", stage), 0;
	/* The baseline stage: the one whose run the comparison used. */
	if (base_run &&
	    db_get_int(db, &base_stage, "SELECT coalesce(stage_id, 0) FROM runs"
		       " WHERE id = ?", "l", base_run) < 0)
		return -1;
	if (base_stage &&
	    db_get_text(db, good, "SELECT head FROM stages WHERE id = ?", "l",
			base_stage) < 0)
		return -1;
	if (!*good &&
	    db_get_text(db, good, "SELECT head FROM stages WHERE plan_id = ? AND"
			" idx < ? AND head IS NOT NULL ORDER BY idx DESC LIMIT 1",
			"ll", plan_id, idx) < 0)
		return -1;
	if (!*good)
		return api_error(out, 409, "no stage below %s has a head to bisect from",
				 stage), 0;
	if (!strcmp(*good, *bad))
		return api_error(out, 409, "stage %s has no commits of its own to bisect",
				 stage), 0;
	return 1;
}

/* Without named tests: the stage's regressions.  1, or 0 (409 replied). */
static int stage_regressions(struct api_reply *out, struct db *db, long long stage_id,
			     const char *stage, struct strbuf *tests)
{
	sqlite3_stmt *st;

	st = db_stmt(db, "SELECT test FROM changes WHERE stage_id = ? AND kind"
		     " IN ('regression', 'missing') ORDER BY test", "l", stage_id);
	while (st && sqlite3_step(st) == SQLITE_ROW)
		strbuf_addf(tests, "%s%s", tests->len ? "\n" : "",
			    db_col_text(st, 0));
	db_done(st);
	if (!tests->len)
		return api_error(out, 409, "stage %s has no regressions: name the"
				 " tests to bisect", stage), 0;
	return 1;
}

/* A requested bisection and its event.  The new id, or -1. */
static long long bisection_insert(const struct api_request *req, long long plan_id,
				  long long stage_id, const char *good,
				  const char *bad, const char *tests)
{
	struct db *db = req->db;
	long long id;

	if (db_exec(db, "INSERT INTO bisections (plan_id, stage_id, reason,"
		    " good_commit, bad_commit, tests, state, runs_per_step,"
		    " confirm_runs, created_at, updated_at) VALUES (?, ?, 'manual',"
		    " ?, ?, ?, 'requested', ?, ?, ?, ?)", "llsssiill", plan_id,
		    stage_id, good, bad, tests,
		    req->cfg ? (int)req->cfg->bisect_runs : 1,
		    req->cfg ? (int)req->cfg->confirm_runs : 1, now_wall_ms(),
		    now_wall_ms()) < 0)
		return -1;
	id = db_last_id(db);
	if (db_event(db, "bisection", plan_id, stage_id, 0, id,
		     "{\"state\":\"requested\",\"reason\":\"manual\"}") < 0)
		return -1;
	return id;
}

int api_bisection_start(struct api_reply *out, const struct api_request *req)
{
	static const char *const fields[] = { "plan", "stage", "tests", NULL };
	struct strbuf tests = STRBUF_INIT;
	struct db *db = req->db;
	const char *plan, *stage;
	char *bad = NULL, *good = NULL;
	long long plan_id, stage_id, existing = 0, id;
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
	rc = api_find_plan(out, db, plan, &plan_id);
	if (rc > 0)
		rc = api_find_stage(out, db, plan_id, plan, stage, &stage_id);
	if (rc > 0)
		rc = bisection_range(out, db, plan_id, stage_id, stage, &good, &bad);
	if (rc > 0 && !tests.len)
		rc = stage_regressions(out, db, stage_id, stage, &tests);
	if (rc <= 0)
		goto out;
	rc = -1;
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
	id = bisection_insert(req, plan_id, stage_id, good, bad, strbuf_str(&tests));
	if (id < 0)
		goto out;
	rc = reply_json(out, 202, json_pack("{s:I}", "bisection", (json_int_t)id));
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
	long long id = api_param_id(req, 0), plan_id = 0, stage_id = 0;
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
	if (api_in_list(finished_bisection, state)) {
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
	rc = api_find_plan(out, db, req->params[0], &plan_id);
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
	long long plan_id, id = api_param_id(req, 1);
	int rc;

	if (req->body_len)
		return api_error(out, 400, "DELETE takes no body");
	if (db_begin(req->db) < 0)
		return -1;
	rc = api_find_plan(out, req->db, req->params[0], &plan_id);
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
