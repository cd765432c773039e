/*
 * bisector: confirmed, flaky-aware, k-ary, cached bisection of regressions
 * (see bisector.h for the states).  The search itself is bisect.c; this
 * file queues runs, turns their results into marks and keeps everything
 * in the database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <git2.h>

#include "bisect.h"
#include "bisector.h"
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

struct bis {
	long long id;
	long long plan_id;
	long long stage_id;
	char *state;
	char *good;
	char *bad;
	char *tests;
	unsigned runs_per_step;
	unsigned confirm_runs;
	double fail_rate;
	int rounds;
	const struct plan_def *plan;
};

static void bis_release(struct bis *b)
{
	free(b->state);
	free(b->good);
	free(b->bad);
	free(b->tests);
	memset(b, 0, sizeof(*b));
}

static int bis_load(struct bisect_env *env, long long id, struct bis *b)
{
	sqlite3_stmt *st;
	int found = 0;

	memset(b, 0, sizeof(*b));
	st = db_stmt(env->db, "SELECT id, plan_id, coalesce(stage_id, 0), state,"
		     " good_commit, bad_commit, tests, runs_per_step, confirm_runs,"
		     " coalesce(fail_rate, 1.0), rounds FROM bisections WHERE id = ?",
		     "l", id);
	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		b->id = sqlite3_column_int64(st, 0);
		b->plan_id = sqlite3_column_int64(st, 1);
		b->stage_id = sqlite3_column_int64(st, 2);
		b->state = db_col_dup(st, 3);
		b->good = db_col_dup(st, 4);
		b->bad = db_col_dup(st, 5);
		b->tests = db_col_dup(st, 6);
		b->runs_per_step = (unsigned)sqlite3_column_int(st, 7);
		b->confirm_runs = (unsigned)sqlite3_column_int(st, 8);
		b->fail_rate = sqlite3_column_double(st, 9);
		b->rounds = sqlite3_column_int(st, 10);
		found = 1;
	}
	db_done(st);
	if (found) {
		b->plan = env->plan(env->payload, b->plan_id);
		if (b->runs_per_step < 1)
			b->runs_per_step = 1;
	}
	return found;
}

static int is_final(const char *state)
{
	static const char *const finals[] = { "found", "inconclusive", "flaky",
					      "not-reproduced", "canceled", "error",
					      NULL };
	const char *const *f;

	for (f = finals; *f; f++)
		if (!strcmp(*f, state))
			return 1;
	return 0;
}

static void event(struct bisect_env *env, const struct bis *b, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void event(struct bisect_env *env, const struct bis *b, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	db_event(env->db, "bisection", b->plan_id, b->stage_id, 0, b->id,
		 strbuf_str(&sb));
	strbuf_release(&sb);
}

/* Move to a new state; a final state also stamps finished_at. */
static int set_state(struct bisect_env *env, struct bis *b, const char *state,
		     const char *detail)
{
	long long now = now_wall_ms();

	if (db_exec(env->db, "UPDATE bisections SET state = ?, detail = coalesce(?,"
		    " detail), updated_at = ? WHERE id = ?", "ssll", state, detail,
		    now, b->id) < 0)
		return -1;
	if (is_final(state))
		db_exec(env->db, "UPDATE bisections SET finished_at = ? WHERE id = ?",
			"ll", now, b->id);
	free(b->state);
	b->state = xstrdup(state);
	event(env, b, "{\"state\":\"%s\"}", state);
	info("bisection %lld: %s%s%s", b->id, state, detail ? ": " : "",
	     detail ? detail : "");
	return 0;
}

/* --- verdicts ------------------------------------------------------------------ */

/*
 * What a finished run says about the bisection's tests: bad if one of them
 * failed, good if all passed, skip if the run cannot tell (the build
 * failed, the boot failed for another reason, a test has no result).
 */
static enum bisect_mark run_mark(struct db *db, long long run_id, const char *tests)
{
	char *state = NULL, *verdict = NULL, *boot = NULL;
	enum bisect_mark m = BISECT_SKIP;
	sqlite3_stmt *st;
	const char *p;
	int missing = 0, bad = 0;

	st = db_stmt(db, "SELECT state, coalesce(verdict, ''), coalesce(boot_verdict, '')"
		     " FROM runs WHERE id = ?", "l", run_id);
	if (!st)
		return BISECT_SKIP;
	if (sqlite3_step(st) == SQLITE_ROW) {
		state = db_col_dup(st, 0);
		verdict = db_col_dup(st, 1);
		boot = db_col_dup(st, 2);
	}
	db_done(st);
	if (!state || strcmp(state, "done") || !strcmp(verdict, "error"))
		goto out;
	if (*boot && strcmp(boot, "clean") && !lines_contain(tests, "boot"))
		goto out;	/* a boot failure unrelated to the tests */
	for (p = tests; *p; ) {
		size_t len = strcspn(p, "\n");
		char *name = xstrndup(p, len);
		char *status = NULL;
		int rc = db_get_text(db, &status, "SELECT status FROM results WHERE"
				     " run_id = ? AND test = ?", "ls", run_id, name);

		if (rc != 1)
			missing = 1;
		else if (!strcmp(status, "fail") || !strcmp(status, "error"))
			bad = 1;
		free(status);
		free(name);
		p += len;
		if (*p)
			p++;
	}
	if (bad)
		m = BISECT_BAD;
	else if (!missing)
		m = BISECT_GOOD;
out:
	free(state);
	free(verdict);
	free(boot);
	return m;
}

/* --- queueing ------------------------------------------------------------------- */

static int commit_at(struct bisect_env *env, const struct bis *b, int seq,
		     char **commit, char **tree)
{
	sqlite3_stmt *st = db_stmt(env->db, "SELECT commit_id, tree_id FROM"
				   " bisection_commits WHERE bisection_id = ? AND"
				   " seq = ?", "li", b->id, seq);
	int found = 0;

	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*commit = db_col_dup(st, 0);
		*tree = db_col_dup(st, 1);
		found = 1;
	}
	db_done(st);
	return found ? 0 : -1;
}

static void set_mark(struct bisect_env *env, const struct bis *b, int seq,
		     enum bisect_mark m)
{
	db_exec(env->db, "UPDATE bisection_commits SET mark = ? WHERE"
		" bisection_id = ? AND seq = ?", "sli", bisect_mark_name(m), b->id, seq);
}

static void apply_run(struct bisect_env *env, long long run_id);

/*
 * Queue a run of commit seq for phase; returns the run id or -1.  A run
 * answered at once from an earlier result is recorded at once.
 */
static long long queue_for(struct bisect_env *env, const struct bis *b, int seq,
			   const char *phase, int no_reuse, int priority)
{
	struct run_request req = { 0 };
	char *commit = NULL, *tree = NULL;
	long long id;
	int reused = 0;

	if (!b->plan || commit_at(env, b, seq, &commit, &tree) < 0)
		return -1;
	req.plan_id = b->plan_id;
	req.stage_id = b->stage_id;
	req.commit = commit;
	req.tree = tree;
	req.profile = b->plan->profile->name;
	req.digest = b->plan->profile->digest;
	req.reason = !strcmp(phase, "search") ? "bisect" : "confirm";
	req.tests = b->tests;
	req.bisection_id = b->id;
	req.priority = priority;
	req.no_reuse = no_reuse;
	id = queue_add(env->db, &req, &reused);
	free(commit);
	free(tree);
	if (id < 0)
		return -1;
	db_exec(env->db, "INSERT INTO bisection_runs (bisection_id, run_id, seq,"
		" phase, round) VALUES (?, ?, ?, ?, ?)", "llisi",
		b->id, id, seq, phase, b->rounds);
	if (reused)
		apply_run(env, id);
	return id;
}

/* --- recording results --------------------------------------------------------- */

/*
 * A search commit is decided when all its runs are in: bad if any run was
 * bad, skip if all were skip, good otherwise.
 */
static void decide_commit(struct bisect_env *env, long long bid, int seq,
			  unsigned runs_per_step)
{
	long long total = 0, done = 0, bads = 0, skips = 0;
	struct bis b = { 0 };
	enum bisect_mark m;

	db_get_int(env->db, &total, "SELECT count(*) FROM bisection_runs WHERE"
		   " bisection_id = ? AND seq = ? AND phase = 'search'", "li", bid, seq);
	db_get_int(env->db, &done, "SELECT count(*) FROM bisection_runs WHERE"
		   " bisection_id = ? AND seq = ? AND phase = 'search' AND verdict"
		   " IS NOT NULL", "li", bid, seq);
	if (done < total || done < (long long)runs_per_step)
		return;
	db_get_int(env->db, &bads, "SELECT count(*) FROM bisection_runs WHERE"
		   " bisection_id = ? AND seq = ? AND phase = 'search' AND verdict"
		   " = 'bad'", "li", bid, seq);
	db_get_int(env->db, &skips, "SELECT count(*) FROM bisection_runs WHERE"
		   " bisection_id = ? AND seq = ? AND phase = 'search' AND verdict"
		   " = 'skip'", "li", bid, seq);
	m = bads ? BISECT_BAD : skips == done ? BISECT_SKIP : BISECT_GOOD;
	b.id = bid;
	set_mark(env, &b, seq, m);
}

static void apply_run(struct bisect_env *env, long long run_id)
{
	sqlite3_stmt *st;
	long long bid = 0, reused = 0, plan_id = 0, stage_id = 0;
	int seq = 0;
	char *phase = NULL, *tests = NULL;
	unsigned rps = 1;
	enum bisect_mark m;

	st = db_stmt(env->db, "SELECT br.bisection_id, br.seq, br.phase, b.tests,"
		     " b.runs_per_step, b.plan_id, coalesce(b.stage_id, 0)"
		     " FROM bisection_runs br JOIN bisections b"
		     " ON b.id = br.bisection_id WHERE br.run_id = ?"
		     " AND br.verdict IS NULL", "l", run_id);
	if (!st)
		return;
	if (sqlite3_step(st) == SQLITE_ROW) {
		bid = sqlite3_column_int64(st, 0);
		seq = sqlite3_column_int(st, 1);
		phase = db_col_dup(st, 2);
		tests = db_col_dup(st, 3);
		rps = (unsigned)sqlite3_column_int(st, 4);
		plan_id = sqlite3_column_int64(st, 5);
		stage_id = sqlite3_column_int64(st, 6);
	}
	db_done(st);
	if (!bid)
		goto out;
	m = run_mark(env->db, run_id, tests);
	db_exec(env->db, "UPDATE bisection_runs SET verdict = ? WHERE"
		" bisection_id = ? AND run_id = ?", "sll", bisect_mark_name(m), bid,
		run_id);
	db_get_int(env->db, &reused, "SELECT reused_from IS NOT NULL FROM runs"
		   " WHERE id = ?", "l", run_id);
	if (reused)
		db_exec(env->db, "UPDATE bisections SET reused = reused + 1,"
			" updated_at = ? WHERE id = ?", "ll", now_wall_ms(), bid);
	else
		db_exec(env->db, "UPDATE bisections SET runs = runs + 1,"
			" updated_at = ? WHERE id = ?", "ll", now_wall_ms(), bid);
	if (!strcmp(phase, "search"))
		decide_commit(env, bid, seq, rps ? rps : 1);
	{
		char data[96];

		snprintf(data, sizeof(data), "{\"seq\":%d,\"run_id\":%lld,\"verdict\":\"%s\"}",
			 seq, run_id, bisect_mark_name(m));
		db_event(env->db, "bisection", plan_id, stage_id, run_id, bid, data);
	}
out:
	free(phase);
	free(tests);
}

int bisector_run_finished(struct bisect_env *env, long long run_id)
{
	if (db_begin(env->db) < 0)
		return -1;
	apply_run(env, run_id);
	return db_commit(env->db);
}

/* --- setting a bisection up ----------------------------------------------- */

/* Stage names of the plan's own commits and heads, for labels. */
static char *stage_of(struct bisect_env *env, const struct bis *b,
		      const char *commit, int *boundary)
{
	char *name = NULL;
	long long is_head = 0;

	db_get_text(env->db, &name, "SELECT s.name FROM stage_commits c JOIN stages s"
		    " ON s.id = c.stage_id WHERE s.plan_id = ? AND c.commit_id = ?"
		    " ORDER BY s.idx LIMIT 1", "ls", b->plan_id, commit);
	db_get_int(env->db, &is_head, "SELECT count(*) FROM stages WHERE plan_id = ?"
		   " AND head = ? AND idx > 0", "ls", b->plan_id, commit);
	*boundary = is_head > 0;
	return name;
}

/*
 * An earlier finished bisection over the same trees and tests answers this
 * one: copy its outcome, mapping its culprit to the commit with the same
 * tree here.  Returns 1 if answered.
 */
static int answer_from_cache(struct bisect_env *env, struct bis *b,
			     const char *good_tree, const char *bad_tree)
{
	sqlite3_stmt *st;
	long long old = 0;
	char *state = NULL, *culprit_tree = NULL, *detail = NULL;
	struct strbuf sb = STRBUF_INIT;
	int ret = 0;

	st = db_stmt(env->db, "SELECT b.id, b.state, (SELECT tree_id FROM"
		     " bisection_commits WHERE bisection_id = b.id AND commit_id ="
		     " b.culprit) FROM bisections b"
		     " JOIN bisection_commits g ON g.bisection_id = b.id AND g.seq = -1"
		     " JOIN runs r ON r.bisection_id = b.id"
		     " WHERE b.id != ? AND b.plan_id = ? AND b.tests = ?"
		     " AND b.state IN ('found', 'inconclusive') AND g.tree_id = ?"
		     " AND r.profile_digest = ? AND (SELECT tree_id FROM"
		     " bisection_commits WHERE bisection_id = b.id AND commit_id ="
		     " b.bad_commit) = ? ORDER BY b.id DESC LIMIT 1", "llssss",
		     b->id, b->plan_id, b->tests, good_tree, b->plan->profile->digest,
		     bad_tree);
	if (!st)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		old = sqlite3_column_int64(st, 0);
		state = db_col_dup(st, 1);
		culprit_tree = db_col_dup(st, 2);
	}
	db_done(st);
	if (!old)
		goto out;
	/* Marks by tree; the culprit by its tree. */
	db_exec(env->db, "UPDATE bisection_commits SET mark = coalesce((SELECT o.mark"
		" FROM bisection_commits o WHERE o.bisection_id = ? AND o.tree_id ="
		" bisection_commits.tree_id AND o.mark != 'pending' LIMIT 1), mark)"
		" WHERE bisection_id = ?", "ll", old, b->id);
	if (!strcmp(state, "found") && culprit_tree) {
		db_exec(env->db, "UPDATE bisections SET culprit = (SELECT commit_id FROM"
			" bisection_commits WHERE bisection_id = ? AND tree_id = ? AND"
			" seq >= 0 ORDER BY seq LIMIT 1), culprit_stage = (SELECT stage FROM"
			" bisection_commits WHERE bisection_id = ? AND tree_id = ? AND"
			" seq >= 0 ORDER BY seq LIMIT 1), fail_rate = (SELECT fail_rate"
			" FROM bisections WHERE id = ?), confidence = (SELECT confidence"
			" FROM bisections WHERE id = ?) WHERE id = ?", "lslslll", b->id,
			culprit_tree, b->id, culprit_tree, old, old, b->id);
	} else {
		db_exec(env->db, "UPDATE bisections SET (range_good, range_bad,"
			" fail_rate) = (SELECT range_good, range_bad, fail_rate FROM"
			" bisections WHERE id = ?) WHERE id = ?", "ll", old, b->id);
	}
	strbuf_addf(&sb, "answered from bisection %lld (same trees and tests), no run", old);
	detail = strbuf_detach(&sb);
	set_state(env, b, state, detail);
	ret = 1;
out:
	free(state);
	free(culprit_tree);
	free(detail);
	return ret;
}

static int setup(struct bisect_env *env, struct bis *b)
{
	git_repository *repo = NULL;
	struct commit_info *v = NULL;
	size_t n = 0, i;
	int truncated = 0, ret = -1;
	git_oid good, bad, good_tree;
	char gtree[GIT_OID_HEXSZ + 1], btree[GIT_OID_HEXSZ + 1];
	unsigned k;

	if (!b->plan)
		return set_state(env, b, "error", "the plan is no longer configured");
	if (git_oid_fromstr(&good, b->good) < 0 || git_oid_fromstr(&bad, b->bad) < 0)
		return set_state(env, b, "error", "bad commit ids");
	if (repo_open(&repo, b->plan->repo) < 0)
		return set_state(env, b, "error", "cannot open the repository");
	if (repo_commit_tree(&good_tree, repo, &good) < 0 ||
	    repo_range(&v, &n, &truncated, repo, &good, &bad, 1, MAX_RANGE) < 0) {
		ret = set_state(env, b, "error", "cannot read the commits good..bad");
		goto out;
	}
	if (n == 0) {
		ret = set_state(env, b, "error", "the bad commit is not after the good one");
		goto out;
	}
	if (truncated) {
		ret = set_state(env, b, "error", "more than 10000 commits between good and bad");
		goto out;
	}
	git_oid_tostr(gtree, sizeof(gtree), &good_tree);
	if (db_exec(env->db, "DELETE FROM bisection_commits WHERE bisection_id = ?",
		    "l", b->id) < 0 ||
	    db_exec(env->db, "INSERT INTO bisection_commits (bisection_id, seq,"
		    " commit_id, tree_id, subject, author, stage, boundary, mark)"
		    " VALUES (?, -1, ?, ?, 'the good baseline', '', NULL, 1, 'good')",
		    "lss", b->id, b->good, gtree) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		char id[GIT_OID_HEXSZ + 1], tree[GIT_OID_HEXSZ + 1];
		git_oid t;
		char *stage;
		int boundary = 0;

		git_oid_tostr(id, sizeof(id), &v[i].id);
		if (repo_commit_tree(&t, repo, &v[i].id) < 0)
			goto out;
		git_oid_tostr(tree, sizeof(tree), &t);
		stage = stage_of(env, b, id, &boundary);
		if (db_exec(env->db, "INSERT INTO bisection_commits (bisection_id, seq,"
			    " commit_id, tree_id, subject, author, stage, boundary)"
			    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "lisssssi", b->id, (int)i,
			    id, tree, v[i].subject, v[i].author, stage,
			    boundary || i == n - 1) < 0) {
			free(stage);
			goto out;
		}
		free(stage);
		if (i == n - 1)
			memcpy(btree, tree, sizeof(btree));
	}
	info("bisection %lld: %zu commits between %.12s and %.12s, tests: %s",
	     b->id, n, b->good, b->bad, b->tests);
	if (answer_from_cache(env, b, gtree, btree)) {
		ret = 0;
		goto out;
	}
	if (b->confirm_runs == 0) {
		set_mark(env, b, (int)n - 1, BISECT_BAD);
		ret = set_state(env, b, "searching", NULL);
		goto out;
	}
	if (set_state(env, b, "confirming", NULL) < 0)
		goto out;
	for (k = 0; k < b->confirm_runs; k++)
		if (queue_for(env, b, (int)n - 1, "confirm", 1, PRIO_CONFIRM) < 0 ||
		    queue_for(env, b, -1, "confirm", 1, PRIO_CONFIRM) < 0)
			goto out;
	ret = 0;
out:
	for (i = 0; i < n; i++)
		commit_info_release(&v[i]);
	free(v);
	git_repository_free(repo);
	return ret;
}

/* --- the phases ---------------------------------------------------------------- */

static long long nr_commits(struct bisect_env *env, const struct bis *b)
{
	long long n = 0;

	db_get_int(env->db, &n, "SELECT count(*) FROM bisection_commits WHERE"
		   " bisection_id = ? AND seq >= 0", "l", b->id);
	return n;
}

/* Count verdicts of a phase at seq (-2 = any seq). */
static long long count_runs(struct bisect_env *env, const struct bis *b,
			    const char *phase, int seq, const char *verdict)
{
	long long n = 0;

	db_get_int(env->db, &n, "SELECT count(*) FROM bisection_runs WHERE"
		   " bisection_id = ? AND phase = ? AND (? = -2 OR seq = ?) AND"
		   " (? IS NULL AND verdict IS NULL OR verdict = ?)", "lsiiss",
		   b->id, phase, seq, seq, verdict, verdict);
	return n;
}

static long long count_all(struct bisect_env *env, const struct bis *b,
			   const char *phase, int seq)
{
	long long n = 0;

	db_get_int(env->db, &n, "SELECT count(*) FROM bisection_runs WHERE"
		   " bisection_id = ? AND phase = ? AND (? = -2 OR seq = ?)",
		   "lsii", b->id, phase, seq, seq);
	return n;
}

/* The original full run of the bad head: does it fail the tests? */
static int original_failure(struct bisect_env *env, const struct bis *b)
{
	long long run = 0;

	if (db_get_int(env->db, &run, "SELECT id FROM runs WHERE commit_id = ? AND"
		       " profile_digest = ? AND tests IS NULL AND state = 'done'"
		       " ORDER BY id DESC LIMIT 1", "ss", b->bad,
		       b->plan->profile->digest) != 1)
		return -1;
	return run_mark(env->db, run, b->tests) == BISECT_BAD;
}

static int confirm(struct bisect_env *env, struct bis *b)
{
	long long n = nr_commits(env, b);
	long long bad_total, bad_fail, good_total, good_fail, skips;
	int orig = original_failure(env, b);
	long long obs_total, obs_fail;
	struct strbuf sb = STRBUF_INIT;
	double rate;
	int ret;

	if (count_runs(env, b, "confirm", -2, NULL) > 0)
		return 0;	/* still running */
	bad_total = count_all(env, b, "confirm", (int)n - 1);
	bad_fail = count_runs(env, b, "confirm", (int)n - 1, "bad");
	good_total = count_all(env, b, "confirm", -1);
	good_fail = count_runs(env, b, "confirm", -1, "bad");
	skips = count_runs(env, b, "confirm", -2, "skip");
	if (skips) {
		strbuf_addf(&sb, "%lld confirmation run%s could not be judged (build or"
			    " boot failure)", skips, skips == 1 ? "" : "s");
		ret = set_state(env, b, "error", strbuf_str(&sb));
		strbuf_release(&sb);
		return ret;
	}
	obs_total = bad_total + (orig >= 0 ? 1 : 0);
	obs_fail = bad_fail + (orig > 0 ? 1 : 0);
	rate = obs_total ? (double)obs_fail / obs_total : 0;
	db_exec(env->db, "UPDATE bisections SET fail_rate = ? WHERE id = ?", "dl",
		rate, b->id);
	b->fail_rate = rate;
	if (obs_fail == 0) {
		strbuf_addf(&sb, "the tests passed %lld time%s on the bad head",
			    bad_total, bad_total == 1 ? "" : "s");
		ret = set_state(env, b, "not-reproduced", strbuf_str(&sb));
		strbuf_release(&sb);
		return ret;
	}
	if (obs_fail == obs_total && good_fail == 0) {
		set_mark(env, b, (int)n - 1, BISECT_BAD);
		return set_state(env, b, "searching", NULL);
	}
	strbuf_addf(&sb, "flaky: failed %lld of %lld runs on the bad head (%.0f%%)",
		    obs_fail, obs_total, rate * 100);
	if (good_fail)
		strbuf_addf(&sb, " and %lld of %lld on the good baseline", good_fail,
			    good_total);
	if (b->runs_per_step > 1 && good_fail == 0) {
		strbuf_addf(&sb, "; bisecting with %u runs per commit", b->runs_per_step);
		set_mark(env, b, (int)n - 1, BISECT_BAD);
		ret = set_state(env, b, "searching", strbuf_str(&sb));
	} else {
		ret = set_state(env, b, "flaky", strbuf_str(&sb));
	}
	strbuf_release(&sb);
	return ret;
}

/* Marks, priorities (stage heads) and commit ids of the range. */
struct range {
	enum bisect_mark *marks;
	size_t *prio;
	size_t n, nprio;
};

static int load_range(struct bisect_env *env, const struct bis *b, struct range *r)
{
	sqlite3_stmt *st;
	size_t alloc;

	memset(r, 0, sizeof(*r));
	r->n = (size_t)nr_commits(env, b);
	alloc = r->n ? r->n : 1;
	r->marks = xcalloc(alloc, sizeof(*r->marks));
	r->prio = xcalloc(alloc, sizeof(*r->prio));
	st = db_stmt(env->db, "SELECT seq, mark, boundary FROM bisection_commits"
		     " WHERE bisection_id = ? AND seq >= 0 ORDER BY seq", "l", b->id);
	if (!st)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t seq = (size_t)sqlite3_column_int(st, 0);
		enum bisect_mark m = BISECT_UNTESTED;

		if (seq >= r->n)
			continue;
		bisect_mark_parse(&m, db_col_text(st, 1));
		r->marks[seq] = m;
		if (sqlite3_column_int(st, 2) && seq + 1 < r->n)
			r->prio[r->nprio++] = seq;
	}
	db_done(st);
	return 0;
}

static void range_release(struct range *r)
{
	free(r->marks);
	free(r->prio);
}

static int finish_inconclusive(struct bisect_env *env, struct bis *b,
			       const struct bisect_window *w, const struct range *r)
{
	struct strbuf sb = STRBUF_INIT;
	char *good = NULL, *bad = NULL, *t = NULL;
	long k;
	int ret;

	if (w->good >= 0)
		commit_at(env, b, (int)w->good, &good, &t);
	free(t);
	t = NULL;
	commit_at(env, b, (int)w->bad, &bad, &t);
	free(t);
	strbuf_addf(&sb, "the first bad commit is between %.12s and %.12s;"
		    " untestable:", good ? good : b->good, bad ? bad : "?");
	for (k = w->good + 1; k < w->bad; k++) {
		char *c = NULL, *tr = NULL;

		if (r->marks[k] != BISECT_SKIP || commit_at(env, b, (int)k, &c, &tr) < 0)
			continue;
		strbuf_addf(&sb, " %.12s", c);
		free(c);
		free(tr);
	}
	db_exec(env->db, "UPDATE bisections SET range_good = ?, range_bad = ?"
		" WHERE id = ?", "ssl", good ? good : b->good, bad, b->id);
	ret = set_state(env, b, "inconclusive", strbuf_str(&sb));
	strbuf_release(&sb);
	free(good);
	free(bad);
	return ret;
}

static int search(struct bisect_env *env, struct bis *b)
{
	struct range r;
	struct bisect_window w;
	size_t *points, np, i, slots;
	long long pending = 0, queued;
	int ret = 0;

	/*
	 * Rounds: the next points are chosen when every result of the
	 * current round is in, so that each round splits the range into
	 * P + 1 parts (refilling one slot at a time splits it worse).
	 */
	db_get_int(env->db, &pending, "SELECT count(*) FROM bisection_commits WHERE"
		   " bisection_id = ? AND mark = 'pending'", "l", b->id);
	if (pending)
		return 0;
	if (load_range(env, b, &r) < 0)
		return -1;
	points = xcalloc(r.n ? r.n : 1, sizeof(*points));
	/* Free slots not already promised to queued runs. */
	slots = env->free_slots(env->payload);
	queued = queue_count(env->db, "queued");
	slots = queued < 0 || (size_t)queued >= slots ? 0 : slots - (size_t)queued;
	if (slots == 0)
		slots = 1;
	np = bisect_next(points, slots, &w, r.marks, r.n, r.prio, r.nprio);
	switch (w.state) {
	case BISECT_SEARCHING:
		if (!np)
			break;
		b->rounds++;
		db_exec(env->db, "UPDATE bisections SET rounds = ? WHERE id = ?", "il",
			b->rounds, b->id);
		for (i = 0; i < np; i++) {
			unsigned k;

			set_mark(env, b, (int)points[i], BISECT_PENDING);
			for (k = 0; k < b->runs_per_step; k++)
				if (queue_for(env, b, (int)points[i], "search",
					      b->runs_per_step > 1, PRIO_BISECT) < 0) {
					ret = -1;
					break;
				}
		}
		ret = ret < 0 ? -1 : 1;	/* progress: look again */
		break;
	case BISECT_WAITING:
		break;
	case BISECT_FOUND: {
		int c = (int)w.bad;
		unsigned k;

		db_exec(env->db, "UPDATE bisections SET culprit = (SELECT commit_id FROM"
			" bisection_commits WHERE bisection_id = ? AND seq = ?),"
			" culprit_stage = (SELECT stage FROM bisection_commits WHERE"
			" bisection_id = ? AND seq = ?) WHERE id = ?", "lilil", b->id, c,
			b->id, c, b->id);
		set_state(env, b, "verifying", NULL);
		for (k = 0; k < b->runs_per_step; k++)
			if (queue_for(env, b, c, "verify", 1, PRIO_CONFIRM) < 0 ||
			    queue_for(env, b, c - 1, "verify", 1, PRIO_CONFIRM) < 0)
				ret = -1;
		break;
	}
	case BISECT_INCONCLUSIVE:
		ret = finish_inconclusive(env, b, &w, &r);
		break;
	case BISECT_INVALID:
		ret = set_state(env, b, "error", "no bad commit in the range");
		break;
	}
	free(points);
	range_release(&r);
	return ret;
}

static int verify(struct bisect_env *env, struct bis *b)
{
	char *culprit = NULL;
	long long seq = 0, cul_bad, cul_total, par_good, par_total, goods = 0;
	struct strbuf sb = STRBUF_INIT;
	int ret;

	if (count_runs(env, b, "verify", -2, NULL) > 0)
		return 0;
	db_get_text(env->db, &culprit, "SELECT culprit FROM bisections WHERE id = ?",
		    "l", b->id);
	db_get_int(env->db, &seq, "SELECT seq FROM bisection_commits WHERE"
		   " bisection_id = ? AND commit_id = ? AND seq >= 0", "ls", b->id,
		   culprit ? culprit : "");
	cul_total = count_all(env, b, "verify", (int)seq);
	cul_bad = count_runs(env, b, "verify", (int)seq, "bad");
	par_total = count_all(env, b, "verify", (int)seq - 1);
	par_good = count_runs(env, b, "verify", (int)seq - 1, "good");
	if (cul_bad == 0 || par_good < par_total) {
		strbuf_addf(&sb, "the verification disagreed: %.12s failed %lld of %lld,"
			    " its parent passed %lld of %lld", culprit ? culprit : "?",
			    cul_bad, cul_total, par_good, par_total);
		ret = set_state(env, b, "flaky", strbuf_str(&sb));
	} else {
		double conf = 1.0;

		if (b->runs_per_step > 1) {
			db_get_int(env->db, &goods, "SELECT count(*) FROM"
				   " bisection_commits WHERE bisection_id = ? AND seq >= 0"
				   " AND mark = 'good'", "l", b->id);
			conf = bisect_confidence(b->fail_rate, b->runs_per_step,
						 (unsigned)goods + 1);
		}
		db_exec(env->db, "UPDATE bisections SET confidence = ? WHERE id = ?",
			"dl", conf, b->id);
		strbuf_addf(&sb, "first bad commit %.12s", culprit ? culprit : "?");
		if (b->runs_per_step > 1)
			strbuf_addf(&sb, " (confidence %.1f%% at a %.0f%% fail rate,"
				    " %u runs per commit)", conf * 100,
				    b->fail_rate * 100, b->runs_per_step);
		ret = set_state(env, b, "found", strbuf_str(&sb));
	}
	strbuf_release(&sb);
	free(culprit);
	return ret;
}

/*
 * Runs of an active bisection that were canceled or superseded from
 * outside: a search commit goes back to untested, a confirmation or
 * verification run is queued again.
 */
static void repair(struct bisect_env *env, struct bis *b)
{
	sqlite3_stmt *st;
	long long runs[64];
	int seqs[64];
	char phases[64][8];
	size_t n = 0, i;

	st = db_stmt(env->db, "SELECT br.run_id, br.seq, br.phase FROM bisection_runs br"
		     " JOIN runs r ON r.id = br.run_id WHERE br.bisection_id = ? AND"
		     " br.verdict IS NULL AND r.state IN ('canceled', 'superseded')"
		     " LIMIT 64", "l", b->id);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		runs[n] = sqlite3_column_int64(st, 0);
		seqs[n] = sqlite3_column_int(st, 1);
		snprintf(phases[n], sizeof(phases[n]), "%s", db_col_text(st, 2));
		n++;
	}
	db_done(st);
	for (i = 0; i < n; i++) {
		db_exec(env->db, "DELETE FROM bisection_runs WHERE bisection_id = ? AND"
			" run_id = ?", "ll", b->id, runs[i]);
		if (!strcmp(phases[i], "search")) {
			if (count_runs(env, b, "search", seqs[i], NULL) == 0)
				set_mark(env, b, seqs[i], BISECT_UNTESTED);
		} else {
			queue_for(env, b, seqs[i], phases[i], 1, PRIO_CONFIRM);
		}
	}
}

/* Advance one bisection; returns 1 if it changed and may advance more. */
static int advance(struct bisect_env *env, struct bis *b)
{
	if (!strcmp(b->state, "requested")) {
		if (setup(env, b) < 0)
			return -1;
		return 1;
	}
	repair(env, b);
	if (!strcmp(b->state, "confirming")) {
		char *before = xstrdup(b->state);
		int changed;

		confirm(env, b);
		changed = strcmp(before, b->state) != 0;
		free(before);
		return changed;
	}
	if (!strcmp(b->state, "searching"))
		return search(env, b);
	if (!strcmp(b->state, "verifying")) {
		verify(env, b);
		return 0;
	}
	return 0;
}

int bisector_tick(struct bisect_env *env)
{
	long long ids[64];
	int n, i;

	n = db_get_ids(env->db, ids, 64, "SELECT id FROM bisections WHERE state IN"
		       " ('requested', 'confirming', 'searching', 'verifying')"
		       " ORDER BY id", NULL);
	for (i = 0; i < n; i++) {
		int guard;

		for (guard = 0; guard < 10000; guard++) {
			struct bis b;
			int rc;

			if (bis_load(env, ids[i], &b) != 1)
				break;
			if (db_begin(env->db) < 0) {
				bis_release(&b);
				return -1;
			}
			rc = advance(env, &b);
			if (rc < 0) {
				db_rollback(env->db);
				set_state(env, &b, "error", "internal error, see the log");
				bis_release(&b);
				break;
			}
			db_commit(env->db);
			bis_release(&b);
			if (rc == 0)
				break;
		}
	}
	return 0;
}

/* --- starting and stopping ------------------------------------------------------ */

int bisector_cancel(struct bisect_env *env, long long id, const char *why)
{
	struct bis b;
	long long runs[256];
	int n, i;

	if (bis_load(env, id, &b) != 1)
		return -1;
	if (is_final(b.state)) {
		bis_release(&b);
		return 1;
	}
	n = db_get_ids(env->db, runs, 256, "SELECT id FROM runs WHERE bisection_id = ?"
		       " AND state IN ('queued', 'running')", "l", id);
	for (i = 0; i < n; i++)
		if (queue_cancel(env->db, runs[i], why) == 0)
			env->stop_run(env->payload, runs[i]);
	set_state(env, &b, "canceled", why);
	bis_release(&b);
	return 0;
}

/* Bisections canceled in the database (by the API) whose runs still go. */
static void stop_canceled(struct bisect_env *env)
{
	long long runs[256];
	int n, i;

	n = db_get_ids(env->db, runs, 256, "SELECT r.id FROM runs r JOIN bisections b"
		       " ON b.id = r.bisection_id WHERE b.state = 'canceled' AND"
		       " r.state IN ('queued', 'running')", NULL);
	for (i = 0; i < n; i++)
		if (queue_cancel(env->db, runs[i], "the bisection was canceled") == 0)
			env->stop_run(env->payload, runs[i]);
}

long long bisector_active(struct db *db)
{
	long long n = 0;

	db_get_int(db, &n, "SELECT count(*) FROM bisections WHERE state IN"
		   " ('requested', 'confirming', 'searching', 'verifying')", NULL);
	return n;
}

int bisector_auto(struct bisect_env *env, const struct plan_def *plan,
		  long long plan_id)
{
	sqlite3_stmt *st;
	long long stale[64], stages[256];
	int ns, n, i;

	stop_canceled(env);
	/* A newer head makes the bisections of the old one moot. */
	ns = db_get_ids(env->db, stale, 64, "SELECT b.id FROM bisections b JOIN stages s"
			" ON s.id = b.stage_id WHERE b.plan_id = ? AND b.state IN"
			" ('requested', 'confirming', 'searching', 'verifying') AND"
			" (s.head IS NULL OR s.head != b.bad_commit)", "l", plan_id);
	for (i = 0; i < ns; i++)
		bisector_cancel(env, stale[i], "the stage has a newer head");

	if (!env->cfg->auto_bisect)
		return 0;
	n = db_get_ids(env->db, stages, 256, "SELECT s.id FROM stages s WHERE"
		       " s.plan_id = ? AND s.idx > 0 AND s.verdict = 'red' AND"
		       " s.head IS NOT NULL AND s.baseline_run_id IS NOT NULL AND NOT"
		       " EXISTS (SELECT 1 FROM bisections b WHERE b.stage_id = s.id AND"
		       " b.bad_commit = s.head)", "l", plan_id);
	for (i = 0; i < n; i++) {
		struct strbuf tests = STRBUF_INIT;
		char *head = NULL, *good = NULL;
		long long id;

		st = db_stmt(env->db, "SELECT test FROM changes WHERE stage_id = ? AND"
			     " kind = 'regression' ORDER BY test LIMIT 200", "l", stages[i]);
		while (st && sqlite3_step(st) == SQLITE_ROW)
			strbuf_addf(&tests, "%s%s", tests.len ? "\n" : "",
				    db_col_text(st, 0));
		db_done(st);
		db_get_text(env->db, &head, "SELECT head FROM stages WHERE id = ?", "l",
			    stages[i]);
		db_get_text(env->db, &good, "SELECT r.commit_id FROM stages s JOIN runs r"
			    " ON r.id = s.baseline_run_id WHERE s.id = ?", "l", stages[i]);
		if (!tests.len || !head || !good) {
			strbuf_release(&tests);
			free(head);
			free(good);
			continue;
		}
		if (db_exec(env->db, "INSERT INTO bisections (plan_id, stage_id, reason,"
			    " good_commit, bad_commit, tests, state, runs_per_step,"
			    " confirm_runs, created_at, updated_at) VALUES (?, ?, 'auto',"
			    " ?, ?, ?, 'requested', ?, ?, ?, ?)", "llsssiill", plan_id,
			    stages[i], good, head, tests.buf, (int)env->cfg->bisect_runs,
			    (int)env->cfg->confirm_runs, now_wall_ms(), now_wall_ms()) == 0) {
			id = db_last_id(env->db);
			db_event(env->db, "bisection", plan_id, stages[i], 0, id,
				 "{\"state\":\"requested\"}");
			info("plan %s: bisection %lld of %.12s started: %s", plan->name,
			     id, head, tests.buf);
		}
		strbuf_release(&tests);
		free(head);
		free(good);
	}
	return 0;
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
