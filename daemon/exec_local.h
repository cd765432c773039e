#ifndef EXEC_LOCAL_H
#define EXEC_LOCAL_H

#include <poll.h>
#include <stddef.h>

#include "executor.h"
#include "queue.h"

/*
 * exec_local: the local backend of the executor (executor.h has the life
 * of a run: checkout, steps, finish).  It runs on slots of this machine,
 * and it is also what "kstage node-run" runs on a Slurm node (exec_slurm.h,
 * node_run.h): one slot there, whose record goes to a file the daemon
 * reads instead of to the database.
 */

/*
 * Who hears of a run's life.  Each returns 0, or -1 (the caller warns:
 * not recorded); finish returns 1 when the run was canceled meanwhile
 * (its results are dropped).  The daemon's record is the queue (queue.h).
 */
struct exec_record {
	void *data;
	int (*started)(void *data, long long run_id, int slot, const char *token,
		       const struct step_def *steps, size_t nr);
	int (*step_started)(void *data, long long run_id, size_t idx,
			    const char *name, const char *log, int pid);
	int (*step_finished)(void *data, long long run_id, size_t idx,
			     const char *name, const struct step_end *end);
	int (*finish)(void *data, long long run_id, const struct run_outcome *o);
	int (*canceled)(void *data, long long run_id);	/* stopped: ends canceled */
	int (*requeue)(void *data, long long run_id);	/* stopped: back in the queue */
	int (*fail)(void *data, long long run_id, const char *why);
};

struct local_opts {
	const char *artifacts;	/* root of the runs' directories (copied) */
	const char *work;	/* root of the slots' trees (copied) */
	const char *cache;	/* KSTAGE_CACHE (copied) */
	unsigned slots;		/* 0 = 1 */
	int first_slot;		/* the index of the first slot */
	unsigned jobs;		/* KSTAGE_JOBS; 0 = the CPUs over the slots */
	int keep_artifacts;	/* the run's directory is made already: keep it */
};

struct local_exec;

struct local_exec *local_new(const struct local_opts *o,
			     const struct exec_record *rec);
void local_free(struct local_exec *ex);

/* work/<repo-key>/slot-N/tree: the tree of slot idx (caller frees). */
char *local_slot_tree(const char *work, const char *repo_path, int idx);

/*
 * artifacts/runs/ID, created (emptied first if clear), as an absolute
 * path the caller frees; NULL (logged) if it cannot be made.
 */
char *local_run_dir(const char *artifacts, long long run_id, int clear);

/*
 * A run's spec kept beyond the caller's: *dst = *src, with copies of its
 * tests and only (freed by the caller: *tests, *only) and the profile's
 * steps when src names none.
 */
void local_spec_copy(struct run_spec *dst, char **tests, char **only,
		     const struct run_spec *src);

/* A fresh run token: 32 hex digits (KSTAGE_RUN_TOKEN). */
void local_token(char out[33]);

/* As the executor_* functions of the same names (executor.h). */
size_t local_idle(const struct local_exec *ex);
size_t local_busy(const struct local_exec *ex);
size_t local_running(const struct local_exec *ex, long long *ids, size_t max);
int local_start(struct local_exec *ex, const struct run_spec *spec);
int local_cancel(struct local_exec *ex, long long run_id);
int local_preempt(struct local_exec *ex, long long run_id);
size_t local_preempting(const struct local_exec *ex);
size_t local_pollfds(struct local_exec *ex, struct pollfd *pfd, size_t max,
		     double *deadline);
size_t local_service(struct local_exec *ex, const struct pollfd *pfd,
		     size_t npfd, long long *finished, size_t max);
void local_reap(struct local_exec *ex);
void local_shutdown(struct local_exec *ex);

#endif
