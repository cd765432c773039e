/*
 * executor: the one interface of the two backends (executor.h), and the
 * daemon's record of a local run: the queue (queue.h).
 */
#include <stdlib.h>

#include "exec_local.h"
#include "exec_slurm.h"
#include "executor.h"
#include "log.h"
#include "queue.h"
#include "wrapper.h"
#include "banned.h"

struct executor {
	struct local_exec *local;	/* one of the two */
	struct slurm_exec *slurm;
};

/* --- the daemon's record: the queue ---------------------------------------- */

static int rec_started(void *data, long long run_id, int slot, const char *token,
		       const struct step_def *steps, size_t nr)
{
	return queue_started(data, run_id, slot, token, steps, nr);
}

static int rec_step_started(void *data, long long run_id, size_t idx,
			    const char *name, const char *log, int pid)
{
	return queue_step_started(data, run_id, idx, name, log, pid);
}

static int rec_step_finished(void *data, long long run_id, size_t idx,
			     const char *name, const struct step_end *end)
{
	return queue_step_finished(data, run_id, idx, name, end);
}

static int rec_finish(void *data, long long run_id, const struct run_outcome *o)
{
	return queue_finish(data, run_id, o);
}

static int rec_canceled(void *data, long long run_id)
{
	return queue_finish_canceled(data, run_id);
}

static int rec_requeue(void *data, long long run_id)
{
	return queue_requeue(data, run_id);
}

static int rec_fail(void *data, long long run_id, const char *why)
{
	return queue_fail(data, run_id, why);
}

static void db_record(struct exec_record *rec, struct db *db)
{
	rec->data = db;
	rec->started = rec_started;
	rec->step_started = rec_step_started;
	rec->step_finished = rec_step_finished;
	rec->finish = rec_finish;
	rec->canceled = rec_canceled;
	rec->requeue = rec_requeue;
	rec->fail = rec_fail;
}

/* --- the interface ------------------------------------------------------------ */

struct executor *executor_new(const struct kstage_config *cfg, struct db *db)
{
	struct executor *ex = xcalloc(1, sizeof(*ex));

	if (cfg->slurm) {
		ex->slurm = slurm_new(cfg, db);
		if (!ex->slurm)
			goto fail;
	} else {
		struct local_opts o = { cfg->artifacts, cfg->work, cfg->cache,
					cfg->slots, 0, cfg->jobs, 0 };
		struct exec_record rec;

		db_record(&rec, db);
		ex->local = local_new(&o, &rec);
		if (!ex->local)
			goto fail;
	}
	return ex;
fail:
	free(ex);
	return NULL;
}

void executor_free(struct executor *ex)
{
	if (!ex)
		return;
	local_free(ex->local);
	slurm_free(ex->slurm);
	free(ex);
}

char *executor_slot_tree(const struct kstage_config *cfg, const char *repo_path,
			 int idx)
{
	const char *work = cfg->slurm ? cfg->slurm->work : cfg->work;

	return local_slot_tree(work, repo_path, idx);
}

size_t executor_idle(const struct executor *ex)
{
	return ex->local ? local_idle(ex->local) : slurm_idle(ex->slurm);
}

size_t executor_busy(const struct executor *ex)
{
	return ex->local ? local_busy(ex->local) : slurm_busy(ex->slurm);
}

size_t executor_running(const struct executor *ex, long long *ids, size_t max)
{
	return ex->local ? local_running(ex->local, ids, max)
			 : slurm_running(ex->slurm, ids, max);
}

int executor_start(struct executor *ex, const struct run_spec *spec)
{
	return ex->local ? local_start(ex->local, spec) : slurm_start(ex->slurm, spec);
}

int executor_cancel(struct executor *ex, long long run_id)
{
	return ex->local ? local_cancel(ex->local, run_id)
			 : slurm_cancel(ex->slurm, run_id);
}

int executor_preempt(struct executor *ex, long long run_id)
{
	return ex->local ? local_preempt(ex->local, run_id)
			 : slurm_preempt(ex->slurm, run_id);
}

size_t executor_preempting(const struct executor *ex)
{
	return ex->local ? local_preempting(ex->local) : slurm_preempting(ex->slurm);
}

size_t executor_pollfds(struct executor *ex, struct pollfd *pfd, size_t max,
			double *deadline)
{
	return ex->local ? local_pollfds(ex->local, pfd, max, deadline)
			 : slurm_pollfds(ex->slurm, pfd, max, deadline);
}

size_t executor_service(struct executor *ex, const struct pollfd *pfd,
			size_t npfd, long long *finished, size_t max)
{
	return ex->local ? local_service(ex->local, pfd, npfd, finished, max)
			 : slurm_service(ex->slurm, pfd, npfd, finished, max);
}

void executor_reap(struct executor *ex)
{
	if (ex->local)
		local_reap(ex->local);
	else
		slurm_reap(ex->slurm);
}

void executor_shutdown(struct executor *ex)
{
	if (ex->local)
		local_shutdown(ex->local);
	else
		slurm_shutdown(ex->slurm);
}

int executor_adopt(struct executor *ex, const struct run_spec *spec)
{
	return ex->local ? -1 : slurm_adopt(ex->slurm, spec);
}

void executor_abandon(struct executor *ex, long long run_id)
{
	if (ex->slurm)
		slurm_abandon(ex->slurm, run_id);
}
