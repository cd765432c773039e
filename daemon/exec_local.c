/*
 * exec_local: local slots, child processes, logs and results (see
 * executor.h for the life of a run, exec_local.h for who hears of it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "console.h"
#include "exec_local.h"
#include "ktap.h"
#include "log.h"
#include "repo.h"
#include "steplog.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

#define READ_CHUNK ((size_t)64 << 10)
#define READ_BUDGET ((size_t)4 << 20)	/* per slot per wakeup */
#define DRAIN_SECONDS 2.0

enum phase {
	PHASE_IDLE = 0,
	PHASE_CHECKOUT,
	PHASE_STEP,
};

struct slot {
	int idx;
	enum phase phase;
	struct run_spec spec;
	char *tests;			/* owned copy of spec.tests */
	char *only;			/* owned copy of spec.only */
	char *tests_file;		/* the subset as a file (KSTAGE_TESTS_FILE), or NULL */
	char token[33];
	char *artifacts;		/* this run's directory */
	char *rel_artifacts;		/* relative to the artifact root */
	char *tree_dir, *out_dir, *state_file;
	double run_started, steps_seconds;

	/* checkout */
	pthread_t thread;
	int thread_running;
	const char *repo_path;
	git_oid tree_oid;
	struct checkout_stats co_stats;
	int co_ret;

	/* the current step */
	size_t step;
	struct child child;		/* the step's process group */
	pid_t pid;			/* leader; 0 once reaped (= child.pid) */
	int notify_fd;			/* checkout done: write the slot index */
	int status;
	int out_fd;			/* pipe from the step, -1 when closed */
	struct steplog log;		/* its log, capped */
	char *log_rel;
	double step_started, deadline, kill_at, drain_until;
	int timed_out, term_sent, kill_sent;
	int start_failed;		/* the step's program did not start */

	/* the run's outcome so far */
	int canceled;
	int preempted;			/* stopped for a run that goes first: re-queued */
	int error;			/* a step or the checkout failed */
	int reusable;			/* the failure is the tree's, not ours */
	char *error_text;
	char *failed_step;
	struct ktap_report report;
	int have_boot;
	struct console_verdict boot;
	/* A console step's output is parsed as it arrives (all of it, not
	 * just what the log keeps): results go into report from report_mark
	 * on, the boot verdict into next_boot until the step is done. */
	struct ktap_stream *kstream;
	struct console_stream *cstream;
	struct console_verdict next_boot;
	size_t report_mark;
};

struct local_exec {
	struct local_opts o;		/* its strings point to the copies below */
	char *artifacts, *work, *cache;
	struct exec_record rec;
	struct slot *slots;
	size_t nr_slots;
	int done_pipe[2];		/* checkout threads -> loop: slot index */
};

/* --- helpers ------------------------------------------------------------------ */

void local_token(char out[33])
{
	unsigned char raw[16];
	size_t i;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		/* Not secret, only unique: time and pid will do. */
		long long t = now_wall_ms() ^ ((long long)getpid() << 40);
		memcpy(raw, &t, sizeof(t));
		memcpy(raw + 8, &t, sizeof(t));
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* A short, stable directory name for a repository path. */
static void repo_key(char out[17], const char *repo_path)
{
	char *real = path_real(repo_path);
	const char *p = real ? real : repo_path;
	unsigned long long h = 1469598103934665603ULL;

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(out, 17, "%016llx", h);
	free(real);
}

char *local_slot_tree(const char *work, const char *repo_path, int idx)
{
	struct strbuf sb = STRBUF_INIT;
	char key[17];

	repo_key(key, repo_path);
	strbuf_addf(&sb, "%s/%s/slot-%d/tree", work, key, idx);
	return strbuf_detach(&sb);
}

static void set_error(struct slot *s, const char *step, int reusable,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set_error(struct slot *s, const char *step, int reusable,
		      const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (s->error)
		return;
	s->error = 1;
	s->reusable = reusable;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	s->error_text = strbuf_detach(&sb);
	s->failed_step = xstrdup_or_null(step);
}

/*
 * The console step is over: settle its parse.  keep: its results and boot
 * verdict count; otherwise (the step never really ran) they are dropped.
 */
static void end_console(struct slot *s, int timed_out, int keep)
{
	size_t i;

	if (!s->kstream)
		return;
	ktap_stream_end(s->kstream);
	console_stream_end(s->cstream, timed_out);
	s->kstream = NULL;
	s->cstream = NULL;
	if (keep) {
		s->boot = s->next_boot;
		s->have_boot = 1;
		return;
	}
	for (i = s->report_mark; i < s->report.nr; i++) {
		free(s->report.results[i].name);
		free(s->report.results[i].detail);
	}
	s->report.nr = s->report_mark;
}

static void slot_reset(struct slot *s)
{
	end_console(s, 0, 0);
	child_guard_stop(&s->child);
	free(s->tests);
	free(s->only);
	free(s->tests_file);
	free(s->artifacts);
	free(s->rel_artifacts);
	free(s->tree_dir);
	free(s->out_dir);
	free(s->state_file);
	free(s->log_rel);
	free(s->error_text);
	free(s->failed_step);
	ktap_report_release(&s->report);
	if (s->out_fd >= 0)
		close(s->out_fd);
	steplog_release(&s->log);
	{
		int idx = s->idx;

		memset(s, 0, sizeof(*s));
		s->idx = idx;
	}
	s->out_fd = -1;
	s->log = (struct steplog)STEPLOG_INIT;
}

void local_free(struct local_exec *ex)
{
	size_t i;

	if (!ex)
		return;
	for (i = 0; i < ex->nr_slots; i++)
		slot_reset(&ex->slots[i]);
	free(ex->slots);
	close(ex->done_pipe[0]);
	close(ex->done_pipe[1]);
	free(ex->artifacts);
	free(ex->work);
	free(ex->cache);
	free(ex);
}

struct local_exec *local_new(const struct local_opts *o,
			     const struct exec_record *rec)
{
	struct local_exec *ex = xcalloc(1, sizeof(*ex));
	size_t i;

	ex->o = *o;
	ex->o.artifacts = ex->artifacts = xstrdup(o->artifacts);
	ex->o.work = ex->work = xstrdup(o->work);
	ex->o.cache = ex->cache = xstrdup(o->cache);
	ex->rec = *rec;
	ex->nr_slots = o->slots ? o->slots : 1;
	ex->slots = xcalloc(ex->nr_slots, sizeof(*ex->slots));
	for (i = 0; i < ex->nr_slots; i++) {
		/* Zeroed descriptors would be 0, our stdin: none are open yet. */
		ex->slots[i].out_fd = ex->slots[i].log.fd = -1;
		ex->slots[i].idx = o->first_slot + (int)i;
		slot_reset(&ex->slots[i]);
	}
	if (pipe2(ex->done_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		error("pipe: %s", strerror(errno));
		ex->done_pipe[0] = ex->done_pipe[1] = -1;
		local_free(ex);
		return NULL;
	}
	/*
	 * Orphans of our steps (daemonised helpers) are re-parented to us,
	 * not to init, so that they are reaped and accounted for.
	 */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	return ex;
}

size_t local_idle(const struct local_exec *ex)
{
	size_t i, n = 0;

	for (i = 0; i < ex->nr_slots; i++)
		n += ex->slots[i].phase == PHASE_IDLE;
	return n;
}

size_t local_busy(const struct local_exec *ex)
{
	return ex->nr_slots - local_idle(ex);
}

size_t local_running(const struct local_exec *ex, long long *ids, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < ex->nr_slots && n < max; i++)
		if (ex->slots[i].phase != PHASE_IDLE)
			ids[n++] = ex->slots[i].spec.id;
	return n;
}

/*
 * A run that cannot go on is done with verdict error.  If even that
 * cannot be recorded (in the database, it stays queued or running, and
 * the next start re-queues it), say so.
 */
static void fail_run(struct local_exec *ex, long long run_id, const char *why)
{
	if (ex->rec.fail(ex->rec.data, run_id, why) < 0)
		warn("run %lld: its failure is not recorded (%s)", run_id, why);
}

/* --- the record of steps -------------------------------------------------- */

static void step_started_db(struct local_exec *ex, struct slot *s)
{
	const struct step_def *d = &s->spec.steps[s->step];

	if (ex->rec.step_started(ex->rec.data, s->spec.id, s->step, d->name,
				 s->log_rel, (int)s->pid) < 0)
		warn("run %lld: step %s: its start is not recorded", s->spec.id,
		     d->name);
}

static void step_finished_db(struct local_exec *ex, struct slot *s,
			     enum step_state state)
{
	const struct step_def *d = &s->spec.steps[s->step];
	struct step_end end = { state, 0, 0, (long long)s->log.bytes,
				(long long)s->log.dropped };

	if (WIFEXITED(s->status))
		end.exit_code = WEXITSTATUS(s->status);
	else if (WIFSIGNALED(s->status))
		end.signal = WTERMSIG(s->status);
	if (ex->rec.step_finished(ex->rec.data, s->spec.id, s->step, d->name,
				  &end) < 0)
		warn("run %lld: step %s: its end is not recorded", s->spec.id, d->name);
}

/* --- children ---------------------------------------------------------------- */

struct envv {
	char **v;
	size_t nr, alloc;
};

static void env_set(struct envv *e, const char *key, const char *value)
{
	size_t klen = strlen(key), i;
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s=%s", key, value ? value : "");
	for (i = 0; i < e->nr; i++) {
		if (!strncmp(e->v[i], key, klen) && e->v[i][klen] == '=') {
			free(e->v[i]);
			e->v[i] = strbuf_detach(&sb);
			return;
		}
	}
	ALLOC_GROW(e->v, e->nr + 2, e->alloc);	/* and the NULL after it */
	e->v[e->nr++] = strbuf_detach(&sb);
	e->v[e->nr] = NULL;
}

static void env_release(struct envv *e)
{
	size_t i;

	for (i = 0; i < e->nr; i++)
		free(e->v[i]);
	free(e->v);
}

static unsigned jobs_for(const struct local_exec *ex)
{
	long cpus;

	if (ex->o.jobs)
		return ex->o.jobs;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	cpus /= (long)ex->nr_slots;
	return cpus < 1 ? 1 : (unsigned)cpus;
}

static void build_env(struct envv *e, const struct local_exec *ex,
		      const struct slot *s)
{
	static const char *const pass[] = { "PATH", "HOME", "TMPDIR", "USER",
					    "LOGNAME", NULL };
	const struct profile *p = s->spec.plan->profile;
	const char *const *k;
	char num[32];
	size_t i;

	for (k = pass; *k; k++)
		if (getenv(*k))
			env_set(e, *k, getenv(*k));
	if (!getenv("PATH"))
		env_set(e, "PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
	env_set(e, "LANG", "C");
	/* The profile's options first: kstage's own variables win. */
	for (i = 0; i < p->nr_env; i++) {
		char *key = xstrndup(p->env[i], strcspn(p->env[i], "="));

		env_set(e, key, strchr(p->env[i], '=') + 1);
		free(key);
	}
	env_set(e, "KSTAGE_TREE", s->tree_dir);
	/* The tree is a plain directory: git (checkpatch --git) reads here. */
	env_set(e, "KSTAGE_REPO", s->spec.plan->repo);
	env_set(e, "KSTAGE_OUT", s->out_dir);
	env_set(e, "KSTAGE_ARTIFACTS", s->artifacts);
	env_set(e, "KSTAGE_CACHE", ex->o.cache);
	env_set(e, "KSTAGE_COMMIT", s->spec.commit);
	env_set(e, "KSTAGE_TREE_ID", s->spec.tree);
	env_set(e, "KSTAGE_STAGE", s->spec.stage);
	env_set(e, "KSTAGE_PLAN", s->spec.plan->name);
	env_set(e, "KSTAGE_PROFILE", p->name);
	/* The subset to run, by file (write_tests_file()); empty: all. */
	env_set(e, "KSTAGE_TESTS_FILE", s->tests_file ? s->tests_file : "");
	snprintf(num, sizeof(num), "%lld", s->spec.id);
	env_set(e, "KSTAGE_RUN", num);
	env_set(e, "KSTAGE_RUN_TOKEN", s->token);
	snprintf(num, sizeof(num), "%d", s->idx);
	env_set(e, "KSTAGE_SLOT", num);
	snprintf(num, sizeof(num), "%u", jobs_for(ex));
	env_set(e, "KSTAGE_JOBS", num);
}

/* Create the log of the current step of s: NN-STEP.log in the artifacts. */
static int open_log(struct local_exec *ex, struct slot *s, const struct step_def *d)
{
	struct strbuf log = STRBUF_INIT;
	char *abs;
	int ret;

	strbuf_addf(&log, "%s/%02zu-%s.log", s->rel_artifacts, s->step + 1, d->name);
	free(s->log_rel);
	s->log_rel = strbuf_detach(&log);
	abs = path_join(ex->o.artifacts, s->log_rel);
	ret = steplog_open(&s->log, abs, s->spec.plan->profile->log_max);
	free(abs);
	return ret;
}

/*
 * The step's program did not start (not found, or child_start() failed
 * in the daemon or in the child before execve(); err is its errno): say
 * why in the step's log and in the run's error.
 */
static void start_failed(struct slot *s, const struct step_def *d, int err)
{
	const char *what = s->child.failed ? s->child.failed : "exec";
	struct strbuf msg = STRBUF_INIT;

	if (!strcmp(what, "PATH"))
		strbuf_addf(&msg, "%s: not found on PATH", d->argv[0]);
	else if (!strcmp(what, "execve"))
		strbuf_addf(&msg, "cannot run %s: %s", d->argv[0], strerror(err));
	else
		strbuf_addf(&msg, "cannot run %s: %s: %s", d->argv[0], what,
			    strerror(err));
	s->start_failed = 1;
	write_all(s->log.fd, "kstage: ", 8);
	write_all(s->log.fd, msg.buf, msg.len);
	write_all(s->log.fd, "\n", 1);
	set_error(s, d->name, 0, "step %s: %s", d->name, strbuf_str(&msg));
	strbuf_release(&msg);
}

/*
 * Start the current step of slot s: its log, the pipe for its output,
 * its environment, and the process (child.h).  A step whose program does
 * not start is over at once, as if it had exited with status 127 (what a
 * shell reports for a command it cannot run): it is recorded as an error
 * through the same path as any other step.  -1 only when even the log or
 * the pipe could not be made; the step is then not recorded at all.
 */
static int spawn_step(struct local_exec *ex, struct slot *s)
{
	const struct step_def *d = &s->spec.steps[s->step];
	struct envv env = { NULL, 0, 0 };
	int out[2] = { -1, -1 };
	int started, ret = -1;

	s->start_failed = 0;
	if (d->console) {
		s->report_mark = s->report.nr;
		s->kstream = ktap_stream_new(&s->report);
		s->cstream = console_stream_new(&s->next_boot,
						s->spec.plan->profile->end_marker);
	}
	if (open_log(ex, s, d) < 0) {
		set_error(s, d->name, 0, "cannot create the log: %s", strerror(errno));
		goto out;
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		set_error(s, d->name, 0, "cannot set up the step: %s", strerror(errno));
		goto out;
	}
	build_env(&env, ex, s);
	s->child = (struct child)CHILD_INIT;
	s->child.argv = d->argv;
	s->child.env = env.v;
	s->child.cwd = s->artifacts;
	s->child.out = s->child.err = out[1];	/* stdin: /dev/null */
	started = child_start(&s->child) == 0;
	if (!started)
		start_failed(s, d, errno);
	s->child.env = NULL;		/* released below: child_start() is done with it */
	s->pid = s->child.pid;
	if (started) {
		char key[64];

		/* Nothing of the step may outlive the daemon, even a SIGKILLed one. */
		snprintf(key, sizeof(key), "KSTAGE_RUN_TOKEN=%s", s->token);
		child_guard_start(&s->child, self_exe(), key);
	}
	s->status = started ? 0 : W_EXITCODE(127, 0);
	if (started) {
		s->out_fd = out[0];
		out[0] = -1;
		fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
	}
	s->step_started = now_monotonic();
	s->deadline = s->step_started + d->timeout;
	s->kill_at = 0;
	s->drain_until = 0;
	s->timed_out = s->term_sent = s->kill_sent = 0;
	step_started_db(ex, s);
	if (started)
		info("run %lld: %s %s: step %s started (pid %d, timeout %u s)",
		     s->spec.id, s->spec.plan->name, s->spec.stage, d->name,
		     (int)s->pid, d->timeout);
	ret = 0;
out:
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
	env_release(&env);
	return ret;
}

/* --- logs ---------------------------------------------------------------------- */

static void read_output(struct local_exec *ex, struct slot *s)
{
	char buf[READ_CHUNK];
	size_t budget = READ_BUDGET;

	while (s->out_fd >= 0 && budget) {
		ssize_t n = xread(s->out_fd, buf, sizeof(buf));

		if (n > 0) {
			if (s->kstream) {
				ktap_stream_feed(s->kstream, buf, (size_t)n);
				console_stream_feed(s->cstream, buf, (size_t)n);
			}
			if (steplog_add(&s->log, buf, (size_t)n) < 0)
				warn("run %lld: log write: %s", s->spec.id,
				     strerror(errno));
			budget -= (size_t)n < budget ? (size_t)n : budget;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* EOF or error: every writer is gone. */
		close(s->out_fd);
		s->out_fd = -1;
	}
	(void)ex;
}

/* --- finishing ------------------------------------------------------------------ */

static int store_results(struct local_exec *ex, struct slot *s,
			 enum run_verdict verdict, const unsigned counts[TEST_STATUS_COUNT])
{
	struct run_outcome o = { verdict };
	double total = now_monotonic() - s->run_started;
	long long overhead = (long long)((total - s->steps_seconds -
					  s->co_stats.seconds) * 1000);

	o.have_boot = s->have_boot;
	if (s->have_boot) {
		o.boot_verdict = boot_verdict_name(s->boot.verdict);
		o.boot_line = s->boot.line;
		o.boot_text = s->boot.text[0] ? s->boot.text : NULL;
	}
	o.failed_step = s->failed_step;
	o.error = s->error_text;
	memcpy(o.counts, counts, sizeof(o.counts));
	o.reusable = s->error ? s->reusable : 1;
	o.checkout_ms = (long long)(s->co_stats.seconds * 1000);
	o.overhead_ms = overhead < 0 ? 0 : overhead;
	o.results = s->report.results;
	o.nr_results = s->report.nr;
	return ex->rec.finish(ex->rec.data, s->spec.id, &o);
}

/* The boot verdict becomes a result of its own, "boot". */
static void add_boot_result(struct slot *s)
{
	struct ktap_report *r = &s->report;
	struct test_result *t;

	if (!s->have_boot)
		return;
	ALLOC_GROW(r->results, r->nr + 1, r->alloc);
	t = &r->results[r->nr++];
	memset(t, 0, sizeof(*t));
	t->name = xstrdup("boot");
	t->status = s->boot.verdict == BOOT_CLEAN ? TEST_PASS : TEST_FAIL;
	if (s->boot.verdict != BOOT_CLEAN) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "%s%s%s", boot_verdict_name(s->boot.verdict),
			    s->boot.text[0] ? ": " : "", s->boot.text);
		t->detail = strbuf_detach(&sb);
	}
	t->line = s->boot.line;
}

/* The name of the profile's (last) console step, for a run error. */
static const char *console_step(const struct profile *p)
{
	size_t i = p->nr_steps;

	while (i--)
		if (p->steps[i].console)
			return p->steps[i].name;
	return NULL;
}

/*
 * What the profile expects of a console that was read to its end
 * (config.h, "expect" and "boot_only"), before the boot result joins the
 * others.  A suite that reported nothing becomes an error result under
 * its own name; for a run restricted to a subset (a bisection), only the
 * suites the subset names are expected.  A clean boot that reported no
 * result at all is a run error unless the profile only boots: the classic
 * CI lie is a green run that tested nothing.  That error is the tree's
 * (same tree, same profile, same console): reusable, like a build
 * failure.
 */
static void check_expected(struct slot *s)
{
	const struct profile *p = s->spec.plan->profile;
	size_t found = s->report.nr, added;

	if (!s->have_boot)
		return;
	added = ktap_expect_suites(&s->report, p->expect, p->nr_expect,
				   s->tests_file ? s->tests : NULL);
	if (added)
		info("run %lld: %zu expected suite%s reported no results",
		     s->spec.id, added, added == 1 ? "" : "s");
	if (!found && s->boot.verdict == BOOT_CLEAN && !p->boot_only)
		set_error(s, console_step(p), 1, "no test results: the boot was"
			  " clean%s but the console reported no test (a profile"
			  " that only boots says \"boot_only\": true)",
			  p->end_marker ? " and reached the end marker" : "");
}

/* The run is over (all steps, an error, or canceled). */
static void finish_run(struct local_exec *ex, struct slot *s)
{
	unsigned counts[TEST_STATUS_COUNT] = { 0 };
	enum run_verdict verdict;

	if (s->preempted) {
		if (ex->rec.requeue(ex->rec.data, s->spec.id) < 0)
			warn("run %lld: left running; the next start re-queues it",
			     s->spec.id);
		info("run %lld: stopped for a run that goes first, back in the queue",
		     s->spec.id);
		return;
	}
	if (s->canceled) {
		if (ex->rec.canceled(ex->rec.data, s->spec.id) < 0)
			warn("run %lld: its steps still show it running", s->spec.id);
		info("run %lld: canceled", s->spec.id);
		return;
	}
	check_expected(s);
	add_boot_result(s);
	ktap_count(&s->report, counts);
	if (s->error)
		verdict = VERDICT_ERROR;
	else if (counts[TEST_FAIL] || counts[TEST_ERROR])
		verdict = VERDICT_FAIL;
	else
		verdict = VERDICT_PASS;
	switch (store_results(ex, s, verdict, counts)) {
	case 0:
		break;
	case 1:
		/* Canceled in the database while its last step ended. */
		if (ex->rec.canceled(ex->rec.data, s->spec.id) < 0)
			warn("run %lld: its steps still show it running", s->spec.id);
		info("run %lld: canceled as it finished; its results are dropped",
		     s->spec.id);
		return;
	default:
		fail_run(ex, s->spec.id, "cannot store the results");
	}
	info("run %lld: %s %s %.12s: %s (pass %u, fail %u, skip %u, error %u)%s%s",
	     s->spec.id, s->spec.plan->name, s->spec.stage, s->spec.commit,
	     run_verdict_name(verdict),
	     counts[TEST_PASS], counts[TEST_FAIL], counts[TEST_SKIP],
	     counts[TEST_ERROR], s->error_text ? ": " : "",
	     s->error_text ? s->error_text : "");
}

/* The first step from i on that the run runs (spec.only), or nr_steps. */
static size_t next_step(const struct slot *s, size_t i)
{
	while (i < s->spec.nr_steps && s->only &&
	       !lines_contain(s->only, s->spec.steps[i].name))
		i++;
	return i;
}

/*
 * The step's leader exited and its output is drained: record the step,
 * then start the next one or finish the run.  Returns 1 if the run is
 * over.
 */
static int step_done(struct local_exec *ex, struct slot *s)
{
	const struct step_def *d = &s->spec.steps[s->step];
	int ok = WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0;
	enum step_state state;

	s->steps_seconds += now_monotonic() - s->step_started;
	steplog_close(&s->log);

	if (s->canceled)
		state = STEP_ERROR;
	else if (s->timed_out)
		state = STEP_TIMEOUT;
	else if (s->start_failed || (s->error && !s->only))
		state = STEP_ERROR;
	else
		state = ok ? STEP_OK : STEP_FAILED;
	step_finished_db(ex, s, state);
	info("run %lld: %s %s: step %s %s after %.1f s", s->spec.id,
	     s->spec.plan->name, s->spec.stage, d->name, step_state_name(state),
	     now_monotonic() - s->step_started);
	if (s->canceled)
		return 1;

	end_console(s, s->timed_out, d->console && !s->error);
	if (!s->start_failed && !ok) {
		if (s->timed_out && d->console) {
			/* A hung boot is the kernel's verdict, not an error. */
		} else if (s->timed_out) {
			set_error(s, d->name, 0, "step %s: timed out after %u s",
				  d->name, d->timeout);
		} else if (WIFSIGNALED(s->status)) {
			set_error(s, d->name, 0, "step %s: killed by signal %d",
				  d->name, WTERMSIG(s->status));
		} else {
			/* A build failure belongs to the tree: reusable. */
			set_error(s, d->name, !d->console, "step %s: exit status %d",
				  d->name, WEXITSTATUS(s->status));
		}
	}
	if (s->error && !s->only)
		return 1;
	s->step = next_step(s, s->step + 1);
	if (s->step == s->spec.nr_steps)
		return 1;
	return spawn_step(ex, s) < 0 ? 1 : 0;
}

/* --- starting ----------------------------------------------------------------- */


static void *checkout_thread(void *arg)
{
	struct slot *s = arg;
	unsigned char idx = (unsigned char)s->idx;

	s->co_ret = repo_checkout_dir(&s->co_stats, s->repo_path, &s->tree_oid,
				      s->tree_dir, s->state_file);
	/* The pipe holds 64 KiB; one byte per slot never blocks. */
	if (xwrite(s->notify_fd, &idx, 1) != 1)
		abort();
	return NULL;
}

/*
 * The run's test subset, one name per line, in a file of its artifacts
 * (KSTAGE_TESTS_FILE): a list of any length, where one environment
 * variable is capped at 128 KiB by the kernel.  None when there is no
 * subset, or when the boot itself is in it (a crash may come from any
 * test, so all of them run).  0 or -1.
 */
static int write_tests_file(struct slot *s)
{
	struct strbuf sb = STRBUF_INIT;

	free(s->tests_file);
	s->tests_file = NULL;
	if (!s->tests || !*s->tests || lines_contain(s->tests, "boot"))
		return 0;
	s->tests_file = path_join(s->artifacts, "tests-selected.txt");
	strbuf_adds(&sb, s->tests);
	if (sb.len && sb.buf[sb.len - 1] != '\n')
		strbuf_addch(&sb, '\n');
	if (write_file_atomic(s->tests_file, sb.buf, sb.len) < 0) {
		strbuf_release(&sb);
		return error("cannot write %s: %s", s->tests_file, strerror(errno));
	}
	strbuf_release(&sb);
	return 0;
}

char *local_run_dir(const char *artifacts, long long run_id, int clear)
{
	struct strbuf sb = STRBUF_INIT;
	char *dir;

	strbuf_addf(&sb, "runs/%lld", run_id);
	dir = path_join(artifacts, strbuf_str(&sb));
	strbuf_release(&sb);
	/* A run re-queued after a crash starts over in a clean directory. */
	if (clear && remove_tree(dir) < 0 && errno != ENOENT) {
		error("cannot clear %s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	if (mkdir_p(dir, 0755) < 0) {
		error("cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

static int prepare_dirs(struct local_exec *ex, struct slot *s)
{
	struct strbuf sb = STRBUF_INIT;
	char key[17];

	strbuf_addf(&sb, "runs/%lld", s->spec.id);
	s->rel_artifacts = strbuf_detach(&sb);
	s->artifacts = local_run_dir(ex->o.artifacts, s->spec.id,
				     !ex->o.keep_artifacts);
	if (!s->artifacts)
		return -1;

	repo_key(key, s->spec.plan->repo);
	strbuf_addf(&sb, "%s/%s/slot-%d", ex->o.work, key, s->idx);
	s->tree_dir = local_slot_tree(ex->o.work, s->spec.plan->repo, s->idx);
	s->out_dir = path_join(strbuf_str(&sb), "out");
	s->state_file = path_join(strbuf_str(&sb), "state");
	if (mkdir_p(s->out_dir, 0755) < 0) {
		error("cannot create %s: %s", s->out_dir, strerror(errno));
		strbuf_release(&sb);
		return -1;
	}
	if (mkdir_p(ex->o.cache, 0755) < 0) {
		error("cannot create %s: %s", ex->o.cache, strerror(errno));
		strbuf_release(&sb);
		return -1;
	}
	strbuf_release(&sb);
	return write_tests_file(s);
}

void local_spec_copy(struct run_spec *dst, char **tests, char **only,
		     const struct run_spec *src)
{
	*dst = *src;
	dst->tests = *tests = xstrdup_or_null(src->tests);
	dst->only = *only = xstrdup_or_null(src->only);
	if (!dst->steps) {
		dst->steps = src->plan->profile->steps;
		dst->nr_steps = src->plan->profile->nr_steps;
	}
}

int local_start(struct local_exec *ex, const struct run_spec *spec)
{
	struct slot *s = NULL;
	size_t i;
	int rc;

	for (i = 0; i < ex->nr_slots && !s; i++)
		if (ex->slots[i].phase == PHASE_IDLE)
			s = &ex->slots[i];
	if (!s)
		return error("run %lld: no idle slot", spec->id);
	slot_reset(s);
	local_spec_copy(&s->spec, &s->tests, &s->only, spec);
	s->run_started = now_monotonic();
	local_token(s->token);
	if (git_oid_fromstr(&s->tree_oid, spec->tree) < 0) {
		fail_run(ex, spec->id, "bad tree id");
		slot_reset(s);
		return -1;
	}
	if (prepare_dirs(ex, s) < 0) {
		fail_run(ex, spec->id, "cannot prepare the run's directories");
		slot_reset(s);
		return -1;
	}
	if (ex->rec.started(ex->rec.data, spec->id, s->idx, s->token,
			    s->spec.steps, s->spec.nr_steps) < 0) {
		slot_reset(s);
		return -1;
	}
	s->repo_path = spec->plan->repo;
	s->notify_fd = ex->done_pipe[1];
	s->phase = PHASE_CHECKOUT;
	rc = pthread_create(&s->thread, NULL, checkout_thread, s);
	if (rc) {
		fail_run(ex, spec->id, "cannot start the checkout thread");
		slot_reset(s);
		return -1;
	}
	s->thread_running = 1;
	info("run %lld: %s %s %.12s on slot %d%s", spec->id, spec->plan->name,
	     spec->stage, spec->commit, s->idx, spec->tests ? " (subset)" : "");
	return 0;
}

/* The checkout thread of slot s finished. Returns 1 if the run is over. */
static int checkout_done(struct local_exec *ex, struct slot *s)
{
	pthread_join(s->thread, NULL);
	s->thread_running = 0;
	if (s->canceled)
		return 1;
	if (s->co_ret < 0) {
		set_error(s, "checkout", 0, "checkout of tree %s failed", s->spec.tree);
		return 1;
	}
	debug("run %lld: checkout %s, %zu paths, %.3f s", s->spec.id,
	      s->co_stats.full ? "full" : "incremental", s->co_stats.changed,
	      s->co_stats.seconds);
	s->phase = PHASE_STEP;
	s->step = next_step(s, 0);
	if (s->step == s->spec.nr_steps)
		return 1;
	return spawn_step(ex, s) < 0 ? 1 : 0;
}

/* --- the loop's side ---------------------------------------------------------- */

size_t local_pollfds(struct local_exec *ex, struct pollfd *pfd, size_t max,
			double *deadline)
{
	size_t i, n = 0;

	if (n < max) {
		pfd[n].fd = ex->done_pipe[0];
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	for (i = 0; i < ex->nr_slots; i++) {
		struct slot *s = &ex->slots[i];
		double t = 0;

		if (s->phase != PHASE_STEP)
			continue;
		if (s->out_fd >= 0 && n < max) {
			pfd[n].fd = s->out_fd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			n++;
		}
		if (s->pid && !s->term_sent)
			t = s->deadline;
		else if (s->pid && !s->kill_sent)
			t = s->kill_at;
		else if (!s->pid && s->out_fd >= 0)
			t = s->drain_until;
		if (t && t < *deadline)
			*deadline = t;
	}
	return n;
}

/*
 * Signal the step's process group, and every process that left it but
 * still carries the run's token in its environment.
 */
static void signal_group(struct slot *s, int sig)
{
	char key[64];

	child_kill(&s->child, sig);
	snprintf(key, sizeof(key), "KSTAGE_RUN_TOKEN=%s", s->token);
	child_kill_by_env(key, sig);
}

/* Timers of one slot: the step timeout, the kill grace, the drain. */
static void check_timers(struct local_exec *ex, struct slot *s, double now)
{
	const struct profile *p;

	/* An idle slot has no run, hence no plan: look at nothing else. */
	if (s->phase != PHASE_STEP)
		return;
	p = s->spec.plan->profile;
	if (s->pid && !s->term_sent && now >= s->deadline) {
		warn("run %lld: step %s timed out after %u s", s->spec.id,
		     s->spec.steps[s->step].name, s->spec.steps[s->step].timeout);
		s->timed_out = 1;
		s->term_sent = 1;
		s->kill_at = now + p->kill_grace;
		signal_group(s, SIGTERM);
		if (p->kill_grace == 0) {
			s->kill_sent = 1;
			signal_group(s, SIGKILL);
		}
	} else if (s->pid && s->term_sent && !s->kill_sent && now >= s->kill_at) {
		s->kill_sent = 1;
		signal_group(s, SIGKILL);
	}
	(void)ex;
}

/* Is the current step of s over (leader reaped, output drained)? */
static int step_over(struct slot *s, double now)
{
	if (s->pid)
		return 0;
	if (s->out_fd >= 0 && now < s->drain_until)
		return 0;
	if (s->out_fd >= 0) {
		/* Something that escaped the group still holds the pipe. */
		close(s->out_fd);
		s->out_fd = -1;
	}
	return 1;
}

size_t local_service(struct local_exec *ex, const struct pollfd *pfd,
			size_t npfd, long long *finished, size_t max)
{
	size_t i, j, nfin = 0;
	double now;

	for (i = 0; i < npfd; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == ex->done_pipe[0]) {
			unsigned char idx[64];
			ssize_t n = xread(ex->done_pipe[0], idx, sizeof(idx));

			for (j = 0; n > 0 && j < (size_t)n; j++) {
				struct slot *s = &ex->slots[idx[j] % ex->nr_slots];

				if (s->phase == PHASE_CHECKOUT && checkout_done(ex, s)) {
					finish_run(ex, s);
					if (nfin < max)
						finished[nfin++] = s->spec.id;
					slot_reset(s);
				}
			}
			continue;
		}
		for (j = 0; j < ex->nr_slots; j++)
			if (ex->slots[j].phase == PHASE_STEP &&
			    ex->slots[j].out_fd == pfd[i].fd)
				read_output(ex, &ex->slots[j]);
	}
	now = now_monotonic();
	for (j = 0; j < ex->nr_slots; j++) {
		struct slot *s = &ex->slots[j];

		check_timers(ex, s, now);
		while (s->phase == PHASE_STEP && step_over(s, now)) {
			if (step_done(ex, s)) {
				finish_run(ex, s);
				if (nfin < max)
					finished[nfin++] = s->spec.id;
				slot_reset(s);
				break;
			}
		}
	}
	return nfin;
}

void local_reap(struct local_exec *ex)
{
	int status;
	pid_t pid;
	size_t i;

	while ((pid = child_reap_any(&status)) > 0) {
		for (i = 0; i < ex->nr_slots; i++) {
			struct slot *s = &ex->slots[i];

			if (s->phase != PHASE_STEP || !child_reaped(&s->child, pid, status))
				continue;
			s->pid = 0;
			s->status = status;
			/*
			 * The step is over: whatever it left running in its
			 * group, or anywhere with its token, goes now.
			 */
			signal_group(s, SIGKILL);
			child_guard_stop(&s->child);
			s->drain_until = now_monotonic() + DRAIN_SECONDS;
			read_output(ex, s);
		}
		/* Anything else was an orphan re-parented to us: reaped. */
	}
}

static int stop_run(struct local_exec *ex, long long run_id, int preempt)
{
	size_t i;

	for (i = 0; i < ex->nr_slots; i++) {
		struct slot *s = &ex->slots[i];

		if (s->phase == PHASE_IDLE || s->spec.id != run_id)
			continue;
		if (preempt && s->canceled)
			return -1;	/* on its way out already */
		s->canceled = 1;
		s->preempted |= preempt;
		if (s->phase == PHASE_STEP && s->pid) {
			const struct profile *p = s->spec.plan->profile;

			s->term_sent = 1;
			s->kill_at = now_monotonic() + p->kill_grace;
			signal_group(s, SIGTERM);
		}
		return 0;
	}
	return -1;
}

int local_cancel(struct local_exec *ex, long long run_id)
{
	return stop_run(ex, run_id, 0);
}

int local_preempt(struct local_exec *ex, long long run_id)
{
	return stop_run(ex, run_id, 1);
}

size_t local_preempting(const struct local_exec *ex)
{
	size_t i, n = 0;

	for (i = 0; i < ex->nr_slots; i++)
		n += ex->slots[i].phase != PHASE_IDLE && ex->slots[i].preempted;
	return n;
}

void local_shutdown(struct local_exec *ex)
{
	size_t i;
	double until;
	int busy;

	for (i = 0; i < ex->nr_slots; i++) {
		struct slot *s = &ex->slots[i];

		if (s->phase == PHASE_STEP && s->pid)
			signal_group(s, SIGTERM);
	}
	until = now_monotonic() + 5;
	do {
		busy = 0;
		local_reap(ex);
		for (i = 0; i < ex->nr_slots; i++) {
			struct slot *s = &ex->slots[i];

			if (s->phase == PHASE_STEP && s->pid) {
				busy = 1;
				if (now_monotonic() >= until)
					signal_group(s, SIGKILL);
			}
		}
		if (busy)
			usleep(20000);
	} while (busy && now_monotonic() < until + 5);
	for (i = 0; i < ex->nr_slots; i++) {
		struct slot *s = &ex->slots[i];

		if (s->thread_running) {
			pthread_join(s->thread, NULL);
			s->thread_running = 0;
		}
		if (s->phase == PHASE_IDLE)
			continue;
		/* Not the run's fault: it goes back to the queue. */
		if (ex->rec.requeue(ex->rec.data, s->spec.id) < 0)
			warn("run %lld: left running; the next start re-queues it",
			     s->spec.id);
		info("run %lld: interrupted, back in the queue", s->spec.id);
		slot_reset(s);
	}
}
