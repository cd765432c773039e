/*
 * Unit tests of the state name tables (states.c and the pure modules')
 * against the schema: every name of an enum is accepted by its column's
 * CHECK constraint, a wrong string is refused, and names map both ways.
 */
#include "unit.h"
#include "unit-db.h"

#include <unistd.h>

#include "bisect.h"
#include "compare.h"
#include "config.h"
#include "console.h"
#include "db.h"
#include "ktap.h"
#include "plan.h"
#include "states.h"
#include "wrapper.h"


static struct db *fresh_db(void)
{
	struct db *db = unit_db_open("states");

	/* One row in every table with a state column. */
	assert_int_equal(db_exec(db,
		"INSERT INTO plans (id, name, path, repo, base, profile,"
		" profile_digest, updated_at) VALUES (1, 'p', 'p.json', 'r', 'b',"
		" 'f', 'd', 0)", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO gates (plan_id, updated_at)"
				 " VALUES (1, 0)", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO gate_decisions (plan_id, at, action,"
				 " by, detail) VALUES (1, 0, 'moved', 'auto', 'd')",
				 NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO stages (id, plan_id, idx, name,"
				 " branch) VALUES (1, 1, 1, 's', 's')", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO tokens (name, hash, created_at)"
				 " VALUES ('t', 'h', 0)", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO runs (id, plan_id, stage_id,"
				 " commit_id, tree_id, profile, profile_digest, reason,"
				 " state, queued_at) VALUES (1, 1, 1, 'c', 't', 'f', 'd',"
				 " 'change', 'queued', 0)", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO steps (run_id, idx, name, state)"
				 " VALUES (1, 0, 'build', 'pending')", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO results (run_id, test, status)"
				 " VALUES (1, 'a', 'pass')", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO changes (stage_id, test, kind)"
				 " VALUES (1, 'a', 'new')", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO bisections (id, plan_id, stage_id,"
				 " reason, good_commit, bad_commit, tests, state,"
				 " created_at, updated_at) VALUES (1, 1, 1, 'auto', 'g',"
				 " 'b', 'a', 'requested', 0, 0)", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO bisection_commits (bisection_id,"
				 " seq, commit_id, tree_id, subject, author) VALUES"
				 " (1, 0, 'c', 't', 's', 'a')", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO bisection_runs (bisection_id,"
				 " run_id, seq, phase) VALUES (1, 1, 0, 'search')",
				 NULL), 0);
	return db;
}

/*
 * db_exec() caches statements by their text's address: every text made
 * here stays until the database is closed (close_db()).
 */
static char **texts;
static size_t nr_texts;

/* Set column of the table's one row to value: 0 stored, -1 refused. */
static int set(struct db *db, const char *table, const char *column,
	       const char *value)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "UPDATE %s SET %s = ?", table, column);
	texts = xrealloc(texts, (nr_texts + 1) * sizeof(*texts));
	texts[nr_texts] = xstrdup(sql);
	return db_exec(db, texts[nr_texts++], "s", value);
}

static void close_db(struct db *db)
{
	unit_db_close(db);
	while (nr_texts)
		free(texts[--nr_texts]);
	free(texts);
	texts = NULL;
}

typedef const char *(*name_fn)(int v);

struct column {
	const char *table, *column;
	name_fn name;
	int count;
};

#define COL(t, c, fn, n) { t, c, (name_fn)(void (*)(void))fn, n }

static const struct column columns[] = {
	COL("runs", "reason", run_reason_name, RUN_REASON_COUNT),
	COL("steps", "state", step_state_name, STEP_STATE_COUNT),
	COL("stages", "verdict", stage_verdict_name, STAGE_VERDICT_COUNT),
	COL("stages", "stack_state", stack_state_name, STACK_STATE_COUNT),
	COL("bisections", "state", bisection_state_name, BISECTION_STATE_COUNT),
	COL("bisection_runs", "phase", bisect_phase_name, BISECT_PHASE_COUNT),
	COL("gates", "state", gate_state_name, GATE_STATE_COUNT),
	COL("gate_decisions", "action", gate_action_name, GATE_ACTION_COUNT),
	COL("tokens", "scope", token_scope_name, TOKEN_SCOPE_COUNT),
	COL("plans", "gate_policy", gate_policy_name, 3),
	COL("plans", "fetch_state", fetch_state_name, FETCH_STATE_COUNT),
	COL("results", "status", test_status_name, TEST_STATUS_COUNT),
	COL("changes", "kind", change_kind_name, CHANGE_KIND_COUNT),
	COL("changes", "before", test_status_name, TEST_STATUS_COUNT),
	COL("runs", "boot_verdict", boot_verdict_name, BOOT_VERDICT_COUNT),
};

static void test_every_name_is_stored_nothing_else(void **state)
{
	struct db *db = fresh_db();
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < sizeof(columns) / sizeof(columns[0]); i++) {
		const struct column *c = &columns[i];

		for (v = 0; v < c->count; v++) {
			if (set(db, c->table, c->column, c->name(v)) != 0)
				fail_msg("%s.%s refuses \"%s\"", c->table, c->column,
					 c->name(v));
		}
		if (set(db, c->table, c->column, "bogus") != -1)
			fail_msg("%s.%s stores \"bogus\"", c->table, c->column);
		if (set(db, c->table, c->column, "") != -1)
			fail_msg("%s.%s stores \"\"", c->table, c->column);
	}
	close_db(db);
}

/* A run's state and verdict go together: done has one, the others none. */
static void test_run_state_and_verdict(void **state)
{
	struct db *db = fresh_db();
	int v;

	(void)state;
	for (v = 0; v < RUN_STATE_COUNT; v++) {
		const char *verdict = v == RUN_DONE ? "pass" : NULL;

		assert_int_equal(db_exec(db, "UPDATE runs SET state = ?, verdict = ?",
					 "ss", run_state_name(v), verdict), 0);
	}
	for (v = 0; v < RUN_VERDICT_COUNT; v++)
		assert_int_equal(db_exec(db, "UPDATE runs SET state = 'done',"
					 " verdict = ?", "s", run_verdict_name(v)), 0);
	assert_int_equal(db_exec(db, "UPDATE runs SET verdict = 'bogus'", NULL), -1);
	assert_int_equal(db_exec(db, "UPDATE runs SET state = 'finished'", NULL), -1);
	assert_int_equal(db_exec(db, "UPDATE runs SET state = 'done', verdict = NULL",
				 NULL), -1);
	assert_int_equal(db_exec(db, "UPDATE runs SET state = 'queued',"
				 " verdict = 'pass'", NULL), -1);
	unit_db_close(db);
}

static void test_names_map_both_ways(void **state)
{
	enum run_state r;
	enum bisection_state b;
	enum gate_state g;
	int v;

	(void)state;
	for (v = 0; v < RUN_STATE_COUNT; v++) {
		assert_int_equal(run_state_parse(&r, run_state_name(v)), 0);
		assert_int_equal((int)r, v);
	}
	for (v = 0; v < BISECTION_STATE_COUNT; v++) {
		assert_int_equal(bisection_state_parse(&b, bisection_state_name(v)), 0);
		assert_int_equal((int)b, v);
		assert_int_equal(bisection_state_final(b), v >= BISECTION_FOUND);
	}
	assert_int_equal(gate_state_parse(&g, "can-advance"), 0);
	assert_int_equal(g, GATE_CAN_ADVANCE);
	assert_int_equal(run_state_parse(&r, "Queued"), -1);
	assert_int_equal(run_state_parse(&r, NULL), -1);
	assert_string_equal(run_state_name(RUN_STATE_COUNT), "unknown");
	assert_string_equal(stage_verdict_name(-1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_name_is_stored_nothing_else),
		cmocka_unit_test(test_run_state_and_verdict),
		cmocka_unit_test(test_names_map_both_ways),
	};

	return cmocka_run_group_tests_name("states", tests, NULL, NULL);
}
