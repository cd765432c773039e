/*
 * Unit tests of the run queue (queue.c) on a real temporary SQLite
 * database: supersede, reuse by (tree, digest), order, cancel, recovery.
 */
#include "unit.h"
#include "unit-db.h"

#include <unistd.h>

#include "db.h"
#include "queue.h"
#include "wrapper.h"


/* A profile with two steps, as queue_started() creates them. */
static struct step_def steps[] = {
	{ .name = "build" },
	{ .name = "boot", .console = 1 },
};
static struct profile profile = { .name = "fake", .steps = steps, .nr_steps = 2 };

static struct db *fresh_db(void)
{
	struct db *db = unit_db_open("queue");

	assert_int_equal(db_exec(db, "INSERT INTO plans (id, name, path, repo, base,"
				 " profile, profile_digest, updated_at) VALUES (1, 'p',"
				 " 'p.json', 'r', 'base', 'fake', 'd1', 0)", NULL), 0);
	assert_int_equal(db_exec(db, "INSERT INTO stages (id, plan_id, idx, name, branch)"
				 " VALUES (10, 1, 0, 'base', 'base'), (11, 1, 1, 'one', 's1'),"
				 " (12, 1, 2, 'two', 's2')", NULL), 0);
	return db;
}

static struct run_request req(long long stage, const char *commit, const char *tree)
{
	struct run_request r = { 0 };

	r.plan_id = 1;
	r.stage_id = stage;
	r.commit = commit;
	r.tree = tree;
	r.profile = "fake";
	r.digest = "d1";
	r.reason = REASON_CHANGE;
	r.priority = 10;
	r.supersede = 1;
	return r;
}

static const char *state_of(struct db *db, long long id)
{
	static char buf[32];
	char *s = NULL;

	assert_int_equal(db_get_text(db, &s, "SELECT state FROM runs WHERE id = ?",
				     "l", id), 1);
	snprintf(buf, sizeof(buf), "%s", s);
	free(s);
	return buf;
}

static void finish(struct db *db, long long id, const char *verdict, int reusable)
{
	assert_int_equal(db_exec(db, "UPDATE runs SET state = 'done', verdict = ?,"
				 " reusable = ?, n_pass = 2 WHERE id = ?", "sil",
				 verdict, reusable, id), 0);
	assert_int_equal(db_exec(db, "INSERT INTO results (run_id, test, status)"
				 " VALUES (?, 'a', 'pass'), (?, 'b', 'pass')", "ll",
				 id, id), 0);
}

static void test_supersede(void **state)
{
	struct db *db = fresh_db();
	struct run_request r1 = req(11, "c1", "t1"), r2 = req(11, "c2", "t2");
	struct run_request other = req(12, "c9", "t9");
	long long a, b, c;

	(void)state;
	a = queue_add(db, &r1, NULL);
	c = queue_add(db, &other, NULL);
	b = queue_add(db, &r2, NULL);
	assert_true(a > 0 && b > a);
	assert_string_equal(state_of(db, a), "superseded");
	assert_string_equal(state_of(db, b), "queued");
	/* another stage's run is untouched */
	assert_string_equal(state_of(db, c), "queued");
	/* a running run is not superseded */
	assert_int_equal(queue_started(db, b, 0, "tok", profile.steps, profile.nr_steps), 0);
	r1.commit = "c3";
	a = queue_add(db, &r1, NULL);
	assert_string_equal(state_of(db, b), "running");
	assert_string_equal(state_of(db, a), "queued");
	unit_db_close(db);
}

static void test_reuse(void **state)
{
	struct db *db = fresh_db();
	struct run_request r = req(11, "c1", "t1");
	long long a, b, n = 0;
	int reused = -1;

	(void)state;
	a = queue_add(db, &r, &reused);
	assert_int_equal(reused, 0);
	finish(db, a, "pass", 1);
	/* same tree, another commit: done at once, results copied */
	r.commit = "c1-amended";
	b = queue_add(db, &r, &reused);
	assert_int_equal(reused, 1);
	assert_string_equal(state_of(db, b), "done");
	assert_int_equal(db_get_int(db, &n, "SELECT count(*) FROM results WHERE"
				    " run_id = ?", "l", b), 1);
	assert_int_equal(n, 2);
	assert_int_equal(db_get_int(db, &n, "SELECT reused_from FROM runs WHERE id = ?",
				    "l", b), 1);
	assert_int_equal(n, a);
	/* reuse of a reuse points at the run that did the work */
	r.commit = "c1-again";
	b = queue_add(db, &r, &reused);
	db_get_int(db, &n, "SELECT reused_from FROM runs WHERE id = ?", "l", b);
	assert_int_equal(n, a);
	/* a subset is served by a full run */
	r.tests = "a";
	b = queue_add(db, &r, &reused);
	assert_int_equal(reused, 1);
	/* another digest is another key */
	r.tests = NULL;
	r.digest = "d2";
	b = queue_add(db, &r, &reused);
	assert_int_equal(reused, 0);
	assert_string_equal(state_of(db, b), "queued");
	/* no_reuse runs anyway */
	r.digest = "d1";
	r.no_reuse = 1;
	b = queue_add(db, &r, &reused);
	assert_int_equal(reused, 0);
	/* an outcome that is not the tree's (a timeout) is not reused */
	r = req(12, "x1", "tx");
	a = queue_add(db, &r, NULL);
	finish(db, a, "error", 0);
	r.commit = "x2";
	queue_add(db, &r, &reused);
	assert_int_equal(reused, 0);
	unit_db_close(db);
}

static void test_order(void **state)
{
	struct db *db = fresh_db();
	struct run_request r2 = req(12, "c2", "t2"), r1 = req(11, "c1", "t1");
	struct run_request bis = req(11, "c5", "t5"), conf = req(10, "c0", "t0");
	long long a, b, c, d;

	(void)state;
	bis.priority = 20;
	bis.tests = "a";
	bis.supersede = 0;
	conf.priority = 5;
	a = queue_add(db, &bis, NULL);
	b = queue_add(db, &r2, NULL);
	c = queue_add(db, &r1, NULL);
	d = queue_add(db, &conf, NULL);
	/* priority first, then the lower stage, then age */
	assert_int_equal(queue_next(db), d);
	queue_started(db, d, 0, "t", profile.steps, profile.nr_steps);
	assert_int_equal(queue_next(db), c);
	queue_started(db, c, 0, "t", profile.steps, profile.nr_steps);
	assert_int_equal(queue_next(db), b);
	queue_started(db, b, 0, "t", profile.steps, profile.nr_steps);
	assert_int_equal(queue_next(db), a);
	assert_int_equal(queue_count(db, RUN_RUNNING), 3);
	unit_db_close(db);
}

static void test_cancel_and_recover(void **state)
{
	struct db *db = fresh_db();
	struct run_request r = req(11, "c1", "t1");
	long long a, b, n = 0;

	(void)state;
	a = queue_add(db, &r, NULL);
	assert_int_equal(queue_cancel(db, a, "because"), 0);
	assert_string_equal(state_of(db, a), "canceled");
	assert_int_equal(queue_cancel(db, a, "again"), 1);
	r.commit = "c2";
	b = queue_add(db, &r, NULL);
	queue_started(db, b, 0, "no-such-token-anywhere", profile.steps, profile.nr_steps);
	assert_int_equal(db_exec(db, "INSERT INTO results (run_id, test, status)"
				 " VALUES (?, 'partial', 'pass')", "l", b), 0);
	assert_int_equal(queue_recover(db, NULL, 0), 1);
	assert_string_equal(state_of(db, b), "queued");
	db_get_int(db, &n, "SELECT count(*) FROM results WHERE run_id = ?", "l", b);
	assert_int_equal(n, 0);
	unit_db_close(db);
}

static long long count(struct db *db, const char *sql, long long id)
{
	long long n = -1;

	assert_int_equal(db_get_int(db, &n, sql, "l", id), 1);
	return n;
}

static long long running_run(struct db *db)
{
	struct run_request r = req(11, "c1", "t1");
	long long id = queue_add(db, &r, NULL);

	assert_true(id > 0);
	assert_int_equal(queue_started(db, id, 0, "tok", profile.steps, profile.nr_steps), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM steps WHERE run_id = ?"
			       " AND state = 'pending'", id), 2);
	return id;
}

/*
 * A statement that fails inside queue_finish() (a trigger that raises on
 * the run-finished event, the last statement of the transaction) rolls
 * the whole finish back: no result, the run still running, the steps as
 * they were.
 */
static void test_finish_rolls_back(void **state)
{
	struct db *db = fresh_db();
	struct test_result results[2] = {
		{ .name = "suite/a", .status = TEST_PASS },
		{ .name = "suite/b", .status = TEST_FAIL },
	};
	struct run_outcome o = { VERDICT_FAIL };
	long long id = running_run(db);

	(void)state;
	o.results = results;
	o.nr_results = 2;
	o.counts[TEST_PASS] = o.counts[TEST_FAIL] = 1;
	assert_int_equal(db_exec(db, "CREATE TRIGGER boom BEFORE INSERT ON events"
				 " WHEN NEW.kind = 'run-finished' BEGIN"
				 " SELECT RAISE(ABORT, 'boom'); END", NULL), 0);
	assert_int_equal(queue_finish(db, id, &o), -1);
	assert_false(db_in_transaction(db));
	assert_string_equal(state_of(db, id), "running");
	assert_int_equal(count(db, "SELECT count(*) FROM results WHERE run_id = ?", id), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM steps WHERE run_id = ?"
			       " AND state = 'pending'", id), 2);
	assert_int_equal(count(db, "SELECT n_fail FROM runs WHERE id = ?", id), 0);

	/* Without the trigger the same call stores all of it. */
	assert_int_equal(db_exec(db, "DROP TRIGGER boom", NULL), 0);
	assert_int_equal(queue_finish(db, id, &o), 0);
	assert_string_equal(state_of(db, id), "done");
	assert_int_equal(count(db, "SELECT count(*) FROM results WHERE run_id = ?", id), 2);
	assert_int_equal(count(db, "SELECT count(*) FROM steps WHERE run_id = ?"
			       " AND state = 'skipped'", id), 2);
	unit_db_close(db);
}

/* The same inside a caller's transaction: the caller's work goes too. */
static void test_nested_failure_dooms_the_outer(void **state)
{
	struct db *db = fresh_db();
	struct run_request r = req(11, "c9", "t9");

	(void)state;
	assert_int_equal(db_exec(db, "CREATE TRIGGER boom BEFORE INSERT ON events"
				 " WHEN NEW.kind = 'run-queued' BEGIN"
				 " SELECT RAISE(ABORT, 'boom'); END", NULL), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "UPDATE plans SET base = 'moved'", NULL), 0);
	assert_int_equal(queue_add(db, &r, NULL), -1);
	assert_int_equal(db_commit(db), -1);
	assert_false(db_in_transaction(db));
	assert_int_equal(count(db, "SELECT count(*) FROM plans WHERE base = 'moved'"
			       " AND id = ?", 1), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM runs WHERE id > ?", 0), 0);
	unit_db_close(db);
}

/* A run canceled while its last step ended keeps no results. */
static void test_finish_after_cancel_stores_nothing(void **state)
{
	struct db *db = fresh_db();
	struct test_result results[1] = { { .name = "suite/a", .status = TEST_PASS } };
	struct run_outcome o = { VERDICT_PASS };
	long long id = running_run(db);

	(void)state;
	o.results = results;
	o.nr_results = 1;
	assert_int_equal(queue_cancel(db, id, "by a user"), 0);
	assert_int_equal(queue_finish(db, id, &o), 1);
	assert_string_equal(state_of(db, id), "canceled");
	assert_int_equal(count(db, "SELECT count(*) FROM results WHERE run_id = ?", id), 0);
	unit_db_close(db);
}

/* An interrupted run goes back to the queue with its steps pending again. */
static void test_requeue_resets_steps(void **state)
{
	struct db *db = fresh_db();
	struct step_end end = { STEP_OK, 0, 0, 10, 0 };
	long long id = running_run(db);

	(void)state;
	assert_int_equal(queue_step_started(db, id, 0, "build", "runs/1/01-build.log",
					    1234), 0);
	assert_int_equal(queue_step_finished(db, id, 0, "build", &end), 0);
	assert_int_equal(queue_requeue(db, id), 0);
	assert_string_equal(state_of(db, id), "queued");
	assert_int_equal(count(db, "SELECT count(*) FROM steps WHERE run_id = ?"
			       " AND state = 'pending' AND exit_code IS NULL", id), 2);
	unit_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_supersede),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_cancel_and_recover),
		cmocka_unit_test(test_finish_rolls_back),
		cmocka_unit_test(test_nested_failure_dooms_the_outer),
		cmocka_unit_test(test_requeue_resets_steps),
		cmocka_unit_test(test_finish_after_cancel_stores_nothing),
	};

	return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
