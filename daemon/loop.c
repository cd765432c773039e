/*
 * loop: the event loop.  Passes over the plans, scheduling, wakes from
 * other threads, and what follows a finished run (see loop.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <git2.h>

#include "bisector.h"
#include "each.h"
#include "loop.h"
#include "executor.h"
#include "gate.h"
#include "log.h"
#include "plan.h"
#include "queue.h"
#include "remote.h"
#include "repo.h"
#include "stages.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

#define PRIO_STAGE 10

struct plan_entry {
	struct plan_def *def;
	long long id;
};

struct wake {
	enum wake_kind kind;
	long long id;
};

struct loop {
	struct kstage_config *cfg;
	struct db *db;
	struct executor *ex;
	struct plan_entry *plans;
	size_t nr_plans;
	int once;
	int sigfd;
	int wake_pipe[2];		/* struct wake messages from any thread */
	atomic_int wake_lost;		/* the pipe was full: look at everything */
	atomic_int stop;
	int pass_wanted;		/* loop thread only */
	double next_pass;
	struct bisect_env bisect;
	struct remotes *remotes;	/* the fetch threads (serve, run); NULL if none */
};

static int plan_changed(struct loop *lp, struct plan_entry *pe);

/* --- passes ------------------------------------------------------------------- */

/* Queue a full run of the stage's head unless one exists already. */
static int want_run(struct loop *lp, struct plan_entry *pe, long long stage_id,
		    size_t idx, const struct stack_entry *se)
{
	struct run_request req = { 0 };
	char head[GIT_OID_HEXSZ + 1], tree[GIT_OID_HEXSZ + 1];
	long long have = 0, id;
	int reused = 0, rc;

	git_oid_tostr(head, sizeof(head), &se->head);
	git_oid_tostr(tree, sizeof(tree), &se->tree);
	rc = db_get_int(lp->db, &have, "SELECT id FROM runs WHERE stage_id = ?"
			" AND commit_id = ? AND profile_digest = ? AND tests IS NULL"
			" AND reason != 'commit'"
			" AND state IN ('queued', 'running', 'done') LIMIT 1", "lss",
			stage_id, head, pe->def->profile->digest);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	req.plan_id = pe->id;
	req.stage_id = stage_id;
	req.commit = head;
	req.tree = tree;
	req.profile = pe->def->profile->name;
	req.digest = pe->def->profile->digest;
	req.reason = REASON_CHANGE;
	req.priority = PRIO_STAGE;
	req.supersede = 1;
	id = queue_add(lp->db, &req, &reused);
	if (id < 0)
		return -1;
	info("plan %s: stage %zu %s at %.12s: run %lld %s", pe->def->name, idx,
	     se->name, head, id, reused ? "reused an earlier result" : "queued");
	return 0;
}

/*
 * Store each stage's head and queue runs for the new ones; then, behind
 * them, the checks of every commit (each.h).
 */
static int store_stack(struct loop *lp, struct plan_entry *pe,
		       git_repository *repo, const struct stack *st)
{
	size_t i;

	for (i = 0; i < st->nr; i++) {
		const struct stack_entry *se = &st->v[i];
		long long sid = stages_id_at(lp->db, pe->id, i);
		int changed = 0;

		if (!sid)
			return error("plan %s: stage %zu is not in the database",
				     pe->def->name, i);
		if (stages_set_head(lp->db, pe->id, sid, se, &changed) < 0)
			return -1;
		if (changed)
			info("plan %s: stage %zu %s: %s%s%s", pe->def->name, i,
			     se->name, se->resolved ? "new head" : "missing",
			     se->detail[0] ? ", " : "", se->detail);
		if (se->resolved && want_run(lp, pe, sid, i, se) < 0)
			return -1;
	}
	for (i = 1; i < st->nr; i++)
		if (each_plan_stage(lp->db, repo, pe->def, pe->id,
				    stages_id_at(lp->db, pe->id, i), &st->v[i]) < 0)
			warn("plan %s: stage %s: its commit checks are not all queued",
			     pe->def->name, st->v[i].name);
	return 0;
}

static int pass_plan(struct loop *lp, struct plan_entry *pe)
{
	git_repository *repo = NULL;
	struct stack st = STACK_INIT;
	char *err = NULL;
	int ret = -1;

	if (repo_open(&repo, pe->def->repo) < 0)
		return error("plan %s: cannot open repository %s", pe->def->name,
			     pe->def->repo);
	/* A mirror before its first fetch has nothing to resolve yet. */
	if (pe->def->remote && git_repository_is_empty(repo) == 1) {
		debug("plan %s: %s is empty until the first fetch", pe->def->name,
		      pe->def->repo);
		git_repository_free(repo);
		return 0;
	}
	if (plan_resolve(&st, repo, pe->def, &err) < 0) {
		error("%s", err);
		free(err);
		goto out;
	}
	if (store_stack(lp, pe, repo, &st) < 0)
		goto out;
	ret = plan_changed(lp, pe);
out:
	stack_release(&st);
	git_repository_free(repo);
	return ret;
}

static int loop_pass(struct loop *lp)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < lp->nr_plans; i++)
		if (pass_plan(lp, &lp->plans[i]) < 0)
			ret = -1;
	return ret;
}

/* --- after a change ------------------------------------------------------------ */

static struct plan_entry *plan_by_id(struct loop *lp, long long id)
{
	size_t i;

	for (i = 0; i < lp->nr_plans; i++)
		if (lp->plans[i].id == id)
			return &lp->plans[i];
	return NULL;
}

static long long plan_of_run(struct loop *lp, long long run_id)
{
	long long plan_id = 0;

	if (db_get_int(lp->db, &plan_id, "SELECT plan_id FROM runs WHERE id = ?",
		       "l", run_id) != 1)
		return 0;
	return plan_id;
}

/*
 * Runs on our slots that are canceled in the database (by the API, or by
 * a bisection that was canceled or went stale): stop them.
 */
static void stop_canceled(struct loop *lp)
{
	long long ids[64];
	size_t n = executor_running(lp->ex, ids, 64), i;

	for (i = 0; i < n; i++) {
		long long canceled = 0;

		if (db_get_int(lp->db, &canceled, "SELECT state = 'canceled' FROM runs"
			       " WHERE id = ?", "l", ids[i]) == 1 && canceled)
			executor_cancel(lp->ex, ids[i]);
	}
}

/*
 * Something about a plan changed (a head, a run, an ack): judge its
 * stages, start or cancel bisections, update the gate.
 */
static int plan_changed(struct loop *lp, struct plan_entry *pe)
{
	int ret = 0;

	if (stages_judge_plan(lp->db, pe->def, pe->id) < 0)
		ret = -1;
	if (bisector_auto(&lp->bisect, pe->def, pe->id) < 0)
		ret = -1;
	if (gate_update(lp->db, pe->def, pe->id) < 0)
		ret = -1;
	stop_canceled(lp);
	return ret;
}

static void after_run(struct loop *lp, long long run_id)
{
	struct plan_entry *pe = plan_by_id(lp, plan_of_run(lp, run_id));

	if (bisector_run_finished(&lp->bisect, run_id) < 0)
		warn("run %lld: its bisection did not record it", run_id);
	if (each_run_finished(lp->db, lp->cfg, run_id) < 0)
		warn("run %lld: its commit checks are lost", run_id);
	if (pe && plan_changed(lp, pe) < 0)
		warn("plan %s: not every consequence of run %lld is stored",
		     pe->def->name, run_id);
}

/* --- scheduling ------------------------------------------------------------------ */

/* The bisector's view of the loop. */
static const struct plan_def *bisect_plan(void *payload, long long plan_id)
{
	struct plan_entry *pe = plan_by_id(payload, plan_id);

	return pe ? pe->def : NULL;
}

static size_t bisect_free_slots(void *payload)
{
	struct loop *lp = payload;

	return executor_idle(lp->ex);
}

/*
 * The run spec of queued run id: 0, 1 if it cannot run (its plan is gone
 * or its profile changed: it is canceled), -1 on error.
 */
static int load_spec(struct loop *lp, long long id, struct run_spec *spec,
		     char **tests, char **only)
{
	struct plan_entry *pe = NULL;
	sqlite3_stmt *st;
	const char *why = NULL;
	size_t idx;

	if (db_first(lp->db, &st, "SELECT r.plan_id, coalesce(r.stage_id, 0),"
		     " r.commit_id, r.tree_id, r.tests, r.profile_digest,"
		     " coalesce(s.idx, 0), r.steps FROM runs r LEFT JOIN stages s"
		     " ON s.id = r.stage_id WHERE r.id = ?", "l", id) != 1)
		return error("run %lld: cannot read it", id);
	memset(spec, 0, sizeof(*spec));
	spec->id = id;
	spec->plan_id = sqlite3_column_int64(st, 0);
	spec->stage_id = sqlite3_column_int64(st, 1);
	snprintf(spec->commit, sizeof(spec->commit), "%s", db_col_text(st, 2));
	snprintf(spec->tree, sizeof(spec->tree), "%s", db_col_text(st, 3));
	*tests = db_col_dup(st, 4);
	*only = db_col_dup(st, 7);
	pe = plan_by_id(lp, spec->plan_id);
	if (!pe)
		why = "the plan is no longer configured";
	else if (strcmp(db_col_text(st, 5), pe->def->profile->digest))
		why = "the profile changed";
	else if (*only && !pe->def->profile->nr_each_steps)
		why = "the profile no longer checks each commit";
	idx = (size_t)sqlite3_column_int64(st, 6);
	db_done(st);
	if (why) {
		free(*tests);
		free(*only);
		*tests = *only = NULL;
		return queue_cancel(lp->db, id, why) < 0 ? -1 : 1;
	}
	spec->plan = pe->def;
	if (*only) {
		/* A commit run: only some of the profile's each_steps. */
		spec->steps = pe->def->profile->each_steps;
		spec->nr_steps = pe->def->profile->nr_each_steps;
		spec->only = *only;
	}
	/*
	 * The stage name must outlive the run: use the plan's copy (a stage's
	 * position in the database is its position in the plan).
	 */
	spec->stage = idx > 0 && idx <= pe->def->nr_stages
		      ? pe->def->stages[idx - 1].name : "base";
	spec->tests = *tests;
	return 0;
}

/*
 * Heads go first: when every slot is busy and the next queued run is not
 * a commit check (each.h) while a slot runs one, that check is stopped
 * and goes back to the queue, one slot at a time.  A commit check is
 * cheap to redo (its build is incremental); a head waiting behind a
 * series of them is what a developer notices.
 */
static void preempt_for_heads(struct loop *lp)
{
	long long ids[64], next, commit = 0;
	size_t n, i;

	if (executor_idle(lp->ex) || executor_preempting(lp->ex))
		return;
	next = queue_next(lp->db);
	if (next <= 0 || db_get_int(lp->db, &commit, "SELECT reason = 'commit' FROM runs"
				    " WHERE id = ?", "l", next) != 1 || commit)
		return;
	n = executor_running(lp->ex, ids, 64);
	for (i = 0; i < n; i++) {
		if (db_get_int(lp->db, &commit, "SELECT reason = 'commit' FROM runs"
			       " WHERE id = ?", "l", ids[i]) != 1 || !commit)
			continue;
		if (executor_preempt(lp->ex, ids[i]) == 0) {
			info("run %lld: a commit check gives its slot to run %lld",
			     ids[i], next);
			return;
		}
	}
}

/* Start queued runs while slots are idle. */
static void start_idle(struct loop *lp)
{
	long long failed = 0;

	while (executor_idle(lp->ex)) {
		struct run_spec spec;
		char *tests = NULL, *only = NULL;
		long long id = queue_next(lp->db);
		int rc;

		/* A run that failed to start and is still queued waits a turn. */
		if (id <= 0 || id == failed)
			return;
		if (queue_reuse_late(lp->db, id) == 1) {
			/* Answered by an identical run that finished first. */
			after_run(lp, id);
			continue;
		}
		rc = load_spec(lp, id, &spec, &tests, &only);
		if (rc < 0)
			return;	/* logged; the loop tries again on its next turn */
		if (rc > 0)
			continue;
		if (executor_start(lp->ex, &spec) < 0) {
			/* Done with verdict error (its stage shows it), or queued. */
			failed = id;
			after_run(lp, id);
		}
		/* The stage of a head's run shows "running" from now on. */
		else if (!tests && !only &&
			 stages_judge_plan(lp->db, spec.plan, spec.plan_id) < 0)
			warn("run %lld: its stage still shows it queued", id);
		free(tests);
		free(only);
	}
}

/* Start queued runs while slots are idle; make room for heads. */
static void schedule(struct loop *lp)
{
	start_idle(lp);
	preempt_for_heads(lp);
}

/* --- wakes ------------------------------------------------------------------------- */

void loop_notify(struct loop *lp, enum wake_kind kind, long long id)
{
	struct wake w;

	memset(&w, 0, sizeof(w));	/* no stray bytes in the padding */
	w.kind = kind;
	w.id = id;

	/* Atomic: a message is far smaller than PIPE_BUF. */
	if (write(lp->wake_pipe[1], &w, sizeof(w)) != (ssize_t)sizeof(w))
		atomic_store(&lp->wake_lost, 1);
}

/* Every plan, as if everything had changed. */
static void all_changed(struct loop *lp)
{
	size_t i;

	for (i = 0; i < lp->nr_plans; i++)
		if (plan_changed(lp, &lp->plans[i]) < 0)
			warn("plan %s: not every consequence is stored",
			     lp->plans[i].def->name);
}

static void on_wake(struct loop *lp, const struct wake *w)
{
	struct plan_entry *pe = NULL;
	long long plan_id = 0;

	switch (w->kind) {
	case WAKE_PASS:
		lp->pass_wanted = 1;
		remotes_kick(lp->remotes);
		return;
	case WAKE_FETCHED:
		pe = plan_by_id(lp, w->id);
		if (pe && pass_plan(lp, pe) < 0)
			warn("plan %s: the branches it fetched are not all read",
			     pe->def->name);
		return;
	case WAKE_ALL:
		all_changed(lp);
		return;
	case WAKE_RUN:
		pe = plan_by_id(lp, plan_of_run(lp, w->id));
		break;
	case WAKE_BISECTION:
		if (db_get_int(lp->db, &plan_id, "SELECT plan_id FROM bisections WHERE"
			       " id = ?", "l", w->id) == 1)
			pe = plan_by_id(lp, plan_id);
		break;
	case WAKE_PLAN:
		pe = plan_by_id(lp, w->id);
		break;
	}
	if (pe && plan_changed(lp, pe) < 0)
		warn("plan %s: not every consequence is stored", pe->def->name);
	else if (!pe)
		stop_canceled(lp);
}

/* Read every wake message; a lost one (pipe full) means: look at all. */
static void drain_wakes(struct loop *lp)
{
	struct wake w[64];
	ssize_t n;
	size_t i;

	while ((n = read(lp->wake_pipe[0], w, sizeof(w))) > 0)
		for (i = 0; i < (size_t)n / sizeof(w[0]); i++)
			on_wake(lp, &w[i]);
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		warn("wake: %s", strerror(errno));
	if (atomic_exchange(&lp->wake_lost, 0))
		all_changed(lp);
}

/* --- the loop -------------------------------------------------------------------- */

static int nothing_left(struct loop *lp)
{
	return executor_busy(lp->ex) == 0 && queue_next(lp->db) == 0;
}

static void read_signals(struct loop *lp)
{
	struct signalfd_siginfo si;

	while (read(lp->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue;
		if (si.ssi_signo == SIGHUP) {
			lp->pass_wanted = 1;
			remotes_kick(lp->remotes);
		} else {
			info("signal %u: stopping", si.ssi_signo);
			atomic_store(&lp->stop, 1);
		}
	}
}

static int poll_timeout(double deadline)
{
	double now = now_monotonic();

	if (deadline <= now)
		return 0;
	if (deadline - now > 3600)
		return 3600 * 1000;
	return (int)((deadline - now) * 1000) + 1;
}

static double next_pass_at(const struct loop *lp)
{
	return now_monotonic() + (lp->cfg->poll_interval ? lp->cfg->poll_interval : 1e9);
}

/* One turn: wait for something, then handle all of it. */
static int turn(struct loop *lp)
{
	struct pollfd pfd[160];	/* 2 + a Slurm executor's 1 + 2 per slot (64) */
	long long finished[64];
	double deadline = lp->once ? 1e18 : lp->next_pass;
	size_t n = 0, nfin, i;
	int rc;

	pfd[n].fd = lp->sigfd;
	pfd[n++].events = POLLIN;
	pfd[n].fd = lp->wake_pipe[0];
	pfd[n++].events = POLLIN;
	n += executor_pollfds(lp->ex, pfd + n, sizeof(pfd) / sizeof(pfd[0]) - n,
			      &deadline);
	rc = poll(pfd, n, poll_timeout(deadline));
	if (rc < 0 && errno != EINTR)
		return error("poll: %s", strerror(errno));
	if (rc > 0 && pfd[0].revents)
		read_signals(lp);
	/* Reap on every wakeup: cheap, and SIGCHLDs coalesce. */
	executor_reap(lp->ex);
	if (rc > 0 && pfd[1].revents)
		drain_wakes(lp);
	nfin = executor_service(lp->ex, pfd + 2, n - 2, finished,
				sizeof(finished) / sizeof(finished[0]));
	for (i = 0; i < nfin; i++)
		after_run(lp, finished[i]);
	if (lp->pass_wanted || (!lp->once && now_monotonic() >= lp->next_pass)) {
		lp->pass_wanted = 0;
		if (loop_pass(lp) < 0)
			warn("a pass over the plans failed; the next one tries again");
		lp->next_pass = next_pass_at(lp);
	}
	return 0;
}

/* From a fetch thread: refs of plan_id moved. */
static void on_fetched(void *payload, long long plan_id)
{
	loop_notify(payload, WAKE_FETCHED, plan_id);
}

/*
 * The remotes: with once, each is fetched here before the one pass (there
 * is nothing else to serve meanwhile); otherwise by threads of their own.
 */
static int follow_remotes(struct loop *lp)
{
	struct remote_target *t = xcalloc(lp->nr_plans ? lp->nr_plans : 1, sizeof(*t));
	struct strbuf why = STRBUF_INIT;
	size_t i, n = 0;
	int moved, ret = 0;

	for (i = 0; i < lp->nr_plans; i++) {
		if (!lp->plans[i].def->remote)
			continue;
		t[n].plan = lp->plans[i].def;
		t[n++].plan_id = lp->plans[i].id;
	}
	for (i = 0; lp->once && i < n; i++) {
		int rc = remote_fetch(t[i].plan, NULL, &moved, &why);

		if (rc < 0)
			warn("plan %s: fetch of %s failed: %s", t[i].plan->name,
			     t[i].plan->remote->url, strbuf_str(&why));
		stages_fetch_done(lp->db, t[i].plan_id, rc < 0 ? strbuf_str(&why) : NULL,
				  rc < 0 ? stages_fetch_failures(lp->db, t[i].plan_id) + 1
					 : 0, 0);
	}
	if (!lp->once && n &&
	    !(lp->remotes = remotes_start(lp->cfg->db, lp->cfg->poll_interval, t, n,
					  on_fetched, lp)))
		ret = -1;
	strbuf_release(&why);
	free(t);
	return ret;
}

/*
 * The runs a previous daemon left running: the executor adopts what it
 * can (a batch job still in the cluster); the rest go back to the queue.
 */
static int recover(struct loop *lp)
{
	long long ids[256], keep[256];
	size_t nr_keep = 0;
	int n, i;

	n = db_get_ids(lp->db, ids, 256, "SELECT id FROM runs WHERE state = 'running'",
		       NULL);
	for (i = 0; i < n; i++) {
		struct run_spec spec;
		char *tests = NULL, *only = NULL;

		if (load_spec(lp, ids[i], &spec, &tests, &only) == 0 &&
		    executor_adopt(lp->ex, &spec) == 0)
			keep[nr_keep++] = ids[i];
		else
			executor_abandon(lp->ex, ids[i]);
		free(tests);
		free(only);
	}
	return queue_recover(lp->db, keep, nr_keep);
}

int loop_run(struct loop *lp)
{
	if (recover(lp) < 0 || bisector_resume(&lp->bisect) < 0 ||
	    follow_remotes(lp) < 0)
		return -1;
	if (loop_pass(lp) < 0 && lp->once)
		return -1;
	lp->next_pass = next_pass_at(lp);
	while (!atomic_load(&lp->stop)) {
		if (bisector_tick(&lp->bisect) < 0)
			warn("the bisections could not all advance");
		schedule(lp);
		if (lp->once && nothing_left(lp))
			break;
		if (turn(lp) < 0)
			break;
	}
	remotes_stop(lp->remotes);
	lp->remotes = NULL;
	executor_shutdown(lp->ex);
	return 0;
}

/* --- setup ------------------------------------------------------------------------ */

void loop_free(struct loop *lp)
{
	size_t i;

	if (!lp)
		return;
	remotes_stop(lp->remotes);
	executor_free(lp->ex);
	for (i = 0; i < lp->nr_plans; i++)
		plan_def_free(lp->plans[i].def);
	free(lp->plans);
	db_close(lp->db);
	if (lp->sigfd >= 0)
		close(lp->sigfd);
	if (lp->wake_pipe[0] >= 0)
		close(lp->wake_pipe[0]);
	if (lp->wake_pipe[1] >= 0)
		close(lp->wake_pipe[1]);
	free(lp);
}

/* A plan that follows a remote: its mirror, made when missing. */
static int make_mirror(struct loop *lp, const struct plan_def *plan)
{
	static int stream_ready;
	int created = 0;

	if (!plan->remote)
		return 0;
	if (!stream_ready && remote_global_init(lp->cfg->fetch_timeout) < 0)
		return -1;
	stream_ready = 1;
	if (remote_mirror_init(plan, &created) < 0)
		return -1;
	if (created)
		info("plan %s: created the mirror %s of %s", plan->name, plan->repo,
		     plan->remote->url);
	return 0;
}

struct loop *loop_new(struct kstage_config *cfg, const struct loop_options *opt,
		      char **err)
{
	struct loop *lp = xcalloc(1, sizeof(*lp));
	const char *const *paths = opt->nr_plan_paths ? opt->plan_paths
						      : (const char *const *)cfg->plans;
	size_t n = opt->nr_plan_paths ? opt->nr_plan_paths : cfg->nr_plans, i;
	sigset_t mask;

	*err = NULL;
	lp->cfg = cfg;
	lp->once = opt->once;
	lp->sigfd = lp->wake_pipe[0] = lp->wake_pipe[1] = -1;
	lp->plans = xcalloc(n ? n : 1, sizeof(*lp->plans));
	for (i = 0; i < n; i++) {
		size_t j;

		lp->plans[i].def = plan_def_load(paths[i], err);
		if (!lp->plans[i].def)
			goto fail;
		lp->nr_plans = i + 1;
		for (j = 0; j < i; j++) {
			if (!strcmp(lp->plans[j].def->name, lp->plans[i].def->name)) {
				struct strbuf sb = STRBUF_INIT;

				strbuf_addf(&sb, "%s: plan name \"%s\" is also used by %s",
					    paths[i], lp->plans[i].def->name,
					    lp->plans[j].def->path);
				*err = strbuf_detach(&sb);
				goto fail;
			}
		}
	}
	if (mkdir_p(cfg->artifacts, 0755) < 0 || mkdir_p(cfg->work, 0755) < 0 ||
	    mkdir_p(cfg->cache, 0755) < 0) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "cannot create the data directories (%s, %s, %s): %s",
			    cfg->artifacts, cfg->work, cfg->cache, strerror(errno));
		*err = strbuf_detach(&sb);
		goto fail;
	}
	{
		char *dir = path_dirname(cfg->db);

		mkdir_p(dir, 0755);
		free(dir);
	}
	lp->db = db_open(cfg->db);
	if (!lp->db)
		goto fail;
	for (i = 0; i < lp->nr_plans; i++)
		if (stages_sync_plan(lp->db, lp->plans[i].def, &lp->plans[i].id) < 0 ||
		    make_mirror(lp, lp->plans[i].def) < 0)
			goto fail;
	lp->ex = executor_new(cfg, lp->db);
	if (!lp->ex)
		goto fail;
	lp->bisect.db = lp->db;
	lp->bisect.cfg = cfg;
	lp->bisect.payload = lp;
	lp->bisect.plan = bisect_plan;
	lp->bisect.free_slots = bisect_free_slots;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	lp->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (lp->sigfd < 0 || pipe2(lp->wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		error("signalfd/pipe: %s", strerror(errno));
		goto fail;
	}
	return lp;
fail:
	loop_free(lp);
	return NULL;
}

