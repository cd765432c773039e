/*
 * bisector_range: a bisection's commits, marks and runs (see
 * bisector_range.h).
 */
#include <stdlib.h>
#include <string.h>

#include "bisector_range.h"
#include "ktap.h"
#include "log.h"
#include "wrapper.h"
#include "banned.h"

/* Is each of the tests failing (bad), all passing (good), or not known? */
static int tests_mark(struct db *db, long long run_id, const char *tests,
		      enum bisect_mark *m)
{
	const char *p;
	int missing = 0, bad = 0;

	for (p = tests; *p; ) {
		size_t len = strcspn(p, "\n");
		char *name = xstrndup(p, len);
		char *status = NULL;
		int rc = db_get_text(db, &status, "SELECT status FROM results WHERE"
				     " run_id = ? AND test = ?", "ls", run_id, name);

		free(name);
		if (rc < 0)
			return -1;
		if (rc == 0)
			missing = 1;
		else if (!strcmp(status, "fail") || !strcmp(status, "error"))
			bad = 1;
		free(status);
		p += len;
		if (*p)
			p++;
	}
	*m = bad ? BISECT_BAD : missing ? BISECT_SKIP : BISECT_GOOD;
	return 0;
}

/*
 * What a finished run says about the bisection's tests: bad if one of them
 * failed, good if all passed, skip if the run cannot tell (the build
 * failed, the boot failed for another reason, a test has no result).
 */
int range_run_mark(struct db *db, long long run_id, const char *tests,
		   enum bisect_mark *m)
{
	sqlite3_stmt *st;
	int rc, judge = 0;

	*m = BISECT_SKIP;
	rc = db_first(db, &st, "SELECT state, coalesce(verdict, ''),"
		      " coalesce(boot_verdict, '') FROM runs WHERE id = ?", "l", run_id);
	if (rc == 1) {
		const char *boot = db_col_text(st, 2);

		judge = !strcmp(db_col_text(st, 0), "done") &&
			strcmp(db_col_text(st, 1), "error") &&
			/* a boot failure unrelated to the tests says nothing */
			(!*boot || !strcmp(boot, "clean") || lines_contain(tests, "boot"));
		db_done(st);
	}
	if (rc < 0)
		return -1;
	return judge ? tests_mark(db, run_id, tests, m) : 0;
}

/* The commit and tree at seq of the range (-1: the good baseline); 1 found. */
int range_commit_at(struct db *db, const struct bis *b, int seq, char **commit,
		    char **tree)
{
	sqlite3_stmt *st;
	int rc = db_first(db, &st, "SELECT commit_id, tree_id FROM bisection_commits"
			  " WHERE bisection_id = ? AND seq = ?", "li", b->id, seq);

	if (rc == 1) {
		*commit = db_col_dup(st, 0);
		*tree = db_col_dup(st, 1);
		db_done(st);
	}
	return rc;
}

int range_set_mark(struct db *db, const struct bis *b, int seq, enum bisect_mark m)
{
	return db_exec(db, "UPDATE bisection_commits SET mark = ? WHERE"
		       " bisection_id = ? AND seq = ?", "sli", bisect_mark_name(m),
		       b->id, seq);
}

/* Runs of the bisection in a phase at seq (-2 = any seq) with a verdict
 * (NULL: none yet; "*": any).  -1 on error. */
long long range_count_runs(struct db *db, long long bid, enum bisect_phase phase,
			   int seq, const char *verdict)
{
	long long n = 0;

	if (db_get_int(db, &n, "SELECT count(*) FROM bisection_runs WHERE"
		       " bisection_id = ? AND phase = ? AND (? = -2 OR seq = ?) AND"
		       " (? = '*' OR ? IS NULL AND verdict IS NULL OR verdict = ?)",
		       "lsiisss", bid, bisect_phase_name(phase), seq, seq,
		       verdict ? verdict : "", verdict, verdict) < 0)
		return -1;
	return n;
}

/*
 * A search commit is decided when all its runs are in: bad if any run was
 * bad, skip if all were skip, good otherwise.
 */
int range_decide_commit(struct db *db, long long bid, int seq,
			unsigned runs_per_step)
{
	long long total = range_count_runs(db, bid, PHASE_SEARCH, seq, "*");
	long long open = range_count_runs(db, bid, PHASE_SEARCH, seq, NULL);
	long long bads = range_count_runs(db, bid, PHASE_SEARCH, seq, "bad");
	long long skips = range_count_runs(db, bid, PHASE_SEARCH, seq, "skip");
	struct bis b = { bid };
	enum bisect_mark m;

	if (total < 0 || open < 0 || bads < 0 || skips < 0)
		return -1;
	if (open || total < (long long)runs_per_step)
		return 0;
	m = bads ? BISECT_BAD : skips == total ? BISECT_SKIP : BISECT_GOOD;
	return range_set_mark(db, &b, seq, m);
}

/* The stage that owns a commit of the plan, and whether it is a stage head. */
static int stage_of(struct db *db, const struct bis *b, const char *commit,
		    char **name, int *boundary)
{
	long long is_head = 0;

	*name = NULL;
	if (db_get_text(db, name, "SELECT s.name FROM stage_commits c JOIN stages s"
			" ON s.id = c.stage_id WHERE s.plan_id = ? AND c.commit_id = ?"
			" ORDER BY s.idx LIMIT 1", "ls", b->plan_id, commit) < 0 ||
	    db_get_int(db, &is_head, "SELECT count(*) FROM stages WHERE plan_id = ?"
		       " AND head = ? AND idx > 0", "ls", b->plan_id, commit) < 0)
		return -1;
	*boundary = is_head > 0;
	return 0;
}

/* The range good..bad into bisection_commits (the good baseline as -1). */
int range_store(struct db *db, const struct bis *b, git_repository *repo,
		const struct commit_info *v, size_t n, const char *gtree,
		char btree[GIT_OID_HEXSZ + 1])
{
	size_t i;

	if (db_exec(db, "DELETE FROM bisection_commits WHERE bisection_id = ?", "l",
		    b->id) < 0 ||
	    db_exec(db, "INSERT INTO bisection_commits (bisection_id, seq,"
		    " commit_id, tree_id, subject, author, stage, boundary, mark)"
		    " VALUES (?, -1, ?, ?, 'the good baseline', '', NULL, 1, 'good')",
		    "lss", b->id, b->good, gtree) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		char id[GIT_OID_HEXSZ + 1];
		char *stage = NULL;
		int boundary = 0, rc;
		git_oid t;

		git_oid_tostr(id, sizeof(id), &v[i].id);
		if (repo_commit_tree(&t, repo, &v[i].id) < 0 ||
		    stage_of(db, b, id, &stage, &boundary) < 0)
			return -1;
		git_oid_tostr(btree, GIT_OID_HEXSZ + 1, &t);
		rc = db_exec(db, "INSERT INTO bisection_commits (bisection_id, seq,"
			     " commit_id, tree_id, subject, author, stage, boundary)"
			     " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "lisssssi", b->id, (int)i,
			     id, btree, v[i].subject, v[i].author, stage,
			     boundary || i == n - 1);
		free(stage);
		if (rc < 0)
			return -1;
	}
	return 0;
}

long long range_nr_commits(struct db *db, const struct bis *b)
{
	long long n = 0;

	if (db_get_int(db, &n, "SELECT count(*) FROM bisection_commits WHERE"
		       " bisection_id = ? AND seq >= 0", "l", b->id) < 0)
		return -1;
	return n;
}

void range_release(struct range *r)
{
	free(r->marks);
	free(r->prio);
}

int range_load(struct db *db, const struct bis *b, struct range *r)
{
	sqlite3_stmt *st;
	long long n = range_nr_commits(db, b);
	int rc;

	memset(r, 0, sizeof(*r));
	if (n < 0)
		return -1;
	r->n = (size_t)n;
	r->marks = xcalloc(r->n ? r->n : 1, sizeof(*r->marks));
	r->prio = xcalloc(r->n ? r->n : 1, sizeof(*r->prio));
	st = db_stmt(db, "SELECT seq, mark, boundary FROM bisection_commits"
		     " WHERE bisection_id = ? AND seq >= 0 ORDER BY seq", "l", b->id);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
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
	return rc < 0 ? -1 : 0;
}

/* Append the short id of commit seq to sb (with a space before it). */
int range_add_commit(struct db *db, const struct bis *b, int seq,
		     struct strbuf *sb, char **commit)
{
	char *c = NULL, *t = NULL;
	int rc = range_commit_at(db, b, seq, &c, &t);

	if (rc == 1 && sb)
		strbuf_addf(sb, " %.12s", c);
	free(t);
	if (commit)
		*commit = c;
	else
		free(c);
	return rc < 0 ? -1 : 0;
}

/* The earlier finished bisection over the same trees and tests, if any. */
int range_find_cached(struct db *db, const struct bis *b, const char *good_tree,
		      const char *bad_tree, long long *old,
		      enum bisection_state *state, char **culprit_tree)
{
	sqlite3_stmt *st;
	int rc;

	rc = db_first(db, &st, "SELECT b.id, b.state, (SELECT tree_id FROM"
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
	if (rc == 1) {
		*old = sqlite3_column_int64(st, 0);
		if (bisection_state_parse(state, db_col_text(st, 1)) < 0)
			rc = -1;
		*culprit_tree = db_col_dup(st, 2);
		db_done(st);
	}
	return rc;
}

int range_copy_marks(struct db *db, const struct bis *b, long long old)
{
	return db_exec(db, "UPDATE bisection_commits SET mark = coalesce((SELECT"
		       " o.mark FROM bisection_commits o WHERE o.bisection_id = ? AND"
		       " o.tree_id = bisection_commits.tree_id AND o.mark != 'pending'"
		       " LIMIT 1), mark) WHERE bisection_id = ?", "ll", old, b->id);
}
