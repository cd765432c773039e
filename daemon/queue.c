/*
 * queue: run states in SQLite, supersede and reuse (see queue.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "child.h"
#include "events.h"
#include "log.h"
#include "queue.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

/* Run events carry the run's plan and stage: one place that finds them. */
static int run_event(struct db *db, const char *kind, long long run_id,
		     json_t *data)
{
	sqlite3_stmt *st;
	long long plan = 0, stage = 0, bis = 0;
	int rc;

	rc = db_first(db, &st, "SELECT plan_id, coalesce(stage_id, 0),"
		      " coalesce(bisection_id, 0) FROM runs WHERE id = ?", "l", run_id);
	if (rc != 1) {
		json_decref(data);
		return rc < 0 ? -1 : error("run %lld: not found", run_id);
	}
	plan = sqlite3_column_int64(st, 0);
	stage = sqlite3_column_int64(st, 1);
	bis = sqlite3_column_int64(st, 2);
	db_done(st);
	return events_add(db, kind, plan, stage, run_id, bis, data);
}

/* body in a transaction (db_transaction()), saying what failed. */
static int in_transaction(struct db *db, long long run_id, const char *what,
			  db_body_fn *body, const void *arg)
{
	int rc = db_transaction(db, body, run_id, arg);

	if (rc < 0)
		return error("run %lld: cannot %s", run_id, what);
	return rc;
}

/*
 * A done run that can stand for the requested one: same tree, same
 * profile digest, a reusable outcome, and results for every requested
 * test (a full run covers any subset).  0 if none, -1 on error.
 */
static long long find_reusable(struct db *db, const char *tree,
			       const char *digest, const char *tests)
{
	long long id = 0;
	int rc;

	rc = db_get_int(db, &id,
			"SELECT id FROM runs WHERE tree_id = ? AND profile_digest = ?"
			" AND state = 'done' AND reusable = 1 AND reason != 'commit'"
			" AND (tests IS NULL OR tests = ?)"
			" ORDER BY tests IS NOT NULL, id DESC LIMIT 1",
			"sss", tree, digest, tests ? tests : "");
	return rc < 0 ? -1 : rc == 1 ? id : 0;
}

static int copy_outcome(struct db *db, long long to, long long from)
{
	long long origin = from, r = 0;

	/* Always point at the run that did the work. */
	if (db_get_int(db, &r, "SELECT coalesce(reused_from, 0) FROM runs"
		       " WHERE id = ?", "l", from) < 0)
		return -1;
	if (r)
		origin = r;
	if (db_exec(db, "UPDATE runs SET (state, verdict, boot_verdict, boot_line,"
		    " boot_text, failed_step, error, n_pass, n_fail, n_skip, n_error,"
		    " reusable) = (SELECT 'done', verdict, boot_verdict, boot_line,"
		    " boot_text, failed_step, error, n_pass, n_fail, n_skip, n_error,"
		    " 1 FROM runs WHERE id = ?), reused_from = ?, started_at = ?,"
		    " finished_at = ? WHERE id = ?", "lllll", from, origin,
		    now_wall_ms(), now_wall_ms(), to) < 0)
		return -1;
	return db_exec(db, "INSERT INTO results (run_id, test, status, detail, line)"
		       " SELECT ?, test, status, detail, line FROM results"
		       " WHERE run_id = ?", "ll", to, from);
}

static int add_run(struct db *db, const struct run_request *req, long long *id,
		   long long *from)
{
	if (req->supersede && req->stage_id && !req->tests &&
	    db_exec(db, "UPDATE runs SET state = 'superseded', finished_at = ?"
		    " WHERE stage_id = ? AND state = 'queued' AND tests IS NULL"
		    " AND reason IN ('change', 'manual', 'retry')"
		    " AND commit_id != ?", "lls", now_wall_ms(), req->stage_id,
		    req->commit) < 0)
		return -1;
	if (db_exec(db, "INSERT INTO runs (plan_id, stage_id, commit_id, tree_id,"
		    " profile, profile_digest, reason, tests, bisection_id, priority,"
		    " no_reuse, state, queued_at, steps) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
		    " ?, ?, ?, 'queued', ?, ?)", "lLssssssLiils", req->plan_id,
		    req->stage_id, req->commit, req->tree, req->profile, req->digest,
		    run_reason_name(req->reason), req->tests, req->bisection_id,
		    req->priority, req->no_reuse, now_wall_ms(), req->steps) < 0)
		return -1;
	*id = db_last_id(db);
	*from = req->no_reuse || req->reason == REASON_COMMIT ? 0 :
		find_reusable(db, req->tree, req->digest, req->tests);
	if (*from < 0 || (*from && copy_outcome(db, *id, *from) < 0))
		return -1;
	if (*from)
		return run_event(db, "run-reused", *id,
				 json_pack("{s:I}", "reused_from", (json_int_t)*from));
	return run_event(db, "run-queued", *id, NULL);
}

long long queue_add(struct db *db, const struct run_request *req, int *reused)
{
	long long id = 0, from = 0;

	if (reused)
		*reused = 0;
	if (db_begin(db) < 0)
		return -1;
	if (add_run(db, req, &id, &from) < 0) {
		db_rollback(db);
		return error("cannot queue a run of %.12s", req->commit);
	}
	if (db_commit(db) < 0)
		return -1;
	if (reused)
		*reused = from != 0;
	return id;
}

static int reuse_late(struct db *db, long long run_id, const void *arg)
{
	sqlite3_stmt *st;
	char *tree = NULL, *digest = NULL, *tests = NULL;
	long long from = 0;
	int no_reuse = 1, rc;

	(void)arg;
	rc = db_first(db, &st, "SELECT tree_id, profile_digest, tests, no_reuse FROM runs"
		      " WHERE id = ? AND state = 'queued'", "l", run_id);
	if (rc == 1) {
		tree = db_col_dup(st, 0);
		digest = db_col_dup(st, 1);
		tests = db_col_dup(st, 2);
		no_reuse = sqlite3_column_int(st, 3);
		db_done(st);
	}
	if (rc == 1 && !no_reuse)
		from = find_reusable(db, tree, digest, tests);
	if (from > 0 && (copy_outcome(db, run_id, from) < 0 ||
			 run_event(db, "run-reused", run_id,
				   json_pack("{s:I}", "reused_from", (json_int_t)from)) < 0))
		from = -1;
	free(tree);
	free(digest);
	free(tests);
	if (rc < 0 || from < 0)
		return -1;
	return from ? 1 : 0;
}

int queue_reuse_late(struct db *db, long long run_id)
{
	return in_transaction(db, run_id, "reuse a result", reuse_late, NULL);
}

long long queue_next(struct db *db)
{
	long long id = 0;
	int rc;

	rc = db_get_int(db, &id,
			"SELECT r.id FROM runs r LEFT JOIN stages s ON s.id = r.stage_id"
			" WHERE r.state = 'queued'"
			" ORDER BY r.priority, s.idx, r.id LIMIT 1", NULL);
	return rc < 0 ? -1 : rc == 1 ? id : 0;
}

long long queue_count(struct db *db, enum run_state state)
{
	long long n = 0;

	if (db_get_int(db, &n, "SELECT count(*) FROM runs WHERE state = ?", "s",
		       run_state_name(state)) < 0)
		return -1;
	return n;
}

struct start_arg {
	int slot;
	const char *token;
	const struct step_def *steps;
	size_t nr;
};

static int started(struct db *db, long long run_id, const void *arg)
{
	const struct start_arg *a = arg;
	size_t i;

	if (db_exec(db, "UPDATE runs SET state = 'running', slot = ?, token = ?,"
		    " started_at = ? WHERE id = ? AND state = 'queued'", "isll",
		    a->slot, a->token, now_wall_ms(), run_id) < 0)
		return -1;
	if (db_changes(db) != 1)
		return error("run %lld is not queued", run_id);
	if (db_exec(db, "DELETE FROM steps WHERE run_id = ?", "l", run_id) < 0)
		return -1;
	for (i = 0; i < a->nr; i++)
		if (db_exec(db, "INSERT INTO steps (run_id, idx, name, state, console)"
			    " VALUES (?, ?, ?, 'pending', ?)", "lisi", run_id, (int)i,
			    a->steps[i].name, a->steps[i].console) < 0)
			return -1;
	return run_event(db, "run-started", run_id, NULL);
}

int queue_started(struct db *db, long long run_id, int slot, const char *token,
		  const struct step_def *steps, size_t nr)
{
	struct start_arg a = { slot, token, steps, nr };

	return in_transaction(db, run_id, "mark it running", started, &a);
}

int queue_set_job(struct db *db, long long run_id, const char *job,
		  const char *node)
{
	if (job && db_exec(db, "UPDATE runs SET job = ? WHERE id = ?", "sl", job,
			   run_id) < 0)
		return error("run %lld: cannot record its job %s", run_id, job);
	if (node && db_exec(db, "UPDATE runs SET node = ? WHERE id = ?", "sl", node,
			    run_id) < 0)
		return error("run %lld: cannot record its node %s", run_id, node);
	return 0;
}

int queue_supersede_commits(struct db *db, long long stage_id)
{
	if (db_exec(db, "UPDATE runs SET state = 'superseded', finished_at = ?"
		    " WHERE stage_id = ? AND state = 'queued' AND reason = 'commit'",
		    "ll", now_wall_ms(), stage_id) < 0)
		return error("stage %lld: cannot supersede its commit runs", stage_id);
	return db_changes(db);
}

struct step_arg {
	size_t idx;
	const char *name;
	const char *log;
	int pgid;
	const struct step_end *end;
};

static int step_event(struct db *db, long long run_id, const char *name,
		      enum step_state state)
{
	return run_event(db, "step", run_id,
			 json_pack("{s:s,s:s}", "step", name, "state",
				   step_state_name(state)));
}

static int step_started(struct db *db, long long run_id, const void *arg)
{
	const struct step_arg *a = arg;

	if (db_exec(db, "UPDATE steps SET state = 'running', started_at = ?,"
		    " log = ? WHERE run_id = ? AND idx = ?", "lsli", now_wall_ms(),
		    a->log, run_id, (int)a->idx) < 0 ||
	    db_exec(db, "UPDATE runs SET current_step = ?, pgid = ? WHERE id = ?",
		    "sil", a->name, a->pgid, run_id) < 0)
		return -1;
	return step_event(db, run_id, a->name, STEP_RUNNING);
}

int queue_step_started(struct db *db, long long run_id, size_t idx,
		       const char *name, const char *log, int pgid)
{
	struct step_arg a = { idx, name, log, pgid, NULL };

	return in_transaction(db, run_id, "mark a step running", step_started, &a);
}

static int step_finished(struct db *db, long long run_id, const void *arg)
{
	const struct step_arg *a = arg;
	const struct step_end *e = a->end;

	if (db_exec(db, "UPDATE steps SET state = ?, exit_code = ?, signal = ?,"
		    " finished_at = ?, log_bytes = ?, log_dropped = ?"
		    " WHERE run_id = ? AND idx = ?", "siilllli",
		    step_state_name(e->state), e->exit_code, e->signal, now_wall_ms(),
		    e->log_bytes, e->log_dropped, run_id, (int)a->idx) < 0)
		return -1;
	return step_event(db, run_id, a->name, e->state);
}

int queue_step_finished(struct db *db, long long run_id, size_t idx,
			const char *name, const struct step_end *end)
{
	struct step_arg a = { idx, name, NULL, 0, end };

	return in_transaction(db, run_id, "record a step", step_finished, &a);
}

/*
 * running -> done.  A run canceled while its last step ended is no longer
 * running: its results are not stored (1), as for any canceled run.
 */
static int finish(struct db *db, long long run_id, const void *arg)
{
	const struct run_outcome *o = arg;
	long long commit = 0;
	json_t *data;
	size_t i;

	if (db_exec(db, "UPDATE runs SET state = 'done', verdict = ?,"
		    " boot_verdict = ?, boot_line = ?, boot_text = ?, failed_step = ?,"
		    " error = ?, n_pass = ?, n_fail = ?, n_skip = ?, n_error = ?,"
		    " reusable = ?, finished_at = ?, checkout_ms = ?, overhead_ms = ?,"
		    " current_step = NULL, pgid = NULL"
		    " WHERE id = ? AND state = 'running'", "ssisssiiiiillll",
		    run_verdict_name(o->verdict), o->have_boot ? o->boot_verdict : NULL,
		    o->have_boot ? (int)o->boot_line : 0, o->boot_text, o->failed_step,
		    o->error, (int)o->counts[TEST_PASS], (int)o->counts[TEST_FAIL],
		    (int)o->counts[TEST_SKIP], (int)o->counts[TEST_ERROR], o->reusable,
		    now_wall_ms(), o->checkout_ms, o->overhead_ms, run_id) < 0)
		return -1;
	if (db_changes(db) != 1)
		return 1;
	if (db_exec(db, "DELETE FROM results WHERE run_id = ?", "l", run_id) < 0)
		return -1;
	for (i = 0; i < o->nr_results; i++) {
		const struct test_result *r = &o->results[i];

		/* INSERT OR IGNORE: a name seen twice keeps its first result. */
		if (db_exec(db, "INSERT OR IGNORE INTO results (run_id, test, status,"
			    " detail, line) VALUES (?, ?, ?, ?, ?)", "lsssi", run_id,
			    r->name, test_status_name(r->status), r->detail,
			    (int)r->line) < 0)
			return -1;
	}
	if (db_exec(db, "UPDATE steps SET state = 'skipped' WHERE run_id = ?"
		    " AND state = 'pending'", "l", run_id) < 0 ||
	    db_get_int(db, &commit, "SELECT reason = 'commit' FROM runs WHERE id = ?",
		       "l", run_id) < 0)
		return -1;
	/* A commit check says so: it is not notified (outbox.h). */
	data = json_pack("{s:s}", "verdict", run_verdict_name(o->verdict));
	if (commit)
		json_object_set_new(data, "reason", json_string("commit"));
	return run_event(db, "run-finished", run_id, data);
}

int queue_finish(struct db *db, long long run_id, const struct run_outcome *o)
{
	return in_transaction(db, run_id, "store the results", finish, o);
}

static int finish_canceled(struct db *db, long long run_id, const void *arg)
{
	(void)arg;
	if (db_exec(db, "UPDATE steps SET state = 'skipped' WHERE run_id = ?"
		    " AND state IN ('pending', 'running')", "l", run_id) < 0)
		return -1;
	return db_exec(db, "UPDATE runs SET current_step = NULL, pgid = NULL,"
		       " finished_at = ? WHERE id = ?", "ll", now_wall_ms(), run_id);
}

int queue_finish_canceled(struct db *db, long long run_id)
{
	return in_transaction(db, run_id, "end a canceled run", finish_canceled, NULL);
}

static int fail(struct db *db, long long run_id, const void *arg)
{
	if (db_exec(db, "UPDATE runs SET state = 'done', verdict = 'error',"
		    " error = ?, finished_at = ?, current_step = NULL, pgid = NULL"
		    " WHERE id = ? AND state IN ('queued', 'running')", "sll",
		    (const char *)arg, now_wall_ms(), run_id) < 0)
		return -1;
	if (db_changes(db) == 0)
		return 0;
	return run_event(db, "run-finished", run_id,
			 json_pack("{s:s}", "verdict", "error"));
}

int queue_fail(struct db *db, long long run_id, const char *why)
{
	error("run %lld: %s", run_id, why);
	return in_transaction(db, run_id, "record its failure", fail, why);
}

static int cancel(struct db *db, long long run_id, const void *arg)
{
	if (db_exec(db, "UPDATE runs SET state = 'canceled', error = ?,"
		    " finished_at = ? WHERE id = ? AND state IN ('queued', 'running')",
		    "sll", (const char *)arg, now_wall_ms(), run_id) < 0)
		return -1;
	if (db_changes(db) == 0)
		return 1;	/* nothing to cancel */
	return run_event(db, "run-canceled", run_id, NULL);
}

int queue_cancel(struct db *db, long long run_id, const char *why)
{
	return in_transaction(db, run_id, "cancel it", cancel, why);
}

static int requeue(struct db *db, long long run_id, const void *arg)
{
	(void)arg;
	if (db_exec(db, "DELETE FROM results WHERE run_id = ?", "l", run_id) < 0 ||
	    db_exec(db, "UPDATE steps SET state = 'pending', exit_code = NULL,"
		    " signal = NULL, started_at = NULL, finished_at = NULL,"
		    " log_bytes = 0, log_dropped = 0 WHERE run_id = ?", "l", run_id) < 0 ||
	    db_exec(db, "UPDATE runs SET state = 'queued', slot = NULL, pgid = NULL,"
		    " token = NULL, started_at = NULL, current_step = NULL,"
		    " job = NULL, node = NULL"
		    " WHERE id = ? AND state = 'running'", "l", run_id) < 0)
		return -1;
	if (db_changes(db) == 0)
		return 0;
	return run_event(db, "run-queued", run_id,
			 json_pack("{s:s}", "why", "interrupted"));
}

int queue_requeue(struct db *db, long long run_id)
{
	return in_transaction(db, run_id, "put it back in the queue", requeue, NULL);
}

/*
 * Kill what a run of a dead daemon left running: every process that
 * carries its token.  Returns how many were killed.
 */
static int kill_leftovers(const char *token)
{
	struct strbuf key = STRBUF_INIT;
	int n;

	if (!token || !*token)
		return 0;
	strbuf_addf(&key, "KSTAGE_RUN_TOKEN=%s", token);
	n = child_kill_by_env(strbuf_str(&key), SIGKILL);
	strbuf_release(&key);
	return n < 0 ? 0 : n;
}

static int adopted(const long long *ids, size_t nr, long long id)
{
	while (nr--)
		if (ids[nr] == id)
			return 1;
	return 0;
}

int queue_recover(struct db *db, const long long *keep, size_t nr_keep)
{
	long long ids[256];
	int n, i, killed, requeued = 0;

	n = db_get_ids(db, ids, 256, "SELECT id FROM runs WHERE state = 'running'", NULL);
	for (i = 0; i < n; i++) {
		char *token = NULL;

		if (adopted(keep, nr_keep, ids[i]))
			continue;

		if (db_get_text(db, &token, "SELECT token FROM runs WHERE id = ?",
				"l", ids[i]) < 0)
			return -1;
		killed = kill_leftovers(token);
		free(token);
		if (killed)
			warn("run %lld: killed %d leftover process%s of a previous daemon",
			     ids[i], killed, killed == 1 ? "" : "es");
		if (queue_requeue(db, ids[i]) < 0)
			return -1;
		requeued++;
	}
	if (requeued > 0)
		info("re-queued %d run%s interrupted by a previous daemon", requeued,
		     requeued == 1 ? "" : "s");
	return requeued;
}
