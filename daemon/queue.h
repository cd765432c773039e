#ifndef QUEUE_H
#define QUEUE_H

#include "db.h"

/*
 * queue: the life of a run, in the database.
 *
 *   queued -> running -> done        (verdict pass | fail | error)
 *   queued -> superseded             (a newer head of the same stage came)
 *   queued | running -> canceled     (by a user, or a bisection that no
 *                                     longer matters)
 *   running -> queued                (the daemon died; re-queued at start)
 *
 * A run whose (tree, profile digest) was already tested with a reusable
 * outcome is created directly as done, with the results copied and
 * reused_from pointing at the run that did the work: it runs nothing.
 */

struct run_request {
	long long plan_id;
	long long stage_id;		/* 0 = none */
	const char *commit;		/* hex */
	const char *tree;		/* hex */
	const char *profile;		/* profile name */
	const char *digest;		/* profile digest */
	const char *reason;		/* change | manual | retry | confirm | bisect */
	const char *tests;		/* newline-separated subset, NULL = all */
	long long bisection_id;		/* 0 = none */
	int priority;			/* lower runs first */
	int no_reuse;			/* run even if the tree was tested */
	int supersede;			/* cancel queued full runs of the stage */
};

/*
 * Add a run.  Returns its id (> 0), or -1.  *reused (may be NULL) says
 * whether it was satisfied from an earlier run at once.
 */
long long queue_add(struct db *db, const struct run_request *req, int *reused);

/*
 * A queued run about to start: if its (tree, digest) got a reusable
 * outcome since it was queued (an identical run queued beside it
 * finished first), take that outcome.  1 if the run is done now, 0 if it
 * must run, -1 on error.
 */
int queue_reuse_late(struct db *db, long long run_id);

/* The next queued run to start, 0 if none, -1 on error. */
long long queue_next(struct db *db);

/* Number of runs in a state. */
long long queue_count(struct db *db, const char *state);

/* queued -> running on slot, with the token its processes carry. */
int queue_started(struct db *db, long long run_id, int slot, const char *token);

/* Cancel a queued or running run (the executor stops a running one). */
int queue_cancel(struct db *db, long long run_id, const char *why);

/*
 * At start-up: every run left "running" by a dead daemon has its leftover
 * processes killed (found by their KSTAGE_RUN_TOKEN) and goes back to the
 * queue.  Returns the number re-queued.
 */
int queue_recover(struct db *db);

#endif
