/*
 * json: the one JSON writer (see json.h for the escaping rules and how
 * query rows become objects).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "json.h"
#include "banned.h"

/* Length of the valid UTF-8 character at s (n bytes left), 0 if invalid. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (c == 0xe0 && s[1] < 0xa0) ||	/* overlong */
		    (c == 0xed && s[1] >= 0xa0))	/* surrogate */
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80 || (c == 0xf0 && s[1] < 0x90) ||
		    (c == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* A JSON string of s (n bytes); invalid UTF-8 becomes U+FFFD. */
void json_strn(struct strbuf *sb, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;

	json_ch(sb, '"');
	while (p < end) {
		unsigned c = *p;
		size_t len;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0x80 && (len = utf8_char(p, (size_t)(end - p)))) {
			p += len;
			continue;
		}
		json_add(sb, run, (size_t)(p - run));
		switch (c) {
		case '"': json_lit(sb, "\\\""); break;
		case '\\': json_lit(sb, "\\\\"); break;
		case '\n': json_lit(sb, "\\n"); break;
		case '\t': json_lit(sb, "\\t"); break;
		case '\r': json_lit(sb, "\\r"); break;
		default:
			if (c < 0x20)
				strbuf_addf(sb, "\\u%04x", c);
			else
				json_lit(sb, "\\ufffd");
		}
		run = ++p;
	}
	json_add(sb, run, (size_t)(p - run));
	json_ch(sb, '"');
}

void json_str(struct strbuf *sb, const char *s)
{
	if (s)
		json_strn(sb, s, strlen(s));
	else
		json_lit(sb, "null");
}

void json_int(struct strbuf *sb, long long v)
{
	char buf[24], *p = buf + sizeof(buf);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	json_add(sb, p, (size_t)(buf + sizeof(buf) - p));
}

/* A comma, unless this is the first member or element. */
void json_sep(struct strbuf *sb)
{
	char last = sb->len ? sb->buf[sb->len - 1] : '[';

	if (last != '{' && last != '[' && last != ':')
		json_ch(sb, ',');
}

void json_keyn(struct strbuf *sb, const char *key, size_t n)
{
	json_sep(sb);
	json_strn(sb, key, n);
	json_ch(sb, ':');
}

void json_key(struct strbuf *sb, const char *key)
{
	json_keyn(sb, key, strlen(key));
}

void json_col(struct strbuf *sb, sqlite3_stmt *st, int i, int boolean)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		if (boolean)
			strbuf_adds(sb, sqlite3_column_int64(st, i) ? "true" : "false");
		else
			json_int(sb, sqlite3_column_int64(st, i));
		break;
	case SQLITE_FLOAT: {
		double d = sqlite3_column_double(st, i);

		if (isfinite(d))
			strbuf_addf(sb, "%.17g", d);
		else
			json_lit(sb, "null");
		break;
	}
	case SQLITE_TEXT:
		json_strn(sb, (const char *)sqlite3_column_text(st, i),
			(size_t)sqlite3_column_bytes(st, i));
		break;
	default:
		json_lit(sb, "null");
	}
}

/* One member from column i: "name": value (name without its marks). */
static void row_member(struct strbuf *sb, sqlite3_stmt *st, int i, const char *name)
{
	int boolean = name[0] == '?';

	json_key(sb, name + boolean);
	json_col(sb, st, i, boolean);
}

/* The members of the current row (see json.h). */
void json_fields(struct strbuf *sb, sqlite3_stmt *st)
{
	int i, j, k, n = sqlite3_column_count(st);

	for (i = 0; i < n; i = j) {
		const char *name = sqlite3_column_name(st, i);
		const char *dot = strchr(name, '.');
		size_t plen;
		int null = 0;

		j = i + 1;
		if (name[0] == '_')
			continue;
		if (!dot) {
			row_member(sb, st, i, name);
			continue;
		}
		/* A nested object: the columns that share the prefix. */
		plen = (size_t)(dot - name);
		while (j < n && !strncmp(sqlite3_column_name(st, j), name, plen + 1))
			j++;
		for (k = i; k < j; k++)
			if (!strcmp(sqlite3_column_name(st, k) + plen + 1, "id") &&
			    sqlite3_column_type(st, k) == SQLITE_NULL)
				null = 1;
		json_keyn(sb, name, plen);
		if (null) {
			json_lit(sb, "null");
			continue;
		}
		json_ch(sb, '{');
		for (k = i; k < j; k++)
			row_member(sb, st, k, sqlite3_column_name(st, k) + plen + 1);
		json_ch(sb, '}');
	}
}

void json_row(struct strbuf *sb, sqlite3_stmt *st)
{
	json_ch(sb, '{');
	json_fields(sb, st);
	json_ch(sb, '}');
}

/* Every row of st (stepped here, then done) as an array of objects. */
int json_rows(struct strbuf *sb, struct db *db, sqlite3_stmt *st)
{
	int rc;

	if (!st)
		return -1;
	json_ch(sb, '[');
	while ((rc = db_step(db, st)) == 1) {
		json_sep(sb);
		json_row(sb, st);
	}
	json_ch(sb, ']');
	db_done(st);
	return rc < 0 ? -1 : 0;
}

/* A newline-separated list as an array of strings; NULL -> null. */
void json_lines(struct strbuf *sb, const char *text)
{
	const char *p = text;

	if (!text) {
		json_lit(sb, "null");
		return;
	}
	json_ch(sb, '[');
	while (*p) {
		size_t len = strcspn(p, "\n");

		if (len) {
			json_sep(sb);
			json_strn(sb, p, len);
		}
		p += len;
		if (*p)
			p++;
	}
	json_ch(sb, ']');
}
