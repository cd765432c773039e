/*
 * db: SQLite connection, migrations and a small statement cache.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "wrapper.h"
#include "banned.h"

/*
 * A statement failed: log it and, inside a transaction, doom the
 * transaction so that db_commit() rolls all of it back.  The first failure
 * is the one db_commit() names.
 */
static int db_fail(struct db *db, const char *what, const char *sql)
{
	const char *msg = sqlite3_errmsg(db->h);

	error("%s: %s", msg, sql ? sql : what);
	if (db->depth > 0 && !db->failed) {
		db->failed = 1;
		snprintf(db->failed_what, sizeof(db->failed_what), "%s: %s", msg,
			 sql ? sql : what);
	}
	return -1;
}

static int bind_args(sqlite3 *h, sqlite3_stmt *st, const char *fmt, va_list ap)
{
	int i, rc = SQLITE_OK;

	if ((int)(fmt ? strlen(fmt) : 0) != sqlite3_bind_parameter_count(st))
		return error("%d arguments for %d parameters: %s",
			     (int)(fmt ? strlen(fmt) : 0),
			     sqlite3_bind_parameter_count(st), sqlite3_sql(st));

	for (i = 0; fmt && fmt[i] && rc == SQLITE_OK; i++) {
		switch (fmt[i]) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			rc = s ? sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, i + 1);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int(st, i + 1, va_arg(ap, int));
			break;
		case 'l':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
			break;
		case 'L': {
			long long v = va_arg(ap, long long);
			rc = v ? sqlite3_bind_int64(st, i + 1, v)
			       : sqlite3_bind_null(st, i + 1);
			break;
		}
		case 'd':
			rc = sqlite3_bind_double(st, i + 1, va_arg(ap, double));
			break;
		default:
			return error("bad format character '%c'", fmt[i]);
		}
	}
	if (rc != SQLITE_OK)
		return error("bind: %s", sqlite3_errmsg(h));
	return 0;
}

static sqlite3_stmt *cached(struct db *db, const char *sql)
{
	sqlite3_stmt *st;
	int i, free_slot = -1;

	for (i = 0; i < DB_CACHE_SIZE; i++) {
		if (!db->cache[i].sql) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (db->cache[i].sql == sql || !strcmp(db->cache[i].sql, sql))
			return db->cache[i].st;
	}
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
			       NULL) != SQLITE_OK) {
		db_fail(db, "prepare", sql);
		return NULL;
	}
	if (free_slot < 0) {
		/*
		 * Full: evict a statement that is not being stepped (a busy one
		 * belongs to a loop further up the stack).  Statements are cheap
		 * to prepare again.
		 */
		int start = (int)((size_t)sql % DB_CACHE_SIZE);

		for (i = 0; i < DB_CACHE_SIZE && free_slot < 0; i++) {
			int k = (start + i) % DB_CACHE_SIZE;

			if (!sqlite3_stmt_busy(db->cache[k].st))
				free_slot = k;
		}
		if (free_slot < 0) {
			sqlite3_finalize(st);
			error("statement cache full of busy statements: %s", sql);
			return NULL;
		}
		sqlite3_finalize(db->cache[free_slot].st);
	}
	db->cache[free_slot].sql = sql;
	db->cache[free_slot].st = st;
	return st;
}

static sqlite3_stmt *vstmt(struct db *db, const char *sql, const char *fmt,
			   va_list ap)
{
	sqlite3_stmt *st = cached(db, sql);

	if (!st)
		return NULL;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (bind_args(db->h, st, fmt, ap) < 0) {
		sqlite3_reset(st);
		db_fail(db, "bind", sql);
		return NULL;
	}
	return st;
}

sqlite3_stmt *db_stmt(struct db *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = vstmt(db, sql, fmt, ap);
	va_end(ap);
	return st;
}

void db_done(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

int db_exec(struct db *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	st = vstmt(db, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	db_done(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, "exec", sql);
	return 0;
}

/*
 * Step a query once: 1 with the statement on its first row (the caller
 * reads it and calls db_done()), 0 no row, -1 an error.
 */
static int first_row(struct db *db, sqlite3_stmt **out, const char *sql,
		     const char *fmt, va_list ap)
{
	sqlite3_stmt *st = vstmt(db, sql, fmt, ap);
	int rc;

	*out = NULL;
	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = st;
		return 1;
	}
	db_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, "query", sql);
}

int db_first(struct db *db, sqlite3_stmt **st, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = first_row(db, st, sql, fmt, ap);
	va_end(ap);
	return rc;
}

int db_get_int(struct db *db, long long *out, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = first_row(db, &st, sql, fmt, ap);
	va_end(ap);
	if (rc == 1) {
		*out = sqlite3_column_int64(st, 0);
		db_done(st);
	}
	return rc;
}

int db_get_text(struct db *db, char **out, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = first_row(db, &st, sql, fmt, ap);
	va_end(ap);
	if (rc == 1) {
		*out = db_col_dup(st, 0);
		db_done(st);
	}
	return rc;
}

int db_get_ids(struct db *db, long long *out, size_t max, const char *sql,
	       const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	size_t n = 0;
	int rc = SQLITE_DONE;	/* max == 0: no step, no error */

	va_start(ap, fmt);
	st = vstmt(db, sql, fmt, ap);
	va_end(ap);
	if (!st)
		return -1;
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
		out[n++] = sqlite3_column_int64(st, 0);
	db_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, "query", sql);
	return (int)n;
}

const char *db_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? (const char *)t : "";
}

char *db_col_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? xstrdup((const char *)t) : NULL;
}

long long db_last_id(struct db *db)
{
	return sqlite3_last_insert_rowid(db->h);
}

int db_changes(struct db *db)
{
	return sqlite3_changes(db->h);
}

int db_step(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(db, "step", sqlite3_sql(st));
}

int db_begin(struct db *db)
{
	if (db->depth++ > 0)
		return db->failed ? -1 : 0;
	db->failed = 0;
	db->failed_what[0] = '\0';
	if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		db->depth = 0;
		return error("BEGIN IMMEDIATE: %s", sqlite3_errmsg(db->h));
	}
	return 0;
}

int db_commit(struct db *db)
{
	if (db->depth == 0)
		return error("commit without begin");
	if (--db->depth > 0)
		return db->failed ? -1 : 0;
	if (db->failed) {
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
		db->failed = 0;
		return error("transaction rolled back, a statement failed: %s",
			     db->failed_what);
	}
	if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		error("COMMIT: %s", sqlite3_errmsg(db->h));
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

void db_rollback(struct db *db)
{
	if (db->depth == 0)
		return;
	if (!db->failed) {
		db->failed = 1;
		snprintf(db->failed_what, sizeof(db->failed_what), "rolled back");
	}
	if (--db->depth > 0)
		return;
	sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	db->failed = 0;
}

int db_transaction(struct db *db, db_body_fn *body, long long id, const void *arg)
{
	int rc;

	if (db_begin(db) < 0)
		return -1;
	rc = body(db, id, arg);
	if (rc < 0) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db) < 0)
		return -1;
	return rc;
}

int db_in_transaction(const struct db *db)
{
	return db->depth > 0;
}

int db_schema_version(struct db *db)
{
	long long v = 0;

	if (db_get_int(db, &v, "PRAGMA user_version", NULL) < 0)
		return -1;
	return (int)v;
}

/* Apply one migration in its own transaction; the foreign keys must hold. */
static int migrate_one(struct db *db, const struct migration *m)
{
	char pragma[64];
	long long broken = 0;

	if (db_begin(db) < 0)
		return -1;
	if (sqlite3_exec(db->h, m->sql, NULL, NULL, NULL) != SQLITE_OK) {
		error("migration %s: %s", m->name, sqlite3_errmsg(db->h));
		goto fail;
	}
	if (db_get_int(db, &broken, "SELECT count(*) FROM pragma_foreign_key_check",
		       NULL) < 0)
		goto fail;
	if (broken) {
		error("migration %s: %lld rows break a foreign key", m->name, broken);
		goto fail;
	}
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", m->version);
	if (sqlite3_exec(db->h, pragma, NULL, NULL, NULL) != SQLITE_OK) {
		error("migration %s: %s", m->name, sqlite3_errmsg(db->h));
		goto fail;
	}
	if (db_commit(db) < 0)
		return -1;
	info("applied migration %s", m->name);
	return 0;
fail:
	db_rollback(db);
	return -1;
}

/*
 * Migrations may rebuild tables (SQLite cannot add a CHECK to a column):
 * foreign keys are off while they run, as the SQLite documentation's
 * procedure for that asks, and checked before each commits.
 */
static int migrate(struct db *db)
{
	const struct migration *m;
	int have = db_schema_version(db), ret = 0;

	if (have < 0)
		return -1;
	if (sqlite3_exec(db->h, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL) != SQLITE_OK)
		return error("foreign_keys: %s", sqlite3_errmsg(db->h));
	for (m = db_migrations; m->sql && ret == 0; m++)
		if (m->version > have)
			ret = migrate_one(db, m);
	if (sqlite3_exec(db->h, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK)
		return error("foreign_keys: %s", sqlite3_errmsg(db->h));
	return ret;
}

void db_close(struct db *db)
{
	int i;

	if (!db)
		return;
	for (i = 0; i < DB_CACHE_SIZE; i++)
		if (db->cache[i].st)
			sqlite3_finalize(db->cache[i].st);
	sqlite3_close(db->h);
	free(db);
}
struct db *db_open(const char *path)
{
	struct db *db = xcalloc(1, sizeof(*db));
	int rc;

	rc = sqlite3_open_v2(path, &db->h,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		error("%s: %s", path, db->h ? sqlite3_errmsg(db->h) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 15000);
	if (sqlite3_exec(db->h, "PRAGMA journal_mode = WAL;"
			 "PRAGMA synchronous = NORMAL;", NULL, NULL, NULL) != SQLITE_OK) {
		error("%s: %s", path, sqlite3_errmsg(db->h));
		goto fail;
	}
	if (migrate(db) < 0)
		goto fail;
	return db;
fail:
	db_close(db);
	return NULL;
}

