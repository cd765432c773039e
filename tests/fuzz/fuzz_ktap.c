/*
 * fuzz_ktap: ktap_parse() on anything (ktap.h): it never crashes, stays
 * within its limits and returns clean names and details.
 */
#include <string.h>

#include "fuzz.h"
#include "ktap.h"

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
	ktap_report_release(&r);
	return 0;
}
