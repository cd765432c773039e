/*
 * Unit tests of the record of a node run (node_run.h): a run's outcome
 * written as its "finish" line and read back by the daemon, hostile
 * strings included, and the lines the daemon must refuse.
 */
#include "unit.h"

#include <jansson.h>

#include "node_run.h"
#include "strbuf.h"

static json_t *load(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (!j)
		fail_msg("not JSON: %s: %s", err.text, text);
	return j;
}

static void test_round_trip(void **state)
{
	struct test_result res[] = {
		{ (char *)"hmm-tests/hmm.hmm_device_private.open_close", TEST_PASS, NULL, 12 },
		{ (char *)"hmm-tests/hmm.hmm_device_private.migrate", TEST_FAIL,
		  (char *)"hmm-tests.c:1017:migrate:Expected ret (-22) == 0 (0)\n\"quoted\"", 40 },
		{ (char *)"odd/\xff name\t\x01", TEST_SKIP, (char *)"\xc3\xa9t\xc3\xa9", 41 },
		{ (char *)"boot", TEST_ERROR, (char *)"panic: Oops", 99 },
	};
	struct run_outcome o = { VERDICT_FAIL }, back;
	struct ktap_report r;
	struct strbuf sb = STRBUF_INIT;
	const char *why = NULL;
	json_t *j;

	(void)state;
	o.have_boot = 1;
	o.boot_verdict = "oops";
	o.boot_line = 99;
	o.boot_text = "BUG: kernel NULL pointer dereference";
	o.failed_step = NULL;
	o.error = "step boot: \"x\"";
	o.reusable = 1;
	o.checkout_ms = 40;
	o.overhead_ms = 12;
	o.results = res;
	o.nr_results = 4;
	node_outcome_line(&sb, &o);
	assert_null(strchr(sb.buf, '\n'));	/* one line */
	j = load(sb.buf);
	assert_int_equal(node_outcome_parse(j, &back, &r, &why), 0);
	assert_int_equal(back.verdict, VERDICT_FAIL);
	assert_int_equal(back.have_boot, 1);
	assert_string_equal(back.boot_verdict, "oops");
	assert_int_equal(back.boot_line, 99);
	assert_string_equal(back.boot_text, o.boot_text);
	assert_null(back.failed_step);
	assert_string_equal(back.error, o.error);
	assert_int_equal(back.reusable, 1);
	assert_int_equal(back.checkout_ms, 40);
	assert_int_equal(back.overhead_ms, 12);
	assert_int_equal(back.nr_results, 4);
	assert_int_equal(back.counts[TEST_PASS], 1);
	assert_int_equal(back.counts[TEST_FAIL], 1);
	assert_int_equal(back.counts[TEST_SKIP], 1);
	assert_int_equal(back.counts[TEST_ERROR], 1);
	assert_string_equal(back.results[0].name, res[0].name);
	assert_null(back.results[0].detail);
	assert_string_equal(back.results[1].detail, res[1].detail);
	assert_int_equal(back.results[1].line, 40);
	/* A byte that is not UTF-8 comes back as U+FFFD, never as bad JSON. */
	assert_string_equal(back.results[2].name, "odd/\xef\xbf\xbd name\t\x01");
	assert_string_equal(back.results[2].detail, "\xc3\xa9t\xc3\xa9");
	ktap_report_release(&r);
	json_decref(j);
	strbuf_release(&sb);

	/* No boot, no results: a build failure. */
	memset(&o, 0, sizeof(o));
	o.verdict = VERDICT_ERROR;
	o.failed_step = "build";
	o.error = "step build: exit status 2";
	node_outcome_line(&sb, &o);
	j = load(sb.buf);
	assert_int_equal(node_outcome_parse(j, &back, &r, &why), 0);
	assert_int_equal(back.have_boot, 0);
	assert_string_equal(back.failed_step, "build");
	assert_int_equal(back.nr_results, 0);
	assert_int_equal(back.reusable, 0);
	ktap_report_release(&r);
	json_decref(j);
	strbuf_release(&sb);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"{\"event\":\"finish\",\"verdict\":\"great\",\"results\":[]}",
		"{\"event\":\"finish\",\"results\":[]}",
		"{\"event\":\"finish\",\"verdict\":\"pass\"}",
		"{\"event\":\"finish\",\"verdict\":\"pass\",\"results\":{}}",
		"{\"event\":\"finish\",\"verdict\":\"pass\",\"results\":[[\"t\",\"ok\",null,1]]}",
		"{\"event\":\"finish\",\"verdict\":\"pass\",\"results\":[[\"\",\"pass\",null,1]]}",
		"{\"event\":\"finish\",\"verdict\":\"pass\",\"results\":[[\"t\",\"pass\",5,1]]}",
		"{\"event\":\"finish\",\"verdict\":\"pass\",\"results\":[\"t\"]}",
		"{\"event\":\"finish\",\"verdict\":\"pass\",\"results\":[[\"a\",\"pass\",null,1],[\"b\"]]}",
		"{\"event\":\"finish\",\"verdict\":\"pass\",\"boot\":{\"verdict\":\"fine\"},\"results\":[]}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run_outcome o;
		struct ktap_report r;
		const char *why = NULL;
		json_t *j = load(bad[i]);

		if (node_outcome_parse(j, &o, &r, &why) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(why);
		assert_null(r.results);		/* nothing left to release */
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests_name("node_run", tests, NULL, NULL);
}
