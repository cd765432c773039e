#ifndef BISECTOR_H
#define BISECTOR_H

#include "config.h"
#include "db.h"
#include "states.h"

/*
 * bisector: automatic bisection of regressions, driven by the event
 * loop, stored in SQLite so that it survives a restart.  The one writer
 * of the bisections, bisection_commits and bisection_runs tables: the API
 * asks and cancels through bisector_request() and bisector_cancel().
 *
 * A bisection goes through:
 *
 *   requested   created by bisector_request(): for a red stage by
 *               bisector_auto(), or by a person through the API
 *   confirming  the failing tests are rerun on the bad head and the good
 *               baseline (confirm_runs each, never from cache).  If they do
 *               not fail every time on the bad head, or fail on the good
 *               baseline, the failure is flaky: the bisection ends as
 *               "flaky" with the observed fail rate, unless runs_per_step
 *               > 1, in which case it searches with that many runs per
 *               commit and states its confidence.
 *   searching   k-ary search (bisect.h) over the first-parent commits of
 *               good..bad, stage heads first; with P free slots, P commits
 *               per round (a round's points are chosen once every result
 *               of the round before is in).  The range spans several
 *               stages when the stage below could not serve as baseline
 *               (its run was an error): the culprit's stage is named.  A commit is tested with only the failing tests
 *               (KSTAGE_TESTS_FILE); its verdict is bad if one of them fails,
 *               good if all pass, skip if the build failed, the boot failed
 *               for another reason, or a test has no result.  Any commit
 *               whose tree was tested before under the same profile costs
 *               no run.
 *   verifying   the culprit is rerun (it must fail) and so is its parent
 *               (it must pass), never from cache
 *   found | inconclusive | flaky | not-reproduced | canceled | error
 *
 * A bisection whose trees (good, bad) and tests equal those of a finished
 * one is answered from it with zero runs.  A newer head of the stage
 * cancels the bisections of older heads.
 */

struct bisect_env {
	struct db *db;
	const struct kstage_config *cfg;
	void *payload;
	/* The loaded plan with this database id, or NULL. */
	const struct plan_def *(*plan)(void *payload, long long plan_id);
	/* Slots not busy now (for k-ary rounds). */
	size_t (*free_slots)(void *payload);
};

/*
 * Ask for a bisection of a stage's head (the loop starts it on its next
 * tick).  From any thread, with that thread's connection.
 */
struct bisect_request {
	long long plan_id;
	long long stage_id;
	const char *tests;		/* newline-separated; NULL: the stage's
					   regressions (and missing tests, unless
					   automatic) */
	int automatic;			/* reason "auto", else "manual" */
	unsigned runs_per_step;
	unsigned confirm_runs;
};

struct bisect_answer {
	const char *refused;		/* why not (a sentence), or NULL */
	long long existing;		/* an unfinished one already asks this */
};

/*
 * The new bisection's id (> 0); 0 when none was made (ans says why: a
 * refusal, or an existing one); -1 on error.  The good commit is the one
 * the stage was compared with (its baseline run's), else the nearest
 * stage head below; the bad one is the stage's head.
 */
long long bisector_request(struct db *db, const struct bisect_request *req,
			   struct bisect_answer *ans);

/*
 * Cancel a bisection: its queued and running runs are canceled (the loop
 * stops running ones when told) and it ends as canceled.  From any thread.
 * 0 done, 1 already finished, 2 no such bisection, -1 error.
 */
int bisector_cancel(struct db *db, long long id, const char *why);

/*
 * After a stage's verdict changed: request a bisection for every red
 * stage of the plan that has none for its head yet (if the config's
 * auto_bisect), and cancel bisections of heads that are no longer current.
 */
int bisector_auto(struct bisect_env *env, const struct plan_def *plan,
		  long long plan_id);

/* A run finished: record its verdict if a bisection made it. */
int bisector_run_finished(struct bisect_env *env, long long run_id);

/* Advance every active bisection as far as possible without waiting. */
int bisector_tick(struct bisect_env *env);

/*
 * At start-up: commits marked pending whose runs are gone go back to
 * untested (their runs were re-queued by queue_recover, or lost).
 */
int bisector_resume(struct bisect_env *env);

#endif
