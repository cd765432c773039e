/*
 * bisector: confirmed, flaky-aware, k-ary, cached bisection of regressions
 * (see bisector.h for the states).  The search itself is bisect.c; this
 * file queues runs, turns their results into marks and keeps everything
 * in the database.  Every database call's result is checked: a failure
 * ends the step in progress, whose transaction is then rolled back whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <git2.h>
#include <jansson.h>

#include "bisect.h"
#include "bisector.h"
#include "bisector_range.h"
#include "events.h"
#include "ktap.h"
#include "log.h"
#include "queue.h"
#include "repo.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

#define PRIO_CONFIRM 5
#define PRIO_BISECT 20
#define MAX_RANGE 10000

/* The SQL spelling of "not finished" (the first four states). */
#define UNFINISHED "('requested', 'confirming', 'searching', 'verifying')"

static void bis_release(struct bis *b)
{
	free(b->good);
	free(b->bad);
	free(b->tests);
	memset(b, 0, sizeof(*b));
}

static int bis_load(struct db *db, long long id, struct bis *b)
{
	sqlite3_stmt *st;
	int rc;

	memset(b, 0, sizeof(*b));
	rc = db_first(db, &st, "SELECT id, plan_id, coalesce(stage_id, 0), state,"
		      " good_commit, bad_commit, tests, runs_per_step, confirm_runs,"
		      " coalesce(fail_rate, 1.0), rounds FROM bisections WHERE id = ?",
		      "l", id);
	if (rc == 1) {
		b->id = sqlite3_column_int64(st, 0);
		b->plan_id = sqlite3_column_int64(st, 1);
		b->stage_id = sqlite3_column_int64(st, 2);
		if (bisection_state_parse(&b->state, db_col_text(st, 3)) < 0)
			rc = error("bisection %lld: unknown state", id);
		b->good = db_col_dup(st, 4);
		b->bad = db_col_dup(st, 5);
		b->tests = db_col_dup(st, 6);
		b->runs_per_step = (unsigned)sqlite3_column_int(st, 7);
		b->confirm_runs = (unsigned)sqlite3_column_int(st, 8);
		b->fail_rate = sqlite3_column_double(st, 9);
		b->rounds = sqlite3_column_int(st, 10);
		if (b->runs_per_step < 1)
			b->runs_per_step = 1;
		db_done(st);
	}
	if (rc < 0)
		bis_release(b);
	return rc;
}

/* Load a bisection with its plan from the loop. */
static int bis_load_env(struct bisect_env *env, long long id, struct bis *b)
{
	int rc = bis_load(env->db, id, b);

	if (rc == 1)
		b->plan = env->plan(env->payload, b->plan_id);
	return rc;
}

/* Move to a new state; a final state also stamps finished_at. */
static int set_state_db(struct db *db, long long id, long long plan_id,
			long long stage_id, enum bisection_state state,
			const char *detail)
{
	long long now = now_wall_ms();

	if (db_exec(db, "UPDATE bisections SET state = ?, detail = coalesce(?,"
		    " detail), updated_at = ? WHERE id = ?", "ssll",
		    bisection_state_name(state), detail, now, id) < 0)
		return -1;
	if (bisection_state_final(state) &&
	    db_exec(db, "UPDATE bisections SET finished_at = ? WHERE id = ?", "ll",
		    now, id) < 0)
		return -1;
	if (events_add(db, "bisection", plan_id, stage_id, 0, id,
		       json_pack("{s:s}", "state", bisection_state_name(state))) < 0)
		return -1;
	info("bisection %lld: %s%s%s", id, bisection_state_name(state),
	     detail ? ": " : "", detail ? detail : "");
	return 0;
}

static int set_state(struct bisect_env *env, struct bis *b,
		     enum bisection_state state, const char *detail)
{
	if (set_state_db(env->db, b->id, b->plan_id, b->stage_id, state, detail) < 0)
		return -1;
	b->state = state;
	return 0;
}

/* --- verdicts ------------------------------------------------------------------ */

/* --- queueing ------------------------------------------------------------------- */

static int apply_run(struct db *db, long long run_id, const void *unused);

/*
 * Queue a run of commit seq for a phase.  A run answered at once from an
 * earlier result is recorded at once.  0 or -1.
 */
static int queue_for(struct bisect_env *env, const struct bis *b, int seq,
		     enum bisect_phase phase, int no_reuse, int priority)
{
	struct run_request req = { 0 };
	char *commit = NULL, *tree = NULL;
	long long id = -1;
	int reused = 0;

	if (!b->plan || range_commit_at(env->db, b, seq, &commit, &tree) != 1)
		goto out;
	req.plan_id = b->plan_id;
	req.stage_id = b->stage_id;
	req.commit = commit;
	req.tree = tree;
	req.profile = b->plan->profile->name;
	req.digest = b->plan->profile->digest;
	req.reason = phase == PHASE_SEARCH ? REASON_BISECT : REASON_CONFIRM;
	req.tests = b->tests;
	req.bisection_id = b->id;
	req.priority = priority;
	req.no_reuse = no_reuse;
	id = queue_add(env->db, &req, &reused);
	if (id < 0)
		goto out;
	if (db_exec(env->db, "INSERT INTO bisection_runs (bisection_id, run_id, seq,"
		    " phase, round) VALUES (?, ?, ?, ?, ?)", "llisi", b->id, id, seq,
		    bisect_phase_name(phase), b->rounds) < 0 ||
	    (reused && apply_run(env->db, id, NULL) < 0))
		id = -1;
out:
	free(commit);
	free(tree);
	return id < 0 ? -1 : 0;
}

/* --- recording results --------------------------------------------------------- */

/* The bisection run of run_id that has no verdict yet (0 if none). */
struct brun {
	long long bid, plan_id, stage_id;
	int seq;
	enum bisect_phase phase;
	char *tests;
	unsigned rps;
};

static int load_brun(struct db *db, long long run_id, struct brun *r)
{
	sqlite3_stmt *st;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = db_first(db, &st, "SELECT br.bisection_id, br.seq, br.phase, b.tests,"
		      " b.runs_per_step, b.plan_id, coalesce(b.stage_id, 0)"
		      " FROM bisection_runs br JOIN bisections b"
		      " ON b.id = br.bisection_id WHERE br.run_id = ?"
		      " AND br.verdict IS NULL", "l", run_id);
	if (rc == 1) {
		r->bid = sqlite3_column_int64(st, 0);
		r->seq = sqlite3_column_int(st, 1);
		if (bisect_phase_parse(&r->phase, db_col_text(st, 2)) < 0)
			rc = error("run %lld: unknown bisection phase", run_id);
		r->tests = db_col_dup(st, 3);
		r->rps = (unsigned)sqlite3_column_int(st, 4);
		r->plan_id = sqlite3_column_int64(st, 5);
		r->stage_id = sqlite3_column_int64(st, 6);
		db_done(st);
	}
	return rc;
}

static int apply_run(struct db *db, long long run_id, const void *unused)
{
	struct brun r;
	long long reused = 0;
	enum bisect_mark m;
	int rc = load_brun(db, run_id, &r);

	(void)unused;
	if (rc <= 0)
		goto out;
	rc = -1;
	if (range_run_mark(db, run_id, r.tests, &m) < 0 ||
	    db_exec(db, "UPDATE bisection_runs SET verdict = ? WHERE"
		    " bisection_id = ? AND run_id = ?", "sll", bisect_mark_name(m),
		    r.bid, run_id) < 0 ||
	    db_get_int(db, &reused, "SELECT reused_from IS NOT NULL FROM runs"
		       " WHERE id = ?", "l", run_id) < 0)
		goto out;
	if (db_exec(db, reused ? "UPDATE bisections SET reused = reused + 1,"
		    " updated_at = ? WHERE id = ?" : "UPDATE bisections SET"
		    " runs = runs + 1, updated_at = ? WHERE id = ?", "ll",
		    now_wall_ms(), r.bid) < 0)
		goto out;
	if (r.phase == PHASE_SEARCH &&
	    range_decide_commit(db, r.bid, r.seq, r.rps ? r.rps : 1) < 0)
		goto out;
	rc = events_add(db, "bisection", r.plan_id, r.stage_id, run_id, r.bid,
			json_pack("{s:i,s:I,s:s}", "seq", r.seq, "run_id",
				  (json_int_t)run_id, "verdict", bisect_mark_name(m)));
out:
	free(r.tests);
	return rc < 0 ? -1 : 0;
}

int bisector_run_finished(struct bisect_env *env, long long run_id)
{
	if (db_transaction(env->db, apply_run, run_id, NULL) < 0)
		return error("run %lld: cannot record it in its bisection", run_id);
	return 0;
}

/* --- setting a bisection up ----------------------------------------------- */

/* Copy the outcome of bisection old: marks by tree, the culprit by its tree. */
static int copy_cached(struct db *db, const struct bis *b, long long old,
		       enum bisection_state state, const char *culprit_tree)
{
	if (range_copy_marks(db, b, old) < 0)
		return -1;
	if (state == BISECTION_FOUND && culprit_tree)
		return db_exec(db, "UPDATE bisections SET culprit = (SELECT commit_id"
			       " FROM bisection_commits WHERE bisection_id = ? AND"
			       " tree_id = ? AND seq >= 0 ORDER BY seq LIMIT 1),"
			       " culprit_stage = (SELECT stage FROM bisection_commits"
			       " WHERE bisection_id = ? AND tree_id = ? AND seq >= 0"
			       " ORDER BY seq LIMIT 1), fail_rate = (SELECT fail_rate"
			       " FROM bisections WHERE id = ?), confidence = (SELECT"
			       " confidence FROM bisections WHERE id = ?) WHERE id = ?",
			       "lslslll", b->id, culprit_tree, b->id, culprit_tree, old,
			       old, b->id);
	return db_exec(db, "UPDATE bisections SET (range_good, range_bad,"
		       " fail_rate) = (SELECT range_good, range_bad, fail_rate FROM"
		       " bisections WHERE id = ?) WHERE id = ?", "ll", old, b->id);
}

/*
 * An earlier finished bisection over the same trees and tests answers this
 * one with no run.  1 if answered, 0 if not, -1 on error.
 */
static int answer_from_cache(struct bisect_env *env, struct bis *b,
			     const char *good_tree, const char *bad_tree)
{
	enum bisection_state state = BISECTION_ERROR;
	char *culprit_tree = NULL;
	struct strbuf sb = STRBUF_INIT;
	long long old = 0;
	int rc;

	rc = range_find_cached(env->db, b, good_tree, bad_tree, &old, &state, &culprit_tree);
	if (rc == 1) {
		strbuf_addf(&sb, "answered from bisection %lld (same trees and tests),"
			    " no run", old);
		if (copy_cached(env->db, b, old, state, culprit_tree) < 0 ||
		    set_state(env, b, state, sb.buf) < 0)
			rc = -1;
	}
	strbuf_release(&sb);
	free(culprit_tree);
	return rc;
}

/* The range is stored: answer from the cache, or confirm, or search. */
static int start(struct bisect_env *env, struct bis *b, size_t n,
		 const char *gtree, const char *btree)
{
	unsigned k;
	int rc = answer_from_cache(env, b, gtree, btree);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (b->confirm_runs == 0) {
		if (range_set_mark(env->db, b, (int)n - 1, BISECT_BAD) < 0)
			return -1;
		return set_state(env, b, BISECTION_SEARCHING, NULL);
	}
	if (set_state(env, b, BISECTION_CONFIRMING, NULL) < 0)
		return -1;
	for (k = 0; k < b->confirm_runs; k++)
		if (queue_for(env, b, (int)n - 1, PHASE_CONFIRM, 1, PRIO_CONFIRM) < 0 ||
		    queue_for(env, b, -1, PHASE_CONFIRM, 1, PRIO_CONFIRM) < 0)
			return -1;
	return 0;
}

/* Read the range from the repository; a range that cannot be one ends it. */
static int setup(struct bisect_env *env, struct bis *b)
{
	git_repository *repo = NULL;
	struct commit_info *v = NULL;
	size_t n = 0, i;
	int truncated = 0, ret = -1;
	git_oid good, bad, good_tree;
	char gtree[GIT_OID_HEXSZ + 1], btree[GIT_OID_HEXSZ + 1];

	if (!b->plan)
		return set_state(env, b, BISECTION_ERROR, "the plan is no longer configured");
	if (git_oid_fromstr(&good, b->good) < 0 || git_oid_fromstr(&bad, b->bad) < 0)
		return set_state(env, b, BISECTION_ERROR, "bad commit ids");
	if (repo_open(&repo, b->plan->repo) < 0)
		return set_state(env, b, BISECTION_ERROR, "cannot open the repository");
	if (repo_commit_tree(&good_tree, repo, &good) < 0 ||
	    repo_range(&v, &n, &truncated, repo, &good, &bad, 1, MAX_RANGE) < 0)
		ret = set_state(env, b, BISECTION_ERROR, "cannot read the commits good..bad");
	else if (n == 0)
		ret = set_state(env, b, BISECTION_ERROR,
				"the bad commit is not after the good one");
	else if (truncated)
		ret = set_state(env, b, BISECTION_ERROR,
				"more than 10000 commits between good and bad");
	if (ret == 0 || n == 0 || truncated)
		goto out;
	git_oid_tostr(gtree, sizeof(gtree), &good_tree);
	if (range_store(env->db, b, repo, v, n, gtree, btree) < 0)
		goto out;
	info("bisection %lld: %zu commits between %.12s and %.12s, tests: %s",
	     b->id, n, b->good, b->bad, b->tests);
	ret = start(env, b, n, gtree, btree);
out:
	for (i = 0; i < n; i++)
		commit_info_release(&v[i]);
	free(v);
	git_repository_free(repo);
	return ret;
}

/* --- the phases ---------------------------------------------------------------- */

/* The original full run of the bad head: 1 it fails the tests, 0 it does
 * not, 2 there is none, -1 error. */
static int original_failure(struct db *db, const struct bis *b)
{
	long long run = 0;
	enum bisect_mark m;
	int rc;

	rc = db_get_int(db, &run, "SELECT id FROM runs WHERE commit_id = ? AND"
			" profile_digest = ? AND tests IS NULL AND state = 'done'"
			" AND reason != 'commit'"
			" ORDER BY id DESC LIMIT 1", "ss", b->bad,
			b->plan->profile->digest);
	if (rc <= 0)
		return rc < 0 ? -1 : 2;
	if (range_run_mark(db, run, b->tests, &m) < 0)
		return -1;
	return m == BISECT_BAD;
}

/* Confirmation counts: the bad head's runs, the good baseline's, skips. */
struct confirm_counts {
	long long open, bad_total, bad_fail, good_total, good_fail, skips;
};

static int confirm_counts(struct db *db, const struct bis *b, long long n,
			  struct confirm_counts *c)
{
	c->open = range_count_runs(db, b->id, PHASE_CONFIRM, -2, NULL);
	c->bad_total = range_count_runs(db, b->id, PHASE_CONFIRM, (int)n - 1, "*");
	c->bad_fail = range_count_runs(db, b->id, PHASE_CONFIRM, (int)n - 1, "bad");
	c->good_total = range_count_runs(db, b->id, PHASE_CONFIRM, -1, "*");
	c->good_fail = range_count_runs(db, b->id, PHASE_CONFIRM, -1, "bad");
	c->skips = range_count_runs(db, b->id, PHASE_CONFIRM, -2, "skip");
	return c->open < 0 || c->bad_total < 0 || c->bad_fail < 0 ||
	       c->good_total < 0 || c->good_fail < 0 || c->skips < 0 ? -1 : 0;
}

/* Confirmed flaky: bisect with several runs per commit, or stop. */
static int flaky(struct bisect_env *env, struct bis *b, long long n,
		 const struct confirm_counts *c, long long obs_fail,
		 long long obs_total)
{
	struct strbuf sb = STRBUF_INIT;
	int ret;

	strbuf_addf(&sb, "flaky: failed %lld of %lld runs on the bad head (%.0f%%)",
		    obs_fail, obs_total, b->fail_rate * 100);
	if (c->good_fail)
		strbuf_addf(&sb, " and %lld of %lld on the good baseline",
			    c->good_fail, c->good_total);
	if (b->runs_per_step > 1 && c->good_fail == 0) {
		strbuf_addf(&sb, "; bisecting with %u runs per commit", b->runs_per_step);
		ret = range_set_mark(env->db, b, (int)n - 1, BISECT_BAD);
		if (ret == 0)
			ret = set_state(env, b, BISECTION_SEARCHING, sb.buf);
	} else {
		ret = set_state(env, b, BISECTION_FLAKY, sb.buf);
	}
	strbuf_release(&sb);
	return ret;
}

static int confirm(struct bisect_env *env, struct bis *b)
{
	long long n = range_nr_commits(env->db, b), obs_total, obs_fail;
	int orig = original_failure(env->db, b);
	struct confirm_counts c;
	struct strbuf sb = STRBUF_INIT;
	int ret;

	if (n < 0 || orig < 0 || confirm_counts(env->db, b, n, &c) < 0)
		return -1;
	if (c.open > 0)
		return 0;	/* still running */
	if (c.skips) {
		strbuf_addf(&sb, "%lld confirmation run%s could not be judged (build or"
			    " boot failure)", c.skips, c.skips == 1 ? "" : "s");
		ret = set_state(env, b, BISECTION_ERROR, sb.buf);
		strbuf_release(&sb);
		return ret;
	}
	obs_total = c.bad_total + (orig != 2 ? 1 : 0);
	obs_fail = c.bad_fail + (orig == 1 ? 1 : 0);
	b->fail_rate = obs_total ? (double)obs_fail / obs_total : 0;
	if (db_exec(env->db, "UPDATE bisections SET fail_rate = ? WHERE id = ?", "dl",
		    b->fail_rate, b->id) < 0)
		return -1;
	if (obs_fail == 0) {
		strbuf_addf(&sb, "the tests passed %lld time%s on the bad head",
			    c.bad_total, c.bad_total == 1 ? "" : "s");
		ret = set_state(env, b, BISECTION_NOT_REPRODUCED, sb.buf);
		strbuf_release(&sb);
		return ret;
	}
	if (obs_fail == obs_total && c.good_fail == 0) {
		if (range_set_mark(env->db, b, (int)n - 1, BISECT_BAD) < 0)
			return -1;
		return set_state(env, b, BISECTION_SEARCHING, NULL);
	}
	return flaky(env, b, n, &c, obs_fail, obs_total);
}

static int finish_inconclusive(struct bisect_env *env, struct bis *b,
			       const struct bisect_window *w, const struct range *r)
{
	struct strbuf sb = STRBUF_INIT;
	char *good = NULL, *bad = NULL;
	long k;
	int ret = -1;

	if ((w->good >= 0 && range_add_commit(env->db, b, (int)w->good, NULL, &good) < 0) ||
	    range_add_commit(env->db, b, (int)w->bad, NULL, &bad) < 0)
		goto out;
	strbuf_addf(&sb, "the first bad commit is between %.12s and %.12s;"
		    " untestable:", good ? good : b->good, bad ? bad : "?");
	for (k = w->good + 1; k < w->bad; k++)
		if (r->marks[k] == BISECT_SKIP &&
		    range_add_commit(env->db, b, (int)k, &sb, NULL) < 0)
			goto out;
	if (db_exec(env->db, "UPDATE bisections SET range_good = ?, range_bad = ?"
		    " WHERE id = ?", "ssl", good ? good : b->good, bad, b->id) < 0)
		goto out;
	ret = set_state(env, b, BISECTION_INCONCLUSIVE, sb.buf);
out:
	strbuf_release(&sb);
	free(good);
	free(bad);
	return ret;
}

/* Slots for the next round: free ones not already promised to queued runs. */
static size_t round_slots(struct bisect_env *env)
{
	size_t slots = env->free_slots(env->payload);
	long long queued = queue_count(env->db, RUN_QUEUED);

	slots = queued < 0 || (size_t)queued >= slots ? 0 : slots - (size_t)queued;
	return slots ? slots : 1;
}

/* A new round: the points are pending, runs_per_step runs each. */
static int queue_round(struct bisect_env *env, struct bis *b, const size_t *points,
		       size_t np)
{
	size_t i;
	unsigned k;

	b->rounds++;
	if (db_exec(env->db, "UPDATE bisections SET rounds = ? WHERE id = ?", "il",
		    b->rounds, b->id) < 0)
		return -1;
	for (i = 0; i < np; i++) {
		if (range_set_mark(env->db, b, (int)points[i], BISECT_PENDING) < 0)
			return -1;
		for (k = 0; k < b->runs_per_step; k++)
			if (queue_for(env, b, (int)points[i], PHASE_SEARCH,
				      b->runs_per_step > 1, PRIO_BISECT) < 0)
				return -1;
	}
	return 1;	/* progress: look again */
}

/* The search found commit c: name it, then verify it and its parent. */
static int found(struct bisect_env *env, struct bis *b, int c)
{
	unsigned k;

	if (db_exec(env->db, "UPDATE bisections SET culprit = (SELECT commit_id FROM"
		    " bisection_commits WHERE bisection_id = ? AND seq = ?),"
		    " culprit_stage = (SELECT stage FROM bisection_commits WHERE"
		    " bisection_id = ? AND seq = ?) WHERE id = ?", "lilil", b->id, c,
		    b->id, c, b->id) < 0 ||
	    set_state(env, b, BISECTION_VERIFYING, NULL) < 0)
		return -1;
	for (k = 0; k < b->runs_per_step; k++)
		if (queue_for(env, b, c, PHASE_VERIFY, 1, PRIO_CONFIRM) < 0 ||
		    queue_for(env, b, c - 1, PHASE_VERIFY, 1, PRIO_CONFIRM) < 0)
			return -1;
	return 0;
}

static int search(struct bisect_env *env, struct bis *b)
{
	struct range r;
	struct bisect_window w;
	size_t *points, np;
	long long pending = 0;
	int ret = 0;

	/*
	 * Rounds: the next points are chosen when every result of the
	 * current round is in, so that each round splits the range into
	 * P + 1 parts (refilling one slot at a time splits it worse).
	 */
	if (db_get_int(env->db, &pending, "SELECT count(*) FROM bisection_commits"
		       " WHERE bisection_id = ? AND mark = 'pending'", "l", b->id) < 0)
		return -1;
	if (pending)
		return 0;
	if (range_load(env->db, b, &r) < 0) {
		range_release(&r);
		return -1;
	}
	points = xcalloc(r.n ? r.n : 1, sizeof(*points));
	np = bisect_next(points, round_slots(env), &w, r.marks, r.n, r.prio, r.nprio);
	switch (w.state) {
	case BISECT_SEARCHING:
		ret = np ? queue_round(env, b, points, np) : 0;
		break;
	case BISECT_WAITING:
		break;
	case BISECT_FOUND:
		ret = found(env, b, (int)w.bad);
		break;
	case BISECT_INCONCLUSIVE:
		ret = finish_inconclusive(env, b, &w, &r);
		break;
	case BISECT_INVALID:
		ret = set_state(env, b, BISECTION_ERROR, "no bad commit in the range");
		break;
	}
	free(points);
	range_release(&r);
	return ret;
}

/* The culprit held: store its confidence and say so. */
static int verified(struct bisect_env *env, struct bis *b, const char *culprit)
{
	struct strbuf sb = STRBUF_INIT;
	long long goods = 0;
	double conf = 1.0;
	int ret = -1;

	if (b->runs_per_step > 1) {
		if (db_get_int(env->db, &goods, "SELECT count(*) FROM"
			       " bisection_commits WHERE bisection_id = ? AND seq >= 0"
			       " AND mark = 'good'", "l", b->id) < 0)
			goto out;
		conf = bisect_confidence(b->fail_rate, b->runs_per_step,
					 (unsigned)goods + 1);
	}
	if (db_exec(env->db, "UPDATE bisections SET confidence = ? WHERE id = ?",
		    "dl", conf, b->id) < 0)
		goto out;
	strbuf_addf(&sb, "first bad commit %.12s", culprit);
	if (b->runs_per_step > 1)
		strbuf_addf(&sb, " (confidence %.1f%% at a %.0f%% fail rate,"
			    " %u runs per commit)", conf * 100, b->fail_rate * 100,
			    b->runs_per_step);
	ret = set_state(env, b, BISECTION_FOUND, sb.buf);
out:
	strbuf_release(&sb);
	return ret;
}

static int verify(struct bisect_env *env, struct bis *b)
{
	char *culprit = NULL;
	long long seq = 0, open, cul_bad, cul_total, par_good, par_total;
	struct strbuf sb = STRBUF_INIT;
	int ret = -1;

	open = range_count_runs(env->db, b->id, PHASE_VERIFY, -2, NULL);
	if (open != 0)
		return open < 0 ? -1 : 0;
	if (db_get_text(env->db, &culprit, "SELECT culprit FROM bisections WHERE"
			" id = ?", "l", b->id) < 0 ||
	    db_get_int(env->db, &seq, "SELECT seq FROM bisection_commits WHERE"
		       " bisection_id = ? AND commit_id = ? AND seq >= 0", "ls",
		       b->id, culprit ? culprit : "") < 0)
		goto out;
	cul_total = range_count_runs(env->db, b->id, PHASE_VERIFY, (int)seq, "*");
	cul_bad = range_count_runs(env->db, b->id, PHASE_VERIFY, (int)seq, "bad");
	par_total = range_count_runs(env->db, b->id, PHASE_VERIFY, (int)seq - 1, "*");
	par_good = range_count_runs(env->db, b->id, PHASE_VERIFY, (int)seq - 1, "good");
	if (cul_total < 0 || cul_bad < 0 || par_total < 0 || par_good < 0)
		goto out;
	if (cul_bad == 0 || par_good < par_total) {
		strbuf_addf(&sb, "the verification disagreed: %.12s failed %lld of %lld,"
			    " its parent passed %lld of %lld", culprit ? culprit : "?",
			    cul_bad, cul_total, par_good, par_total);
		ret = set_state(env, b, BISECTION_FLAKY, sb.buf);
	} else {
		ret = verified(env, b, culprit ? culprit : "?");
	}
out:
	strbuf_release(&sb);
	free(culprit);
	return ret;
}

/*
 * Runs of an active bisection that were canceled or superseded from
 * outside: a search commit goes back to untested, a confirmation or
 * verification run is queued again.
 */
static int repair(struct bisect_env *env, struct bis *b)
{
	sqlite3_stmt *st;
	long long runs[64];
	int seqs[64], rc;
	enum bisect_phase phases[64];
	size_t n = 0, i;

	st = db_stmt(env->db, "SELECT br.run_id, br.seq, br.phase FROM bisection_runs br"
		     " JOIN runs r ON r.id = br.run_id WHERE br.bisection_id = ? AND"
		     " br.verdict IS NULL AND r.state IN ('canceled', 'superseded')"
		     " LIMIT 64", "l", b->id);
	if (!st)
		return -1;
	while ((rc = db_step(env->db, st)) == 1) {
		runs[n] = sqlite3_column_int64(st, 0);
		seqs[n] = sqlite3_column_int(st, 1);
		if (bisect_phase_parse(&phases[n], db_col_text(st, 2)) == 0)
			n++;
	}
	db_done(st);
	if (rc < 0)
		return -1;
	for (i = 0; i < n; i++) {
		long long left;

		if (db_exec(env->db, "DELETE FROM bisection_runs WHERE bisection_id = ?"
			    " AND run_id = ?", "ll", b->id, runs[i]) < 0)
			return -1;
		if (phases[i] != PHASE_SEARCH) {
			if (queue_for(env, b, seqs[i], phases[i], 1, PRIO_CONFIRM) < 0)
				return -1;
			continue;
		}
		left = range_count_runs(env->db, b->id, PHASE_SEARCH, seqs[i], NULL);
		if (left < 0 || (left == 0 &&
				 range_set_mark(env->db, b, seqs[i], BISECT_UNTESTED) < 0))
			return -1;
	}
	return 0;
}

/* Advance one bisection; 1 if it changed and may advance more, 0, -1. */
static int advance(struct bisect_env *env, struct bis *b)
{
	enum bisection_state before = b->state;

	if (b->state == BISECTION_REQUESTED)
		return setup(env, b) < 0 ? -1 : 1;
	if (repair(env, b) < 0)
		return -1;
	switch (b->state) {
	case BISECTION_CONFIRMING:
		if (confirm(env, b) < 0)
			return -1;
		return b->state != before;
	case BISECTION_SEARCHING:
		return search(env, b);
	case BISECTION_VERIFYING:
		return verify(env, b) < 0 ? -1 : 0;
	default:
		return 0;
	}
}

/* One step of bisection id in a transaction; 1 if it may advance more. */
static int step(struct bisect_env *env, long long id)
{
	struct bis b;
	int rc;

	if (db_begin(env->db) < 0)
		return -1;
	rc = bis_load_env(env, id, &b);
	if (rc == 1)
		rc = advance(env, &b);
	if (rc < 0) {
		db_rollback(env->db);
		bis_release(&b);
		/* Say so in a transaction of its own: the step's is gone. */
		if (db_begin(env->db) == 0) {
			if (bis_load(env->db, id, &b) == 1)
				set_state_db(env->db, id, b.plan_id, b.stage_id,
					     BISECTION_ERROR, "internal error, see the log");
			if (db_commit(env->db) < 0)
				warn("bisection %lld: its error is not recorded", id);
		}
	} else if (db_commit(env->db) < 0) {
		rc = -1;
	}
	bis_release(&b);
	return rc;
}

int bisector_tick(struct bisect_env *env)
{
	long long ids[64];
	int n, i, guard;

	n = db_get_ids(env->db, ids, 64, "SELECT id FROM bisections WHERE state IN "
		       UNFINISHED " ORDER BY id", NULL);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		for (guard = 0; guard < 10000; guard++)
			if (step(env, ids[i]) <= 0)
				break;
	return 0;
}

/* --- starting and stopping ------------------------------------------------------ */

static int cancel(struct db *db, long long id, const void *arg)
{
	const char *why = arg;
	struct bis b;
	long long runs[256];
	int n, i, rc = bis_load(db, id, &b);

	if (rc <= 0)
		return rc < 0 ? -1 : 2;
	if (bisection_state_final(b.state)) {
		bis_release(&b);
		return 1;
	}
	n = db_get_ids(db, runs, 256, "SELECT id FROM runs WHERE bisection_id = ?"
		       " AND state IN ('queued', 'running')", "l", id);
	rc = n < 0 ? -1 : 0;
	for (i = 0; i < n && rc == 0; i++)
		if (queue_cancel(db, runs[i], why) < 0)
			rc = -1;
	if (rc == 0)
		rc = set_state_db(db, id, b.plan_id, b.stage_id, BISECTION_CANCELED, why);
	bis_release(&b);
	return rc;
}

int bisector_cancel(struct db *db, long long id, const char *why)
{
	int rc = db_transaction(db, cancel, id, why);

	if (rc < 0)
		return error("bisection %lld: cannot cancel it", id);
	return rc;
}

/* The good commit: the baseline run's, else the nearest head below. */
static int good_commit(struct db *db, long long stage_id, char **good)
{
	*good = NULL;
	if (db_get_text(db, good, "SELECT r.commit_id FROM stages s JOIN runs r"
			" ON r.id = s.baseline_run_id WHERE s.id = ?", "l", stage_id) < 0)
		return -1;
	if (*good)
		return 0;
	return db_get_text(db, good, "SELECT b.head FROM stages b JOIN stages s ON"
			   " s.plan_id = b.plan_id AND b.idx < s.idx WHERE s.id = ?"
			   " AND b.head IS NOT NULL ORDER BY b.idx DESC LIMIT 1", "l",
			   stage_id) < 0 ? -1 : 0;
}

/*
 * The tests a bisection of a stage looks at by default: its regressions,
 * and for a request by a person its missing tests too (an automatic one
 * leaves those alone: a test that vanishes with a crash has no result on
 * any bad commit, so it could only end inconclusive).
 */
static int regressions(struct db *db, long long stage_id, int automatic,
		       struct strbuf *tests)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT test FROM changes WHERE stage_id = ?"
				   " AND (kind = 'regression' OR (? = 0 AND"
				   " kind = 'missing')) ORDER BY test LIMIT 200",
				   "li", stage_id, automatic);
	int rc;

	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1)
		strbuf_addf(tests, "%s%s", tests->len ? "\n" : "", db_col_text(st, 0));
	db_done(st);
	return rc;
}

/* Why a stage cannot be bisected now, or NULL: refusals for people. */
static const char *refusal(struct db *db, const struct bisect_request *req,
			   const char *bad, const char *good, struct strbuf *tests)
{
	long long idx = 0;

	if (db_get_int(db, &idx, "SELECT idx FROM stages WHERE id = ?", "l",
		       req->stage_id) < 0)
		return NULL;
	if (idx == 0)
		return "it is the plan base: there is no stage below it to bisect from";
	if (!bad)
		return "it has no head (its branch does not resolve)";
	if (!good)
		return "no stage below it has a head to bisect from";
	if (!strcmp(good, bad))
		return "it has no commits of its own to bisect";
	if (!tests->len)
		return "it has no regressions: name the tests to bisect";
	return NULL;
}

static long long request(struct db *db, const struct bisect_request *req,
			 struct bisect_answer *ans, struct strbuf *tests)
{
	char *bad = NULL, *good = NULL;
	long long id = -1;

	if (db_get_text(db, &bad, "SELECT head FROM stages WHERE id = ?", "l",
			req->stage_id) < 0 ||
	    good_commit(db, req->stage_id, &good) < 0 ||
	    (!req->tests && regressions(db, req->stage_id, req->automatic, tests) < 0))
		goto out;
	ans->refused = refusal(db, req, bad, good, tests);
	id = 0;
	if (ans->refused ||
	    db_get_int(db, &ans->existing, "SELECT id FROM bisections WHERE"
		       " stage_id = ? AND bad_commit = ? AND tests = ? AND state IN "
		       UNFINISHED " ORDER BY id DESC LIMIT 1", "lss", req->stage_id,
		       bad, tests->buf) != 0)
		goto out;
	id = -1;
	if (db_exec(db, "INSERT INTO bisections (plan_id, stage_id, reason,"
		    " good_commit, bad_commit, tests, state, runs_per_step,"
		    " confirm_runs, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?,"
		    " 'requested', ?, ?, ?, ?)", "llssssiill", req->plan_id,
		    req->stage_id, req->automatic ? "auto" : "manual", good, bad,
		    tests->buf, (int)req->runs_per_step, (int)req->confirm_runs,
		    now_wall_ms(), now_wall_ms()) < 0)
		goto out;
	id = db_last_id(db);
	if (events_add(db, "bisection", req->plan_id, req->stage_id, 0, id,
		       json_pack("{s:s,s:s,s:s}", "state", "requested", "reason",
				 req->automatic ? "auto" : "manual", "tests",
				 tests->buf)) < 0)
		id = -1;
	else
		info("bisection %lld of %.12s requested (%s): %s", id, bad,
		     req->automatic ? "auto" : "manual", tests->buf);
out:
	free(bad);
	free(good);
	return id;
}

long long bisector_request(struct db *db, const struct bisect_request *req,
			   struct bisect_answer *ans)
{
	struct strbuf tests = STRBUF_INIT;
	long long id;

	memset(ans, 0, sizeof(*ans));
	if (req->tests)
		strbuf_adds(&tests, req->tests);
	if (db_begin(db) < 0) {
		strbuf_release(&tests);
		return -1;
	}
	id = request(db, req, ans, &tests);
	if (id < 0)
		db_rollback(db);
	else if (db_commit(db) < 0)
		id = -1;
	strbuf_release(&tests);
	return id;
}

int bisector_auto(struct bisect_env *env, const struct plan_def *plan,
		  long long plan_id)
{
	long long stale[64], stages[256];
	int ns, n, i;

	/* A newer head makes the bisections of the old one moot. */
	ns = db_get_ids(env->db, stale, 64, "SELECT b.id FROM bisections b JOIN"
			" stages s ON s.id = b.stage_id WHERE b.plan_id = ? AND"
			" b.state IN " UNFINISHED " AND (s.head IS NULL OR"
			" s.head != b.bad_commit)", "l", plan_id);
	for (i = 0; i < ns; i++)
		if (bisector_cancel(env->db, stale[i], "the stage has a newer head") < 0)
			return -1;
	if (ns < 0)
		return -1;
	if (!env->cfg->auto_bisect)
		return 0;
	n = db_get_ids(env->db, stages, 256, "SELECT s.id FROM stages s WHERE"
		       " s.plan_id = ? AND s.idx > 0 AND s.verdict = 'red' AND"
		       " s.head IS NOT NULL AND s.baseline_run_id IS NOT NULL AND NOT"
		       " EXISTS (SELECT 1 FROM bisections b WHERE b.stage_id = s.id AND"
		       " b.bad_commit = s.head)", "l", plan_id);
	for (i = 0; i < n; i++) {
		struct bisect_request req = { plan_id, stages[i], NULL, 1,
					      env->cfg->bisect_runs,
					      env->cfg->confirm_runs };
		struct bisect_answer ans;

		if (bisector_request(env->db, &req, &ans) < 0)
			return error("plan %s: cannot start a bisection", plan->name);
	}
	return n < 0 ? -1 : 0;
}

int bisector_resume(struct bisect_env *env)
{
	/* Pending commits without a live run go back to untested. */
	return db_exec(env->db, "UPDATE bisection_commits SET mark = 'untested'"
		       " WHERE mark = 'pending' AND NOT EXISTS (SELECT 1 FROM"
		       " bisection_runs br JOIN runs r ON r.id = br.run_id WHERE"
		       " br.bisection_id = bisection_commits.bisection_id AND"
		       " br.seq = bisection_commits.seq AND br.verdict IS NULL AND"
		       " r.state IN ('queued', 'running', 'done'))", NULL);
}
