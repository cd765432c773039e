#ifndef EXEC_SLURM_H
#define EXEC_SLURM_H

#include <poll.h>
#include <stddef.h>

#include "config.h"
#include "db.h"
#include "executor.h"

/*
 * exec_slurm: the Slurm backend of the executor (executor.h; "executor":
 * "slurm" and "slurm" in the config, config_slurm.h).
 *
 * Each run is one batch job, submitted with "sbatch --parsable" (an argv,
 * never a shell string; the batch script is the constant two lines
 * "#!/bin/sh" and 'exec "$@"', its arguments the kstage binary, "node-run"
 * and the run's spec file).  The job runs "kstage node-run" (node_run.h)
 * on its node, in the run's artifact directory on the shared file system:
 * the checkout into the node's own persistent tree for the slot, the
 * profile's steps as on local slots, the logs, and the record file.
 *
 * The daemon never waits on Slurm in its loop.  Every sbatch, squeue,
 * scontrol and scancel is a child process with its output on a pipe the
 * loop polls and a timeout of its own (slurm.command_timeout;
 * slurm_cmd.h).  Every slurm.poll seconds it reads what the records
 * gained (step starts and ends go into the database as they come) and
 * asks squeue for the states of its jobs.  A record's last line (the
 * outcome) stands once squeue has seen the job end, COMPLETED; else
 * Slurm's end decides:
 *
 *   COMPLETED, FAILED          the last line; without one, a run error
 *   TIMEOUT, DEADLINE          the running step "timeout", the run an
 *                              error: the job reached its time limit
 *   CANCELLED                  by kstage: canceled (or, preempted by a
 *                              head, back in the queue); by someone else:
 *                              the run is canceled
 *   NODE_FAIL, PREEMPTED,      back in the queue, to run again
 *   BOOT_FAIL
 *   OUT_OF_MEMORY              the last line; without one, a run error
 *                              (the profile's "mem")
 *   unknown to Slurm           (three looks) the last line; without one,
 *                              a run error
 *
 * Placement: a run prefers the node that last ran its stage (its tree and
 * cache are warm): "nodelist" submits with --nodelist=NODE and, when the
 * job still waits after slurm.prefer_wait seconds, takes the requirement
 * away (scontrol update JobId=N NodeList=) so any node may run it; sbatch
 * refusing the node (gone from the cluster) submits again without it.
 * "feature" submits with --prefer=NODE (each node has its name as a
 * feature); "any" states no preference.
 *
 * The job id and the node are in the database (runs.job, runs.node): a
 * daemon that stops leaves the jobs running, and the next one adopts them
 * (executor_adopt()), reading their records from the start and skipping
 * what the database has already.  Canceled and superseded runs are
 * scancel'ed.  Bisections use every slot ("slots" in the config: the
 * most jobs in the cluster at once).
 */

struct slurm_exec;

struct slurm_exec *slurm_new(const struct kstage_config *cfg, struct db *db);
void slurm_free(struct slurm_exec *ex);

size_t slurm_idle(const struct slurm_exec *ex);
size_t slurm_busy(const struct slurm_exec *ex);
size_t slurm_running(const struct slurm_exec *ex, long long *ids, size_t max);
int slurm_start(struct slurm_exec *ex, const struct run_spec *spec);
int slurm_cancel(struct slurm_exec *ex, long long run_id);
int slurm_preempt(struct slurm_exec *ex, long long run_id);
size_t slurm_preempting(const struct slurm_exec *ex);
size_t slurm_pollfds(struct slurm_exec *ex, struct pollfd *pfd, size_t max,
		     double *deadline);
size_t slurm_service(struct slurm_exec *ex, const struct pollfd *pfd,
		     size_t npfd, long long *finished, size_t max);
void slurm_reap(struct slurm_exec *ex);
void slurm_shutdown(struct slurm_exec *ex);
int slurm_adopt(struct slurm_exec *ex, const struct run_spec *spec);
void slurm_abandon(struct slurm_exec *ex, long long run_id);

#endif
