/*
 * Unit tests of child processes (child.c) with real processes: exit
 * status, exec failures, the process group, descriptors, environment,
 * directory, killing the group, and the sweep by environment.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "strbuf.h"
#include "wrapper.h"

static char *env_path[] = { "PATH=/usr/bin:/bin", NULL };

/* Wait for c's leader (blocking) and hand the status to child_reaped(). */
static int wait_leader(struct child *c)
{
	pid_t pid = c->pid;
	int status = 0;

	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(child_reaped(c, pid, status), 1);
	assert_int_equal(c->pid, 0);
	return c->status;
}

/* Run c with its stdout into sb; the leader's wait status. */
static int run_capture(struct child *c, struct strbuf *sb)
{
	int out[2];
	char buf[4096];
	ssize_t n;

	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	c->out = out[1];
	assert_int_equal(child_start(c), 0);
	close(out[1]);
	while ((n = xread(out[0], buf, sizeof(buf))) > 0)
		strbuf_add(sb, buf, (size_t)n);
	close(out[0]);
	return wait_leader(c);
}

/* One line from fd (a pipe), without its newline. */
static void read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;

	while (len + 1 < size && xread(fd, buf + len, 1) == 1 && buf[len] != '\n')
		len++;
	buf[len] = '\0';
}

static void test_exit_status(void **state)
{
	char *argv[] = { "sh", "-c", "exit 7", NULL };
	struct child c = CHILD_INIT;
	int status;

	(void)state;
	c.argv = argv;
	c.env = env_path;
	assert_int_equal(child_start(&c), 0);
	assert_null(c.failed);
	assert_int_equal(c.pgid, c.pid);
	status = wait_leader(&c);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
	assert_int_equal(child_reaped(&c, 12345, 0), 0);
}

static void expect_failure(char *prog, const char *cwd, int err, const char *failed)
{
	char *argv[] = { prog, NULL };
	struct child c = CHILD_INIT;
	int status;

	c.argv = argv;
	c.env = env_path;
	c.cwd = cwd;
	errno = 0;
	assert_int_equal(child_start(&c), -1);
	assert_int_equal(errno, err);
	assert_string_equal(c.failed, failed);
	assert_int_equal(c.pid, 0);
	assert_int_equal(c.pgid, 0);
	/* Nothing to reap: a child that failed to exec was reaped already. */
	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_exec_failures(void **state)
{
	char script[] = "/tmp/kstage-unit-child.XXXXXX";
	int fd = mkstemp(script);

	(void)state;
	assert_true(fd >= 0);
	close(fd);			/* mode 0600: not executable */
	expect_failure("kstage-no-such-program", NULL, ENOENT, "PATH");
	expect_failure("/nonexistent/kstage-no-such-program", NULL, ENOENT, "execve");
	expect_failure(script, NULL, EACCES, "execve");
	expect_failure("true", "/nonexistent/dir", ENOENT, "chdir");
	unlink(script);
}

static void test_own_group(void **state)
{
	char *argv[] = { "sh", "-c", "read x", NULL };
	struct child c = CHILD_INIT;
	int in[2];

	(void)state;
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	c.argv = argv;
	c.env = env_path;
	c.in = in[0];
	assert_int_equal(child_start(&c), 0);
	close(in[0]);
	assert_int_equal(c.pgid, c.pid);
	assert_int_equal(getpgid(c.pid), c.pid);
	assert_true(getpgid(c.pid) != getpgrp());
	close(in[1]);			/* EOF: read returns, sh exits */
	assert_true(WIFEXITED(wait_leader(&c)));
}

/*
 * A descriptor the parent holds without close-on-exec (as one inherited
 * from whoever started the daemon would be) does not reach the child.
 */
static void test_no_inherited_fds(void **state)
{
	char *argv[] = { "ls", "/proc/self/fd", NULL };
	struct child c = CHILD_INIT;
	struct strbuf sb = STRBUF_INIT;
	int leak = open("/dev/null", O_RDONLY);
	const char *p, *next;
	int seen[4] = { 0 };

	(void)state;
	assert_true(leak >= 0);
	assert_int_equal(dup2(leak, 50), 50);
	assert_int_equal(dup2(leak, 100), 100);
	assert_int_equal(fcntl(100, F_GETFD), 0);	/* not close-on-exec */
	c.argv = argv;
	c.env = env_path;
	assert_int_equal(run_capture(&c, &sb), 0);
	/* 0, 1, 2, and 3: the directory ls itself opened to list them. */
	for (p = strbuf_str(&sb); *p; p = next) {
		int fd = atoi(p);

		next = p + strcspn(p, "\n");
		next += *next == '\n';
		if (fd < 0 || fd > 3)
			fail_msg("descriptor %d is open in the child:\n%s", fd, sb.buf);
		seen[fd] = 1;
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	strbuf_release(&sb);
	close(100);
	close(50);
	close(leak);
}

static void test_exact_env(void **state)
{
	/* The child's PATH does not matter: env is found on the daemon's. */
	char *env[] = { "A=1", "B=two words", "PATH=/nowhere", NULL };
	char *argv[] = { "env", NULL };
	struct child c = CHILD_INIT;
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	c.argv = argv;
	c.env = env;
	assert_int_equal(run_capture(&c, &sb), 0);
	assert_string_equal(strbuf_str(&sb), "A=1\nB=two words\nPATH=/nowhere\n");
	strbuf_reset(&sb);

	/* NULL is an empty environment, not the daemon's. */
	c = (struct child)CHILD_INIT;
	c.argv = argv;
	assert_int_equal(run_capture(&c, &sb), 0);
	assert_string_equal(strbuf_str(&sb), "");
	strbuf_release(&sb);
}

static void test_cwd(void **state)
{
	char dir[] = "/tmp/kstage-unit-child.XXXXXX";
	char *argv[] = { "pwd", "-P", NULL };
	char *rel[] = { "./pwd-link", NULL };
	struct child c = CHILD_INIT;
	struct strbuf sb = STRBUF_INIT;
	char *real, *cwd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	real = path_real(dir);
	c.argv = argv;
	c.env = env_path;
	c.cwd = dir;
	assert_int_equal(run_capture(&c, &sb), 0);
	strbuf_addch(&sb, 0);
	assert_int_equal(strncmp(sb.buf, real, strlen(real)), 0);
	assert_string_equal(sb.buf + strlen(real), "\n");

	/* A relative program is the daemon's, not one in c.cwd. */
	cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(symlink("/bin/pwd", "pwd-link"), 0);
	c = (struct child)CHILD_INIT;
	c.argv = rel;
	c.env = env_path;
	c.cwd = "/";
	strbuf_reset(&sb);
	assert_int_equal(run_capture(&c, &sb), 0);
	assert_string_equal(strbuf_str(&sb), "/\n");
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	free(real);
	strbuf_release(&sb);
	remove_tree(dir);
}

static void test_kill_reaches_grandchild(void **state)
{
	char *argv[] = { "sh", "-c", "sleep 30 & echo $!; wait", NULL };
	struct child c = CHILD_INIT;
	char line[32];
	int out[2], status = 0;
	pid_t grandchild;

	(void)state;
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	c.argv = argv;
	c.env = env_path;
	c.out = out[1];
	assert_int_equal(child_start(&c), 0);
	close(out[1]);
	read_line(out[0], line, sizeof(line));
	grandchild = (pid_t)atoi(line);
	assert_true(grandchild > 0);
	assert_int_equal(getpgid(grandchild), c.pgid);

	assert_int_equal(child_kill(&c, SIGKILL), 0);
	status = wait_leader(&c);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* We are a subreaper (main): the orphaned grandchild is ours now. */
	assert_int_equal(waitpid(grandchild, &status, 0), grandchild);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(out[0]);

	/* The group is gone; a child that never started has none. */
	assert_int_equal(child_kill(&c, 0), -1);
	c = (struct child)CHILD_INIT;
	assert_int_equal(child_kill(&c, SIGKILL), -1);
	assert_int_equal(errno, ESRCH);
}

/*
 * Three variables of ~85 KiB (one may not exceed 128 KiB) put the token
 * 256 KiB - 7 bytes into the environment: past the 64 KiB the old sweep
 * read, and across a 64 KiB boundary, a natural read size.
 */
#define BIG_VARS 3
#define TOKEN_AT (((size_t)256 << 10) - 7)

static void test_sweep_reads_whole_environ(void **state)
{
	char *argv[] = { "sh", "-c", "echo ready; read x", NULL };
	char *env[BIG_VARS + 3], *big[BIG_VARS];
	struct strbuf token = STRBUF_INIT, other = STRBUF_INIT;
	size_t each = TOKEN_AT / BIG_VARS, used = 0, i;
	struct child c = CHILD_INIT;
	char line[32];
	int in[2], out[2], status;

	(void)state;
	for (i = 0; i < BIG_VARS; i++) {
		/* "BIGn=" and the NUL take 6 bytes; the last one takes the rest. */
		size_t len = (i + 1 < BIG_VARS ? each : TOKEN_AT - used) - 6;

		big[i] = xmalloc(len + 6);
		snprintf(big[i], 6, "BIG%zu=", i);
		memset(big[i] + 5, 'x', len);
		big[i][len + 5] = '\0';
		used += len + 6;
		env[i] = big[i];
	}
	assert_int_equal(used, TOKEN_AT);
	strbuf_addf(&token, "KSTAGE_RUN_TOKEN=unit-child-%d-sweep", (int)getpid());
	env[BIG_VARS] = token.buf;
	env[BIG_VARS + 1] = env_path[0];
	env[BIG_VARS + 2] = NULL;

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	c.argv = argv;
	c.env = env;
	c.in = in[0];
	c.out = out[1];
	assert_int_equal(child_start(&c), 0);
	close(in[0]);
	close(out[1]);
	read_line(out[0], line, sizeof(line));
	assert_string_equal(line, "ready");

	/* Only the whole entry matches: not a prefix, not a longer value. */
	strbuf_add(&other, token.buf, token.len - 1);
	assert_int_equal(child_kill_by_env(other.buf, SIGKILL), 0);
	strbuf_addf(&other, "%cx", token.buf[token.len - 1]);
	assert_int_equal(child_kill_by_env(other.buf, SIGKILL), 0);
	assert_int_equal(child_kill_by_env(token.buf, SIGKILL), 1);
	status = wait_leader(&c);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	close(in[1]);
	close(out[0]);
	for (i = 0; i < BIG_VARS; i++)
		free(big[i]);
	strbuf_release(&token);
	strbuf_release(&other);
}

static void test_sweep_refuses_empty_value(void **state)
{
	(void)state;
	errno = 0;
	assert_int_equal(child_kill_by_env("NOEQUALS", 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(child_kill_by_env("KSTAGE_RUN_TOKEN=", 0), -1);
	assert_int_equal(child_kill_by_env("=value", 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_exec_failures),
		cmocka_unit_test(test_own_group),
		cmocka_unit_test(test_no_inherited_fds),
		cmocka_unit_test(test_exact_env),
		cmocka_unit_test(test_cwd),
		cmocka_unit_test(test_kill_reaches_grandchild),
		cmocka_unit_test(test_sweep_reads_whole_environ),
		cmocka_unit_test(test_sweep_refuses_empty_value),
	};

	/* Orphans of our children come back to us, as to the daemon. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	return cmocka_run_group_tests_name("child", tests, NULL, NULL);
}
