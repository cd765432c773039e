/* Unit tests of the build log and checkpatch line parsers (buildlog.c). */
#include "unit.h"

#include <string.h>

#include "buildlog.h"
#include "strbuf.h"

/* The key of line, or NULL when it is no warning (static buffer). */
static const char *key_of(const char *line)
{
	static char out[512];
	struct strbuf key = STRBUF_INIT;
	int rc = buildlog_warning(&key, line, strlen(line));

	snprintf(out, sizeof(out), "%s", strbuf_str(&key));
	strbuf_release(&key);
	return rc == 1 ? out : NULL;
}

static void test_warning_lines(void **state)
{
	(void)state;
	assert_string_equal(key_of("mm/memremap.c:181:12: warning: unused variable 'x' [-Wunused-variable]"),
			    "mm/memremap.c: warning: unused variable 'x' [-Wunused-variable]");
	/* Moved code: another line and column, the same warning. */
	assert_string_equal(key_of("mm/memremap.c:240:3: warning: unused variable 'x' [-Wunused-variable]"),
			    "mm/memremap.c: warning: unused variable 'x' [-Wunused-variable]");
	/* No column; a CR; ../ of an O= build. */
	assert_string_equal(key_of("../tree/lib/test_hmm.c:7: warning: \"FOO\" redefined [-Wcpp]\r"),
			    "tree/lib/test_hmm.c: warning: \"FOO\" redefined [-Wcpp]");
	assert_string_equal(key_of("./a.c:1:1: warning: no flag"), "a.c: warning: no flag");
}

static void test_not_warnings(void **state)
{
	(void)state;
	assert_null(key_of(""));
	assert_null(key_of("  CC      mm/memremap.o"));
	assert_null(key_of("mm/memremap.c: In function 'memremap_pages':"));
	assert_null(key_of("mm/memremap.c:181:12: error: 'x' undeclared"));
	assert_null(key_of("mm/memremap.c:181:12: note: declared here"));
	assert_null(key_of("In file included from mm/memremap.c:3:"));
	assert_null(key_of("mm/memremap.c:abc: warning: x"));
	assert_null(key_of("mm/memremap.c:1:2: warning: "));
	assert_null(key_of("a b.c:1:2: warning: blank in the file"));
	assert_null(key_of(":1:2: warning: no file"));
	assert_null(key_of("a.c:1234567890:1: warning: line number too long"));
	assert_null(key_of("WARNING: line length of 105 exceeds 100 columns"));
}

static void test_checkpatch_total(void **state)
{
	struct checkpatch_total t;
	const char *l;

	(void)state;
	l = "total: 0 errors, 1 warnings, 10 lines checked";
	assert_int_equal(buildlog_checkpatch_total(&t, l, strlen(l)), 1);
	assert_int_equal(t.errors, 0);
	assert_int_equal(t.warnings, 1);
	assert_int_equal(t.checks, 0);
	assert_int_equal(t.lines, 10);
	l = "total: 2 errors, 3 warnings, 4 checks, 120 lines checked\r";
	assert_int_equal(buildlog_checkpatch_total(&t, l, strlen(l)), 1);
	assert_int_equal(t.errors, 2);
	assert_int_equal(t.warnings, 3);
	assert_int_equal(t.checks, 4);
	assert_int_equal(t.lines, 120);
	/* A length: only the line, not what follows it in the buffer. */
	l = "total: 0 errors, 0 warnings, 7 lines checked\nmore";
	assert_int_equal(buildlog_checkpatch_total(&t, l, strcspn(l, "\n")), 1);
	assert_int_equal(t.lines, 7);
}

static void test_checkpatch_not_total(void **state)
{
	static const char *const bad[] = {
		"", "total:", "total: 0 errors", "total: x errors, 1 warnings, 10 lines checked",
		"total: 0 errors, 1 warnings, 10 lines checked and more",
		"Total: 0 errors, 1 warnings, 10 lines checked",
		" total: 0 errors, 1 warnings, 10 lines checked",
		"total: 0 errors, 1 warnings, lines checked",
		"total: 99999999999 errors, 1 warnings, 10 lines checked",
		NULL,
	};
	struct checkpatch_total t;
	size_t i;

	(void)state;
	for (i = 0; bad[i]; i++) {
		assert_int_equal(buildlog_checkpatch_total(&t, bad[i], strlen(bad[i])), 0);
		assert_int_equal(t.errors + t.warnings + t.checks + t.lines, 0);
	}
}

static void test_checkpatch_issue(void **state)
{
	const char *l;

	(void)state;
	l = "WARNING: line length of 105 exceeds 100 columns";
	assert_true(buildlog_checkpatch_issue(l, strlen(l)));
	l = "ERROR: trailing whitespace";
	assert_true(buildlog_checkpatch_issue(l, strlen(l)));
	l = "CHECK: Alignment should match open parenthesis";
	assert_true(buildlog_checkpatch_issue(l, strlen(l)));
	l = "#12: FILE: mm/memremap.c:181:";
	assert_false(buildlog_checkpatch_issue(l, strlen(l)));
	l = "WARN";
	assert_false(buildlog_checkpatch_issue(l, strlen(l)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_warning_lines),
		cmocka_unit_test(test_not_warnings),
		cmocka_unit_test(test_checkpatch_total),
		cmocka_unit_test(test_checkpatch_not_total),
		cmocka_unit_test(test_checkpatch_issue),
	};

	return cmocka_run_group_tests_name("buildlog", tests, NULL, NULL);
}
