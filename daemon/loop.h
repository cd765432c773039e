#ifndef LOOP_H
#define LOOP_H

#include "config.h"
#include "db.h"

/*
 * loop: the daemon's event loop, and the order in which things happen.
 *
 *  - a pass: every stage head of every plan is resolved (plan.h) and
 *    stored (stages.h), and a run is queued (queue.h) for each head that
 *    has none under the plan's profile, lowest stage first
 *  - scheduling: queued runs go to idle executor slots (executor.h)
 *  - after a change (a pass, a finished run, a wake from another thread):
 *    the plan's stages are judged (stages.h, verdict.h), bisections are
 *    started or canceled (bisector.h), and the gate is updated (gate.h)
 *  - bisections advance on every turn (bisector_tick())
 *
 *  - remotes: a plan with a remote is fetched by a thread of its own
 *    (remote.h); a fetch that moved refs wakes the loop (WAKE_FETCHED),
 *    and WAKE_PASS (POST /api/v1/refresh) or SIGHUP fetch every remote
 *    at once as well
 *
 * One thread owns the loop.  Other threads (HTTP) change state only
 * through the modules that own the tables and then call loop_notify()
 * with what changed.
 * Signals (SIGCHLD, SIGTERM, SIGINT, SIGHUP) must be blocked in every
 * thread before loop_new(): the loop reads them from a signalfd.
 */

struct loop;

struct loop_options {
	int once;		/* stop when there is nothing left to do */
	const char *const *plan_paths;	/* overrides the config's plans */
	size_t nr_plan_paths;
};

/* NULL on failure (logged, or *err for bad configuration). */
struct loop *loop_new(struct kstage_config *cfg, const struct loop_options *opt,
		      char **err);
void loop_free(struct loop *lp);

/* Run the loop until stopped (SIGTERM/SIGINT) or, with once, done. */
int loop_run(struct loop *lp);

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
	WAKE_FETCHED,		/* plan id's remote moved refs: re-read its branches */
	WAKE_ALL,		/* anything: look at every plan */
};

/* From any thread: tell the loop.  Async-signal-safe, never blocks. */
void loop_notify(struct loop *lp, enum wake_kind kind, long long id);

#endif
