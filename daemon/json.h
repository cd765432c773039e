#ifndef JSON_H
#define JSON_H

#include <stddef.h>
#include <string.h>
#include <sqlite3.h>

#include "strbuf.h"

struct db;

/*
 * json: the one JSON writer.  Text goes straight into a strbuf, piece by
 * piece, with no tree in between: a reply of thousands of keys and values
 * costs no allocation per value (building the hot read replies with
 * jansson cost more than a thousand allocations for a stage with 100
 * results, and was most of their time).  Parsing, and the small replies
 * of writes, are jansson's job; this module only writes.
 *
 * Nothing here fails: every function appends to sb, and a buffer that
 * reached its cap (sb->max) keeps its first bytes and sets sb->truncated.
 * The caller checks sb->truncated once, at the end (api_end_json() does),
 * and must not send a truncated text: it is not valid JSON.
 *
 * Separators are automatic: json_sep() (which json_key() and
 * json_rows() call) writes a comma unless the last byte of sb is '{',
 * '[' or ':'.  So a writer opens with '{' or '[', calls json_key() before
 * each member or json_sep() before each element, and closes; it must not
 * leave whitespace between the pieces.
 *
 * Strings (json_str(), json_strn() and every key and text column) are
 * always valid JSON and valid UTF-8, whatever the input:
 *   - '"' and '\' are escaped as \" and \\;
 *   - newline, tab and carriage return as \n, \t and \r; every other byte
 *     below 0x20 (NUL included, when it is inside the n bytes) as \u00XX,
 *     lower-case hex; DEL (0x7f) is copied as is (JSON allows it);
 *   - a valid UTF-8 sequence of two to four bytes is copied unchanged;
 *     "valid" excludes overlong forms, UTF-16 surrogates (U+D800-DFFF)
 *     and code points above U+10FFFF;
 *   - every byte that does not start a valid sequence (a Latin-1 byte, a
 *     stray continuation byte, each byte of an overlong or surrogate
 *     form, a sequence cut short by the end of the string) becomes one
 *     \ufffd, the replacement character; the bytes after it are looked
 *     at afresh;
 *   - '/' and U+2028 / U+2029 are not escaped: the text is JSON, not
 *     something to paste into a <script>.
 *
 * Rows of an SQLite statement (json_fields(), json_row(), json_rows())
 * become objects whose keys are the column names (the SQL aliases):
 *   - "a.b" puts b inside an object a, made of the consecutive columns
 *     that share the prefix "a."; the object is null when one of them is
 *     "a.id" and that column is NULL (a LEFT JOIN that found nothing);
 *   - a leading '?' makes an integer column a boolean (0 false, else true);
 *   - a leading '_' marks a column the code reads but does not show;
 *   - the column's SQLite type decides the JSON type: INTEGER a number,
 *     FLOAT a number with 17 significant digits (null if not finite),
 *     TEXT a string (escaped as above), NULL and BLOB null.
 */

/*
 * Append n bytes of JSON text as they are.  The common case (room left in
 * the buffer) is inline, without a call into strbuf: a reply is made of
 * thousands of small pieces, so this matters.
 */
static inline void json_add(struct strbuf *sb, const void *data, size_t n)
{
	if (sb->buf && sb->len + n < sb->alloc) {
		memcpy(sb->buf + sb->len, data, n);
		sb->len += n;
		sb->buf[sb->len] = '\0';
		return;
	}
	strbuf_add(sb, data, n);
}

/* One character of JSON text ('{', '}', '[', ']', ':', ','), as it is. */
static inline void json_ch(struct strbuf *sb, char c)
{
	json_add(sb, &c, 1);
}

/* A string literal of JSON text, as it is: json_lit(sb, "null"). */
#define json_lit(sb, s) json_add((sb), (s), sizeof(s) - 1)

/* A JSON string of the n bytes at s (which may hold NULs). */
void json_strn(struct strbuf *sb, const char *s, size_t n);

/* A JSON string of s, or null when s is NULL. */
void json_str(struct strbuf *sb, const char *s);

/* A JSON number. */
void json_int(struct strbuf *sb, long long v);

/* A comma, unless this is the first member or element (see above). */
void json_sep(struct strbuf *sb);

/* The separator, then "key": (the key is a string as above). */
void json_key(struct strbuf *sb, const char *key);
void json_keyn(struct strbuf *sb, const char *key, size_t n);

/*
 * The value of column i of the current row of st (see above); boolean
 * makes an integer true or false.
 */
void json_col(struct strbuf *sb, sqlite3_stmt *st, int i, int boolean);

/*
 * The members of the current row of st, without the braces, so that the
 * caller can add members of its own before closing the object.
 */
void json_fields(struct strbuf *sb, sqlite3_stmt *st);

/* The current row of st as an object. */
void json_row(struct strbuf *sb, sqlite3_stmt *st);

/*
 * Every row of st (a statement of db) as an array of objects.  st is
 * stepped here with db_step() and handed back with db_done(), also on
 * failure; st may be NULL (the failed db_stmt() of the caller), which
 * writes nothing.  0, or -1 when st was NULL or a step failed (logged by
 * db_step(); the text written so far stays in sb, and must not be sent).
 */
int json_rows(struct strbuf *sb, struct db *db, sqlite3_stmt *st);

/*
 * A newline-separated list as an array of strings (empty lines are
 * skipped); NULL gives null.
 */
void json_lines(struct strbuf *sb, const char *text);

#endif
