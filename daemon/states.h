#ifndef STATES_H
#define STATES_H

#include <stddef.h>

/*
 * states: every state the database stores, as an enum with a name table.
 *
 * The names are what the database and the API hold; the schema refuses
 * any other string (CHECK constraints, schema/0004-checks.sql, kept equal
 * to these tables by tests/unit/test_states.c).  Each enum has two
 * mapping functions:
 *
 *   const char *X_name(enum X v)           "unknown" for a value out of range
 *   int X_parse(enum X *out, const char *s) 0, or -1 if s is not a name
 *
 * States of pure modules live with them: test_status (ktap.h),
 * boot_verdict (console.h), stack_state (plan.h), change_kind
 * (compare.h), bisect_mark (bisect.h).
 */

/*
 * A run:  queued -> running -> done          (verdict pass | fail | error)
 *         queued -> superseded               (a newer head of its stage)
 *         queued | running -> canceled
 *         running -> queued                  (the daemon stopped or died)
 */
enum run_state {
	RUN_QUEUED = 0,
	RUN_RUNNING,
	RUN_DONE,
	RUN_CANCELED,
	RUN_SUPERSEDED,
	RUN_STATE_COUNT
};

enum run_verdict {
	VERDICT_PASS = 0,
	VERDICT_FAIL,
	VERDICT_ERROR,
	RUN_VERDICT_COUNT
};

/* Why a run was queued. */
enum run_reason {
	REASON_CHANGE = 0,	/* a new stage head */
	REASON_MANUAL,		/* triggered by a user */
	REASON_RETRY,		/* a finished run again, without reuse */
	REASON_CONFIRM,		/* a bisection confirms or verifies */
	REASON_BISECT,		/* a bisection searches */
	RUN_REASON_COUNT
};

/* A step: pending -> running -> ok | failed | timeout | error; skipped. */
enum step_state {
	STEP_PENDING = 0,
	STEP_RUNNING,
	STEP_OK,
	STEP_FAILED,
	STEP_TIMEOUT,
	STEP_ERROR,
	STEP_SKIPPED,
	STEP_STATE_COUNT
};

/*
 * A stage's verdict: its head's run against its baseline.  queued and
 * running while the head's run is; waiting while the baseline's is.
 */
enum stage_verdict {
	STAGE_UNKNOWN = 0,
	STAGE_QUEUED,
	STAGE_RUNNING,
	STAGE_WAITING,
	STAGE_GREEN,
	STAGE_RED,
	STAGE_ERROR,
	STAGE_VERDICT_COUNT
};

/* A bisection (see bisector.h); the last six are final. */
enum bisection_state {
	BISECTION_REQUESTED = 0,
	BISECTION_CONFIRMING,
	BISECTION_SEARCHING,
	BISECTION_VERIFYING,
	BISECTION_FOUND,
	BISECTION_INCONCLUSIVE,
	BISECTION_FLAKY,
	BISECTION_NOT_REPRODUCED,
	BISECTION_CANCELED,
	BISECTION_ERROR,
	BISECTION_STATE_COUNT
};

static inline int bisection_state_final(enum bisection_state s)
{
	return s >= BISECTION_FOUND;
}

/* The phase a bisection run belongs to. */
enum bisect_phase {
	PHASE_CONFIRM = 0,
	PHASE_SEARCH,
	PHASE_VERIFY,
	BISECT_PHASE_COUNT
};

/* Where the integration branch stands relative to the gate (gate.h). */
enum gate_state {
	GATE_UNKNOWN = 0,	/* no integration branch configured */
	GATE_CURRENT,		/* at the highest green stage */
	GATE_CAN_ADVANCE,	/* behind it, a fast-forward away */
	GATE_BLOCKED,		/* no stage is green */
	GATE_DIVERGED,		/* has commits the green stage lacks */
	GATE_STATE_COUNT
};

const char *run_state_name(enum run_state v);
int run_state_parse(enum run_state *out, const char *s);
const char *run_verdict_name(enum run_verdict v);
int run_verdict_parse(enum run_verdict *out, const char *s);
const char *run_reason_name(enum run_reason v);
int run_reason_parse(enum run_reason *out, const char *s);
const char *step_state_name(enum step_state v);
int step_state_parse(enum step_state *out, const char *s);
const char *stage_verdict_name(enum stage_verdict v);
int stage_verdict_parse(enum stage_verdict *out, const char *s);
const char *bisection_state_name(enum bisection_state v);
int bisection_state_parse(enum bisection_state *out, const char *s);
const char *bisect_phase_name(enum bisect_phase v);
int bisect_phase_parse(enum bisect_phase *out, const char *s);
const char *gate_state_name(enum gate_state v);
int gate_state_parse(enum gate_state *out, const char *s);

/*
 * The generic halves, for the name tables of other modules: the name of
 * value v in names[0..n) ("unknown" if out of range), and the index of s in it
 * (-1 if absent or NULL).
 */
const char *name_of(const char *const *names, size_t n, int v);
int name_index(const char *const *names, size_t n, const char *s);

/*
 * A name table's two mapping functions, for a table "prefix_names" of
 * "count" entries:  DEFINE_NAMES(run_state, enum run_state, RUN_STATE_COUNT)
 */
#define DEFINE_NAMES(prefix, type, count)					\
const char *prefix##_name(type v)						\
{										\
	return name_of(prefix##_names, count, (int)v);				\
}										\
int prefix##_parse(type *out, const char *s)					\
{										\
	int i = name_index(prefix##_names, count, s);				\
										\
	if (i < 0)								\
		return -1;							\
	*out = (type)i;								\
	return 0;								\
}

#endif
