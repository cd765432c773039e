/*
 * fuzz_record: a line of a node run's record (node_run.h) as the daemon
 * reads it, on anything: node_outcome_parse() never crashes and either
 * refuses with a reason (leaving nothing to release) or gives an outcome
 * whose counts match its results; written again with node_outcome_line()
 * that outcome is one valid JSON line that reads back the same.
 */
#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "node_run.h"
#include "strbuf.h"

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_outcome o, back;
	struct ktap_report r, r2;
	struct strbuf sb = STRBUF_INIT;
	unsigned counts[TEST_STATUS_COUNT] = { 0 };
	const char *why = NULL;
	json_t *line = json_loadb((const char *)data, size, 0, NULL), *again;
	size_t i;

	if (!line)
		return 0;
	if (node_outcome_parse(line, &o, &r, &why) < 0) {
		fuzz_check(why && *why);
		fuzz_check(!r.results && !r.nr);
		json_decref(line);
		return 0;
	}
	for (i = 0; i < o.nr_results; i++) {
		fuzz_check(o.results[i].name && *o.results[i].name);
		counts[o.results[i].status]++;
	}
	fuzz_check(!memcmp(counts, o.counts, sizeof(counts)));
	/*
	 * Round trip.  A string that held a NUL (\u0000) is cut there by the
	 * C side; the outcome of the first parse is what is compared.
	 */
	node_outcome_line(&sb, &o);
	fuzz_check(!sb.truncated && !memchr(sb.buf, '\n', sb.len));
	again = json_loadb(sb.buf, sb.len, 0, NULL);
	fuzz_check(again != NULL);
	fuzz_check(node_outcome_parse(again, &back, &r2, &why) == 0);
	fuzz_check(back.verdict == o.verdict && back.have_boot == o.have_boot);
	fuzz_check(back.reusable == o.reusable && back.nr_results == o.nr_results);
	fuzz_check(back.checkout_ms == o.checkout_ms && back.overhead_ms == o.overhead_ms);
	fuzz_check(same_str(back.error, o.error) && same_str(back.failed_step, o.failed_step));
	fuzz_check(same_str(back.boot_verdict, o.boot_verdict));
	for (i = 0; i < o.nr_results; i++) {
		fuzz_check(!strcmp(back.results[i].name, o.results[i].name));
		fuzz_check(same_str(back.results[i].detail, o.results[i].detail));
		fuzz_check(back.results[i].status == o.results[i].status);
		fuzz_check(back.results[i].line == o.results[i].line);
	}
	ktap_report_release(&r2);
	json_decref(again);
	strbuf_release(&sb);
	ktap_report_release(&r);
	json_decref(line);
	return 0;
}
