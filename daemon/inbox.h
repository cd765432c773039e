#ifndef INBOX_H
#define INBOX_H

#include <stddef.h>

#include "strbuf.h"

/*
 * inbox: mail threads from a public-inbox archive (lore.kernel.org or a
 * local public-inbox-httpd) over HTTP.
 *
 * public-inbox serves the whole thread around a message, every reply
 * included, as a gzipped mboxrd at BASE/MSGID/t.mbox.gz, the Message-ID
 * without its angle brackets and percent-escaped the way public-inbox
 * writes its own links (everything but A-Z a-z 0-9 and -._~!$&'()*+,;=:@,
 * so a '/' in an id travels as %2F).  A series sent as replies to its
 * cover letter, and a v2 sent In-Reply-To the v1 cover, come back as one
 * thread.
 *
 * The caller must have called curl_global_init() (main does, once, before
 * any thread starts).  The function is safe to call from several threads
 * at once: each call has its own curl handle and zlib stream.
 */

/* The timeout used when the caller passes 0. */
#define INBOX_TIMEOUT_DEFAULT 120
/* Redirects followed (http and https only) before giving up. */
#define INBOX_MAX_REDIRECTS 3

/*
 * Get the thread of message-id msgid from the public-inbox at base_url
 * (e.g. "http://127.0.0.1:8080/linux-mm" or with a trailing slash) as an
 * mbox: GET BASE/MSGID/t.mbox.gz with libcurl, gunzipped with zlib into
 * *mbox (appended).  msgid may be given with or without <>; it is
 * URL-escaped.  At most max bytes of mbox (compressed or not) are accepted.
 * Returns 0, or -1 with a one-line reason in *err (caller frees):
 * "HTTP 404: no message <id> at URL", "not gzip data", "thread larger than N bytes",
 * "connection refused", timeouts, etc.
 *
 * In detail:
 *  - msgid must be non-empty, at most 998 bytes (without the brackets),
 *    with no control character, space, '<' or '>' inside, and not "." or
 *    ".." (which would climb out of the inbox's URL).  A bad id fails
 *    before any request is made.
 *  - base_url must be http:// or https://; only those protocols are
 *    spoken, also when following redirects (at most INBOX_MAX_REDIRECTS).
 *  - timeout_seconds bounds the whole transfer (0: INBOX_TIMEOUT_DEFAULT);
 *    connecting is bounded by the smaller of it and 30 s.
 *  - The body is inflated as it arrives: more than max bytes received,
 *    or more than max bytes of mbox produced (a gzip bomb), or mbox's own
 *    cap reached, stops the transfer with "thread larger than N bytes";
 *    memory use stays near max whatever the server sends.
 *  - A body that does not start as gzip is "not gzip data"; one that ends
 *    before the end of the gzip stream is "truncated gzip data"; corrupt
 *    data is reported with zlib's reason.  Concatenated gzip members are
 *    accepted (that is still gzip).
 *  - On failure *mbox is as it was before the call (nothing appended).
 *  - err may be NULL when the reason is not wanted; on success *err is
 *    set to NULL.
 */
int inbox_fetch_thread(struct strbuf *mbox, const char *base_url, const char *msgid,
		       size_t max, unsigned timeout_seconds, char **err);

/*
 * Append to sb the URL of msgid's thread mbox under base_url (one '/'
 * between them whatever base_url ends with), or return -1 with the reason
 * in *err (caller frees) when msgid is not a valid Message-ID by the rules
 * above.  Exposed for tests and for printing what would be fetched.
 */
int inbox_thread_url(struct strbuf *sb, const char *base_url, const char *msgid,
		     char **err);

#endif
