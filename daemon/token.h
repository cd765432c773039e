#ifndef TOKEN_H
#define TOKEN_H

#include "db.h"
#include "states.h"

/*
 * token: API tokens (the tokens table).
 *
 * A token is a name and a secret: "kst_" followed by 64 hex digits (32
 * bytes from getrandom(2)).  The secret is handed out once, by
 * token_create(); only its SHA-256 (hex, token_hash()) is stored, so a
 * copy of the database does not give access.  A client presents the secret as
 * "Authorization: Bearer kst_...".
 *
 * Each token has a scope (states.h: read < push < write < admin; each
 * includes the ones before) and may expire.  The server decides per
 * route which scope it needs (http.c).
 *
 * Revoked tokens stay in the table (so that a revoked token is told apart
 * from an unknown one: 403 rather than 401) until the name is reused by
 * token_create() after a revoke.
 *
 * All functions work on the caller's connection and may run on any
 * thread that owns one.
 */

#define TOKEN_PREFIX "kst_"
#define TOKEN_SECRET_SIZE (4 + 64 + 1)	/* prefix, hex, NUL */
#define TOKEN_HASH_SIZE (64 + 1)	/* SHA-256 in lower-case hex, NUL */
#define TOKEN_NAME_MAX 64

enum token_status {
	TOKEN_OK = 0,
	TOKEN_UNKNOWN = 1,	/* no token has this secret */
	TOKEN_REVOKED = 2,
	TOKEN_EXPIRED = 3,
};

struct token_info {
	long long id;
	char name[TOKEN_NAME_MAX + 1];
	long long created_at;	/* ms since the epoch */
	long long last_used_at;	/* 0 = never */
	long long expires_at;	/* ms since the epoch; 0 = never */
	enum token_scope scope;
	int revoked;
};

/*
 * Create token "name" ([A-Za-z0-9._-]{1,64}) with a scope, expiring at
 * expires_at (ms since the epoch; 0: never), and write its secret to
 * "secret".  Returns 0, 1 if a live token already has that name (a revoked
 * or expired one is replaced), 2 if the name is not valid, -1 on error
 * (logged).
 */
int token_create(struct db *db, const char *name, enum token_scope scope,
		 long long expires_at, char secret[TOKEN_SECRET_SIZE]);

/*
 * Check a presented secret (the text after "Bearer ").  The stored hashes
 * are compared in constant time, all of them, so the time taken says
 * nothing about how much of a hash matched.  On TOKEN_OK, TOKEN_REVOKED and
 * TOKEN_EXPIRED, *info (may be NULL) describes the token.  Marks the token used (at most
 * once a minute, to keep reads from writing); a failure to mark it is
 * logged as a warning and does not change the answer.  Returns an enum
 * token_status, or -1 on a database error (logged).
 */
int token_verify(struct db *db, const char *secret, struct token_info *info);

/* Revoke by name: 0 done, 1 no such token, 2 already revoked, -1 error. */
int token_revoke(struct db *db, const char *name);

/*
 * Call fn for every token, by name; stops early (and returns that value)
 * when fn returns non-zero.  -1 on a database error.
 */
int token_list(struct db *db,
	       int (*fn)(const struct token_info *t, void *payload),
	       void *payload);

/* Fill secret with a fresh random secret (exposed for the unit tests). */
int token_generate(char secret[TOKEN_SECRET_SIZE]);

/*
 * The stored form of a secret: the SHA-256 of data (libcrypto) in
 * lower-case hex, NUL-terminated.  0, or -1 (logged) if libcrypto fails.
 * Exposed for the unit tests, which check it against known vectors.
 */
int token_hash(char out[TOKEN_HASH_SIZE], const void *data, size_t len);

#endif
