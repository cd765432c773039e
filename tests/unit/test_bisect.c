/*
 * Unit tests for bisect.c: the search is driven against an oracle (a
 * simulated range with a planted first bad commit, optional untestable
 * commits and an optionally flaky test) the way the orchestrator drives
 * it: propose, mark PENDING, run, record the verdicts, ask again.
 */
#include "unit.h"

#include "bisect.h"

/* --- the oracle and the driver --------------------------------------- */

struct oracle {
	size_t culprit;			/* first truly bad commit */
	const unsigned char *skip;	/* untestable commits, or NULL */
	double rate;			/* P(a bad commit fails); 1 = exact */
	unsigned long long rng;
};

#define ORACLE_INIT(c) { (c), NULL, 1.0, 0x9e3779b97f4a7c15ULL }

static double uniform(unsigned long long *s)
{
	/* xorshift64*: deterministic, so a failure reproduces */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static enum bisect_mark oracle_run(struct oracle *o, size_t i)
{
	if (o->skip && o->skip[i])
		return BISECT_SKIP;
	if (i < o->culprit)
		return BISECT_GOOD;
	if (o->rate >= 1.0)
		return BISECT_BAD;
	return uniform(&o->rng) < o->rate ? BISECT_BAD : BISECT_GOOD;
}

struct outcome {
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

/* What every proposal must satisfy, whatever the marks. */
static void check_points(const size_t *points, size_t nr, size_t slots,
			 const struct bisect_window *win,
			 const enum bisect_mark *marks, size_t n)
{
	size_t i;

	assert_true(nr <= slots);
	if (win->state != BISECT_SEARCHING) {
		assert_int_equal(nr, 0);
		return;
	}
	if (slots)
		assert_true(nr >= 1);
	for (i = 0; i < nr; i++) {
		assert_true(points[i] < n);
		assert_true((long)points[i] > win->good);
		assert_true((long)points[i] < win->bad);
		assert_int_equal(marks[points[i]], BISECT_UNTESTED);
		if (i)
			assert_true(points[i] > points[i - 1]);
	}
}

/*
 * Run a whole search in rounds of "slots" commits.  marks[] may come in
 * pre-filled (a cache); marks[n-1] is set BAD as the orchestrator does.
 */
static void drive(struct outcome *out, enum bisect_mark *marks, size_t n,
		  struct oracle *o, size_t slots,
		  const size_t *prio, size_t nprio)
{
	size_t points[16], again[16];
	size_t nr, i;

	assert_true(slots <= 16);
	memset(out, 0, sizeof(*out));
	marks[n - 1] = BISECT_BAD;

	for (;;) {
		nr = bisect_next(points, slots, &out->win, marks, n,
				 prio, nprio);
		check_points(points, nr, slots, &out->win, marks, n);
		if (out->win.state != BISECT_SEARCHING)
			break;
		/* Every round settles at least one commit: never loops. */
		assert_true(out->rounds < n);

		for (i = 0; i < nr; i++)
			marks[points[i]] = BISECT_PENDING;
		/* Asked again while they run: none of them comes back. */
		{
			struct bisect_window w2;
			size_t nr2 = bisect_next(again, slots, &w2, marks, n,
						 prio, nprio);

			check_points(again, nr2, slots, &w2, marks, n);
		}
		for (i = 0; i < nr; i++)
			marks[points[i]] = oracle_run(o, points[i]);
		out->runs += nr;
		out->rounds++;
	}
	assert_true(out->win.state == BISECT_FOUND ||
		    out->win.state == BISECT_INCONCLUSIVE);
}

static enum bisect_mark *new_marks(size_t n)
{
	enum bisect_mark *m = calloc(n, sizeof(*m));

	assert_non_null(m);
	return m;
}

/* A search with no skips and an exact test must name the culprit. */
static void expect_found(size_t n, size_t culprit, size_t slots)
{
	enum bisect_mark *marks = new_marks(n);
	struct oracle o = ORACLE_INIT(culprit);
	struct outcome r;

	drive(&r, marks, n, &o, slots, NULL, 0);
	assert_int_equal(r.win.state, BISECT_FOUND);
	assert_int_equal(r.win.bad, (long)culprit);
	assert_int_equal(r.win.good, (long)culprit - 1);
	assert_int_equal(r.win.candidates, 1);
	assert_int_equal(r.win.untestable, 0);
	assert_true(r.rounds <= ceil_log(slots + 1, n + 1));
	assert_true(r.runs <= r.rounds * slots);
	free(marks);
}

/* --- marks ---------------------------------------------------------------- */

static void test_mark_names(void **state)
{
	static const char *names[] = {
		"untested", "pending", "good", "bad", "skip",
	};
	enum bisect_mark m;
	size_t i;

	for (i = 0; i < 5; i++) {
		assert_string_equal(bisect_mark_name((enum bisect_mark)i),
				    names[i]);
		assert_int_equal(bisect_mark_parse(&m, names[i]), 0);
		assert_int_equal(m, (enum bisect_mark)i);
	}
	m = BISECT_GOOD;
	assert_int_equal(bisect_mark_parse(&m, "GOOD"), -1);
	assert_int_equal(bisect_mark_parse(&m, ""), -1);
	assert_int_equal(bisect_mark_parse(&m, NULL), -1);
	assert_int_equal(m, BISECT_GOOD);	/* untouched on failure */
	assert_string_equal(bisect_mark_name((enum bisect_mark)42), "unknown");
}

/* --- the window ----------------------------------------------------------- */

static void test_single_commit(void **state)
{
	enum bisect_mark marks[1] = { BISECT_BAD };
	struct oracle o = ORACLE_INIT(0);
	struct outcome r;
	size_t points[4];
	struct bisect_window win;

	assert_int_equal(bisect_next(points, 4, &win, marks, 1, NULL, 0), 0);
	assert_int_equal(win.state, BISECT_FOUND);
	assert_int_equal(win.good, -1);
	assert_int_equal(win.bad, 0);
	assert_int_equal(win.candidates, 1);

	drive(&r, marks, 1, &o, 1, NULL, 0);
	assert_int_equal(r.runs, 0);
	assert_int_equal(r.rounds, 0);
	assert_int_equal(r.win.bad, 0);
}

static void test_invalid(void **state)
{
	enum bisect_mark marks[8] = { 0 };
	size_t points[4];
	struct bisect_window win;

	marks[3] = BISECT_GOOD;
	marks[5] = BISECT_SKIP;
	assert_int_equal(bisect_next(points, 4, &win, marks, 8, NULL, 0), 0);
	assert_int_equal(win.state, BISECT_INVALID);
	assert_int_equal(win.bad, -1);
	assert_int_equal(win.good, -1);
	assert_int_equal(win.candidates, 0);

	assert_int_equal(bisect_next(points, 4, &win, NULL, 0, NULL, 0), 0);
	assert_int_equal(win.state, BISECT_INVALID);
}

static void test_window_ignores_good_above_bad(void **state)
{
	enum bisect_mark marks[100] = { 0 };
	size_t points[1];
	struct bisect_window win;
	size_t nr;

	marks[10] = BISECT_GOOD;
	marks[30] = BISECT_BAD;
	marks[50] = BISECT_GOOD;	/* flaky: above the lowest BAD */
	marks[99] = BISECT_BAD;
	marks[20] = BISECT_SKIP;
	nr = bisect_next(points, 1, &win, marks, 100, NULL, 0);
	assert_int_equal(win.state, BISECT_SEARCHING);
	assert_int_equal(win.good, 10);
	assert_int_equal(win.bad, 30);
	assert_int_equal(win.candidates, 20);
	assert_int_equal(win.untestable, 1);
	assert_int_equal(nr, 1);
	assert_int_equal(points[0], 19);	/* 20 is SKIP: nearest, older */
}

static void test_no_slots(void **state)
{
	enum bisect_mark marks[10] = { 0 };
	struct bisect_window win;

	marks[9] = BISECT_BAD;
	assert_int_equal(bisect_next(NULL, 0, &win, marks, 10, NULL, 0), 0);
	assert_int_equal(win.state, BISECT_SEARCHING);
	assert_int_equal(win.candidates, 10);
}

/* --- k-ary splitting ------------------------------------------------------ */

static void test_first_round_splits_evenly(void **state)
{
	enum bisect_mark *marks = new_marks(1000);
	struct bisect_window win;
	size_t points[8];

	marks[999] = BISECT_BAD;
	assert_int_equal(bisect_next(points, 1, &win, marks, 1000, NULL, 0), 1);
	assert_int_equal(points[0], 499);	/* 500 | 500 */
	assert_int_equal(bisect_next(points, 3, &win, marks, 1000, NULL, 0), 3);
	assert_int_equal(points[0], 249);	/* 250 | 250 | 250 | 250 */
	assert_int_equal(points[1], 499);
	assert_int_equal(points[2], 749);

	/* A window smaller than the slots: every testable commit once. */
	marks[995] = BISECT_GOOD;
	assert_int_equal(bisect_next(points, 8, &win, marks, 1000, NULL, 0), 3);
	assert_int_equal(points[0], 996);
	assert_int_equal(points[1], 997);
	assert_int_equal(points[2], 998);
	free(marks);
}

static void test_culprit_at_ends(void **state)
{
	size_t slots;

	for (slots = 1; slots <= 8; slots++) {
		expect_found(100, 0, slots);
		expect_found(100, 99, slots);
		expect_found(2, 0, slots);
		expect_found(2, 1, slots);
	}
}

static void test_exhaustive_small(void **state)
{
	size_t n, c, slots;

	for (n = 1; n <= 40; n++)
		for (c = 0; c < n; c++)
			for (slots = 1; slots <= 8; slots++)
				expect_found(n, c, slots);
}

static void test_n1000(void **state)
{
	static const size_t fixed[] = { 0, 1, 2, 249, 250, 499, 500, 501,
					998, 999 };
	size_t slots, i, c;

	for (slots = 1; slots <= 8; slots++) {
		for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			expect_found(1000, fixed[i], slots);
		for (c = 3; c < 1000; c += 37)
			expect_found(1000, c, slots);
	}
	/* The advertised bounds, spelled out. */
	assert_int_equal(ceil_log(2, 1001), 10);
	assert_int_equal(ceil_log(9, 1001), 4);
}

/* --- untestable commits --------------------------------------------------- */

static void drive_skips(struct outcome *r, size_t n, size_t culprit,
			const unsigned char *skip, size_t slots,
			enum bisect_mark **marks_out)
{
	enum bisect_mark *marks = new_marks(n);
	struct oracle o = ORACLE_INIT(culprit);

	o.skip = skip;
	drive(r, marks, n, &o, slots, NULL, 0);
	*marks_out = marks;
}

static void test_skip_before_culprit(void **state)
{
	/*
	 * The commit before the culprit cannot be tested: nothing proves
	 * the culprit is not it, so the honest answer is the window.
	 */
	static const size_t culprits[] = { 1, 2, 17, 32, 63 };
	unsigned char skip[64];
	enum bisect_mark *marks;
	struct outcome r;
	size_t i, slots;

	for (slots = 1; slots <= 4; slots++)
		for (i = 0; i < sizeof(culprits) / sizeof(culprits[0]); i++) {
			size_t c = culprits[i];

			memset(skip, 0, sizeof(skip));
			skip[c - 1] = 1;
			drive_skips(&r, 64, c, skip, slots, &marks);
			assert_int_equal(r.win.state, BISECT_INCONCLUSIVE);
			assert_int_equal(r.win.good, (long)c - 2);
			assert_int_equal(r.win.bad, (long)c);
			assert_int_equal(r.win.candidates, 2);
			assert_int_equal(r.win.untestable, 1);
			assert_int_equal(marks[c - 1], BISECT_SKIP);
			free(marks);
		}
}

static void test_skip_after_culprit(void **state)
{
	unsigned char skip[64];
	enum bisect_mark *marks;
	struct outcome r;
	size_t c, slots;

	for (slots = 1; slots <= 4; slots++)
		for (c = 0; c < 62; c += 3) {
			memset(skip, 0, sizeof(skip));
			skip[c + 1] = 1;
			drive_skips(&r, 64, c, skip, slots, &marks);
			assert_int_equal(r.win.state, BISECT_FOUND);
			assert_int_equal(r.win.bad, (long)c);
			free(marks);
		}
}

static void test_skip_culprit_itself(void **state)
{
	unsigned char skip[64] = { 0 };
	enum bisect_mark *marks;
	struct outcome r;

	skip[20] = 1;
	drive_skips(&r, 64, 20, skip, 1, &marks);
	assert_int_equal(r.win.state, BISECT_INCONCLUSIVE);
	assert_int_equal(r.win.good, 19);
	assert_int_equal(r.win.bad, 21);
	assert_int_equal(r.win.untestable, 1);
	free(marks);
}

static void test_skip_block_around_culprit(void **state)
{
	/* A build break over 7 commits hides the culprit in the middle. */
	unsigned char skip[512] = { 0 };
	enum bisect_mark *marks;
	struct outcome r;
	size_t i, slots;

	for (i = 297; i <= 303; i++)
		skip[i] = 1;
	for (slots = 1; slots <= 8; slots++) {
		drive_skips(&r, 512, 300, skip, slots, &marks);
		assert_int_equal(r.win.state, BISECT_INCONCLUSIVE);
		assert_int_equal(r.win.good, 296);
		assert_int_equal(r.win.bad, 304);
		assert_int_equal(r.win.candidates, 8);
		assert_int_equal(r.win.untestable, 7);
		free(marks);
	}
}

static void test_all_skip(void **state)
{
	unsigned char skip[50];
	enum bisect_mark *marks;
	struct outcome r;
	size_t slots, i;

	memset(skip, 1, sizeof(skip));
	skip[49] = 0;
	for (slots = 1; slots <= 8; slots++) {
		drive_skips(&r, 50, 10, skip, slots, &marks);
		assert_int_equal(r.win.state, BISECT_INCONCLUSIVE);
		assert_int_equal(r.win.good, -1);
		assert_int_equal(r.win.bad, 49);
		assert_int_equal(r.win.candidates, 50);
		assert_int_equal(r.win.untestable, 49);
		assert_int_equal(r.runs, 49);	/* each tried once, no more */
		for (i = 0; i < 49; i++)
			assert_int_equal(marks[i], BISECT_SKIP);
		free(marks);
	}
}

static void test_random_skips_are_honest(void **state)
{
	/*
	 * Whatever is untestable, FOUND names the real culprit and
	 * INCONCLUSIVE brackets it with nothing but SKIP in between.
	 */
	unsigned long long rng = 12345;
	unsigned char skip[300];
	enum bisect_mark *marks;
	struct outcome r;
	size_t iter, i;

	for (iter = 0; iter < 600; iter++) {
		size_t n = 2 + (size_t)(uniform(&rng) * 298);
		size_t c = (size_t)(uniform(&rng) * n);
		size_t slots = 1 + iter % 8;
		double density = uniform(&rng) * 0.6;

		for (i = 0; i < n; i++)
			skip[i] = i + 1 < n && uniform(&rng) < density;
		drive_skips(&r, n, c, skip, slots, &marks);
		assert_true(r.win.good < (long)c);
		assert_true(r.win.bad >= (long)c);
		if (r.win.state == BISECT_FOUND) {
			assert_int_equal(r.win.bad, (long)c);
		} else {
			assert_int_equal(r.win.state, BISECT_INCONCLUSIVE);
			for (i = (size_t)(r.win.good + 1);
			     i < (size_t)r.win.bad; i++)
				assert_int_equal(marks[i], BISECT_SKIP);
			assert_int_equal(r.win.untestable,
					 r.win.candidates - 1);
		}
		free(marks);
	}
}

/* --- flaky tests ---------------------------------------------------------- */

static void test_flaky_oracle_terminates(void **state)
{
	static const double rates[] = { 0.05, 0.3, 0.5, 0.9 };
	enum bisect_mark *marks;
	struct outcome r;
	size_t i, seed, slots;

	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		for (seed = 1; seed <= 50; seed++)
			for (slots = 1; slots <= 4; slots++) {
				struct oracle o = ORACLE_INIT(37);

				o.rate = rates[i];
				o.rng = seed * 0x2545f4914f6cdd1dULL;
				marks = new_marks(200);
				drive(&r, marks, 200, &o, slots, NULL, 0);
				/* Good commits never fail: no answer below. */
				assert_true(r.win.bad >= 37);
				assert_true(r.rounds <= 200);
				free(marks);
			}
}

/* --- priority points and PENDING ------------------------------------------ */

static void test_priority_first(void **state)
{
	static const size_t prio[] = { 80, 20 };
	enum bisect_mark *marks = new_marks(100);
	struct bisect_window win;
	size_t points[4];

	marks[99] = BISECT_BAD;
	assert_int_equal(bisect_next(points, 1, &win, marks, 100, prio, 2), 1);
	assert_int_equal(points[0], 80);	/* the order given */
	assert_int_equal(bisect_next(points, 2, &win, marks, 100, prio, 2), 2);
	assert_int_equal(points[0], 20);
	assert_int_equal(points[1], 80);
	/* The third slot splits the largest gap the stage heads leave. */
	assert_int_equal(bisect_next(points, 3, &win, marks, 100, prio, 2), 3);
	assert_int_equal(points[0], 20);
	assert_int_equal(points[1], 50);
	assert_int_equal(points[2], 80);
	free(marks);
}

static void test_priority_outside_window_ignored(void **state)
{
	static const size_t prio[] = { 10, 20, 99, 500, 60, 60 };
	enum bisect_mark *marks = new_marks(100);
	struct bisect_window win;
	size_t points[2];

	marks[99] = BISECT_BAD;
	marks[20] = BISECT_GOOD;
	assert_int_equal(bisect_next(points, 2, &win, marks, 100, prio, 6), 2);
	assert_int_equal(points[0], 40);	/* middle of (20, 60] */
	assert_int_equal(points[1], 60);	/* 10 below, 20 tested, 99 bad */
	free(marks);
}

static void test_priority_search_still_finds(void **state)
{
	static const size_t prio[] = { 10, 100, 250, 400 };
	size_t c, slots;

	for (slots = 1; slots <= 4; slots++)
		for (c = 0; c < 500; c += 7) {
			enum bisect_mark *marks = new_marks(500);
			struct oracle o = ORACLE_INIT(c);
			struct outcome r;

			drive(&r, marks, 500, &o, slots, prio, 4);
			assert_int_equal(r.win.state, BISECT_FOUND);
			assert_int_equal(r.win.bad, (long)c);
			free(marks);
		}
}

static void test_pending_never_reproposed(void **state)
{
	enum bisect_mark *marks = new_marks(100);
	struct bisect_window win;
	size_t points[8], i;

	marks[99] = BISECT_BAD;
	marks[49] = BISECT_PENDING;
	/* 49 is already splitting (-1, 99]: split what it leaves. */
	assert_int_equal(bisect_next(points, 1, &win, marks, 100, NULL, 0), 1);
	assert_int_equal(win.state, BISECT_SEARCHING);
	assert_int_equal(points[0], 24);
	assert_int_equal(bisect_next(points, 2, &win, marks, 100, NULL, 0), 2);
	assert_int_equal(points[0], 24);
	assert_int_equal(points[1], 74);

	/* Free slots go where most candidates are left: 31 before 49, 10 after. */
	marks[49] = BISECT_UNTESTED;
	marks[30] = BISECT_PENDING;
	marks[40] = BISECT_BAD;
	assert_int_equal(bisect_next(points, 2, &win, marks, 100, NULL, 0), 2);
	assert_int_equal(win.candidates, 41);
	assert_int_equal(points[0], 9);
	assert_int_equal(points[1], 19);
	marks[40] = BISECT_UNTESTED;

	for (i = 0; i < 99; i++)
		marks[i] = i % 3 ? BISECT_PENDING : BISECT_SKIP;
	assert_int_equal(bisect_next(points, 8, &win, marks, 100, NULL, 0), 0);
	assert_int_equal(win.state, BISECT_WAITING);
	assert_int_equal(win.untestable, 33);

	marks[50] = BISECT_UNTESTED;
	assert_int_equal(bisect_next(points, 8, &win, marks, 100, NULL, 0), 1);
	assert_int_equal(points[0], 50);
	free(marks);
}

static void test_async_refill(void **state)
{
	/*
	 * The orchestrator refills each slot as soon as it frees, so the
	 * search always has PENDING commits when it is asked: it must
	 * still find the culprit and never hand out a running commit.
	 */
	size_t n = 300, slots = 4, c;

	for (c = 0; c < n; c += 5) {
		enum bisect_mark *marks = new_marks(n);
		struct oracle o = ORACLE_INIT(c);
		struct bisect_window win;
		size_t running[4], nrun = 0, points[4], nr, i, steps = 0;

		marks[n - 1] = BISECT_BAD;
		for (;;) {
			nr = bisect_next(points, slots - nrun, &win, marks, n,
					 NULL, 0);
			check_points(points, nr, slots - nrun, &win, marks, n);
			for (i = 0; i < nr; i++) {
				marks[points[i]] = BISECT_PENDING;
				running[nrun++] = points[i];
			}
			if (win.state == BISECT_FOUND ||
			    win.state == BISECT_INCONCLUSIVE)
				break;
			assert_true(nrun > 0);
			/* The oldest one finishes. */
			marks[running[0]] = oracle_run(&o, running[0]);
			memmove(running, running + 1,
				--nrun * sizeof(running[0]));
			assert_true(++steps < n);
		}
		assert_int_equal(win.state, BISECT_FOUND);
		assert_int_equal(win.bad, (long)c);
		free(marks);
	}
}

/* --- a cache of earlier verdicts ----------------------------------------- */

static void test_cached_marks_cost_nothing(void **state)
{
	/* A re-pushed range: the earlier search's marks answer it. */
	size_t n = 512, c = 333, slots;
	enum bisect_mark *first = new_marks(n);
	struct oracle o = ORACLE_INIT(c);
	struct outcome r;

	drive(&r, first, n, &o, 2, NULL, 0);
	assert_true(r.runs > 0);
	for (slots = 1; slots <= 8; slots++) {
		enum bisect_mark *again = new_marks(n);

		memcpy(again, first, n * sizeof(*again));
		drive(&r, again, n, &o, slots, NULL, 0);
		assert_int_equal(r.runs, 0);
		assert_int_equal(r.win.state, BISECT_FOUND);
		assert_int_equal(r.win.bad, (long)c);
		free(again);
	}
	free(first);
}

/* --- confidence ----------------------------------------------------------- */

static int near(double a, double b)
{
	double d = a - b;

	return d < 1e-12 && d > -1e-12;
}

static void test_confidence(void **state)
{
	assert_true(near(bisect_confidence(0.5, 5, 1), 0.96875));
	assert_true(near(bisect_confidence(0.5, 5, 2),
			      0.96875 * 0.96875));
	assert_true(near(bisect_confidence(0.5, 1, 3), 0.125));
	assert_true(near(bisect_confidence(1.0, 1, 10), 1.0));
	assert_true(near(bisect_confidence(0.0, 5, 1), 0.0));
	assert_true(near(bisect_confidence(0.5, 5, 0), 1.0));
	assert_true(near(bisect_confidence(0.5, 0, 1), 0.0));
	assert_true(near(bisect_confidence(-1.0, 5, 1), 0.0));
	assert_true(near(bisect_confidence(7.0, 5, 1), 1.0));
}

static void test_runs_needed(void **state)
{
	assert_int_equal(bisect_runs_needed(0.5, 0.95, 10), 5);
	assert_int_equal(bisect_runs_needed(0.5, 0.95, 3), 3);	/* capped */
	assert_int_equal(bisect_runs_needed(0.5, 0.5, 10), 1);
	assert_int_equal(bisect_runs_needed(1.0, 0.99, 10), 1);
	assert_int_equal(bisect_runs_needed(0.9, 0.99, 10), 2);
	assert_int_equal(bisect_runs_needed(0.1, 0.95, 100), 29);
	assert_int_equal(bisect_runs_needed(0.0, 0.95, 7), 7);
	assert_int_equal(bisect_runs_needed(0.5, 0.0, 7), 1);
	assert_int_equal(bisect_runs_needed(0.5, 0.95, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mark_names),
		cmocka_unit_test(test_single_commit),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_window_ignores_good_above_bad),
		cmocka_unit_test(test_no_slots),
		cmocka_unit_test(test_first_round_splits_evenly),
		cmocka_unit_test(test_culprit_at_ends),
		cmocka_unit_test(test_exhaustive_small),
		cmocka_unit_test(test_n1000),
		cmocka_unit_test(test_skip_before_culprit),
		cmocka_unit_test(test_skip_after_culprit),
		cmocka_unit_test(test_skip_culprit_itself),
		cmocka_unit_test(test_skip_block_around_culprit),
		cmocka_unit_test(test_all_skip),
		cmocka_unit_test(test_random_skips_are_honest),
		cmocka_unit_test(test_flaky_oracle_terminates),
		cmocka_unit_test(test_priority_first),
		cmocka_unit_test(test_priority_outside_window_ignored),
		cmocka_unit_test(test_priority_search_still_finds),
		cmocka_unit_test(test_pending_never_reproposed),
		cmocka_unit_test(test_async_refill),
		cmocka_unit_test(test_cached_marks_cost_nothing),
		cmocka_unit_test(test_confidence),
		cmocka_unit_test(test_runs_needed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
