#ifndef QUEUE_H
#define QUEUE_H

#include "db.h"

/*
 * queue: the life of a run, in the database; the one writer of the runs,
 * steps and results tables.
 *
 *   queued -> running -> done        (verdict pass | fail | error)
 *   queued -> superseded             (a newer head of the same stage came)
 *   queued | running -> canceled     (by a user, or a bisection that no
 *                                     longer matters)
 *   running -> queued                (the daemon stopped or died, or a
 *                                     commit check gave its slot to a head;
 *                                     re-queued with its steps and results
 *                                     cleared)
 *
 * A run whose (tree, profile digest) was already tested with a reusable
 * outcome is created directly as done (a commit run, which boots nothing,
 * never stands for another run; each.h reuses its outcomes), with the results copied and
 * reused_from pointing at the run that did the work: it runs nothing.
 *
 * Every change of a run's state is one function here, one transaction
 * (joining the caller's if there is one) with its event, and returns 0 on
 * success, -1 on an error (logged; nothing of it is stored).
 */

#include "config.h"
#include "ktap.h"
#include "states.h"

struct run_request {
	long long plan_id;
	long long stage_id;		/* 0 = none */
	const char *commit;		/* hex */
	const char *tree;		/* hex */
	const char *profile;		/* profile name */
	const char *digest;		/* profile digest */
	enum run_reason reason;
	const char *tests;		/* newline-separated subset, NULL = all */
	const char *steps;		/* REASON_COMMIT: the profile's each_steps
					 * to run, newline-separated; else NULL */
	long long bisection_id;		/* 0 = none */
	int priority;			/* lower runs first */
	int no_reuse;			/* run even if the tree was tested */
	int supersede;			/* supersede queued full runs of the stage */
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

/* Number of runs in a state, or -1. */
long long queue_count(struct db *db, enum run_state state);

/*
 * queued -> running on a slot, with the token its processes carry; the
 * run's steps (steps[0..nr-1]: the profile's, or its each_steps for a
 * commit run) are created pending.
 */
int queue_started(struct db *db, long long run_id, int slot, const char *token,
		  const struct step_def *steps, size_t nr);

/*
 * A running run's batch job (exec_slurm.h) and the node it runs on, each
 * when not NULL; both are cleared when it goes back to the queue.
 */
int queue_set_job(struct db *db, long long run_id, const char *job,
		  const char *node);

/*
 * The commit runs (REASON_COMMIT) of a stage that are still queued are
 * superseded: its head moved.  Returns how many, or -1.
 */
int queue_supersede_commits(struct db *db, long long stage_id);

/* Step idx of a run started (its log, relative to the artifact root). */
int queue_step_started(struct db *db, long long run_id, size_t idx,
		       const char *name, const char *log, int pgid);

struct step_end {
	enum step_state state;
	int exit_code;			/* when it exited */
	int signal;			/* when a signal killed it, else 0 */
	long long log_bytes, log_dropped;
};

int queue_step_finished(struct db *db, long long run_id, size_t idx,
			const char *name, const struct step_end *end);

/* What a finished run found. */
struct run_outcome {
	enum run_verdict verdict;
	int have_boot;
	const char *boot_verdict;	/* when have_boot */
	unsigned boot_line;
	const char *boot_text;		/* may be NULL */
	const char *failed_step;	/* may be NULL */
	const char *error;		/* may be NULL */
	unsigned counts[TEST_STATUS_COUNT];
	int reusable;			/* the outcome may stand for its tree */
	long long checkout_ms, overhead_ms;
	const struct test_result *results;
	size_t nr_results;
};

/*
 * running -> done: the results, the verdict, the skipped steps.  0, or 1
 * when the run is no longer running (canceled meanwhile): nothing stored.
 */
int queue_finish(struct db *db, long long run_id, const struct run_outcome *o);

/* A canceled run's slot let go of it: its steps end as skipped. */
int queue_finish_canceled(struct db *db, long long run_id);

/* A run that could not even start: done with verdict error and why. */
int queue_fail(struct db *db, long long run_id, const char *why);

/*
 * Cancel a queued or running run (the executor stops a running one when
 * the loop is told).  0 canceled, 1 it was not queued or running, -1.
 */
int queue_cancel(struct db *db, long long run_id, const char *why);

/* running -> queued: interrupted, not its fault; steps and results go. */
int queue_requeue(struct db *db, long long run_id);

/*
 * At start-up: every run left "running" by a dead daemon, except the
 * keep[0..nr_keep-1] the executor adopted, has its leftover processes
 * killed (found by their KSTAGE_RUN_TOKEN) and goes back to the queue.
 * Returns the number re-queued, or -1.
 */
int queue_recover(struct db *db, const long long *keep, size_t nr_keep);

#endif
