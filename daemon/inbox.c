/*
 * inbox: a mail thread from a public-inbox archive, fetched with libcurl
 * and inflated with zlib as it arrives (see inbox.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <zlib.h>

#include "inbox.h"
#include "wrapper.h"
#include "banned.h"

/* RFC 5322's line limit; no real Message-ID comes near it. */
#define MSGID_MAX 998
/* Inflated output is appended in pieces of this size. */
#define CHUNK 16384

static int fail(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(char **err, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT_MAX(4096);
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	*err = strbuf_detach(&sb);
	return -1;
}

/*
 * Which bytes of a Message-ID travel unescaped: public-inbox's own
 * MID_ESC (PublicInbox/MID.pm), so our URLs are the ones its pages link
 * to.  '/' is escaped (%2F): public-inbox matches the raw path and
 * unescapes the id itself, so an id holding '/' is still found.
 */
static int mid_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("-._~!$&'()*+,;=:@", c));
}

/*
 * Check msgid and find the id inside its optional angle brackets.
 * Returns 0 with *id / *len set, or -1 with the reason in *err.
 */
static int parse_msgid(const char *msgid, const char **id, size_t *len, char **err)
{
	size_t n = msgid ? strlen(msgid) : 0;
	size_t i;

	if (n >= 2 && msgid[0] == '<' && msgid[n - 1] == '>') {
		msgid++;
		n -= 2;
	}
	if (!n)
		return fail(err, "invalid message-id: empty");
	if (n > MSGID_MAX)
		return fail(err, "invalid message-id: %zu bytes, more than %d", n, MSGID_MAX);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)msgid[i];

		/* The id itself is not echoed: it may hold anything. */
		if (c <= ' ' || c == 0x7f)
			return fail(err, "invalid message-id: a space or control character at byte %zu",
				    i + 1);
		if (c == '<' || c == '>')
			return fail(err, "invalid message-id: '%c' inside it", c);
	}
	/* Escaping keeps '.', and curl would resolve these as dot-segments. */
	if ((n == 1 && msgid[0] == '.') || (n == 2 && !memcmp(msgid, "..", 2)))
		return fail(err, "invalid message-id: <%.*s>", (int)n, msgid);
	*id = msgid;
	*len = n;
	return 0;
}

/* base_url without its trailing slashes. */
static size_t base_len(const char *base_url)
{
	size_t n = strlen(base_url);

	while (n && base_url[n - 1] == '/')
		n--;
	return n;
}

int inbox_thread_url(struct strbuf *sb, const char *base_url, const char *msgid,
		     char **err)
{
	const char *id;
	size_t n, i;

	if (parse_msgid(msgid, &id, &n, err) < 0)
		return -1;
	strbuf_add(sb, base_url, base_len(base_url));
	strbuf_addch(sb, '/');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];

		if (mid_plain(c))
			strbuf_addch(sb, c);
		else
			strbuf_addf(sb, "%%%02X", c);
	}
	strbuf_adds(sb, "/t.mbox.gz");
	return 0;
}

/* --- the transfer -------------------------------------------------------- */

enum stop {
	STOP_NONE,
	STOP_TOO_BIG,		/* more than max in or out */
	STOP_NOT_GZIP,		/* the body does not start with gzip's magic */
	STOP_CORRUPT,		/* zlib refused the data */
	STOP_STATUS,		/* a status other than 2xx reached the body */
};

/* One fetch: the curl handle, the zlib stream and where the mbox goes. */
struct fetch {
	CURL *curl;
	z_stream zs;
	struct strbuf *mbox;
	size_t max;
	size_t in;		/* compressed bytes received */
	size_t out;		/* mbox bytes produced */
	unsigned char head[2];	/* the body's first bytes, for the magic */
	int ended;		/* the last gzip member reached its end */
	enum stop stop;
	char zmsg[128];		/* zlib's reason for STOP_CORRUPT */
};

static int is_gzip_magic(const struct fetch *f)
{
	return f->head[0] == 0x1f && (f->in < 2 || f->head[1] == 0x8b);
}

/* Inflate one piece of the body into the mbox; 0 to go on, -1 to stop. */
static int inflate_piece(struct fetch *f, unsigned char *data, size_t len)
{
	unsigned char out[CHUNK];

	f->zs.next_in = data;
	f->zs.avail_in = len;
	/*
	 * Go on while there is input, or while the last call filled the
	 * output (zlib may hold more back).  A member's end followed by more
	 * input is the start of the next member (concatenated gzip).
	 */
	while (f->zs.avail_in || !f->zs.avail_out) {
		size_t got;
		int zret;

		if (f->ended) {
			if (!f->zs.avail_in)
				break;
			inflateReset(&f->zs);
			f->ended = 0;
		}
		f->zs.next_out = out;
		f->zs.avail_out = sizeof(out);
		zret = inflate(&f->zs, Z_NO_FLUSH);
		got = sizeof(out) - f->zs.avail_out;
		if (got) {
			if (got > f->max - f->out ||
			    strbuf_add(f->mbox, out, got) < 0) {
				f->stop = STOP_TOO_BIG;
				return -1;
			}
			f->out += got;
		}
		if (zret == Z_STREAM_END) {
			f->ended = 1;
		} else if (zret == Z_BUF_ERROR) {
			/* No progress possible: all input taken, nothing pending. */
			break;
		} else if (zret != Z_OK) {
			snprintf(f->zmsg, sizeof(f->zmsg), "%s",
				 f->zs.msg ? f->zs.msg : zError(zret));
			f->stop = STOP_CORRUPT;
			return -1;
		}
	}
	return 0;
}

static size_t write_cb(char *data, size_t size, size_t n, void *payload)
{
	struct fetch *f = payload;
	size_t len = size * n;
	size_t i;

	if (!f->in) {
		long code = 0;

		/*
		 * A redirect's own body never gets here (curl skips it), but
		 * a 3xx curl does not follow (300, or no Location) does.
		 */
		curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &code);
		if (code < 200 || code > 299) {
			f->stop = STOP_STATUS;
			return 0;
		}
	}
	for (i = 0; i < len && f->in + i < 2; i++)
		f->head[f->in + i] = (unsigned char)data[i];
	if (len > f->max - f->in) {
		f->stop = STOP_TOO_BIG;
		return 0;
	}
	f->in += len;
	if (!is_gzip_magic(f)) {
		f->stop = STOP_NOT_GZIP;
		return 0;
	}
	if (len && inflate_piece(f, (unsigned char *)data, len) < 0)
		return 0;
	return len;
}

/* Why curl gave up, in words for a one-line error. */
static void describe_curl(struct strbuf *sb, CURL *curl, CURLcode rc,
			  const char *errbuf, unsigned timeout)
{
	long oserr = 0;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &oserr);
		if (oserr == ECONNREFUSED)
			strbuf_adds(sb, "connection refused");
		else if (oserr)
			strbuf_addf(sb, "cannot connect: %s", strerror((int)oserr));
		else
			strbuf_addf(sb, "cannot connect: %s", *errbuf ? errbuf : curl_easy_strerror(rc));
		return;
	case CURLE_OPERATION_TIMEDOUT:
		strbuf_addf(sb, "timed out after %u s (%s)", timeout,
			    *errbuf ? errbuf : curl_easy_strerror(rc));
		return;
	case CURLE_COULDNT_RESOLVE_HOST:
		strbuf_adds(sb, "cannot resolve the host name");
		return;
	case CURLE_TOO_MANY_REDIRECTS:
		strbuf_addf(sb, "more than %d redirects", INBOX_MAX_REDIRECTS);
		return;
	case CURLE_UNSUPPORTED_PROTOCOL:
		strbuf_adds(sb, "not an http:// or https:// URL (or a redirect to one that is not)");
		return;
	default:
		strbuf_adds(sb, *errbuf ? errbuf : curl_easy_strerror(rc));
		return;
	}
}

/* Put mbox back to the length it had before the fetch. */
static void mbox_restore(struct strbuf *mbox, size_t len, unsigned truncated)
{
	if (mbox->buf) {
		mbox->len = len;
		mbox->buf[len] = '\0';
	}
	mbox->truncated = truncated;
}

int inbox_fetch_thread(struct strbuf *mbox, const char *base_url, const char *msgid,
		       size_t max, unsigned timeout_seconds, char **err)
{
	struct fetch f = { .mbox = mbox, .max = max };
	struct strbuf url = STRBUF_INIT, base = STRBUF_INIT, why = STRBUF_INIT;
	char errbuf[CURL_ERROR_SIZE] = "";
	size_t start_len = mbox->len;
	unsigned start_truncated = mbox->truncated;
	int zlive = 0, ret = -1;
	const char *id;
	size_t idlen;
	long code = 0;
	CURLcode rc;

	if (err)
		*err = NULL;
	if (!timeout_seconds)
		timeout_seconds = INBOX_TIMEOUT_DEFAULT;
	if (parse_msgid(msgid, &id, &idlen, err) < 0)
		goto out;
	if (strncasecmp(base_url, "http://", 7) && strncasecmp(base_url, "https://", 8)) {
		fail(err, "%s: not an http:// or https:// URL", base_url);
		goto out;
	}
	inbox_thread_url(&url, base_url, msgid, NULL);
	strbuf_add(&base, base_url, base_len(base_url));
	if (inflateInit2(&f.zs, 16 + MAX_WBITS) != Z_OK) {
		fail(err, "cannot initialise zlib");
		goto out;
	}
	zlive = 1;
	f.curl = curl_easy_init();
	if (!f.curl) {
		fail(err, "cannot initialise libcurl");
		goto out;
	}
	curl_easy_setopt(f.curl, CURLOPT_URL, strbuf_str(&url));
	curl_easy_setopt(f.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f.curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f.curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f.curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(f.curl, CURLOPT_MAXREDIRS, (long)INBOX_MAX_REDIRECTS);
	curl_easy_setopt(f.curl, CURLOPT_TIMEOUT, (long)timeout_seconds);
	curl_easy_setopt(f.curl, CURLOPT_CONNECTTIMEOUT,
			 (long)(timeout_seconds < 30 ? timeout_seconds : 30));
	/* A Content-Length above the cap fails before the body comes. */
	curl_easy_setopt(f.curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	curl_easy_setopt(f.curl, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(f.curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(f.curl, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(f.curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(f.curl, CURLOPT_USERAGENT, "kstage");
	/*
	 * No CURLOPT_ACCEPT_ENCODING: t.mbox.gz is a gzip file, not a
	 * gzip-encoded response, and we inflate it ourselves, bounded.
	 */
	rc = curl_easy_perform(f.curl);
	curl_easy_getinfo(f.curl, CURLINFO_RESPONSE_CODE, &code);

	if (f.stop == STOP_TOO_BIG || rc == CURLE_FILESIZE_EXCEEDED) {
		size_t cap = mbox->max ? mbox->max : STRBUF_DEFAULT_MAX;

		fail(err, "GET %s: thread larger than %zu bytes", strbuf_str(&url),
		     cap - start_len < max ? cap - start_len : max);
	} else if (f.stop == STOP_NOT_GZIP) {
		char *type = NULL;

		curl_easy_getinfo(f.curl, CURLINFO_CONTENT_TYPE, &type);
		fail(err, "GET %s: not gzip data (Content-Type %s)", strbuf_str(&url),
		     type ? type : "not given");
	} else if (f.stop == STOP_CORRUPT) {
		fail(err, "GET %s: corrupt gzip data: %s", strbuf_str(&url), f.zmsg);
	} else if (rc == CURLE_HTTP_RETURNED_ERROR && code == 404) {
		fail(err, "HTTP 404: no message <%.*s> at %s", (int)idlen, id, strbuf_str(&base));
	} else if (rc == CURLE_HTTP_RETURNED_ERROR || f.stop == STOP_STATUS) {
		fail(err, "HTTP %ld from GET %s", code, strbuf_str(&url));
	} else if (rc != CURLE_OK) {
		describe_curl(&why, f.curl, rc, errbuf, timeout_seconds);
		fail(err, "GET %s: %s", strbuf_str(&url), strbuf_str(&why));
	} else if (code < 200 || code > 299) {
		fail(err, "HTTP %ld from GET %s", code, strbuf_str(&url));
	} else if (!f.in) {
		fail(err, "GET %s: not gzip data (an empty body)", strbuf_str(&url));
	} else if (!f.ended) {
		fail(err, "GET %s: truncated gzip data (the stream stops after %zu bytes)",
		     strbuf_str(&url), f.in);
	} else {
		ret = 0;
	}
out:
	if (ret < 0)
		mbox_restore(mbox, start_len, start_truncated);
	if (f.curl)
		curl_easy_cleanup(f.curl);
	if (zlive)
		inflateEnd(&f.zs);
	strbuf_release(&url);
	strbuf_release(&base);
	strbuf_release(&why);
	return ret;
}
