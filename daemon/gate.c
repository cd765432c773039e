/*
 * gate: the highest green stage of a plan and where the integration
 * branch stands relative to it (see gate.h).
 */
#include <stdlib.h>
#include <string.h>
#include <git2.h>
#include <jansson.h>

#include "events.h"
#include "gate.h"
#include "log.h"
#include "repo.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

void gate_view_release(struct gate_view *g)
{
	free(g->stage);
	free(g->commit);
	free(g->blocker);
	free(g->integration_head);
	free(g->detail);
	memset(g, 0, sizeof(*g));
}

/* The highest stage green at its head with everything below green too. */
static int find_gate_stage(struct gate_view *g, struct db *db, long long plan_id)
{
	sqlite3_stmt *st;
	int rc;

	st = db_stmt(db, "SELECT id, name, head, verdict, stack_state FROM stages"
		     " WHERE plan_id = ? AND idx > 0 ORDER BY idx", "l", plan_id);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		const char *verdict = db_col_text(st, 3);
		const char *stack = db_col_text(st, 4);

		if (strcmp(verdict, "green") || strcmp(stack, "ok") ||
		    sqlite3_column_type(st, 2) == SQLITE_NULL) {
			struct strbuf sb = STRBUF_INIT;

			strbuf_addf(&sb, "stage %s is %s", db_col_text(st, 1), verdict);
			if (strcmp(stack, "ok"))
				strbuf_addf(&sb, ", stack %s", stack);
			g->blocker = strbuf_detach(&sb);
			break;
		}
		g->stage_id = sqlite3_column_int64(st, 0);
		free(g->stage);
		free(g->commit);
		g->stage = db_col_dup(st, 1);
		g->commit = db_col_dup(st, 2);
	}
	db_done(st);
	return rc < 0 ? -1 : 0;
}

/* The state and its sentence, given the gate stage and the branch. */
static void judge(struct gate_view *g, const struct gate_plan *plan,
		  git_repository *repo, const git_oid *integ)
{
	struct strbuf sb = STRBUF_INIT;
	git_oid target;

	if (!plan->integration) {
		g->state = GATE_UNKNOWN;
		strbuf_adds(&sb, "no integration branch configured");
	} else if (!g->commit) {
		g->state = GATE_BLOCKED;
		strbuf_adds(&sb, g->blocker ? g->blocker : "no stage is green");
	} else if (!integ) {
		g->state = GATE_CAN_ADVANCE;
		strbuf_addf(&sb, "integration branch %s does not exist yet; it can"
			    " start at stage %s", plan->integration, g->stage);
	} else if (!strcmp(g->integration_head, g->commit)) {
		g->state = GATE_CURRENT;
		strbuf_addf(&sb, "%s is at stage %s", plan->integration, g->stage);
	} else if (git_oid_fromstr(&target, g->commit) == 0 &&
		   repo_contains(repo, &target, integ) == 1) {
		g->state = GATE_CAN_ADVANCE;
		strbuf_addf(&sb, "%s can fast-forward to stage %s", plan->integration,
			    g->stage);
		if (g->blocker)
			strbuf_addf(&sb, " (not further: %s)", g->blocker);
	} else {
		g->state = GATE_DIVERGED;
		strbuf_addf(&sb, "%s has commits that stage %s does not contain",
			    plan->integration, g->stage);
	}
	g->detail = strbuf_detach(&sb);
}

void gate_plan_release(struct gate_plan *p)
{
	free(p->name);
	free(p->repo);
	free(p->integration);
	memset(p, 0, sizeof(*p));
}

int gate_plan_load(struct gate_plan *p, struct db *db, long long plan_id)
{
	sqlite3_stmt *st;
	int rc = db_first(db, &st, "SELECT name, repo, integration, gate_policy"
			  " FROM plans WHERE id = ?", "l", plan_id);

	memset(p, 0, sizeof(*p));
	if (rc == 1) {
		p->id = plan_id;
		p->name = db_col_dup(st, 0);
		p->repo = db_col_dup(st, 1);
		p->integration = db_col_dup(st, 2);
		if (gate_policy_parse(&p->policy, db_col_text(st, 3)) < 0)
			rc = error("plan %lld: gate policy %s", plan_id,
				   db_col_text(st, 3));
		db_done(st);
	}
	return rc;
}

int gate_compute(struct gate_view *out, struct db *db, const struct gate_plan *plan)
{
	git_repository *repo = NULL;
	git_oid integ;
	int have_integ = 0;

	memset(out, 0, sizeof(*out));
	if (find_gate_stage(out, db, plan->id) < 0)
		return -1;
	if (plan->integration && repo_open(&repo, plan->repo) == 0 &&
	    repo_resolve_branch(&integ, repo, plan->integration) == 0) {
		char hex[GIT_OID_HEXSZ + 1];

		git_oid_tostr(hex, sizeof(hex), &integ);
		out->integration_head = xstrdup(hex);
		have_integ = 1;
	}
	judge(out, plan, repo, have_integ ? &integ : NULL);
	git_repository_free(repo);
	return 0;
}

static int same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/*
 * Store g; an event when the state, the gate commit or the branch moved.
 * 1 if one of them did, 0 if not, -1 on error.
 */
static int gate_store(struct db *db, long long plan_id, const struct gate_view *g)
{
	sqlite3_stmt *st;
	int moved = 1, rc;

	rc = db_first(db, &st, "SELECT state, commit_id, integration_head FROM gates"
		      " WHERE plan_id = ?", "l", plan_id);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		moved = strcmp(db_col_text(st, 0), gate_state_name(g->state)) ||
			!same(db_col_text(st, 1), g->commit) ||
			!same(db_col_text(st, 2), g->integration_head);
		db_done(st);
	}
	if (db_exec(db, "INSERT INTO gates (plan_id, state, detail, integration_head,"
		    " stage_id, commit_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
		    " ON CONFLICT (plan_id) DO UPDATE SET state = excluded.state,"
		    " detail = excluded.detail,"
		    " integration_head = excluded.integration_head,"
		    " stage_id = excluded.stage_id, commit_id = excluded.commit_id,"
		    " updated_at = excluded.updated_at", "lsssLsl", plan_id,
		    gate_state_name(g->state), g->detail, g->integration_head,
		    g->stage_id, g->commit, now_wall_ms()) < 0)
		return -1;
	if (!moved)
		return 0;
	if (events_add(db, "gate", plan_id, 0, 0, 0,
		       json_pack("{s:s}", "state", gate_state_name(g->state))) < 0)
		return -1;
	return 1;
}

/* A decision about the integration branch, and its event. */
struct decision {
	enum gate_action action;
	long long stage_id;
	const char *old_commit, *new_commit, *by, *detail;
};

static int record(struct db *db, long long plan_id, const void *arg)
{
	const struct decision *d = arg;

	if (db_exec(db, "INSERT INTO gate_decisions (plan_id, at, action, stage_id,"
		    " old_commit, new_commit, by, detail) VALUES (?, ?, ?, ?, ?, ?,"
		    " ?, ?)", "llsLssss", plan_id, now_wall_ms(),
		    gate_action_name(d->action), d->stage_id, d->old_commit,
		    d->new_commit, d->by, d->detail) < 0)
		return -1;
	return events_add(db, "gate", plan_id, d->stage_id, 0, 0,
			  json_pack("{s:s,s:s,s:s?,s:s}", "action",
				    gate_action_name(d->action), "by", d->by,
				    "commit", d->new_commit, "detail", d->detail));
}

/* Compute and store the gate; 1 if it changed, 0 if not, -1. */
static int refresh(struct db *db, const struct gate_plan *p, struct gate_view *g)
{
	int rc;

	if (gate_compute(g, db, p) < 0)
		return -1;
	if (db_begin(db) < 0)
		return -1;
	rc = gate_store(db, p->id, g);
	if (rc < 0) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db) < 0 ? -1 : rc;
}

/* The plan and its gate as they are now: 1, 0 no such plan, -1. */
static int load_fresh(struct gate_plan *p, struct gate_view *g, struct db *db,
		      long long plan_id)
{
	int rc = gate_plan_load(p, db, plan_id);

	if (rc == 1 && refresh(db, p, g) < 0)
		rc = -1;
	return rc;
}

int gate_update(struct db *db, const struct plan_def *plan, long long plan_id)
{
	struct gate_plan p;
	struct gate_view g = GATE_VIEW_INIT;
	char *why = NULL;
	int rc = gate_plan_load(&p, db, plan_id);

	if (rc == 1)
		rc = refresh(db, &p, &g);
	if (rc >= 0 && p.policy == GATE_AUTO && g.state == GATE_CAN_ADVANCE)
		rc = gate_advance(db, plan_id, NULL, "auto", &why) < 0 ? -1 : 0;
	else if (rc == 1 && p.policy == GATE_AUTO && g.state == GATE_DIVERGED) {
		struct decision d = { GATE_ACT_BLOCKED, g.stage_id, g.integration_head,
				      NULL, "auto", g.detail };

		rc = db_transaction(db, record, plan_id, &d);
	}
	if (rc < 0)
		error("plan %s: cannot update the gate", plan->name);
	free(why);
	gate_view_release(&g);
	gate_plan_release(&p);
	return rc < 0 ? -1 : 0;
}

/* --- moving the integration branch ------------------------------------------- */

/* What a move goes to: the stage, its head, its position. */
struct target {
	long long stage_id, idx;
	char *name, *commit;
};

static void target_release(struct target *t)
{
	free(t->name);
	free(t->commit);
}

/*
 * The stage to move to: the one asked for (it must be at or below the
 * gate's stage), else the gate's stage.  1, 0 refused (*why), -1.
 */
static int pick_target(struct target *t, struct db *db, const struct gate_plan *p,
		       const struct gate_view *g, const char *stage, struct strbuf *why)
{
	long long gate_idx = 0;
	sqlite3_stmt *st;
	int rc;

	memset(t, 0, sizeof(*t));
	if (p->policy == GATE_OFF) {
		strbuf_addf(why, "the gate of plan %s is off", p->name);
		return 0;
	}
	if (!p->integration) {
		strbuf_addf(why, "plan %s has no integration branch", p->name);
		return 0;
	}
	if (!g->commit) {
		strbuf_addf(why, "no stage of plan %s is green: %s", p->name,
			    g->blocker ? g->blocker : "nothing has run yet");
		return 0;
	}
	if (db_get_int(db, &gate_idx, "SELECT idx FROM stages WHERE id = ?", "l",
		       g->stage_id) < 0)
		return -1;
	rc = db_first(db, &st, "SELECT id, idx, name, head FROM stages WHERE"
		      " plan_id = ? AND idx > 0 AND name = coalesce(?, ?)", "lss",
		      p->id, stage, g->stage);
	if (rc <= 0) {
		if (rc == 0)
			strbuf_addf(why, "no stage %s in plan %s", stage, p->name);
		return rc;
	}
	t->stage_id = sqlite3_column_int64(st, 0);
	t->idx = sqlite3_column_int64(st, 1);
	t->name = db_col_dup(st, 2);
	t->commit = db_col_dup(st, 3);
	db_done(st);
	if (t->idx > gate_idx) {
		strbuf_addf(why, "stage %s is not tested green with every stage below"
			    " it (%s)", t->name, g->blocker ? g->blocker : "?");
		return 0;
	}
	return 1;
}

/* "kstage gate: stage S at C, runs 1 2 3 (by B)": the runs that justify it. */
static int reflog_message(struct strbuf *msg, struct db *db, long long plan_id,
			  const struct target *t, const char *by)
{
	long long runs[256];
	int n = db_get_ids(db, runs, 256, "SELECT run_id FROM stages WHERE"
			   " plan_id = ? AND idx > 0 AND idx <= ? AND run_id IS NOT"
			   " NULL ORDER BY idx", "ll", plan_id, t->idx), i;

	if (n < 0)
		return -1;
	strbuf_addf(msg, "kstage gate: stage %s at %.12s, tested by run%s", t->name,
		    t->commit, n == 1 ? "" : "s");
	for (i = 0; i < n; i++)
		strbuf_addf(msg, " %lld", runs[i]);
	strbuf_addf(msg, " (by %s)", by);
	return 0;
}

/*
 * Fast-forward the branch to t, a compare-and-swap on where it is now.
 * 1 moved, 0 refused (*why), -1.
 */
static int move(struct db *db, const struct gate_plan *p, const struct target *t,
		const char *by, const struct gate_view *g, struct strbuf *why)
{
	git_repository *repo = NULL;
	struct strbuf msg = STRBUF_INIT;
	git_oid to, from;
	int rc = -1, have = g->integration_head != NULL;

	if (have && !strcmp(g->integration_head, t->commit)) {
		strbuf_addf(why, "%s is already at stage %s", p->integration, t->name);
		return 0;
	}
	if (git_oid_fromstr(&to, t->commit) < 0 ||
	    (have && git_oid_fromstr(&from, g->integration_head) < 0) ||
	    repo_open(&repo, p->repo) < 0)
		goto out;
	rc = have ? repo_contains(repo, &to, &from) : 1;
	if (rc == 0)
		strbuf_addf(why, "%s has commits that stage %s does not contain: not a"
			    " fast-forward", p->integration, t->name);
	if (rc != 1 || reflog_message(&msg, db, p->id, t, by) < 0)
		goto out;
	rc = repo_move_branch(repo, p->integration, &to, have ? &from : NULL, msg.buf);
	if (rc == 1)
		strbuf_addf(why, "%s moved while the gate moved it; nothing done",
			    p->integration);
	rc = rc == 0 ? 1 : rc == 1 ? 0 : -1;
out:
	strbuf_release(&msg);
	git_repository_free(repo);
	return rc;
}

int gate_advance(struct db *db, long long plan_id, const char *stage,
		 const char *by, char **detail)
{
	struct gate_plan p;
	struct gate_view g = GATE_VIEW_INIT;
	struct target t = { 0 };
	struct strbuf why = STRBUF_INIT;
	int rc = load_fresh(&p, &g, db, plan_id);

	*detail = NULL;
	if (rc == 1)
		rc = pick_target(&t, db, &p, &g, stage, &why);
	if (rc == 1)
		rc = move(db, &p, &t, by, &g, &why);
	if (rc == 1) {
		struct decision d = { GATE_ACT_MOVED, t.stage_id, g.integration_head,
				      t.commit, by, NULL };

		strbuf_addf(&why, "%s moved to stage %s (%.12s)", p.integration,
			    t.name, t.commit);
		d.detail = why.buf;
		info("plan %s: %s, by %s", p.name, why.buf, by);
		if (db_transaction(db, record, plan_id, &d) < 0)
			rc = -1;
		gate_view_release(&g);
		if (rc == 1 && refresh(db, &p, &g) < 0)
			rc = -1;
	} else if (rc == 0 && strcmp(by, "auto")) {
		struct decision d = { GATE_ACT_REFUSED, t.stage_id, g.integration_head,
				      NULL, by, why.buf };

		if (db_transaction(db, record, plan_id, &d) < 0)
			rc = -1;
	}
	*detail = strbuf_detach(&why);
	target_release(&t);
	gate_view_release(&g);
	gate_plan_release(&p);
	return rc;
}

/* --- checking a push to the integration branch ----------------------------------- */

/* Why commit may not be the integration branch: the stage it heads, if any. */
static int why_not(struct strbuf *why, struct db *db, const struct gate_plan *p,
		   const struct gate_view *g, const char *commit)
{
	sqlite3_stmt *st;
	long long stage_id;
	int rc = db_first(db, &st, "SELECT id, name, verdict FROM stages WHERE"
			  " plan_id = ? AND idx > 0 AND head = ? ORDER BY idx LIMIT 1",
			  "ls", p->id, commit);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		strbuf_addf(why, "%.12s is not the head of a stage tested green with"
			    " every stage below it", commit);
	} else {
		stage_id = sqlite3_column_int64(st, 0);
		strbuf_addf(why, "%.12s is the head of stage %s, which is %s",
			    commit, db_col_text(st, 1), db_col_text(st, 2));
		db_done(st);
		if (db_first(db, &st, "SELECT group_concat(test, ', ') FROM (SELECT"
			     " test FROM changes WHERE stage_id = ? AND kind IN"
			     " ('regression', 'missing') ORDER BY test LIMIT 10)", "l",
			     stage_id) == 1) {
			if (*db_col_text(st, 0))
				strbuf_addf(why, ": %s", db_col_text(st, 0));
			db_done(st);
		}
	}
	if (g->commit)
		strbuf_addf(why, " (the gate is at stage %s, %.12s)", g->stage, g->commit);
	else
		strbuf_addf(why, " (%s)", g->blocker ? g->blocker : "no stage is green");
	return 0;
}

/* Is commit the gate's commit or an ancestor of it?  1, 0, -1. */
static int under_gate(const struct gate_plan *p, const struct gate_view *g,
		      const char *commit)
{
	git_repository *repo = NULL;
	git_oid c, top;
	int rc;

	if (!g->commit)
		return 0;
	if (!strcmp(g->commit, commit))
		return 1;
	if (git_oid_fromstr(&c, commit) < 0 || git_oid_fromstr(&top, g->commit) < 0)
		return 0;
	if (repo_open(&repo, p->repo) < 0)
		return -1;
	/*
	 * During a push, git keeps the new objects in a quarantine only the
	 * hook sees: a commit the repository does not have cannot be an
	 * ancestor of the gate's, which it has.
	 */
	rc = repo_has(repo, &c) ? repo_contains(repo, &top, &c) : 0;
	git_repository_free(repo);
	return rc;
}

/* A refused push and what may still let it through. */
struct refusal {
	struct decision d;
	const char *commit;
	struct strbuf *why;	/* the gate's reason; becomes the override's */
	int overridden;
};

/*
 * Use up an override of this commit, if there is one, and record the
 * decision: "overridden" (with whose and why) or "refused".  0 or -1.
 */
static int refuse_or_override(struct db *db, long long plan_id, const void *arg)
{
	struct refusal *r = (struct refusal *)arg;
	struct strbuf detail = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc;

	rc = db_first(db, &st, "SELECT id, by, reason FROM gate_overrides WHERE"
		      " plan_id = ? AND commit_id = ? AND used_at IS NULL AND"
		      " expires_at > ? ORDER BY id LIMIT 1", "lsl", plan_id, r->commit,
		      now_wall_ms());
	if (rc < 0)
		return -1;
	if (rc == 1) {
		long long id = sqlite3_column_int64(st, 0);

		strbuf_addf(&detail, "allowed by override %lld of %s: %s (the gate says: %s)",
			    id, db_col_text(st, 1), db_col_text(st, 2), r->why->buf);
		db_done(st);
		if (db_exec(db, "UPDATE gate_overrides SET used_at = ?, used_by = ? WHERE"
			    " id = ?", "lsl", now_wall_ms(), r->d.by, id) < 0) {
			strbuf_release(&detail);
			return -1;
		}
		strbuf_reset(r->why);
		strbuf_add(r->why, detail.buf, detail.len);
		r->d.action = GATE_ACT_OVERRIDDEN;
		r->overridden = 1;
	}
	strbuf_release(&detail);
	r->d.detail = r->why->buf;
	return record(db, plan_id, &r->d);
}

int gate_override_add(struct db *db, long long plan_id, const char *commit,
		      const char *reason, const char *by, long long *id,
		      long long *expires_at)
{
	struct gate_plan p;
	int rc = gate_plan_load(&p, db, plan_id);

	if (rc == 1 && !p.integration)
		rc = 0;
	gate_plan_release(&p);
	if (rc != 1)
		return rc;
	*expires_at = now_wall_ms() + GATE_OVERRIDE_MS;
	if (db_begin(db) < 0 ||
	    db_exec(db, "INSERT INTO gate_overrides (plan_id, commit_id, reason, by, at,"
		    " expires_at) VALUES (?, ?, ?, ?, ?, ?)", "lsssll", plan_id, commit,
		    reason, by, now_wall_ms(), *expires_at) < 0) {
		db_rollback(db);
		return -1;
	}
	*id = db_last_id(db);
	if (events_add(db, "gate-override", plan_id, 0, 0, 0,
		       json_pack("{s:I,s:s,s:s,s:s}", "override", (json_int_t)*id,
				 "commit", commit, "reason", reason, "by", by)) < 0) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db) < 0 ? -1 : 1;
}

int gate_check(struct db *db, long long plan_id, const char *commit,
	       const char *by, char **detail)
{
	struct gate_plan p;
	struct gate_view g = GATE_VIEW_INIT;
	struct strbuf why = STRBUF_INIT;
	int rc = load_fresh(&p, &g, db, plan_id);

	*detail = NULL;
	if (rc == 1)
		rc = under_gate(&p, &g, commit);
	if (rc == 0) {
		struct refusal r = { { GATE_ACT_REFUSED, g.stage_id, g.integration_head,
				       commit, by, NULL }, commit, &why, 0 };

		if (why_not(&why, db, &p, &g, commit) < 0)
			rc = -1;
		if (rc == 0 && db_transaction(db, refuse_or_override, plan_id, &r) < 0)
			rc = -1;
		if (rc == 0 && r.overridden)
			rc = 1;
	}
	*detail = strbuf_detach(&why);
	gate_view_release(&g);
	gate_plan_release(&p);
	return rc;
}
