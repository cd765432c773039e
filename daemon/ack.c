/*
 * ack: acknowledged failures in the database (see ack.h).
 */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "ack.h"
#include "events.h"
#include "log.h"
#include "wrapper.h"
#include "banned.h"

long long ack_add(struct db *db, long long plan_id, const char *test,
		  const char *reason, const char *until, const char *by,
		  long long *existing)
{
	long long id = 0;
	int rc;

	*existing = 0;
	if (db_begin(db) < 0)
		return -1;
	rc = db_get_int(db, existing, "SELECT id FROM acks WHERE plan_id = ? AND"
			" test = ?", "ls", plan_id, test);
	if (rc != 0) {
		db_rollback(db);
		return rc < 0 ? -1 : 0;
	}
	if (db_exec(db, "INSERT INTO acks (plan_id, test, reason, until_stage,"
		    " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)", "lssssl",
		    plan_id, test, reason, until, by, now_wall_ms()) < 0)
		goto fail;
	id = db_last_id(db);
	if (events_add(db, "ack", plan_id, 0, 0, 0,
		       json_pack("{s:I,s:s,s:s}", "ack", (json_int_t)id, "test", test,
				 "state", "added")) < 0)
		goto fail;
	if (db_commit(db) < 0)
		return -1;
	return id;
fail:
	db_rollback(db);
	return -1;
}

int ack_delete(struct db *db, long long plan_id, long long id)
{
	int n;

	if (db_begin(db) < 0)
		return -1;
	if (db_exec(db, "DELETE FROM acks WHERE id = ? AND plan_id = ?", "ll", id,
		    plan_id) < 0)
		goto fail;
	n = db_changes(db);
	if (n && events_add(db, "ack", plan_id, 0, 0, 0,
			    json_pack("{s:I,s:s}", "ack", (json_int_t)id,
				      "state", "deleted")) < 0)
		goto fail;
	if (db_commit(db) < 0)
		return -1;
	return n ? 1 : 0;
fail:
	db_rollback(db);
	return -1;
}

int ack_load(struct ack_list *out, struct db *db, long long plan_id)
{
	sqlite3_stmt *st;
	size_t alloc = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	st = db_stmt(db, "SELECT test, reason, until_stage FROM acks WHERE"
		     " plan_id = ? ORDER BY id", "l", plan_id);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		struct verdict_ack *a;

		ALLOC_GROW(out->v, out->nr + 1, alloc);
		a = &out->v[out->nr++];
		a->test = db_col_dup(st, 0);
		a->reason = db_col_dup(st, 1);
		a->until = db_col_dup(st, 2);
	}
	db_done(st);
	if (rc < 0) {
		ack_list_release(out);
		return -1;
	}
	return 0;
}

void ack_list_release(struct ack_list *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++) {
		free((char *)l->v[i].test);
		free((char *)l->v[i].reason);
		free((char *)l->v[i].until);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}
