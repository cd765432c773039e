/*
 * rcache: the in-memory cache of API replies, keyed by path and state
 * version, with their entity tags (see rcache.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcache.h"
#include "wrapper.h"
#include "banned.h"

struct rcache_entry {
	char *key;
	struct rcache_version v;
	char *body;
	size_t len;
	char etag[RCACHE_ETAG_MAX];
};

struct rcache {
	pthread_mutex_t lock;
	struct rcache_entry slot[RCACHE_SLOTS];
};

/* FNV-1a, 64 bits: slot choice and entity tags (not a defence). */
static unsigned long long fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	unsigned long long h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct rcache *rcache_new(void)
{
	struct rcache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void rcache_free(struct rcache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < RCACHE_SLOTS; i++) {
		free(c->slot[i].key);
		free(c->slot[i].body);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int rcache_version(struct db *db, struct rcache_version *v)
{
	sqlite3_stmt *st;

	if (db_first(db, &st, "SELECT (SELECT coalesce(max(id), 0) FROM events),"
		     " (SELECT coalesce(sum(updated_at), 0) +"
		     " coalesce(sum(last_fetch_at), 0) FROM plans)", NULL) != 1)
		return -1;
	v->events = sqlite3_column_int64(st, 0);
	v->plans = sqlite3_column_int64(st, 1);
	db_done(st);
	return 0;
}

static struct rcache_entry *slot_of(struct rcache *c, const char *key)
{
	return &c->slot[fnv1a(key, strlen(key)) % RCACHE_SLOTS];
}

int rcache_get(struct rcache *c, const char *key, const struct rcache_version *v,
	       char etag[RCACHE_ETAG_MAX], struct strbuf *body)
{
	struct rcache_entry *e = slot_of(c, key);
	int found = 0;

	pthread_mutex_lock(&c->lock);
	if (e->key && !strcmp(e->key, key) && e->v.events == v->events &&
	    e->v.plans == v->plans) {
		memcpy(etag, e->etag, RCACHE_ETAG_MAX);
		found = !body || strbuf_add(body, e->body, e->len) == 0;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

void rcache_put(struct rcache *c, const char *key, const struct rcache_version *v,
		const char *body, size_t len, char etag[RCACHE_ETAG_MAX])
{
	struct rcache_entry *e = slot_of(c, key);
	char *copy = xmalloc(len + 1), *k = xstrdup(key), *old_key, *old_body;

	memcpy(copy, body, len);
	copy[len] = '\0';
	snprintf(etag, RCACHE_ETAG_MAX, "\"k-%016llx\"", fnv1a(body, len));
	pthread_mutex_lock(&c->lock);
	old_key = e->key;
	old_body = e->body;
	e->key = k;
	e->v = *v;
	e->body = copy;
	e->len = len;
	memcpy(e->etag, etag, RCACHE_ETAG_MAX);
	pthread_mutex_unlock(&c->lock);
	free(old_key);
	free(old_body);
}

int rcache_etag_matches(const char *inm, const char *etag)
{
	size_t want = strlen(etag);

	while (inm && *inm) {
		size_t n;

		while (*inm == ' ' || *inm == '\t' || *inm == ',')
			inm++;
		if (*inm == '*')
			return 1;
		if (!strncmp(inm, "W/", 2))
			inm += 2;
		n = strcspn(inm, ", \t");
		if (n == want && !strncmp(inm, etag, n))
			return 1;
		inm += n;
	}
	return 0;
}
