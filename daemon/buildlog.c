/*
 * buildlog: compiler warnings and checkpatch summaries, line by line
 * (see buildlog.h).
 */
#include <string.h>

#include "buildlog.h"
#include "banned.h"

static size_t trim_cr(const char *line, size_t len)
{
	return len && line[len - 1] == '\r' ? len - 1 : len;
}

/* The decimal number at *p (at most 9 digits): 1 and *v, *p past it. */
static int number(const char **p, const char *end, unsigned *v)
{
	const char *s = *p;
	unsigned n = 0;

	while (s < end && s - *p < 9 && *s >= '0' && *s <= '9')
		n = n * 10 + (unsigned)(*s++ - '0');
	if (s == *p || (s < end && *s >= '0' && *s <= '9'))
		return 0;
	*v = n;
	*p = s;
	return 1;
}

static int literal(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n))
		return 0;
	*p += n;
	return 1;
}

int buildlog_warning(struct strbuf *key, const char *line, size_t len)
{
	const char *end = line + trim_cr(line, len), *p, *file = line, *text;
	unsigned n;

	/* FILE:LINE[:COL]: warning: TEXT, FILE without blanks or colons. */
	for (p = line; p < end && *p != ':' && *p != ' ' && *p != '\t'; p++)
		;
	if (p == line || p == end || *p != ':')
		return 0;
	text = p++;
	if (!number(&p, end, &n))
		return 0;
	if (p < end && *p == ':' && p + 1 < end && p[1] >= '0' && p[1] <= '9') {
		p++;
		if (!number(&p, end, &n))
			return 0;
	}
	if (!literal(&p, end, ": warning: ") || p == end)
		return 0;
	while (file < text && (literal(&file, text, "./") || literal(&file, text, "../")))
		;
	strbuf_add(key, file, (size_t)(text - file));
	strbuf_adds(key, ": warning: ");
	strbuf_add(key, p, (size_t)(end - p));
	return 1;
}

/* ", N WORD" or "N WORD" with WORD one of the plural forms checkpatch prints. */
static int count(const char **p, const char *end, const char *word, unsigned *v)
{
	const char *s = *p;
	unsigned n;

	if (!number(&s, end, &n) || !literal(&s, end, " ") || !literal(&s, end, word))
		return 0;
	*v = n;
	*p = s;
	return 1;
}

int buildlog_checkpatch_total(struct checkpatch_total *t, const char *line,
			      size_t len)
{
	const char *end = line + trim_cr(line, len), *p = line;

	memset(t, 0, sizeof(*t));
	if (!literal(&p, end, "total: ") ||
	    !count(&p, end, "errors, ", &t->errors) ||
	    !count(&p, end, "warnings, ", &t->warnings))
		goto no;
	/* Only --strict counts checks. */
	count(&p, end, "checks, ", &t->checks);
	if (count(&p, end, "lines checked", &t->lines) && p == end)
		return 1;
no:
	memset(t, 0, sizeof(*t));
	return 0;
}

int buildlog_checkpatch_issue(const char *line, size_t len)
{
	const char *end = line + trim_cr(line, len), *p = line;

	return literal(&p, end, "ERROR:") || literal(&p, end, "WARNING:") ||
	       literal(&p, end, "CHECK:");
}
