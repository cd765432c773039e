#ifndef SLURM_CMD_H
#define SLURM_CMD_H

#include "child.h"
#include "strbuf.h"

/*
 * slurm_cmd: one sbatch, squeue, scontrol or scancel of the Slurm
 * executor (exec_slurm.h), as a child process the event loop follows
 * without waiting: its stdout and stderr on a non-blocking pipe (the
 * first CMD_OUT_MAX bytes kept), the daemon's environment (SLURM_CONF),
 * a timeout after which it is killed.
 *
 *	scmd_init(&c);
 *	scmd_start(&c, "squeue", argv, bin_dir, 30);
 *	... poll c.fd; scmd_read(&c) when readable;
 *	... on SIGCHLD: scmd_reaped(&c, pid, status) for each reaped pid;
 *	... scmd_timer(&c, now) on each turn;
 *	if (scmd_over(&c)) { scmd_ok(&c) ? use c.out : scmd_why(&c);
 *			     scmd_release(&c); }
 */

#define CMD_OUT_MAX ((size_t)1 << 20)

struct scmd {
	const char *what;		/* "sbatch", ... (static) */
	struct child c;
	int fd;				/* its stdout and stderr; -1 once closed */
	struct strbuf out;		/* capped at CMD_OUT_MAX */
	double deadline;
	int active;			/* started, its result not taken yet */
	int reaped;
	int timed_out;
};

void scmd_init(struct scmd *c);

/* Kill it if it runs (and wait for it), close, free; c is as new. */
void scmd_release(struct scmd *c);

/*
 * Start argv (argv[0] the program's name, run from bin_dir, or looked up
 * on PATH when bin_dir is NULL; argv is not kept), to be killed after
 * timeout seconds.  0, or -1 (logged).
 */
int scmd_start(struct scmd *c, const char *what, char **argv,
	       const char *bin_dir, unsigned timeout);

/* Read what is there of its output. */
void scmd_read(struct scmd *c);

/* Was pid (reaped with status) c's?  Then its output is read and closed. */
int scmd_reaped(struct scmd *c, pid_t pid, int status);

/* Kill it once its time is over. */
void scmd_timer(struct scmd *c, double now);

/*
 * Wait for it, blocking, until it ended or its timeout (not on the
 * event loop: at start-up only).  It may still run afterwards: then
 * c->reaped is 0, and scmd_release() kills it.
 */
void scmd_wait(struct scmd *c);

/* Has it ended, its output read?  Then its result is to be taken. */
int scmd_over(const struct scmd *c);

/* It exited 0 in time. */
int scmd_ok(const struct scmd *c);

/* Why it failed: its first line of output, or its status (static buffer). */
const char *scmd_why(const struct scmd *c);

#endif
