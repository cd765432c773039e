#ifndef UNIT_DB_H
#define UNIT_DB_H

/*
 * A fresh kstage database in a temporary directory, for the unit tests
 * of the modules that own tables (include after unit.h).  One at a time
 * per test binary:
 *
 *	struct db *db = unit_db_open("queue");	   all migrations applied
 *	...
 *	unit_db_close(db);			   and the directory is gone
 */
#include <unistd.h>

#include "db.h"
#include "wrapper.h"

static char unit_db_dir[64];

static inline struct db *unit_db_open(const char *tag)
{
	struct db *db;
	char *path;

	snprintf(unit_db_dir, sizeof(unit_db_dir), "/tmp/kstage-unit-%s.XXXXXX", tag);
	assert_non_null(mkdtemp(unit_db_dir));
	path = path_join(unit_db_dir, "k.db");
	db = db_open(path);
	free(path);
	assert_non_null(db);
	return db;
}

static inline void unit_db_close(struct db *db)
{
	db_close(db);
	remove_tree(unit_db_dir);
}

#endif
