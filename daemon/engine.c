/*
 * engine: passes over the plans, scheduling, comparisons, the event loop.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <git2.h>

#include "bisector.h"
#include "compare.h"
#include "engine.h"
#include "executor.h"
#include "ktap.h"
#include "log.h"
#include "plan.h"
#include "queue.h"
#include "repo.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

#define PRIO_CONFIRM 5
#define PRIO_STAGE 10

struct plan_entry {
	struct plan_def *def;
	long long id;
};

struct engine {
	struct kstage_config *cfg;
	struct db *db;
	struct executor *ex;
	struct plan_entry *plans;
	size_t nr_plans;
	int once;
	int sigfd;
	int wakefd;
	atomic_int stop;
	atomic_int pass_wanted;
	double next_pass;
	struct bisect_env bisect;
};

static int update_gate(struct engine *e, struct plan_entry *pe);
static void after_run(struct engine *e, long long run_id);

struct db *engine_db(struct engine *e)
{
	return e->db;
}

/* --- plans into the database ------------------------------------------------ */

static int sync_stage(struct db *db, long long plan_id, int idx, const char *name,
		      const char *branch, const char *title)
{
	return db_exec(db, "INSERT INTO stages (plan_id, idx, name, branch, title)"
		       " VALUES (?, ?, ?, ?, ?) ON CONFLICT (plan_id, name) DO UPDATE"
		       " SET idx = excluded.idx, branch = excluded.branch,"
		       " title = excluded.title", "lisss", plan_id, idx, name,
		       branch, title);
}

static int sync_plan(struct db *db, struct plan_entry *pe)
{
	const struct plan_def *p = pe->def;
	long long id = 0;
	size_t i;

	if (db_begin(db) < 0)
		return -1;
	if (db_exec(db, "INSERT INTO plans (name, path, repo, base, integration,"
		    " profile, profile_digest, updated_at) VALUES (?, ?, ?, ?, ?, ?,"
		    " ?, ?) ON CONFLICT (name) DO UPDATE SET path = excluded.path,"
		    " repo = excluded.repo, base = excluded.base,"
		    " integration = excluded.integration, profile = excluded.profile,"
		    " profile_digest = excluded.profile_digest,"
		    " updated_at = excluded.updated_at", "sssssssl", p->name, p->path,
		    p->repo, p->base, p->integration, p->profile->name,
		    p->profile->digest, now_wall_ms()) < 0 ||
	    db_get_int(db, &id, "SELECT id FROM plans WHERE name = ?", "s",
		       p->name) != 1)
		goto fail;
	pe->id = id;
	/* Stages are known by name; positions may move, so free them first. */
	if (db_exec(db, "UPDATE stages SET idx = -id WHERE plan_id = ?", "l", id) < 0 ||
	    sync_stage(db, id, 0, "base", p->base, "plan base") < 0)
		goto fail;
	for (i = 0; i < p->nr_stages; i++)
		if (sync_stage(db, id, (int)i + 1, p->stages[i].name,
			       p->stages[i].branch, p->stages[i].title) < 0)
			goto fail;
	/* Stages no longer in the plan go; their runs stay. */
	if (db_exec(db, "DELETE FROM stages WHERE plan_id = ? AND idx < 0", "l", id) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return error("plan %s: cannot store it", p->name);
}

static long long stage_id_at(struct db *db, long long plan_id, size_t idx)
{
	long long id = 0;

	if (db_get_int(db, &id, "SELECT id FROM stages WHERE plan_id = ? AND idx = ?",
		       "li", plan_id, (int)idx) != 1)
		return 0;
	return id;
}

static int store_entry(struct db *db, long long plan_id, long long stage_id,
		       const struct stack_entry *e, int *changed)
{
	char head[GIT_OID_HEXSZ + 1] = "", tree[GIT_OID_HEXSZ + 1] = "";
	char missing[GIT_OID_HEXSZ + 1] = "";
	char *old = NULL;
	size_t i;
	int rc;

	if (e->resolved) {
		git_oid_tostr(head, sizeof(head), &e->head);
		git_oid_tostr(tree, sizeof(tree), &e->tree);
	}
	if (e->nr_missing)
		git_oid_tostr(missing, sizeof(missing), &e->missing);
	rc = db_get_text(db, &old, "SELECT head FROM stages WHERE id = ?", "l", stage_id);
	if (rc < 0)
		return -1;
	*changed = strcmp(old ? old : "", head) != 0;
	free(old);
	if (db_exec(db, "UPDATE stages SET head = ?, tree = ?, stack_state = ?,"
		    " stack_detail = ?, missing_commit = ? WHERE id = ?", "sssssl",
		    e->resolved ? head : NULL, e->resolved ? tree : NULL,
		    stack_state_name(e->state), e->detail[0] ? e->detail : NULL,
		    e->nr_missing ? missing : NULL, stage_id) < 0)
		return -1;
	if (!*changed)
		return 0;
	if (db_exec(db, "UPDATE stages SET head_changed_at = ? WHERE id = ?", "ll",
		    now_wall_ms(), stage_id) < 0 ||
	    db_exec(db, "DELETE FROM stage_commits WHERE stage_id = ?", "l",
		    stage_id) < 0)
		return -1;
	for (i = 0; i < e->nr_commits; i++) {
		char id[GIT_OID_HEXSZ + 1];

		git_oid_tostr(id, sizeof(id), &e->commits[i].id);
		if (db_exec(db, "INSERT INTO stage_commits (stage_id, seq, commit_id,"
			    " subject, author) VALUES (?, ?, ?, ?, ?)", "lisss",
			    stage_id, (int)i, id, e->commits[i].subject,
			    e->commits[i].author) < 0)
			return -1;
	}
	{
		struct strbuf data = STRBUF_INIT;

		strbuf_addf(&data, "{\"head\":\"%s\",\"state\":\"%s\"}", head,
			    stack_state_name(e->state));
		rc = db_event(db, "stage-head", plan_id, stage_id, 0, 0,
			      strbuf_str(&data));
		strbuf_release(&data);
	}
	return rc;
}

/* Queue a full run of the stage's head unless one exists already. */
static int want_run(struct engine *e, struct plan_entry *pe, long long stage_id,
		    size_t idx, const struct stack_entry *se)
{
	struct run_request req = { 0 };
	char head[GIT_OID_HEXSZ + 1], tree[GIT_OID_HEXSZ + 1];
	long long have = 0;
	int reused = 0, rc;
	long long id;

	git_oid_tostr(head, sizeof(head), &se->head);
	git_oid_tostr(tree, sizeof(tree), &se->tree);
	rc = db_get_int(e->db, &have, "SELECT id FROM runs WHERE stage_id = ?"
			" AND commit_id = ? AND profile_digest = ? AND tests IS NULL"
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
	req.reason = "change";
	req.priority = PRIO_STAGE;
	req.supersede = 1;
	id = queue_add(e->db, &req, &reused);
	if (id < 0)
		return -1;
	info("plan %s: stage %zu %s at %.12s: run %lld %s", pe->def->name, idx,
	     se->name, head, id, reused ? "reused an earlier result" : "queued");
	return 0;
}

static int pass_plan(struct engine *e, struct plan_entry *pe)
{
	git_repository *repo = NULL;
	struct stack st = STACK_INIT;
	char *err = NULL;
	size_t i;
	int ret = -1;

	if (repo_open(&repo, pe->def->repo) < 0)
		return error("plan %s: cannot open repository %s", pe->def->name,
			     pe->def->repo);
	if (plan_resolve(&st, repo, pe->def, &err) < 0) {
		error("%s", err);
		free(err);
		goto out;
	}
	for (i = 0; i < st.nr; i++) {
		long long sid = stage_id_at(e->db, pe->id, i);
		int changed = 0;

		if (!sid)
			goto out;
		if (db_begin(e->db) < 0)
			goto out;
		if (store_entry(e->db, pe->id, sid, &st.v[i], &changed) < 0) {
			db_rollback(e->db);
			goto out;
		}
		if (db_commit(e->db) < 0)
			goto out;
		if (changed)
			info("plan %s: stage %zu %s: %s%s%s", pe->def->name, i,
			     st.v[i].name, st.v[i].resolved ? "new head" : "missing",
			     st.v[i].detail[0] ? ", " : "", st.v[i].detail);
		if (st.v[i].resolved && want_run(e, pe, sid, i, &st.v[i]) < 0)
			goto out;
	}
	ret = engine_compare_plan(e->db, pe->def, pe->id);
	if (ret == 0)
		ret = bisector_auto(&e->bisect, pe->def, pe->id);
	if (ret == 0)
		ret = update_gate(e, pe);
out:
	stack_release(&st);
	git_repository_free(repo);
	return ret;
}

/*
 * The gate: the highest stage whose head and every stage below it are
 * green on a consistent stack, and where the integration branch stands
 * relative to it.  (Moving the branch is the gate's job; this records
 * whether it could.)
 */
static int update_gate(struct engine *e, struct plan_entry *pe)
{
	git_repository *repo = NULL;
	sqlite3_stmt *st;
	char *gate = NULL, *gate_name = NULL, *blocker = NULL;
	long long gate_id = 0;
	git_oid integ, target;
	char integ_hex[GIT_OID_HEXSZ + 1] = "";
	struct strbuf detail = STRBUF_INIT;
	const char *state;
	int rc, have_integ = 0;

	st = db_stmt(e->db, "SELECT id, name, head, verdict, stack_state FROM stages"
		     " WHERE plan_id = ? AND idx > 0 ORDER BY idx", "l", pe->id);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (strcmp(db_col_text(st, 3), "green") ||
		    strcmp(db_col_text(st, 4), "ok") ||
		    sqlite3_column_type(st, 2) == SQLITE_NULL) {
			strbuf_addf(&detail, "stage %s is %s%s%s", db_col_text(st, 1),
				    db_col_text(st, 3),
				    strcmp(db_col_text(st, 4), "ok") ? ", stack " : "",
				    strcmp(db_col_text(st, 4), "ok") ? db_col_text(st, 4) : "");
			blocker = strbuf_detach(&detail);
			break;
		}
		gate_id = sqlite3_column_int64(st, 0);
		free(gate);
		free(gate_name);
		gate = db_col_dup(st, 2);
		gate_name = db_col_dup(st, 1);
	}
	db_done(st);

	if (pe->def->integration && repo_open(&repo, pe->def->repo) == 0 &&
	    repo_resolve_branch(&integ, repo, pe->def->integration) == 0) {
		have_integ = 1;
		git_oid_tostr(integ_hex, sizeof(integ_hex), &integ);
	}
	if (!pe->def->integration) {
		state = "unknown";
		strbuf_adds(&detail, "no integration branch configured");
	} else if (!gate) {
		state = "blocked";
		strbuf_adds(&detail, blocker ? blocker : "no stage is green");
	} else if (!have_integ) {
		state = "can-advance";
		strbuf_addf(&detail, "integration branch %s does not exist yet; it can"
			    " start at stage %s", pe->def->integration, gate_name);
	} else if (!strcmp(integ_hex, gate)) {
		state = "current";
		strbuf_addf(&detail, "%s is at stage %s", pe->def->integration, gate_name);
	} else if (git_oid_fromstr(&target, gate) == 0 &&
		   (rc = repo_contains(repo, &target, &integ)) == 1) {
		state = "can-advance";
		strbuf_addf(&detail, "%s can fast-forward to stage %s", pe->def->integration,
			    gate_name);
		if (blocker)
			strbuf_addf(&detail, " (not further: %s)", blocker);
	} else {
		state = "diverged";
		strbuf_addf(&detail, "%s has commits that stage %s does not contain",
			    pe->def->integration, gate_name);
	}
	{
		char *before = NULL;

		db_get_text(e->db, &before, "SELECT gate_state || ' ' || coalesce("
			    "gate_commit, '') || ' ' || coalesce(integration_head, '')"
			    " FROM plans WHERE id = ?", "l", pe->id);
		rc = db_exec(e->db, "UPDATE plans SET integration_head = ?,"
			     " gate_stage_id = ?, gate_commit = ?, gate_state = ?,"
			     " gate_detail = ? WHERE id = ?", "sLsssl",
			     have_integ ? integ_hex : NULL, gate_id, gate, state,
			     strbuf_str(&detail), pe->id);
		if (rc == 0) {
			struct strbuf now = STRBUF_INIT, data = STRBUF_INIT;

			strbuf_addf(&now, "%s %s %s", state, gate ? gate : "", integ_hex);
			if (!before || strcmp(before, now.buf)) {
				strbuf_addf(&data, "{\"state\":\"%s\"}", state);
				rc = db_event(e->db, "gate", pe->id, 0, 0, 0, data.buf);
			}
			strbuf_release(&now);
			strbuf_release(&data);
		}
		free(before);
	}
	git_repository_free(repo);
	strbuf_release(&detail);
	free(gate);
	free(gate_name);
	free(blocker);
	return rc;
}

static int engine_pass(struct engine *e)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < e->nr_plans; i++)
		if (pass_plan(e, &e->plans[i]) < 0)
			ret = -1;
	return ret;
}

/* --- comparing stages ---------------------------------------------------------- */

struct outcomes {
	struct outcome *v;
	char **strings;
	size_t nr;
};

static int load_outcomes(struct db *db, long long run_id, struct outcomes *o)
{
	sqlite3_stmt *st;
	size_t alloc = 0;

	memset(o, 0, sizeof(*o));
	if (!run_id)
		return 0;
	st = db_stmt(db, "SELECT test, status, detail FROM results WHERE run_id = ?"
		     " ORDER BY test", "l", run_id);
	if (!st)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		enum test_status s;

		if (o->nr == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			o->v = xrealloc(o->v, alloc * sizeof(*o->v));
			o->strings = xrealloc(o->strings, 2 * alloc * sizeof(char *));
		}
		o->strings[2 * o->nr] = db_col_dup(st, 0);
		o->strings[2 * o->nr + 1] = db_col_dup(st, 2);
		o->v[o->nr].test = o->strings[2 * o->nr];
		o->v[o->nr].detail = o->strings[2 * o->nr + 1];
		o->v[o->nr].status = test_status_parse(&s, db_col_text(st, 1)) == 0
				     ? (int)s : TEST_ERROR;
		o->nr++;
	}
	db_done(st);
	return 0;
}

static void free_outcomes(struct outcomes *o)
{
	size_t i;

	for (i = 0; i < 2 * o->nr; i++)
		free(o->strings[i]);
	free(o->strings);
	free(o->v);
}

struct known_ctx {
	const struct plan_def *plan;
	size_t idx;
};

static const char *known_cb(const char *test, void *payload)
{
	struct known_ctx *k = payload;
	const struct known_failure *f =
		profile_known_failure(k->plan->profile, k->plan, k->idx, test);

	return f ? f->reason : NULL;
}

/* Latest full run of a stage's head under the plan's profile. */
static int head_run(struct db *db, long long stage_id, const char *digest,
		    long long *run_id, char **state, char **verdict)
{
	sqlite3_stmt *st;
	int found = 0;

	*run_id = 0;
	*state = *verdict = NULL;
	st = db_stmt(db, "SELECT r.id, r.state, r.verdict FROM runs r"
		     " JOIN stages s ON s.id = r.stage_id"
		     " WHERE r.stage_id = ? AND r.commit_id = s.head"
		     " AND r.profile_digest = ? AND r.tests IS NULL"
		     " AND r.state IN ('queued', 'running', 'done')"
		     " ORDER BY r.state = 'done' DESC, r.id DESC LIMIT 1", "ls",
		     stage_id, digest);
	if (!st)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*run_id = sqlite3_column_int64(st, 0);
		*state = db_col_dup(st, 1);
		*verdict = db_col_dup(st, 2);
		found = 1;
	}
	db_done(st);
	return found;
}

static int set_stage_verdict(struct db *db, long long stage_id, long long run_id,
			     long long base_run, const char *verdict,
			     const unsigned counts[CHANGE_KIND_COUNT])
{
	char *old = NULL;
	int rc;

	db_get_text(db, &old, "SELECT verdict FROM stages WHERE id = ?", "l", stage_id);
	rc = db_exec(db, "UPDATE stages SET run_id = ?, baseline_run_id = ?,"
		     " verdict = ?, regressions = ?, fixed = ?, new_tests = ?,"
		     " skipped = ?, known = ? WHERE id = ?", "LLsiiiiil", run_id,
		     base_run, verdict,
		     (int)(counts[CHANGE_REGRESSION] + counts[CHANGE_MISSING]),
		     (int)counts[CHANGE_FIXED], (int)counts[CHANGE_NEW],
		     (int)counts[CHANGE_SKIPPED], (int)counts[CHANGE_KNOWN], stage_id);
	if (rc == 0 && (!old || strcmp(old, verdict))) {
		long long plan_id = 0;
		char data[96];

		db_get_int(db, &plan_id, "SELECT plan_id FROM stages WHERE id = ?",
			   "l", stage_id);
		snprintf(data, sizeof(data), "{\"verdict\":\"%s\",\"was\":\"%s\"}",
			 verdict, old ? old : "");
		rc = db_event(db, "stage-verdict", plan_id, stage_id, run_id, 0, data);
	}
	free(old);
	return rc;
}

static int compare_stage(struct db *db, const struct plan_def *plan,
			 long long plan_id, size_t idx, long long *runs,
			 char **verdicts)
{
	long long sid = stage_id_at(db, plan_id, idx);
	long long run = 0, base = 0;
	char *state = NULL, *verdict = NULL;
	unsigned counts[CHANGE_KIND_COUNT] = { 0 };
	const char *v;
	long k;
	int rc, ret = -1;

	if (!sid)
		return 0;
	rc = head_run(db, sid, plan->profile->digest, &run, &state, &verdict);
	if (rc < 0)
		return -1;
	runs[idx] = 0;
	verdicts[idx] = NULL;
	if (db_exec(db, "DELETE FROM changes WHERE stage_id = ?", "l", sid) < 0)
		goto out;
	if (!rc) {
		ret = set_stage_verdict(db, sid, 0, 0, "unknown", counts);
		goto out;
	}
	if (strcmp(state, "done")) {
		verdicts[idx] = xstrdup("pending");
		ret = set_stage_verdict(db, sid, run, 0, state, counts);
		goto out;
	}
	runs[idx] = run;
	verdicts[idx] = xstrdup(verdict ? verdict : "error");
	/*
	 * The baseline: the nearest stage below with a done run that is not
	 * an error (a stage without a head or a run is passed over).
	 */
	for (k = (long)idx - 1; k >= 0; k--) {
		if (!verdicts[k])
			continue;
		if (!strcmp(verdicts[k], "pending") || strcmp(verdicts[k], "error"))
			break;
	}
	if (idx > 0 && k >= 0 && !strcmp(verdicts[k], "pending")) {
		ret = set_stage_verdict(db, sid, run, 0, "waiting", counts);
		goto out;
	}
	base = (idx > 0 && k >= 0) ? runs[k] : 0;
	if (idx > 0) {
		struct outcomes b, s;
		struct change *ch = NULL;
		struct known_ctx kc = { plan, idx };
		size_t nch = 0, i;

		if (load_outcomes(db, base, &b) < 0)
			goto out;
		if (load_outcomes(db, run, &s) < 0) {
			free_outcomes(&b);
			goto out;
		}
		compare_outcomes(&ch, &nch, counts, b.v, b.nr, s.v, s.nr, known_cb, &kc);
		for (i = 0; i < nch; i++)
			db_exec(db, "INSERT INTO changes (stage_id, test, kind, before,"
				" after, detail) VALUES (?, ?, ?, ?, ?, ?)", "lsssss", sid,
				ch[i].test, change_kind_name(ch[i].kind),
				ch[i].before >= 0 ? test_status_name(ch[i].before) : NULL,
				ch[i].after >= 0 ? test_status_name(ch[i].after) : NULL,
				ch[i].detail);
		free(ch);
		free_outcomes(&b);
		free_outcomes(&s);
	}
	if (!strcmp(verdicts[idx], "error"))
		v = "error";
	else if (compare_regressions(counts))
		v = "red";
	else
		v = "green";
	ret = set_stage_verdict(db, sid, run, base, v, counts);
out:
	free(state);
	free(verdict);
	return ret;
}

int engine_compare_plan(struct db *db, const struct plan_def *plan,
			long long plan_id)
{
	size_t n = plan->nr_stages + 1, i;
	long long *runs = xcalloc(n, sizeof(*runs));
	char **verdicts = xcalloc(n, sizeof(*verdicts));
	int ret = 0;

	if (db_begin(db) < 0) {
		free(runs);
		free(verdicts);
		return -1;
	}
	for (i = 0; i < n && ret == 0; i++)
		ret = compare_stage(db, plan, plan_id, i, runs, verdicts);
	if (ret == 0)
		ret = db_commit(db);
	else
		db_rollback(db);
	for (i = 0; i < n; i++)
		free(verdicts[i]);
	free(verdicts);
	free(runs);
	return ret;
}

/* --- scheduling -------------------------------------------------------------- */

static struct plan_entry *plan_by_id(struct engine *e, long long id)
{
	size_t i;

	for (i = 0; i < e->nr_plans; i++)
		if (e->plans[i].id == id)
			return &e->plans[i];
	return NULL;
}

/* The bisector's view of the engine. */
static const struct plan_def *bisect_plan(void *payload, long long plan_id)
{
	struct plan_entry *pe = plan_by_id(payload, plan_id);

	return pe ? pe->def : NULL;
}

static size_t bisect_free_slots(void *payload)
{
	struct engine *e = payload;

	return executor_idle(e->ex);
}

static void bisect_stop_run(void *payload, long long run_id)
{
	struct engine *e = payload;

	executor_cancel(e->ex, run_id);
}

/* Start queued runs while slots are idle. */
static void schedule(struct engine *e)
{
	while (executor_idle(e->ex)) {
		struct run_spec spec = { 0 };
		struct plan_entry *pe;
		sqlite3_stmt *st;
		long long id = queue_next(e->db);
		char *stage = NULL, *tests = NULL;

		if (id <= 0)
			return;
		if (queue_reuse_late(e->db, id) == 1) {
			/* Answered by an identical run that finished first. */
			after_run(e, id);
			continue;
		}
		st = db_stmt(e->db, "SELECT r.plan_id, coalesce(r.stage_id, 0),"
			     " coalesce(s.name, 'base'), r.commit_id, r.tree_id, r.tests,"
			     " r.profile_digest FROM runs r"
			     " LEFT JOIN stages s ON s.id = r.stage_id WHERE r.id = ?",
			     "l", id);
		if (!st || sqlite3_step(st) != SQLITE_ROW) {
			db_done(st);
			return;
		}
		spec.id = id;
		spec.plan_id = sqlite3_column_int64(st, 0);
		spec.stage_id = sqlite3_column_int64(st, 1);
		stage = db_col_dup(st, 2);
		snprintf(spec.commit, sizeof(spec.commit), "%s", db_col_text(st, 3));
		snprintf(spec.tree, sizeof(spec.tree), "%s", db_col_text(st, 4));
		tests = db_col_dup(st, 5);
		pe = plan_by_id(e, spec.plan_id);
		if (!pe || strcmp(db_col_text(st, 6), pe->def->profile->digest)) {
			db_done(st);
			/* Its plan is gone, or the profile changed under it. */
			queue_cancel(e->db, id, pe ? "the profile changed"
					    : "the plan is no longer configured");
			free(stage);
			free(tests);
			continue;
		}
		db_done(st);
		spec.plan = pe->def;
		/* The stage name must outlive the run: use the plan's copy. */
		spec.stage = "base";
		{
			size_t i;

			for (i = 0; i < pe->def->nr_stages; i++)
				if (!strcmp(pe->def->stages[i].name, stage))
					spec.stage = pe->def->stages[i].name;
		}
		spec.tests = tests;
		/* The stage of a head's run shows "running" from now on. */
		if (executor_start(e->ex, &spec) == 0 && !tests)
			engine_compare_plan(e->db, pe->def, pe->id);
		free(stage);
		free(tests);
	}
}

/* Runs canceled in the database (by the API) while they run here. */
static void reap_cancels(struct engine *e)
{
	long long ids[256];
	int n, i;

	n = db_get_ids(e->db, ids, 256, "SELECT id FROM runs WHERE state = 'canceled'"
		       " AND slot IS NOT NULL AND finished_at >= ?", "l",
		       now_wall_ms() - 3600 * 1000LL);
	for (i = 0; i < n; i++)
		if (executor_has(e->ex, ids[i]))
			executor_cancel(e->ex, ids[i]);
}

static void after_run(struct engine *e, long long run_id)
{
	long long plan_id = 0;
	struct plan_entry *pe;

	if (db_get_int(e->db, &plan_id, "SELECT plan_id FROM runs WHERE id = ?",
		       "l", run_id) != 1)
		return;
	bisector_run_finished(&e->bisect, run_id);
	pe = plan_by_id(e, plan_id);
	if (pe) {
		engine_compare_plan(e->db, pe->def, pe->id);
		bisector_auto(&e->bisect, pe->def, pe->id);
		update_gate(e, pe);
	}
}

/* Something changed in the database from outside (the API). */
static void on_wake(struct engine *e)
{
	size_t i;

	reap_cancels(e);
	for (i = 0; i < e->nr_plans; i++) {
		/* Acknowledged failures change verdicts. */
		engine_compare_plan(e->db, e->plans[i].def, e->plans[i].id);
		bisector_auto(&e->bisect, e->plans[i].def, e->plans[i].id);
		update_gate(e, &e->plans[i]);
	}
}

/* --- the loop -------------------------------------------------------------------- */

void engine_wake(struct engine *e, int pass)
{
	uint64_t one = 1;

	if (pass)
		atomic_store(&e->pass_wanted, 1);
	if (write(e->wakefd, &one, sizeof(one)) < 0)
		return;
}

void engine_stop(struct engine *e)
{
	atomic_store(&e->stop, 1);
	engine_wake(e, 0);
}

static int nothing_left(struct engine *e)
{
	return executor_busy(e->ex) == 0 && queue_next(e->db) == 0;
}

int engine_loop(struct engine *e)
{
	struct pollfd pfd[80];
	long long finished[64];

	queue_recover(e->db);
	bisector_resume(&e->bisect);
	if (engine_pass(e) < 0 && e->once)
		return -1;
	e->next_pass = now_monotonic() + (e->cfg->poll_interval ? e->cfg->poll_interval : 1e9);

	while (!atomic_load(&e->stop)) {
		double deadline = e->once ? 1e18 : e->next_pass;
		double now;
		size_t n = 0, nfin, i;
		int timeout_ms, rc;

		bisector_tick(&e->bisect);
		schedule(e);
		if (e->once && nothing_left(e))
			break;
		pfd[n].fd = e->sigfd;
		pfd[n].events = POLLIN;
		n++;
		pfd[n].fd = e->wakefd;
		pfd[n].events = POLLIN;
		n++;
		n += executor_pollfds(e->ex, pfd + n, sizeof(pfd) / sizeof(pfd[0]) - n,
				      &deadline);
		now = now_monotonic();
		if (deadline <= now)
			timeout_ms = 0;
		else if (deadline - now > 3600)
			timeout_ms = 3600 * 1000;
		else
			timeout_ms = (int)((deadline - now) * 1000) + 1;
		rc = poll(pfd, n, timeout_ms);
		if (rc < 0 && errno != EINTR) {
			error("poll: %s", strerror(errno));
			break;
		}
		if (rc > 0 && pfd[0].revents) {
			struct signalfd_siginfo si;

			while (read(e->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					continue;
				} else if (si.ssi_signo == SIGHUP) {
					atomic_store(&e->pass_wanted, 1);
				} else {
					info("signal %u: stopping", si.ssi_signo);
					atomic_store(&e->stop, 1);
				}
			}
		}
		/* Reap on every wakeup: cheap, and SIGCHLDs coalesce. */
		executor_reap(e->ex);
		if (rc > 0 && pfd[1].revents) {
			uint64_t v;

			if (read(e->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				warn("wake: %s", strerror(errno));
			on_wake(e);
		}
		nfin = executor_service(e->ex, pfd + 2, n - 2, finished,
					sizeof(finished) / sizeof(finished[0]));
		for (i = 0; i < nfin; i++)
			after_run(e, finished[i]);
		if (atomic_exchange(&e->pass_wanted, 0) ||
		    (!e->once && now_monotonic() >= e->next_pass)) {
			engine_pass(e);
			e->next_pass = now_monotonic() +
				       (e->cfg->poll_interval ? e->cfg->poll_interval : 1e9);
		}
	}
	executor_shutdown(e->ex);
	return 0;
}

/* --- setup ------------------------------------------------------------------------ */

struct engine *engine_new(struct kstage_config *cfg,
			  const struct engine_options *opt, char **err)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	const char *const *paths = opt->nr_plan_paths ? opt->plan_paths
						      : (const char *const *)cfg->plans;
	size_t n = opt->nr_plan_paths ? opt->nr_plan_paths : cfg->nr_plans, i;
	sigset_t mask;

	*err = NULL;
	e->cfg = cfg;
	e->once = opt->once;
	e->sigfd = e->wakefd = -1;
	e->plans = xcalloc(n ? n : 1, sizeof(*e->plans));
	for (i = 0; i < n; i++) {
		size_t j;

		e->plans[i].def = plan_def_load(paths[i], err);
		if (!e->plans[i].def)
			goto fail;
		e->nr_plans = i + 1;
		for (j = 0; j < i; j++) {
			if (!strcmp(e->plans[j].def->name, e->plans[i].def->name)) {
				struct strbuf sb = STRBUF_INIT;

				strbuf_addf(&sb, "%s: plan name \"%s\" is also used by %s",
					    paths[i], e->plans[i].def->name,
					    e->plans[j].def->path);
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
	e->db = db_open(cfg->db);
	if (!e->db)
		goto fail;
	for (i = 0; i < e->nr_plans; i++)
		if (sync_plan(e->db, &e->plans[i]) < 0)
			goto fail;
	e->ex = executor_new(cfg, e->db);
	if (!e->ex)
		goto fail;
	e->bisect.db = e->db;
	e->bisect.cfg = cfg;
	e->bisect.payload = e;
	e->bisect.plan = bisect_plan;
	e->bisect.free_slots = bisect_free_slots;
	e->bisect.stop_run = bisect_stop_run;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	e->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	e->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->sigfd < 0 || e->wakefd < 0) {
		error("signalfd/eventfd: %s", strerror(errno));
		goto fail;
	}
	return e;
fail:
	engine_free(e);
	return NULL;
}

void engine_free(struct engine *e)
{
	size_t i;

	if (!e)
		return;
	executor_free(e->ex);
	for (i = 0; i < e->nr_plans; i++)
		plan_def_free(e->plans[i].def);
	free(e->plans);
	db_close(e->db);
	if (e->sigfd >= 0)
		close(e->sigfd);
	if (e->wakefd >= 0)
		close(e->wakefd);
	free(e);
}
