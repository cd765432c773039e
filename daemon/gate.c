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
static void judge(struct gate_view *g, const struct plan_def *plan,
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

int gate_compute(struct gate_view *out, struct db *db, const struct plan_def *plan,
		 long long plan_id)
{
	git_repository *repo = NULL;
	git_oid integ;
	int have_integ = 0;

	memset(out, 0, sizeof(*out));
	if (find_gate_stage(out, db, plan_id) < 0)
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

/* Store g; an event when the state, the gate commit or the branch moved. */
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
	return events_add(db, "gate", plan_id, 0, 0, 0,
			  json_pack("{s:s}", "state", gate_state_name(g->state)));
}

int gate_update(struct db *db, const struct plan_def *plan, long long plan_id)
{
	struct gate_view g = GATE_VIEW_INIT;
	int ret = -1;

	if (gate_compute(&g, db, plan, plan_id) < 0)
		goto out;
	if (db_begin(db) < 0)
		goto out;
	if (gate_store(db, plan_id, &g) < 0) {
		db_rollback(db);
		goto out;
	}
	ret = db_commit(db);
out:
	if (ret < 0)
		error("plan %s: cannot update the gate", plan->name);
	gate_view_release(&g);
	return ret;
}
