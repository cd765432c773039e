/*
 * queue: run states in SQLite, supersede and reuse (see queue.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "log.h"
#include "queue.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

/*
 * A done run that can stand for the requested one: same tree, same
 * profile digest, a reusable outcome, and results for every requested
 * test (a full run covers any subset).
 */
static long long find_reusable(struct db *db, const struct run_request *req)
{
	long long id = 0;
	int rc;

	rc = db_get_int(db, &id,
			"SELECT id FROM runs WHERE tree_id = ? AND profile_digest = ?"
			" AND state = 'done' AND reusable = 1"
			" AND (tests IS NULL OR tests = ?)"
			" ORDER BY tests IS NOT NULL, id DESC LIMIT 1",
			"sss", req->tree, req->digest, req->tests ? req->tests : "");
	return rc == 1 ? id : 0;
}

static int copy_outcome(struct db *db, long long to, long long from)
{
	long long origin = from, r = 0;

	/* Always point at the run that did the work. */
	if (db_get_int(db, &r, "SELECT reused_from FROM runs WHERE id = ?", "l",
		       from) == 1 && r)
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

long long queue_add(struct db *db, const struct run_request *req, int *reused)
{
	long long id, from = 0;

	if (reused)
		*reused = 0;
	if (db_begin(db) < 0)
		return -1;
	if (req->supersede && req->stage_id && !req->tests &&
	    db_exec(db, "UPDATE runs SET state = 'superseded', finished_at = ?"
		    " WHERE stage_id = ? AND state = 'queued' AND tests IS NULL"
		    " AND reason IN ('change', 'manual', 'retry')"
		    " AND commit_id != ?", "lls", now_wall_ms(), req->stage_id,
		    req->commit) < 0)
		goto fail;
	if (db_exec(db, "INSERT INTO runs (plan_id, stage_id, commit_id, tree_id,"
		    " profile, profile_digest, reason, tests, bisection_id, priority,"
		    " no_reuse, state, queued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
		    " ?, ?, 'queued', ?)", "lLssssssLiil", req->plan_id, req->stage_id,
		    req->commit, req->tree, req->profile, req->digest, req->reason,
		    req->tests, req->bisection_id, req->priority, req->no_reuse,
		    now_wall_ms()) < 0)
		goto fail;
	id = db_last_id(db);
	if (!req->no_reuse)
		from = find_reusable(db, req);
	if (from) {
		if (copy_outcome(db, id, from) < 0)
			goto fail;
		if (reused)
			*reused = 1;
	}
	{
		char data[64];

		snprintf(data, sizeof(data), "{\"reused_from\":%lld}", from);
		if (db_event(db, from ? "run-reused" : "run-queued", req->plan_id,
			     req->stage_id, id, req->bisection_id,
			     from ? data : NULL) < 0)
			goto fail;
	}
	if (db_commit(db) < 0)
		return -1;
	return id;
fail:
	db_rollback(db);
	return -1;
}

int queue_reuse_late(struct db *db, long long run_id)
{
	struct run_request req = { 0 };
	sqlite3_stmt *st;
	char *tree = NULL, *digest = NULL, *tests = NULL;
	long long from = 0, plan = 0, stage = 0, bis = 0;
	int no_reuse = 1, ret = -1;

	st = db_stmt(db, "SELECT tree_id, profile_digest, tests, no_reuse, plan_id,"
		     " coalesce(stage_id, 0), coalesce(bisection_id, 0) FROM runs"
		     " WHERE id = ? AND state = 'queued'", "l", run_id);
	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		tree = db_col_dup(st, 0);
		digest = db_col_dup(st, 1);
		tests = db_col_dup(st, 2);
		no_reuse = sqlite3_column_int(st, 3);
		plan = sqlite3_column_int64(st, 4);
		stage = sqlite3_column_int64(st, 5);
		bis = sqlite3_column_int64(st, 6);
	}
	db_done(st);
	if (!tree || no_reuse) {
		ret = 0;
		goto out;
	}
	req.tree = tree;
	req.digest = digest;
	req.tests = tests;
	if (db_begin(db) < 0)
		goto out;
	from = find_reusable(db, &req);
	if (from && (copy_outcome(db, run_id, from) < 0 ||
		     db_event(db, "run-reused", plan, stage, run_id, bis, NULL) < 0)) {
		db_rollback(db);
		goto out;
	}
	if (db_commit(db) < 0)
		goto out;
	ret = from ? 1 : 0;
out:
	free(tree);
	free(digest);
	free(tests);
	return ret;
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

long long queue_count(struct db *db, const char *state)
{
	long long n = 0;

	if (db_get_int(db, &n, "SELECT count(*) FROM runs WHERE state = ?", "s",
		       state) < 0)
		return -1;
	return n;
}

int queue_started(struct db *db, long long run_id, int slot, const char *token)
{
	long long plan = 0, stage = 0;

	if (db_begin(db) < 0)
		return -1;
	if (db_exec(db, "UPDATE runs SET state = 'running', slot = ?, token = ?,"
		    " started_at = ? WHERE id = ? AND state = 'queued'", "isll",
		    slot, token, now_wall_ms(), run_id) < 0 ||
	    db_changes(db) != 1)
		goto fail;
	db_get_int(db, &plan, "SELECT plan_id FROM runs WHERE id = ?", "l", run_id);
	db_get_int(db, &stage, "SELECT coalesce(stage_id, 0) FROM runs WHERE id = ?",
		   "l", run_id);
	if (db_event(db, "run-started", plan, stage, run_id, 0, NULL) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return error("run %lld: cannot mark it running", run_id);
}

int queue_cancel(struct db *db, long long run_id, const char *why)
{
	long long plan = 0, stage = 0;
	int ret = -1;

	if (db_begin(db) < 0)
		return -1;
	if (db_exec(db, "UPDATE runs SET state = 'canceled', error = ?,"
		    " finished_at = ? WHERE id = ? AND state IN ('queued', 'running')",
		    "sll", why, now_wall_ms(), run_id) < 0)
		goto out;
	if (db_changes(db) == 0) {
		ret = 1;	/* nothing to cancel */
		goto out;
	}
	db_get_int(db, &plan, "SELECT plan_id FROM runs WHERE id = ?", "l", run_id);
	db_get_int(db, &stage, "SELECT coalesce(stage_id, 0) FROM runs WHERE id = ?",
		   "l", run_id);
	if (db_event(db, "run-canceled", plan, stage, run_id, 0, NULL) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db) < 0 ? -1 : ret;
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

int queue_recover(struct db *db)
{
	sqlite3_stmt *st;
	int n = 0;

	st = db_stmt(db, "SELECT id, token FROM runs WHERE state = 'running'", NULL);
	if (!st)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int killed = kill_leftovers(db_col_text(st, 1));

		if (killed)
			warn("run %lld: killed %d leftover process%s of a previous daemon",
			     (long long)sqlite3_column_int64(st, 0), killed,
			     killed == 1 ? "" : "es");
	}
	db_done(st);
	if (db_begin(db) < 0)
		return -1;
	if (db_exec(db, "DELETE FROM results WHERE run_id IN"
		    " (SELECT id FROM runs WHERE state = 'running')", NULL) < 0 ||
	    db_exec(db, "UPDATE steps SET state = 'pending', exit_code = NULL,"
		    " signal = NULL, started_at = NULL, finished_at = NULL"
		    " WHERE run_id IN (SELECT id FROM runs WHERE state = 'running')",
		    NULL) < 0 ||
	    db_exec(db, "UPDATE runs SET state = 'queued', slot = NULL, pgid = NULL,"
		    " token = NULL, started_at = NULL, current_step = NULL"
		    " WHERE state = 'running'", NULL) < 0) {
		db_rollback(db);
		return -1;
	}
	n = db_changes(db);
	if (db_commit(db) < 0)
		return -1;
	if (n)
		info("re-queued %d run%s interrupted by a previous daemon", n,
		     n == 1 ? "" : "s");
	return n;
}
