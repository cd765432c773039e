/*
 * fuzz_ktap: ktap_parse() on anything (ktap.h): it never crashes, stays
 * within its limits and returns clean names and details; and the same
 * text fed to a ktap_stream in pieces (their sizes taken from the input
 * itself) gives the same results.
 */
#include <string.h>

#include "fuzz.h"
#include "ktap.h"

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Feed data in pieces of 1..64 bytes, sized by the data's own bytes. */
static void check_stream(const struct ktap_report *whole, const uint8_t *data,
			 size_t size)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	struct ktap_stream *st = ktap_stream_new(&r);
	size_t pos = 0, i;
	int n;

	while (pos < size) {
		size_t k = 1 + data[pos] % 64;

		if (k > size - pos)
			k = size - pos;
		ktap_stream_feed(st, (const char *)data + pos, k);
		pos += k;
	}
	n = ktap_stream_end(st);
	fuzz_check(n >= 0 && (size_t)n == r.nr);
	fuzz_check(r.nr == whole->nr && r.dropped == whole->dropped);
	fuzz_check(r.bailed_out == whole->bailed_out);
	fuzz_check(same_str(r.bail_reason, whole->bail_reason));
	for (i = 0; i < r.nr; i++) {
		fuzz_check(!strcmp(r.results[i].name, whole->results[i].name));
		fuzz_check(r.results[i].status == whole->results[i].status);
		fuzz_check(same_str(r.results[i].detail, whole->results[i].detail));
		fuzz_check(r.results[i].line == whole->results[i].line);
	}
	ktap_report_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ktap_report r = KTAP_REPORT_INIT;
	unsigned counts[TEST_STATUS_COUNT], sum = 0;
	size_t i;
	int n;

	n = ktap_parse(&r, (const char *)data, size);
	fuzz_check(n >= 0 && (size_t)n == r.nr);
	fuzz_check(r.nr <= KTAP_MAX_RESULTS);
	for (i = 0; i < r.nr; i++) {
		const struct test_result *t = &r.results[i];

		fuzz_check(t->name != NULL);
		/* Cut to KTAP_MAX_NAME, then perhaps a " #N" suffix. */
		fuzz_check(strlen(t->name) <= KTAP_MAX_NAME + 12);
		fuzz_check(fuzz_clean_utf8(t->name, strlen(t->name)));
		fuzz_check((unsigned)t->status < TEST_STATUS_COUNT);
		fuzz_check(t->line >= 1);
		if (t->detail) {
			fuzz_check(strlen(t->detail) <= KTAP_MAX_DETAIL);
			fuzz_check(fuzz_clean_utf8(t->detail, strlen(t->detail)));
		}
	}
	if (r.bail_reason)
		fuzz_check(fuzz_clean_utf8(r.bail_reason, strlen(r.bail_reason)));
	ktap_count(&r, counts);
	for (i = 0; i < TEST_STATUS_COUNT; i++)
		sum += counts[i];
	fuzz_check(sum == r.nr);
	check_stream(&r, data, size);
	ktap_report_release(&r);
	return 0;
}
