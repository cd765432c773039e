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
 * The modules that compute a state include this header for its enum:
 * ktap.h (test_status), console.h (boot_verdict), plan.h (stack_state),
 * compare.h (change_kind), bisect.h (bisect_mark).
 */

/* A test's result ("pass", "fail", "skip", "error"). */
enum test_status {
	TEST_PASS = 0,
	TEST_FAIL,
	TEST_SKIP,
	TEST_ERROR,
	TEST_STATUS_COUNT
};

/* The boot verdict of a console log (console.h), mildest first. */
enum boot_verdict {
	BOOT_CLEAN = 0,
	BOOT_WARNING,
	BOOT_HUNG,
	BOOT_TIMEOUT,
	BOOT_BUG,
	BOOT_OOPS,
	BOOT_KASAN,
	BOOT_PANIC,
	BOOT_VERDICT_COUNT
};

/* Where a stage stands on the stack (plan.h). */
enum stack_state {
	STACK_OK = 0,
	STACK_NEEDS_REBASE,	/* does not contain the head of the stage below */
	STACK_MISSING,		/* the branch does not exist */
	STACK_UNKNOWN,		/* not resolved yet (stored only) */
	STACK_STATE_COUNT
};

/* A test's change from the baseline to the stage (compare.h). */
enum change_kind {
	CHANGE_REGRESSION = 0,
	CHANGE_MISSING,
	CHANGE_FIXED,
	CHANGE_NEW,
	CHANGE_SKIPPED,
	CHANGE_KNOWN,
	CHANGE_KIND_COUNT
};

/* What a bisection knows of one commit (bisect.h). */
enum bisect_mark {
	BISECT_UNTESTED = 0,
	BISECT_PENDING,
	BISECT_GOOD,
	BISECT_BAD,
	BISECT_SKIP,
	BISECT_MARK_COUNT
};

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
	REASON_COMMIT,		/* one commit of a stage built and checked (each.h) */
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

/* What the gate did about an integration branch (gate.h). */
enum gate_action {
	GATE_ACT_MOVED = 0,	/* fast-forwarded to a tested stage */
	GATE_ACT_REFUSED,	/* asked to, and may not (the detail says why) */
	GATE_ACT_BLOCKED,	/* would, but the branch has diverged */
	GATE_ACT_OVERRIDDEN,	/* a push let through by an admin's override */
	GATE_ACTION_COUNT
};

/* What an API token may do (token.h); each scope includes the ones before. */
enum token_scope {
	TOKEN_SCOPE_READ = 0,	/* reads (when the server wants a token for them) */
	TOKEN_SCOPE_PUSH,	/* + what the push hooks ask: refresh, gate check */
	TOKEN_SCOPE_WRITE,	/* + every write: trigger, retry, bisect, acks, series */
	TOKEN_SCOPE_ADMIN,	/* + overriding the gate */
	TOKEN_SCOPE_COUNT
};

/* How the fetches of a plan's remote go (remote.h); NULL: not fetched yet. */
enum fetch_state {
	FETCH_OK = 0,		/* the last fetch worked */
	FETCH_FAILING,		/* it failed: retried with backoff */
	FETCH_STATE_COUNT
};

/*
 * The two mapping functions of each enum: X_name() and X_parse().
 */
#define DECLARE_NAMES(prefix, type)					\
const char *prefix##_name(type v);					\
int prefix##_parse(type *out, const char *s)

DECLARE_NAMES(test_status, enum test_status);
DECLARE_NAMES(boot_verdict, enum boot_verdict);
DECLARE_NAMES(stack_state, enum stack_state);
DECLARE_NAMES(change_kind, enum change_kind);
DECLARE_NAMES(bisect_mark, enum bisect_mark);
DECLARE_NAMES(run_state, enum run_state);
DECLARE_NAMES(run_verdict, enum run_verdict);
DECLARE_NAMES(run_reason, enum run_reason);
DECLARE_NAMES(step_state, enum step_state);
DECLARE_NAMES(stage_verdict, enum stage_verdict);
DECLARE_NAMES(bisection_state, enum bisection_state);
DECLARE_NAMES(bisect_phase, enum bisect_phase);
DECLARE_NAMES(gate_state, enum gate_state);
DECLARE_NAMES(gate_action, enum gate_action);
DECLARE_NAMES(token_scope, enum token_scope);
DECLARE_NAMES(fetch_state, enum fetch_state);

/* Name tables the readers list (NULL-terminated, in enum order). */
extern const char *const run_state_names[];
extern const char *const stage_verdict_names[];
extern const char *const bisection_state_names[];

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
