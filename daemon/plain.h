#ifndef PLAIN_H
#define PLAIN_H

#include "api.h"
#include "strbuf.h"

/*
 * plain: server-rendered HTML views of the same state as the dashboard,
 * for a browser without JavaScript (and the page "/" serves when no
 * dashboard is installed).  They are handlers like the JSON reads: run
 * them inside api_read_begin() / api_read_end(); they write nothing.
 * The reply is text/html; a plan or stage that does not exist is a JSON
 * 404 like everywhere else, and a query that fails is a 500 (-1), never
 * a page with the rows read so far.
 */

api_fn plain_plans;		/* GET /plain: every plan with its stages */
api_fn plain_stage;		/* GET /plain/plans/{plan}/stages/{stage} */

/*
 * Append s to out with &, <, >, " and ' escaped, safe both as element
 * text and inside a quoted attribute.  NULL appends nothing.
 */
void plain_html_escape(struct strbuf *out, const char *s);

#endif
