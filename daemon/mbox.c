/*
 * mbox: patch mails read with GMime (see mbox.h).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <gmime/gmime.h>

#include "mbox.h"
#include "wrapper.h"
#include "banned.h"

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_start(void)
{
	g_mime_init();
}

void mbox_free(struct patch_mail *mails, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		struct patch_mail *m = &mails[i];

		free(m->author_name);
		free(m->author_email);
		free(m->subject);
		free(m->title);
		free(m->message_id);
		free(m->in_reply_to);
		free(m->message);
		free(m->diff);
		free(m->base_commit);
	}
	free(mails);
}

/* --- the subject --------------------------------------------------------------- */

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* One word of a "[...]" group: "v2", "3/7", "PATCH", "RFC", "net-next". */
static void subject_word(struct patch_mail *m, const char *w, size_t len)
{
	char word[32], *end;
	unsigned long a, b;

	if (!len || len >= sizeof(word))
		return;
	memcpy(word, w, len);
	word[len] = '\0';
	if ((word[0] == 'v' || word[0] == 'V') && isdigit((unsigned char)word[1])) {
		a = strtoul(word + 1, &end, 10);
		if (!*end && a > 0 && a < 1000)
			m->version = a;
		return;
	}
	if (!isdigit((unsigned char)word[0]))
		return;
	a = strtoul(word, &end, 10);
	if (*end != '/' || !isdigit((unsigned char)end[1]))
		return;
	b = strtoul(end + 1, &end, 10);
	if (*end || b == 0 || b > MBOX_MAX_MAILS || a > b)
		return;
	m->number = a;
	m->total = b;
}

const char *mbox_parse_subject(struct patch_mail *m, const char *subject)
{
	const char *s = skip_space(subject);

	m->version = 1;
	m->number = m->total = 0;
	m->is_reply = 0;
	for (;;) {
		if (!strncasecmp(s, "re:", 3) || !strncasecmp(s, "aw:", 3)) {
			m->is_reply = 1;
			s = skip_space(s + 3);
			continue;
		}
		if (*s == '[') {
			const char *close = strchr(s, ']'), *w;

			if (!close)
				break;
			for (w = s + 1; w < close;) {
				size_t n = strcspn(w, " \t,]");

				if (w + n > close)
					n = close - w;
				subject_word(m, w, n);
				w += n;
				while (w < close && (*w == ' ' || *w == '\t' || *w == ','))
					w++;
			}
			s = skip_space(close + 1);
			continue;
		}
		break;
	}
	return s;
}

/* A title is one line: control characters (a folded or encoded CR LF) become spaces. */
static char *one_line(const char *s)
{
	char *t = xstrdup(s), *p;

	for (p = t; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return t;
}

/* --- the text of a mail ----------------------------------------------------------- */

struct collect {
	struct strbuf text;
	int failed;
};

static int is_text_part(GMimeObject *part)
{
	GMimeContentType *ct = g_mime_object_get_content_type(part);

	if (!ct)
		return 1;	/* no Content-Type: text/plain */
	return g_mime_content_type_is_type(ct, "text", "plain") ||
	       g_mime_content_type_is_type(ct, "text", "x-patch") ||
	       g_mime_content_type_is_type(ct, "text", "x-diff") ||
	       g_mime_content_type_is_type(ct, "application", "x-patch");
}

static void collect_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	struct collect *c = data;
	GMimeDataWrapper *content;
	GMimeStream *mem;
	GByteArray *bytes;
	char *text;

	if (!GMIME_IS_PART(part) || !is_text_part(part))
		return;
	if (c->text.len && c->text.buf[c->text.len - 1] != '\n')
		strbuf_addch(&c->text, '\n');
	if (GMIME_IS_TEXT_PART(part)) {
		/* Transfer encoding undone, charset converted to UTF-8. */
		text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
		if (text) {
			strbuf_adds(&c->text, text);
			g_free(text);
		}
		return;
	}
	content = g_mime_part_get_content(GMIME_PART(part));
	if (!content)
		return;
	mem = g_mime_stream_mem_new();
	if (g_mime_data_wrapper_write_to_stream(content, mem) < 0)
		c->failed = 1;
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	if (bytes)
		strbuf_add(&c->text, bytes->data, bytes->len);
	g_object_unref(mem);
}

/* "\r\n" -> "\n", as git mailsplit does unless --keep-cr. */
static void strip_cr(struct strbuf *sb)
{
	size_t r, w = 0;

	for (r = 0; r < sb->len; r++)
		if (!(sb->buf[r] == '\r' && r + 1 < sb->len && sb->buf[r + 1] == '\n'))
			sb->buf[w++] = sb->buf[r];
	sb->len = w;
	if (sb->buf)
		sb->buf[w] = '\0';
}

/* Undo mboxrd's quoting: ">From " -> "From ", ">>From " -> ">From ". */
static void unquote_from(struct strbuf *sb)
{
	size_t r = 0, w = 0;
	int bol = 1;

	while (r < sb->len) {
		if (bol && sb->buf[r] == '>') {
			size_t q = r;

			while (q < sb->len && sb->buf[q] == '>')
				q++;
			if (sb->len - q >= 5 && !memcmp(sb->buf + q, "From ", 5))
				r++;
		}
		bol = sb->buf[r] == '\n';
		sb->buf[w++] = sb->buf[r++];
	}
	sb->len = w;
	if (sb->buf)		/* a mail without any text part */
		sb->buf[w] = '\0';
}

/* --- splitting the text ------------------------------------------------------------ */

/* The line at *pos (without its newline); advances *pos past it. */
static int next_line(const char *s, size_t len, size_t *pos, const char **line,
		     size_t *n)
{
	const char *nl;

	if (*pos >= len)
		return 0;
	*line = s + *pos;
	nl = memchr(*line, '\n', len - *pos);
	*n = nl ? (size_t)(nl - *line) : len - *pos;
	*pos += *n + (nl ? 1 : 0);
	if (*n && (*line)[*n - 1] == '\r')
		(*n)--;
	return 1;
}

static int line_is(const char *line, size_t n, const char *what)
{
	size_t w = strlen(what);

	while (n > w && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	return n == w && !memcmp(line, what, w);
}

static int starts(const char *line, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);

	return n >= p && !memcmp(line, prefix, p);
}

static char *header_value(const char *line, size_t n, size_t skip)
{
	const char *v = line + skip;
	size_t len = n - skip;

	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	return xstrndup(v, len);
}

/* "Name <email>" or "email" of an in-body From: line. */
static void inbody_from(struct patch_mail *m, const char *v)
{
	InternetAddressList *list = internet_address_list_parse(NULL, v);
	InternetAddress *ia;

	if (!list)
		return;
	if (internet_address_list_length(list) > 0) {
		ia = internet_address_list_get_address(list, 0);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *name = internet_address_get_name(ia);

			free(m->author_name);
			free(m->author_email);
			m->author_name = xstrdup(name ? name : "");
			m->author_email = xstrdup(
				internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)));
		}
	}
	g_object_unref(list);
}

static void find_base_commit(struct patch_mail *m, const char *text, size_t len)
{
	size_t pos = 0, n, h;
	const char *line;

	while (next_line(text, len, &pos, &line, &n)) {
		if (!starts(line, n, "base-commit:"))
			continue;
		line += 12;
		n -= 12;
		while (n && *line == ' ')
			line++, n--;
		for (h = 0; h < n && isxdigit((unsigned char)line[h]); h++)
			;
		if (h >= 7 && h <= 64) {
			free(m->base_commit);
			m->base_commit = xstrndup(line, h);
		}
	}
}

/*
 * Is the rest after a "-- " line a signature (a git version, a name),
 * not more diff?  Diff lines start with ' ', '+', '-', '@' or '\'.
 */
static int is_signature(const char *s, size_t len)
{
	size_t pos = 0, n;
	const char *line;

	while (next_line(s, len, &pos, &line, &n))
		if (n && strchr(" +-@\\", line[0]))
			return 0;
	return 1;
}

/* Split text into message and diff (see mbox.h). */
static void split_text(struct patch_mail *m, const char *text, size_t len)
{
	struct strbuf msg = STRBUF_INIT;
	size_t pos = 0, n, line_start, diff_at = len, msg_end = len;
	const char *line;
	int top = 1, ended = 0;

	while (line_start = pos, next_line(text, len, &pos, &line, &n)) {
		if (starts(line, n, "diff --git ")) {
			diff_at = line_start;
			if (!ended)
				msg_end = line_start;
			break;
		}
		if (ended)
			continue;
		if (top) {
			/* In-body headers, then the blank line after them. */
			if (starts(line, n, "From:") ) {
				char *v = header_value(line, n, 5);

				inbody_from(m, v);
				free(v);
				continue;
			}
			if (starts(line, n, "Subject:")) {
				char *v = header_value(line, n, 8);

				free(m->title);
				m->title = one_line(mbox_parse_subject(&(struct patch_mail){ 0 }, v));
				free(v);
				continue;
			}
			if (starts(line, n, "Date:"))
				continue;
			if (!n)
				continue;
			top = 0;
		}
		if (line_is(line, n, "---") || starts(line, n, "Index: ") ||
		    starts(line, n, "--- a/")) {
			msg_end = line_start;
			ended = 1;
			continue;
		}
		strbuf_add(&msg, line, n);
		strbuf_addch(&msg, '\n');
	}
	(void)msg_end;

	/* The message: no blank lines at its start or end. */
	while (msg.len && msg.buf[msg.len - 1] == '\n')
		msg.len--;
	if (msg.len)
		strbuf_addch(&msg, '\n');
	m->message = strbuf_detach(&msg);

	if (diff_at < len) {
		size_t end = len, i;

		/* Cut the "-- " signature format-patch appends. */
		for (i = len; i > diff_at + 4; i--) {
			if (text[i - 1] == '\n' && i + 3 <= len &&
			    !memcmp(text + i, "-- ", 3) &&
			    (i + 3 == len || text[i + 3] == '\n' || text[i + 3] == '\r')) {
				size_t after = i + 3;

				if (is_signature(text + after, len - after)) {
					end = i;
					break;
				}
			}
		}
		/* A MIME boundary takes the newline before it. */
		m->diff = xmalloc(end - diff_at + 2);
		memcpy(m->diff, text + diff_at, end - diff_at);
		if (end > diff_at && text[end - 1] != '\n')
			m->diff[end++ - diff_at] = '\n';
		m->diff[end - diff_at] = '\0';
	}
	find_base_commit(m, text, len);
}

/* --- one mail --------------------------------------------------------------------- */

static char *decoded_id(const char *raw)
{
	char *id, *ret;

	if (!raw)
		return NULL;
	id = g_mime_utils_decode_message_id(raw);
	if (!id || !*id) {
		g_free(id);
		return NULL;
	}
	ret = xstrdup(id);
	g_free(id);
	return ret;
}

static int read_mail(struct patch_mail *m, GMimeMessage *msg, int mboxrd,
		     struct strbuf *err)
{
	InternetAddressList *from = g_mime_message_get_from(msg);
	InternetAddress *ia = NULL;
	const char *subject = g_mime_message_get_subject(msg), *id;
	GDateTime *date = g_mime_message_get_date(msg);
	struct collect c = { STRBUF_INIT, 0 };

	if (from && internet_address_list_length(from) > 0)
		ia = internet_address_list_get_address(from, 0);
	if (!ia || !INTERNET_ADDRESS_IS_MAILBOX(ia)) {
		strbuf_addf(err, "mail %zu: no From: address", m->index + 1);
		return -1;
	}
	if (!subject || !*subject) {
		strbuf_addf(err, "mail %zu: no Subject:", m->index + 1);
		return -1;
	}
	m->author_name = xstrdup(internet_address_get_name(ia) ?
				 internet_address_get_name(ia) : "");
	m->author_email = xstrdup(
		internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)));
	m->subject = xstrdup(subject);
	m->title = one_line(mbox_parse_subject(m, subject));
	if (date) {
		m->has_date = 1;
		m->date = g_date_time_to_unix(date);
		m->tz_minutes = (int)(g_date_time_get_utc_offset(date) / G_TIME_SPAN_MINUTE);
	}
	id = g_mime_message_get_message_id(msg);
	m->message_id = id && *id ? xstrdup(id) : NULL;
	m->in_reply_to = decoded_id(g_mime_object_get_header(GMIME_OBJECT(msg),
							      "In-Reply-To"));

	g_mime_message_foreach(msg, collect_part, &c);
	if (c.failed) {
		strbuf_release(&c.text);
		strbuf_addf(err, "mail %zu (%s): a part could not be decoded",
			    m->index + 1, m->subject);
		return -1;
	}
	strip_cr(&c.text);
	if (mboxrd)
		unquote_from(&c.text);
	split_text(m, c.text.buf ? c.text.buf : "", c.text.len);
	strbuf_release(&c.text);
	return 0;
}

int mbox_read(struct patch_mail **out, size_t *nr, const char *buf, size_t len,
	      struct strbuf *err)
{
	struct patch_mail *mails = NULL;
	size_t n = 0, alloc = 0;
	GMimeStream *stream;
	GMimeParser *parser;
	int mbox = len >= 5 && !memcmp(buf, "From ", 5), ret = 0;

	pthread_once(&gmime_once, gmime_start);
	*out = NULL;
	*nr = 0;
	if (memchr(buf, '\0', len)) {
		strbuf_adds(err, "not a mailbox: the input holds NUL bytes");
		return -1;
	}
	stream = g_mime_stream_mem_new_with_buffer(buf, len);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, mbox ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
	while (!g_mime_parser_eos(parser)) {
		GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);

		if (!msg)
			break;
		if (n == MBOX_MAX_MAILS) {
			g_object_unref(msg);
			strbuf_addf(err, "more than %d mails", MBOX_MAX_MAILS);
			ret = -1;
			break;
		}
		ALLOC_GROW(mails, n + 1, alloc);
		memset(&mails[n], 0, sizeof(mails[n]));
		mails[n].index = n;
		ret = read_mail(&mails[n], msg, mbox, err);
		n++;
		g_object_unref(msg);
		if (ret < 0 || !mbox)
			break;
	}
	g_object_unref(parser);
	g_object_unref(stream);
	if (!ret && !n) {
		strbuf_adds(err, "no mail in the input (not an mbox or a mail)");
		ret = -1;
	}
	if (ret < 0) {
		mbox_free(mails, n);
		return -1;
	}
	*out = mails;
	*nr = n;
	return 0;
}
