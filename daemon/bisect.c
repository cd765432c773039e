/*
 * bisect: where a search for the first bad commit stands and which
 * commits to test next, computed from the marks alone (see bisect.h).
 *
 * The module keeps no state between calls: the orchestrator stores the
 * marks, so a restarted daemon or a re-pushed range whose marks come from
 * the cache picks the search up exactly where it was.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bisect.h"
#include "wrapper.h"
#include "banned.h"

/*
 * A stretch of the window between two commits whose fate is already
 * settled or about to be: (lo, hi] holds hi - lo candidates, where lo is
 * the good end or a placed point and hi a placed point or the bad end.
 */
struct gap {
	size_t lo;
	size_t hi;
	size_t room;	/* UNTESTED commits strictly inside, not yet taken */
	size_t k;	/* new points allotted to this gap */
};

/* Candidates left in the largest part once the gap is cut by g->k points. */
static size_t gap_part(const struct gap *g)
{
	size_t len = g->hi - g->lo;

	return (len + g->k) / (g->k + 1);
}

/*
 * Fill in *win from the marks.  Returns the number of UNTESTED and
 * PENDING commits strictly inside the window through the out parameters,
 * which the caller needs to decide what can still be proposed.
 */
static void find_window(struct bisect_window *win, size_t *untested,
			size_t *pending, const enum bisect_mark *marks,
			size_t n)
{
	size_t i, lo;

	*untested = 0;
	*pending = 0;
	win->good = -1;
	win->bad = -1;
	win->candidates = 0;
	win->untestable = 0;
	win->state = BISECT_INVALID;

	for (i = 0; i < n; i++)
		if (marks[i] == BISECT_BAD)
			break;
	if (i == n)
		return;
	win->bad = (long)i;

	/* A GOOD above the lowest BAD is never looked at: flaky, ignored. */
	while (i-- > 0)
		if (marks[i] == BISECT_GOOD) {
			win->good = (long)i;
			break;
		}
	win->candidates = (size_t)(win->bad - win->good);

	lo = (size_t)(win->good + 1);
	for (i = lo; i < (size_t)win->bad; i++) {
		switch (marks[i]) {
		case BISECT_UNTESTED:
			(*untested)++;
			break;
		case BISECT_PENDING:
			(*pending)++;
			break;
		default:
			/*
			 * Only SKIP can be here (GOOD and BAD would have
			 * moved the window); an out-of-range value is as
			 * untestable as a SKIP.
			 */
			win->untestable++;
			break;
		}
	}

	if (win->candidates == 1)
		win->state = BISECT_FOUND;
	else if (*untested)
		win->state = BISECT_SEARCHING;
	else if (*pending)
		win->state = BISECT_WAITING;
	else
		win->state = BISECT_INCONCLUSIVE;
}

/*
 * The UNTESTED, not yet taken commit strictly inside (lo, hi) nearest to
 * "ideal"; the older one wins a tie.  The caller guarantees one exists.
 */
static size_t nearest_free(size_t ideal, size_t lo, size_t hi,
			   const enum bisect_mark *marks,
			   const unsigned char *taken, size_t base)
{
	size_t d;

	for (d = 0; d < hi - lo; d++) {
		if (ideal >= lo + 1 + d) {
			size_t p = ideal - d;

			if (marks[p] == BISECT_UNTESTED && !taken[p - base])
				return p;
		}
		if (d && ideal + d < hi) {
			size_t p = ideal + d;

			if (marks[p] == BISECT_UNTESTED && !taken[p - base])
				return p;
		}
	}
	return ideal;	/* not reached: the gap had room */
}

static void sort_points(size_t *points, size_t nr)
{
	size_t i, j;

	for (i = 1; i < nr; i++) {
		size_t v = points[i];

		for (j = i; j > 0 && points[j - 1] > v; j--)
			points[j] = points[j - 1];
		points[j] = v;
	}
}

/*
 * PENDING commits and the points already taken are splits already placed:
 * cut the window (base..bad) at them into gaps.  Returns how many.
 */
static size_t cut_gaps(struct gap *gaps, const enum bisect_mark *marks,
		       const unsigned char *taken, size_t base, size_t bad)
{
	size_t ngaps = 0, i;

	gaps[0].lo = base - 1;	/* wraps for the baseline; only differences matter */
	for (i = base; i <= bad; i++) {
		if (i < bad && marks[i] != BISECT_PENDING && !taken[i - base]) {
			if (marks[i] == BISECT_UNTESTED)
				gaps[ngaps].room++;
			continue;
		}
		gaps[ngaps].hi = i;
		if (i < bad)
			gaps[++ngaps].lo = i;
	}
	return ngaps + 1;
}

/*
 * Share free_slots out among the gaps so that the largest part left over
 * is as small as it can be, and place each gap's points evenly in it.
 * Without placed points this is one gap cut into free_slots + 1 equal
 * parts: plain k-ary search.
 */
static size_t place_points(size_t *points, size_t nr, struct gap *gaps,
			   size_t ngaps, size_t free_slots,
			   const enum bisect_mark *marks, unsigned char *taken,
			   size_t base)
{
	size_t i, j;

	for (j = 0; j < free_slots; j++) {
		struct gap *best = NULL;

		for (i = 0; i < ngaps; i++) {
			if (gaps[i].k >= gaps[i].room)
				continue;
			if (!best || gap_part(&gaps[i]) > gap_part(best))
				best = &gaps[i];
		}
		if (!best)
			break;	/* not reached: free_slots <= total room */
		best->k++;
	}
	for (i = 0; i < ngaps; i++) {
		struct gap *g = &gaps[i];
		size_t len = g->hi - g->lo;

		for (j = 1; j <= g->k; j++) {
			size_t ideal = g->lo + j * len / (g->k + 1);
			size_t p = nearest_free(ideal, g->lo, g->hi, marks,
						taken, base);

			taken[p - base] = 1;
			points[nr++] = p;
		}
	}
	return nr;
}

size_t bisect_next(size_t *points, size_t max_points, struct bisect_window *win,
		   const enum bisect_mark *marks, size_t n,
		   const size_t *prio, size_t nprio)
{
	unsigned char *taken = NULL;	/* by offset from the window's start */
	struct gap *gaps = NULL;
	size_t untested, pending, base, bad, nr = 0, free_slots, ngaps, i;

	find_window(win, &untested, &pending, marks, n);
	if (win->state != BISECT_SEARCHING || !max_points)
		return 0;

	base = (size_t)(win->good + 1);
	bad = (size_t)win->bad;
	taken = xcalloc(bad - base, 1);

	/* Stage heads first: they tell which stage broke, whatever else. */
	for (i = 0; prio && i < nprio && nr < max_points; i++) {
		size_t p = prio[i];

		if (p < base || p >= bad || marks[p] != BISECT_UNTESTED ||
		    taken[p - base])
			continue;
		taken[p - base] = 1;
		points[nr++] = p;
	}

	free_slots = max_points - nr;
	if (free_slots > untested - nr)
		free_slots = untested - nr;
	if (free_slots) {
		gaps = xcalloc(pending + nr + 1, sizeof(*gaps));
		ngaps = cut_gaps(gaps, marks, taken, base, bad);
		nr = place_points(points, nr, gaps, ngaps, free_slots, marks, taken,
				  base);
	}
	sort_points(points, nr);
	free(gaps);
	free(taken);
	return nr;
}

/* x^e by squaring, so that the module needs no libm. */
static double power(double x, unsigned e)
{
	double r = 1.0;

	while (e) {
		if (e & 1)
			r *= x;
		x *= x;
		e >>= 1;
	}
	return r;
}

static double clamp_rate(double rate)
{
	if (!(rate > 0.0))	/* also NaN */
		return 0.0;
	if (rate > 1.0)
		return 1.0;
	return rate;
}

double bisect_confidence(double rate, unsigned runs, unsigned goods)
{
	double one = 1.0 - power(1.0 - clamp_rate(rate), runs);

	return power(one, goods);
}

unsigned bisect_runs_needed(double rate, double target, unsigned max_runs)
{
	/*
	 * Tolerate rounding: 1 - 0.1^2 is a hair below 0.99 in binary, and
	 * nobody asking for 0.99 at rate 0.9 means three runs.
	 */
	const double slack = 1e-12;
	unsigned runs;

	if (!max_runs)
		max_runs = 1;
	for (runs = 1; runs < max_runs; runs++)
		if (bisect_confidence(rate, runs, 1) + slack >= target)
			break;
	return runs;
}
