/* Unit tests of the per-test comparison (compare.c). */
#include "unit.h"

#include "compare.h"

static const char *known_migrate(const char *test, void *payload)
{
	(void)payload;
	return strstr(test, "migrate") ? "known bad" : NULL;
}

static int find(const struct change *v, size_t n, const char *test)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].test, test))
			return (int)i;
	return -1;
}

static void test_transitions(void **state)
{
	const struct outcome base[] = {
		{ "a.fixed", TEST_FAIL, NULL },
		{ "b.regressed", TEST_PASS, NULL },
		{ "c.same", TEST_PASS, NULL },
		{ "d.gone", TEST_PASS, NULL },
		{ "e.skipped", TEST_PASS, NULL },
		{ "f.still_bad", TEST_FAIL, NULL },
		{ "g.error", TEST_PASS, NULL },
		{ "h.gone_bad", TEST_FAIL, NULL },
		{ "i.skip_to_fail", TEST_SKIP, NULL },
	};
	const struct outcome stage[] = {
		{ "a.fixed", TEST_PASS, NULL },
		{ "b.regressed", TEST_FAIL, "Expected 0 == 1" },
		{ "c.same", TEST_PASS, NULL },
		{ "e.skipped", TEST_SKIP, "no device" },
		{ "f.still_bad", TEST_FAIL, NULL },
		{ "g.error", TEST_ERROR, "no result" },
		{ "i.skip_to_fail", TEST_FAIL, NULL },
		{ "z.new", TEST_FAIL, NULL },
	};
	struct change *v = NULL;
	size_t n = 0;
	unsigned counts[CHANGE_KIND_COUNT];
	int i;

	(void)state;
	assert_int_equal(compare_outcomes(&v, &n, counts, base, 9, stage, 8,
					  NULL, NULL), 0);
	assert_int_equal(n, 6);
	assert_int_equal(v[find(v, n, "a.fixed")].kind, CHANGE_FIXED);
	i = find(v, n, "b.regressed");
	assert_int_equal(v[i].kind, CHANGE_REGRESSION);
	assert_int_equal(v[i].before, TEST_PASS);
	assert_int_equal(v[i].after, TEST_FAIL);
	assert_string_equal(v[i].detail, "Expected 0 == 1");
	assert_int_equal(find(v, n, "c.same"), -1);
	i = find(v, n, "d.gone");
	assert_int_equal(v[i].kind, CHANGE_MISSING);
	assert_int_equal(v[i].after, -1);
	assert_int_equal(v[find(v, n, "e.skipped")].kind, CHANGE_SKIPPED);
	assert_int_equal(find(v, n, "f.still_bad"), -1);
	assert_int_equal(v[find(v, n, "g.error")].kind, CHANGE_REGRESSION);
	assert_int_equal(find(v, n, "h.gone_bad"), -1);
	/* only a pass on the baseline makes a regression */
	assert_int_equal(find(v, n, "i.skip_to_fail"), -1);
	assert_int_equal(v[find(v, n, "z.new")].kind, CHANGE_NEW);
	assert_int_equal(counts[CHANGE_REGRESSION], 2);
	assert_int_equal(counts[CHANGE_MISSING], 1);
	assert_int_equal(compare_regressions(counts), 3);
	/* name order */
	for (i = 1; i < (int)n; i++)
		assert_true(strcmp(v[i - 1].test, v[i].test) < 0);
	free(v);
}

static void test_known(void **state)
{
	const struct outcome base[] = {
		{ "hmm.migrate", TEST_PASS, NULL },
		{ "hmm.open", TEST_PASS, NULL },
	};
	const struct outcome stage[] = {
		{ "hmm.migrate", TEST_FAIL, "x" },
		{ "hmm.open", TEST_FAIL, "y" },
	};
	struct change *v = NULL;
	size_t n = 0;
	unsigned counts[CHANGE_KIND_COUNT];

	(void)state;
	compare_outcomes(&v, &n, counts, base, 2, stage, 2, known_migrate, NULL);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].kind, CHANGE_KNOWN);
	assert_string_equal(v[0].detail, "known bad");
	assert_int_equal(v[1].kind, CHANGE_REGRESSION);
	assert_int_equal(compare_regressions(counts), 1);
	assert_int_equal(counts[CHANGE_KNOWN], 1);
	free(v);
}

static void test_empty(void **state)
{
	const struct outcome stage[] = { { "x", TEST_PASS, NULL } };
	struct change *v = NULL;
	size_t n = 7;
	unsigned counts[CHANGE_KIND_COUNT];

	(void)state;
	assert_int_equal(compare_outcomes(&v, &n, counts, NULL, 0, NULL, 0, NULL,
					  NULL), 0);
	assert_int_equal(n, 0);
	free(v);
	compare_outcomes(&v, &n, counts, NULL, 0, stage, 1, NULL, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].kind, CHANGE_NEW);
	assert_string_equal(change_kind_name(v[0].kind), "new");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transitions),
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests_name("compare", tests, NULL, NULL);
}
