#ifndef INTAKE_H
#define INTAKE_H

#include <stddef.h>

#include "db.h"
#include "mbox.h"
#include "series.h"
#include "strbuf.h"

/*
 * intake: patch series from mail into a plan's stages, the command line
 * side ("kstage series", see its usage) and what the API shares with it.
 *
 *   kstage series apply --plan P --stage S [--force] FILE...
 *       read the mbox files (or single mails; "-" is stdin) and apply the
 *       newest complete version of the series to stage S (series.h).
 *       Works on the repository and the database directly, so it needs
 *       no running server; a running one is told to look at once.
 *   kstage series fetch MSGID --plan P --stage S [--inbox URL]
 *       the same with the thread of MSGID from a public-inbox archive
 *       (the config's "inbox", or --inbox).
 */

#define INTAKE_FETCH_TIMEOUT 60	/* seconds for getting a thread */

#define INTAKE_MAX_MBOX ((size_t)64 << 20)	/* bytes read from one input */

/*
 * Read the mails of every input (already in memory) into one array.
 * 0, or -1 with the reason (naming the input) in err.
 */
int intake_read(struct patch_mail **mails, size_t *nr, const char *const *bufs,
		const size_t *lens, const char *const *names, size_t nr_inputs,
		struct strbuf *err);

/*
 * Get the thread of msgid from the public-inbox at inbox and apply the
 * newest complete series in it with series_apply() (o->source becomes
 * "inbox"; the commits get "Link: INBOX/MSGID" trailers unless
 * o->link_base is set).  Returns as series_apply(); when the archive does
 * not give a thread (unknown id, unreachable, not gzip, too large) it is
 * 1 with out->fetch_failed set and the reason in err.
 */
int intake_fetch(struct series_outcome *out, struct db *db, const char *inbox,
		 const char *msgid, struct series_opts *o, struct strbuf *err);

int cmd_series(int argc, char **argv);

#endif
