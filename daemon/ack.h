#ifndef ACK_H
#define ACK_H

#include <stddef.h>

#include "db.h"
#include "verdict.h"

/*
 * ack: acknowledged failures, the one writer of the acks table.
 *
 * An ack says that a test (an fnmatch pattern on result names) fails on a
 * plan for a known reason: its failures count as "known" (shown, not a
 * regression, never bisected) on every stage below its "until" stage, or
 * on every stage without one, until the ack is deleted.  The verdicts of
 * the plan's stages are recomputed by the loop when it is told
 * (loop_notify() with WAKE_PLAN).
 */

/*
 * Add an ack.  Returns its id (> 0), 0 if the test is already
 * acknowledged on the plan (*existing set), -1 on error.
 */
long long ack_add(struct db *db, long long plan_id, const char *test,
		  const char *reason, const char *until, const char *by,
		  long long *existing);

/* Delete ack id of a plan.  1 deleted, 0 no such ack, -1 error. */
int ack_delete(struct db *db, long long plan_id, long long id);

/* The acks of a plan, for verdict_acked(). */
struct ack_list {
	struct verdict_ack *v;
	size_t nr;
};

#define ACK_LIST_INIT { NULL, 0 }

int ack_load(struct ack_list *out, struct db *db, long long plan_id);
void ack_list_release(struct ack_list *l);

#endif
