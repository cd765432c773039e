#ifndef GATE_H
#define GATE_H

#include "config.h"
#include "db.h"
#include "states.h"

/*
 * gate: where a plan's integration branch may go, and where it stands.
 *
 * The gate's stage is the highest stage whose head, and the head of every
 * stage below it, is green on a consistent stack.  The gate's state says
 * where the integration branch stands relative to that stage's head:
 *
 *   unknown      the plan has no integration branch
 *   blocked      no stage is green (the detail names the first that is not)
 *   can-advance  the branch is an ancestor of the gate's head (or does not
 *                exist yet): a fast-forward would move it there
 *   current      the branch is at the gate's head
 *   diverged     the branch has commits the gate's head lacks
 *
 * gate.c is the only writer of the gates, gate_decisions and
 * gate_overrides tables, and
 * the only code that moves an integration branch.  A change of state, gate
 * commit or integration head is an event ("gate").
 */

struct gate_view {
	enum gate_state state;
	long long stage_id;		/* 0 = none */
	char *stage;			/* the gate stage's name, or NULL */
	char *commit;			/* its head, or NULL */
	char *blocker;			/* why it is not higher, or NULL */
	char *integration_head;		/* NULL if the branch does not exist */
	char *detail;			/* one sentence for people */
};

#define GATE_VIEW_INIT { GATE_UNKNOWN, 0, NULL, NULL, NULL, NULL, NULL }

void gate_view_release(struct gate_view *g);

/* What the gate needs of a plan, as the plans table has it. */
struct gate_plan {
	long long id;
	char *name, *repo, *integration;	/* integration may be NULL */
	enum gate_policy policy;
};

/* 1 loaded, 0 no such plan, -1 error. */
int gate_plan_load(struct gate_plan *p, struct db *db, long long plan_id);
void gate_plan_release(struct gate_plan *p);

/*
 * Work out the gate of a plan from its stages' verdicts and the
 * repository.  0 or -1.
 */
int gate_compute(struct gate_view *out, struct db *db, const struct gate_plan *plan);

/*
 * Compute the gate of a plan and store it (with an event if it moved);
 * with the plan's gate policy "auto", fast-forward the integration branch
 * when it can advance, and record a "blocked" decision when it diverged.
 */
int gate_update(struct db *db, const struct plan_def *plan, long long plan_id);

/*
 * Fast-forward the integration branch to stage (NULL: the gate's stage),
 * for "by" ("auto", or the token that asked), as a compare-and-swap on
 * where the branch is, with a reflog message naming the runs that tested
 * every stage up to it.  Never a non-fast-forward.  Every decision is
 * stored (gate_decisions) and is an event; a refusal asked for by a
 * person too.  1 moved, 0 refused, -1 error; *detail (caller frees) says
 * what happened, for people.  From any thread, with its connection.
 */
int gate_advance(struct db *db, long long plan_id, const char *stage,
		 const char *by, char **detail);

/*
 * May the integration branch of the plan be set to commit (a push, seen
 * by the repository's pre-receive hook)?  Only to the gate's commit or
 * one of its ancestors: the head of a stage tested green with every
 * stage below it, or a commit an admin's override allows (used up then,
 * and recorded as an "overridden" decision; *detail says whose and why).
 * 1 allowed, 0 refused (recorded, by "by"; *detail names the stage, its
 * verdict and its failing tests), -1 error.
 */
int gate_check(struct db *db, long long plan_id, const char *commit,
	       const char *by, char **detail);

#define GATE_OVERRIDE_MS (60 * 60 * 1000)	/* how long an override waits */

/*
 * An admin ("by") lets the next push of exactly commit (40 hex digits) to
 * the plan's integration branch through gate_check(), once, within
 * GATE_OVERRIDE_MS, for reason.  Returns 1 (*id, *expires_at set), 0
 * when the plan has no integration branch, -1 error.
 */
int gate_override_add(struct db *db, long long plan_id, const char *commit,
		      const char *reason, const char *by, long long *id,
		      long long *expires_at);

#endif
