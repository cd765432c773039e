#ifndef ENGINE_H
#define ENGINE_H

#include <stdio.h>

#include "config.h"
#include "db.h"

/*
 * engine: the daemon's event loop and what it decides.
 *
 *  - a pass: every plan is written to the database (plans, stages), every
 *    stage head resolved (plan.h), and a run queued for each head that has
 *    none under the plan's profile, lowest stage first
 *  - scheduling: queued runs go to idle executor slots
 *  - after a run: every stage of its plan is compared with its baseline
 *    (compare.h) and gets a verdict: green, red (regressions), error
 *    (build or infrastructure failure), or queued / running / waiting
 *  - bisections are driven from here (bisector.h)
 *
 * One thread owns the loop.  Other threads (HTTP) change state only
 * through the modules that own the tables and then call engine_notify()
 * with what changed.
 * Signals (SIGCHLD, SIGTERM, SIGINT, SIGHUP) must be blocked in every
 * thread before engine_init(): the loop reads them from a signalfd.
 */

struct engine;

struct engine_options {
	int once;		/* stop when there is nothing left to do */
	const char *const *plan_paths;	/* overrides the config's plans */
	size_t nr_plan_paths;
};

/* NULL on failure (logged, or *err for bad configuration). */
struct engine *engine_new(struct kstage_config *cfg,
			  const struct engine_options *opt, char **err);
void engine_free(struct engine *e);

/* Run the loop until stopped (SIGTERM/SIGINT) or, with once, done. */
int engine_loop(struct engine *e);

/*
 * What changed, for the loop.  Other threads change the database through
 * the module that owns the table, commit, and then tell the loop what
 * they changed; the loop acts on that alone (no polling of the tables).
 */
enum wake_kind {
	WAKE_PASS,		/* re-read the plans' branches */
	WAKE_RUN,		/* run id was queued or canceled */
	WAKE_BISECTION,		/* bisection id was requested or canceled */
	WAKE_PLAN,		/* plan id's acks changed: judge it again */
	WAKE_ALL,		/* anything: look at every plan */
};

/* From any thread: tell the loop.  Async-signal-safe, never blocks. */
void engine_notify(struct engine *e, enum wake_kind kind, long long id);

/* engine_notify() with WAKE_PASS (pass) or WAKE_ALL. */
void engine_wake(struct engine *e, int pass);

/* From any thread: ask the loop to stop. */
void engine_stop(struct engine *e);

#endif
