/*
 * node_run: a run on a Slurm node (node_run.h), through the local
 * executor with a record file for the daemon instead of the database.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "config.h"
#include "exec_local.h"
#include "json.h"
#include "log.h"
#include "node_run.h"
#include "options.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

static const char node_run_usage[] =
	"usage: kstage node-run SPEC\n"
	"\n"
	"Run one run on this node, as a Slurm batch job of the daemon's Slurm\n"
	"executor does: SPEC is the run's spec file, written by the daemon into\n"
	"the run's artifact directory.  Internal: the daemon submits it.\n";

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* --- the record ------------------------------------------------------------- */

struct record {
	int fd;
	const char *node, *job;
};

/* Append one line (the object in sb, without its newline) in one write. */
static int put_line(struct record *r, struct strbuf *sb)
{
	int ret;

	strbuf_addch(sb, '\n');
	ret = write_all(r->fd, sb->buf, sb->len);
	if (ret < 0)
		error("cannot write the record: %s", strerror(errno));
	strbuf_release(sb);
	return ret;
}

static void key_str(struct strbuf *sb, const char *key, const char *v)
{
	json_key(sb, key);
	if (v)
		json_str(sb, v);
	else
		strbuf_adds(sb, "null");
}

static void key_int(struct strbuf *sb, const char *key, long long v)
{
	json_key(sb, key);
	json_int(sb, v);
}

static void open_event(struct strbuf *sb, const char *event)
{
	strbuf_addch(sb, '{');
	key_str(sb, "event", event);
}

static int rec_started(void *data, long long run_id, int slot, const char *token,
		       const struct step_def *steps, size_t nr)
{
	struct record *r = data;
	struct strbuf sb = STRBUF_INIT;

	(void)run_id, (void)token, (void)steps, (void)nr;
	open_event(&sb, "start");
	key_str(&sb, "node", r->node);
	key_str(&sb, "job", r->job);
	key_int(&sb, "slot", slot);
	key_int(&sb, "pid", getpid());
	strbuf_addch(&sb, '}');
	return put_line(r, &sb);
}

static int rec_step_started(void *data, long long run_id, size_t idx,
			    const char *name, const char *log, int pid)
{
	struct strbuf sb = STRBUF_INIT;

	(void)run_id;
	open_event(&sb, "step");
	key_int(&sb, "idx", (long long)idx);
	key_str(&sb, "name", name);
	key_str(&sb, "log", log);
	key_int(&sb, "pid", pid);
	strbuf_addch(&sb, '}');
	return put_line(data, &sb);
}

static int rec_step_finished(void *data, long long run_id, size_t idx,
			     const char *name, const struct step_end *end)
{
	struct strbuf sb = STRBUF_INIT;

	(void)run_id;
	open_event(&sb, "step-end");
	key_int(&sb, "idx", (long long)idx);
	key_str(&sb, "name", name);
	key_str(&sb, "state", step_state_name(end->state));
	key_int(&sb, "exit", end->exit_code);
	key_int(&sb, "signal", end->signal);
	key_int(&sb, "log_bytes", end->log_bytes);
	key_int(&sb, "log_dropped", end->log_dropped);
	strbuf_addch(&sb, '}');
	return put_line(data, &sb);
}

void node_outcome_line(struct strbuf *sb, const struct run_outcome *o)
{
	size_t i;

	open_event(sb, "finish");
	key_str(sb, "verdict", run_verdict_name(o->verdict));
	key_str(sb, "failed_step", o->failed_step);
	key_str(sb, "error", o->error);
	json_key(sb, "reusable");
	strbuf_adds(sb, o->reusable ? "true" : "false");
	key_int(sb, "checkout_ms", o->checkout_ms);
	key_int(sb, "overhead_ms", o->overhead_ms);
	json_key(sb, "boot");
	if (o->have_boot) {
		strbuf_addch(sb, '{');
		key_str(sb, "verdict", o->boot_verdict);
		key_int(sb, "line", o->boot_line);
		key_str(sb, "text", o->boot_text);
		strbuf_addch(sb, '}');
	} else {
		strbuf_adds(sb, "null");
	}
	json_key(sb, "results");
	strbuf_addch(sb, '[');
	for (i = 0; i < o->nr_results; i++) {
		const struct test_result *t = &o->results[i];

		json_sep(sb);
		strbuf_addch(sb, '[');
		json_str(sb, t->name);
		json_sep(sb);
		json_str(sb, test_status_name(t->status));
		json_sep(sb);
		if (t->detail)
			json_str(sb, t->detail);
		else
			strbuf_adds(sb, "null");
		json_sep(sb);
		json_int(sb, t->line);
		strbuf_addch(sb, ']');
	}
	strbuf_adds(sb, "]}");
}

static int rec_finish(void *data, long long run_id, const struct run_outcome *o)
{
	struct strbuf sb = STRBUF_INIT;

	(void)run_id;
	node_outcome_line(&sb, o);
	return put_line(data, &sb);
}

static int rec_canceled(void *data, long long run_id)
{
	struct strbuf sb = STRBUF_INIT;

	(void)run_id;
	open_event(&sb, "canceled");
	strbuf_addch(&sb, '}');
	return put_line(data, &sb);
}

static int rec_fail(void *data, long long run_id, const char *why)
{
	struct strbuf sb = STRBUF_INIT;

	(void)run_id;
	error("%s", why);
	open_event(&sb, "error");
	key_str(&sb, "why", why);
	strbuf_addch(&sb, '}');
	return put_line(data, &sb);
}

/* --- the daemon's side of a "finish" line ------------------------------------ */

int node_outcome_parse(json_t *line, struct run_outcome *o,
		       struct ktap_report *results, const char **why)
{
	json_t *boot = json_object_get(line, "boot");
	json_t *res = json_object_get(line, "results"), *r;
	const char *verdict = json_string_value(json_object_get(line, "verdict"));
	size_t i;

	memset(o, 0, sizeof(*o));
	memset(results, 0, sizeof(*results));
	*why = "a bad verdict";
	if (!verdict || run_verdict_parse(&o->verdict, verdict) < 0)
		return -1;
	o->failed_step = json_string_value(json_object_get(line, "failed_step"));
	o->error = json_string_value(json_object_get(line, "error"));
	o->reusable = json_is_true(json_object_get(line, "reusable"));
	o->checkout_ms = json_integer_value(json_object_get(line, "checkout_ms"));
	o->overhead_ms = json_integer_value(json_object_get(line, "overhead_ms"));
	if (json_is_object(boot)) {
		enum boot_verdict bv;

		o->have_boot = 1;
		o->boot_verdict = json_string_value(json_object_get(boot, "verdict"));
		*why = "a bad boot verdict";
		if (!o->boot_verdict || boot_verdict_parse(&bv, o->boot_verdict) < 0)
			return -1;
		o->boot_line = (unsigned)json_integer_value(json_object_get(boot, "line"));
		o->boot_text = json_string_value(json_object_get(boot, "text"));
	}
	*why = "bad results";
	if (!json_is_array(res) || json_array_size(res) > KTAP_MAX_RESULTS + 64)
		return -1;
	json_array_foreach(res, i, r) {
		const char *name = json_string_value(json_array_get(r, 0));
		const char *status = json_string_value(json_array_get(r, 1));
		json_t *detail = json_array_get(r, 2);
		struct test_result *t;
		enum test_status st;

		if (!json_is_array(r) || !name || !*name || !status ||
		    test_status_parse(&st, status) < 0 ||
		    (!json_is_null(detail) && !json_is_string(detail))) {
			ktap_report_release(results);
			return -1;
		}
		ALLOC_GROW(results->results, results->nr + 1, results->alloc);
		t = &results->results[results->nr++];
		t->name = xstrdup(name);
		t->status = st;
		t->detail = xstrdup_or_null(json_string_value(detail));
		t->line = (unsigned)json_integer_value(json_array_get(r, 3));
		o->counts[st]++;
	}
	o->results = results->results;
	o->nr_results = results->nr;
	return 0;
}

/* --- the command -------------------------------------------------------------- */

struct spec_file {
	json_t *root;
	long long run, slot, jobs;
	const char *token, *plan, *digest, *stage, *commit, *tree, *tests, *only;
	const char *artifacts, *work, *cache, *record;
};

static int read_spec(const char *path, struct spec_file *sf)
{
	struct strbuf text = STRBUF_INIT;
	json_error_t jerr;
	json_t *r;

	if (strbuf_read_file(&text, path, (size_t)64 << 20) < 0)
		return error("cannot read %s: %s", path, strerror(errno));
	r = sf->root = json_loadb(text.buf, text.len, 0, &jerr);
	strbuf_release(&text);
	if (!r || !json_is_object(r))
		return error("%s: not a run spec: %s", path, r ? "not an object" : jerr.text);
#define S(k) json_string_value(json_object_get(r, k))
#define I(k) json_integer_value(json_object_get(r, k))
	sf->run = I("run");
	sf->slot = I("slot");
	sf->jobs = I("jobs");
	sf->token = S("token");
	sf->plan = S("plan");
	sf->digest = S("digest");
	sf->stage = S("stage");
	sf->commit = S("commit");
	sf->tree = S("tree");
	sf->tests = S("tests");
	sf->only = S("only");
	sf->artifacts = S("artifacts");
	sf->work = S("work");
	sf->cache = S("cache");
	sf->record = S("record");
#undef S
#undef I
	if (sf->run <= 0 || sf->slot < 0 || sf->slot > 4096 || sf->jobs < 0 ||
	    !sf->plan || !sf->digest || !sf->stage || !sf->commit || !sf->tree ||
	    !sf->artifacts || !sf->work || !sf->cache || !sf->record ||
	    strlen(sf->commit) != 40 || strlen(sf->tree) != 40)
		return error("%s: a run spec without all of its fields", path);
	return 0;
}

/* One run per node and slot: work/slot-N.lock, held until we exit. */
static int lock_slot(const char *work, long long slot)
{
	struct strbuf sb = STRBUF_INIT;
	int fd;

	if (mkdir_p(work, 0755) < 0)
		return error("cannot create %s: %s", work, strerror(errno));
	strbuf_addf(&sb, "%s/slot-%lld.lock", work, slot);
	fd = xopen(sb.buf, O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		error("cannot open %s: %s", sb.buf, strerror(errno));
		strbuf_release(&sb);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR && !stop_signal)
			continue;
		error("cannot lock %s: %s", sb.buf, strerror(errno));
		close(fd);
		fd = -1;
		break;
	}
	strbuf_release(&sb);
	return fd;
}

/* Run the local executor's one slot until the run is over. */
static void drive(struct local_exec *ex, long long run_id)
{
	int canceled = 0;

	while (local_busy(ex)) {
		struct pollfd pfd[8];
		long long fin[1];
		double deadline = now_monotonic() + 0.1, wait;
		size_t n;

		if (stop_signal && !canceled) {
			warn("run %lld: signal %d: stopping it", run_id, (int)stop_signal);
			local_cancel(ex, run_id);
			canceled = 1;
		}
		n = local_pollfds(ex, pfd, 8, &deadline);
		wait = deadline - now_monotonic();
		if (poll(pfd, n, wait > 0 ? (int)(wait * 1000) + 1 : 0) < 0 &&
		    errno != EINTR)
			die("poll: %s", strerror(errno));
		local_reap(ex);
		local_service(ex, pfd, n, fin, 1);
	}
}

int cmd_node_run(int argc, char **argv)
{
	static const struct option options[] = { OPTION_HELP, OPTION_END };
	struct options o = OPTIONS_INIT(options, node_run_usage);
	struct spec_file sf = { NULL };
	struct plan_def *plan = NULL;
	struct local_exec *ex = NULL;
	struct record r = { -1, NULL, NULL };
	struct exec_record rec = { &r, rec_started, rec_step_started,
				   rec_step_finished, rec_finish, rec_canceled,
				   NULL, rec_fail };
	struct run_spec spec;
	struct sigaction sa;
	char host[256] = "";
	char *err = NULL;
	int opt, lock = -1, status = 1;

	while ((opt = options_next(&o, argc, argv)) > 0)
		;
	if (opt < 0)
		return o.status;
	if (argc - optind != 1) {
		fputs(node_run_usage, stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (read_spec(argv[optind], &sf) < 0)
		goto out;
	r.fd = xopen(sf.record, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (r.fd < 0) {
		error("cannot open %s: %s", sf.record, strerror(errno));
		goto out;
	}
	gethostname(host, sizeof(host) - 1);
	r.node = getenv("SLURMD_NODENAME") ? getenv("SLURMD_NODENAME") : host;
	r.job = getenv("SLURM_JOB_ID");
	/* Everything below ends with a last line in the record. */
	status = 0;
	plan = plan_def_load(sf.plan, &err);
	if (!plan) {
		struct strbuf why = STRBUF_INIT;

		strbuf_addf(&why, "node %s: cannot load the plan: %s", r.node, err);
		rec_fail(&r, sf.run, why.buf);
		strbuf_release(&why);
		goto out;
	}
	if (strcmp(plan->profile->digest, sf.digest)) {
		struct strbuf why = STRBUF_INIT;

		strbuf_addf(&why, "node %s: the profile %s there is not the daemon's"
			    " (digest %.12s, not %.12s): the plan, profile or job"
			    " files differ", r.node, plan->profile->name,
			    plan->profile->digest, sf.digest);
		rec_fail(&r, sf.run, why.buf);
		strbuf_release(&why);
		goto out;
	}
	lock = lock_slot(sf.work, sf.slot);
	if (lock < 0) {
		rec_fail(&r, sf.run, stop_signal ? "stopped while waiting for its slot"
				      : "cannot lock the slot's tree");
		goto out;
	}
	{
		struct local_opts lo = { sf.artifacts, sf.work, sf.cache, 1,
					 (int)sf.slot, (unsigned)sf.jobs, 1 };

		/* make -j: what Slurm gave the job, not the whole node. */
		if (!lo.jobs && getenv("SLURM_CPUS_PER_TASK"))
			lo.jobs = (unsigned)atoi(getenv("SLURM_CPUS_PER_TASK"));
		if (!lo.jobs && getenv("SLURM_CPUS_ON_NODE"))
			lo.jobs = (unsigned)atoi(getenv("SLURM_CPUS_ON_NODE"));
		if (lo.jobs > 4096)
			lo.jobs = 0;

		rec.requeue = rec_canceled;	/* nothing preempts here */
		ex = local_new(&lo, &rec);
	}
	if (!ex) {
		rec_fail(&r, sf.run, "cannot set up the executor");
		goto out;
	}
	memset(&spec, 0, sizeof(spec));
	spec.id = sf.run;
	spec.plan = plan;
	spec.stage = sf.stage;
	snprintf(spec.commit, sizeof(spec.commit), "%s", sf.commit);
	snprintf(spec.tree, sizeof(spec.tree), "%s", sf.tree);
	spec.tests = sf.tests;
	if (sf.only) {
		spec.steps = plan->profile->each_steps;
		spec.nr_steps = plan->profile->nr_each_steps;
		spec.only = sf.only;
	}
	info("run %lld: node %s, job %s, slot %lld", sf.run, r.node,
	     r.job ? r.job : "-", sf.slot);
	if (local_start(ex, &spec) == 0)
		drive(ex, sf.run);
out:
	local_free(ex);
	plan_def_free(plan);
	if (lock >= 0)
		close(lock);
	if (r.fd >= 0)
		close(r.fd);
	json_decref(sf.root);
	free(err);
	return status;
}
