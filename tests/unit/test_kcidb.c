/*
 * Unit tests of the KCIDB mappings (kcidb.h): test paths always match the
 * schema's path pattern and are stable, every stored test status and step
 * state has a KCIDB status, origins and times have the schema's forms.
 */
#include "unit.h"

#include <regex.h>

#include "kcidb.h"
#include "states.h"
#include "strbuf.h"

/* The schema's "path" pattern, non-empty (kstage always names a test). */
static int path_ok(const char *path)
{
	regex_t re;
	int rc;

	assert_int_equal(regcomp(&re, "^[a-zA-Z0-9_-]+(\\.[a-zA-Z0-9_-]+)*$",
				 REG_EXTENDED | REG_NOSUB), 0);
	rc = regexec(&re, path, 0, NULL, 0) == 0;
	regfree(&re);
	return rc;
}

static void check_path(const char *test, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	kcidb_test_path(&sb, test);
	assert_string_equal(strbuf_str(&sb), want);
	assert_true(path_ok(strbuf_str(&sb)));
	strbuf_release(&sb);
}

static void test_paths(void **state)
{
	(void)state;
	check_path("hmm-tests/hmm.hmm_device_private.open_close",
		   "hmm-tests.hmm.hmm_device_private.open_close");
	check_path("gup_test-a/ioctl_status_0", "gup_test-a.ioctl_status_0");
	check_path("boot", "boot");
	/* Bytes outside the pattern become '_', empty segments "_". */
	check_path("suite/a test: 1+1", "suite.a_test__1_1");
	check_path("a//b", "a._.b");
	check_path("/a.", "_.a._");
	check_path("", "_");
	check_path("caf\xc3\xa9/x", "caf__.x");
	check_path("..", "_._._");
}

/* Any byte string gives a path the schema accepts. */
static void test_paths_always_valid(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char name[16];
	unsigned seed = 1;
	int i, j;

	(void)state;
	for (i = 0; i < 5000; i++) {
		int n = (int)(seed % 15);

		for (j = 0; j < n; j++) {
			seed = seed * 1103515245u + 12345u;
			name[j] = (char)(1 + (seed >> 16) % 255);
		}
		name[n] = '\0';
		strbuf_reset(&sb);
		kcidb_test_path(&sb, name);
		assert_true(path_ok(strbuf_str(&sb)));
		seed = seed * 1103515245u + 12345u;
	}
	strbuf_release(&sb);
}

static void test_statuses(void **state)
{
	static const char *const kcidb[] = {
		"FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP", NULL
	};
	const char *const *k;
	int i, found;

	(void)state;
	assert_string_equal(kcidb_test_status("pass"), "PASS");
	assert_string_equal(kcidb_test_status("fail"), "FAIL");
	assert_string_equal(kcidb_test_status("skip"), "SKIP");
	assert_string_equal(kcidb_test_status("error"), "ERROR");
	assert_null(kcidb_test_status("known"));
	assert_null(kcidb_test_status(NULL));
	assert_string_equal(kcidb_step_status("ok"), "PASS");
	assert_string_equal(kcidb_step_status("failed"), "FAIL");
	assert_string_equal(kcidb_step_status("timeout"), "ERROR");
	assert_null(kcidb_step_status("bogus"));
	/* Every name kstage stores has a status in the schema's enum. */
	for (i = 0; i < TEST_STATUS_COUNT; i++) {
		const char *s = kcidb_test_status(test_status_name(i));

		assert_non_null(s);
		for (found = 0, k = kcidb; *k; k++)
			found |= !strcmp(*k, s);
		assert_true(found);
	}
	for (i = 0; i < STEP_STATE_COUNT; i++) {
		const char *s = kcidb_step_status(step_state_name(i));

		assert_non_null(s);
		for (found = 0, k = kcidb; *k; k++)
			found |= !strcmp(*k, s);
		assert_true(found);
	}
}

static void test_origin_and_time(void **state)
{
	char buf[40];

	(void)state;
	assert_true(kcidb_valid_origin("kstage"));
	assert_true(kcidb_valid_origin("my_ci_2"));
	assert_false(kcidb_valid_origin(""));
	assert_false(kcidb_valid_origin(NULL));
	assert_false(kcidb_valid_origin("KStage"));
	assert_false(kcidb_valid_origin("k-stage"));
	assert_false(kcidb_valid_origin("k:s"));
	assert_false(kcidb_valid_origin(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_int_equal(kcidb_time(buf, sizeof(buf), 1736244131123LL), 0);
	assert_string_equal(buf, "2025-01-07T10:02:11.123Z");
	assert_int_equal(kcidb_time(buf, sizeof(buf), 0), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	assert_int_equal(kcidb_time(buf, sizeof(buf), -1), -1);
	assert_int_equal(kcidb_time(buf, 10, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_paths_always_valid),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_origin_and_time),
	};

	return cmocka_run_group_tests_name("kcidb", tests, NULL, NULL);
}
