#ifndef EXECUTOR_H
#define EXECUTOR_H

#include <poll.h>
#include <stddef.h>

#include "config.h"
#include "db.h"

/*
 * executor: runs a run, on one of two backends behind this interface;
 * nothing outside the executor knows which one ("executor" in the
 * config):
 *
 *   local     N slots on this machine (exec_local.h), the default
 *   slurm     each run a batch job on a Slurm cluster (exec_slurm.h),
 *             whose job runs "kstage node-run": the same local machinery
 *             on the node, one slot, its record in a file of the run's
 *             artifacts on the shared file system, which the daemon
 *             reads into the database as the job goes
 *
 * A slot owns a persistent source tree and build output directory per
 * repository (work/<repo-key>/slot-N/{tree,out,state}; on a Slurm node,
 * in the node's own work directory).  A run on a slot goes through:
 *
 *   checkout  a thread switches the slot's tree to the run's tree with
 *             libgit2 (only changed files are rewritten, see repo.h)
 *   steps     each profile step as a child process (child.h): its own
 *             process group, argv and environment only, stdin /dev/null,
 *             stdout+stderr through a pipe into NN-STEP.log in the run's
 *             artifact directory (capped: the head up to the profile's
 *             log_max, then the last 64 KiB), no other descriptor, a
 *             timeout (TERM to the group, KILL after kill_grace).  A
 *             step whose program cannot be started ends at once as an
 *             error, with the reason in its log and the run's error.
 *   finish    console logs parsed (ktap.h, console.h), results and the
 *             verdict stored in one transaction.  A read console must
 *             show the profile's "expect" suites (a missing one becomes
 *             an error result under its name; a subset run expects only
 *             the suites it names) and, unless the profile is
 *             "boot_only", at least one result: a clean boot without
 *             any is a run error, "no test results".
 *
 * No process outlives its step: when the step's leader exits, the rest of
 * its process group is killed, and so is every process that still carries
 * the run's KSTAGE_RUN_TOKEN in its environment (which also catches
 * processes that left the group).  The daemon is a child subreaper, so
 * orphans are reaped too.
 *
 * The executor runs inside the event loop (loop.h): it hands out the
 * descriptors it waits on (executor_pollfds), is told when they are ready
 * (executor_service) and when SIGCHLD arrived (executor_reap).  It never
 * blocks, except in executor_shutdown().
 */

struct executor;

struct run_spec {
	long long id;
	long long plan_id;
	long long stage_id;
	const struct plan_def *plan;	/* borrowed: outlives the run */
	const char *stage;		/* "base" or the stage name (borrowed) */
	char commit[41];
	char tree[41];
	const char *tests;		/* newline-separated subset or NULL (copied) */
	/*
	 * The steps of the run: the profile's (steps NULL), or a commit
	 * run's (the profile's each_steps, borrowed like the plan), of which
	 * only the ones named in only run (newline-separated, copied; NULL:
	 * all).  A commit run goes on after a failed step: its checks are
	 * independent (a commit that does not build still gets checkpatch).
	 */
	const struct step_def *steps;
	size_t nr_steps;
	const char *only;
};

struct executor *executor_new(const struct kstage_config *cfg, struct db *db);

/*
 * The source tree of slot idx for the repository at repo_path
 * (work/<repo-key>/slot-N/tree, KSTAGE_TREE of its steps; under the
 * nodes' work directory for Slurm), as a path the caller frees: a build
 * log names its files under it.
 */
char *executor_slot_tree(const struct kstage_config *cfg, const char *repo_path,
			 int idx);
void executor_free(struct executor *ex);

/* Number of idle slots. */
size_t executor_idle(const struct executor *ex);

/* Start a queued run on an idle slot.  0, or -1 (the run is marked done
 * with verdict error and the reason). */
int executor_start(struct executor *ex, const struct run_spec *spec);

/* The ids of the runs on slots now (at most max); returns how many. */
size_t executor_running(const struct executor *ex, long long *ids, size_t max);

/*
 * Stop a running run (its state is already "canceled" in the database):
 * its process group gets TERM, then KILL.  0 if it was running here.
 */
int executor_cancel(struct executor *ex, long long run_id);

/*
 * Stop a running run for one that must go first (a head's run before a
 * commit check): as executor_cancel(), but the run goes back to the
 * queue (running -> queued) instead of ending.  0 if it was running here
 * and not stopping already.
 */
int executor_preempt(struct executor *ex, long long run_id);

/* Number of slots whose run is being stopped by executor_preempt(). */
size_t executor_preempting(const struct executor *ex);

/*
 * Descriptors to poll (at most max) and the earliest deadline (monotonic
 * seconds, unchanged if none is earlier than *deadline).
 */
size_t executor_pollfds(struct executor *ex, struct pollfd *pfd, size_t max,
			double *deadline);

/*
 * Handle ready descriptors and expired timers.  The ids of runs that
 * finished are stored in finished[] (at most max); returns their number.
 */
size_t executor_service(struct executor *ex, const struct pollfd *pfd,
			size_t npfd, long long *finished, size_t max);

/* Reap exited children (after SIGCHLD). */
void executor_reap(struct executor *ex);

/*
 * The daemon stops.  Local: kill everything that runs and wait for it;
 * the runs go back to the queue.  Slurm: the jobs go on, for the next
 * daemon to adopt; only a submission still under way is undone.
 */
void executor_shutdown(struct executor *ex);

/*
 * A run a previous daemon left running: take it over if this executor
 * can (Slurm: its batch job is still known to the cluster; its record
 * is read on from where it is).  0 if adopted; -1 if not (the caller
 * re-queues it).
 */
int executor_adopt(struct executor *ex, const struct run_spec *spec);

/*
 * A run a previous daemon left running that is not adopted (its plan or
 * profile changed, no slot is free for it, or its job is not known):
 * stop what of it may still run elsewhere before it runs again (Slurm:
 * scancel its job, waiting at most one command's timeout).  Local:
 * nothing here; queue_recover() kills the leftovers by their token.
 */
void executor_abandon(struct executor *ex, long long run_id);

/* Number of busy slots. */
size_t executor_busy(const struct executor *ex);

#endif
