/*
 * child: child processes in their own process group (see child.h).
 *
 * child_start() does all the work that may allocate or fail in a
 * complicated way before fork(); between fork() and execve() the child
 * only makes async-signal-safe system calls (the daemon has threads, and
 * one of them may hold the malloc lock at the moment of fork()).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

/*
 * /proc/PID/environ is read in chunks of ENV_CHUNK bytes, up to
 * ENV_MAX: the kernel caps argv and environment together at 3/4 of
 * _STK_LIM (6 MiB), so a real environment always fits; the cap only
 * bounds the time spent on a process that moved its environment
 * elsewhere (prctl PR_SET_MM).
 */
#define ENV_CHUNK ((size_t)64 << 10)
#define ENV_MAX ((size_t)8 << 20)

/* Without close_range(), descriptors are closed one by one up to this. */
#define FD_LOOP_MAX (1 << 20)

/* What the child failed at, reported through the pipe as an index. */
enum child_call {
	CALL_SETPGID,
	CALL_PDEATHSIG,
	CALL_DUP,
	CALL_CHDIR,
	CALL_EXECVE,
};

static const char *const call_names[] = {
	[CALL_SETPGID] = "setpgid",
	[CALL_PDEATHSIG] = "prctl",
	[CALL_DUP] = "dup2",
	[CALL_CHDIR] = "chdir",
	[CALL_EXECVE] = "execve",
};

struct child_report {
	int call;		/* enum child_call */
	int err;		/* its errno */
};

/* Everything the child needs, prepared before fork(). */
struct child_exec {
	const char *prog;
	char *const *argv;
	char *const *env;
	const char *cwd;
	int fd[3];		/* to become 0, 1, 2 */
	int report;		/* write end of the close-on-exec report pipe */
	int fd_max;		/* the loop's bound if close_range() fails */
	pid_t parent;
};

/*
 * The program to run: prog itself if it has a '/', else the first
 * executable prog on PATH (the daemon's, like execvp(3)), made absolute
 * when c->cwd would change what a relative path means.  NULL if none.
 */
static char *find_program(const char *prog, const char *cwd)
{
	const char *p = getenv("PATH");
	char *found = NULL, *abs;

	if (!p)
		p = "/usr/local/bin:/usr/bin:/bin";
	if (strchr(prog, '/'))
		found = xstrdup(prog);
	while (!found && *p) {
		size_t n = strcspn(p, ":");
		struct strbuf sb = STRBUF_INIT;

		strbuf_add(&sb, p, n);
		strbuf_addf(&sb, "/%s", prog);
		if (access(strbuf_str(&sb), X_OK) == 0)
			found = strbuf_detach(&sb);
		strbuf_release(&sb);
		p += n;
		if (*p == ':')
			p++;
	}
	if (!found || !cwd || found[0] == '/')
		return found;
	abs = path_absolute(found);
	free(found);
	return abs;
}

/* The soft limit on descriptors, the bound of the fallback loop. */
static int fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > FD_LOOP_MAX)
		return FD_LOOP_MAX;
	return (int)rl.rlim_cur;
}

/* --- in the child: async-signal-safe calls only ------------------------- */

static void child_fail(int report, enum child_call call) __attribute__((noreturn));

static void child_fail(int report, enum child_call call)
{
	struct child_report r;

	r.call = call;
	r.err = errno;
	/*
	 * No EINTR here: every signal is blocked or has its default action.
	 * The report is smaller than PIPE_BUF, so it arrives whole.
	 */
	if (write(report, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(126);
	_exit(127);
}

/*
 * Make x->fd[] the child's 0, 1 and 2.  Any of them (or the report pipe)
 * may itself sit on 0-2 when the daemon was started with those closed,
 * where dup2() would overwrite it before it is used: first move all of
 * them to 3 or above (still close-on-exec), then dup2() into place, which
 * clears close-on-exec on 0, 1 and 2 only.
 */
static int child_dup_fds(struct child_exec *x)
{
	int i;

	if (x->report < 3 && (x->report = fcntl(x->report, F_DUPFD_CLOEXEC, 3)) < 0)
		return -1;
	for (i = 0; i < 3; i++)
		if (x->fd[i] < 3 && (x->fd[i] = fcntl(x->fd[i], F_DUPFD_CLOEXEC, 3)) < 0)
			return -1;
	for (i = 0; i < 3; i++)
		if (dup2(x->fd[i], i) < 0)
			return -1;
	return 0;
}

/*
 * Close every descriptor but 0-2 and the report pipe (which closes
 * itself at execve()): the daemon's own are close-on-exec, but what it
 * inherited from whoever started it may not be, and a step must not hold
 * on to it.  close_range() needs Linux 5.9; before that, one by one.
 */
static void child_close_others(int keep, int fd_max)
{
	int fd;

	if ((keep == 3 || close_range(3, (unsigned)keep - 1, 0) == 0) &&
	    close_range((unsigned)keep + 1, ~0U, 0) == 0)
		return;
	for (fd = 3; fd < fd_max; fd++)
		if (fd != keep)
			close(fd);
}

/*
 * Default dispositions for every signal, so that no handler of the
 * daemon's runs in the child once the mask is emptied (ignored signals
 * would stay ignored across execve()).  sigaction() fails for SIGKILL,
 * SIGSTOP and the C library's own signals: harmless.
 */
static void child_default_signals(void)
{
	struct sigaction sa;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
}

static void child_exec(struct child_exec *x) __attribute__((noreturn));

static void child_exec(struct child_exec *x)
{
	static char *const no_env[] = { NULL };
	sigset_t none;

	/* Both sides set the group, so neither races the other. */
	if (setpgid(0, 0) < 0)
		child_fail(x->report, CALL_SETPGID);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_fail(x->report, CALL_PDEATHSIG);
	/* The daemon died before prctl(): the signal will never come. */
	if (getppid() != x->parent)
		_exit(127);
	child_default_signals();
	if (child_dup_fds(x) < 0)
		child_fail(x->report, CALL_DUP);
	child_close_others(x->report, x->fd_max);
	if (x->cwd && chdir(x->cwd) < 0)
		child_fail(x->report, CALL_CHDIR);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(x->prog, x->argv, x->env ? x->env : no_env);
	child_fail(x->report, CALL_EXECVE);
}

/* --- in the daemon ------------------------------------------------------ */

/*
 * Fork and run x in the child.  Every signal is blocked across fork() so
 * that none is handled in the child before its dispositions are reset.
 */
static pid_t fork_exec(struct child_exec *x)
{
	sigset_t all, old;
	pid_t pid;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		child_exec(x);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	if (pid > 0)
		setpgid(pid, pid);	/* EACCES once it has exec'd: fine */
	return pid;
}

/*
 * Wait until the child has exec'd (the close-on-exec pipe reads EOF) or
 * reported a failure (then reap it).  0 or -1 with errno set.
 */
static int wait_exec(struct child *c, pid_t pid, int report)
{
	struct child_report r;
	int status = 0;

	if (xread(report, &r, sizeof(r)) != (ssize_t)sizeof(r))
		return 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	c->status = status;
	c->failed = r.call >= 0 && r.call <= CALL_EXECVE ? call_names[r.call] : "exec";
	errno = r.err;
	return -1;
}

int child_start(struct child *c)
{
	struct child_exec x;
	char *prog = NULL;
	int devnull = -1, report[2] = { -1, -1 };
	int ret = -1, e, i;
	pid_t pid;

	c->pid = c->pgid = 0;
	c->status = 0;
	c->failed = NULL;
	prog = find_program(c->argv[0], c->cwd);
	if (!prog) {
		c->failed = "PATH";
		errno = ENOENT;
		goto out;
	}
	if ((c->in < 0 || c->out < 0 || c->err < 0) &&
	    (devnull = xopen("/dev/null", O_RDWR)) < 0) {
		c->failed = "/dev/null";
		goto out;
	}
	if (pipe2(report, O_CLOEXEC) < 0) {
		c->failed = "pipe";
		goto out;
	}
	x.prog = prog;
	x.argv = c->argv;
	x.env = c->env;
	x.cwd = c->cwd;
	x.fd[0] = c->in >= 0 ? c->in : devnull;
	x.fd[1] = c->out >= 0 ? c->out : devnull;
	x.fd[2] = c->err >= 0 ? c->err : devnull;
	x.report = report[1];
	x.fd_max = fd_limit();
	x.parent = getpid();

	pid = fork_exec(&x);
	if (pid < 0) {
		c->failed = "fork";
		goto out;
	}
	close(report[1]);
	report[1] = -1;
	if (wait_exec(c, pid, report[0]) < 0)
		goto out;
	c->pid = c->pgid = pid;
	ret = 0;
out:
	e = errno;
	if (devnull >= 0)
		close(devnull);
	for (i = 0; i < 2; i++)
		if (report[i] >= 0)
			close(report[i]);
	free(prog);
	errno = e;
	return ret;
}

int child_kill(const struct child *c, int sig)
{
	/* Never kill(0) or kill(-1): our own group, or everything. */
	if (c->pgid <= 1) {
		errno = ESRCH;
		return -1;
	}
	return kill(-c->pgid, sig);
}

pid_t child_reap_any(int *status)
{
	pid_t pid;

	do
		pid = waitpid(-1, status, WNOHANG);
	while (pid < 0 && errno == EINTR);
	return pid;
}

int child_reaped(struct child *c, pid_t pid, int status)
{
	if (!c->pid || c->pid != pid)
		return 0;
	c->status = status;
	c->pid = 0;
	return 1;
}

/* --- the sweep ---------------------------------------------------------- */

/*
 * Does the environment block read from fd hold needle as one whole
 * entry?  It is read in chunks and an entry may straddle two of them, so
 * the match is a small state machine over the current entry: how many of
 * its bytes so far equal the start of needle, and whether it still can be
 * needle.
 */
static int environ_has(int fd, const char *needle, size_t nlen)
{
	char buf[ENV_CHUNK];
	size_t total = 0, matched = 0;
	int alive = 1;
	ssize_t n = -1;

	while (total < ENV_MAX && (n = xread(fd, buf, sizeof(buf))) > 0) {
		const char *p = buf, *end = buf + n;

		total += (size_t)n;
		while (p < end) {
			const char *nul = memchr(p, '\0', (size_t)(end - p));
			size_t len = (size_t)((nul ? nul : end) - p);

			if (alive && len <= nlen - matched &&
			    !memcmp(p, needle + matched, len))
				matched += len;
			else
				alive = 0;
			if (!nul)
				break;
			if (alive && matched == nlen)
				return 1;
			matched = 0;
			alive = 1;
			p = nul + 1;
		}
	}
	/* A last entry without its NUL counts too (n == 0: at the end). */
	return n == 0 && alive && matched == nlen;
}

/* Does process pid (a /proc entry name) carry needle in its environment? */
static int pid_has_env(const char *pid, const char *needle, size_t nlen)
{
	char path[300];		/* "/proc/" NAME_MAX "/environ" */
	int fd, ret;

	snprintf(path, sizeof(path), "/proc/%s/environ", pid);
	fd = xopen(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ret = environ_has(fd, needle, nlen);
	close(fd);
	return ret;
}

int child_kill_by_env(const char *key_value, int sig)
{
	const char *eq = strchr(key_value, '=');
	size_t nlen = strlen(key_value);
	pid_t self = getpid();
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (!eq || eq == key_value || !eq[1]) {
		errno = EINVAL;
		return -1;
	}
	d = opendir("/proc");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		pid_t pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)atoi(de->d_name);
		if (pid == self || !pid_has_env(de->d_name, key_value, nlen))
			continue;
		if (kill(pid, sig) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* --- the guard ------------------------------------------------------------ */

int child_guard_start(struct child *c, const char *self, const char *key_value)
{
	char parent[24], pgid[24];
	char *argv[] = { (char *)self, (char *)"step-guard", parent, pgid,
			 (char *)key_value, NULL };
	struct child g = CHILD_INIT;

	c->guard = 0;
	if (!self || c->pgid <= 1)
		return -1;
	snprintf(parent, sizeof(parent), "%d", (int)getpid());
	snprintf(pgid, sizeof(pgid), "%d", (int)c->pgid);
	g.argv = argv;
	if (child_start(&g) < 0)
		return error("cannot start the guard of group %d (%s): %s", (int)c->pgid,
			     g.failed ? g.failed : "?", strerror(errno));
	c->guard = g.pid;
	return 0;
}

void child_guard_stop(struct child *c)
{
	/* Reaped with the daemon's other children (child_reap_any()). */
	if (c->guard > 0)
		kill(c->guard, SIGUSR1);
	c->guard = 0;
}

int cmd_step_guard(int argc, char **argv)
{
	long parent, pgid;
	sigset_t set;
	char *end;
	int sig;

	if (argc != 4)
		return 2;
	parent = strtol(argv[1], &end, 10);
	if (*end || parent <= 1)
		return 2;
	pgid = strtol(argv[2], &end, 10);
	if (*end || pgid <= 1 || !strchr(argv[3], '=') || !strchr(argv[3], '=')[1])
		return 2;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* Replaces the SIGKILL child_start() gave: the guard must act. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0)
		return 1;
	for (;;) {
		if (getppid() != (pid_t)parent) {
			/* The daemon is gone: so is everything of its step. */
			kill(-(pid_t)pgid, SIGKILL);
			child_kill_by_env(argv[3], SIGKILL);
			return 0;
		}
		if (sigwait(&set, &sig) == 0 && sig == SIGUSR1)
			return 0;	/* the daemon is done with the group */
	}
}
