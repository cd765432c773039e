#ifndef BISECT_H
#define BISECT_H

#include <stddef.h>

#include "states.h"

/*
 * bisect: the search for the first bad commit, as a pure function over a
 * list of marks.  No I/O, no allocation the caller does not free; the
 * orchestration (running commits, storing marks, confirming) lives in
 * bisector.c.
 *
 * The range is commits[0..n-1], oldest first (first-parent order).  The
 * commit before commits[0] (the baseline) is known good and commits[n-1]
 * is known bad; the caller marks commits[n-1] BISECT_BAD before the first
 * call.  Every commit has a mark:
 *
 *   UNTESTED  nothing known yet
 *   PENDING   being tested now (never proposed again)
 *   GOOD      the failing tests pass
 *   BAD       the failing tests fail
 *   SKIP      untestable (build failure, unrelated boot failure)
 *
 * The search window is (good, bad): "bad" is the lowest BAD index, "good"
 * the highest GOOD index below it (-1 = the baseline).  A GOOD above the
 * lowest BAD (a non-monotonic answer, e.g. a flaky test) is ignored for the
 * window.
 *
 * k-ary search: with "slots" free slots, bisect_next() proposes up to that
 * many UNTESTED commits inside the window that split its candidates (the
 * commits good+1..bad, one of which is the first bad) into slots+1 parts
 * of nearly equal size.  A point that is SKIP (or already taken) is
 * replaced by the nearest UNTESTED commit in its part not already
 * proposed.  Priority points (stage boundaries: the head of each stage
 * inside the range) that are UNTESTED and inside the window are proposed
 * first, in the order given.  PENDING commits and the priority points
 * count as splits already placed: the remaining slots go to the gaps
 * between them so that the largest part left is as small as possible, so
 * a caller that refills slots while others still run never gets a commit
 * right next to one whose result is on its way.
 * With one slot this is ordinary binary search: rounds <= ceil(log2(n+1)),
 * and with P slots rounds <= ceil(log_{P+1}(n+1)) when nothing is skipped,
 * no priority points are given and each round's results are all in before
 * the next call.  A search always ends: every round marks at least one
 * UNTESTED commit, even when marks are flaky or contradictory.
 */

enum bisect_state {
	BISECT_SEARCHING = 0,	/* more commits must be tested */
	BISECT_WAITING,		/* nothing to propose; PENDING commits decide */
	BISECT_FOUND,		/* first bad = commits[bad] */
	BISECT_INCONCLUSIVE,	/* first bad is in (good, bad], all between SKIP */
	BISECT_INVALID,		/* no BAD mark at all: the caller's mistake */
};

struct bisect_window {
	enum bisect_state state;
	long good;		/* highest GOOD below bad; -1 = the baseline */
	long bad;		/* lowest BAD; -1 if none (INVALID) */
	size_t candidates;	/* bad - good: commits that may be the first bad */
	size_t untestable;	/* SKIP marks inside (good, bad) */
};

/*
 * Look at the marks and say where the search stands (*win), then propose
 * up to max_points commit indices to test next into points[] (ascending,
 * distinct, each UNTESTED; points[] has room for max_points).  Returns the
 * number of points proposed (0 unless win->state is BISECT_SEARCHING;
 * SEARCHING with max_points 0 proposes nothing).  prio[0..nprio) are
 * priority indices (may be NULL); ones outside the window or already
 * marked are ignored.  The state is FOUND when candidates is 1, else
 * SEARCHING while an UNTESTED commit is left inside the window, else
 * WAITING while a PENDING one is, else INCONCLUSIVE.  INVALID (n == 0
 * too) leaves good and bad -1 and the counts 0.  Scratch memory is
 * freed before returning.
 */
size_t bisect_next(size_t *points, size_t max_points, struct bisect_window *win,
		   const enum bisect_mark *marks, size_t n,
		   const size_t *prio, size_t nprio);

/*
 * Confidence that a commit marked GOOD really is good when the test fails
 * with probability "rate" on a bad commit and each commit ran "runs"
 * times: 1 - (1 - rate)^runs.  The confidence of a whole answer is this
 * to the power of the number of GOOD verdicts it rests on.
 */
double bisect_confidence(double rate, unsigned runs, unsigned goods);

/*
 * The smallest number of runs per step so that every GOOD verdict holds
 * with at least "target" confidence (e.g. 0.95) at the given fail rate;
 * at least 1, at most "max_runs" (which it returns when the target cannot
 * be reached, e.g. at rate 0).
 */
unsigned bisect_runs_needed(double rate, double target, unsigned max_runs);

#endif
