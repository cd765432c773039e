#ifndef VERDICT_H
#define VERDICT_H

#include <stddef.h>

#include "compare.h"
#include "states.h"

/*
 * verdict: a stage's verdict from its head's run and its baseline.  Pure:
 * no I/O, unit-tested (tests/unit/test_verdict.c).
 *
 * Positions are those of the stack: 0 is the plan's base, 1..n the
 * stages.  Each position has at most one run that counts: the latest full
 * run of its current head under the plan's profile.
 *
 * The baseline of position i > 0 is the nearest position below it with a
 * finished run that is not an error; positions without a head or a run
 * are passed over, and so are errors (a stage that could not be built
 * says nothing about the tests).  If the nearest position that could
 * serve is still queued or running, the stage waits for it.
 */

struct verdict_input {
	long long run_id;		/* 0: no run of the head */
	enum run_state state;		/* of that run */
	enum run_verdict verdict;	/* when state is RUN_DONE */
};

#define VERDICT_NO_BASELINE (-1)	/* compare with nothing: all "new" */
#define VERDICT_WAIT (-2)		/* the baseline is not finished yet */

/* The baseline position of position idx, or one of the two above. */
long verdict_baseline(const struct verdict_input *in, size_t idx);

/*
 * The verdict of position idx: unknown without a run, queued or running
 * while it is, waiting while the baseline is (base == VERDICT_WAIT),
 * error if the run is, red if counts hold regressions or missing tests,
 * green otherwise.
 */
enum stage_verdict verdict_stage(const struct verdict_input *in, size_t idx,
				 long base, const unsigned counts[CHANGE_KIND_COUNT]);

/* Does the stage at position idx compare its results (a done, finished
 * run with a settled baseline)?  The caller then calls compare_outcomes(). */
int verdict_compares(const struct verdict_input *in, size_t idx, long base);

/*
 * An acknowledged failure (the acks table, through the API or the CLI):
 * a test pattern (fnmatch) that counts as known on every stage below the
 * stage named "until" (all stages when until is NULL).
 */
struct verdict_ack {
	const char *test;
	const char *reason;
	const char *until;
};

/*
 * The rule of known failures and acks alike: does pattern cover test on
 * the stage at position idx, when it counts again from position until_pos
 * on (0: it never does, also for an until stage that is not in the plan)?
 */
int verdict_covers(const char *pattern, size_t until_pos, size_t idx,
		   const char *test);

/*
 * The reason test is acknowledged on the stage at position idx of a plan
 * whose stage names are names[1..n] (names[0] is "base"), or NULL.  An ack
 * whose until stage is not in the plan covers every stage.
 */
const char *verdict_acked(const struct verdict_ack *acks, size_t nr_acks,
			  const char *const *names, size_t nr_names, size_t idx,
			  const char *test);

#endif
