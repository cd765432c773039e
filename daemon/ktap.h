#ifndef KTAP_H
#define KTAP_H

#include <stddef.h>

#include "states.h"

/*
 * ktap: per-test results from a console or test log.  Pure: no I/O, no
 * global state; the input is a byte buffer that may hold anything (kernel
 * messages interleaved with test output, binary garbage, cut-off lines).
 *
 * Understood formats (see shared/KERNEL.md and the kernel's
 * Documentation/dev-tools/ktap.rst):
 *
 *  - kselftest TAP 13 and KTAP 1: "TAP version 13" / "KTAP version 1",
 *    plans "1..N", "ok N name", "not ok N name", directives after " # "
 *    (SKIP, TODO, XFAIL, XPASS, TIMEOUT, ERROR), "Bail out! reason",
 *    "# Totals: pass:P fail:F xfail:X xpass:Y skip:S error:E".
 *  - Nesting, both by indentation (KTAP: 2 or 4 spaces per level) and by
 *    "# " prefixes (run_kselftest.sh / run_vmtests.sh put "# " in front of
 *    every line of the inner test).  "# Subtest: NAME" and the
 *    kselftest runner's "# selftests: mm: NAME" headers name a subtest.
 *  - kselftest_harness lines (hmm-tests): "#  RUN  NAME ...",
 *    "#  OK  NAME", "#  FAIL  NAME", "#  SKIP  reason", and the assertion
 *    text in between ("# hmm-tests.c:1817:exclusive:Expected ret (-16) ==
 *    0 (0)"), which becomes the failing test's detail.
 *  - kselftest.h programs that say which test runs before its result
 *    (gup_longterm, cow): "# [RUN] R/W longterm GUP pin in MAP_SHARED
 *    file mapping ... with memfd", then "ok 1 Should have worked".
 *
 * Naming: a result's name is the test's own name prefixed by the names of
 * its parents, joined with '/': "hmm-tests/hmm.hmm_device_private.open_close",
 * "gup_test -u/ioctl status 0".  The test's own name is the harness's RUN
 * name; else the text of a "[RUN]" line printed at the same level since
 * the previous result, which names that one result (a "# SKIP" one too)
 * while the result line's text, which ksft_test_result() may change with
 * the outcome, starts its detail: "gup_longterm/R/W longterm GUP pin in
 * MAP_SHARED file mapping ... with memfd", detail "Should have worked" or
 * "PIN_LONGTERM_TEST_START failed"; else the result line's text ("test N"
 * when it has none).  A test with a "[RUN]" line so keeps its name, and
 * every other test its ordinal, whatever its result line says.
 * A parent whose children produced results is not itself a result, unless
 * it failed (not ok, TIMEOUT, crashed, bailed out) while none of its
 * children failed: then it is reported as TEST_ERROR so that a timeout or
 * crash is never lost.  Duplicate names (two tests that say the same) get
 * a suffix " #2", " #3"... in the order they appear.
 *
 * Status mapping: ok -> PASS; ok # SKIP -> SKIP; not ok -> FAIL;
 * not ok # SKIP -> SKIP; # XFAIL or # TODO on a "not ok" -> PASS (expected
 * failure, detail says so); # XPASS -> FAIL; # TIMEOUT or # ERROR -> ERROR;
 * a harness "RUN" with no OK/FAIL/SKIP and no TAP line for it before the
 * output ends or the next test starts -> ERROR ("no result: crashed or
 * hung?").  The exit code of a test wrapper is never an input here.
 *
 * Limits (bad input never crashes and never grows memory without bound):
 * lines longer than KTAP_MAX_LINE are cut, names are cut to KTAP_MAX_NAME
 * bytes, details to KTAP_MAX_DETAIL bytes, at most KTAP_MAX_RESULTS results
 * (further ones are counted in "dropped"), nesting deeper than
 * KTAP_MAX_DEPTH is flattened.  Names and details are made valid UTF-8
 * with no control characters (invalid bytes become '?').
 */

#define KTAP_MAX_LINE 4096
#define KTAP_MAX_NAME 256
#define KTAP_MAX_DETAIL 2048
#define KTAP_MAX_RESULTS 100000
#define KTAP_MAX_DEPTH 8

struct test_result {
	char *name;		/* owned, never NULL */
	enum test_status status;
	char *detail;		/* owned, may be NULL: reason, directive, assertion */
	unsigned line;		/* 1-based line of the result in the input */
};

struct ktap_report {
	struct test_result *results;	/* in the order they appeared */
	size_t nr, alloc;
	size_t dropped;		/* results beyond KTAP_MAX_RESULTS */
	unsigned bailed_out : 1;
	char *bail_reason;	/* owned, may be NULL */
	/* Sums of every "# Totals:" line seen (informational only). */
	unsigned totals[TEST_STATUS_COUNT];
	unsigned totals_seen;
};

#define KTAP_REPORT_INIT { NULL, 0, 0, 0, 0, NULL, { 0 }, 0 }

/*
 * Parse buf[0..len) and append its results to *out.  Returns the number of
 * results found (>= 0); never fails on bad input.
 */
int ktap_parse(struct ktap_report *out, const char *buf, size_t len);

/*
 * The same, as the text arrives: feed it in pieces of any size (a line
 * may be split anywhere), then end.  Nothing of the text is kept beyond
 * the line being read, so a console of any size costs the same memory,
 * and every result in it is found whatever a log cap keeps on disk.
 * ktap_stream_end() frees the stream and returns the number of results.
 */
struct ktap_stream;
struct ktap_stream *ktap_stream_new(struct ktap_report *out);
void ktap_stream_feed(struct ktap_stream *st, const char *buf, size_t len);
int ktap_stream_end(struct ktap_stream *st);

/*
 * The suite of a result name: its first component, up to the first '/'
 * ("hmm-tests" of "hmm-tests/hmm.hmm_device_private.open_close"); a name
 * without '/' is its own suite.  Returns its length in bytes; the name
 * ends at a NUL or, for a line of a list, at a newline.
 */
size_t ktap_suite_len(const char *name);

/*
 * A profile's expected suites (config.h, "expect"): append a TEST_ERROR
 * result named SUITE, with the detail "expected suite reported no
 * results", for each suite of expect[0..nr) that has no result in r (none
 * named SUITE or SUITE/...), so that a suite that never ran is never
 * merely absent.  subset: NULL for a full run, else the newline-separated
 * result names the run was restricted to (KSTAGE_TESTS_FILE): then only
 * the suites named there are expected.  Returns the number of results
 * added (KTAP_MAX_RESULTS does not apply: at most nr).
 */
size_t ktap_expect_suites(struct ktap_report *r, char *const *expect, size_t nr,
			  const char *subset);

/* Count results by status into counts[TEST_STATUS_COUNT]. */
void ktap_count(const struct ktap_report *r, unsigned counts[TEST_STATUS_COUNT]);

void ktap_report_release(struct ktap_report *r);

#endif
