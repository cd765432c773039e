#ifndef CONSOLE_H
#define CONSOLE_H

#include <stddef.h>

#include "states.h"

/*
 * console: the boot verdict from a kernel's serial console log.  Pure: no
 * I/O, no global state; the input may hold binary garbage, cut-off lines
 * and test output interleaved with kernel messages.
 *
 * The verdict is the worst event seen, in this order (worst first):
 *
 *   panic    "Kernel panic - not syncing"
 *   kasan    "BUG: KASAN:" (also KFENCE/UBSAN reports: "BUG: KFENCE:",
 *            "UBSAN:")
 *   oops     "Oops:" (also "general protection fault", "BUG: unable to
 *            handle page fault" / "kernel NULL pointer dereference")
 *   bug      "BUG:" (other), "kernel BUG at"
 *   timeout  the step that produced the log was killed at its timeout
 *            (timed_out != 0) and nothing worse was seen
 *   hung     the end marker never appeared and nothing worse was seen; also
 *            hung-task / soft-lockup / RCU-stall reports ("INFO: task ...
 *            blocked for more than", "watchdog: BUG: soft lockup" counts as
 *            bug, "rcu: INFO: rcu_sched detected stalls")
 *   warning  "WARNING: CPU: N PID: M at ..." / "WARNING: at ..."
 *   clean    the end marker appeared and none of the above
 *
 * Kernel messages may carry a "[    1.234567] " timestamp prefix and a
 * "<N>" log-level prefix, or neither; both are recognised.  A test that
 * merely prints one of the words (e.g. "# WARNING:" inside TAP output,
 * "page dumped because: gup_test") must not count: only kernel-message
 * lines match.
 *
 * The events list keeps up to CONSOLE_MAX_EVENTS events in log order so
 * that the dashboard can highlight them.
 */

#define CONSOLE_MAX_EVENTS 32
/* Bytes of a line that are looked at; the rest of a longer line is cut. */
#define CONSOLE_MAX_LINE 4096
#define CONSOLE_MAX_TEXT 240

struct console_event {
	enum boot_verdict kind;
	unsigned line;				/* 1-based */
	char text[CONSOLE_MAX_TEXT];		/* the line, cleaned (valid UTF-8) */
};

struct console_verdict {
	enum boot_verdict verdict;
	unsigned end_marker_line;	/* 0 = the marker never appeared */
	unsigned lines;			/* lines in the log */
	/* The event that decided the verdict (0/"" for clean, timeout, hung). */
	unsigned line;
	char text[CONSOLE_MAX_TEXT];
	struct console_event events[CONSOLE_MAX_EVENTS];
	size_t nr_events;
	size_t dropped_events;
};

/*
 * Classify buf[0..len).  end_marker is the line prefix the test init
 * prints when it is done (e.g. "KSTAGE-DONE"); NULL or "" means no marker
 * is expected (then a missing marker is not "hung").  timed_out says
 * whether the step was killed at its timeout.  Always succeeds.
 */
void console_classify(struct console_verdict *out, const char *buf, size_t len,
		      const char *end_marker, int timed_out);

/*
 * The same, as the console arrives: feed it in pieces of any size, then
 * end (which frees the stream and settles *out).  Only the line being
 * read is kept, so a console of any size is classified whole, whatever a
 * log cap keeps on disk.
 */
struct console_stream;
struct console_stream *console_stream_new(struct console_verdict *out,
					  const char *end_marker);
void console_stream_feed(struct console_stream *st, const char *buf, size_t len);
void console_stream_end(struct console_stream *st, int timed_out);

#endif
