/*
 * slurm_cmd: the Slurm clients the executor runs (slurm_cmd.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "slurm_cmd.h"
#include "wrapper.h"
#include "banned.h"

extern char **environ;

void scmd_init(struct scmd *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->out.max = CMD_OUT_MAX;
}

void scmd_release(struct scmd *c)
{
	if (c->active && !c->reaped && c->c.pid > 0) {
		child_kill(&c->c, SIGKILL);
		waitpid(c->c.pid, NULL, 0);
	}
	if (c->fd >= 0)
		close(c->fd);
	strbuf_release(&c->out);
	scmd_init(c);
}

void scmd_read(struct scmd *c)
{
	char buf[8192];

	while (c->fd >= 0) {
		ssize_t n = xread(c->fd, buf, sizeof(buf));

		if (n > 0) {
			strbuf_add(&c->out, buf, (size_t)n);	/* capped: keeps the head */
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		close(c->fd);
		c->fd = -1;
	}
}

/* Has c ended, with its output read?  Then its result is to be taken. */
int scmd_over(const struct scmd *c)
{
	return c->active && c->reaped && c->fd < 0;
}

int scmd_ok(const struct scmd *c)
{
	return !c->timed_out && WIFEXITED(c->c.status) && !WEXITSTATUS(c->c.status);
}

/* The first line of its output, for a message (static buffer). */
const char *scmd_why(const struct scmd *c)
{
	static char why[256];
	const char *s = strbuf_str(&c->out);
	size_t n = strcspn(s, "\n");

	if (c->timed_out)
		return "no answer in time";
	if (!n)
		snprintf(why, sizeof(why), "exit status %d, no output",
			 WIFEXITED(c->c.status) ? WEXITSTATUS(c->c.status) : -1);
	else
		snprintf(why, sizeof(why), "%.*s", (int)(n < 200 ? n : 200), s);
	return why;
}


int scmd_start(struct scmd *c, const char *what, char **argv,
	       const char *bin_dir, unsigned timeout)
{
	char *prog = bin_dir ? path_join(bin_dir, argv[0]) : NULL;
	char *name = argv[0];
	int out[2];
	int ret;

	scmd_release(c);
	c->what = what;
	if (pipe2(out, O_CLOEXEC) < 0) {
		free(prog);
		return error("%s: pipe: %s", what, strerror(errno));
	}
	if (prog)
		argv[0] = prog;
	c->c = (struct child)CHILD_INIT;
	c->c.argv = argv;
	c->c.env = environ;		/* SLURM_CONF and the like are the daemon's */
	c->c.out = c->c.err = out[1];
	ret = child_start(&c->c);
	argv[0] = name;		/* the caller's again */
	free(prog);
	close(out[1]);
	if (ret < 0) {
		error("cannot run %s: %s", name, strerror(errno));
		close(out[0]);
		return -1;
	}
	c->fd = out[0];
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
	c->active = 1;
	c->deadline = now_monotonic() + timeout;
	return 0;
}

void scmd_timer(struct scmd *c, double now)
{
	if (c->active && !c->reaped && !c->timed_out && now >= c->deadline) {
		warn("%s: no answer in time: killed", c->what);
		c->timed_out = 1;
		child_kill(&c->c, SIGKILL);
	}
}

int scmd_reaped(struct scmd *c, pid_t pid, int status)
{
	if (!c->active || c->reaped || !child_reaped(&c->c, pid, status))
		return 0;
	c->reaped = 1;
	scmd_read(c);
	/* Nothing of a Slurm client should hold its pipe after it exits. */
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	return 1;
}

void scmd_wait(struct scmd *c)
{
	while (c->active && !c->reaped && now_monotonic() < c->deadline) {
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		int status;

		poll(&pfd, c->fd >= 0 ? 1 : 0, 50);
		scmd_read(c);
		if (waitpid(c->c.pid, &status, WNOHANG) == c->c.pid)
			scmd_reaped(c, c->c.pid, status);
	}
}
