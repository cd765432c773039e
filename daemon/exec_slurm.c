/*
 * exec_slurm: runs as Slurm batch jobs (exec_slurm.h), followed from the
 * event loop through child processes that never block it.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "config_slurm.h"
#include "exec_local.h"
#include "exec_slurm.h"
#include "json.h"
#include "log.h"
#include "node_run.h"
#include "queue.h"
#include "slurm_cmd.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

#define MISSING_LOOKS 3		/* squeue does not list the job: then it is gone */

static const char job_script[] = "#!/bin/sh\nexec \"$@\"\n";

/* --- jobs -------------------------------------------------------------------- */

enum jphase { J_IDLE = 0, J_SUBMIT, J_JOB };

struct sjob {
	int idx;
	enum jphase phase;
	struct run_spec spec;
	char *tests, *only;		/* owned copies */
	char token[33];
	char *dir;			/* the run's artifact directory */
	char *spec_path, *record;
	char job[32];			/* the Slurm job id; "" until sbatch answers */
	char node[256];			/* where it runs, once node-run said so */
	char *prefer;			/* the node it asks for, or NULL */
	double submitted;
	int canceled, preempted, cancel_sent, unpinned, retried;
	/* the record, as read so far */
	off_t rec_off;
	struct strbuf partial;
	long step;			/* the step running, -1 none */
	long last_step;			/* the last one started, -1 none */
	char *step_name;		/* its name */
	int stopped;			/* node-run was stopped by a signal */
	int over;			/* its last line was read ... */
	json_t *final;			/* ... this one, until squeue confirms it */
	int done;			/* its end is in the database: free the slot */
	int missing;			/* looks at squeue that did not list it */
	/* adopted: the steps the database has (1 started, 2 ended) */
	unsigned char *known;
	size_t nr_known;
	struct scmd submit;		/* sbatch */
	struct scmd ctl;		/* scancel or scontrol */
	unsigned minutes;		/* --time */
};

struct slurm_exec {
	const struct kstage_config *cfg;
	const struct slurm_def *sd;
	struct db *db;
	struct sjob *jobs;
	size_t nr;
	struct scmd squeue;
	double next_poll;
	double squeue_warned;
	char *script;			/* the batch script */
};

static void job_reset(struct sjob *j)
{
	int idx = j->idx;

	scmd_release(&j->submit);
	scmd_release(&j->ctl);
	free(j->tests);
	free(j->only);
	free(j->dir);
	free(j->spec_path);
	free(j->record);
	free(j->prefer);
	free(j->step_name);
	free(j->known);
	json_decref(j->final);
	strbuf_release(&j->partial);
	memset(j, 0, sizeof(*j));
	j->idx = idx;
	j->step = j->last_step = -1;
	scmd_init(&j->submit);
	scmd_init(&j->ctl);
}

struct slurm_exec *slurm_new(const struct kstage_config *cfg, struct db *db)
{
	struct slurm_exec *ex = xcalloc(1, sizeof(*ex));
	char *dir = path_join(cfg->artifacts, ".slurm");
	size_t i;

	ex->cfg = cfg;
	ex->sd = cfg->slurm;
	ex->db = db;
	ex->nr = cfg->slots ? cfg->slots : 1;
	ex->jobs = xcalloc(ex->nr, sizeof(*ex->jobs));
	for (i = 0; i < ex->nr; i++) {
		/* Zeroed descriptors would be 0, our stdin: none are open yet. */
		ex->jobs[i].submit.fd = ex->jobs[i].ctl.fd = -1;
		ex->jobs[i].idx = (int)i;
		job_reset(&ex->jobs[i]);
	}
	scmd_init(&ex->squeue);
	ex->script = path_join(dir, "node-run.sh");
	if (mkdir_p(dir, 0755) < 0 ||
	    write_file_atomic(ex->script, job_script, strlen(job_script)) < 0) {
		error("cannot write %s: %s", ex->script, strerror(errno));
		free(dir);
		slurm_free(ex);
		return NULL;
	}
	free(dir);
	info("executor: slurm, %zu job%s at once, nodes' work in %s", ex->nr,
	     ex->nr == 1 ? "" : "s", ex->sd->work);
	return ex;
}

void slurm_free(struct slurm_exec *ex)
{
	size_t i;

	if (!ex)
		return;
	for (i = 0; i < ex->nr; i++)
		job_reset(&ex->jobs[i]);
	free(ex->jobs);
	scmd_release(&ex->squeue);
	free(ex->script);
	free(ex);
}

size_t slurm_idle(const struct slurm_exec *ex)
{
	size_t i, n = 0;

	for (i = 0; i < ex->nr; i++)
		n += ex->jobs[i].phase == J_IDLE;
	return n;
}

size_t slurm_busy(const struct slurm_exec *ex)
{
	return ex->nr - slurm_idle(ex);
}

size_t slurm_running(const struct slurm_exec *ex, long long *ids, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < ex->nr && n < max; i++)
		if (ex->jobs[i].phase != J_IDLE)
			ids[n++] = ex->jobs[i].spec.id;
	return n;
}

size_t slurm_preempting(const struct slurm_exec *ex)
{
	size_t i, n = 0;

	for (i = 0; i < ex->nr; i++)
		n += ex->jobs[i].phase != J_IDLE && ex->jobs[i].preempted;
	return n;
}

static struct sjob *job_of(struct slurm_exec *ex, long long run_id)
{
	size_t i;

	for (i = 0; i < ex->nr; i++)
		if (ex->jobs[i].phase != J_IDLE && ex->jobs[i].spec.id == run_id)
			return &ex->jobs[i];
	return NULL;
}

/* --- ending a run -------------------------------------------------------------- */

static void fail_run(struct slurm_exec *ex, long long run_id, const char *why)
{
	if (queue_fail(ex->db, run_id, why) < 0)
		warn("run %lld: its failure is not recorded (%s)", run_id, why);
}

/* The run is over in the database: free its slot, tell the loop. */
static void job_end(struct sjob *j, long long *finished, size_t max, size_t *nfin)
{
	if (*nfin < max)
		finished[(*nfin)++] = j->spec.id;
	job_reset(j);
}

/* It was stopped by kstage: canceled, or back in the queue for a head. */
static void end_stopped(struct slurm_exec *ex, struct sjob *j)
{
	if (j->preempted) {
		if (queue_requeue(ex->db, j->spec.id) < 0)
			warn("run %lld: left running; the next start re-queues it",
			     j->spec.id);
		info("run %lld: job %s stopped for a run that goes first, back in"
		     " the queue", j->spec.id, j->job);
		return;
	}
	if (queue_finish_canceled(ex->db, j->spec.id) < 0)
		warn("run %lld: its steps still show it running", j->spec.id);
	info("run %lld: job %s canceled", j->spec.id, j->job);
}

/* --- the record ------------------------------------------------------------------ */

static int known(const struct sjob *j, long long idx, unsigned char level)
{
	return idx >= 0 && (size_t)idx < j->nr_known && j->known[idx] >= level;
}

static void ev_finish(struct slurm_exec *ex, struct sjob *j, json_t *line)
{
	struct run_outcome o;
	struct ktap_report results;
	const char *why;
	char *msg;

	if (node_outcome_parse(line, &o, &results, &why) < 0) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "job %s: its record has %s", j->job, why);
		msg = strbuf_detach(&sb);
		fail_run(ex, j->spec.id, msg);
		free(msg);
		return;
	}
	switch (queue_finish(ex->db, j->spec.id, &o)) {
	case 0:
		info("run %lld: %s %s %.12s: %s on node %s (job %s)", j->spec.id,
		     j->spec.plan->name, j->spec.stage, j->spec.commit,
		     run_verdict_name(o.verdict), j->node[0] ? j->node : "?", j->job);
		break;
	case 1:
		if (queue_finish_canceled(ex->db, j->spec.id) < 0)
			warn("run %lld: its steps still show it running", j->spec.id);
		break;
	default:
		fail_run(ex, j->spec.id, "cannot store the results");
	}
	ktap_report_release(&results);
}

/* One line of the record.  Sets j->over at its last line. */
static void record_line(struct slurm_exec *ex, struct sjob *j, const char *text,
			size_t len)
{
	json_error_t jerr;
	json_t *line = json_loadb(text, len, 0, &jerr);
	const char *ev = json_string_value(json_object_get(line, "event"));
	long long idx = json_integer_value(json_object_get(line, "idx"));
	const char *name = json_string_value(json_object_get(line, "name"));

	if (!ev) {
		warn("run %lld: job %s: a bad line in its record: %s", j->spec.id,
		     j->job, line ? "no event" : jerr.text);
	} else if (!strcmp(ev, "start")) {
		const char *node = json_string_value(json_object_get(line, "node"));

		if (node && *node && strlen(node) < sizeof(j->node)) {
			snprintf(j->node, sizeof(j->node), "%s", node);
			queue_set_job(ex->db, j->spec.id, NULL, node);
			info("run %lld: job %s runs on node %s", j->spec.id, j->job, node);
		}
	} else if (!strcmp(ev, "step") && name && idx >= 0 &&
		   (size_t)idx < j->spec.nr_steps) {
		j->step = j->last_step = (long)idx;
		free(j->step_name);
		j->step_name = xstrdup(name);
		if (!known(j, idx, 1) &&
		    queue_step_started(ex->db, j->spec.id, (size_t)idx, name,
				       json_string_value(json_object_get(line, "log")),
				       (int)json_integer_value(json_object_get(line, "pid"))) < 0)
			warn("run %lld: step %s: its start is not recorded", j->spec.id, name);
	} else if (!strcmp(ev, "step-end") && name && idx >= 0 &&
		   (size_t)idx < j->spec.nr_steps) {
		struct step_end end = { STEP_ERROR, 0, 0, 0, 0 };
		const char *state = json_string_value(json_object_get(line, "state"));

		if (!state || step_state_parse(&end.state, state) < 0)
			end.state = STEP_ERROR;
		end.exit_code = (int)json_integer_value(json_object_get(line, "exit"));
		end.signal = (int)json_integer_value(json_object_get(line, "signal"));
		end.log_bytes = json_integer_value(json_object_get(line, "log_bytes"));
		end.log_dropped = json_integer_value(json_object_get(line, "log_dropped"));
		j->step = -1;
		if (!known(j, idx, 2) &&
		    queue_step_finished(ex->db, j->spec.id, (size_t)idx, name, &end) < 0)
			warn("run %lld: step %s: its end is not recorded", j->spec.id, name);
	} else if (!strcmp(ev, "finish") || !strcmp(ev, "canceled") ||
		   !strcmp(ev, "error")) {
		/*
		 * The last line.  Of a run we stopped: it is over.  Otherwise
		 * it stands once squeue says how the job ended: a job killed at
		 * its time limit or canceled in Slurm may have had its step
		 * killed first, and its node-run wrote "killed by signal 15".
		 */
		j->over = 1;
		if (j->canceled) {
			end_stopped(ex, j);
			j->done = 1;
		} else {
			j->final = json_incref(line);
		}
	}
	json_decref(line);
}

/*
 * Read what the record gained since the last look, line by line.  The
 * file is on the shared file system: a line still being written has no
 * newline yet and waits for the next look.
 */
static void read_record(struct slurm_exec *ex, struct sjob *j)
{
	char buf[65536];
	int fd;

	if (j->over || !j->record)
		return;
	fd = xopen(j->record, O_RDONLY);
	if (fd < 0)
		return;		/* not there yet (the job has not started) */
	if (lseek(fd, j->rec_off, SEEK_SET) == (off_t)-1) {
		close(fd);
		return;
	}
	while (!j->over) {
		ssize_t n = xread(fd, buf, sizeof(buf));
		char *nl;

		if (n <= 0)
			break;
		j->rec_off += n;
		if ((size_t)j->rec_off > NODE_RECORD_MAX) {
			fail_run(ex, j->spec.id, "its record grew beyond its cap");
			j->over = j->done = 1;
			break;
		}
		strbuf_add(&j->partial, buf, (size_t)n);
		while (!j->over && (nl = memchr(j->partial.buf, '\n', j->partial.len))) {
			size_t len = (size_t)(nl - j->partial.buf);

			record_line(ex, j, j->partial.buf, len);
			memmove(j->partial.buf, nl + 1, j->partial.len - len - 1);
			j->partial.len -= len + 1;
			j->partial.buf[j->partial.len] = '\0';
		}
		if (j->partial.len > NODE_LINE_MAX) {
			fail_run(ex, j->spec.id, "a line of its record is over its cap");
			j->over = j->done = 1;
		}
	}
	close(fd);
}

/* --- submitting -------------------------------------------------------------------- */

/* The node that last ran the stage (or, for a base run, the plan). */
static char *last_node(struct slurm_exec *ex, const struct run_spec *spec)
{
	char *node = NULL;

	if (spec->stage_id)
		db_get_text(ex->db, &node, "SELECT node FROM runs WHERE stage_id = ?"
			    " AND node IS NOT NULL AND id != ? ORDER BY finished_at"
			    " IS NULL, finished_at DESC, id DESC LIMIT 1", "ll",
			    spec->stage_id, spec->id);
	else
		db_get_text(ex->db, &node, "SELECT node FROM runs WHERE plan_id = ?"
			    " AND stage_id IS NULL AND node IS NOT NULL AND id != ?"
			    " ORDER BY finished_at IS NULL, finished_at DESC, id DESC"
			    " LIMIT 1", "ll", spec->plan_id, spec->id);
	if (node && (!*node || strchr(node, '=') || *node == '-')) {
		free(node);
		node = NULL;
	}
	return node;
}

/* --time in minutes: the profile's, else its steps' timeouts and 10 more. */
static unsigned job_minutes(const struct sjob *j, const struct slurm_profile *sp)
{
	unsigned long long secs = 600;
	size_t i;

	if (sp && sp->time)
		return sp->time;
	for (i = 0; i < j->spec.nr_steps; i++)
		secs += j->spec.steps[i].timeout;
	return (unsigned)((secs + 59) / 60);
}

struct argv_list {
	char **v;
	size_t nr, alloc;
};

static void arg_add(struct argv_list *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void arg_add(struct argv_list *a, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	ALLOC_GROW(a->v, a->nr + 2, a->alloc);
	a->v[a->nr++] = strbuf_detach(&sb);
	a->v[a->nr] = NULL;
}

static void args_release(struct argv_list *a)
{
	size_t i;

	for (i = 0; i < a->nr; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static int submit(struct slurm_exec *ex, struct sjob *j)
{
	const struct slurm_def *sd = ex->sd;
	const struct slurm_profile *sp = config_slurm_profile(sd, j->spec.plan->profile->name);
	struct argv_list a = { NULL, 0, 0 };
	size_t i;
	int ret;

	j->minutes = job_minutes(j, sp);
	arg_add(&a, "sbatch");
	arg_add(&a, "--parsable");
	arg_add(&a, "--job-name=kstage-run-%lld", j->spec.id);
	arg_add(&a, "--no-requeue");
	arg_add(&a, "--chdir=%s", j->dir);
	arg_add(&a, "--output=%s/slurm-%%j.out", j->dir);
	arg_add(&a, "--time=%u", j->minutes);
	if (sd->partition)
		arg_add(&a, "--partition=%s", sd->partition);
	if (sd->account)
		arg_add(&a, "--account=%s", sd->account);
	if (sd->qos)
		arg_add(&a, "--qos=%s", sd->qos);
	if (sp && sp->cpus)
		arg_add(&a, "--cpus-per-task=%u", sp->cpus);
	if (sp && sp->mem)
		arg_add(&a, "--mem=%s", sp->mem);
	if (j->prefer && sd->placement == PLACE_NODELIST)
		arg_add(&a, "--nodelist=%s", j->prefer);
	else if (j->prefer && sd->placement == PLACE_FEATURE)
		arg_add(&a, "--prefer=%s", j->prefer);
	for (i = 0; sp && i < sp->nr_sbatch; i++)
		arg_add(&a, "%s", sp->sbatch[i]);
	arg_add(&a, "%s", ex->script);
	arg_add(&a, "%s", sd->kstage);
	arg_add(&a, "node-run");
	arg_add(&a, "%s", j->spec_path);
	j->submitted = now_monotonic();
	ret = scmd_start(&j->submit, "sbatch", a.v, ex->sd->bin_dir,
			       ex->sd->command_timeout);
	args_release(&a);
	return ret;
}

/* The spec file node-run reads (node_run.h). */
static int write_spec(struct slurm_exec *ex, struct sjob *j)
{
	const struct slurm_def *sd = ex->sd;
	struct strbuf sb = STRBUF_INIT;
	int ret;

#define KS(k, v) do { json_key(&sb, k); if (v) json_str(&sb, v); else strbuf_adds(&sb, "null"); } while (0)
#define KI(k, v) do { json_key(&sb, k); json_int(&sb, v); } while (0)
	strbuf_addch(&sb, '{');
	KI("run", j->spec.id);
	KS("token", j->token);
	KS("plan", j->spec.plan->path);
	KS("digest", j->spec.plan->profile->digest);
	KS("stage", j->spec.stage);
	KS("commit", j->spec.commit);
	KS("tree", j->spec.tree);
	KS("tests", j->tests);
	KS("only", j->only);
	KI("slot", j->idx);
	KS("artifacts", ex->cfg->artifacts);
	KS("work", sd->work);
	KS("cache", sd->cache);
	KI("jobs", ex->cfg->jobs);
	KS("record", j->record);
	strbuf_adds(&sb, "}\n");
#undef KS
#undef KI
	ret = write_file_atomic(j->spec_path, sb.buf, sb.len);
	if (ret < 0)
		error("cannot write %s: %s", j->spec_path, strerror(errno));
	strbuf_release(&sb);
	return ret;
}

/* The paths of a run with its token: the spec and the record. */
static void job_paths(struct sjob *j)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s/node-run.json", j->dir);
	j->spec_path = strbuf_detach(&sb);
	strbuf_addf(&sb, "%s/node-%s.jsonl", j->dir, j->token);
	j->record = strbuf_detach(&sb);
}

int slurm_start(struct slurm_exec *ex, const struct run_spec *spec)
{
	struct sjob *j = NULL;
	size_t i;
	int fd;

	for (i = 0; i < ex->nr && !j; i++)
		if (ex->jobs[i].phase == J_IDLE)
			j = &ex->jobs[i];
	if (!j)
		return error("run %lld: no idle slot", spec->id);
	job_reset(j);
	local_spec_copy(&j->spec, &j->tests, &j->only, spec);
	local_token(j->token);
	j->dir = local_run_dir(ex->cfg->artifacts, spec->id, 1);
	if (!j->dir) {
		fail_run(ex, spec->id, "cannot prepare the run's directory");
		job_reset(j);
		return -1;
	}
	job_paths(j);
	fd = xopen(j->record, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
	if (fd < 0 || write_spec(ex, j) < 0) {
		fail_run(ex, spec->id, "cannot write the run's spec for its job");
		job_reset(j);
		return -1;
	}
	if (queue_started(ex->db, spec->id, j->idx, j->token, j->spec.steps,
			  j->spec.nr_steps) < 0) {
		job_reset(j);
		return -1;
	}
	if (ex->sd->placement != PLACE_ANY)
		j->prefer = last_node(ex, spec);
	j->phase = J_SUBMIT;
	if (submit(ex, j) < 0) {
		fail_run(ex, spec->id, "cannot run sbatch");
		job_reset(j);
		return -1;
	}
	info("run %lld: %s %s %.12s: submitting (slot %d%s%s%s)", spec->id,
	     spec->plan->name, spec->stage, spec->commit, j->idx,
	     j->prefer ? ", prefers node " : "", j->prefer ? j->prefer : "",
	     spec->tests ? ", subset" : "");
	return 0;
}

/* sbatch answered. */
static void submitted(struct slurm_exec *ex, struct sjob *j, long long *finished,
		      size_t max, size_t *nfin)
{
	const char *out = strbuf_str(&j->submit.out);
	size_t n = strspn(out, "0123456789");

	if (!scmd_ok(&j->submit) || !n || n >= sizeof(j->job) ||
	    (out[n] && out[n] != ';' && out[n] != '\n')) {
		struct strbuf why = STRBUF_INIT;

		if (j->prefer && !j->retried && scmd_ok(&j->submit) == 0 &&
		    !j->submit.timed_out && !j->canceled) {
			/* The node it preferred may be gone: any node, once. */
			warn("run %lld: sbatch refused it on node %s (%s); any node now",
			     j->spec.id, j->prefer, scmd_why(&j->submit));
			free(j->prefer);
			j->prefer = NULL;
			j->retried = 1;
			scmd_release(&j->submit);
			if (submit(ex, j) == 0)
				return;
		}
		strbuf_addf(&why, "sbatch failed: %s", scmd_why(&j->submit));
		if (j->canceled)
			end_stopped(ex, j);
		else
			fail_run(ex, j->spec.id, why.buf);
		strbuf_release(&why);
		job_end(j, finished, max, nfin);
		return;
	}
	memcpy(j->job, out, n);
	j->job[n] = '\0';
	scmd_release(&j->submit);
	j->phase = J_JOB;
	if (queue_set_job(ex->db, j->spec.id, j->job, NULL) < 0)
		warn("run %lld: a restarted daemon will not find its job %s",
		     j->spec.id, j->job);
	info("run %lld: job %s submitted in %.0f ms", j->spec.id, j->job,
	     (now_monotonic() - j->submitted) * 1000);
}

/* --- following ------------------------------------------------------------------------ */

static int state_is(const char *state, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(state, *list))
			return 1;
	return 0;
}

/* The job ended as its record's last line says. */
static void apply_final(struct slurm_exec *ex, struct sjob *j, const char *state)
{
	const char *ev = json_string_value(json_object_get(j->final, "event"));
	const char *why = json_string_value(json_object_get(j->final, "why"));
	struct strbuf sb = STRBUF_INIT;

	if (!strcmp(ev, "finish")) {
		ev_finish(ex, j, j->final);
	} else if (!strcmp(ev, "error")) {
		fail_run(ex, j->spec.id, why ? why : "node-run failed");
	} else {
		strbuf_addf(&sb, "job %s: node-run was stopped by a signal (the job"
			    " ended %s)", j->job, state);
		fail_run(ex, j->spec.id, sb.buf);
	}
	strbuf_release(&sb);
}

/*
 * The job ended (squeue says so, or it is gone): the record's last line
 * stands, unless Slurm ended it (time limit, cancel, a node that failed).
 */
static void job_ended(struct slurm_exec *ex, struct sjob *j, const char *state)
{
	static const char *const requeue[] = { "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
					       NULL };
	static const char *const timeout[] = { "TIMEOUT", "DEADLINE", NULL };
	struct strbuf why = STRBUF_INIT;

	if (j->canceled) {
		end_stopped(ex, j);
	} else if (state_is(state, requeue)) {
		warn("run %lld: job %s ended %s: back in the queue", j->spec.id, j->job,
		     state);
		if (queue_requeue(ex->db, j->spec.id) < 0)
			warn("run %lld: left running; the next start re-queues it",
			     j->spec.id);
	} else if (j->final && !state_is(state, timeout) &&
		   strcmp(state, "CANCELLED")) {
		apply_final(ex, j, state);
	} else if (!strcmp(state, "CANCELLED")) {
		strbuf_addf(&why, "job %s was canceled in Slurm", j->job);
		if (queue_cancel(ex->db, j->spec.id, why.buf) < 0 ||
		    queue_finish_canceled(ex->db, j->spec.id) < 0)
			warn("run %lld: its cancel is not recorded", j->spec.id);
		info("run %lld: %s", j->spec.id, why.buf);
	} else if (state_is(state, timeout)) {
		struct run_outcome o = { VERDICT_ERROR };
		int step = j->last_step >= 0;

		/* The step it was in (node-run ended it "error" on SIGTERM). */
		if (step) {
			struct step_end end = { STEP_TIMEOUT, 0, SIGTERM, 0, 0 };

			queue_step_finished(ex->db, j->spec.id, (size_t)j->last_step,
					    j->step_name, &end);
		}
		strbuf_addf(&why, "%s%s%sthe Slurm job %s reached its time limit"
			    " (%u min)", step ? "step " : "", step ? j->step_name : "",
			    step ? ": " : "", j->job, j->minutes);
		o.failed_step = step ? j->step_name : NULL;
		o.error = why.buf;
		if (queue_finish(ex->db, j->spec.id, &o) < 0)
			fail_run(ex, j->spec.id, why.buf);
		warn("run %lld: %s", j->spec.id, why.buf);
	} else if (!strcmp(state, "OUT_OF_MEMORY")) {
		strbuf_addf(&why, "job %s ran out of memory (the profile's \"mem\")", j->job);
		fail_run(ex, j->spec.id, why.buf);
	} else {
		strbuf_addf(&why, "job %s ended %s without a result (see runs/%lld/"
			    "slurm-%s.out)", j->job, state, j->spec.id, j->job);
		fail_run(ex, j->spec.id, why.buf);
	}
	strbuf_release(&why);
}

static void send_ctl(struct slurm_exec *ex, struct sjob *j)
{
	char *argv[5] = { NULL };

	if (j->ctl.active || !j->job[0])
		return;
	if (j->canceled && !j->cancel_sent) {
		argv[0] = (char *)"scancel";
		argv[1] = j->job;
		if (scmd_start(&j->ctl, "scancel", argv, ex->sd->bin_dir,
			       ex->sd->command_timeout) == 0)
			j->cancel_sent = 1;
	}
}

/* It waited long enough for its node: any node may run it now. */
static void unpin(struct slurm_exec *ex, struct sjob *j)
{
	char *argv[5] = { NULL };
	char arg[64];

	if (j->ctl.active || j->unpinned)
		return;
	snprintf(arg, sizeof(arg), "JobId=%s", j->job);
	argv[0] = (char *)"scontrol";
	argv[1] = (char *)"update";
	argv[2] = arg;
	argv[3] = (char *)"NodeList=";
	if (scmd_start(&j->ctl, "scontrol", argv, ex->sd->bin_dir,
			       ex->sd->command_timeout) == 0) {
		j->unpinned = 1;
		info("run %lld: job %s waited %u s for node %s: any node now",
		     j->spec.id, j->job, ex->sd->prefer_wait, j->prefer);
	}
}

/* squeue answered: "ID STATE" lines. */
static void squeue_answered(struct slurm_exec *ex, long long *finished, size_t max,
			    size_t *nfin)
{
	static const char *const live[] = {
		"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED",
		"RESIZING", "SIGNALING", "STAGE_OUT", "REQUEUED", "REQUEUE_FED",
		"REQUEUE_HOLD", "RESV_DEL_HOLD", "STOPPED", NULL
	};
	const char *out = strbuf_str(&ex->squeue.out);
	int ok = scmd_ok(&ex->squeue);
	int unknown = !ok && strstr(out, "Invalid job id");
	double now = now_monotonic();
	size_t i;

	if (!ok && !unknown) {
		if (now >= ex->squeue_warned + 60) {
			warn("squeue: %s (the jobs are looked at again)",
			     scmd_why(&ex->squeue));
			ex->squeue_warned = now;
		}
		return;
	}
	for (i = 0; i < ex->nr; i++) {
		struct sjob *j = &ex->jobs[i];
		char state[32] = "";
		const char *p;

		if (j->phase != J_JOB)
			continue;
		for (p = ok ? out : ""; *p; p += strcspn(p, "\n"), p += *p == '\n') {
			size_t n = strlen(j->job);

			if (!strncmp(p, j->job, n) && p[n] == ' ') {
				sscanf(p + n + 1, "%31[A-Z_]", state);
				break;
			}
		}
		if (!*state) {
			if (++j->missing < MISSING_LOOKS)
				continue;
			snprintf(state, sizeof(state), "%s", "UNKNOWN");
		}
		j->missing = 0;
		if (state_is(state, live)) {
			if (j->final)
				ex->next_poll = now + 0.2;	/* about to end */
			else if (!strcmp(state, "PENDING") && j->prefer &&
			    ex->sd->placement == PLACE_NODELIST &&
			    now - j->submitted >= ex->sd->prefer_wait)
				unpin(ex, j);
			continue;
		}
		/* Its last line may have come with its end. */
		read_record(ex, j);
		if (!j->done)
			job_ended(ex, j, state);
		job_end(j, finished, max, nfin);
	}
}

static void start_squeue(struct slurm_exec *ex)
{
	struct strbuf ids = STRBUF_INIT;
	char *argv[9] = { NULL };
	size_t i;

	for (i = 0; i < ex->nr; i++)
		if (ex->jobs[i].phase == J_JOB)
			strbuf_addf(&ids, "%s%s", ids.len ? "," : "", ex->jobs[i].job);
	if (!ids.len)
		return;
	argv[0] = (char *)"squeue";
	argv[1] = (char *)"--noheader";
	argv[2] = (char *)"--states=all";
	argv[3] = (char *)"--format=%i %T";
	argv[4] = (char *)"--jobs";
	argv[5] = ids.buf;
	scmd_start(&ex->squeue, "squeue", argv, ex->sd->bin_dir,
			       ex->sd->command_timeout);
	strbuf_release(&ids);
}

/* --- the loop's side --------------------------------------------------------------------- */

static void add_fd(struct pollfd *pfd, size_t max, size_t *n, const struct scmd *c,
		   double *deadline)
{
	if (!c->active)
		return;
	if (c->fd >= 0 && *n < max) {
		pfd[*n].fd = c->fd;
		pfd[*n].events = POLLIN;
		pfd[*n].revents = 0;
		(*n)++;
	}
	if (!c->reaped && c->deadline < *deadline)
		*deadline = c->deadline;
}

size_t slurm_pollfds(struct slurm_exec *ex, struct pollfd *pfd, size_t max,
		     double *deadline)
{
	size_t i, n = 0;
	int any = 0;

	add_fd(pfd, max, &n, &ex->squeue, deadline);
	for (i = 0; i < ex->nr; i++) {
		struct sjob *j = &ex->jobs[i];

		add_fd(pfd, max, &n, &j->submit, deadline);
		add_fd(pfd, max, &n, &j->ctl, deadline);
		any |= j->phase == J_JOB;
	}
	if (any && ex->next_poll < *deadline)
		*deadline = ex->next_poll;
	return n;
}

size_t slurm_service(struct slurm_exec *ex, const struct pollfd *pfd,
		     size_t npfd, long long *finished, size_t max)
{
	size_t i, k, nfin = 0;
	double now;

	for (k = 0; k < npfd; k++) {
		if (!pfd[k].revents)
			continue;
		if (pfd[k].fd == ex->squeue.fd)
			scmd_read(&ex->squeue);
		for (i = 0; i < ex->nr; i++) {
			if (pfd[k].fd == ex->jobs[i].submit.fd)
				scmd_read(&ex->jobs[i].submit);
			if (pfd[k].fd == ex->jobs[i].ctl.fd)
				scmd_read(&ex->jobs[i].ctl);
		}
	}
	now = now_monotonic();
	scmd_timer(&ex->squeue, now);
	for (i = 0; i < ex->nr; i++) {
		struct sjob *j = &ex->jobs[i];

		scmd_timer(&j->submit, now);
		scmd_timer(&j->ctl, now);
		if (j->phase == J_SUBMIT && scmd_over(&j->submit))
			submitted(ex, j, finished, max, &nfin);
		if (scmd_over(&j->ctl)) {
			if (!scmd_ok(&j->ctl)) {
				warn("run %lld: %s of job %s: %s", j->spec.id, j->ctl.what,
				     j->job, scmd_why(&j->ctl));
				if (!strcmp(j->ctl.what, "scancel"))
					j->cancel_sent = 0;	/* again */
			}
			scmd_release(&j->ctl);
		}
		if (j->phase == J_JOB && j->canceled)
			send_ctl(ex, j);
	}
	if (scmd_over(&ex->squeue)) {
		squeue_answered(ex, finished, max, &nfin);
		scmd_release(&ex->squeue);
	}
	if (now >= ex->next_poll) {
		ex->next_poll = now + ex->sd->poll;
		for (i = 0; i < ex->nr; i++) {
			struct sjob *j = &ex->jobs[i];

			if (j->phase != J_JOB)
				continue;
			read_record(ex, j);
			if (j->done)
				job_end(j, finished, max, &nfin);
			else if (j->final)
				ex->next_poll = now + 0.2;	/* squeue below, and soon again */
		}
		if (!ex->squeue.active)
			start_squeue(ex);
	}
	return nfin;
}

void slurm_reap(struct slurm_exec *ex)
{
	int status;
	pid_t pid;
	size_t i;

	while ((pid = child_reap_any(&status)) > 0) {
		if (scmd_reaped(&ex->squeue, pid, status))
			continue;
		for (i = 0; i < ex->nr; i++)
			if (scmd_reaped(&ex->jobs[i].submit, pid, status) ||
			    scmd_reaped(&ex->jobs[i].ctl, pid, status))
				break;
	}
}

static int stop_run(struct slurm_exec *ex, long long run_id, int preempt)
{
	struct sjob *j = job_of(ex, run_id);

	if (!j || (preempt && j->canceled))
		return -1;
	j->canceled = 1;
	j->preempted |= preempt;
	send_ctl(ex, j);	/* a job still being submitted: once sbatch answered */
	return 0;
}

int slurm_cancel(struct slurm_exec *ex, long long run_id)
{
	return stop_run(ex, run_id, 0);
}

int slurm_preempt(struct slurm_exec *ex, long long run_id)
{
	return stop_run(ex, run_id, 1);
}

/* Anything still talking to Slurm: submissions and cancels. */
static int pending(const struct slurm_exec *ex)
{
	size_t i;

	for (i = 0; i < ex->nr; i++) {
		const struct sjob *j = &ex->jobs[i];

		if (j->phase == J_SUBMIT || j->ctl.active ||
		    (j->phase == J_JOB && j->canceled && !j->cancel_sent))
			return 1;
	}
	return 0;
}

void slurm_shutdown(struct slurm_exec *ex)
{
	double until = now_monotonic() + ex->sd->command_timeout + 1;
	long long fin[64];
	size_t i;

	/*
	 * Jobs go on: the next daemon adopts them.  What is under way is
	 * finished first (a job id is recorded, a cancel is sent), for at
	 * most one command's time.
	 */
	scmd_release(&ex->squeue);
	while (pending(ex) && now_monotonic() < until) {
		struct pollfd pfd[130];
		double deadline = now_monotonic() + 0.05;
		size_t n = slurm_pollfds(ex, pfd, 130, &deadline);

		poll(pfd, n, 50);
		slurm_reap(ex);
		ex->next_poll = now_monotonic() + 3600;	/* no new squeue */
		slurm_service(ex, pfd, n, fin, 64);
	}
	for (i = 0; i < ex->nr; i++) {
		struct sjob *j = &ex->jobs[i];

		if (j->phase == J_SUBMIT) {
			/* sbatch did not answer: the run goes back to the queue. */
			if (queue_requeue(ex->db, j->spec.id) < 0)
				warn("run %lld: left running; the next start re-queues it",
				     j->spec.id);
		} else if (j->phase == J_JOB) {
			info("run %lld: job %s goes on without us", j->spec.id, j->job);
		}
		job_reset(j);
	}
}

int slurm_adopt(struct slurm_exec *ex, const struct run_spec *spec)
{
	struct sjob *j = NULL;
	sqlite3_stmt *st;
	char *job = NULL, *token = NULL;
	long long slot = -1;
	size_t i;

	if (db_first(ex->db, &st, "SELECT job, token, slot FROM runs WHERE id = ?",
		     "l", spec->id) != 1)
		return -1;
	job = db_col_dup(st, 0);
	token = db_col_dup(st, 1);
	slot = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 2);
	db_done(st);
	if (!job || !token || strlen(job) >= sizeof(j->job) || strlen(token) != 32 ||
	    strspn(token, "0123456789abcdef") != 32) {
		free(job);
		free(token);
		return -1;
	}
	if (slot >= 0 && (size_t)slot < ex->nr && ex->jobs[slot].phase == J_IDLE)
		j = &ex->jobs[slot];
	for (i = 0; i < ex->nr && !j; i++)
		if (ex->jobs[i].phase == J_IDLE)
			j = &ex->jobs[i];
	if (!j) {
		free(job);
		free(token);
		return -1;
	}
	job_reset(j);
	local_spec_copy(&j->spec, &j->tests, &j->only, spec);
	memcpy(j->token, token, 33);
	snprintf(j->job, sizeof(j->job), "%s", job);
	free(job);
	free(token);
	j->dir = local_run_dir(ex->cfg->artifacts, spec->id, 0);
	if (!j->dir) {
		job_reset(j);
		return -1;
	}
	job_paths(j);
	/* The steps the database has: the record is read again from its start. */
	j->nr_known = j->spec.nr_steps;
	j->known = xcalloc(j->nr_known ? j->nr_known : 1, 1);
	if (db_first(ex->db, &st, "SELECT idx, state FROM steps WHERE run_id = ?",
		     "l", spec->id) == 1) {
		do {
			long long idx = sqlite3_column_int64(st, 0);
			const char *state = db_col_text(st, 1);

			if (idx >= 0 && (size_t)idx < j->nr_known)
				j->known[idx] = !strcmp(state, "pending") ? 0
						: !strcmp(state, "running") ? 1 : 2;
		} while (sqlite3_step(st) == SQLITE_ROW);
		db_done(st);
	}
	j->minutes = job_minutes(j, config_slurm_profile(ex->sd,
							   spec->plan->profile->name));
	j->phase = J_JOB;
	j->unpinned = 1;
	j->submitted = now_monotonic();
	ex->next_poll = 0;
	info("run %lld: adopted its job %s", spec->id, j->job);
	return 0;
}

void slurm_abandon(struct slurm_exec *ex, long long run_id)
{
	struct scmd c;
	char *job = NULL;
	char *argv[3] = { (char *)"scancel", NULL, NULL };

	if (db_get_text(ex->db, &job, "SELECT job FROM runs WHERE id = ?", "l",
			run_id) != 1 || !job) {
		free(job);
		return;
	}
	scmd_init(&c);
	argv[1] = job;
	if (scmd_start(&c, "scancel", argv, ex->sd->bin_dir,
			       ex->sd->command_timeout) == 0) {
		/* At start-up, before the loop: waiting here is allowed. */
		scmd_wait(&c);
		if (c.reaped && scmd_ok(&c))
			info("run %lld: not adopted: its job %s canceled", run_id, job);
		else
			warn("run %lld: not adopted, and its job %s may still run: %s",
			     run_id, job, c.reaped ? scmd_why(&c) : "no answer in time");
	}
	scmd_release(&c);
	free(job);
}
