#ifndef EXCERPT_H
#define EXCERPT_H

#include "api.h"
#include "strbuf.h"

/*
 * excerpt: for GET /api/v1/bisections/{id} (api_read.c), the member
 * "excerpts": the console lines around the first failing bisected test
 * (of tests, newline-separated) in the culprit's last verify run, and
 * around the same test in its parent's: {"culprit", "parent"}, each null
 * without a log (or without req->cfg, the artifacts root); null when there
 * is no verify run or failing test.  0, or -1 when a query failed.
 */
int bisection_excerpts(struct strbuf *sb, const struct api_request *req, long long id,
		       const char *culprit, const char *tests);

#endif
