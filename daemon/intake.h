#ifndef INTAKE_H
#define INTAKE_H

#include <stddef.h>

#include "mbox.h"
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
 */

#define INTAKE_MAX_MBOX ((size_t)64 << 20)	/* bytes read from one input */

/*
 * Read the mails of every input (already in memory) into one array.
 * 0, or -1 with the reason (naming the input) in err.
 */
int intake_read(struct patch_mail **mails, size_t *nr, const char *const *bufs,
		const size_t *lens, const char *const *names, size_t nr_inputs,
		struct strbuf *err);

int cmd_series(int argc, char **argv);

#endif
