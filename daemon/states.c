/*
 * states: the name tables of the stored states (see states.h).  The order
 * of each table is the order of its enum.
 */
#include <string.h>

#include "states.h"
#include "banned.h"

static const char *const test_status_names[] = {
	"pass", "fail", "skip", "error",
};
static const char *const boot_verdict_names[] = {
	"clean", "warning", "hung", "timeout", "bug", "oops", "kasan", "panic",
};
static const char *const stack_state_names[] = {
	"ok", "needs-rebase", "missing", "unknown",
};
static const char *const change_kind_names[] = {
	"regression", "missing", "fixed", "new", "skipped", "known",
};
static const char *const bisect_mark_names[] = {
	"untested", "pending", "good", "bad", "skip",
};
const char *const run_state_names[] = {
	"queued", "running", "done", "canceled", "superseded",
	NULL,
};
static const char *const run_verdict_names[] = {
	"pass", "fail", "error",
};
static const char *const run_reason_names[] = {
	"change", "manual", "retry", "confirm", "bisect", "commit",
};
static const char *const step_state_names[] = {
	"pending", "running", "ok", "failed", "timeout", "error", "skipped",
};
const char *const stage_verdict_names[] = {
	"unknown", "queued", "running", "waiting", "green", "red", "error",
	NULL,
};
const char *const bisection_state_names[] = {
	"requested", "confirming", "searching", "verifying", "found",
	"inconclusive", "flaky", "not-reproduced", "canceled", "error",
	NULL,
};
static const char *const bisect_phase_names[] = {
	"confirm", "search", "verify",
};
static const char *const gate_state_names[] = {
	"unknown", "current", "can-advance", "blocked", "diverged",
};

static const char *const gate_action_names[] = {
	"moved", "refused", "blocked", "overridden",
};
static const char *const token_scope_names[] = {
	"read", "push", "write", "admin",
};

static const char *const fetch_state_names[] = {
	"ok", "failing",
};

const char *name_of(const char *const *names, size_t n, int v)
{
	if (v < 0 || (size_t)v >= n)
		return "unknown";
	return names[v];
}

int name_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	if (!s)
		return -1;
	for (i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return (int)i;
	return -1;
}

DEFINE_NAMES(test_status, enum test_status, TEST_STATUS_COUNT)
DEFINE_NAMES(boot_verdict, enum boot_verdict, BOOT_VERDICT_COUNT)
DEFINE_NAMES(stack_state, enum stack_state, STACK_STATE_COUNT)
DEFINE_NAMES(change_kind, enum change_kind, CHANGE_KIND_COUNT)
DEFINE_NAMES(bisect_mark, enum bisect_mark, BISECT_MARK_COUNT)
DEFINE_NAMES(run_state, enum run_state, RUN_STATE_COUNT)
DEFINE_NAMES(run_verdict, enum run_verdict, RUN_VERDICT_COUNT)
DEFINE_NAMES(run_reason, enum run_reason, RUN_REASON_COUNT)
DEFINE_NAMES(step_state, enum step_state, STEP_STATE_COUNT)
DEFINE_NAMES(stage_verdict, enum stage_verdict, STAGE_VERDICT_COUNT)
DEFINE_NAMES(bisection_state, enum bisection_state, BISECTION_STATE_COUNT)
DEFINE_NAMES(bisect_phase, enum bisect_phase, BISECT_PHASE_COUNT)
DEFINE_NAMES(gate_state, enum gate_state, GATE_STATE_COUNT)
DEFINE_NAMES(gate_action, enum gate_action, GATE_ACTION_COUNT)
DEFINE_NAMES(token_scope, enum token_scope, TOKEN_SCOPE_COUNT)
DEFINE_NAMES(fetch_state, enum fetch_state, FETCH_STATE_COUNT)
