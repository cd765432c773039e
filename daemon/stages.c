/*
 * stages: plans, stages, their heads, verdicts and changes in the
 * database (see stages.h).
 */
#include <stdlib.h>
#include <string.h>
#include <git2.h>
#include <jansson.h>

#include "ack.h"
#include "compare.h"
#include "events.h"
#include "log.h"
#include "stages.h"
#include "states.h"
#include "strbuf.h"
#include "verdict.h"
#include "wrapper.h"
#include "banned.h"

/* --- plans and heads ----------------------------------------------------------- */

static int sync_stage(struct db *db, long long plan_id, int idx, const char *name,
		      const char *branch, const char *title)
{
	return db_exec(db, "INSERT INTO stages (plan_id, idx, name, branch, title)"
		       " VALUES (?, ?, ?, ?, ?) ON CONFLICT (plan_id, name) DO UPDATE"
		       " SET idx = excluded.idx, branch = excluded.branch,"
		       " title = excluded.title", "lisss", plan_id, idx, name,
		       branch, title);
}

/* In the upsert of a plan: the old column while the remote is the same. */
#define SAME_REMOTE(col) "CASE WHEN remote_url IS excluded.remote_url THEN " col " END"

int stages_sync_plan(struct db *db, const struct plan_def *p, long long *plan_id)
{
	size_t i;

	if (db_begin(db) < 0)
		return -1;
	/* A remote of another URL (or none) starts its fetch record afresh. */
	if (db_exec(db, "INSERT INTO plans (name, path, repo, base, integration,"
		    " gate_policy, profile, profile_digest, updated_at, remote_url)"
		    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
		    " path = excluded.path, repo = excluded.repo, base = excluded.base,"
		    " integration = excluded.integration,"
		    " gate_policy = excluded.gate_policy, profile = excluded.profile,"
		    " profile_digest = excluded.profile_digest,"
		    " updated_at = excluded.updated_at,"
		    " fetch_state = " SAME_REMOTE("fetch_state") ","
		    " fetch_error = " SAME_REMOTE("fetch_error") ","
		    " fetch_failures = coalesce(" SAME_REMOTE("fetch_failures") ", 0),"
		    " failing_since = " SAME_REMOTE("failing_since") ","
		    " last_fetch_at = " SAME_REMOTE("last_fetch_at") ","
		    " last_ok_at = " SAME_REMOTE("last_ok_at") ","
		    " next_fetch_at = " SAME_REMOTE("next_fetch_at") ","
		    " remote_url = excluded.remote_url", "ssssssssls", p->name, p->path,
		    p->repo, p->base, p->integration, gate_policy_name(p->gate),
		    p->profile->name, p->profile->digest, now_wall_ms(),
		    p->remote ? p->remote->url : NULL) < 0 ||
	    db_get_int(db, plan_id, "SELECT id FROM plans WHERE name = ?", "s",
		       p->name) != 1)
		goto fail;
	/* Stages are known by name; positions may move, so free them first. */
	if (db_exec(db, "UPDATE stages SET idx = -id WHERE plan_id = ?", "l",
		    *plan_id) < 0 ||
	    sync_stage(db, *plan_id, 0, "base", p->base, "plan base") < 0)
		goto fail;
	for (i = 0; i < p->nr_stages; i++)
		if (sync_stage(db, *plan_id, (int)i + 1, p->stages[i].name,
			       p->stages[i].branch, p->stages[i].title) < 0)
			goto fail;
	/* Stages no longer in the plan go; their runs stay. */
	if (db_exec(db, "DELETE FROM stages WHERE plan_id = ? AND idx < 0", "l",
		    *plan_id) < 0)
		goto fail;
	if (db_commit(db) < 0)
		return error("plan %s: cannot store it", p->name);
	return 0;
fail:
	db_rollback(db);
	return error("plan %s: cannot store it", p->name);
}

long long stages_id_at(struct db *db, long long plan_id, size_t idx)
{
	long long id = 0;

	if (db_get_int(db, &id, "SELECT id FROM stages WHERE plan_id = ? AND idx = ?",
		       "li", plan_id, (int)idx) != 1)
		return 0;
	return id;
}

/* A new head: its own commits replace the old ones. */
static int store_commits(struct db *db, long long stage_id,
			 const struct stack_entry *e)
{
	size_t i;

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
	return 0;
}

static int set_head(struct db *db, long long plan_id, long long stage_id,
		    const struct stack_entry *e, int *changed)
{
	char head[GIT_OID_HEXSZ + 1] = "", tree[GIT_OID_HEXSZ + 1] = "";
	char missing[GIT_OID_HEXSZ + 1] = "";
	char *old = NULL;

	if (e->resolved) {
		git_oid_tostr(head, sizeof(head), &e->head);
		git_oid_tostr(tree, sizeof(tree), &e->tree);
	}
	if (e->nr_missing)
		git_oid_tostr(missing, sizeof(missing), &e->missing);
	if (db_get_text(db, &old, "SELECT head FROM stages WHERE id = ?", "l",
			stage_id) < 0)
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
	if (store_commits(db, stage_id, e) < 0)
		return -1;
	return events_add(db, "stage-head", plan_id, stage_id, 0, 0,
			  json_pack("{s:s,s:s}", "head", head, "state",
				    stack_state_name(e->state)));
}

int stages_set_head(struct db *db, long long plan_id, long long stage_id,
		    const struct stack_entry *e, int *changed)
{
	if (db_begin(db) < 0)
		return -1;
	if (set_head(db, plan_id, stage_id, e, changed) < 0) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}

/* --- fetches of a plan's remote ------------------------------------------------- */

unsigned stages_fetch_failures(struct db *db, long long plan_id)
{
	long long n = 0;

	if (db_get_int(db, &n, "SELECT fetch_failures FROM plans WHERE id = ?", "l",
		       plan_id) != 1 || n < 0)
		return 0;
	return n > 1000000 ? 1000000 : (unsigned)n;
}

struct fetch_outcome {
	const char *error;
	unsigned failures;
	long long next_at;
};

static int fetch_done(struct db *db, long long plan_id, const void *arg)
{
	const struct fetch_outcome *o = arg;
	long long now = now_wall_ms();
	sqlite3_stmt *st;
	char *url = NULL, error[STAGES_FETCH_ERROR_MAX + 1];
	int was_failing = 0, rc = 0;

	if (db_first(db, &st, "SELECT remote_url, fetch_state = 'failing' FROM plans"
		     " WHERE id = ?", "l", plan_id) != 1)
		return -1;
	url = db_col_dup(st, 0);
	was_failing = sqlite3_column_int(st, 1);
	db_done(st);
	snprintf(error, sizeof(error), "%s", o->error ? o->error : "");
	if (db_exec(db, "UPDATE plans SET fetch_state = ?, fetch_error = ?,"
		    " fetch_failures = ?, failing_since = CASE WHEN ?4 IS NULL THEN NULL"
		    " ELSE coalesce(failing_since, ?5) END, last_fetch_at = ?5,"
		    " last_ok_at = CASE WHEN ?4 IS NULL THEN ?5 ELSE last_ok_at END,"
		    " next_fetch_at = ?6 WHERE id = ?7", "ssislLl",
		    fetch_state_name(o->error ? FETCH_FAILING : FETCH_OK),
		    o->error ? error : NULL, o->error ? (int)o->failures : 0,
		    o->error ? error : NULL, now, o->next_at, plan_id) < 0)
		rc = -1;
	/* Only the turns: a failure that repeats is no news. */
	else if (o->error && !was_failing)
		rc = events_add(db, "remote-failing", plan_id, 0, 0, 0,
				json_pack("{s:s?,s:s}", "url", url, "error", error));
	else if (!o->error && was_failing)
		rc = events_add(db, "remote-ok", plan_id, 0, 0, 0,
				json_pack("{s:s?}", "url", url));
	free(url);
	return rc;
}

int stages_fetch_done(struct db *db, long long plan_id, const char *error,
		      unsigned failures, long long next_at)
{
	struct fetch_outcome o = { error, failures, next_at };

	return db_transaction(db, fetch_done, plan_id, &o) < 0 ? -1 : 0;
}

/* --- verdicts -------------------------------------------------------------------- */

/* A run's results, sorted by name, as compare.h wants them. */
struct outcomes {
	struct outcome *v;
	size_t nr, alloc;
};

static void outcomes_release(struct outcomes *o)
{
	size_t i;

	for (i = 0; i < o->nr; i++) {
		free((char *)o->v[i].test);
		free((char *)o->v[i].detail);
	}
	free(o->v);
	memset(o, 0, sizeof(*o));
}

static int load_outcomes(struct outcomes *o, struct db *db, long long run_id)
{
	sqlite3_stmt *st;
	int rc;

	memset(o, 0, sizeof(*o));
	if (!run_id)
		return 0;
	st = db_stmt(db, "SELECT test, status, detail FROM results WHERE run_id = ?"
		     " ORDER BY test", "l", run_id);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		struct outcome *t;
		enum test_status s;

		ALLOC_GROW(o->v, o->nr + 1, o->alloc);
		t = &o->v[o->nr++];
		t->test = db_col_dup(st, 0);
		t->detail = db_col_dup(st, 2);
		t->status = test_status_parse(&s, db_col_text(st, 1)) == 0 ? (int)s
									    : TEST_ERROR;
	}
	db_done(st);
	if (rc < 0)
		outcomes_release(o);
	return rc < 0 ? -1 : 0;
}

/* What a plan's stages are judged with. */
struct judge_ctx {
	const struct plan_def *plan;
	const char **names;		/* "base", then the stages */
	struct ack_list acks;
	size_t idx;			/* the position being judged */
};

static const char *known_cb(const char *test, void *payload)
{
	struct judge_ctx *j = payload;
	const struct known_failure *f =
		profile_known_failure(j->plan->profile, j->plan, j->idx, test);

	if (f)
		return f->reason;
	return verdict_acked(j->acks.v, j->acks.nr, j->names,
			     j->plan->nr_stages + 1, j->idx, test);
}

/* The latest full run of each position's head under the plan's profile. */
static int load_inputs(struct verdict_input *in, long long *ids, struct db *db,
		       const struct plan_def *plan, long long plan_id)
{
	size_t i, n = plan->nr_stages + 1;
	sqlite3_stmt *st;
	int rc = 0;

	for (i = 0; i < n && rc >= 0; i++) {
		memset(&in[i], 0, sizeof(in[i]));
		ids[i] = stages_id_at(db, plan_id, i);
		if (!ids[i])
			continue;
		rc = db_first(db, &st, "SELECT r.id, r.state, coalesce(r.verdict, 'error')"
			      " FROM runs r JOIN stages s ON s.id = r.stage_id"
			      " WHERE r.stage_id = ? AND r.commit_id = s.head"
			      " AND r.profile_digest = ? AND r.tests IS NULL"
			      " AND r.reason != 'commit' AND r.state IN ('queued', 'running', 'done')"
			      " ORDER BY r.state = 'done' DESC, r.id DESC LIMIT 1", "ls",
			      ids[i], plan->profile->digest);
		if (rc == 1) {
			in[i].run_id = sqlite3_column_int64(st, 0);
			if (run_state_parse(&in[i].state, db_col_text(st, 1)) < 0 ||
			    run_verdict_parse(&in[i].verdict, db_col_text(st, 2)) < 0)
				rc = error("run %lld: a state the schema should refuse",
					   in[i].run_id);
			db_done(st);
		}
	}
	return rc < 0 ? -1 : 0;
}

static int store_changes(struct db *db, long long stage_id,
			 const struct change *ch, size_t nch)
{
	size_t i;

	for (i = 0; i < nch; i++)
		if (db_exec(db, "INSERT INTO changes (stage_id, test, kind, before,"
			    " after, detail) VALUES (?, ?, ?, ?, ?, ?)", "lsssss",
			    stage_id, ch[i].test, change_kind_name(ch[i].kind),
			    ch[i].before >= 0 ? test_status_name(ch[i].before) : NULL,
			    ch[i].after >= 0 ? test_status_name(ch[i].after) : NULL,
			    ch[i].detail) < 0)
			return -1;
	return 0;
}

/* The tests that make a stage red, for its event (at most 50 named). */
static json_t *regression_names(const struct change *ch, size_t nch)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < nch && json_array_size(a) < 50; i++)
		if (ch[i].kind == CHANGE_REGRESSION || ch[i].kind == CHANGE_MISSING)
			json_array_append_new(a, json_string(ch[i].test));
	return a;
}

/*
 * Compare position idx with base and store its changes; counts filled,
 * *names (may be NULL) gets the names of its regressions.
 */
static int compare_stage(struct db *db, struct judge_ctx *j, long long stage_id,
			 long long run, long long base_run,
			 unsigned counts[CHANGE_KIND_COUNT], json_t **names)
{
	struct outcomes b, s;
	struct change *ch = NULL;
	size_t nch = 0;
	int ret = -1;

	if (load_outcomes(&b, db, base_run) < 0)
		return -1;
	if (load_outcomes(&s, db, run) < 0)
		goto out_b;
	if (compare_outcomes(&ch, &nch, counts, b.v, b.nr, s.v, s.nr, known_cb, j) < 0)
		goto out;
	ret = store_changes(db, stage_id, ch, nch);
	if (names)
		*names = regression_names(ch, nch);
	free(ch);
out:
	outcomes_release(&s);
out_b:
	outcomes_release(&b);
	return ret;
}

/* A stage's regressions (and missing tests), sorted, one a line; "" none. */
static int regression_set(struct db *db, long long stage_id, char **out)
{
	int rc = db_get_text(db, out, "SELECT coalesce(group_concat(test, char(10)),"
			     " '') FROM (SELECT test FROM changes WHERE stage_id = ?"
			     " AND kind IN ('regression', 'missing') ORDER BY test)",
			     "l", stage_id);

	return rc < 0 ? -1 : 0;
}

/* What a stage was judged before (judge_stage()), to tell what changed. */
struct judged {
	char *verdict;		/* NULL: never judged */
	char *commit;		/* of its run, NULL: none */
	char *regressions;	/* regression_set() */
};

static int judged_load(struct db *db, long long stage_id, struct judged *j)
{
	sqlite3_stmt *st;
	int rc = db_first(db, &st, "SELECT s.verdict, r.commit_id FROM stages s LEFT"
			  " JOIN runs r ON r.id = s.run_id WHERE s.id = ?", "l",
			  stage_id);

	if (rc < 0)
		return -1;
	if (rc == 1) {
		j->verdict = db_col_dup(st, 0);
		j->commit = db_col_dup(st, 1);
		db_done(st);
	}
	return regression_set(db, stage_id, &j->regressions);
}

static void judged_release(struct judged *j)
{
	free(j->verdict);
	free(j->commit);
	free(j->regressions);
}

/*
 * Store a stage's verdict.  It is an event (naming the regressions and
 * the commit judged) when the verdict changed, when a red stage's
 * regressions changed, or when a settled verdict (green, red, error) now
 * holds for another commit (a new head whose results were reused).
 * names is stolen.
 */
static int set_verdict(struct db *db, long long plan_id, long long stage_id,
		       long long run_id, long long base_run, enum stage_verdict v,
		       const unsigned counts[CHANGE_KIND_COUNT], json_t *names,
		       const struct judged *was)
{
	const char *name = stage_verdict_name(v);
	char *commit = NULL, *regs = NULL;
	int settled = v == STAGE_GREEN || v == STAGE_RED || v == STAGE_ERROR;
	int ret = -1;

	if (run_id && db_get_text(db, &commit, "SELECT commit_id FROM runs WHERE"
				  " id = ?", "l", run_id) < 0)
		goto out;
	if (regression_set(db, stage_id, &regs) < 0)
		goto out;
	if (db_exec(db, "UPDATE stages SET run_id = ?, baseline_run_id = ?,"
		    " verdict = ?, regressions = ?, fixed = ?, new_tests = ?,"
		    " skipped = ?, known = ? WHERE id = ?", "LLsiiiiil", run_id,
		    base_run, name, (int)compare_regressions(counts),
		    (int)counts[CHANGE_FIXED], (int)counts[CHANGE_NEW],
		    (int)counts[CHANGE_SKIPPED], (int)counts[CHANGE_KNOWN],
		    stage_id) < 0)
		goto out;
	ret = 0;
	if (!was->verdict || strcmp(was->verdict, name) ||
	    (v == STAGE_RED && strcmp(was->regressions ? was->regressions : "",
				      regs ? regs : "")) ||
	    (settled && commit && (!was->commit || strcmp(was->commit, commit)))) {
		json_t *data = json_pack("{s:s,s:s,s:s?}", "verdict", name, "was",
					 was->verdict ? was->verdict : "", "commit", commit);

		if (names && json_array_size(names))
			json_object_set(data, "regressions", names);
		ret = events_add(db, "stage-verdict", plan_id, stage_id, run_id, 0, data);
	}
out:
	json_decref(names);
	free(commit);
	free(regs);
	return ret;
}

static int judge_stage(struct db *db, struct judge_ctx *j, long long plan_id,
		       const struct verdict_input *in, const long long *ids)
{
	size_t idx = j->idx;
	unsigned counts[CHANGE_KIND_COUNT] = { 0 };
	long base = idx > 0 ? verdict_baseline(in, idx) : VERDICT_NO_BASELINE;
	int compares = verdict_compares(in, idx, base);
	long long base_run = compares && base >= 0 ? in[base].run_id : 0;
	json_t *names = NULL;
	struct judged was = { NULL, NULL, NULL };
	int ret = -1;

	if (judged_load(db, ids[idx], &was) < 0 ||
	    db_exec(db, "DELETE FROM changes WHERE stage_id = ?", "l", ids[idx]) < 0)
		goto out;
	if (compares && compare_stage(db, j, ids[idx], in[idx].run_id, base_run,
				      counts, &names) < 0) {
		json_decref(names);
		goto out;
	}
	ret = set_verdict(db, plan_id, ids[idx], in[idx].run_id, base_run,
			  verdict_stage(in, idx, base, counts), counts, names, &was);
out:
	judged_release(&was);
	return ret;
}

int stages_judge_plan(struct db *db, const struct plan_def *plan, long long plan_id)
{
	size_t n = plan->nr_stages + 1, i;
	struct verdict_input *in = xcalloc(n, sizeof(*in));
	long long *ids = xcalloc(n, sizeof(*ids));
	struct judge_ctx j = { plan, NULL, ACK_LIST_INIT, 0 };
	int ret = -1;

	j.names = xcalloc(n, sizeof(*j.names));
	j.names[0] = "base";
	for (i = 1; i < n; i++)
		j.names[i] = plan->stages[i - 1].name;
	if (db_begin(db) < 0)
		goto out;
	if (ack_load(&j.acks, db, plan_id) < 0 ||
	    load_inputs(in, ids, db, plan, plan_id) < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		j.idx = i;
		if (ids[i] && judge_stage(db, &j, plan_id, in, ids) < 0)
			goto fail;
	}
	ret = db_commit(db);
	goto out;
fail:
	db_rollback(db);
out:
	if (ret < 0)
		error("plan %s: cannot judge its stages", plan->name);
	ack_list_release(&j.acks);
	free(j.names);
	free(ids);
	free(in);
	return ret;
}
