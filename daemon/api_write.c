/*
 * api_write: the POST and DELETE resources of the JSON API (see
 * api_write.h and daemon/API.md).
 *
 * Request bodies are parsed, and the small replies built, with jansson.
 * Each handler checks its input, then changes state only through the
 * module that owns the table (queue for runs, bisector for bisections,
 * ack for acks) in one transaction that end_write() commits or rolls
 * back, and then tells the loop what changed (loop_notify()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "ack.h"
#include "api_write.h"
#include "each.h"
#include "bisector.h"
#include "gate.h"
#include "intake.h"
#include "loop.h"
#include "log.h"
#include "mbox.h"
#include "queue.h"
#include "series.h"
#include "text.h"
#include "wrapper.h"
#include "banned.h"

#define PRIO_MANUAL 10
#define TEST_NAME_MAX 512
#define TESTS_MAX 1000

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

/* Tell the loop what changed (after the commit). */
static void wake(const struct api_request *req, enum wake_kind kind, long long id)
{
	if (req->loop)
		loop_notify(req->loop, kind, id);
}

/*
 * The end of every write: a success (rc >= 0 and a 2xx reply) commits and
 * tells the loop what changed (kind, id; id 0: nothing to tell); anything
 * else rolls back, so a failed request changes nothing.  Returns the
 * handler's result (0 or -1).
 */
static int end_write(struct api_reply *out, const struct api_request *req,
		     int rc, enum wake_kind kind, long long id)
{
	if (rc >= 0 && out->status < 300) {
		if (db_commit(req->db) < 0)
			return -1;
		if (id)
			wake(req, kind, id);
	} else {
		db_rollback(req->db);
	}
	return rc < 0 ? -1 : 0;
}

/* --- writes: runs ---------------------------------------------------------------- */

static const char *const no_fields[] = { NULL };

/* A body that must be empty or {}: 1, or 0 (400 replied). */
static int no_body(struct api_reply *out, const struct api_request *req)
{
	json_t *body;

	if (!parse_body(out, req, &body, no_fields))
		return 0;
	json_decref(body);
	return 1;
}

/* A run request read from a row, with the strings it points to. */
struct request_row {
	struct run_request rr;
	char *commit, *tree, *profile, *digest, *tests;
};

static void request_row_release(struct request_row *r)
{
	free(r->commit);
	free(r->tree);
	free(r->profile);
	free(r->digest);
	free(r->tests);
}

/*
 * The first row of sql (one id parameter) as a run request: plan_id,
 * stage_id, commit, tree, profile, digest, tests, then (into *extra, if
 * given) one more text column.  1, 0 no row, -1 error.
 */
static int read_request(struct db *db, struct request_row *r, char **extra,
			const char *sql, long long id)
{
	sqlite3_stmt *st;
	int rc = db_first(db, &st, sql, "l", id);

	memset(r, 0, sizeof(*r));
	if (rc != 1)
		return rc;
	r->rr.plan_id = sqlite3_column_int64(st, 0);
	r->rr.stage_id = sqlite3_column_int64(st, 1);
	r->rr.commit = r->commit = db_col_dup(st, 2);
	r->rr.tree = r->tree = db_col_dup(st, 3);
	r->rr.profile = r->profile = db_col_dup(st, 4);
	r->rr.digest = r->digest = db_col_dup(st, 5);
	r->rr.tests = r->tests = db_col_dup(st, 6);
	if (extra)
		*extra = db_col_dup(st, 7);
	db_done(st);
	return 1;
}

int api_trigger(struct api_reply *out, const struct api_request *req)
{
	struct request_row r = { { 0 } };
	struct db *db = req->db;
	long long plan_id, stage_id, existing = 0, id = 0;
	int rc, reused = 0;

	if (!no_body(out, req))
		return 0;
	if (db_begin(db) < 0)
		return -1;
	rc = api_find_plan_stage(out, db, req->params[0], req->params[1],
				 &plan_id, &stage_id);
	if (rc <= 0)
		goto out;
	rc = read_request(db, &r, NULL, "SELECT s.plan_id, s.id, s.head, s.tree,"
			  " p.profile, p.profile_digest, NULL FROM stages s JOIN plans p"
			  " ON p.id = s.plan_id WHERE s.id = ?", stage_id);
	if (rc <= 0) {
		rc = -1;
		goto out;
	}
	if (!r.commit || !r.tree) {
		rc = api_error(out, 409, "stage %s has no head (its branch does not"
			       " resolve); nothing to run", req->params[1]);
		goto out;
	}
	rc = -1;
	if (db_get_int(db, &existing, "SELECT id FROM runs WHERE stage_id = ?"
		       " AND commit_id = ? AND profile_digest = ? AND tests IS NULL"
		       " AND reason != 'commit'"
		       " AND state IN ('queued', 'running') ORDER BY id DESC LIMIT 1",
		       "lss", stage_id, r.commit, r.digest) < 0)
		goto out;
	if (existing) {
		rc = reply_json(out, 200, json_pack("{s:I,s:b,s:b}", "run",
						    (json_int_t)existing, "existing", 1,
						    "reused", 0));
		goto out;
	}
	r.rr.reason = REASON_MANUAL;
	r.rr.priority = PRIO_MANUAL;
	r.rr.supersede = 1;
	id = queue_add(db, &r.rr, &reused);
	if (id >= 0)
		rc = reply_json(out, 202, json_pack("{s:I,s:b}", "run", (json_int_t)id,
						    "reused", reused));
out:
	rc = end_write(out, req, rc, WAKE_RUN, id > 0 ? id : 0);
	request_row_release(&r);
	return rc;
}

int api_retry(struct api_reply *out, const struct api_request *req)
{
	struct request_row r = { { 0 } };
	long long run_id = api_param_id(req, 0), id = 0;
	char *state = NULL, *steps = NULL;
	int rc;

	if (!no_body(out, req))
		return 0;
	if (db_begin(req->db) < 0)
		return -1;
	rc = read_request(req->db, &r, &state, "SELECT plan_id, coalesce(stage_id, 0),"
			  " commit_id, tree_id, profile, profile_digest, tests, state"
			  " FROM runs WHERE id = ?", run_id);
	if (rc == 0)
		rc = api_error(out, 404, "no such run: %lld", run_id);
	else if (rc > 0 && (!strcmp(state, "queued") || !strcmp(state, "running")))
		rc = api_error(out, 409, "run %lld is %s: wait for it or cancel it"
			       " first", run_id, state);
	else if (rc > 0 && db_get_text(req->db, &steps, "SELECT steps FROM runs"
				       " WHERE id = ?", "l", run_id) < 0)
		rc = -1;
	else if (rc > 0) {
		/* A commit check again is a commit check (each.h): its steps. */
		r.rr.reason = steps ? REASON_COMMIT : REASON_RETRY;
		r.rr.steps = steps;
		r.rr.priority = steps ? EACH_PRIORITY : PRIO_MANUAL;
		r.rr.no_reuse = 1;
		/* Not supersede: a retry of an old commit must not drop the head's run. */
		id = queue_add(req->db, &r.rr, NULL);
		rc = id < 0 ? -1 : reply_json(out, 202, json_pack("{s:I}", "run",
								 (json_int_t)id));
	}
	rc = end_write(out, req, rc, WAKE_RUN, id > 0 ? id : 0);
	request_row_release(&r);
	free(state);
	free(steps);
	return rc;
}

int api_cancel(struct api_reply *out, const struct api_request *req)
{
	long long id = api_param_id(req, 0);
	char why[160];
	char *state = NULL;
	int rc;

	if (!no_body(out, req))
		return 0;
	snprintf(why, sizeof(why), "canceled through the API%s%s",
		 req->token_name ? " by " : "", req->token_name ? req->token_name : "");
	rc = queue_cancel(req->db, id, why);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		wake(req, WAKE_RUN, id);
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
	struct bisect_request br = { 0 };
	struct bisect_answer ans;
	const char *plan, *stage;
	long long id = 0;
	json_t *body;
	int rc = 0;

	if (!parse_body(out, req, &body, fields))
		return 0;
	if (!get_string(out, body, "plan", 1, 64, &plan) ||
	    !get_string(out, body, "stage", 1, 64, &stage) ||
	    !body_tests(out, body, &tests))
		goto done;
	if (!config_valid_name(plan) || !config_valid_name(stage)) {
		api_error(out, 400, "plan and stage must be names ([A-Za-z0-9._-]{1,64})");
		goto done;
	}
	rc = -1;
	if (db_begin(req->db) < 0)
		goto done;
	rc = api_find_plan_stage(out, req->db, plan, stage,
				 &br.plan_id, &br.stage_id);
	if (rc <= 0)
		goto out;
	br.tests = tests.len ? tests.buf : NULL;
	br.runs_per_step = req->cfg ? req->cfg->bisect_runs : 1;
	br.confirm_runs = req->cfg ? req->cfg->confirm_runs : 1;
	id = bisector_request(req->db, &br, &ans);
	if (id < 0)
		rc = -1;
	else if (ans.refused)
		rc = api_error(out, 409, "stage %s: %s", stage, ans.refused);
	else if (ans.existing)
		rc = reply_json(out, 200, json_pack("{s:I,s:b}", "bisection",
						    (json_int_t)ans.existing, "existing", 1));
	else
		rc = reply_json(out, 202, json_pack("{s:I}", "bisection", (json_int_t)id));
out:
	rc = end_write(out, req, rc, WAKE_BISECTION, id > 0 ? id : 0);
done:
	json_decref(body);
	strbuf_release(&tests);
	return rc < 0 ? -1 : 0;
}

int api_bisection_cancel(struct api_reply *out, const struct api_request *req)
{
	long long id = api_param_id(req, 0);
	char *state = NULL;
	int rc;

	if (!no_body(out, req))
		return 0;
	rc = bisector_cancel(req->db, id, "canceled through the API");
	if (rc < 0)
		return -1;
	if (rc == 2)
		return api_error(out, 404, "no such bisection: %lld", id);
	if (rc == 1) {
		if (db_get_text(req->db, &state, "SELECT state FROM bisections WHERE"
				" id = ?", "l", id) < 0)
			return -1;
		api_error(out, 409, "bisection %lld is already %s", id,
			  state ? state : "finished");
		free(state);
		return 0;
	}
	wake(req, WAKE_BISECTION, id);
	return reply_json(out, 200, json_pack("{s:I,s:s}", "bisection", (json_int_t)id,
					      "state", "canceled"));
}

/* --- writes: acks and refresh ------------------------------------------------------ */

int api_ack_add(struct api_reply *out, const struct api_request *req)
{
	static const char *const fields[] = { "test", "reason", "until", NULL };
	const char *test, *reason, *until;
	long long plan_id = 0, stage = 0, existing = 0, id = 0;
	json_t *body;
	int rc;

	if (!parse_body(out, req, &body, fields))
		return 0;
	rc = 0;
	if (!get_string(out, body, "test", 1, TEST_NAME_MAX, &test) ||
	    !get_string(out, body, "reason", 1, 1000, &reason) ||
	    !get_string(out, body, "until", 0, 64, &until))
		goto done;
	rc = -1;
	if (db_begin(req->db) < 0)
		goto done;
	rc = api_find_plan(out, req->db, req->params[0], &plan_id);
	if (rc > 0 && until &&
	    (rc = db_get_int(req->db, &stage, "SELECT id FROM stages WHERE"
			     " plan_id = ? AND name = ? AND idx > 0", "ls",
			     plan_id, until)) == 0)
		api_error(out, 400, "until: no stage %s in plan %s", until,
			  req->params[0]);
	if (rc <= 0)
		goto out;
	id = ack_add(req->db, plan_id, test, reason, until, req->token_name, &existing);
	if (id < 0)
		rc = -1;
	else if (id == 0)
		rc = api_error(out, 409, "%s is already acknowledged (ack %lld)", test,
			       existing);
	else
		rc = reply_json(out, 201, json_pack("{s:I}", "ack", (json_int_t)id));
out:
	rc = end_write(out, req, rc, WAKE_PLAN, id > 0 ? plan_id : 0);
done:
	json_decref(body);
	return rc < 0 ? -1 : 0;
}

int api_ack_delete(struct api_reply *out, const struct api_request *req)
{
	long long plan_id = 0, id = api_param_id(req, 1);
	int rc;

	if (req->body_len)
		return api_error(out, 400, "DELETE takes no body");
	if (db_begin(req->db) < 0)
		return -1;
	rc = api_find_plan(out, req->db, req->params[0], &plan_id);
	if (rc > 0)
		rc = ack_delete(req->db, plan_id, id);
	if (rc == 0 && out->status == 0)
		api_error(out, 404, "no ack %lld in plan %s", id, req->params[0]);
	else if (rc > 0)
		rc = reply_json(out, 200, json_pack("{s:I,s:b}", "ack", (json_int_t)id,
						    "deleted", 1));
	return end_write(out, req, rc, WAKE_PLAN, rc >= 0 && out->status < 300
					   ? plan_id : 0);
}

/* Is a hex object id (40 hex digits)? */
static int is_commit_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == 40 && !s[n];
}

/* gate_advance() and gate_check(): (db, plan, argument, by, detail). */
typedef int gate_fn(struct db *db, long long plan_id, const char *arg,
		    const char *by, char **detail);

/*
 * A gate request: a body with one string field (required for a commit),
 * the plan from the path, then fn.  Its result (1, 0; *detail set), -1,
 * or 2 when a 4xx reply is made.
 */
static int gate_request(struct api_reply *out, const struct api_request *req,
			const char *field, gate_fn *fn, char **detail)
{
	const char *const fields[] = { field, NULL };
	int commit = !strcmp(field, "commit");
	const char *arg;
	long long plan_id;
	json_t *body;
	int rc;

	*detail = NULL;
	if (!parse_body(out, req, &body, fields))
		return 2;
	rc = get_string(out, body, field, commit, commit ? 40 : 64, &arg);
	if (rc && commit && !is_commit_id(arg)) {
		api_error(out, 400, "commit must be 40 lowercase hex digits");
		rc = 0;
	}
	if (rc)
		rc = api_find_plan(out, req->db, req->params[0], &plan_id);
	if (rc > 0)
		rc = fn(req->db, plan_id, arg, req->token_name ? req->token_name : "api",
			detail);
	else if (rc == 0)
		rc = 2;
	json_decref(body);
	return rc;
}

/*
 * Fast-forward the plan's integration branch to its highest green stage,
 * or to the stage named in the body; 409 with the reason when it may not.
 * gate_advance() takes its own transactions and records the decision.
 */
int api_gate_advance(struct api_reply *out, const struct api_request *req)
{
	char *detail;
	int rc = gate_request(out, req, "stage", gate_advance, &detail);

	if (rc == 1)
		rc = reply_json(out, 200, json_pack("{s:b,s:s}", "moved", 1, "detail",
						    detail));
	else if (rc == 0)
		rc = api_error(out, 409, "%s", detail);
	free(detail);
	return rc < 0 ? -1 : 0;
}

/*
 * May the plan's integration branch be set to {"commit"}?  The
 * pre-receive hook of a repository kstage serves asks; a refusal is
 * recorded with its reason.  200 {"allowed", "reason"?}.
 */
int api_gate_check(struct api_reply *out, const struct api_request *req)
{
	char *detail;
	int rc = gate_request(out, req, "commit", gate_check, &detail);

	if (rc == 1 && detail && *detail)	/* let through by an override */
		rc = reply_json(out, 200, json_pack("{s:b,s:s}", "allowed", 1, "override",
						    detail));
	else if (rc == 0 || rc == 1)
		rc = reply_json(out, 200, rc ? json_pack("{s:b}", "allowed", 1)
				: json_pack("{s:b,s:s}", "allowed", 0, "reason", detail));
	free(detail);
	return rc < 0 ? -1 : 0;
}

/*
 * {"commit", "reason"}: an admin lets the next push of commit to the
 * plan's integration branch through the gate, once, within an hour.
 * 201 {"override", "expires_at", "expires"}; 409 when the plan has no
 * integration branch.
 */
int api_gate_override(struct api_reply *out, const struct api_request *req)
{
	static const char *const fields[] = { "commit", "reason", NULL };
	const char *commit, *reason;
	long long plan_id, id = 0, expires_at = 0;
	char when[32];
	time_t t;
	struct tm tm;
	json_t *body;
	int rc;

	if (!parse_body(out, req, &body, fields))
		return 0;
	rc = get_string(out, body, "commit", 1, 40, &commit) &&
	     get_string(out, body, "reason", 1, 500, &reason);
	if (rc && !is_commit_id(commit))
		rc = api_error(out, 400, "commit must be 40 lowercase hex digits");
	if (rc)
		rc = api_find_plan(out, req->db, req->params[0], &plan_id);
	if (rc > 0)
		rc = gate_override_add(req->db, plan_id, commit, reason,
				       req->token_name ? req->token_name : "api", &id,
				       &expires_at);
	if (rc == 0 && !out->status)
		api_error(out, 409, "plan %s has no integration branch", req->params[0]);
	if (rc > 0) {
		t = (time_t)(expires_at / 1000);
		if (!gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
			snprintf(when, sizeof(when), "?");
		rc = reply_json(out, 201, json_pack("{s:I,s:I,s:s}", "override", (json_int_t)id,
						    "expires_at", (json_int_t)expires_at,
						    "expires", when));
	}
	json_decref(body);
	return rc < 0 ? -1 : 0;
}

int api_refresh(struct api_reply *out, const struct api_request *req)
{

	if (!no_body(out, req))
		return 0;
	wake(req, WAKE_PASS, 1);
	return reply_json(out, 202, json_pack("{s:b}", "refresh", 1));
}

/* --- patch series from mail ---------------------------------------------------- */

/*
 * The reply for series_apply() or intake_fetch() (rc, res): 201 with the
 * new commits (200 when the branch held them already), 409 with the
 * reason when it did not apply (nothing moved), 400 when the mails hold
 * no series, 502 when the archive gave no thread.
 */
static int series_reply(struct api_reply *out, const struct api_request *req,
			long long plan_id, int rc, struct series_outcome *res,
			const struct strbuf *err)
{
	if (rc == 0) {
		rc = reply_json(out, res->unchanged ? 200 : 201,
				series_outcome_json(res, req->params[0], req->params[1]));
		if (!res->unchanged)
			wake(req, WAKE_PASS, plan_id);	/* the branch moved */
	} else if (rc == 1) {
		rc = api_error(out, res->fetch_failed ? 502 : res->bad_input ? 400 : 409,
			       "%s: nothing applied, no branch moved", err->buf);
	} else {
		error("series for %s/%s: %s", req->params[0], req->params[1], err->buf);
	}
	series_outcome_release(res);
	return rc;
}

/* The plan and stage of the path: 1, 0 (404 replied), -1. */
static int series_stage(struct api_reply *out, const struct api_request *req,
			long long *plan_id)
{
	long long stage_id;

	return api_find_plan_stage(out, req->db, req->params[0], req->params[1], plan_id,
				   &stage_id);
}

/*
 * Apply the series in the body (an mbox) to the stage.  ?force=1 replaces
 * a newer version, ?link=URL gives the commits "Link: URL/MESSAGE-ID"
 * trailers.
 */
int api_series_apply(struct api_reply *out, const struct api_request *req)
{
	const char *force = api_query(req, "force"), *link = api_query(req, "link");
	struct series_opts o = { .plan = req->params[0], .stage = req->params[1],
				 .source = "api",
				 .by = req->token_name ? req->token_name : "api" };
	struct strbuf err = STRBUF_INIT;
	struct series_outcome res;
	struct patch_mail *mails;
	long long plan_id;
	size_t nr;
	int rc;

	if (force && strcmp(force, "1") && strcmp(force, "0") && strcmp(force, "true") &&
	    strcmp(force, "false"))
		return api_error(out, 400, "force must be 1 or 0");
	o.force = force && (!strcmp(force, "1") || !strcmp(force, "true"));
	if (link && !text_is_http_url(link))
		return api_error(out, 400, "link must be an http:// or https:// URL");
	o.link_base = link;
	rc = series_stage(out, req, &plan_id);
	if (rc <= 0)
		return rc;
	if (!req->body_len)
		return api_error(out, 400, "the body holds no mail (an mbox is expected)");
	if (mbox_read(&mails, &nr, req->body, req->body_len, &err) < 0) {
		rc = api_error(out, 400, "%s", err.buf);
		strbuf_release(&err);
		return rc;
	}
	rc = series_apply(&res, req->db, mails, nr, &o, &err);
	rc = series_reply(out, req, plan_id, rc, &res, &err);
	mbox_free(mails, nr);
	strbuf_release(&err);
	return rc;
}

/*
 * {"message_id", "force"?}: get the thread from the configured
 * public-inbox ("inbox") and apply its newest complete series.  409 when
 * no inbox is configured; the rest as above.
 */
int api_series_fetch(struct api_reply *out, const struct api_request *req)
{
	static const char *const fields[] = { "message_id", "force", NULL };
	struct series_opts o = { .plan = req->params[0], .stage = req->params[1],
				 .by = req->token_name ? req->token_name : "api" };
	struct strbuf err = STRBUF_INIT;
	struct series_outcome res;
	const char *msgid;
	long long plan_id;
	json_t *body, *force;
	int rc;

	if (!parse_body(out, req, &body, fields))
		return 0;
	rc = get_string(out, body, "message_id", 1, 998, &msgid);
	force = json_object_get(body, "force");
	if (rc && force && !json_is_boolean(force))
		rc = api_error(out, 400, "force must be true or false");
	o.force = force && json_is_true(force);
	if (rc)
		rc = series_stage(out, req, &plan_id);
	if (rc > 0 && (!req->cfg || !req->cfg->inbox))
		rc = api_error(out, 409, "no public-inbox to fetch from: set \"inbox\" in"
			       " the configuration");
	else if (rc > 0)
		rc = series_reply(out, req, plan_id,
				  intake_fetch(&res, req->db, req->cfg->inbox, msgid, &o, &err),
				  &res, &err);
	json_decref(body);
	strbuf_release(&err);
	return rc < 0 ? -1 : 0;
}
