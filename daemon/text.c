/*
 * text: cleaning outside text and recognising kernel timestamps (see
 * text.h).  Shared by the KTAP parser and the console classifier.
 */
#include <stdint.h>
#include <string.h>

#include "text.h"
#include "banned.h"

static int isdig(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of the valid UTF-8 character at s, 0 if invalid or a C1 control. */
size_t text_utf8_len(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	uint32_t cp;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

/* Skip the terminal escape sequence starting at s[i] == ESC. */
size_t text_skip_escape(const char *s, size_t len, size_t i)
{
	size_t j = i + 1;

	if (j >= len)
		return j;
	if (s[j] != '[')
		return j + 1;	/* two-byte sequence: "ESC c" */
	for (j++; j < len; j++) {
		unsigned char c = s[j];

		if (c >= 0x40 && c <= 0x7e)
			return j + 1;
		if (c < 0x20 || c > 0x3f)
			return j;	/* not CSI after all: keep the byte */
	}
	return j;
}

/*
 * Copy s[0..len) into dst (cap bytes, NUL included) as valid UTF-8 without
 * control characters: escape sequences and carriage returns are dropped,
 * tabs become spaces, other control characters and invalid bytes become
 * '?'.  Never splits a
 * character; returns the length written.
 */
size_t text_clean(char *dst, size_t cap, const char *s, size_t len)
{
	size_t i = 0, o = 0;

	if (!cap)
		return 0;
	while (i < len) {
		unsigned char c = s[i];
		const char *from = s + i;
		size_t n = 1;

		if (c == 0x1b) {
			i = text_skip_escape(s, len, i);
			continue;
		}
		if (c == '\r') {
			i++;
			continue;
		}
		if (c == '\t') {
			from = " ";
		} else if (c < 0x20 || c == 0x7f) {
			from = "?";
		} else {
			n = text_utf8_len((const unsigned char *)s + i, len - i);
			if (!n) {
				from = "?";
				n = 1;
			}
		}
		if (o + n >= cap)
			break;
		memcpy(dst + o, from, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return o;
}

/* "[    1.234567] " and "[    1.234567][    T1] " kernel timestamps. */
size_t text_timestamp_len(const char *s, size_t n)
{
	size_t i = 1, d;

	if (!n || s[0] != '[')
		return 0;
	while (i < n && s[i] == ' ')
		i++;
	for (d = i; i < n && isdig(s[i]); i++)
		;
	if (i == d || i >= n || s[i] != '.')
		return 0;
	for (d = ++i; i < n && isdig(s[i]); i++)
		;
	if (i == d || i >= n || s[i] != ']')
		return 0;
	i++;
	if (i < n && s[i] == '[') {
		size_t j = i + 1;

		while (j < n && s[j] == ' ')
			j++;
		if (j < n && (s[j] == 'T' || s[j] == 'C')) {
			for (d = ++j; j < n && isdig(s[j]); j++)
				;
			if (j > d && j < n && s[j] == ']')
				i = j + 1;
		}
	}
	if (i < n && s[i] == ' ')
		i++;
	return i;
}

int text_is_http_url(const char *s)
{
	const char *p;

	if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
		return 0;
	for (p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return 0;
	return p - s <= TEXT_URL_MAX;
}

static void text_line_done(struct text_lines *t, text_line_fn *fn, void *arg)
{
	size_t len = t->len;

	t->len = 0;
	t->in_line = 0;
	fn(arg, t->buf, len);
}

void text_lines_feed(struct text_lines *t, const char *buf, size_t len,
		     text_line_fn *fn, void *arg)
{
	size_t pos = 0;

	while (buf && pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		size_t n = end - pos, room = t->cap - t->len;

		if (n > room)
			n = room;	/* the rest of a longer line is cut */
		memcpy(t->buf + t->len, buf + pos, n);
		t->len += n;
		t->in_line = 1;
		if (!nl)
			break;
		text_line_done(t, fn, arg);
		pos = end + 1;
	}
}

void text_lines_end(struct text_lines *t, text_line_fn *fn, void *arg)
{
	if (t->in_line)
		text_line_done(t, fn, arg);
}
