/*
 * Unit tests for daemon/ktap.c: per-test results from console and test
 * logs.  Fixtures live in tests/fixtures/; the two sample-boot-* logs are
 * real console logs of a 6.12 kernel running hmm-tests and gup_test.
 */
#include "unit.h"

#include <limits.h>

#include "ktap.h"

#define FIXTURE(name) SRCDIR "/tests/fixtures/" name

/* ---- helpers ------------------------------------------------------------ */

static int parse_file(struct ktap_report *r, const char *path)
{
	size_t len;
	char *buf = unit_load(path, &len);
	int n = ktap_parse(r, buf, len);

	free(buf);
	return n;
}

static int parse_str(struct ktap_report *r, const char *s)
{
	return ktap_parse(r, s, strlen(s));
}

static const struct test_result *find(const struct ktap_report *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nr; i++)
		if (!strcmp(r->results[i].name, name))
			return &r->results[i];
	return NULL;
}

static const struct test_result *must_find(const struct ktap_report *r, const char *name)
{
	const struct test_result *t = find(r, name);

	if (!t)
		fail_msg("no result named \"%s\"", name);
	return t;
}

static void expect(const struct ktap_report *r, const char *name,
		   enum test_status st, unsigned line)
{
	const struct test_result *t = must_find(r, name);

	if (t->status != st)
		fail_msg("%s: status %s, expected %s", name,
			 test_status_name(t->status), test_status_name(st));
	if (line)
		assert_int_equal(t->line, line);
}

static int has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Independent check: valid UTF-8, no control characters. */
static int clean_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n, cp, i;

		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4, cp = c & 0x07;
		else
			return 0;
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		p += n;
	}
	return 1;
}

/* Every result of r obeys the header's limits. */
static void check_sane(const struct ktap_report *r)
{
	size_t i;

	assert_true(r->nr <= KTAP_MAX_RESULTS);
	for (i = 0; i < r->nr; i++) {
		const struct test_result *t = &r->results[i];

		assert_non_null(t->name);
		assert_true(strlen(t->name) < KTAP_MAX_NAME);
		assert_true(clean_utf8(t->name));
		assert_true((unsigned)t->status < TEST_STATUS_COUNT);
		assert_true(t->line >= 1);
		if (t->detail) {
			assert_true(strlen(t->detail) < KTAP_MAX_DETAIL);
			assert_true(clean_utf8(t->detail));
		}
	}
	if (r->bail_reason)
		assert_true(clean_utf8(r->bail_reason));
}

static void counts_of(const struct ktap_report *r, const char *prefix,
		      unsigned c[TEST_STATUS_COUNT])
{
	size_t i;

	memset(c, 0, TEST_STATUS_COUNT * sizeof(*c));
	for (i = 0; i < r->nr; i++)
		if (has_prefix(r->results[i].name, prefix))
			c[r->results[i].status]++;
}

/* Deterministic junk (xorshift), so a failure can be replayed. */
static void junk(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

struct buf {
	char *s;
	size_t len, alloc;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->alloc) {
		b->alloc = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->alloc);
		assert_non_null(b->s);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* ---- status names ------------------------------------------------------- */

static void test_status_names(void **state)
{
	enum test_status s;
	int i;

	for (i = 0; i < TEST_STATUS_COUNT; i++) {
		assert_int_equal(test_status_parse(&s, test_status_name(i)), 0);
		assert_int_equal(s, i);
	}
	assert_string_equal(test_status_name(TEST_PASS), "pass");
	assert_string_equal(test_status_name(TEST_ERROR), "error");
	assert_int_equal(test_status_parse(&s, "PASS"), -1);
	assert_int_equal(test_status_parse(&s, "bogus"), -1);
	assert_int_equal(test_status_parse(&s, NULL), -1);
}

/* ---- the real console logs ---------------------------------------------- */

static void test_sample_tcg(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	unsigned c[TEST_STATUS_COUNT];

	assert_int_equal(parse_file(&r, FIXTURE("sample-boot-memmap-tcg.log")), 61);
	check_sane(&r);
	counts_of(&r, "hmm", c);
	assert_int_equal(c[TEST_PASS], 58);
	assert_int_equal(c[TEST_FAIL] + c[TEST_SKIP] + c[TEST_ERROR], 0);

	/* hmm-tests is not nested here: plain names, the TAP line's line */
	expect(&r, "hmm.hmm_device_private.open_close", TEST_PASS, 57);
	expect(&r, "hmm.hmm_device_coherent.exclusive", TEST_PASS, 0);
	expect(&r, "hmm2.hmm2_device_coherent.double_map", TEST_PASS, 0);
	assert_null(find(&r, "hmm-tests/hmm.hmm_device_private.open_close"));

	/* three gup_test runs, one name: suffixes in order */
	expect(&r, "ioctl status 0", TEST_PASS, 236);
	expect(&r, "ioctl status 0 #2", TEST_PASS, 243);
	/* the third block has kernel "page:" dumps between plan and result */
	expect(&r, "ioctl status 0 #3", TEST_PASS, 270);
	assert_null(find(&r, "ioctl status 0 #4"));

	assert_int_equal(r.totals_seen, 4);
	assert_int_equal(r.totals[TEST_PASS], 61);
	assert_int_equal(r.totals[TEST_FAIL], 0);
	assert_false(r.bailed_out);
	assert_int_equal(r.dropped, 0);

	ktap_count(&r, c);
	assert_int_equal(c[TEST_PASS], 61);
	ktap_report_release(&r);
	assert_null(r.results);
	assert_int_equal(r.nr, 0);
}

static void test_sample_thp_always(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	const struct test_result *t;
	unsigned c[TEST_STATUS_COUNT];

	assert_int_equal(parse_file(&r, FIXTURE("sample-boot-memmap-thp-always.log")), 61);
	check_sane(&r);
	counts_of(&r, "hmm", c);
	assert_int_equal(c[TEST_PASS], 52);
	assert_int_equal(c[TEST_FAIL], 6);
	assert_int_equal(c[TEST_SKIP] + c[TEST_ERROR], 0);

	t = must_find(&r, "hmm.hmm_device_private.exclusive");
	assert_int_equal(t->status, TEST_FAIL);
	assert_int_equal(t->line, 121);
	assert_non_null(t->detail);
	assert_non_null(strstr(t->detail, "hmm-tests.c:1817:exclusive:Expected ret (-16) == 0 (0)"));
	/* the harness "FAIL" line is not part of the story */
	assert_null(strstr(t->detail, "FAIL"));

	t = must_find(&r, "hmm.hmm_device_coherent.exclusive_cow");
	assert_int_equal(t->status, TEST_FAIL);
	assert_non_null(strstr(t->detail, "hmm-tests.c:1926:exclusive_cow:"));
	expect(&r, "hmm.hmm_device_private.hmm_gup_test", TEST_PASS, 134);
	/* a passing test carries no failure text */
	assert_null(must_find(&r, "hmm.hmm_device_private.open_close")->detail);

	assert_int_equal(r.totals[TEST_PASS], 55);
	assert_int_equal(r.totals[TEST_FAIL], 6);
	ktap_report_release(&r);
}

/*
 * The hmm-tests block of the THP=always log, nested the way a runner nests
 * it: every line gains "# ", kernel messages stay unprefixed in between.
 */
static void wrap_hmm_block(struct buf *b, const char *header, const char *result)
{
	size_t len;
	char *log = unit_load(FIXTURE("sample-boot-memmap-thp-always.log"), &len);
	char *start = strstr(log, "KCI: BEGIN hmm-tests");
	char *end = strstr(log, "KCI: END hmm-tests");
	char *line, *nl;
	int n = 0;

	assert_non_null(start);
	assert_non_null(end);
	*end = '\0';
	start = strchr(start, '\n') + 1;
	buf_adds(b, "KTAP version 1\n1..2\n");
	buf_adds(b, header);
	for (line = start; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		buf_adds(b, "# ");
		buf_add(b, line, (size_t)(nl - line + 1));
		if (++n % 10 == 0)
			buf_adds(b, "[    3.000000] hmm_dmirror hmm_dmirror0: interleaved kernel message\n");
	}
	buf_adds(b, result);
	buf_adds(b, "# Subtest: gup_test -u\n# TAP version 13\n# 1..1\n"
		    "# ok 1 ioctl status 0\nok 2 gup_test -u\n");
	free(log);
}

static void check_wrapped(const struct buf *b)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	const struct test_result *t;
	unsigned c[TEST_STATUS_COUNT];

	assert_int_equal(ktap_parse(&r, b->s, b->len), 59);
	check_sane(&r);
	counts_of(&r, "hmm-tests/hmm", c);
	assert_int_equal(c[TEST_PASS], 52);
	assert_int_equal(c[TEST_FAIL], 6);
	expect(&r, "hmm-tests/hmm.hmm_device_private.open_close", TEST_PASS, 0);
	expect(&r, "gup_test -u/ioctl status 0", TEST_PASS, 0);
	t = must_find(&r, "hmm-tests/hmm.hmm_device_coherent.exclusive");
	assert_int_equal(t->status, TEST_FAIL);
	assert_non_null(strstr(t->detail, "hmm-tests.c:1817:exclusive:Expected ret (-16) == 0 (0)"));
	/* the outer line said ok: the parent is no result of its own */
	assert_null(find(&r, "hmm-tests"));
	assert_null(find(&r, "hmm.hmm_device_private.open_close"));
	ktap_report_release(&r);
}

static void test_sample_nested_subtest(void **state)
{
	struct buf b = { NULL, 0, 0 };

	wrap_hmm_block(&b, "# Subtest: hmm-tests\n", "ok 1 hmm-tests\n");
	check_wrapped(&b);
	free(b.s);
}

static void test_sample_nested_runner_header(void **state)
{
	struct buf b = { NULL, 0, 0 };

	wrap_hmm_block(&b, "# timeout set to 180\n# selftests: mm: hmm-tests\n",
		       "ok 1 selftests: mm: hmm-tests\n");
	check_wrapped(&b);
	free(b.s);
}

/* ---- nesting ------------------------------------------------------------ */

static void test_init_nested(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	const struct test_result *t;

	assert_int_equal(parse_file(&r, FIXTURE("kstage-init-nested.log")), 6);
	check_sane(&r);
	expect(&r, "hmm-tests/hmm.hmm_device_private.open_close", TEST_PASS, 13);
	expect(&r, "hmm-tests/hmm.hmm_device_private.anon_read", TEST_PASS, 16);
	t = must_find(&r, "hmm-tests/hmm.hmm_device_private.exclusive");
	assert_int_equal(t->status, TEST_FAIL);
	assert_int_equal(t->line, 21);
	assert_non_null(strstr(t->detail, "Expected ret (-16) == 0 (0)"));
	expect(&r, "gup_test -u/ioctl status 0", TEST_PASS, 29);
	expect(&r, "gup_test -a/ioctl status 0", TEST_PASS, 36);
	/* kernel "page:" dumps between the plan and the result */
	expect(&r, "gup_test -ct -F 0x1 0 19 0x1000/ioctl status 0", TEST_PASS, 48);
	/* "not ok 1 hmm-tests" is explained by its failing child */
	assert_null(find(&r, "hmm-tests"));
	/* results come in log order */
	assert_string_equal(r.results[0].name, "hmm-tests/hmm.hmm_device_private.open_close");
	assert_string_equal(r.results[5].name, "gup_test -ct -F 0x1 0 19 0x1000/ioctl status 0");
	assert_int_equal(r.totals_seen, 5);
	ktap_report_release(&r);
}

static void test_kselftest_runner(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	const struct test_result *t;
	unsigned c[TEST_STATUS_COUNT];

	assert_int_equal(parse_file(&r, FIXTURE("kselftest-nested-mm.log")), 11);
	check_sane(&r);
	expect(&r, "hmm-tests/hmm.hmm_device_private.open_close", TEST_PASS, 10);
	expect(&r, "hmm-tests/hmm.hmm_device_private.anon_read", TEST_PASS, 14);
	t = must_find(&r, "hmm-tests/hmm.hmm_device_private.exclusive");
	/* the outer "ok 1 selftests: mm: hmm-tests" does not hide it */
	assert_int_equal(t->status, TEST_FAIL);
	assert_non_null(strstr(t->detail, "hmm-tests.c:1817:exclusive:Expected ret (-16) == 0 (0)"));
	t = must_find(&r, "hmm-tests/hmm.hmm_device_coherent.open_close");
	assert_int_equal(t->status, TEST_SKIP);
	assert_string_equal(t->detail, "DEVICE_COHERENT not available");
	expect(&r, "hmm-tests/hmm.hmm_device_coherent.anon_read", TEST_SKIP, 27);
	assert_null(find(&r, "hmm-tests"));
	assert_null(find(&r, "selftests: mm: hmm-tests"));

	expect(&r, "gup_test/ioctl status 0", TEST_PASS, 36);

	/* timed out with no children: the runner's line is the result */
	t = must_find(&r, "foo");
	assert_int_equal(t->status, TEST_ERROR);
	assert_int_equal(t->line, 43);
	assert_non_null(strstr(t->detail, "180 seconds"));
	/* its last words are kept, the runner's chatter before it is not */
	assert_non_null(strstr(t->detail, "foo: mapping 1048576 pages"));
	assert_null(strstr(t->detail, "timeout set to"));

	expect(&r, "compaction_test", TEST_SKIP, 48);

	/* children passed but the test crashed afterwards: not lost */
	expect(&r, "gup_longterm/R/W longterm GUP pin in MAP_SHARED file mapping ... with memfd",
	       TEST_PASS, 54);
	expect(&r, "gup_longterm/R/W longterm GUP pin in MAP_SHARED file mapping ... with tmpfile",
	       TEST_PASS, 56);
	t = must_find(&r, "gup_longterm");
	assert_int_equal(t->status, TEST_ERROR);
	assert_string_equal(t->detail, "exit=139");

	ktap_count(&r, c);
	assert_int_equal(c[TEST_PASS], 5);
	assert_int_equal(c[TEST_FAIL], 1);
	assert_int_equal(c[TEST_SKIP], 3);
	assert_int_equal(c[TEST_ERROR], 2);
	assert_int_equal(r.totals_seen, 3);
	assert_int_equal(r.totals[TEST_PASS], 5);
	assert_int_equal(r.totals[TEST_SKIP], 2);
	ktap_report_release(&r);
}

static void test_kunit_indent4(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	const struct test_result *t;

	/* KUnit on the console: timestamps, 4-space levels, "# Subtest:" */
	assert_int_equal(parse_file(&r, FIXTURE("ktap-kunit-console.log")), 8);
	check_sane(&r);
	expect(&r, "mm_ptdump/ptdump_walk_basic", TEST_PASS, 8);
	t = must_find(&r, "mm_ptdump/ptdump_walk_huge");
	assert_int_equal(t->status, TEST_FAIL);
	assert_non_null(strstr(t->detail, "EXPECTATION FAILED at mm/tests/ptdump_kunit.c:88"));
	assert_non_null(strstr(t->detail, "level == 3 (0x3)"));
	/* the kernel message in between is no diagnostic */
	assert_null(strstr(t->detail, "nd_pmem"));
	t = must_find(&r, "mm_ptdump/ptdump_walk_devmap");
	assert_int_equal(t->status, TEST_SKIP);
	assert_string_equal(t->detail, "ZONE_DEVICE not enabled");
	assert_null(find(&r, "mm_ptdump"));

	/* a parameterised test, one level deeper (8 spaces) */
	expect(&r, "folio_refcount/folio_get_put/order 0", TEST_PASS, 22);
	expect(&r, "folio_refcount/folio_get_put/order 9", TEST_PASS, 23);
	expect(&r, "folio_refcount/devmap_refcount", TEST_PASS, 26);
	assert_null(find(&r, "folio_refcount"));
	assert_null(find(&r, "folio_refcount/folio_get_put"));

	/* "not ok" with only passing children: reported, as an error */
	expect(&r, "pgmap_lifetime/pgmap_get_put", TEST_PASS, 32);
	expect(&r, "pgmap_lifetime", TEST_ERROR, 34);

	assert_int_equal(r.totals_seen, 1);
	assert_int_equal(r.totals[TEST_PASS], 4);
	ktap_report_release(&r);
}

static void test_ktap_indent2(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;

	/* the example of Documentation/dev-tools/ktap.rst, 2-space levels */
	assert_int_equal(parse_file(&r, FIXTURE("ktap-indent-2.log")), 6);
	check_sane(&r);
	expect(&r, "main_test/example_test_1/test_1", TEST_PASS, 8);
	expect(&r, "main_test/example_test_2/test_1", TEST_SKIP, 12);
	assert_string_equal(must_find(&r, "main_test/example_test_2/test_1")->detail,
			    "test_1 skipped");
	expect(&r, "main_test/example_test_2/test_2", TEST_PASS, 13);
	expect(&r, "main_test/example_test_3/test_1", TEST_PASS, 17);
	expect(&r, "main_test/example_test_3/test_2", TEST_FAIL, 19);
	assert_string_equal(must_find(&r, "main_test/example_test_3/test_2")->detail,
			    "test_2: FAIL");
	expect(&r, "main_test/example_test_3/test_3", TEST_SKIP, 20);
	assert_null(find(&r, "main_test"));
	assert_null(find(&r, "main_test/example_test_3"));
	ktap_report_release(&r);
}

static void test_subtest_header_forms(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;

	/* TAP 14 style: header before the indented block */
	parse_str(&r,
		  "TAP version 14\n1..2\n"
		  "    # Subtest: alpha\n    1..1\n    ok 1 one\nok 1 alpha\n"
		  /* no header: the parent's result line names it */
		  "    KTAP version 1\n    1..1\n    ok 1 two\nok 2 beta\n");
	check_sane(&r);
	assert_int_equal(r.nr, 2);
	expect(&r, "alpha/one", TEST_PASS, 5);
	expect(&r, "beta/two", TEST_PASS, 9);
	ktap_report_release(&r);
}

/* ---- directives, totals, bail out ------------------------------------- */

static void test_directives(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	const struct test_result *t;

	assert_int_equal(parse_str(&r,
		"TAP version 13\n"
		"1..11\n"
		"ok 1 a # SKIP no device\n"
		"not ok 2 b # SKIP not supported\n"
		"not ok 3 c # XFAIL known bug\n"
		"ok 4 # XFAIL expected\n"
		"not ok 5 d # TODO later\n"
		"ok 6 e # XPASS\n"
		"not ok 7 f # TIMEOUT 30 seconds\n"
		"not ok 8 # error could not open /dev/hmm_dmirror0\n"
		"ok 9 h # rcode=0\n"
		"not ok 10 i\n"
		"ok 11 - j\n"
		"ok 12 k # skip lower case\n"), 12);
	check_sane(&r);

	t = must_find(&r, "a");
	assert_int_equal(t->status, TEST_SKIP);
	assert_string_equal(t->detail, "no device");
	assert_int_equal(t->line, 3);
	expect(&r, "b", TEST_SKIP, 4);
	assert_string_equal(must_find(&r, "b")->detail, "not supported");

	t = must_find(&r, "c");
	assert_int_equal(t->status, TEST_PASS);
	assert_non_null(strstr(t->detail, "expected failure"));
	assert_non_null(strstr(t->detail, "known bug"));
	/* kselftest prints XFAIL and SKIP without a name */
	t = must_find(&r, "test 4");
	assert_int_equal(t->status, TEST_PASS);
	assert_non_null(strstr(t->detail, "expected failure"));
	t = must_find(&r, "d");
	assert_int_equal(t->status, TEST_PASS);
	assert_non_null(strstr(t->detail, "TODO"));

	t = must_find(&r, "e");
	assert_int_equal(t->status, TEST_FAIL);
	assert_non_null(strstr(t->detail, "unexpected pass"));
	t = must_find(&r, "f");
	assert_int_equal(t->status, TEST_ERROR);
	assert_non_null(strstr(t->detail, "30 seconds"));
	t = must_find(&r, "test 8");
	assert_int_equal(t->status, TEST_ERROR);
	assert_non_null(strstr(t->detail, "could not open /dev/hmm_dmirror0"));

	/* unknown directive: ok stays ok, the text is the detail */
	t = must_find(&r, "h");
	assert_int_equal(t->status, TEST_PASS);
	assert_string_equal(t->detail, "rcode=0");
	t = must_find(&r, "i");
	assert_int_equal(t->status, TEST_FAIL);
	assert_null(t->detail);
	expect(&r, "j", TEST_PASS, 13);
	expect(&r, "k", TEST_SKIP, 14);
	assert_false(r.bailed_out);
	ktap_report_release(&r);
}

static void test_not_results(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;

	/* words that look like results but are not */
	assert_int_equal(parse_str(&r,
		"TAP version 13\n1..1\n"
		"# ok to go\n"
		"okay 1 nope\n"
		"ok1 nope\n"
		"not ok\n"
		"[    1.000000] ok, the kernel says\n"
		"KCI: ok 1 nope\n"
		"ok 1 yes\n"), 1);
	expect(&r, "yes", TEST_PASS, 9);
	ktap_report_release(&r);
}

static void test_totals(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;

	parse_str(&r,
		  "# Totals: pass:1 fail:2 xfail:3 xpass:4 skip:5 error:6\n"
		  "# # Totals: pass:10 fail:0 xfail:0 xpass:0 skip:0 error:0\n"
		  "# Totals: pass:1 fail:0 skip:1 total:2\n"
		  "# Totals: pass:99999999999999999999 fail:x\n");
	assert_int_equal(r.totals_seen, 4);
	assert_int_equal(r.totals[TEST_SKIP], 6);
	assert_int_equal(r.totals[TEST_FAIL], 2 + 4);
	assert_int_equal(r.totals[TEST_ERROR], 6);
	/* saturates instead of wrapping */
	assert_int_equal(r.totals[TEST_PASS], UINT_MAX);
	assert_int_equal(r.nr, 0);
	ktap_report_release(&r);

	parse_str(&r, "# Totals: pass:1 fail:2 xfail:3 xpass:4 skip:5 error:6\n");
	assert_int_equal(r.totals[TEST_PASS], 1 + 3);
	ktap_report_release(&r);
}

static void test_bail_out(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	const struct test_result *t;

	parse_str(&r,
		  "TAP version 13\n1..2\n"
		  "ok 1 first\n"
		  "Bail out! could not open /dev/hmm_dmirror0\n"
		  "Bail out! second reason\n");
	assert_true(r.bailed_out);
	assert_string_equal(r.bail_reason, "could not open /dev/hmm_dmirror0");
	assert_int_equal(r.nr, 1);
	ktap_report_release(&r);
	assert_false(r.bailed_out);
	assert_null(r.bail_reason);

	/* inside a subtest: the parent said ok, but it bailed out */
	parse_str(&r,
		  "TAP version 13\n1..2\n"
		  "# selftests: mm: hmm-tests\n"
		  "# TAP version 13\n# 1..3\n"
		  "# ok 1 hmm.hmm_device_private.open_close\n"
		  "# Bail out! no \xff device\n"
		  "ok 1 selftests: mm: hmm-tests\n"
		  "# selftests: mm: cow\n"
		  "# TAP version 13\n# 1..3\n"
		  "# Bail out! cannot mmap\n"
		  "not ok 2 selftests: mm: cow # exit=1\n");
	check_sane(&r);
	assert_true(r.bailed_out);
	assert_string_equal(r.bail_reason, "no ? device");
	expect(&r, "hmm-tests/hmm.hmm_device_private.open_close", TEST_PASS, 6);
	t = must_find(&r, "hmm-tests");
	assert_int_equal(t->status, TEST_ERROR);
	assert_int_equal(t->line, 8);
	assert_non_null(strstr(t->detail, "bailed out: no ? device"));
	t = must_find(&r, "cow");
	assert_int_equal(t->status, TEST_FAIL);
	assert_non_null(strstr(t->detail, "bailed out: cannot mmap"));
	assert_non_null(strstr(t->detail, "exit=1"));
	assert_int_equal(r.nr, 3);
	ktap_report_release(&r);
}

/* ---- kselftest_harness ------------------------------------------------- */

static void test_harness_crash(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	const struct test_result *t;
	unsigned c[TEST_STATUS_COUNT];

	/* the real log, cut after "#  RUN ... migrate ...", then an oops */
	assert_int_equal(parse_file(&r, FIXTURE("boot-oops-panic-mid-test.log")), 12);
	check_sane(&r);
	ktap_count(&r, c);
	assert_int_equal(c[TEST_PASS], 11);
	assert_int_equal(c[TEST_ERROR], 1);
	t = must_find(&r, "hmm.hmm_device_private.migrate");
	assert_int_equal(t->status, TEST_ERROR);
	assert_int_equal(t->line, 88);	/* the RUN line */
	assert_non_null(strstr(t->detail, "no result"));
	ktap_report_release(&r);
}

static void test_harness_variants(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	const struct test_result *t;

	parse_str(&r,
		  "TAP version 13\n1..6\n"
		  /* harness result, TAP line lost: the harness decides */
		  "#  RUN           f.a ...\n"
		  "#            OK  f.a\n"
		  /* next test starts while one is still running */
		  "#  RUN           f.b ...\n"
		  "# f.b: something printed\n"
		  "#  RUN           f.c ...\n"
		  "#      SKIP      no pmem\n"
		  "#            OK  f.c\n"
		  /* kselftest_harness of older kernels: SKIP without a name */
		  "ok 3 # SKIP no pmem\n"
		  "#  RUN           f.d ...\n"
		  "# t.c:10:d:Expected 1 (1) == 2 (2)\n"
		  "#          FAIL  f.d\n"
		  /* a different TAP line: f.d is reported from the harness */
		  "ok 4 other\n"
		  "#  RUN           f.e ...\n"
		  "#      SKIP      later\n"
		  "#            OK  f.e\n"
		  "TAP version 13\n"
		  "1..1\n"
		  "#  RUN           g.last ...\n");
	check_sane(&r);
	expect(&r, "f.a", TEST_PASS, 3);
	t = must_find(&r, "f.b");
	assert_int_equal(t->status, TEST_ERROR);
	assert_int_equal(t->line, 5);
	assert_non_null(strstr(t->detail, "f.b: something printed"));
	t = must_find(&r, "f.c");
	assert_int_equal(t->status, TEST_SKIP);
	assert_string_equal(t->detail, "no pmem");
	assert_int_equal(t->line, 10);
	t = must_find(&r, "f.d");
	assert_int_equal(t->status, TEST_FAIL);
	assert_non_null(strstr(t->detail, "t.c:10:d:Expected 1 (1) == 2 (2)"));
	expect(&r, "other", TEST_PASS, 14);
	/* a new document ends the running test */
	expect(&r, "f.e", TEST_SKIP, 15);
	assert_string_equal(must_find(&r, "f.e")->detail, "later");
	expect(&r, "g.last", TEST_ERROR, 20);
	assert_int_equal(r.nr, 7);
	/* in log order: f.d (RUN line 11) before "other" (line 14) */
	assert_string_equal(r.results[3].name, "f.d");
	assert_string_equal(r.results[4].name, "other");
	ktap_report_release(&r);
}

static void test_nested_crash_and_timeout(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	const struct test_result *t;

	parse_str(&r,
		  "TAP version 13\n1..3\n"
		  /* the runner timed out while a harness test ran */
		  "# selftests: mm: hmm-tests\n"
		  "# TAP version 13\n# 1..2\n"
		  "# #  RUN           hmm.a ...\n"
		  "# #            OK  hmm.a\n"
		  "# ok 1 hmm.a\n"
		  "# #  RUN           hmm.b ...\n"
		  "#\n"
		  "not ok 1 selftests: mm: hmm-tests # TIMEOUT 45 seconds\n"
		  /* passing children, failing parent */
		  "# Subtest: gup\n# TAP version 13\n# 1..1\n# ok 1 x\n"
		  "not ok 2 gup # exit=1\n"
		  /* the log ends inside a subtest */
		  "# Subtest: cow\n# TAP version 13\n# 1..5\n# ok 1 y\n");
	check_sane(&r);
	expect(&r, "hmm-tests/hmm.a", TEST_PASS, 8);
	t = must_find(&r, "hmm-tests/hmm.b");
	assert_int_equal(t->status, TEST_ERROR);
	assert_non_null(strstr(t->detail, "no result"));
	assert_non_null(strstr(t->detail, "45 seconds"));
	/* the timeout is already told by hmm.b */
	assert_null(find(&r, "hmm-tests"));

	expect(&r, "gup/x", TEST_PASS, 15);
	t = must_find(&r, "gup");
	assert_int_equal(t->status, TEST_ERROR);
	assert_non_null(strstr(t->detail, "exit=1"));

	expect(&r, "cow/y", TEST_PASS, 20);
	t = must_find(&r, "cow");
	assert_int_equal(t->status, TEST_ERROR);
	assert_non_null(strstr(t->detail, "no result"));
	assert_int_equal(r.nr, 6);
	ktap_report_release(&r);
}

/* ---- names ----------------------------------------------------------- */

static void expect_detail(const struct ktap_report *r, const char *name,
			  enum test_status st, const char *detail)
{
	const struct test_result *t = must_find(r, name);

	if (t->status != st)
		fail_msg("%s: status %s, expected %s", name,
			 test_status_name(t->status), test_status_name(st));
	if (!detail)
		assert_null(t->detail);
	else if (!t->detail || strcmp(t->detail, detail))
		fail_msg("%s: detail \"%s\", expected \"%s\"", name,
			 t->detail ? t->detail : "(null)", detail);
}

/* kselftest.h programs: "# [RUN] what", then "ok N message". */
static void test_run_lines(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;

	parse_str(&r,
		  "TAP version 13\n1..12\n"
		  "# [RUN] a ... with x\n"
		  "ok 1 Should have worked\n"
		  /* only the first result after it; the next keeps its text */
		  "# [RUN] group\n"
		  "ok 2 first\n"
		  "ok 3 second\n"
		  /* a SKIP without a name is named by it too */
		  "# [RUN] a ... with y\n"
		  "ok 4 # SKIP need more free huge pages\n"
		  /* lines between; a failure keeps its name, says why */
		  "# [RUN] a ... with z\n"
		  "# [INFO] PIN_LONGTERM_TEST_STOP failed\n"
		  "[    1.234567] kernel: something\n"
		  "not ok 5 PIN_LONGTERM_TEST_START failed\n"
		  /* a section title: the next [RUN] replaces it */
		  "# [RUN] Non-anonymous memory tests\n"
		  "# [RUN] b\n"
		  "ok 6 # XFAIL Leak from parent into child\n"
		  /* message and directive both */
		  "# [RUN] c\n"
		  "ok 7 msg # SKIP why\n"
		  "# [RUN] d\n"
		  "not ok 8 msg # TIMEOUT 5s\n"
		  /* two [RUN] lines with the same text: true duplicates */
		  "# [RUN] a ... with x\n"
		  "ok 9 Should have worked\n"
		  /* not [RUN] lines */
		  "# [RUN]x\n"
		  "# [RUNNING] y\n"
		  "ok 10 ten\n"
		  /* a header names the next test: an older [RUN] is not its name */
		  "# [RUN] stale\n"
		  "# selftests: mm: foo\n"
		  "ok 11 selftests: mm: foo\n"
		  "# [RUN] e\n"
		  "ok 12 twelve\n");
	check_sane(&r);
	assert_int_equal(r.nr, 12);
	expect_detail(&r, "a ... with x", TEST_PASS, "Should have worked");
	expect_detail(&r, "group", TEST_PASS, "first");
	expect_detail(&r, "second", TEST_PASS, NULL);
	expect_detail(&r, "a ... with y", TEST_SKIP, "need more free huge pages");
	expect_detail(&r, "a ... with z", TEST_FAIL,
		      "PIN_LONGTERM_TEST_START failed; [INFO] PIN_LONGTERM_TEST_STOP failed");
	expect(&r, "a ... with z", TEST_FAIL, 13);	/* the result line */
	expect_detail(&r, "b", TEST_PASS, "expected failure: Leak from parent into child");
	assert_null(find(&r, "Non-anonymous memory tests"));
	expect_detail(&r, "c", TEST_SKIP, "msg; why");
	expect_detail(&r, "d", TEST_ERROR, "msg; timeout: 5s");
	expect_detail(&r, "a ... with x #2", TEST_PASS, "Should have worked");
	expect_detail(&r, "ten", TEST_PASS, NULL);
	expect_detail(&r, "foo", TEST_PASS, NULL);
	assert_null(find(&r, "stale"));
	expect_detail(&r, "e", TEST_PASS, "twelve");
	ktap_report_release(&r);

	/* nested by "# ", and a new document forgets an unused [RUN] */
	parse_str(&r,
		  "KTAP version 1\n1..2\n"
		  "# Subtest: gup_longterm\n"
		  "# TAP version 13\n# 1..1\n"
		  "# # [RUN] R/W pin ... with memfd\n"
		  "# ok 1 Should have worked\n"
		  "# # [RUN] left over\n"
		  "ok 1 gup_longterm\n"
		  "# Subtest: mkdirty\n"
		  "# TAP version 13\n# 1..1\n"
		  "# # [INFO] PTRACE write access\n"
		  "# ok 1 SIGSEGV generated, page not modified\n"
		  "ok 2 mkdirty\n");
	check_sane(&r);
	assert_int_equal(r.nr, 2);
	expect_detail(&r, "gup_longterm/R/W pin ... with memfd", TEST_PASS, "Should have worked");
	/* no [RUN]: named as before, by the result line */
	expect_detail(&r, "mkdirty/SIGSEGV generated, page not modified", TEST_PASS, NULL);
	ktap_report_release(&r);
}

/*
 * The real output of a selftest and the same with failures in the middle
 * (tests/fixtures/mm-NAME-{pass,fail}.log): every test keeps its name,
 * whatever its result line says; only the failing ones change status.
 * Returns the number of failures.
 */
static unsigned same_names(const char *prog, size_t nr, struct ktap_report *pass,
			   struct ktap_report *fail)
{
	char path[256];
	unsigned failed = 0;
	size_t i;

	snprintf(path, sizeof(path), FIXTURE("mm-%s-pass.log"), prog);
	assert_int_equal(parse_file(pass, path), nr);
	snprintf(path, sizeof(path), FIXTURE("mm-%s-fail.log"), prog);
	assert_int_equal(parse_file(fail, path), nr);
	check_sane(pass);
	check_sane(fail);
	assert_false(pass->bailed_out);
	assert_true(fail->bailed_out);
	for (i = 0; i < nr; i++) {
		const struct test_result *p = &pass->results[i], *f = &fail->results[i];

		assert_true(has_prefix(p->name, prog));
		assert_int_equal(p->name[strlen(prog)], '/');
		assert_string_equal(f->name, p->name);
		assert_int_equal(f->line - fail->results[0].line, p->line - pass->results[0].line);
		if (f->status != p->status) {
			assert_int_equal(p->status, TEST_PASS);
			assert_int_equal(f->status, TEST_FAIL);
			failed++;
		}
	}
	/* the invocation itself is explained by its failing children */
	assert_null(find(fail, prog));
	return failed;
}

/* No " #N" suffix on any name. */
static void no_ordinals(const struct ktap_report *r)
{
	size_t i;

	for (i = 0; i < r->nr; i++)
		if (strstr(r->results[i].name, " #"))
			fail_msg("ordinal on \"%s\"", r->results[i].name);
}

static void test_names_survive_failure(void **state)
{
	struct ktap_report p = KTAP_REPORT_INIT, f = KTAP_REPORT_INIT;
	static const char rw_local[] =
		"gup_longterm/R/W longterm GUP pin in MAP_SHARED file mapping ... with local tmpfile";
	static const char ro_fast_private_local[] =
		"gup_longterm/R/O longterm GUP-fast pin in MAP_PRIVATE file mapping ... with local tmpfile";
	static const char huge_1g[] =
		"gup_longterm/R/W longterm GUP pin in MAP_SHARED file mapping ... with memfd hugetlb (1048576 kB)";
	static const char cow_leak[] =
		"cow/vmsplice() + unmap in child ... with single PTE of THP (128 kB)";
	static const char cow_pin[] =
		"cow/R/O GUP pin on R/O-mapped shared page ... with partially mremap()'ed THP (64 kB)";
	size_t i;

	/* gup_longterm: "[RUN] what" then "ok N Should have worked" */
	assert_int_equal(same_names("gup_longterm", 40, &p, &f), 8);
	no_ordinals(&p);
	for (i = 0; i < p.nr; i++) {
		assert_null(strstr(p.results[i].name, "Should have"));
		assert_null(strstr(f.results[i].name, "PIN_LONGTERM"));
	}
	assert_string_equal(p.results[0].name,
			    "gup_longterm/R/W longterm GUP pin in MAP_SHARED file mapping ... with memfd");
	assert_string_equal(p.results[2].name, rw_local);
	expect_detail(&p, rw_local, TEST_PASS, "Should have worked");
	expect_detail(&f, rw_local, TEST_FAIL, "PIN_LONGTERM_TEST_START failed");
	expect_detail(&f, ro_fast_private_local, TEST_FAIL, "PIN_LONGTERM_TEST_START failed");
	assert_string_equal(f.results[37].name, ro_fast_private_local);
	/* "ok 5 # SKIP need more free huge pages" is named by its [RUN] */
	expect_detail(&p, huge_1g, TEST_SKIP, "need more free huge pages");
	expect_detail(&f, huge_1g, TEST_SKIP, "need more free huge pages");
	ktap_report_release(&p);
	ktap_report_release(&f);

	/* cow: a failure prints another message than a pass */
	assert_int_equal(same_names("cow", 670, &p, &f), 2);
	no_ordinals(&p);
	expect_detail(&p, cow_leak, TEST_PASS, "No leak from parent into child");
	expect_detail(&f, cow_leak, TEST_FAIL, "Leak from parent into child");
	expect_detail(&p, cow_pin, TEST_PASS, "Longterm R/O pin is reliable");
	expect_detail(&f, cow_pin, TEST_FAIL, "Longterm R/O pin is reliable");
	expect_detail(&f, "cow/vmsplice() + unmap in child ... with hugetlb (2048 kB)", TEST_PASS,
		      "expected failure: Leak from parent into child");
	/* "[RUN] Non-anonymous memory tests in private mappings" is a title */
	expect_detail(&f, "cow/Basic COW ... with shared zeropage", TEST_PASS,
		      "Other mapping not modified");
	assert_null(find(&p, "cow/Non-anonymous memory tests in private mappings"));
	ktap_report_release(&p);
	ktap_report_release(&f);

	/*
	 * madv_populate: one "[RUN] function" before a few results; it names
	 * the first, the others keep their (fixed) text.
	 */
	assert_int_equal(same_names("madv_populate", 21, &p, &f), 2);
	expect_detail(&p, "madv_populate/test_prot_write", TEST_PASS,
		      "MADV_POPULATE_READ with PROT_WRITE");
	expect_detail(&f, "madv_populate/test_prot_write", TEST_FAIL,
		      "MADV_POPULATE_READ with PROT_WRITE");
	expect_detail(&f, "madv_populate/MADV_POPULATE_WRITE with PROT_WRITE", TEST_PASS, NULL);
	expect_detail(&f, "madv_populate/MADV_POPULATE_WRITE", TEST_FAIL, NULL);
	expect_detail(&f, "madv_populate/MADV_POPULATE_WRITE #2", TEST_PASS, NULL);
	ktap_report_release(&p);
	ktap_report_release(&f);

	/*
	 * mkdirty: "[INFO] what", no [RUN]: named by the result line as
	 * before, which says the same on failure.
	 */
	assert_int_equal(same_names("mkdirty", 6, &p, &f), 1);
	expect(&p, "mkdirty/SIGSEGV generated, page not modified #3", TEST_PASS, 0);
	expect(&f, "mkdirty/SIGSEGV generated, page not modified #3", TEST_FAIL, 0);
	assert_non_null(strstr(must_find(&f, "mkdirty/SIGSEGV generated, page not modified #3")->detail,
			       "[INFO] PTE-mapping a THP"));
	ktap_report_release(&p);
	ktap_report_release(&f);
}

static void test_duplicates(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;

	parse_str(&r, "ok 1 x\nok 2 x #2\nok 3 x\nnot ok 4 x\n");
	assert_int_equal(r.nr, 4);
	assert_string_equal(r.results[0].name, "x");
	assert_string_equal(r.results[1].name, "x #2");
	assert_string_equal(r.results[2].name, "x #3");
	assert_string_equal(r.results[3].name, "x #4");
	assert_int_equal(r.results[3].status, TEST_FAIL);

	/* a second log appended to the same report stays unique */
	assert_int_equal(parse_str(&r, "ok 1 x\nok 2 y\n"), 2);
	assert_string_equal(r.results[4].name, "x #5");
	assert_string_equal(r.results[5].name, "y");
	ktap_report_release(&r);
}

static void test_invalid_utf8(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	static const char in[] =
		"ok 1 caf\xc3\xa9 \xff\xfe bad \xc3 x\x01y\x1b[31mred\x1b[0m \xed\xa0\x80 \xe2\x82\xac\n"
		"not ok 2 \xc0\xaf\tz # \x80 reason\n";

	ktap_parse(&r, in, sizeof(in) - 1);
	check_sane(&r);
	assert_int_equal(r.nr, 2);
	/* invalid bytes -> '?', escapes dropped, surrogates refused */
	assert_string_equal(r.results[0].name, "caf\xc3\xa9 ?? bad ? x?yred ??? \xe2\x82\xac");
	assert_string_equal(r.results[1].name, "?? z");
	assert_string_equal(r.results[1].detail, "? reason");
	ktap_report_release(&r);
}

static void test_long_names(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	struct buf b = { NULL, 0, 0 };
	size_t i, n;

	/* 300 two-byte characters: cut on a character edge */
	buf_adds(&b, "ok 1 ");
	for (i = 0; i < 300; i++)
		buf_adds(&b, "\xc3\xa9");
	buf_adds(&b, "\nok 2 ");
	for (i = 0; i < 300; i++)
		buf_adds(&b, "\xc3\xa9");
	buf_adds(&b, "\n");
	ktap_parse(&r, b.s, b.len);
	check_sane(&r);
	assert_int_equal(r.nr, 2);
	n = strlen(r.results[0].name);
	assert_true(n >= KTAP_MAX_NAME - 2 && n < KTAP_MAX_NAME);
	/* the duplicate keeps its suffix within the limit */
	n = strlen(r.results[1].name);
	assert_true(n < KTAP_MAX_NAME);
	assert_string_equal(r.results[1].name + n - 3, " #2");
	ktap_report_release(&r);
	free(b.s);
}

/* ---- expected suites ------------------------------------------------- */

static void test_suite_len(void **state)
{
	(void)state;
	assert_int_equal(ktap_suite_len("hmm-tests/hmm.a.open_close"), 9);
	assert_int_equal(ktap_suite_len("cow"), 3);
	assert_int_equal(ktap_suite_len("gup_test -u/ioctl status 0"), 11);
	assert_int_equal(ktap_suite_len("mkdirty\ncow"), 7);
	assert_int_equal(ktap_suite_len(""), 0);
}

static void test_expect_suites(void **state)
{
	static const char log[] =
		"KTAP version 1\n1..3\n"
		"# Subtest: hmm-tests\n# 1..1\n# ok 1 hmm.a.open_close\nok 1 hmm-tests\n"
		"# Subtest: gup_test-u\n# 1..1\n# ok 1 ioctl status 0\nok 2 gup_test-u\n"
		"ok 3 mkdirty # SKIP no THP\n";
	char *expect[] = { "hmm-tests", "gup_test-u", "gup_test-a", "mkdirty",
			   "gup_test", "hmm", NULL };
	struct ktap_report r = KTAP_REPORT_INIT;
	const struct test_result *t;
	unsigned c[TEST_STATUS_COUNT];

	(void)state;
	assert_int_equal(parse_str(&r, log), 3);
	/* a suite with results, or that is a result itself, reported;
	 * "gup_test" and "hmm" are no prefix of another suite's names */
	assert_int_equal(ktap_expect_suites(&r, expect, 6, NULL), 3);
	assert_int_equal(r.nr, 6);
	t = must_find(&r, "gup_test-a");
	assert_int_equal(t->status, TEST_ERROR);
	assert_string_equal(t->detail, "expected suite reported no results");
	assert_int_equal(t->line, 0);
	assert_int_equal(must_find(&r, "gup_test")->status, TEST_ERROR);
	assert_int_equal(must_find(&r, "hmm")->status, TEST_ERROR);
	assert_null(find(&r, "hmm-tests"));
	assert_null(find(&r, "gup_test-u"));
	ktap_count(&r, c);
	assert_int_equal(c[TEST_ERROR], 3);
	/* a second call finds them all */
	assert_int_equal(ktap_expect_suites(&r, expect, 6, NULL), 0);
	ktap_report_release(&r);

	/* nothing reported: every expected suite is an error */
	assert_int_equal(ktap_expect_suites(&r, expect, 2, NULL), 2);
	assert_string_equal(r.results[0].name, "hmm-tests");
	assert_string_equal(r.results[1].name, "gup_test-u");
	ktap_report_release(&r);

	/* nothing expected */
	assert_int_equal(ktap_expect_suites(&r, NULL, 0, NULL), 0);
	assert_int_equal(r.nr, 0);
}

static void test_expect_suites_subset(void **state)
{
	char *expect[] = { "hmm-tests", "gup_test-u", "gup_test-a", "cow", NULL };
	struct ktap_report r = KTAP_REPORT_INIT;

	(void)state;
	/* a bisection of two hmm-tests that reported nothing: only hmm-tests
	 * was expected of the run */
	assert_int_equal(ktap_expect_suites(&r, expect, 4,
		"hmm-tests/hmm.hmm_device_private.migrate\n"
		"hmm-tests/hmm.hmm_device_coherent.migrate #2\n"), 1);
	assert_int_equal(r.nr, 1);
	assert_string_equal(r.results[0].name, "hmm-tests");
	ktap_report_release(&r);
	/* a whole suite named, a suite of a test named, no final newline */
	assert_int_equal(ktap_expect_suites(&r, expect, 4,
		"cow\ngup_test-a/ioctl status 0"), 2);
	assert_string_equal(r.results[0].name, "gup_test-a");
	assert_string_equal(r.results[1].name, "cow");
	ktap_report_release(&r);
	/* a prefix is not the suite; the subset names none expected */
	assert_int_equal(ktap_expect_suites(&r, expect, 4,
		"hmm-tests-more/x\ngup_test\nboot\n"), 0);
	assert_int_equal(ktap_expect_suites(&r, expect, 4, ""), 0);
	ktap_report_release(&r);
}

/* ---- bad input ------------------------------------------------------- */

static void test_empty(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	unsigned c[TEST_STATUS_COUNT] = { 1, 1, 1, 1 };

	assert_int_equal(ktap_parse(&r, "", 0), 0);
	assert_int_equal(ktap_parse(&r, NULL, 0), 0);
	assert_int_equal(parse_str(&r, "\n\n\r\n#\n# \n1..0\nTAP version 13\n"), 0);
	ktap_count(&r, c);
	assert_int_equal(c[TEST_PASS] + c[TEST_FAIL] + c[TEST_SKIP] + c[TEST_ERROR], 0);
	ktap_report_release(&r);
	ktap_report_release(&r);	/* twice is harmless */
}

static void test_garbage(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	size_t len = 4 << 20, i;
	unsigned char *buf = malloc(len);
	uint32_t seed;

	assert_non_null(buf);
	for (seed = 1; seed <= 3; seed++) {
		junk(buf, len, seed);
		ktap_parse(&r, (char *)buf, len);
		check_sane(&r);
		ktap_report_release(&r);
	}

	/* junk made of the parser's own vocabulary */
	{
		static const char *const words[] = {
			"ok ", "not ok ", "1", "..", "# ", "#", "  ", "    ",
			"TAP version 13", "KTAP version 1", "Bail out!",
			"Subtest: ", "selftests: mm: ", " RUN ", " OK ",
			" FAIL ", " SKIP ", "Totals: pass:", "\n", "\n",
			"\xff", "\0", "[    1.000000] ", " # SKIP ", " # TIMEOUT ",
		};
		uint32_t x = 12345;

		for (i = 0; i < len - 32;) {
			const char *w;
			size_t n;

			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			w = words[x % (sizeof(words) / sizeof(*words))];
			n = *w ? strlen(w) : 1;
			memcpy(buf + i, w, n);
			i += n;
		}
		ktap_parse(&r, (char *)buf, i);
		check_sane(&r);
		ktap_report_release(&r);
	}

	/* real lines survive among junk lines (with NUL bytes) */
	junk(buf, len, 7);
	for (i = 0; i < len; i++)
		if (buf[i] == '\n')
			buf[i] = '\r';
	{
		static const char a[] = "\nTAP version 13\n1..2\nok 1 alpha\n";
		static const char b[] = "\nnot ok 2 beta # exit=1\n";

		memcpy(buf + 1000, a, sizeof(a) - 1);
		memcpy(buf + 200000, b, sizeof(b) - 1);
	}
	ktap_parse(&r, (char *)buf, len);
	check_sane(&r);
	assert_int_equal(must_find(&r, "alpha")->status, TEST_PASS);
	assert_int_equal(must_find(&r, "beta")->status, TEST_FAIL);
	ktap_report_release(&r);
	free(buf);
}

static void test_huge_line(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	size_t len = 10 << 20, i;
	char *buf = malloc(len + 64);

	assert_non_null(buf);
	memcpy(buf, "ok 1 ", 5);
	memset(buf + 5, 'a', len - 5);
	memcpy(buf + len, "\nok 2 after\n", 12);
	assert_int_equal(ktap_parse(&r, buf, len + 12), 2);
	check_sane(&r);
	assert_int_equal(strlen(r.results[0].name), KTAP_MAX_NAME - 1);
	expect(&r, "after", TEST_PASS, 2);
	ktap_report_release(&r);

	/* 10 MB of "# " prefixes: one monstrous key */
	for (i = 0; i + 1 < len; i += 2) {
		buf[i] = '#';
		buf[i + 1] = ' ';
	}
	memcpy(buf + len - 6, "ok 1 x", 6);
	ktap_parse(&r, buf, len);
	check_sane(&r);
	ktap_report_release(&r);
	free(buf);
}

static void test_many_results(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	struct buf b = { NULL, 0, 0 };
	char line[64];
	size_t i;
	int n;

	buf_adds(&b, "TAP version 13\n1..200000\n");
	for (i = 1; i <= 200000; i++) {
		n = snprintf(line, sizeof(line), "ok %zu x\n", i);
		buf_add(&b, line, (size_t)n);
	}
	assert_int_equal(ktap_parse(&r, b.s, b.len), KTAP_MAX_RESULTS);
	assert_int_equal(r.nr, KTAP_MAX_RESULTS);
	assert_int_equal(r.dropped, 200000 - KTAP_MAX_RESULTS);
	assert_string_equal(r.results[0].name, "x");
	assert_string_equal(r.results[1].name, "x #2");
	snprintf(line, sizeof(line), "x #%d", KTAP_MAX_RESULTS);
	assert_string_equal(r.results[KTAP_MAX_RESULTS - 1].name, line);
	assert_int_equal(r.results[KTAP_MAX_RESULTS - 1].line, KTAP_MAX_RESULTS + 2);

	/* a full report takes no more */
	assert_int_equal(parse_str(&r, "ok 1 more\n"), 0);
	assert_int_equal(r.dropped, 200000 - KTAP_MAX_RESULTS + 1);
	ktap_report_release(&r);
	free(b.s);
}

static void test_deep_nesting(void **state)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	struct buf b = { NULL, 0, 0 };
	char pad[128];
	const struct test_result *leaf = NULL;
	int d, depth = 20;
	size_t i;

	/* 20 levels of KTAP by indentation, then 20 of "# " prefixes */
	buf_adds(&b, "KTAP version 1\n1..1\n");
	for (d = 1; d <= depth; d++) {
		memset(pad, ' ', (size_t)d * 2);
		pad[d * 2] = '\0';
		buf_adds(&b, pad);
		buf_adds(&b, "KTAP version 1\n");
		buf_adds(&b, pad);
		buf_adds(&b, "1..1\n");
	}
	buf_adds(&b, pad);
	buf_adds(&b, "ok 1 leaf\n");
	for (d = depth - 1; d >= 0; d--) {
		char line[64];

		memset(pad, ' ', (size_t)d * 2);
		pad[d * 2] = '\0';
		snprintf(line, sizeof(line), "ok 1 l%d\n", d);
		buf_adds(&b, pad);
		buf_adds(&b, line);
	}
	for (d = 0; d <= depth; d++) {
		int k;

		for (k = 0; k < d; k++)
			buf_adds(&b, "# ");
		buf_adds(&b, d < depth ? "TAP version 13\n" : "ok 1 deepest\n");
	}

	ktap_parse(&r, b.s, b.len);
	check_sane(&r);
	for (i = 0; i < r.nr; i++) {
		const char *name = r.results[i].name, *p;
		int slashes = 0;

		for (p = name; *p; p++)
			slashes += *p == '/';
		assert_true(slashes <= KTAP_MAX_DEPTH);
		if (strlen(name) >= 5 && !strcmp(name + strlen(name) - 5, "/leaf"))
			leaf = &r.results[i];
	}
	assert_non_null(leaf);
	assert_int_equal(leaf->status, TEST_PASS);
	/* levels below KTAP_MAX_DEPTH were flattened into the eighth */
	assert_string_equal(leaf->name, "l0/l1/l2/l3/l4/l5/l6/l7/leaf");
	assert_non_null(find(&r, "l0/l1/l2/l3/l4/l5/l6/l7/l19"));
	assert_string_equal(r.results[r.nr - 1].name, "deepest");
	ktap_report_release(&r);
	free(b.s);
}

/*
 * The stream gives exactly what the whole-buffer parse gives, however the
 * text is cut into pieces (one byte, a few, lines split anywhere), for
 * every fixture; also a last line without a newline and an overlong line.
 */
static void check_same(const char *buf, size_t len, size_t piece)
{
	struct ktap_report whole = KTAP_REPORT_INIT, parts = KTAP_REPORT_INIT;
	struct ktap_stream *st = ktap_stream_new(&parts);
	size_t pos, i;

	ktap_parse(&whole, buf, len);
	for (pos = 0; pos < len; pos += piece)
		ktap_stream_feed(st, buf + pos, len - pos < piece ? len - pos : piece);
	ktap_stream_end(st);
	assert_int_equal(parts.nr, whole.nr);
	for (i = 0; i < whole.nr; i++) {
		assert_string_equal(parts.results[i].name, whole.results[i].name);
		assert_int_equal(parts.results[i].status, whole.results[i].status);
		assert_int_equal(parts.results[i].line, whole.results[i].line);
		if (whole.results[i].detail)
			assert_string_equal(parts.results[i].detail, whole.results[i].detail);
		else
			assert_null(parts.results[i].detail);
	}
	assert_int_equal(parts.bailed_out, whole.bailed_out);
	assert_memory_equal(parts.totals, whole.totals, sizeof(whole.totals));
	ktap_report_release(&whole);
	ktap_report_release(&parts);
}

static void test_stream_equals_whole(void **state)
{
	static const char *const fixtures[] = {
		"kselftest-nested-mm.log", "kstage-init-nested.log", "ktap-indent-2.log",
		"ktap-kunit-console.log", "sample-boot-memmap-tcg.log",
		"boot-oops-panic-mid-test.log",
		"mm-gup_longterm-pass.log", "mm-gup_longterm-fail.log",
		"mm-cow-pass.log", "mm-cow-fail.log",
		"mm-mkdirty-pass.log", "mm-mkdirty-fail.log",
		"mm-madv_populate-pass.log", "mm-madv_populate-fail.log",
	};
	static const size_t pieces[] = { 1, 7, 4096, 65536 };
	char path[256], *buf, *big;
	size_t len, i, k;

	(void)state;
	for (i = 0; i < sizeof(fixtures) / sizeof(*fixtures); i++) {
		snprintf(path, sizeof(path), FIXTURE("%s"), fixtures[i]);
		buf = unit_load(path, &len);
		for (k = 0; k < sizeof(pieces) / sizeof(*pieces); k++)
			check_same(buf, len, pieces[k]);
		check_same(buf, len - 1, 3);	/* no final newline */
		free(buf);
	}
	/* A line of 3 * KTAP_MAX_LINE bytes between two results. */
	big = malloc(3 * KTAP_MAX_LINE + 64);
	assert_non_null(big);
	len = (size_t)snprintf(big, 64, "TAP version 13\n1..2\nok 1 a\n");
	memset(big + len, 'x', 3 * KTAP_MAX_LINE);
	len += 3 * KTAP_MAX_LINE;
	memcpy(big + len, "\nok 2 b\n", 8);
	len += 8;
	check_same(big, len, 1000);
	check_same(big, len, 1);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_sample_tcg),
		cmocka_unit_test(test_sample_thp_always),
		cmocka_unit_test(test_sample_nested_subtest),
		cmocka_unit_test(test_sample_nested_runner_header),
		cmocka_unit_test(test_init_nested),
		cmocka_unit_test(test_kselftest_runner),
		cmocka_unit_test(test_kunit_indent4),
		cmocka_unit_test(test_ktap_indent2),
		cmocka_unit_test(test_subtest_header_forms),
		cmocka_unit_test(test_directives),
		cmocka_unit_test(test_not_results),
		cmocka_unit_test(test_totals),
		cmocka_unit_test(test_bail_out),
		cmocka_unit_test(test_harness_crash),
		cmocka_unit_test(test_harness_variants),
		cmocka_unit_test(test_nested_crash_and_timeout),
		cmocka_unit_test(test_run_lines),
		cmocka_unit_test(test_names_survive_failure),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_suite_len),
		cmocka_unit_test(test_expect_suites),
		cmocka_unit_test(test_expect_suites_subset),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_huge_line),
		cmocka_unit_test(test_many_results),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_stream_equals_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
