#ifndef NOTIFY_MAIL_H
#define NOTIFY_MAIL_H

#include "config.h"
#include "db.h"
#include "outbox.h"
#include "strbuf.h"

/*
 * notify_mail: the mail a notification becomes, as the text handed to
 * the SMTP server, and the rules for what goes into its headers.
 *
 * Headers never carry text from outside as it is: every value goes
 * through mail_header_text() (control characters, CR and LF included,
 * become one space, so a subject or a test name cannot start a header of
 * its own), and a value with a non-ASCII byte is sent as RFC 2047
 * encoded words (=?UTF-8?B?...?=, each at most 75 characters, folded).
 * Lines end with CRLF.
 */

/* s as one header-safe line of valid UTF-8 (at most max bytes) into out. */
void mail_header_text(struct strbuf *out, const char *s, size_t max);

/* s (made header-safe) as is when ASCII, else as encoded words. */
void mail_header_word(struct strbuf *out, const char *s);

/*
 * "Name <user@host>" or "user@host" as a header address: the name
 * encoded as needed, the address checked.  The bare address goes to
 * *addr (caller frees) when addr is not NULL.  0, or -1 when there is no
 * valid address (nothing appended).
 */
int mail_address(struct strbuf *out, const char *name_addr, char **addr);

/* A Message-ID from outside as "<...>", or -1 when it is not one. */
int mail_msgid(struct strbuf *out, const char *id);

/*
 * Compose the mail of notification it from what is committed now, for
 * the mail configured in cfg: *payload (caller frees) gets
 * {"rcpt": [ADDRESS...], "message": "RFC 5322 TEXT"}, stored with the
 * row and sent as it is at every attempt.  0 or -1.
 */
int notify_mail_compose(struct db *db, const struct kstage_config *cfg,
			const struct outbox_item *it, char **payload);

#endif
