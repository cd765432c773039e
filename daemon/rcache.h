#ifndef RCACHE_H
#define RCACHE_H

#include <stddef.h>

#include "db.h"
#include "strbuf.h"

/*
 * rcache: replies of the JSON API kept in memory (the plan and stage
 * JSON that dashboards poll), each with the version of the state it was
 * made from and an entity tag (ETag) of its bytes.
 *
 * The version is read by rcache_version() in the caller's read
 * transaction: the newest event id (every change to runs, steps, stages,
 * verdicts, bisections, acks and the gate writes an event in its own
 * transaction, see events.h) and, for the two changes that write none,
 * the plans' updated_at (a plan file re-read, which may rename stages)
 * and last_fetch_at (a fetch of the plan's remote).  A reply made in the
 * same transaction as the version read belongs to that version, so a
 * cached reply is served only while the version is unchanged: never a
 * stale one, whichever thread or process wrote the change.
 *
 * The cache has RCACHE_SLOTS entries, one per key hash (a new key takes
 * the slot of an old one): its memory is bounded by RCACHE_SLOTS times
 * the largest reply.  It is shared by the server's threads (one lock).
 */

#define RCACHE_SLOTS 256
#define RCACHE_ETAG_MAX 24	/* "\"k-" + 16 hex digits + "\"" + NUL */

struct rcache_version {
	long long events;	/* max(events.id) */
	long long plans;	/* sum of updated_at and last_fetch_at of plans */
};

struct rcache;

struct rcache *rcache_new(void);
void rcache_free(struct rcache *c);

/* The version of the state db sees now.  0, or -1 on a database error. */
int rcache_version(struct db *db, struct rcache_version *v);

/*
 * The entry of key if it was made at version v: its ETag into etag and,
 * if body is not NULL, its bytes appended to body.  1 found, 0 not.
 */
int rcache_get(struct rcache *c, const char *key, const struct rcache_version *v,
	       char etag[RCACHE_ETAG_MAX], struct strbuf *body);

/*
 * Keep a copy of body as the entry of key at version v (replacing what
 * the slot held) and write its ETag into etag.
 */
void rcache_put(struct rcache *c, const char *key, const struct rcache_version *v,
		const char *body, size_t len, char etag[RCACHE_ETAG_MAX]);

/*
 * Does an If-None-Match header value (a list of entity tags, or "*")
 * match etag?  Weak comparison (RFC 9110 13.1.2): "W/" is ignored.
 */
int rcache_etag_matches(const char *if_none_match, const char *etag);

#endif
