/*
 * fuzz_console: console_classify() on anything (console.h), with and
 * without an end marker, timed out or not: the verdict and its events
 * stay within their limits and point at lines of the log; and the same
 * log fed to a console_stream in pieces (their sizes taken from the
 * input itself) gives the same verdict.
 */
#include <string.h>

#include "console.h"
#include "fuzz.h"

static void check(const struct console_verdict *v)
{
	size_t i;

	fuzz_check((unsigned)v->verdict < BOOT_VERDICT_COUNT);
	fuzz_check(v->nr_events <= CONSOLE_MAX_EVENTS);
	fuzz_check(v->end_marker_line <= v->lines);
	fuzz_check(v->line <= v->lines);
	fuzz_check(memchr(v->text, '\0', sizeof(v->text)) != NULL);
	fuzz_check(fuzz_clean_utf8(v->text, strlen(v->text)));
	for (i = 0; i < v->nr_events; i++) {
		const struct console_event *e = &v->events[i];

		fuzz_check((unsigned)e->kind < BOOT_VERDICT_COUNT);
		fuzz_check(e->line >= 1 && e->line <= v->lines);
		fuzz_check(i == 0 || e->line >= v->events[i - 1].line);
		fuzz_check(memchr(e->text, '\0', sizeof(e->text)) != NULL);
		fuzz_check(fuzz_clean_utf8(e->text, strlen(e->text)));
	}
}

/* Feed data in pieces of 1..64 bytes, sized by the data's own bytes. */
static void check_stream(const struct console_verdict *whole, const uint8_t *data,
			 size_t size, const char *marker, int timed_out)
{
	struct console_verdict *v = malloc(sizeof(*v));
	struct console_stream *st;
	size_t pos = 0;

	if (!v)
		abort();
	st = console_stream_new(v, marker);
	while (pos < size) {
		size_t k = 1 + data[pos] % 64;

		if (k > size - pos)
			k = size - pos;
		console_stream_feed(st, (const char *)data + pos, k);
		pos += k;
	}
	console_stream_end(st, timed_out);
	fuzz_check(!memcmp(v, whole, sizeof(*v)));
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct console_verdict *v = calloc(1, sizeof(*v));

	if (!v)
		abort();
	console_classify(v, (const char *)data, size, "KSTAGE-DONE", 0);
	check(v);
	check_stream(v, data, size, "KSTAGE-DONE", 0);
	console_classify(v, (const char *)data, size, NULL, size & 1);
	check(v);
	check_stream(v, data, size, NULL, size & 1);
	free(v);
	return 0;
}
