/*
 * ktap: per-test results from a console or test log (see ktap.h).
 *
 * One pass over the lines.  A stack of "levels" follows the nesting: each
 * level is one (K)TAP document, known by the normalised prefix of its lines
 * (its "key": one '#' per "# " marker and one ' ' per column of
 * indentation, so "# # ok 1 x" has the key "##" and "    ok 1 x" the key
 * "    ").  Results go into the report as soon as they are seen, named
 * relative to their level; when a level ends (at its parent's result line,
 * at a shallower line or at the end of the input) the names of its results
 * get the level's name in front.  Duplicate names are resolved in a last
 * pass, once every name is final.
 *
 * Lines that are neither TAP nor comments (kernel messages, "KCI:" lines,
 * binary junk) never change the structure: a console interleaves them
 * anywhere.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ktap.h"
#include "strbuf.h"
#include "text.h"
#include "wrapper.h"
#include "banned.h"

/* Comment lines kept per level for a failing test's detail. */
#define DIAG_LINES 8
#define DIAG_LINE_MAX 256

/*
 * TAP directives and what they make of "ok" / "not ok".  "what" starts the
 * detail; NULL means the directive's own text is the whole detail (a SKIP
 * reason).
 */
static const struct directive {
	const char *word;
	enum test_status if_ok, if_not_ok;
	const char *what;
} directives[] = {
	{ "SKIP", TEST_SKIP, TEST_SKIP, NULL },
	{ "TODO", TEST_PASS, TEST_PASS, "expected failure (TODO)" },
	{ "XFAIL", TEST_PASS, TEST_PASS, "expected failure" },
	{ "XPASS", TEST_FAIL, TEST_FAIL, "unexpected pass" },
	{ "TIMEOUT", TEST_ERROR, TEST_ERROR, "timeout" },
	{ "ERROR", TEST_ERROR, TEST_ERROR, "error" },
};

/* "# Totals: pass:P fail:F xfail:X xpass:Y skip:S error:E" */
static const struct {
	const char *key;
	enum test_status status;
} totals_keys[] = {
	{ "pass", TEST_PASS },
	{ "xfail", TEST_PASS },
	{ "fail", TEST_FAIL },
	{ "xpass", TEST_FAIL },
	{ "skip", TEST_SKIP },
	{ "error", TEST_ERROR },
};

static const char no_result[] = "no result: crashed or hung?";

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void trim(const char **s, size_t *len)
{
	while (*len && is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_space((*s)[*len - 1]))
		(*len)--;
}

/* A fresh, cleaned, trimmed copy of s[0..len), shorter than max bytes. */
static char *clean_dup(const char *s, size_t len, size_t max)
{
	char buf[KTAP_MAX_DETAIL];
	const char *p = buf;
	size_t n;

	if (max > sizeof(buf))
		max = sizeof(buf);
	n = text_clean(buf, max, s, len);
	trim(&p, &n);
	return xstrndup(p, n);
}

static int has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(s, prefix, n);
}

/* Cut a valid UTF-8 string to fewer than max bytes, on a character edge. */
static void cut_utf8(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n < max)
		return;
	n = max - 1;
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
}

/*
 * "selftests: mm: hmm-tests" (kselftest runner) -> "hmm-tests",
 * "./hmm-tests" (run_vmtests.sh) -> "hmm-tests", in place.
 */
static void normalize_name(char *name)
{
	const char *p = name;
	size_t n;

	if (!strncmp(p, "selftests: ", 11)) {
		const char *sep = strstr(p + 11, ": ");

		if (sep && sep[2])
			p = sep + 2;
	}
	if (p[0] == '.' && p[1] == '/' && p[2])
		p += 2;
	if (p != name) {
		n = strlen(p);
		memmove(name, p, n + 1);
	}
}

/* ---- bounded detail builder ----------------------------------------- */

struct detail {
	char buf[KTAP_MAX_DETAIL];
	size_t len;
};

static void detail_add(struct detail *d, const char *sep, const char *s, size_t len)
{
	trim(&s, &len);
	if (!len)
		return;
	if (d->len && sep) {
		size_t n = strlen(sep);

		if (d->len + n >= sizeof(d->buf))
			return;
		memcpy(d->buf + d->len, sep, n);
		d->len += n;
	}
	d->len += text_clean(d->buf + d->len, sizeof(d->buf) - d->len, s, len);
}

static void detail_init(struct detail *d)
{
	d->len = 0;
	d->buf[0] = '\0';
}

static void detail_adds(struct detail *d, const char *sep, const char *s)
{
	detail_add(d, sep, s, strlen(s));
}

static char *detail_dup(const struct detail *d)
{
	return d->len ? xstrndup(d->buf, d->len) : NULL;
}

/* ---- parser state ------------------------------------------------------ */

struct level {
	char *key;
	char *name;		/* from a "Subtest:" header, may be NULL */
	size_t start;		/* its first result in out->results */
	size_t dropped_start;
	unsigned seen : 1;	/* a plan or a result was seen here */
	unsigned bailed : 1;
	char *bail_reason;

	/* kselftest_harness: the test between "RUN" and its result */
	char *run_name;		/* NULL: none running */
	unsigned run_line;
	enum { RUN_NONE, RUN_OK, RUN_FAIL } run_state;
	unsigned run_skip : 1;

	/*
	 * kselftest "# [RUN] what" (ksft_print_msg()): names the next result
	 * at this level, whose own text (ksft_test_result()'s message, which
	 * may change with the outcome) becomes its detail.  NULL: none.
	 */
	char *label;

	/* The last comment lines since the previous result (or RUN). */
	char diag[DIAG_LINES][DIAG_LINE_MAX];
	unsigned diag_nr, diag_head;
};

struct parser {
	struct ktap_report *out;
	struct level *levels;	/* [KTAP_MAX_DEPTH + 1] */
	int depth;		/* index of the innermost level */
	unsigned lineno;
	/* A "Subtest:" header waiting for the subtest it names. */
	char *hdr_name;
	char *hdr_key;
};

struct tap_result {
	int ok;
	const char *num;
	size_t num_len;
	const char *name;
	size_t name_len;
	const char *dir;	/* after the '#', NULL if none */
	size_t dir_len;
};

static void diag_reset(struct level *l)
{
	l->diag_nr = 0;
	l->diag_head = 0;
}

static void diag_add(struct level *l, const char *s, size_t len)
{
	char *slot;
	size_t n;

	trim(&s, &len);
	if (!len)
		return;
	slot = l->diag[(l->diag_head + l->diag_nr) % DIAG_LINES];
	n = text_clean(slot, DIAG_LINE_MAX, s, len);
	if (!n)
		return;
	if (l->diag_nr < DIAG_LINES)
		l->diag_nr++;
	else
		l->diag_head = (l->diag_head + 1) % DIAG_LINES;
}

static void diag_to_detail(const struct level *l, struct detail *d)
{
	unsigned i;

	for (i = 0; i < l->diag_nr; i++) {
		const char *s = l->diag[(l->diag_head + i) % DIAG_LINES];

		detail_add(d, "; ", s, strlen(s));
	}
}

static void clear_header(struct parser *p)
{
	free(p->hdr_name);
	free(p->hdr_key);
	p->hdr_name = NULL;
	p->hdr_key = NULL;
}

static void add_result(struct parser *p, char *name, enum test_status status,
		       char *detail, unsigned line)
{
	struct ktap_report *out = p->out;
	struct test_result *r;

	if (out->nr >= KTAP_MAX_RESULTS) {
		out->dropped++;
		free(name);
		free(detail);
		return;
	}
	ALLOC_GROW(out->results, out->nr + 1, out->alloc);
	r = &out->results[out->nr++];
	r->name = name;
	r->status = status;
	r->detail = detail;
	r->line = line;
}

static void level_init(struct parser *p, struct level *l, const char *key, size_t keylen)
{
	memset(l, 0, sizeof(*l));
	l->key = xstrndup(key, keylen);
	l->start = p->out->nr;
	l->dropped_start = p->out->dropped;
}

static void level_release(struct level *l)
{
	free(l->key);
	free(l->name);
	free(l->bail_reason);
	free(l->run_name);
	free(l->label);
	l->key = l->name = l->bail_reason = l->run_name = l->label = NULL;
}

/*
 * The harness test that started with "RUN" got no TAP line: report it from
 * what the harness said, or as an error if it said nothing ("hint" tells
 * why, e.g. the runner's timeout).
 */
static void flush_run(struct parser *p, struct level *l, const char *hint)
{
	struct detail d;
	enum test_status st;

	if (!l->run_name)
		return;
	detail_init(&d);
	switch (l->run_state) {
	case RUN_OK:
		st = l->run_skip ? TEST_SKIP : TEST_PASS;
		if (l->run_skip)
			diag_to_detail(l, &d);
		break;
	case RUN_FAIL:
		st = TEST_FAIL;
		diag_to_detail(l, &d);
		break;
	default:
		st = TEST_ERROR;
		detail_adds(&d, NULL, no_result);
		if (hint)
			detail_adds(&d, "; ", hint);
		diag_to_detail(l, &d);
		break;
	}
	add_result(p, l->run_name, st, detail_dup(&d), l->run_line);
	l->run_name = NULL;
	l->run_state = RUN_NONE;
	l->run_skip = 0;
}

/*
 * Status and detail of a TAP result line.  message (may be NULL) starts
 * the detail; extra goes after a failure.
 */
static enum test_status result_status(const struct tap_result *r, const char *message,
				      const char *extra, char **detail)
{
	const struct directive *dir = NULL;
	const char *text = r->dir;
	size_t text_len = r->dir_len, i, w = 0;
	struct detail d;
	enum test_status st;

	detail_init(&d);
	if (message)
		detail_adds(&d, NULL, message);
	if (text) {
		trim(&text, &text_len);
		while (w < text_len && ((text[w] >= 'a' && text[w] <= 'z') ||
					(text[w] >= 'A' && text[w] <= 'Z')))
			w++;
		for (i = 0; w && i < sizeof(directives) / sizeof(*directives); i++) {
			if (strlen(directives[i].word) == w &&
			    !strncasecmp(directives[i].word, text, w)) {
				dir = &directives[i];
				text += w;
				text_len -= w;
				break;
			}
		}
	}
	if (dir) {
		st = r->ok ? dir->if_ok : dir->if_not_ok;
		if (dir->what)
			detail_adds(&d, "; ", dir->what);
		if (text)
			detail_add(&d, dir->what ? ": " : "; ", text, text_len);
	} else {
		st = r->ok ? TEST_PASS : TEST_FAIL;
		if (text)
			detail_add(&d, "; ", text, text_len);
	}
	if ((st == TEST_FAIL || st == TEST_ERROR) && extra)
		detail_adds(&d, "; ", extra);
	*detail = detail_dup(&d);
	return st;
}

static char *join_name(const char *parent, const char *child)
{
	size_t a = strlen(parent), b = strlen(child);
	char *s = xmalloc(a + b + 2);

	memcpy(s, parent, a);
	s[a] = '/';
	memcpy(s + a + 1, child, b + 1);
	cut_utf8(s, KTAP_MAX_NAME);
	return s;
}

/* The cleaned name of a result line; "test N" if it has none. */
static char *result_name(const struct tap_result *r)
{
	char *name = clean_dup(r->name, r->name_len, KTAP_MAX_NAME);

	normalize_name(name);
	if (!*name) {
		free(name);
		name = xmalloc(32);
		snprintf(name, 32, "test %.*s",
			 (int)(r->num_len > 20 ? 20 : r->num_len), r->num);
	}
	return name;
}

/*
 * Close the innermost level.  res is the parent's result line for it, or
 * NULL when the level ended without one (a shallower line, end of input).
 */
static void pop_level(struct parser *p, const struct tap_result *res)
{
	struct ktap_report *out = p->out;
	struct level *l = &p->levels[p->depth];
	int had_children, child_failed = 0;
	char *name = NULL, *detail = NULL, *hint = NULL;
	enum test_status st = TEST_PASS;
	struct detail d;
	size_t i;

	if (res) {
		st = result_status(res, NULL, NULL, &detail);
		if (st == TEST_ERROR)
			hint = detail;
	}
	flush_run(p, l, hint);

	if (l->name && *l->name)
		name = xstrdup(l->name);
	else if (res)
		name = result_name(res);

	for (i = l->start; i < out->nr; i++) {
		struct test_result *r = &out->results[i];

		if (name) {
			char *joined = join_name(name, r->name);

			free(r->name);
			r->name = joined;
		}
		if (r->status == TEST_FAIL || r->status == TEST_ERROR)
			child_failed = 1;
	}
	had_children = out->nr > l->start || out->dropped > l->dropped_start;

	if (p->hdr_key && !strcmp(p->hdr_key, l->key))
		clear_header(p);

	detail_init(&d);
	if (l->bailed) {
		detail_adds(&d, NULL, "bailed out");
		if (l->bail_reason)
			detail_adds(&d, ": ", l->bail_reason);
	}

	if (res && !had_children) {
		/* A leaf after all: the result line is the result. */
		if (l->bailed && st != TEST_SKIP) {
			if (detail)
				detail_adds(&d, "; ", detail);
			free(detail);
			detail = detail_dup(&d);
			if (st == TEST_PASS)
				st = TEST_ERROR;
		}
		add_result(p, name, st, detail, p->lineno);
		name = detail = NULL;
	} else if (!child_failed && name &&
		   (l->bailed || !res || st == TEST_FAIL || st == TEST_ERROR)) {
		/* Never lose a timeout or a crash behind passing children. */
		if (!l->bailed && !res)
			detail_adds(&d, NULL, no_result);
		else if (!l->bailed && detail)
			detail_adds(&d, NULL, detail);
		else if (!l->bailed)
			detail_adds(&d, NULL, "failed, but none of its subtests did");
		add_result(p, name, TEST_ERROR, detail_dup(&d), p->lineno);
		name = NULL;
	}
	free(name);
	free(detail);
	level_release(l);
	p->depth--;
}

static int find_level(const struct parser *p, const char *key)
{
	int i;

	for (i = p->depth; i >= 0; i--)
		if (!strcmp(p->levels[i].key, key))
			return i;
	return -1;
}

/*
 * Make the level for a line with this key the innermost one: close deeper
 * levels (the one just below gets res as its result line, when the line is
 * a result at an existing level), or open a new one.  Sets *consumed when
 * res was used up as a closed level's result.  Returns the level index.
 */
static int enter_level(struct parser *p, const char *key, size_t keylen,
		       const struct tap_result *res, int *consumed)
{
	int i = find_level(p, key), exact = i >= 0;
	struct level *l;

	if (consumed)
		*consumed = 0;
	if (!exact) {
		for (i = p->depth; i > 0; i--) {
			const char *k = p->levels[i].key;

			if (!strncmp(k, key, strlen(k)))
				break;
		}
	}
	while (p->depth > i) {
		int last = p->depth == i + 1 && exact && res;

		pop_level(p, last ? res : NULL);
		if (last && consumed)
			*consumed = 1;
	}
	if (exact || p->depth >= KTAP_MAX_DEPTH)
		return p->depth;	/* too deep: flatten into the innermost */

	l = &p->levels[++p->depth];
	level_init(p, l, key, keylen);
	if (p->hdr_name && (!strcmp(p->hdr_key, key) ||
			    !strcmp(p->hdr_key, p->levels[p->depth - 1].key))) {
		l->name = p->hdr_name;
		p->hdr_name = NULL;
		clear_header(p);
	}
	return p->depth;
}

/* ---- line handlers ------------------------------------------------------ */

static int parse_result(struct tap_result *r, const char *s, size_t n)
{
	size_t i, start, j;

	memset(r, 0, sizeof(*r));
	if (has_prefix(s, n, "ok")) {
		r->ok = 1;
		i = 2;
	} else if (has_prefix(s, n, "not ok")) {
		i = 6;
	} else {
		return -1;
	}
	if (i >= n || !is_space(s[i]))
		return -1;
	while (i < n && is_space(s[i]))
		i++;
	start = i;
	while (i < n && is_digit(s[i]))
		i++;
	/* A number is required: "# ok to go" is a comment, not a result. */
	if (i == start || (i < n && !is_space(s[i])))
		return -1;
	r->num = s + start;
	r->num_len = i - start;
	while (i < n && is_space(s[i]))
		i++;
	if (i < n && s[i] == '-' && (i + 1 == n || is_space(s[i + 1])))
		i++;
	for (j = i; j < n; j++)
		if (s[j] == '#' && (j == i || is_space(s[j - 1])))
			break;
	r->name = s + i;
	r->name_len = j - i;
	trim(&r->name, &r->name_len);
	if (j < n) {
		r->dir = s + j + 1;
		r->dir_len = n - j - 1;
	}
	return 0;
}

static void handle_result(struct parser *p, const char *key, size_t keylen,
			  const struct tap_result *r)
{
	struct level *l;
	struct detail d;
	char *name, *detail, *label, *message = NULL;
	enum test_status st;
	int consumed, from_run = 0;

	detail_init(&d);
	l = &p->levels[enter_level(p, key, keylen, r, &consumed)];
	l->seen = 1;
	/* A "[RUN]" line is used up by the first result after it. */
	label = l->label;
	l->label = NULL;
	if (consumed) {
		free(label);
		diag_reset(l);
		return;
	}

	name = result_name(r);
	if (l->run_name) {
		/* kselftest_harness prints "ok N # SKIP reason" without a name */
		if (!r->name_len || !strcmp(name, l->run_name)) {
			free(name);
			name = l->run_name;
			l->run_name = NULL;
			l->run_state = RUN_NONE;
			l->run_skip = 0;
			from_run = 1;
		} else {
			flush_run(p, l, NULL);
		}
	}
	if (label && !from_run) {
		/*
		 * ksft_test_result() prints a message that may change with the
		 * outcome ("Should have worked", "PIN_LONGTERM_TEST_START
		 * failed"): the test is what its "[RUN]" line says.
		 */
		if (r->name_len)
			message = clean_dup(r->name, r->name_len, KTAP_MAX_DETAIL);
		free(name);
		name = label;
		label = NULL;
		from_run = 1;
	}
	free(label);
	if (p->hdr_name && !strcmp(p->hdr_key, l->key)) {
		/* "# selftests: mm: foo" named this test. */
		if (!from_run) {
			free(name);
			name = p->hdr_name;
			p->hdr_name = NULL;
		}
		clear_header(p);
	}
	diag_to_detail(l, &d);
	st = result_status(r, message, d.len ? d.buf : NULL, &detail);
	free(message);
	add_result(p, name, st, detail, p->lineno);
	diag_reset(l);
}

static void handle_bail(struct parser *p, const char *key, size_t keylen,
			const char *reason, size_t len)
{
	struct level *l = &p->levels[enter_level(p, key, keylen, NULL, NULL)];
	char *r = clean_dup(reason, len, KTAP_MAX_DETAIL);

	p->out->bailed_out = 1;
	if (!p->out->bail_reason && *r)
		p->out->bail_reason = xstrdup(r);
	l->bailed = 1;
	if (!l->bail_reason && *r)
		l->bail_reason = r;
	else
		free(r);
}

static void handle_totals(struct parser *p, const char *s, size_t n)
{
	struct ktap_report *out = p->out;
	size_t i = 0, k, t;

	while (i < n) {
		size_t w = i;
		unsigned long v = 0;

		while (w < n && s[w] >= 'a' && s[w] <= 'z')
			w++;
		if (w == i || w >= n || s[w] != ':') {
			i = w + 1;
			continue;
		}
		for (k = w + 1; k < n && is_digit(s[k]); k++)
			if (v < UINT_MAX)
				v = v * 10 + (unsigned)(s[k] - '0');
		if (v > UINT_MAX)
			v = UINT_MAX;
		for (t = 0; t < sizeof(totals_keys) / sizeof(*totals_keys); t++) {
			const char *key = totals_keys[t].key;

			if (strlen(key) == w - i && !memcmp(key, s + i, w - i)) {
				unsigned *sum = &out->totals[totals_keys[t].status];

				*sum = UINT_MAX - *sum < v ? UINT_MAX : *sum + (unsigned)v;
			}
		}
		i = k;
	}
	out->totals_seen++;
}

/*
 * A subtest header at the level with key ckey.  At a level that has not
 * started yet (KTAP: "KTAP version 1" then "# Subtest: x"), it names that
 * level; otherwise it names the next subtest (TAP 14, the kselftest
 * runner's "# selftests: mm: x", our init's "# Subtest: x").
 */
static void handle_header(struct parser *p, const char *ckey,
			  const char *name, size_t len)
{
	int i = find_level(p, ckey);
	char *n = clean_dup(name, len, KTAP_MAX_NAME);

	if (!*n) {
		free(n);
		return;
	}
	if (i >= 0) {
		/* what came before is not its story */
		diag_reset(&p->levels[i]);
		free(p->levels[i].label);
		p->levels[i].label = NULL;
	}
	if (i > 0 && !p->levels[i].seen && !p->levels[i].name &&
	    !p->levels[i].run_name) {
		p->levels[i].name = n;
		return;
	}
	clear_header(p);
	p->hdr_name = n;
	p->hdr_key = xstrdup(ckey);
}

/*
 * A kselftest_harness line "WORD  argument" ("RUN  name ...", "OK  name",
 * "SKIP  reason"): 1 with the trimmed argument, 0 if it is not one.
 */
static int harness_word(const char *s, size_t n, const char *word,
			const char **arg, size_t *arg_len)
{
	size_t w = strlen(word);

	if (n <= w || memcmp(s, word, w) || !is_space(s[w]))
		return 0;
	*arg = s + w;
	*arg_len = n - w;
	trim(arg, arg_len);
	return *arg_len > 0;
}

static void handle_comment(struct parser *p, const char *ckey, size_t ckeylen,
			   const char *s, size_t n)
{
	const char *arg;
	size_t arg_len;
	struct level *l;
	int i;

	if (!n)
		return;
	if (n > 5 && has_prefix(s, n, "[RUN]") && is_space(s[5])) {
		/* kselftest.h programs: "# [RUN] what", then "ok N message" */
		arg = s + 5;
		arg_len = n - 5;
		trim(&arg, &arg_len);
		l = &p->levels[enter_level(p, ckey, ckeylen, NULL, NULL)];
		free(l->label);
		l->label = clean_dup(arg, arg_len, KTAP_MAX_NAME);
		if (!*l->label) {
			free(l->label);
			l->label = NULL;
		}
		diag_reset(l);
		return;
	}
	if (harness_word(s, n, "RUN", &arg, &arg_len)) {
		if (arg_len >= 3 && !memcmp(arg + arg_len - 3, "...", 3))
			arg_len -= 3;
		trim(&arg, &arg_len);
		if (!arg_len)
			return;
		l = &p->levels[enter_level(p, ckey, ckeylen, NULL, NULL)];
		flush_run(p, l, NULL);
		l->run_name = clean_dup(arg, arg_len, KTAP_MAX_NAME);
		l->run_line = p->lineno;
		l->run_state = RUN_NONE;
		l->run_skip = 0;
		diag_reset(l);
		return;
	}
	if (has_prefix(s, n, "Totals:")) {
		handle_totals(p, s + 7, n - 7);
		return;
	}
	if (has_prefix(s, n, "Subtest:")) {
		handle_header(p, ckey, s + 8, n - 8);
		return;
	}
	if (has_prefix(s, n, "selftests: ")) {
		const char *sep = memchr(s + 11, ':', n - 11);

		if (sep && sep + 1 < s + n && sep[1] == ' ' && !memchr(s + 11, ' ', sep - s - 11)) {
			handle_header(p, ckey, sep + 2, s + n - sep - 2);
			return;
		}
	}

	i = find_level(p, ckey);
	if (i < 0)
		return;
	l = &p->levels[i];
	if (l->run_name) {
		int ok = harness_word(s, n, "OK", &arg, &arg_len);
		int fail = !ok && harness_word(s, n, "FAIL", &arg, &arg_len);

		if (ok || fail) {
			char *nm = clean_dup(arg, arg_len, KTAP_MAX_NAME);
			int match = !strcmp(nm, l->run_name);

			free(nm);
			if (match) {
				l->run_state = ok ? RUN_OK : RUN_FAIL;
				return;
			}
		}
		if (harness_word(s, n, "SKIP", &arg, &arg_len)) {
			/* keep the reason alone, for a SKIP without TAP line */
			l->run_skip = 1;
			diag_reset(l);
			diag_add(l, arg, arg_len);
			return;
		}
	}
	diag_add(l, s, n);
}

static void parse_line(struct parser *p, char *s, size_t n, char *key)
{
	struct tap_result r;
	size_t i, k = 0, ts;
	char *hash;

	while (n && (s[n - 1] == '\r' || is_space(s[n - 1])))
		n--;
	ts = text_timestamp_len(s, n);
	s += ts;
	n -= ts;

	/* The key: one '#' per "# " marker, one ' ' per blank. */
	for (i = 0; i < n; i++) {
		if (s[i] == '#') {
			key[k++] = '#';
			if (i + 1 < n && s[i + 1] == ' ')
				i++;
		} else if (is_space(s[i])) {
			key[k++] = ' ';
		} else {
			break;
		}
	}
	key[k] = '\0';
	s += i;
	n -= i;

	if (!parse_result(&r, s, n)) {
		handle_result(p, key, k, &r);
	} else if (has_prefix(s, n, "TAP version ") || has_prefix(s, n, "KTAP version ")) {
		struct level *l = &p->levels[enter_level(p, key, k, NULL, NULL)];

		flush_run(p, l, NULL);
		diag_reset(l);
		free(l->label);
		l->label = NULL;
	} else if (has_prefix(s, n, "1..")) {
		size_t j = 3;

		while (j < n && is_digit(s[j]))
			j++;
		if (j > 3 && (j == n || is_space(s[j])))
			p->levels[enter_level(p, key, k, NULL, NULL)].seen = 1;
	} else if (has_prefix(s, n, "Bail out!")) {
		handle_bail(p, key, k, s + 9, n - 9);
	} else if ((hash = memrchr(key, '#', k)) != NULL) {
		*hash = '\0';
		handle_comment(p, key, hash - key, s, n);
	} else if (k && p->depth > 0 &&
		   !strncmp(key, p->levels[p->depth].key, strlen(p->levels[p->depth].key))) {
		/*
		 * An indented unknown line inside a subtest: KUnit prints the
		 * rest of a failed expectation that way ("    Expected x == 2,
		 * but").  Kernel messages are not indented (a call trace by one
		 * blank only), so they stay out.
		 */
		diag_add(&p->levels[p->depth], s, n);
	}
}

/* ---- duplicate names ------------------------------------------------ */

struct name_slot {
	const char *name;
	unsigned next;		/* next " #N" suffix to try */
};

static size_t name_hash(const char *s)
{
	size_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct name_slot *name_find(struct name_slot *t, size_t mask, const char *s)
{
	size_t i = name_hash(s) & mask;

	while (t[i].name && strcmp(t[i].name, s))
		i = (i + 1) & mask;
	return &t[i];
}

static void dedup(struct ktap_report *r, size_t first)
{
	struct name_slot *t;
	size_t size = 16, i;

	if (r->nr == first)
		return;
	while (size < 2 * r->nr + 2)
		size *= 2;
	t = xcalloc(size, sizeof(*t));
	for (i = 0; i < r->nr; i++) {
		struct test_result *res = &r->results[i];
		struct name_slot *slot = name_find(t, size - 1, res->name);
		struct name_slot *base;
		unsigned k;
		char *cand;

		if (!slot->name) {
			slot->name = res->name;
			slot->next = 2;
			continue;
		}
		if (i < first)
			continue;	/* an earlier call's business */
		base = slot;
		for (k = base->next;; k++) {
			char suffix[16];
			size_t sl, bl = strlen(res->name);

			sl = (size_t)snprintf(suffix, sizeof(suffix), " #%u", k);
			if (bl + sl >= KTAP_MAX_NAME) {
				bl = KTAP_MAX_NAME - 1 - sl;
				while (bl && ((unsigned char)res->name[bl] & 0xc0) == 0x80)
					bl--;
			}
			cand = xmalloc(bl + sl + 1);
			memcpy(cand, res->name, bl);
			memcpy(cand + bl, suffix, sl + 1);
			slot = name_find(t, size - 1, cand);
			if (!slot->name)
				break;
			free(cand);
		}
		base->next = k + 1;
		free(res->name);
		res->name = cand;
		slot->name = cand;
		slot->next = 2;
	}
	free(t);
}

/* ---- entry points ------------------------------------------------------- */

struct ktap_stream {
	struct parser p;
	size_t first;		/* out->nr when the stream began */
	struct text_lines lines;	/* at most KTAP_MAX_LINE bytes a line */
	char *key;
};

struct ktap_stream *ktap_stream_new(struct ktap_report *out)
{
	struct ktap_stream *st = xcalloc(1, sizeof(*st));

	st->p.out = out;
	st->p.levels = xcalloc(KTAP_MAX_DEPTH + 1, sizeof(*st->p.levels));
	level_init(&st->p, &st->p.levels[0], "", 0);
	st->first = out->nr;
	st->lines.buf = xmalloc(KTAP_MAX_LINE + 1);
	st->lines.cap = KTAP_MAX_LINE;
	st->key = xmalloc(KTAP_MAX_LINE + 1);
	return st;
}

/* A line is complete: parse it. */
static void stream_line(void *arg, char *line, size_t len)
{
	struct ktap_stream *st = arg;
	size_t i;

	/* A NUL would end the line early: make it ordinary junk. */
	for (i = 0; i < len; i++)
		if (!line[i])
			line[i] = '\x7f';
	line[len] = '\0';
	st->p.lineno++;
	parse_line(&st->p, line, len, st->key);
}

void ktap_stream_feed(struct ktap_stream *st, const char *buf, size_t len)
{
	text_lines_feed(&st->lines, buf, len, stream_line, st);
}

int ktap_stream_end(struct ktap_stream *st)
{
	struct parser *p = &st->p;
	struct ktap_report *out = p->out;
	size_t first = st->first;

	text_lines_end(&st->lines, stream_line, st);
	while (p->depth > 0)
		pop_level(p, NULL);
	flush_run(p, &p->levels[0], NULL);
	level_release(&p->levels[0]);
	clear_header(p);
	free(p->levels);
	free(st->lines.buf);
	free(st->key);
	free(st);

	dedup(out, first);
	return (int)(out->nr - first);
}

int ktap_parse(struct ktap_report *out, const char *buf, size_t len)
{
	struct ktap_stream *st = ktap_stream_new(out);

	ktap_stream_feed(st, buf, len);
	return ktap_stream_end(st);
}

size_t ktap_suite_len(const char *name)
{
	return strcspn(name, "/\n");
}

/* Does name belong to the suite suite[0..len)? */
static int in_suite(const char *name, const char *suite, size_t len)
{
	return ktap_suite_len(name) == len && !memcmp(name, suite, len);
}

/* Does the list (lines) name a test of the suite suite[0..len)? */
static int list_names_suite(const char *list, const char *suite, size_t len)
{
	const char *p = list;

	while (*p) {
		if (in_suite(p, suite, len))
			return 1;
		p += strcspn(p, "\n");
		if (*p)
			p++;
	}
	return 0;
}

size_t ktap_expect_suites(struct ktap_report *r, char *const *expect, size_t nr,
			  const char *subset)
{
	size_t i, j, added = 0, before = r->nr;

	for (i = 0; i < nr; i++) {
		const char *suite = expect[i];
		size_t len = strlen(suite);
		struct strbuf detail = STRBUF_INIT;
		struct test_result *t;

		if (subset && !list_names_suite(subset, suite, len))
			continue;
		for (j = 0; j < before; j++)
			if (in_suite(r->results[j].name, suite, len))
				break;
		if (j < before)
			continue;
		strbuf_adds(&detail, "expected suite reported no results");
		if (r->dropped)
			strbuf_addf(&detail, " (%zu results past the limit of %d were"
				    " not kept)", r->dropped, KTAP_MAX_RESULTS);
		ALLOC_GROW(r->results, r->nr + 1, r->alloc);
		t = &r->results[r->nr++];
		memset(t, 0, sizeof(*t));
		t->name = xstrdup(suite);
		t->status = TEST_ERROR;
		t->detail = strbuf_detach(&detail);
		added++;
	}
	return added;
}

void ktap_count(const struct ktap_report *r, unsigned counts[TEST_STATUS_COUNT])
{
	size_t i;

	memset(counts, 0, TEST_STATUS_COUNT * sizeof(*counts));
	for (i = 0; i < r->nr; i++)
		if ((unsigned)r->results[i].status < TEST_STATUS_COUNT)
			counts[r->results[i].status]++;
}

void ktap_report_release(struct ktap_report *r)
{
	size_t i;

	for (i = 0; i < r->nr; i++) {
		free(r->results[i].name);
		free(r->results[i].detail);
	}
	free(r->results);
	free(r->bail_reason);
	r->results = NULL;
	r->nr = r->alloc = 0;
	r->dropped = 0;
	r->bailed_out = 0;
	r->bail_reason = NULL;
	memset(r->totals, 0, sizeof(r->totals));
	r->totals_seen = 0;
}
