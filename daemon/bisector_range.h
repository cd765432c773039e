#ifndef BISECTOR_RANGE_H
#define BISECTOR_RANGE_H

#include <git2.h>

#include "bisect.h"
#include "config.h"
#include "db.h"
#include "repo.h"
#include "states.h"
#include "strbuf.h"

/*
 * bisector_range: the range of a bisection in the database, the commits
 * good..bad with their marks (bisection_commits) and the runs made for
 * them with their verdicts (bisection_runs).  Internal to the bisector:
 * bisector.c drives the states and is the one writer of the bisections
 * table; this file reads and writes the range.  Functions return 0 (or a
 * count, or 1 for "found") and -1 on a database error.
 */

/* A bisection as bisector.c holds it while it works on it. */
struct bis {
	long long id;
	long long plan_id;
	long long stage_id;
	enum bisection_state state;
	char *good;
	char *bad;
	char *tests;
	unsigned runs_per_step;
	unsigned confirm_runs;
	double fail_rate;
	int rounds;
	const struct plan_def *plan;
};

/* Marks and priorities (stage heads) of the range. */
struct range {
	enum bisect_mark *marks;
	size_t *prio;
	size_t n, nprio;
};

/*
 * What a finished run says about the bisection's tests: bad if one of them
 * failed, good if all passed, skip if the run cannot tell (the build
 * failed, the boot failed for another reason, a test has no result).
 */
int range_run_mark(struct db *db, long long run_id, const char *tests,
		   enum bisect_mark *m);

/* The commit and tree at seq of the range (-1: the good baseline); 1 found. */
int range_commit_at(struct db *db, const struct bis *b, int seq, char **commit,
		    char **tree);

int range_set_mark(struct db *db, const struct bis *b, int seq, enum bisect_mark m);

/* Runs of the bisection in a phase at seq (-2 = any seq) with a verdict
 * (NULL: none yet; "*": any).  -1 on error. */
long long range_count_runs(struct db *db, long long bid, enum bisect_phase phase,
			   int seq, const char *verdict);

/*
 * A search commit is decided when all its runs are in: bad if any run was
 * bad, skip if all were skip, good otherwise.
 */
int range_decide_commit(struct db *db, long long bid, int seq,
			unsigned runs_per_step);

/* The range good..bad into bisection_commits (the good baseline as -1). */
int range_store(struct db *db, const struct bis *b, git_repository *repo,
		const struct commit_info *v, size_t n, const char *gtree,
		char btree[GIT_OID_HEXSZ + 1]);

long long range_nr_commits(struct db *db, const struct bis *b);

void range_release(struct range *r);

int range_load(struct db *db, const struct bis *b, struct range *r);

/* Append the short id of commit seq to sb (with a space before it). */
int range_add_commit(struct db *db, const struct bis *b, int seq,
		     struct strbuf *sb, char **commit);

/* The earlier finished bisection over the same trees and tests, if any. */
int range_find_cached(struct db *db, const struct bis *b, const char *good_tree,
		      const char *bad_tree, long long *old,
		      enum bisection_state *state, char **culprit_tree);

/* The marks of bisection old, by tree, onto the commits of b. */
int range_copy_marks(struct db *db, const struct bis *b, long long old);

#endif
