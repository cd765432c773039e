/*
 * console: the boot verdict from a kernel's serial console log (see
 * console.h).
 *
 * Each line is cleaned (escape sequences dropped, invalid UTF-8 and control
 * characters made harmless), then searched for kernel messages: a message
 * starts at the beginning of the line (after an optional "<N>" log level)
 * or right after a "[    1.234567] " timestamp anywhere in the line, since
 * the console interleaves kernel output with whatever a test was printing.
 * A message is classified by the table below, on its first words only, so
 * that test output that merely mentions "WARNING:" never counts.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "text.h"
#include "wrapper.h"
#include "banned.h"


/*
 * Kernel messages that matter, matched at the start of a message; the
 * first match wins, so specific patterns come before general ones.  When
 * "also" is set, the message must contain it as well.
 */
static const struct pattern {
	const char *prefix;
	const char *also;
	enum boot_verdict kind;
} patterns[] = {
	{ "Kernel panic - not syncing", NULL, BOOT_PANIC },
	{ "BUG: KASAN:", NULL, BOOT_KASAN },
	{ "BUG: KFENCE:", NULL, BOOT_KASAN },
	{ "UBSAN:", NULL, BOOT_KASAN },
	{ "Oops:", NULL, BOOT_OOPS },
	{ "general protection fault", NULL, BOOT_OOPS },
	{ "BUG: unable to handle", NULL, BOOT_OOPS },
	{ "BUG: kernel NULL pointer dereference", NULL, BOOT_OOPS },
	{ "kernel BUG at ", NULL, BOOT_BUG },
	{ "watchdog: BUG: soft lockup", NULL, BOOT_BUG },
	{ "BUG:", NULL, BOOT_BUG },
	{ "INFO: task ", " blocked for more than ", BOOT_HUNG },
	{ "rcu: INFO: ", "detected stall", BOOT_HUNG },
	{ "INFO: rcu_", "detected stall", BOOT_HUNG },
	{ "WARNING: CPU: ", NULL, BOOT_WARNING },
	{ "WARNING: at ", NULL, BOOT_WARNING },
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of a kernel timestamp at s and the blanks after it. */
static size_t timestamp_len(const char *s)
{
	size_t i = text_timestamp_len(s, strlen(s));

	while (i && s[i] == ' ')
		i++;
	return i;
}

/* Skip a "<4>" log level and blanks at the start of a message. */
static const char *message_start(const char *s)
{
	size_t i = 0;

	while (*s == ' ')
		s++;
	if (s[0] == '<') {
		for (i = 1; is_digit(s[i]) && i < 4; i++)
			;
		if (i > 1 && s[i] == '>')
			s += i + 1;
	}
	return s;
}

static int has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static int classify_message(const char *msg, enum boot_verdict *kind)
{
	size_t i;

	for (i = 0; i < sizeof(patterns) / sizeof(*patterns); i++) {
		const struct pattern *pt = &patterns[i];

		if (has_prefix(msg, pt->prefix) &&
		    (!pt->also || strstr(msg + strlen(pt->prefix), pt->also))) {
			*kind = pt->kind;
			return 1;
		}
	}
	return 0;
}

/*
 * The worst kernel event on a cleaned line, if any.  Messages start at the
 * line's beginning or after any timestamp in it.
 */
static int classify_line(const char *line, enum boot_verdict *kind)
{
	const char *p = line;
	int found = 0;
	enum boot_verdict k;

	if (classify_message(message_start(line), &k)) {
		*kind = k;
		found = 1;
	}
	while ((p = strchr(p, '[')) != NULL) {
		size_t ts = timestamp_len(p);

		if (!ts) {
			p++;
			continue;
		}
		p += ts;
		if (classify_message(message_start(p), &k) && (!found || k > *kind)) {
			*kind = k;
			found = 1;
		}
	}
	return found;
}

/* Does the line start with the end marker (possibly after a timestamp)? */
static int is_end_marker(const char *line, const char *marker)
{
	const char *p = message_start(line);
	size_t ts = timestamp_len(p);

	return has_prefix(p, marker) || (ts && has_prefix(p + ts, marker));
}

static void copy_text(char *dst, const char *line)
{
	size_t n = strlen(line);
	const char *s = line;

	while (*s == ' ') {
		s++;
		n--;
	}
	while (n && s[n - 1] == ' ')
		n--;
	if (n >= CONSOLE_MAX_TEXT) {
		n = CONSOLE_MAX_TEXT - 1;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/*
 * Keep an event.  When the list is full, a new event that is worse than
 * something in it replaces the latest of the least severe ones, so that
 * a panic after many warnings is still highlighted.
 */
static void add_event(struct console_verdict *out, enum boot_verdict kind,
		      unsigned line, const char *text)
{
	struct console_event *ev;
	size_t i, victim = 0;

	if (out->nr_events == CONSOLE_MAX_EVENTS) {
		out->dropped_events++;
		for (i = 1; i < out->nr_events; i++)
			if (out->events[i].kind <= out->events[victim].kind)
				victim = i;
		if (out->events[victim].kind >= kind)
			return;
		memmove(&out->events[victim], &out->events[victim + 1],
			(out->nr_events - victim - 1) * sizeof(*out->events));
		out->nr_events--;
	}
	ev = &out->events[out->nr_events++];
	ev->kind = kind;
	ev->line = line;
	copy_text(ev->text, text);
}

struct console_stream {
	struct console_verdict *out;
	char *end_marker;	/* NULL: none expected */
	char raw[CONSOLE_MAX_LINE];	/* the line being read, cut at the cap */
	struct text_lines lines;	/* over raw */
	int worst_set;
};

struct console_stream *console_stream_new(struct console_verdict *out,
					  const char *end_marker)
{
	struct console_stream *st = xcalloc(1, sizeof(*st));

	memset(out, 0, sizeof(*out));
	st->out = out;
	st->end_marker = end_marker && *end_marker ? xstrdup(end_marker) : NULL;
	st->lines.buf = st->raw;
	st->lines.cap = CONSOLE_MAX_LINE - 1;
	return st;
}

/* A line is complete: classify it. */
static void stream_line(void *arg, char *raw, size_t len)
{
	struct console_stream *st = arg;
	struct console_verdict *out = st->out;
	char line[CONSOLE_MAX_LINE];
	enum boot_verdict kind;
	unsigned lineno = ++out->lines;

	text_clean(line, sizeof(line), raw, len);
	if (st->end_marker && !out->end_marker_line && is_end_marker(line, st->end_marker))
		out->end_marker_line = lineno;
	if (!classify_line(line, &kind))
		return;
	add_event(out, kind, lineno, line);
	if (!st->worst_set || kind > out->verdict) {
		st->worst_set = 1;
		out->verdict = kind;
		out->line = lineno;
		copy_text(out->text, line);
	}
}

void console_stream_feed(struct console_stream *st, const char *buf, size_t len)
{
	text_lines_feed(&st->lines, buf, len, stream_line, st);
}

void console_stream_end(struct console_stream *st, int timed_out)
{
	struct console_verdict *out = st->out;

	text_lines_end(&st->lines, stream_line, st);
	if (!st->worst_set)
		out->verdict = BOOT_CLEAN;
	if (timed_out && out->verdict < BOOT_TIMEOUT) {
		out->verdict = BOOT_TIMEOUT;
		out->line = 0;
		out->text[0] = '\0';
	} else if (st->end_marker && !out->end_marker_line && out->verdict < BOOT_HUNG) {
		out->verdict = BOOT_HUNG;
		out->line = 0;
		out->text[0] = '\0';
	}
	free(st->end_marker);
	free(st);
}

void console_classify(struct console_verdict *out, const char *buf, size_t len,
		      const char *end_marker, int timed_out)
{
	struct console_stream *st = console_stream_new(out, end_marker);

	console_stream_feed(st, buf, len);
	console_stream_end(st, timed_out);
}
