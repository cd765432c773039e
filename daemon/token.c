/*
 * token: API tokens stored as SHA-256 hashes (see token.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/evp.h>

#include "config.h"
#include "log.h"
#include "token.h"
#include "wrapper.h"
#include "banned.h"

int token_generate(char secret[TOKEN_SECRET_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[32];
	size_t got = 0;
	int i;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return error("getrandom: %s", strerror(errno));
		}
		got += (size_t)n;
	}
	memcpy(secret, TOKEN_PREFIX, 4);
	for (i = 0; i < 32; i++) {
		secret[4 + 2 * i] = hex[raw[i] >> 4];
		secret[4 + 2 * i + 1] = hex[raw[i] & 15];
	}
	secret[TOKEN_SECRET_SIZE - 1] = '\0';
	return 0;
}

int token_hash(char out[TOKEN_HASH_SIZE], const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) ||
	    2 * n + 1 != TOKEN_HASH_SIZE)
		return error("libcrypto: cannot compute a SHA-256");
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
	return 0;
}

/* A token no longer in use: revoked, or expired. */
#define TOKEN_DEAD_SQL "(revoked OR (expires_at IS NOT NULL AND expires_at <= ?))"

int token_create(struct db *db, const char *name, enum token_scope scope,
		 long long expires_at, char secret[TOKEN_SECRET_SIZE])
{
	char hash[TOKEN_HASH_SIZE];
	long long dead = 0;
	int rc;

	if (!config_valid_name(name))
		return 2;
	if (token_generate(secret) < 0 || token_hash(hash, secret, strlen(secret)) < 0)
		return -1;
	if (db_begin(db) < 0)
		return -1;
	rc = db_get_int(db, &dead, "SELECT " TOKEN_DEAD_SQL " FROM tokens WHERE name = ?",
			"ls", now_wall_ms(), name);
	if (rc < 0)
		goto fail;
	if (rc == 1 && !dead) {
		db_rollback(db);
		return 1;
	}
	if ((rc == 1 && db_exec(db, "DELETE FROM tokens WHERE name = ?", "s", name) < 0) ||
	    db_exec(db, "INSERT INTO tokens (name, hash, created_at, scope, expires_at)"
		    " VALUES (?, ?, ?, ?, ?)", "sslsL", name, hash, now_wall_ms(),
		    token_scope_name(scope), expires_at) < 0)
		goto fail;
	return db_commit(db);
fail:
	db_rollback(db);
	return -1;
}

/* Equal in time independent of where the strings differ (same length). */
static int ct_equal(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

#define TOKEN_COLUMNS "id, name, hash, revoked, created_at, coalesce(last_used_at, 0)," \
	" coalesce(expires_at, 0), scope"

static void fill_info(struct token_info *t, sqlite3_stmt *st)
{
	t->id = sqlite3_column_int64(st, 0);
	snprintf(t->name, sizeof(t->name), "%s", db_col_text(st, 1));
	t->revoked = sqlite3_column_int(st, 3);
	t->created_at = sqlite3_column_int64(st, 4);
	t->last_used_at = sqlite3_column_int64(st, 5);
	t->expires_at = sqlite3_column_int64(st, 6);
	if (token_scope_parse(&t->scope, db_col_text(st, 7)) < 0)
		t->scope = TOKEN_SCOPE_READ;	/* the schema checks; least power */
}

int token_verify(struct db *db, const char *secret, struct token_info *info)
{
	struct token_info found = { 0 };
	char hash[TOKEN_HASH_SIZE];
	sqlite3_stmt *st;
	int match = 0, rc;

	if (!secret || strlen(secret) != TOKEN_SECRET_SIZE - 1)
		return TOKEN_UNKNOWN;
	if (token_hash(hash, secret, strlen(secret)) < 0)
		return -1;
	st = db_stmt(db, "SELECT " TOKEN_COLUMNS " FROM tokens", NULL);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		const char *h = db_col_text(st, 2);

		/* Every row is compared: no early exit on a match. */
		if (strlen(h) == TOKEN_HASH_SIZE - 1 &&
		    ct_equal(h, hash, TOKEN_HASH_SIZE - 1) && !match) {
			match = 1;
			fill_info(&found, st);
		}
	}
	db_done(st);
	if (rc < 0)
		return -1;
	if (!match)
		return TOKEN_UNKNOWN;
	if (info)
		*info = found;
	if (found.revoked)
		return TOKEN_REVOKED;
	if (found.expires_at && found.expires_at <= now_wall_ms())
		return TOKEN_EXPIRED;
	/*
	 * last_used_at is bookkeeping for "kstage token list": a token that
	 * matched is valid even when the update fails (a busy database), so
	 * the failure is a warning, not a refusal.
	 */
	if (now_wall_ms() - found.last_used_at > 60 * 1000 &&
	    db_exec(db, "UPDATE tokens SET last_used_at = ? WHERE id = ?", "ll",
		    now_wall_ms(), found.id) < 0)
		warn("token %s: cannot record its use", found.name);
	return TOKEN_OK;
}

int token_revoke(struct db *db, const char *name)
{
	long long revoked = 0;
	int rc;

	if (db_begin(db) < 0)
		return -1;
	rc = db_get_int(db, &revoked, "SELECT revoked FROM tokens WHERE name = ?",
			"s", name);
	if (rc <= 0 || revoked) {
		db_rollback(db);
		return rc < 0 ? -1 : rc == 0 ? 1 : 2;
	}
	if (db_exec(db, "UPDATE tokens SET revoked = 1 WHERE name = ?", "s", name) < 0) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}

int token_list(struct db *db,
	       int (*fn)(const struct token_info *t, void *payload),
	       void *payload)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	st = db_stmt(db, "SELECT " TOKEN_COLUMNS " FROM tokens ORDER BY name", NULL);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		struct token_info t;

		fill_info(&t, st);
		ret = fn(&t, payload);
		if (ret)
			break;
	}
	db_done(st);
	if (!ret && rc < 0)
		return -1;
	return ret;
}
