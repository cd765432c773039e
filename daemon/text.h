#ifndef TEXT_H
#define TEXT_H

#include <stddef.h>

/*
 * text: rules for text that comes from outside (console logs, test
 * output) before it is stored or shown.  Pure functions, no allocation.
 */

/* Length of the valid UTF-8 character at s (1-4), 0 if invalid or a C1
 * control character. */
size_t text_utf8_len(const unsigned char *s, size_t len);

/* Index just past the terminal escape sequence that starts at s[i]
 * (s[i] == ESC). */
size_t text_skip_escape(const char *s, size_t len, size_t i);

/*
 * Copy s[0..len) into dst (cap bytes, NUL-terminated) as valid UTF-8
 * without control characters: escape sequences and carriage returns are
 * dropped, tabs become spaces, other control characters and invalid bytes
 * become '?'.  Never splits a character; returns the length written.
 */
size_t text_clean(char *dst, size_t cap, const char *s, size_t len);

/*
 * Length of a kernel timestamp at the start of s[0..n): "[    1.234567] "
 * or "[    1.234567][    T1] ", with at most one space after it (so that
 * indentation behind it survives).  0 if there is none.
 */
size_t text_timestamp_len(const char *s, size_t n);

/*
 * Lines of text that arrives in pieces of any size (a console as it
 * streams in): only the line being read is kept, in buf (the caller's,
 * cap + 1 bytes, so that it may be NUL-terminated), cut at cap bytes (the
 * rest of a longer line, up to its newline, is dropped).
 */
struct text_lines {
	char *buf;
	size_t cap;
	size_t len;		/* bytes of the line in buf */
	int in_line;		/* bytes of a line were seen since the last newline */
};

typedef void text_line_fn(void *arg, char *line, size_t len);

/* Feed buf[0..len): fn for every line it completes (without its newline). */
void text_lines_feed(struct text_lines *t, const char *buf, size_t len,
		     text_line_fn *fn, void *arg);
/* The text is over: fn for a last line that had no newline. */
void text_lines_end(struct text_lines *t, text_line_fn *fn, void *arg);

#define TEXT_URL_MAX 512

/*
 * Is s an http:// or https:// URL of at most TEXT_URL_MAX bytes, without
 * spaces or control characters (one that may go into a Link: trailer or
 * a request)?  1 or 0.
 */
int text_is_http_url(const char *s);

#endif
