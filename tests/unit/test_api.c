/*
 * Unit tests of the API's JSON (json.c, api.c, api_read.c) on a temporary
 * database: the row writer escapes and repairs what it is given, nests,
 * and makes nulls and booleans; errors are JSON; integers are parsed
 * strictly; a query that fails is an error of the read (api_read.c,
 * plain.c, metrics.c), never a reply with the rows read so far.
 */
#include "unit.h"
#include "unit-db.h"

#include <unistd.h>
#include <jansson.h>

#include "api.h"
#include "api_read.h"
#include "db.h"
#include "metrics.h"
#include "plain.h"
#include "wrapper.h"


static struct db *fresh_db(void)
{
	struct db *db = unit_db_open("api");

	assert_int_equal(db_exec(db, "INSERT INTO plans (id, name, path, repo, base,"
				 " profile, profile_digest, updated_at) VALUES (1, 'p',"
				 " 'p.json', 'r', 'base', 'fake', 'd1', 0)", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO stages (id, plan_id, idx, name, branch,"
				 " title) VALUES (10, 1, 0, 'base', 'base', NULL),"
				 " (11, 1, 1, 'one', 's1', ?)", "s",
				 "quote \" backslash \\ tab \t nl \n bell \a"), 0);
	return db;
}

/* Call fn and parse its JSON reply (which must end with a newline). */
static json_t *call(api_fn *fn, struct db *db, const char *p0, const char *p1,
		    int want_status)
{
	struct api_request req = API_REQUEST_INIT;
	struct api_reply rep = API_REPLY_INIT;
	json_error_t jerr;
	json_t *j;

	req.db = db;
	req.params[0] = p0;
	req.params[1] = p1;
	assert_int_equal(api_read_begin(db), 0);
	assert_int_equal(fn(&rep, &req), 0);
	api_read_end(db);
	assert_int_equal(rep.status, want_status);
	assert_true(rep.body.len > 0 && rep.body.buf[rep.body.len - 1] == '\n');
	j = json_loadb(rep.body.buf, rep.body.len, 0, &jerr);
	if (!j)
		fail_msg("invalid JSON (%s): %s", jerr.text, rep.body.buf);
	api_reply_release(&rep);
	return j;
}

static void test_escapes_and_nulls(void **state)
{
	struct db *db = fresh_db();
	json_t *j, *one;

	(void)state;
	j = call(api_plans, db, NULL, NULL, 200);
	one = json_array_get(json_object_get(json_array_get(json_object_get(j, "plans"),
							    0), "stages"), 1);
	assert_string_equal(json_string_value(json_object_get(one, "title")),
			    "quote \" backslash \\ tab \t nl \n bell \a");
	/* No run, no bisection: null objects; counts are zeros. */
	assert_true(json_is_null(json_object_get(one, "run")));
	assert_true(json_is_null(json_object_get(one, "bisection")));
	assert_true(json_is_null(json_object_get(one, "head")));
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(one, "counts"), "fail")), 0);
	assert_int_equal(json_integer_value(json_object_get(one, "idx")), 1);
	/* Hidden columns stay hidden. */
	assert_null(json_object_get(one, "_id"));
	json_decref(j);
	unit_db_close(db);
}

static void test_invalid_utf8(void **state)
{
	struct db *db = fresh_db();
	json_t *j, *c;

	(void)state;
	/* Latin-1, a lone continuation byte, an overlong '/', a surrogate. */
	assert_int_equal(db_exec(db, "INSERT INTO stage_commits (stage_id, seq, commit_id,"
				 " subject, author) VALUES (11, 0, 'c0', ?, ?)", "ss",
				 "caf\xe9 \x80 \xc0\xaf \xed\xa0\x80 ok \xc3\xa9",
				 "A U Thor"), 0);
	j = call(api_stage, db, "p", "one", 200);
	c = json_array_get(json_object_get(j, "commits"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "subject")),
			    "caf\xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
			    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9");
	assert_int_equal(json_array_size(json_object_get(j, "results")), 0);
	json_decref(j);
	unit_db_close(db);
}

/* Every result of the stage's run with its status on the baseline run. */
static void test_results_with_baseline(void **state)
{
	struct db *db = fresh_db();
	json_t *j, *r;
	size_t i;
	static const char *const want[][3] = {
		{ "a/1", "pass", "pass" }, { "a/2", "fail", "pass" },
		{ "b/1", "pass", NULL }, { "c/9", "skip", "skip" },
	};

	(void)state;
	assert_int_equal(db_exec(db, "INSERT INTO runs (id, plan_id, stage_id, commit_id,"
				 " tree_id, profile, profile_digest, reason, state,"
				 " verdict, queued_at) VALUES (1, 1, 10, 'c', 't', 'fake',"
				 " 'd1', 'change', 'done', 'fail', 0), (2, 1, 11, 'c', 't',"
				 " 'fake', 'd1', 'change', 'done', 'fail', 0)", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO results (run_id, test, status) VALUES"
				 " (1, 'a/0', 'pass'), (1, 'a/1', 'pass'), (1, 'a/2', 'pass'),"
				 " (1, 'b/0', 'fail'), (1, 'c/9', 'skip'), (1, 'd/1', 'pass'),"
				 " (2, 'a/1', 'pass'), (2, 'a/2', 'fail'), (2, 'b/1', 'pass'),"
				 " (2, 'c/9', 'skip')", NULL), 0);
	assert_int_equal(db_exec(db, "UPDATE stages SET run_id = 2, baseline_run_id = 1"
				 " WHERE id = 11", NULL), 0);
	j = call(api_stage, db, "p", "one", 200);
	r = json_object_get(j, "results");
	assert_int_equal(json_array_size(r), 4);
	for (i = 0; i < 4; i++) {
		json_t *e = json_array_get(r, i);

		assert_string_equal(json_string_value(json_object_get(e, "test")), want[i][0]);
		assert_string_equal(json_string_value(json_object_get(e, "status")), want[i][1]);
		if (want[i][2])
			assert_string_equal(json_string_value(json_object_get(e, "baseline")),
					    want[i][2]);
		else
			assert_true(json_is_null(json_object_get(e, "baseline")));
	}
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "run"),
							    "id")), 2);
	json_decref(j);
	unit_db_close(db);
}

/* Call fn and return what it returned; the reply is dropped. */
static int call_rc(api_fn *fn, struct db *db, const char *p0, const char *p1)
{
	struct api_request req = API_REQUEST_INIT;
	struct api_reply rep = API_REPLY_INIT;
	int rc;

	req.db = db;
	req.params[0] = p0;
	req.params[1] = p1;
	assert_int_equal(api_read_begin(db), 0);
	rc = fn(&rep, &req);
	api_read_end(db);
	api_reply_release(&rep);
	return rc;
}

/*
 * Replace a table by a view of the given columns whose rows cannot be
 * computed: json_extract() of text that is not JSON fails when a row is
 * stepped ("malformed JSON"), after the query was prepared, which is the
 * case a read must not take for "no more rows".
 */
static void break_table(struct db *db, const char *table, const char *cols)
{
	char *sql;
	sqlite3_stmt *st;

	/*
	 * Not through db_exec(): its statement cache knows a SQL text by its
	 * address (a literal's), and a freed buffer's address comes back.
	 */
	sql = sqlite3_mprintf("DROP TABLE \"%w\"; CREATE VIEW \"%w\" AS SELECT %s,"
			      " json_extract('not json', '$') AS broken", table,
			      table, cols);
	assert_int_equal(sqlite3_exec(db->h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_free(sql);
	sql = sqlite3_mprintf("SELECT * FROM \"%w\"", table);
	assert_int_equal(sqlite3_prepare_v2(db->h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ERROR);
	sqlite3_finalize(st);
	sqlite3_free(sql);
}

/* A failing query is the handler's failure (a 500), not a partial 200. */
static void test_failing_read(void **state)
{
	struct db *db = fresh_db();
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	assert_int_equal(db_exec(db, "INSERT INTO runs (id, plan_id, stage_id, commit_id,"
				 " tree_id, profile, profile_digest, reason, state,"
				 " verdict, queued_at) VALUES (2, 1, 11, 'c', 't', 'fake',"
				 " 'd1', 'change', 'done', 'fail', 0)", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO results (run_id, test, status) VALUES"
				 " (2, 'a/1', 'fail')", NULL), 0);
	assert_int_equal(db_exec(db, "UPDATE stages SET run_id = 2 WHERE id = 11",
				 NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO bisections (id, plan_id, stage_id,"
				 " reason, good_commit, bad_commit, tests, state, culprit,"
				 " range_good, range_bad, created_at, updated_at) VALUES"
				 " (1, 1, 11, 'manual', 'g', 'b', 'a/1', 'found', 'c1',"
				 " 'g', 'b', 0, 0)", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO bisection_commits (bisection_id, seq,"
				 " commit_id, tree_id, subject, author) VALUES"
				 " (1, 0, 'c1', 't1', 'subject', 'author')", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO bisection_runs (bisection_id, run_id,"
				 " seq, phase) VALUES (1, 2, 0, 'verify')", NULL), 0);
	assert_int_equal(call_rc(plain_stage, db, "p", "one"), 0);
	assert_int_equal(call_rc(api_stage, db, "p", "one"), 0);
	assert_int_equal(call_rc(api_matrix, db, "p", NULL), 0);
	assert_int_equal(call_rc(api_bisections, db, NULL, NULL), 0);
	assert_int_equal(call_rc(api_bisection, db, "1", NULL), 0);
	assert_int_equal(metrics_append(&sb, db), 0);

	break_table(db, "changes", "11 AS stage_id, 'a/1' AS test, 'regression' AS"
		    " kind, 'pass' AS before, 'fail' AS after, NULL AS detail");
	assert_int_equal(call_rc(plain_stage, db, "p", "one"), -1);
	assert_int_equal(call_rc(api_stage, db, "p", "one"), -1);
	assert_int_equal(call_rc(api_matrix, db, "p", NULL), -1);

	/* The bisection's log excerpts look for the culprit's failing test. */
	break_table(db, "results", "2 AS run_id, 'a/1' AS test, 'fail' AS status,"
		    " NULL AS detail, 1 AS line");
	assert_int_equal(call_rc(api_bisection, db, "1", NULL), -1);

	break_table(db, "bisection_commits", "1 AS bisection_id, 0 AS seq,"
		    " 'c1' AS commit_id, 't1' AS tree_id, 'subject' AS subject,"
		    " 'author' AS author, NULL AS stage, 0 AS boundary, 'skip' AS mark");
	assert_int_equal(call_rc(api_bisections, db, NULL, NULL), -1);

	break_table(db, "steps", "2 AS run_id, 0 AS idx, 'build' AS name,"
		    " 0 AS started_at, 1000 AS finished_at");
	strbuf_reset(&sb);
	assert_int_equal(metrics_append(&sb, db), -1);
	strbuf_release(&sb);
	unit_db_close(db);
}

static void test_not_found(void **state)
{
	struct db *db = fresh_db();
	json_t *j;

	(void)state;
	j = call(api_stage, db, "p", "nine", 404);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
			    "no stage nine in plan p");
	json_decref(j);
	j = call(api_plan, db, "zzz", NULL, 404);
	json_decref(j);
	unit_db_close(db);
}

static void test_error_is_json(void **state)
{
	struct api_reply rep = API_REPLY_INIT;
	json_t *j;

	(void)state;
	assert_int_equal(api_error(&rep, 400, "bad \"%s\"", "x\x01y\xff"), 0);
	assert_int_equal(rep.status, 400);
	j = json_loads(rep.body.buf, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
			    "bad \"x\x01y\xef\xbf\xbd\"");
	json_decref(j);
	api_reply_release(&rep);
}

static void test_parse_int(void **state)
{
	long long v = -1;

	(void)state;
	assert_int_equal(api_parse_int("42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(api_parse_int("0", 0, 1, &v), 0);
	assert_int_equal(api_parse_int("0", 1, 100, &v), -1);
	assert_int_equal(api_parse_int("042", 0, 100, &v), -1);
	assert_int_equal(api_parse_int("-1", -5, 100, &v), -1);
	assert_int_equal(api_parse_int("+1", 0, 100, &v), -1);
	assert_int_equal(api_parse_int("1 ", 0, 100, &v), -1);
	assert_int_equal(api_parse_int("", 0, 100, &v), -1);
	assert_int_equal(api_parse_int(NULL, 0, 100, &v), -1);
	assert_int_equal(api_parse_int("101", 0, 100, &v), -1);
	assert_int_equal(api_parse_int("9999999999999999999999", 0, 100, &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes_and_nulls),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_results_with_baseline),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_failing_read),
		cmocka_unit_test(test_error_is_json),
		cmocka_unit_test(test_parse_int),
	};

	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
