#ifndef MBOX_H
#define MBOX_H

#include <stddef.h>

#include "strbuf.h"

/*
 * mbox: patch mails, as "git format-patch" and mailing lists write them,
 * read with GMime (MIME structure, transfer encodings, RFC 2047 headers,
 * charsets).  Nothing here knows git: the diff is kept as text.
 *
 * The input is an mbox ("From " lines between the mails; mboxrd's
 * ">From " quoting is undone) or a single mail without a "From " line.
 * A mail's text is every text/plain, text/x-patch and text/x-diff part,
 * inline or attached, in order.  It is split the way "git mailinfo"
 * splits it: in-body "From:", "Subject:" and "Date:" lines at the top
 * override the headers; the commit message ends at a line "---" (or at
 * the diff); the diff starts at the first "diff --git" line and ends
 * before the "-- " signature.
 */

#define MBOX_MAX_MAILS 2000

struct patch_mail {
	size_t index;		/* position in the input, from 0 */
	char *author_name;	/* decoded; may be "" */
	char *author_email;
	long long date;		/* seconds since the epoch */
	int tz_minutes;		/* the Date's offset east of UTC */
	int has_date;
	char *subject;		/* decoded, as sent */
	char *title;		/* without "[PATCH v2 3/7]"-style prefixes; one line */
	char *message_id;	/* without <>; NULL if none */
	char *in_reply_to;	/* without <>; NULL if none */
	unsigned version;	/* vN; 1 when not given */
	unsigned number;	/* m of m/n; 0 with total 0: not numbered */
	unsigned total;
	int is_reply;		/* "Re:" subject: a review, not a patch */
	char *message;		/* commit message body after the title ("" if none) */
	char *diff;		/* NULL if the mail carries no diff */
	char *base_commit;	/* "base-commit: HEX" anywhere in the mail, or NULL */
};

/*
 * Read every mail of buf[0..len).  Returns 0 with *out (caller frees
 * with mbox_free()) and *nr, or -1 with a one-line reason in err
 * (nothing is returned).  Inputs that hold no mail at all, more than
 * MBOX_MAX_MAILS mails, or a mail without From or Subject are refused.
 */
int mbox_read(struct patch_mail **out, size_t *nr, const char *buf, size_t len,
	      struct strbuf *err);
void mbox_free(struct patch_mail *mails, size_t nr);

/*
 * Parse a subject's leading "[...]" groups: version, m/n, "Re:".  Sets
 * the fields of m from subject and returns the title (a pointer into
 * subject).  Exposed for the unit tests.
 */
const char *mbox_parse_subject(struct patch_mail *m, const char *subject);

#endif
