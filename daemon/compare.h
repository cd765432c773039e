#ifndef COMPARE_H
#define COMPARE_H

#include <stddef.h>

#include "ktap.h"
#include "states.h"

/*
 * compare: a stage's results against its baseline, test by test.  Pure.
 *
 *   regression  pass on the baseline, fail or error on the stage
 *   missing     pass on the baseline, no result on the stage (a crash or a
 *               hang cut the run short); counted like a regression
 *   fixed       fail or error on the baseline, pass on the stage
 *   new         no result on the baseline
 *   skipped     pass on the baseline, skip on the stage
 *   known       fail or error on the stage, covered by a known-failure
 *               entry of the profile: shown, never counted
 *
 * A test whose status did not change is not a change.
 */

/* One test's outcome in a run.  status < 0 means no result. */
struct outcome {
	const char *test;
	int status;		/* enum test_status, or -1 */
	const char *detail;
};

struct change {
	const char *test;	/* borrowed from the inputs */
	enum change_kind kind;
	int before;		/* enum test_status or -1 */
	int after;
	const char *detail;	/* stage detail, or the known-failure reason */
};

/*
 * Returns the reason if test is a known failure on this stage, else NULL.
 */
typedef const char *(*known_fn)(const char *test, void *payload);

/*
 * base[] and stage[] must be sorted by test name (strcmp) without
 * duplicates.  *out (caller frees the array only) gets the changes in name
 * order; counts[CHANGE_KIND_COUNT] (may be NULL) the number of each kind.
 */
int compare_outcomes(struct change **out, size_t *nr,
		     unsigned counts[CHANGE_KIND_COUNT],
		     const struct outcome *base, size_t nbase,
		     const struct outcome *stage, size_t nstage,
		     known_fn known, void *payload);

/* Counts that make a stage red: regressions + missing. */
static inline unsigned compare_regressions(const unsigned counts[CHANGE_KIND_COUNT])
{
	return counts[CHANGE_REGRESSION] + counts[CHANGE_MISSING];
}

#endif
