/*
 * Unit tests of API tokens (token.c) on a temporary database: only the
 * SHA-256 of a secret is stored (checked against known vectors); unknown,
 * revoked and reused names; a use that cannot be recorded is still a use.
 */
#include "unit.h"
#include "unit-db.h"

#include <unistd.h>

#include "db.h"
#include "token.h"
#include "wrapper.h"


static void check_hash(const char *data, const char *want)
{
	char hex[TOKEN_HASH_SIZE];

	assert_int_equal(token_hash(hex, data, strlen(data)), 0);
	assert_string_equal(hex, want);
}

/* FIPS 180-2, appendix B.1 and B.2, and the empty message. */
static void test_hash_vectors(void **state)
{
	(void)state;
	check_hash("abc", "ba7816bf8f01cfea414140de5dae2223"
			  "b00361a396177a9cb410ff61f20015ad");
	check_hash("", "e3b0c44298fc1c149afbf4c8996fb924"
		       "27ae41e4649b934ca495991b7852b855");
	check_hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		   "248d6a61d20638b8e5c026930c3e6039"
		   "a33ce45964ff2167f6ecedd419db06c1");
}

static void test_generate(void **state)
{
	char a[TOKEN_SECRET_SIZE], b[TOKEN_SECRET_SIZE];
	size_t i;

	(void)state;
	assert_int_equal(token_generate(a), 0);
	assert_int_equal(token_generate(b), 0);
	assert_int_equal(strlen(a), 68);
	assert_memory_equal(a, "kst_", 4);
	for (i = 4; i < strlen(a); i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);
}

static void test_create_verify(void **state)
{
	struct db *db = unit_db_open("token");
	char secret[TOKEN_SECRET_SIZE], hash[TOKEN_HASH_SIZE], *stored = NULL;
	struct token_info info;
	long long n = -1;

	(void)state;
	assert_int_equal(token_create(db, "ci", TOKEN_SCOPE_WRITE, 0, secret), 0);
	/* Only the hash is stored, never the secret. */
	assert_int_equal(token_hash(hash, secret, strlen(secret)), 0);
	assert_int_equal(db_get_text(db, &stored, "SELECT hash FROM tokens WHERE"
				     " name = 'ci'", NULL), 1);
	assert_string_equal(stored, hash);
	free(stored);
	assert_int_equal(db_get_int(db, &n, "SELECT count(*) FROM tokens WHERE"
				    " hash = ? OR name = ?", "ss", secret, secret), 1);
	assert_int_equal(n, 0);

	assert_int_equal(token_verify(db, secret, &info), TOKEN_OK);
	assert_string_equal(info.name, "ci");
	assert_false(info.revoked);
	assert_int_equal(info.scope, TOKEN_SCOPE_WRITE);
	assert_int_equal(info.expires_at, 0);
	secret[10] ^= 1;
	assert_int_equal(token_verify(db, secret, NULL), TOKEN_UNKNOWN);
	assert_int_equal(token_verify(db, "kst_short", NULL), TOKEN_UNKNOWN);
	assert_int_equal(token_verify(db, "", NULL), TOKEN_UNKNOWN);
	unit_db_close(db);
}

static void test_names(void **state)
{
	struct db *db = unit_db_open("token");
	char secret[TOKEN_SECRET_SIZE], again[TOKEN_SECRET_SIZE];

	(void)state;
	assert_int_equal(token_create(db, "a b", TOKEN_SCOPE_WRITE, 0, secret), 2);
	assert_int_equal(token_create(db, "x;rm -rf", TOKEN_SCOPE_WRITE, 0, secret), 2);
	assert_int_equal(token_create(db, "", TOKEN_SCOPE_WRITE, 0, secret), 2);
	assert_int_equal(token_create(db, "ok", TOKEN_SCOPE_WRITE, 0, secret), 0);
	assert_int_equal(token_create(db, "ok", TOKEN_SCOPE_WRITE, 0, again), 1);
	assert_int_equal(token_verify(db, secret, NULL), TOKEN_OK);
	unit_db_close(db);
}

static int count_cb(const struct token_info *t, void *payload)
{
	int *n = payload;

	(void)t;
	(*n)++;
	return 0;
}

static void test_revoke(void **state)
{
	struct db *db = unit_db_open("token");
	char secret[TOKEN_SECRET_SIZE], fresh[TOKEN_SECRET_SIZE];
	struct token_info info;
	int n = 0;

	(void)state;
	assert_int_equal(token_create(db, "bot", TOKEN_SCOPE_WRITE, 0, secret), 0);
	assert_int_equal(token_revoke(db, "nobody"), 1);
	assert_int_equal(token_revoke(db, "bot"), 0);
	assert_int_equal(token_revoke(db, "bot"), 2);
	assert_int_equal(token_verify(db, secret, &info), TOKEN_REVOKED);
	assert_string_equal(info.name, "bot");
	/* The name of a revoked token can be used again, with a new secret. */
	assert_int_equal(token_create(db, "bot", TOKEN_SCOPE_WRITE, 0, fresh), 0);
	assert_int_equal(token_verify(db, fresh, NULL), TOKEN_OK);
	assert_int_equal(token_verify(db, secret, NULL), TOKEN_UNKNOWN);
	assert_int_equal(token_list(db, count_cb, &n), 0);
	assert_int_equal(n, 1);
	unit_db_close(db);
}

/* A scope is stored and reported; an expired token is refused, and its
 * name may be used again. */
static void test_scope_expiry(void **state)
{
	struct db *db = unit_db_open("token");
	char a[TOKEN_SECRET_SIZE], b[TOKEN_SECRET_SIZE], c[TOKEN_SECRET_SIZE];
	struct token_info info;
	long long now = now_wall_ms();

	(void)state;
	assert_int_equal(token_create(db, "hooks", TOKEN_SCOPE_PUSH, 0, a), 0);
	assert_int_equal(token_verify(db, a, &info), TOKEN_OK);
	assert_int_equal(info.scope, TOKEN_SCOPE_PUSH);
	assert_int_equal(token_create(db, "boss", TOKEN_SCOPE_ADMIN, now + 86400000, b), 0);
	assert_int_equal(token_verify(db, b, &info), TOKEN_OK);
	assert_int_equal(info.scope, TOKEN_SCOPE_ADMIN);
	assert_int_equal(info.expires_at, now + 86400000);
	assert_int_equal(token_create(db, "old", TOKEN_SCOPE_READ, now - 1, c), 0);
	assert_int_equal(token_verify(db, c, &info), TOKEN_EXPIRED);
	assert_string_equal(info.name, "old");
	/* Expired: the name is free again; live: it is not. */
	assert_int_equal(token_create(db, "old", TOKEN_SCOPE_READ, 0, c), 0);
	assert_int_equal(token_verify(db, c, NULL), TOKEN_OK);
	assert_int_equal(token_create(db, "boss", TOKEN_SCOPE_READ, 0, c), 1);
	/* The schema takes no other scope. */
	assert_int_equal(db_exec(db, "UPDATE tokens SET scope = 'root'", NULL), -1);
	unit_db_close(db);
}

/*
 * Recording when a token was used is bookkeeping: when it fails (here a
 * trigger refuses it), the token is still accepted (and a warning logged).
 */
static void test_use_not_recorded(void **state)
{
	struct db *db = unit_db_open("token");
	char secret[TOKEN_SECRET_SIZE];
	long long used = -1;

	(void)state;
	assert_int_equal(token_create(db, "ci", TOKEN_SCOPE_WRITE, 0, secret), 0);
	assert_int_equal(db_exec(db, "CREATE TRIGGER refuse_use BEFORE UPDATE OF"
				 " last_used_at ON tokens BEGIN SELECT RAISE(ABORT,"
				 " 'refused'); END", NULL), 0);
	assert_int_equal(token_verify(db, secret, NULL), TOKEN_OK);
	assert_int_equal(db_get_int(db, &used, "SELECT coalesce(last_used_at, 0)"
				    " FROM tokens WHERE name = 'ci'", NULL), 1);
	assert_int_equal(used, 0);
	unit_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_vectors),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_create_verify),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_revoke),
		cmocka_unit_test(test_use_not_recorded),
		cmocka_unit_test(test_scope_expiry),
	};

	return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
