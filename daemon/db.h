#ifndef DB_H
#define DB_H

#include <sqlite3.h>

/*
 * db: the SQLite state store.
 *
 * One struct db per thread (SQLite connections are not shared): the event
 * loop has one, every HTTP worker thread has its own.  db_open() sets WAL
 * mode, a busy timeout and foreign keys, and applies the migrations
 * compiled in from schema/ (PRAGMA user_version says which ran).
 *
 * Every function returns 0 (or a count, or 1 for "found") on success and
 * -1 on an error, which it logs.
 *
 * Statements are prepared once per connection and cached by their SQL
 * text: db_stmt() returns a statement with the arguments bound; the caller
 * steps it and must hand it back with db_done() (which resets it).
 *
 * Argument formats ("fmt"), one character per "?" in the SQL:
 *   s  const char * (NULL binds NULL)
 *   i  int
 *   l  long long
 *   L  long long, where 0 binds NULL (optional ids)
 *   d  double
 */

struct migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct migration db_migrations[];

#define DB_CACHE_SIZE 160

struct db {
	sqlite3 *h;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[DB_CACHE_SIZE];
	int depth;		/* nesting of db_begin() */
	int failed;		/* a statement of this transaction failed */
	char failed_what[256];	/* the first one, for the log */
};

/* Open (creating if needed) and migrate.  NULL on failure (logged). */
struct db *db_open(const char *path);
void db_close(struct db *db);

/* The current schema version of an open database. */
int db_schema_version(struct db *db);

/*
 * Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK; nested calls count
 * depth, the outermost pair does the work.
 *
 * All or nothing: when any statement fails inside a transaction (an
 * exec, a query, a prepare, a bind, a db_step()), or a nested level rolls
 * back, the transaction is doomed: the outermost db_commit() rolls all of
 * it back, logs the first failed statement and returns -1 (a nested
 * db_commit() returns -1 at once).  A caller still checks every result,
 * but one that forgets cannot commit half a change.
 */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);
int db_in_transaction(const struct db *db);

/*
 * body(db, id, arg) in a transaction of its own (or as part of the
 * caller's): committed when it returns >= 0, all of it rolled back when
 * it returns < 0.  Returns what body returned, or -1 if the commit failed.
 */
typedef int db_body_fn(struct db *db, long long id, const void *arg);
int db_transaction(struct db *db, db_body_fn *body, long long id, const void *arg);

/*
 * sqlite3_step() for a statement from db_stmt(): 1 a row, 0 done, -1 an
 * error (logged, and it dooms the transaction as above).
 */
int db_step(struct db *db, sqlite3_stmt *st);

/* Run a statement that returns no rows.  0 or -1 (logged). */
int db_exec(struct db *db, const char *sql, const char *fmt, ...);

/* Prepared, bound statement from the cache, or NULL (logged). */
sqlite3_stmt *db_stmt(struct db *db, const char *sql, const char *fmt, ...);
void db_done(sqlite3_stmt *st);

/*
 * Run a query for its first row: 1 with *st on that row (read its
 * columns, then hand it back with db_done()), 0 no row (*st NULL), -1 an
 * error (logged; *st NULL).
 */
int db_first(struct db *db, sqlite3_stmt **st, const char *sql, const char *fmt, ...);

/*
 * Run a query for a single integer in the first column of the first row.
 * Returns 1 if a row was found (*out set), 0 if none, -1 on error.
 */
int db_get_int(struct db *db, long long *out, const char *sql, const char *fmt, ...);

/* Same for a text column (the caller frees *out; NULL column -> NULL). */
int db_get_text(struct db *db, char **out, const char *sql, const char *fmt, ...);

/*
 * Run a query and collect the integers of its first column, at most max
 * of them, into out.  Returns how many (>= 0), or -1 on error.
 */
int db_get_ids(struct db *db, long long *out, size_t max, const char *sql,
	       const char *fmt, ...);

long long db_last_id(struct db *db);
int db_changes(struct db *db);

/* sqlite3_column_text() as const char *, "" for NULL. */
const char *db_col_text(sqlite3_stmt *st, int col);
/* Fresh copy of a text column, NULL for NULL. */
char *db_col_dup(sqlite3_stmt *st, int col);

#endif
