/*
 * Unit tests of verdict.c: the baseline choice, the stage verdict and
 * acknowledged failures.  Pure functions, no database.
 */
#include "unit.h"

#include "verdict.h"

#define DONE(id, v) { id, RUN_DONE, v }
#define RUNNING(id) { id, RUN_RUNNING, VERDICT_PASS }
#define QUEUED(id) { id, RUN_QUEUED, VERDICT_PASS }
#define NONE { 0, RUN_QUEUED, VERDICT_PASS }

static const unsigned no_changes[CHANGE_KIND_COUNT];

static void test_baseline_is_the_nearest_good_run_below(void **state)
{
	struct verdict_input in[] = {
		DONE(1, VERDICT_PASS), DONE(2, VERDICT_FAIL), DONE(3, VERDICT_PASS),
	};

	(void)state;
	assert_int_equal(verdict_baseline(in, 1), 0);
	assert_int_equal(verdict_baseline(in, 2), 1);	/* a fail still serves */
}

static void test_baseline_passes_over_errors_and_missing(void **state)
{
	struct verdict_input in[] = {
		DONE(1, VERDICT_PASS), NONE, DONE(3, VERDICT_ERROR), DONE(4, VERDICT_PASS),
	};
	struct verdict_input only_errors[] = {
		DONE(1, VERDICT_ERROR), DONE(2, VERDICT_PASS),
	};

	(void)state;
	assert_int_equal(verdict_baseline(in, 3), 0);
	assert_int_equal(verdict_baseline(only_errors, 1), VERDICT_NO_BASELINE);
}

static void test_waits_for_an_unfinished_baseline(void **state)
{
	struct verdict_input in[] = {
		DONE(1, VERDICT_PASS), RUNNING(2), DONE(3, VERDICT_PASS),
	};
	struct verdict_input queued[] = {
		QUEUED(1), DONE(2, VERDICT_ERROR), DONE(3, VERDICT_PASS),
	};
	long base;

	(void)state;
	base = verdict_baseline(in, 2);
	assert_int_equal(base, VERDICT_WAIT);
	assert_false(verdict_compares(in, 2, base));
	assert_int_equal(verdict_stage(in, 2, base, no_changes), STAGE_WAITING);
	/* An error above a queued run does not stop the wait. */
	assert_int_equal(verdict_baseline(queued, 2), VERDICT_WAIT);
}

static void test_stage_verdicts(void **state)
{
	struct verdict_input in[] = {
		DONE(1, VERDICT_PASS), DONE(2, VERDICT_ERROR), NONE, RUNNING(4),
		QUEUED(5), DONE(6, VERDICT_FAIL),
	};
	unsigned red[CHANGE_KIND_COUNT] = { 0 }, missing[CHANGE_KIND_COUNT] = { 0 };
	unsigned known[CHANGE_KIND_COUNT] = { 0 };

	(void)state;
	red[CHANGE_REGRESSION] = 1;
	missing[CHANGE_MISSING] = 2;
	known[CHANGE_KNOWN] = 3;
	known[CHANGE_FIXED] = 1;
	assert_int_equal(verdict_stage(in, 0, VERDICT_NO_BASELINE, no_changes),
			 STAGE_GREEN);
	assert_int_equal(verdict_stage(in, 1, 0, red), STAGE_ERROR);
	assert_int_equal(verdict_stage(in, 2, 0, no_changes), STAGE_UNKNOWN);
	assert_int_equal(verdict_stage(in, 3, 0, no_changes), STAGE_RUNNING);
	assert_int_equal(verdict_stage(in, 4, 0, no_changes), STAGE_QUEUED);
	assert_int_equal(verdict_stage(in, 5, 0, red), STAGE_RED);
	assert_int_equal(verdict_stage(in, 5, 0, missing), STAGE_RED);
	/* Known failures and fixes never make a stage red. */
	assert_int_equal(verdict_stage(in, 5, 0, known), STAGE_GREEN);
	assert_true(verdict_compares(in, 5, 0));
	assert_false(verdict_compares(in, 0, VERDICT_NO_BASELINE));
	assert_true(verdict_compares(in, 5, VERDICT_NO_BASELINE));
}

static void test_acks_count_until_their_stage(void **state)
{
	static const char *const names[] = { "base", "one", "two", "three" };
	struct verdict_ack acks[] = {
		{ "suite/flaky*", "being fixed", "two" },
		{ "suite/always", "known broken", NULL },
		{ "suite/x", "until a stage that is gone", "nosuch" },
	};

	(void)state;
	assert_string_equal(verdict_acked(acks, 3, names, 4, 1, "suite/flaky_a"),
			    "being fixed");
	assert_null(verdict_acked(acks, 3, names, 4, 2, "suite/flaky_a"));
	assert_null(verdict_acked(acks, 3, names, 4, 3, "suite/flaky_a"));
	assert_string_equal(verdict_acked(acks, 3, names, 4, 3, "suite/always"),
			    "known broken");
	assert_string_equal(verdict_acked(acks, 3, names, 4, 3, "suite/x"),
			    "until a stage that is gone");
	assert_null(verdict_acked(acks, 3, names, 4, 1, "suite/other"));
	assert_null(verdict_acked(NULL, 0, names, 4, 1, "suite/always"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline_is_the_nearest_good_run_below),
		cmocka_unit_test(test_baseline_passes_over_errors_and_missing),
		cmocka_unit_test(test_waits_for_an_unfinished_baseline),
		cmocka_unit_test(test_stage_verdicts),
		cmocka_unit_test(test_acks_count_until_their_stage),
	};

	return cmocka_run_group_tests_name("verdict", tests, NULL, NULL);
}
