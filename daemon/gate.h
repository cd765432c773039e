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
 * gate.c is the only writer of the gates table.  A change of state, gate
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

/*
 * Work out the gate of a plan (by database id) from its stages' verdicts
 * and the repository.  0 or -1.
 */
int gate_compute(struct gate_view *out, struct db *db, const struct plan_def *plan,
		 long long plan_id);

/* Compute the gate of a plan and store it (with an event if it moved). */
int gate_update(struct db *db, const struct plan_def *plan, long long plan_id);

#endif
