/*
 * bisect-runs: how many test runs and rounds the k-ary search needs.
 *
 * For each range size N and slot count P, the search is run against every
 * possible culprit position (an exact test, nothing skipped) the way the
 * orchestrator runs it: propose, mark PENDING, record the verdicts, ask
 * again.  The worst number of rounds is printed next to the binary-search
 * bound ceil(log2(N+1)) and the k-ary bound ceil(log_{P+1}(N+1)); the
 * ratio worst/bound must not exceed 1.  A last line checks that a range
 * pushed again, whose marks all come from the earlier search, is answered
 * with no new run.
 *
 * Exit status: 0 when every bound holds, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bisect.h"
#include "wrapper.h"
#include "banned.h"

#define MAX_SLOTS 4

struct search {
	struct bisect_window win;
	size_t runs;
	size_t rounds;
};

/* Smallest r with base^r >= x: ceil(log_base(x)) without libm. */
static size_t ceil_log(size_t base, size_t x)
{
	size_t r = 0, p = 1;

	while (p < x) {
		p *= base;
		r++;
	}
	return r;
}

/*
 * Search marks[0..n) for the culprit in rounds of "slots" runs.  Marks
 * already set (a cache) are used as they are.  Returns -1 if the search
 * misbehaves (proposes a commit that is not UNTESTED, or never ends).
 */
static int run_search(struct search *s, enum bisect_mark *marks, size_t n,
		      size_t culprit, size_t slots)
{
	size_t points[MAX_SLOTS], nr, i;

	memset(s, 0, sizeof(*s));
	marks[n - 1] = BISECT_BAD;
	for (;;) {
		nr = bisect_next(points, slots, &s->win, marks, n, NULL, 0);
		if (s->win.state != BISECT_SEARCHING)
			return nr ? -1 : 0;
		if (!nr || s->rounds > n)
			return -1;
		for (i = 0; i < nr; i++) {
			if (marks[points[i]] != BISECT_UNTESTED)
				return -1;
			marks[points[i]] = BISECT_PENDING;
		}
		for (i = 0; i < nr; i++)
			marks[points[i]] = points[i] < culprit ?
				BISECT_GOOD : BISECT_BAD;
		s->runs += nr;
		s->rounds++;
	}
}

static int bench_one(size_t n, size_t slots)
{
	enum bisect_mark *marks = xcalloc(n, sizeof(*marks));
	size_t runs_sum = 0, runs_max = 0, rounds_sum = 0, rounds_max = 0;
	size_t log2_bound = ceil_log(2, n + 1);
	size_t bound = ceil_log(slots + 1, n + 1);
	size_t c;
	int ret = 0;

	for (c = 0; c < n; c++) {
		struct search s;

		memset(marks, 0, n * sizeof(*marks));
		if (run_search(&s, marks, n, c, slots) < 0 ||
		    s.win.state != BISECT_FOUND || s.win.bad != (long)c) {
			fprintf(stderr, "bisect-runs: N=%zu P=%zu culprit %zu: "
				"wrong answer\n", n, slots, c);
			ret = -1;
		}
		runs_sum += s.runs;
		rounds_sum += s.rounds;
		if (s.runs > runs_max)
			runs_max = s.runs;
		if (s.rounds > rounds_max)
			rounds_max = s.rounds;
	}

	printf("%5zu %2zu %9.2f %8zu %11.2f %10zu %9zu %9zu %8.2f %s\n",
	       n, slots, (double)runs_sum / n, runs_max,
	       (double)rounds_sum / n, rounds_max, log2_bound, bound,
	       bound ? (double)rounds_max / bound : 0.0,
	       rounds_max <= bound ? "ok" : "EXCEEDED");
	if (rounds_max > bound)
		ret = -1;
	free(marks);
	return ret;
}

/* A re-pushed range whose commits were all tested before costs nothing. */
static int bench_cache(size_t n, size_t culprit, size_t slots)
{
	enum bisect_mark *marks = xcalloc(n, sizeof(*marks));
	struct search first, again;
	int ret = 0;

	if (run_search(&first, marks, n, culprit, slots) < 0 ||
	    run_search(&again, marks, n, culprit, slots) < 0)
		ret = -1;
	printf("re-pushed range N=%zu P=%zu culprit %zu: first search %zu runs "
	       "in %zu rounds; again from cached marks: %zu runs, %zu rounds, "
	       "answer %ld %s\n", n, slots, culprit, first.runs, first.rounds,
	       again.runs, again.rounds, again.win.bad,
	       !ret && again.runs == 0 && again.win.state == BISECT_FOUND &&
	       again.win.bad == (long)culprit ? "ok" : "FAILED");
	if (again.runs || again.win.state != BISECT_FOUND ||
	    again.win.bad != (long)culprit)
		ret = -1;
	free(marks);
	return ret;
}

int main(void)
{
	static const size_t sizes[] = { 8, 64, 512 };
	static const size_t slots[] = { 1, 2, MAX_SLOTS };
	size_t i, j;
	int ret = 0;

	printf("bisect-runs: every culprit position, exact test, no skips\n");
	printf("%5s %2s %9s %8s %11s %10s %9s %9s %8s\n",
	       "N", "P", "runs avg", "runs max", "rounds avg", "rounds max",
	       "log2 bnd", "k-ary bnd", "max/bnd");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (j = 0; j < sizeof(slots) / sizeof(slots[0]); j++)
			if (bench_one(sizes[i], slots[j]) < 0)
				ret = 1;
	if (bench_cache(512, 333, 2) < 0)
		ret = 1;
	return ret;
}
