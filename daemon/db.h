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
};

/* Open (creating if needed) and migrate.  NULL on failure (logged). */
struct db *db_open(const char *path);
void db_close(struct db *db);

/* The current schema version of an open database. */
int db_schema_version(struct db *db);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK; nested calls only count depth. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* Run a statement that returns no rows.  0 or -1 (logged). */
int db_exec(struct db *db, const char *sql, const char *fmt, ...);

/* Prepared, bound statement from the cache, or NULL (logged). */
sqlite3_stmt *db_stmt(struct db *db, const char *sql, const char *fmt, ...);
void db_done(sqlite3_stmt *st);

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

/*
 * Record an event (for live updates and the audit trail).  Ids of 0 are
 * stored as NULL; data may be NULL (a JSON object as text otherwise).
 */
int db_event(struct db *db, const char *kind, long long plan_id,
	     long long stage_id, long long run_id, long long bisection_id,
	     const char *data);

#endif
