#ifndef CHILD_H
#define CHILD_H

#include <sys/types.h>

/*
 * child: start, signal and reap a child process that leads its own
 * process group, in the manner of git's run-command.
 *
 *	struct child c = CHILD_INIT;
 *
 *	c.argv = argv;			(borrowed)
 *	c.env = envp;			(borrowed: the whole environment)
 *	c.cwd = dir;
 *	c.out = c.err = pipe_fd[1];	(borrowed: still the caller's)
 *	if (child_start(&c) < 0)
 *		return error("cannot run %s: %s", argv[0], strerror(errno));
 *	close(pipe_fd[1]);
 *	...
 *	while ((pid = child_reap_any(&status)) > 0)
 *		if (child_reaped(&c, pid, status))
 *			...			(c.status, c.pgid still valid)
 *
 * The child gets exactly what struct child says and nothing else: the
 * given argv and environment (nothing of the daemon's), the three given
 * descriptors as its 0, 1 and 2, and no other descriptor at all (not even
 * one the daemon inherited without close-on-exec from whoever started it).
 * It leads a new process group, with default signal dispositions, an
 * empty signal mask, and SIGKILL as its parent-death signal.
 *
 * Nothing here blocks for long: child_start() waits only until the child
 * has called execve() (or failed to); reaping is the caller's, with
 * child_reap_any() and child_reaped() in its event loop.
 */

struct child {
	/*
	 * Set by the caller.  All borrowed, and read only by child_start():
	 * they must stay valid until it returns, not longer.
	 */
	char *const *argv;	/* NULL-terminated; argv[0] is the program */
	char *const *env;	/* the child's whole environment; NULL = empty */
	const char *cwd;	/* the child's directory; NULL = the daemon's */
	/*
	 * The descriptors that become the child's 0, 1 and 2 (the same one
	 * may be given twice, e.g. out == err); -1 gives it /dev/null.
	 * child_start() neither closes them nor keeps them: the caller
	 * closes its own copies after child_start() returns (the write end
	 * of an output pipe at once, so that EOF comes when the child's
	 * copies are gone).
	 */
	int in, out, err;

	/* Set by child_start() and child_reaped(). */
	pid_t pid;		/* the leader while it runs; 0 before and once reaped */
	pid_t pgid;		/* its process group (== the leader's pid), kept
				 * after the leader is reaped: the rest of the
				 * group may still run */
	int status;		/* wait status, once reaped */
	/*
	 * After child_start() failed: the step that failed, for messages
	 * (a static string: "PATH" when argv[0] was not found, "fork",
	 * "setpgid", "dup2", "chdir", "execve", ...); NULL otherwise.
	 */
	const char *failed;
	pid_t guard;		/* its guard (child_guard_start()), or 0 */
};

#define CHILD_INIT { .in = -1, .out = -1, .err = -1 }

/*
 * Start c.  argv[0] without a '/' is looked up on the daemon's PATH (not
 * the child's, as execvp(3) does), and a relative program path is taken
 * relative to the daemon's directory, not to c->cwd; all of it before
 * fork(), as the child must not allocate.
 *
 * Returns 0 with c->pid and c->pgid set, or -1 with errno set (ENOENT for
 * a program not found, else the errno of what failed, in the daemon or in
 * the child before execve()) and c->failed saying what it was.  A child
 * that failed to exec has been reaped: nothing is left to wait for, and
 * c->pid is 0.  Does not log.
 *
 * Call it from a thread that outlives the child (the event loop's): the
 * parent-death signal comes when the thread that forked exits, not only
 * when the whole daemon does.
 */
int child_start(struct child *c);

/*
 * Send sig to c's whole process group (which outlives its leader).
 * 0, or -1 with errno set (ESRCH: no such group, or c never started).
 */
int child_kill(const struct child *c, int sig);

/*
 * One exited child of this process, any child (waitpid(-1, WNOHANG),
 * retried on EINTR): its pid and *status, 0 if none has exited yet, -1
 * (ECHILD) if there are no children.  The daemon is a child subreaper, so
 * this also reaps orphans that were re-parented to it.
 */
pid_t child_reap_any(int *status);

/*
 * Was pid (reaped with status) the leader of c?  If so, c->status is set,
 * c->pid becomes 0, and 1 is returned; otherwise 0 and c is unchanged.
 */
int child_reaped(struct child *c, pid_t pid, int status);

/*
 * The sweep for processes that left their group: send sig to every
 * process (but this one) whose environment holds key_value ("KEY=VALUE",
 * the whole entry, VALUE not empty) as read from /proc/PID/environ, all
 * of it, up to the kernel's limit on an environment.  Processes whose
 * environment cannot be read (other users') are skipped.  Returns how many were signalled, or -1 with
 * errno set (EINVAL for a key_value without a '=' or without a value: a
 * sweep for an empty value would hit every process that has one).
 */
int child_kill_by_env(const char *key_value, int sig);

/*
 * A guard for a started child: a process of its own ("SELF step-guard
 * PARENT PGID KEY=VALUE", an exec of the kstage binary self) that waits
 * while the daemon lives.  When the daemon dies, even by SIGKILL (the
 * guard's parent-death signal), the guard kills c's process group and
 * every process whose environment holds KEY=VALUE (child_kill_by_env()),
 * so that nothing of a step outlives the daemon.  child_guard_stop() ends
 * it quietly once the daemon is done with the group.  0 (c->guard set) or
 * -1 (logged; the step runs unguarded, the sweep at the next start
 * remains).
 */
int child_guard_start(struct child *c, const char *self, const char *key_value);
void child_guard_stop(struct child *c);

/* The guard's program: "kstage step-guard PARENT PGID KEY=VALUE" (internal). */
int cmd_step_guard(int argc, char **argv);

#endif
