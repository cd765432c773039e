#ifndef BUILDLOG_H
#define BUILDLOG_H

#include <stddef.h>

#include "strbuf.h"

/*
 * buildlog: the lines of a build log and of checkpatch's output that a
 * commit check (each.h) keeps.  Pure: no I/O, one line at a time (without
 * its newline; a CR before it is ignored).
 */

/*
 * A compiler warning as gcc and clang print it,
 *
 *   mm/memremap.c:181:12: warning: unused variable 'x' [-Wunused-variable]
 *
 * (the column may be missing; the [-W...] tail too, as for a linker or
 * #warning line without one).  Returns 1 and appends its key to key:
 * the file and the text without the line and column ("mm/memremap.c:
 * warning: unused variable 'x' [-Wunused-variable]"), so that a warning
 * in code that merely moved is the same warning; leading "./" and "../"
 * of the file are dropped (a build with O= may name sources relative to
 * the output).  0 (key untouched) for any other line.
 */
int buildlog_warning(struct strbuf *key, const char *line, size_t len);

struct checkpatch_total {
	unsigned errors, warnings, checks, lines;
};

/*
 * checkpatch.pl's summary of a patch,
 *
 *   total: 0 errors, 1 warnings, 10 lines checked
 *   total: 1 errors, 2 warnings, 3 checks, 120 lines checked
 *
 * (checks only with --strict): 1 and *t, else 0 (*t zeroed).
 */
int buildlog_checkpatch_total(struct checkpatch_total *t, const char *line,
			      size_t len);

/* A line checkpatch.pl reports a problem with ("ERROR:", "WARNING:", "CHECK:"). */
int buildlog_checkpatch_issue(const char *line, size_t len);

#endif
