/*
 * notify_mail: the report mails of kstage (see notify_mail.h): a
 * regression's first bad commit, or an inconclusive bisection, with the
 * failing tests, the bisection log and a console excerpt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "log.h"
#include "notify_mail.h"
#include "text.h"
#include "wrapper.h"
#include "banned.h"

#define SUBJECT_MAX 300		/* bytes of a subject's text */
#define TESTS_MAX 50		/* failing tests listed */
#define DETAIL_MAX 2000		/* bytes of one test's detail */
#define LOG_MAX 200		/* bisection commits listed */
#define CONSOLE_FILE_MAX ((size_t)8 << 20)
#define CONSOLE_BEFORE 15	/* console lines before the first failure */
#define CONSOLE_AFTER 5
#define CONSOLE_LINE_MAX 160	/* bytes of one console line */
#define WORD_RAW 45		/* bytes per encoded word: 60 base64 + 12 */

void mail_header_text(struct strbuf *out, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, start = out->len;
	int space = 0;

	while (i < len && out->len - start < max) {
		size_t n = text_utf8_len(p + i, len - i);

		if (p[i] < 0x20 || p[i] == 0x7f) {
			space = 1;	/* CR, LF, TAB, any control: one space */
			i++;
			continue;
		}
		if (space && out->len > start)
			strbuf_addch(out, ' ');
		space = 0;
		if (!n) {
			strbuf_addch(out, '?');
			i++;
			continue;
		}
		if (out->len - start + n > max)
			break;
		strbuf_add(out, p + i, n);
		i += n;
	}
}

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

static void base64(struct strbuf *out, const unsigned char *s, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		strbuf_addch(out, tab[s[i] >> 2]);
		strbuf_addch(out, tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)]);
		strbuf_addch(out, tab[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)]);
		strbuf_addch(out, tab[s[i + 2] & 63]);
	}
	if (n - i == 1) {
		strbuf_addch(out, tab[s[i] >> 2]);
		strbuf_addch(out, tab[(s[i] & 3) << 4]);
		strbuf_adds(out, "==");
	} else if (n - i == 2) {
		strbuf_addch(out, tab[s[i] >> 2]);
		strbuf_addch(out, tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)]);
		strbuf_addch(out, tab[(s[i + 1] & 15) << 2]);
		strbuf_addch(out, '=');
	}
}

void mail_header_word(struct strbuf *out, const char *s)
{
	struct strbuf clean = STRBUF_INIT;
	const unsigned char *p;
	size_t i = 0;

	mail_header_text(&clean, s, SUBJECT_MAX);
	if (is_ascii(strbuf_str(&clean))) {
		strbuf_adds(out, strbuf_str(&clean));
		strbuf_release(&clean);
		return;
	}
	/* Whole characters per word; words folded onto lines of their own. */
	p = (const unsigned char *)clean.buf;
	while (i < clean.len) {
		size_t n = 0, c;

		while (i + n < clean.len) {
			c = text_utf8_len(p + i + n, clean.len - i - n);
			if (!c)
				c = 1;
			if (n + c > WORD_RAW)
				break;
			n += c;
		}
		if (i)
			strbuf_adds(out, "\r\n ");
		strbuf_adds(out, "=?UTF-8?B?");
		base64(out, p + i, n);
		strbuf_adds(out, "?=");
		i += n;
	}
	strbuf_release(&clean);
}

/* An address part: printable ASCII, no space, no <>",; and one @. */
static int valid_addr(const char *a, size_t n)
{
	size_t i, at = 0;

	if (!n || n > 254)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c <= ' ' || c >= 0x7f || strchr("<>\",;()[]\\", c))
			return 0;
		if (c == '@')
			at++;
	}
	return at == 1 && a[0] != '@' && a[n - 1] != '@';
}

int mail_address(struct strbuf *out, const char *name_addr, char **addr)
{
	const char *lt = strrchr(name_addr, '<'), *gt;
	struct strbuf name = STRBUF_INIT;

	if (!lt) {
		if (!valid_addr(name_addr, strlen(name_addr)))
			return -1;
		strbuf_adds(out, name_addr);
		if (addr)
			*addr = xstrdup(name_addr);
		return 0;
	}
	gt = strchr(lt, '>');
	if (!gt || gt[1] || !valid_addr(lt + 1, (size_t)(gt - lt - 1)))
		return -1;
	strbuf_add(&name, name_addr, (size_t)(lt - name_addr));
	while (name.len && name.buf[name.len - 1] == ' ')
		name.buf[--name.len] = '\0';
	if (name.len) {
		struct strbuf clean = STRBUF_INIT;

		mail_header_text(&clean, name.buf, 200);
		if (is_ascii(strbuf_str(&clean))) {
			/* A quoted string: no quote or backslash inside. */
			size_t i;

			strbuf_addch(out, '"');
			for (i = 0; i < clean.len; i++)
				if (clean.buf[i] != '"' && clean.buf[i] != '\\')
					strbuf_addch(out, clean.buf[i]);
			strbuf_addch(out, '"');
		} else {
			mail_header_word(out, clean.buf);
		}
		strbuf_addch(out, ' ');
		strbuf_release(&clean);
	}
	strbuf_add(out, lt, (size_t)(gt - lt + 1));
	if (addr) {
		struct strbuf a = STRBUF_INIT;

		strbuf_add(&a, lt + 1, (size_t)(gt - lt - 1));
		*addr = strbuf_detach(&a);
	}
	strbuf_release(&name);
	return 0;
}

int mail_msgid(struct strbuf *out, const char *id)
{
	size_t n = strlen(id), i;

	if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
		id++;
		n -= 2;
	}
	if (!n || n > 250)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] >= 0x7f ||
		    id[i] == '<' || id[i] == '>')
			return -1;
	strbuf_addch(out, '<');
	strbuf_add(out, id, n);
	strbuf_addch(out, '>');
	return 0;
}

/* One body line from outside: clean UTF-8, capped, CRLF. */
static void body_line(struct strbuf *out, const char *indent, const char *s,
		      size_t len, size_t max)
{
	char buf[1024];

	if (max > sizeof(buf) - 1)
		max = sizeof(buf) - 1;
	text_clean(buf, max + 1, s, len);
	strbuf_adds(out, indent);
	/* A line of just "." would end the DATA; libcurl escapes it too. */
	strbuf_adds(out, buf);
	strbuf_adds(out, "\r\n");
}

/* Every line of s (from outside) as body lines. */
static void body_text(struct strbuf *out, const char *indent, const char *s,
		      size_t max_total)
{
	size_t done = 0;

	while (*s && done < max_total) {
		size_t n = strcspn(s, "\n");

		body_line(out, indent, s, n, 200);
		done += n + 1;
		s += n;
		if (*s)
			s++;
	}
}

struct facts {
	long long bid, stage_id, run_id, culprit_run;
	int stage_idx;
	char *plan, *stage, *state, *good, *bad, *tests, *culprit, *culprit_stage,
		*subject, *author, *range_good, *range_bad, *detail;
};

static void facts_release(struct facts *f)
{
	free(f->plan);
	free(f->stage);
	free(f->state);
	free(f->good);
	free(f->bad);
	free(f->tests);
	free(f->culprit);
	free(f->culprit_stage);
	free(f->subject);
	free(f->author);
	free(f->range_good);
	free(f->range_bad);
	free(f->detail);
}

static int load_facts(struct db *db, const struct outbox_item *it, struct facts *f)
{
	sqlite3_stmt *st;
	int rc;

	rc = db_first(db, &st, "SELECT p.name, s.name, s.idx, b.state, b.good_commit,"
		      " b.bad_commit, b.tests, b.culprit, b.culprit_stage, c.subject,"
		      " c.author, b.range_good, b.range_bad, b.detail, coalesce(b.stage_id, 0)"
		      " FROM bisections b JOIN plans p ON p.id = b.plan_id"
		      " LEFT JOIN stages s ON s.id = b.stage_id"
		      " LEFT JOIN bisection_commits c ON c.bisection_id = b.id AND"
		      " c.commit_id = b.culprit AND c.seq >= 0"
		      " WHERE b.id = ? ORDER BY c.seq LIMIT 1", "l", it->bisection_id);
	if (rc != 1)
		return rc < 0 ? -1 : error("outbox %lld: bisection %lld not found",
					   it->id, it->bisection_id);
	f->bid = it->bisection_id;
	f->plan = db_col_dup(st, 0);
	f->stage = db_col_dup(st, 1);
	f->stage_idx = sqlite3_column_int(st, 2);
	f->state = db_col_dup(st, 3);
	f->good = db_col_dup(st, 4);
	f->bad = db_col_dup(st, 5);
	f->tests = db_col_dup(st, 6);
	f->culprit = db_col_dup(st, 7);
	f->culprit_stage = db_col_dup(st, 8);
	f->subject = db_col_dup(st, 9);
	f->author = db_col_dup(st, 10);
	f->range_good = db_col_dup(st, 11);
	f->range_bad = db_col_dup(st, 12);
	f->detail = db_col_dup(st, 13);
	f->stage_id = sqlite3_column_int64(st, 14);
	db_done(st);
	/* The run that shows the failure: a bad one at the culprit, else the head. */
	rc = db_get_int(db, &f->culprit_run, "SELECT coalesce(r.reused_from, r.id)"
			" FROM bisection_runs br JOIN runs r ON r.id = br.run_id"
			" WHERE br.bisection_id = ? AND r.commit_id = ? AND"
			" br.verdict = 'bad' ORDER BY br.run_id DESC LIMIT 1", "ls",
			f->bid, f->culprit ? f->culprit : f->bad);
	if (rc < 0)
		return -1;
	if (rc == 0 && db_get_int(db, &f->culprit_run, "SELECT coalesce(r.reused_from,"
				  " r.id) FROM runs r WHERE r.commit_id = ? AND"
				  " r.state = 'done' AND r.verdict = 'fail' ORDER BY"
				  " r.id DESC LIMIT 1", "s", f->bad) < 0)
		return -1;
	return 0;
}

/* "hmm-tests" from "hmm-tests/hmm.x.y" lines: the distinct suites, joined. */
static void suites(struct strbuf *out, const char *tests)
{
	const char *p = tests;
	size_t start = out->len;

	while (p && *p && out->len - start < 120) {
		size_t n = strcspn(p, "\n"), s = strcspn(p, "/\n");
		struct strbuf one = STRBUF_INIT;

		strbuf_add(&one, p, s < n ? s : n);
		if (!strstr(out->buf ? out->buf + start : "", one.buf)) {
			if (out->len > start)
				strbuf_adds(out, ", ");
			strbuf_adds(out, one.buf);
		}
		strbuf_release(&one);
		p += n;
		if (*p)
			p++;
	}
	if (out->len == start)
		strbuf_adds(out, "test");
}

static void subject_of(struct strbuf *out, const struct facts *f)
{
	struct strbuf s = STRBUF_INIT;

	strbuf_addf(&s, "[kstage] %s stage %d (%s): ", f->plan, f->stage_idx,
		    f->stage ? f->stage : "?");
	suites(&s, f->tests);
	if (!strcmp(f->state, "found"))
		strbuf_addf(&s, " regression, first bad commit %.8s \"%s\"",
			    f->culprit ? f->culprit : "?", f->subject ? f->subject : "");
	else if (!strcmp(f->state, "inconclusive"))
		strbuf_addf(&s, " regression, bisection inconclusive between %.8s"
			    " and %.8s", f->range_good ? f->range_good : f->good,
			    f->range_bad ? f->range_bad : f->bad);
	else
		strbuf_addf(&s, " regression, bisection %s", f->state);
	mail_header_word(out, s.buf);
	strbuf_release(&s);
}

static void failing_tests(struct db *db, struct strbuf *b, const struct facts *f,
			  long long *first_line)
{
	sqlite3_stmt *st;
	int n = 0;

	*first_line = 0;
	strbuf_addf(b, "Failing tests (run %lld):\r\n", f->culprit_run);
	st = db_stmt(db, "SELECT test, status, detail, coalesce(line, 0) FROM results"
		     " WHERE run_id = ? AND status IN ('fail', 'error') ORDER BY"
		     " line, test", "l", f->culprit_run);
	while (st && db_step(db, st) == 1) {
		const char *t = db_col_text(st, 0), *d = db_col_text(st, 2);

		if (n++ >= TESTS_MAX) {
			strbuf_adds(b, "  ...\r\n");
			break;
		}
		if (!*first_line)
			*first_line = sqlite3_column_int64(st, 3);
		body_line(b, "  ", t, strlen(t), 200);
		strbuf_addf(b, "    %s\r\n", db_col_text(st, 1));
		if (*d)
			body_text(b, "    ", d, DETAIL_MAX);
	}
	if (st)
		db_done(st);
	if (!n) {
		/* No run to show: the tests the bisection looked for. */
		body_text(b, "  ", f->tests ? f->tests : "", DETAIL_MAX);
	}
	strbuf_adds(b, "\r\n");
}

static void bisection_log(struct db *db, struct strbuf *b, const struct facts *f)
{
	sqlite3_stmt *st;
	int n = 0;

	strbuf_addf(b, "Bisection %lld log (good %.12s, bad %.12s):\r\n", f->bid,
		    f->good, f->bad);
	st = db_stmt(db, "SELECT commit_id, mark, subject, coalesce(stage, '')"
		     " FROM bisection_commits WHERE bisection_id = ? AND mark IN"
		     " ('good', 'bad', 'skip') ORDER BY seq", "l", f->bid);
	while (st && db_step(db, st) == 1 && n++ < LOG_MAX) {
		struct strbuf l = STRBUF_INIT;

		strbuf_addf(&l, "%-5s %.12s %s", db_col_text(st, 1), db_col_text(st, 0),
			    db_col_text(st, 2));
		body_line(b, "  ", l.buf, l.len, 200);
		strbuf_release(&l);
	}
	if (st)
		db_done(st);
	if (f->detail)
		body_text(b, "  => ", f->detail, 1000);
	strbuf_adds(b, "\r\n");
}

/* The console step's log around line (1-based; 0: its end), capped. */
static void console_excerpt(struct db *db, const struct kstage_config *cfg,
			    struct strbuf *b, long long run_id, long long line)
{
	struct strbuf text = STRBUF_INIT, path = STRBUF_INIT;
	char *rel = NULL;
	const char *p, *lines[CONSOLE_BEFORE + CONSOLE_AFTER + 1];
	size_t lens[CONSOLE_BEFORE + CONSOLE_AFTER + 1];
	long long no = 0, from, to;
	size_t k = 0, ring = CONSOLE_BEFORE + CONSOLE_AFTER + 1;

	if (!run_id || db_get_text(db, &rel, "SELECT log FROM steps WHERE run_id = ?"
				   " AND console = 1 ORDER BY idx LIMIT 1", "l",
				   run_id) != 1 || !rel || strstr(rel, ".."))
		goto out;
	strbuf_addf(&path, "%s/%s", cfg->artifacts, rel);
	if (strbuf_read_file(&text, path.buf, CONSOLE_FILE_MAX) < 0)
		goto out;
	if (!line) {	/* no line: the end of the log */
		for (p = text.buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
			no++;
		line = no;
	}
	from = line - CONSOLE_BEFORE < 1 ? 1 : line - CONSOLE_BEFORE;
	to = line + CONSOLE_AFTER;
	no = 0;
	for (p = strbuf_str(&text); *p && k < ring; ) {
		size_t n = strcspn(p, "\n");

		no++;
		if (no >= from && no <= to) {
			lines[k] = p;
			lens[k++] = n;
		}
		p += n;
		if (*p)
			p++;
	}
	if (!k)
		goto out;
	strbuf_addf(b, "Console (run %lld, lines %lld-%lld of %s):\r\n", run_id, from,
		    from + (long long)k - 1, rel);
	for (size_t i = 0; i < k; i++)
		body_line(b, "  | ", lines[i], lens[i], CONSOLE_LINE_MAX);
	strbuf_adds(b, "\r\n");
out:
	strbuf_release(&text);
	strbuf_release(&path);
	free(rel);
}

/*
 * The series patch the culprit came from, if it came from mail; for an
 * inconclusive bisection, the patch at the bad end of its range (one of
 * the candidates, the one known bad).
 */
static int series_patch(struct db *db, const struct facts *f, char **msgid,
			char **cover, char **author)
{
	const char *commit = f->culprit ? f->culprit : f->range_bad;
	sqlite3_stmt *st;
	int rc;

	*msgid = *cover = *author = NULL;
	if (!commit)
		return 0;
	rc = db_first(db, &st, "SELECT sp.message_id, s.message_id, sp.author FROM"
		      " series_patches sp JOIN series s ON s.id = sp.series_id WHERE"
		      " sp.commit_id = ? ORDER BY s.id DESC LIMIT 1", "s", commit);
	if (rc == 1) {
		*msgid = db_col_dup(st, 0);
		*cover = db_col_dup(st, 1);
		*author = db_col_dup(st, 2);
		db_done(st);
	}
	return rc < 0 ? -1 : 0;
}

static void header(struct strbuf *m, const char *name, const char *value)
{
	strbuf_addf(m, "%s: %s\r\n", name, value);
}

int notify_mail_compose(struct db *db, const struct kstage_config *cfg,
			const struct outbox_item *it, char **payload)
{
	const struct mail_def *md = cfg->mail;
	struct facts f = { 0 };
	struct strbuf m = STRBUF_INIT, b = STRBUF_INIT, h = STRBUF_INIT;
	char *msgid = NULL, *cover = NULL, *author = NULL, *addr = NULL;
	const char *domain = strchr(md->from, '@') + 1;
	json_t *rcpt = json_array(), *o;
	long long first_line = 0;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	int ret = -1;

	*payload = NULL;
	if (!it->bisection_id) {
		error("outbox %lld: a %s mail needs a bisection", it->id, it->kind);
		goto out;
	}
	if (load_facts(db, it, &f) < 0 || series_patch(db, &f, &msgid, &cover, &author) < 0)
		goto out;

	/* Headers. */
	strbuf_adds(&h, "kstage <");
	strbuf_adds(&h, md->from);
	strbuf_adds(&h, ">");
	header(&m, "From", h.buf);
	strbuf_reset(&h);
	for (i = 0; i < md->nr_to; i++) {
		if (h.len)
			strbuf_adds(&h, ",\r\n ");
		strbuf_adds(&h, md->to[i]);
		json_array_append_new(rcpt, json_string(md->to[i]));
	}
	if (author) {
		struct strbuf a = STRBUF_INIT;

		if (mail_address(&a, author, &addr) == 0) {
			strbuf_adds(&h, ",\r\n ");
			strbuf_adds(&h, a.buf);
			json_array_append_new(rcpt, json_string(addr));
		}
		strbuf_release(&a);
	}
	header(&m, "To", h.buf);
	strbuf_reset(&h);
	subject_of(&h, &f);
	header(&m, "Subject", h.buf);
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	header(&m, "Date", date);
	strbuf_reset(&h);
	strbuf_addf(&h, "<kstage-%lld-%lld@%s>", it->id, it->event_id, domain);
	header(&m, "Message-ID", h.buf);
	if (msgid) {
		strbuf_reset(&h);
		if (mail_msgid(&h, msgid) == 0) {
			header(&m, "In-Reply-To", h.buf);
			strbuf_reset(&h);
			if (cover && strcmp(cover, msgid) && mail_msgid(&h, cover) == 0)
				strbuf_adds(&h, "\r\n ");
			mail_msgid(&h, msgid);
			header(&m, "References", h.buf);
		}
	}
	header(&m, "MIME-Version", "1.0");
	header(&m, "Content-Type", "text/plain; charset=utf-8");
	header(&m, "Content-Transfer-Encoding", "8bit");
	strbuf_reset(&h);
	strbuf_addf(&h, "%lld", it->id);
	header(&m, "X-Kstage-Delivery", h.buf);
	header(&m, "X-Kstage-Event", it->kind);
	strbuf_adds(&m, "\r\n");

	/* Body. */
	if (!strcmp(f.state, "found")) {
		strbuf_addf(&b, "kstage bisected a regression in plan %s, stage %d (%s)"
			    " to its first bad commit:\r\n\r\n", f.plan, f.stage_idx,
			    f.stage ? f.stage : "?");
		strbuf_addf(&b, "  commit %s", f.culprit ? f.culprit : "?");
		if (f.culprit_stage)
			strbuf_addf(&b, " (stage %s)", f.culprit_stage);
		strbuf_adds(&b, "\r\n");
		if (f.subject)
			body_line(&b, "  subject: ", f.subject, strlen(f.subject), 200);
		if (f.author)
			body_line(&b, "  author:  ", f.author, strlen(f.author), 200);
		strbuf_adds(&b, "\r\n");
	} else {
		strbuf_addf(&b, "kstage bisected a regression in plan %s, stage %d (%s);"
			    " the bisection is %s", f.plan, f.stage_idx,
			    f.stage ? f.stage : "?", f.state);
		if (f.range_good && f.range_bad)
			strbuf_addf(&b, ": the first bad commit is after %.12s, up to"
				    " %.12s", f.range_good, f.range_bad);
		strbuf_adds(&b, ".\r\n\r\n");
	}
	failing_tests(db, &b, &f, &first_line);
	bisection_log(db, &b, &f);
	console_excerpt(db, cfg, &b, f.culprit_run, first_line);
	if (cfg->public_url) {
		strbuf_addf(&b, "Dashboard: %s/\r\nBisection: %s/api/v1/bisections/%lld\r\n",
			    cfg->public_url, cfg->public_url, f.bid);
		if (f.culprit_run)
			strbuf_addf(&b, "Run:       %s/api/v1/runs/%lld\r\n", cfg->public_url,
				    f.culprit_run);
		strbuf_adds(&b, "\r\n");
	}
	strbuf_adds(&b, "If you fix the issue, kindly add these tags to the fix:\r\n");
	strbuf_addf(&b, "  Reported-by: kstage <%s>\r\n", md->from);
	if (cfg->public_url)
		strbuf_addf(&b, "  Closes: %s/api/v1/bisections/%lld\r\n", cfg->public_url, f.bid);
	else
		strbuf_addf(&b, "  Closes: <kstage-%lld-%lld@%s>\r\n", it->id,
			    it->event_id, domain);
	strbuf_adds(&m, b.buf);

	o = json_pack("{s:O,s:s}", "rcpt", rcpt, "message", m.buf);
	*payload = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	ret = *payload ? 0 : error("outbox %lld: cannot encode the mail", it->id);
out:
	json_decref(rcpt);
	facts_release(&f);
	strbuf_release(&m);
	strbuf_release(&b);
	strbuf_release(&h);
	free(msgid);
	free(cover);
	free(author);
	free(addr);
	return ret;
}
