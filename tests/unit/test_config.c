/*
 * Unit tests of configuration loading (config.c): valid files, every kind
 * of error with its file:line:column and field, the profile digest, known
 * failures.
 */
#include "unit.h"

#include <git2.h>
#include <unistd.h>

#include "config.h"
#include "wrapper.h"

static char dir[64];

static char *write_tmp(const char *name, const char *text)
{
	char *p = path_join(dir, name);

	assert_int_equal(write_file_atomic(p, text, strlen(text)), 0);
	return p;
}

static const char step_sh[] = "#!/bin/sh\necho build\n";

static const char good_profile[] =
	"{\n"
	"  \"name\": \"prof\",\n"
	"  \"description\": \"d\",\n"
	"  \"steps\": [\n"
	"    { \"name\": \"build\", \"run\": [\"./step.sh\", \"-x\"], \"timeout\": 30 },\n"
	"    { \"name\": \"boot\", \"run\": [\"true\"], \"console\": true }\n"
	"  ],\n"
	"  \"env\": { \"KSTAGE_THP\": \"madvise\" },\n"
	"  \"end_marker\": \"KSTAGE-DONE\",\n"
	"  \"known_failures\": [ { \"test\": \"hmm-tests/*.exclusive\", \"reason\": \"thp\", \"until\": \"two\" } ]\n"
	"}\n";

static const char good_plan[] =
	"{\n"
	"  \"name\": \"demo\",\n"
	"  \"repo\": \"repo.git\",\n"
	"  \"base\": \"v6.12\",\n"
	"  \"profile\": \"profile.json\",\n"
	"  \"stages\": [\n"
	"    { \"name\": \"one\", \"branch\": \"stage/1-one\", \"title\": \"One\" },\n"
	"    { \"name\": \"two\", \"branch\": \"stage/2-two\" }\n"
	"  ]\n"
	"}\n";

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kstage-unit-config.XXXXXX");
	assert_non_null(mkdtemp(dir));
	free(write_tmp("step.sh", step_sh));
	free(write_tmp("profile.json", good_profile));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_tree(dir);
	return 0;
}

static void test_good_plan(void **state)
{
	char *path = write_tmp("plan.json", good_plan);
	char *err = NULL, *want;
	struct plan_def *p = plan_def_load(path, &err);

	(void)state;
	assert_null(err);
	assert_non_null(p);
	assert_string_equal(p->name, "demo");
	want = path_join(dir, "repo.git");
	assert_string_equal(p->repo, want);
	free(want);
	assert_int_equal(p->nr_stages, 2);
	assert_string_equal(p->stages[0].branch, "stage/1-one");
	assert_string_equal(p->stages[0].title, "One");
	assert_null(p->stages[1].title);
	assert_int_equal(p->profile->nr_steps, 2);
	assert_int_equal(p->profile->steps[0].timeout, 30);
	assert_int_equal(p->profile->steps[1].timeout, 3600);
	assert_true(p->profile->steps[1].console);
	want = path_join(dir, "step.sh");
	assert_string_equal(p->profile->steps[0].argv[0], want);
	free(want);
	assert_string_equal(p->profile->steps[0].argv[1], "-x");
	/* a bare program name stays a name (looked up on PATH) */
	assert_string_equal(p->profile->steps[1].argv[0], "true");
	assert_string_equal(p->profile->env[0], "KSTAGE_THP=madvise");
	assert_int_equal(strlen(p->profile->digest), 40);
	plan_def_free(p);
	free(path);
}

/* Load text as a plan and expect an error containing each of the needles. */
static void expect_plan_error(const char *text, const char *n1, const char *n2)
{
	char *path = write_tmp("bad.json", text);
	char *err = NULL;
	struct plan_def *p = plan_def_load(path, &err);

	assert_null(p);
	assert_non_null(err);
	if (!strstr(err, n1) || (n2 && !strstr(err, n2)))
		fail_msg("error \"%s\" lacks \"%s\" / \"%s\"", err, n1, n2 ? n2 : "");
	free(err);
	free(path);
}

static void test_plan_errors(void **state)
{
	(void)state;
	expect_plan_error("{\n  \"name\": \"x\",\n", "bad.json:3:", "invalid JSON");
	expect_plan_error("[1, 2]", "the top level must be an object", NULL);
	expect_plan_error("{ \"name\": \"x\", \"name\": \"y\" }", "invalid JSON", "duplicate");
	/* unknown field, located at its key */
	expect_plan_error("{\n  \"name\": \"demo\",\n  \"colour\": \"red\"\n}\n",
			  "bad.json:3:3: colour: unknown field", "known: name");
	/* missing required field */
	expect_plan_error("{ \"name\": \"demo\" }", "missing required field \"repo\"", NULL);
	/* wrong type in a nested array element, located */
	expect_plan_error("{ \"name\": \"demo\", \"repo\": \"r\", \"base\": \"b\",\n"
			  "  \"profile\": \"profile.json\",\n"
			  "  \"stages\": [ { \"name\": \"a\", \"branch\": \"a\" },\n"
			  "              { \"name\": \"b\", \"branch\": 7 } ] }\n",
			  "bad.json:4:30: stages[1].branch: expected a string", NULL);
	/* shell metacharacters and spaces in a branch */
	expect_plan_error("{ \"name\": \"demo\", \"repo\": \"r\", \"base\": \"b\",\n"
			  "  \"profile\": \"profile.json\",\n"
			  "  \"stages\": [ { \"name\": \"a\", \"branch\": \"a;rm -rf /\" } ] }\n",
			  "stages[0].branch: \"a;rm -rf /\" is not a valid branch name", NULL);
	expect_plan_error("{ \"name\": \"demo\", \"repo\": \"r\", \"base\": \"b\",\n"
			  "  \"profile\": \"profile.json\",\n"
			  "  \"stages\": [ { \"name\": \"a\", \"branch\": \"$(id)\" } ] }\n",
			  "is not a valid branch name", NULL);
	expect_plan_error("{ \"name\": \"demo\", \"repo\": \"r\", \"base\": \"b\",\n"
			  "  \"profile\": \"profile.json\",\n"
			  "  \"stages\": [ { \"name\": \"a\", \"branch\": \"a..b\" } ] }\n",
			  "is not a valid branch name", NULL);
	/* reserved and duplicate stage names */
	expect_plan_error("{ \"name\": \"demo\", \"repo\": \"r\", \"base\": \"b\",\n"
			  "  \"profile\": \"profile.json\",\n"
			  "  \"stages\": [ { \"name\": \"base\", \"branch\": \"a\" } ] }\n",
			  "not \"base\"", NULL);
	expect_plan_error("{ \"name\": \"demo\", \"repo\": \"r\", \"base\": \"b\",\n"
			  "  \"profile\": \"profile.json\",\n"
			  "  \"stages\": [ { \"name\": \"a\", \"branch\": \"a\" },"
			  " { \"name\": \"b\", \"branch\": \"a\" } ] }\n",
			  "branch \"a\" is already stage \"a\"", NULL);
	/* a profile error says which plan pulled it in */
	expect_plan_error("{ \"name\": \"demo\", \"repo\": \"r\", \"base\": \"b\",\n"
			  "  \"profile\": \"nope.json\",\n"
			  "  \"stages\": [ { \"name\": \"a\", \"branch\": \"a\" } ] }\n",
			  "nope.json: cannot read", "profile of plan");
	/* "until" must name a stage of the plan */
	expect_plan_error("{ \"name\": \"demo\", \"repo\": \"r\", \"base\": \"b\",\n"
			  "  \"profile\": \"profile.json\",\n"
			  "  \"stages\": [ { \"name\": \"one\", \"branch\": \"a\" } ] }\n",
			  "known_failures[0].until: no stage \"two\"", NULL);
}

static void expect_profile_error(const char *text, const char *needle)
{
	char *path = write_tmp("p.json", text);
	char *err = NULL;
	struct profile *p = profile_load(path, &err);

	assert_null(p);
	assert_non_null(err);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err, needle);
	free(err);
	free(path);
}

static void test_profile_errors(void **state)
{
	(void)state;
	expect_profile_error("{ \"name\": \"p\" }", "a profile needs at least one step");
	expect_profile_error("{ \"name\": \"p\", \"steps\": [ { \"name\": \"b\" } ] }",
			     "steps[0]: missing required field \"run\"");
	expect_profile_error("{ \"name\": \"p\", \"steps\": [ { \"name\": \"b\", \"run\": [] } ] }",
			     "steps[0].run: expected a non-empty array");
	expect_profile_error("{ \"name\": \"p\", \"steps\": [ { \"name\": \"b c\", \"run\": [\"x\"] } ] }",
			     "not a valid step name");
	expect_profile_error("{ \"name\": \"p\", \"steps\": [ { \"name\": \"b\", \"run\": [\"x\"], \"timeout\": 0 } ] }",
			     "steps[0].timeout: expected an integer between 1 and");
	expect_profile_error("{ \"name\": \"p\", \"steps\": [ { \"name\": \"b\", \"run\": [\"x\"] },"
			     " { \"name\": \"b\", \"run\": [\"y\"] } ] }", "duplicate step name");
	expect_profile_error("{ \"name\": \"p\", \"steps\": [ { \"name\": \"b\", \"run\": [\"x\"] } ],"
			     " \"env\": { \"lower\": \"x\" } }", "env.lower: not a valid variable name");
	expect_profile_error("{ \"name\": \"p\", \"steps\": [ { \"name\": \"b\", \"run\": [\"x\"] } ],"
			     " \"env\": { \"KSTAGE_RUN_TOKEN\": \"x\" } }", "not a valid variable name");
	expect_profile_error("{ \"name\": \"p\", \"steps\": [ { \"name\": \"b\", \"run\": [\"x\"] } ],"
			     " \"env\": { \"X\": 1 } }", "env.X: expected a string");
	expect_profile_error("{ \"name\": \"p\", \"steps\": [ { \"name\": \"b\", \"run\": [\"x\"] } ],"
			     " \"known_failures\": [ { \"test\": \"t\" } ] }",
			     "known_failures[0]: missing required field \"reason\"");
}

static void test_digest(void **state)
{
	char *path, *err = NULL;
	struct profile *a, *b, *c;

	(void)state;
	path = path_join(dir, "profile.json");
	a = profile_load(path, &err);
	assert_non_null(a);
	/* description and known failures do not change what a run does */
	free(write_tmp("profile.json",
		       "{ \"name\": \"prof\", \"description\": \"other\", \"steps\": [\n"
		       "    { \"name\": \"build\", \"run\": [\"./step.sh\", \"-x\"], \"timeout\": 30 },\n"
		       "    { \"name\": \"boot\", \"run\": [\"true\"], \"console\": true }\n"
		       "  ], \"env\": { \"KSTAGE_THP\": \"madvise\" },\n"
		       "  \"end_marker\": \"KSTAGE-DONE\" }\n"));
	b = profile_load(path, &err);
	assert_non_null(b);
	assert_string_equal(a->digest, b->digest);
	/* a changed step program does */
	free(write_tmp("step.sh", "#!/bin/sh\necho build differently\n"));
	c = profile_load(path, &err);
	assert_non_null(c);
	assert_string_not_equal(a->digest, c->digest);
	profile_free(a);
	profile_free(b);
	profile_free(c);
	free(write_tmp("step.sh", step_sh));
	free(write_tmp("profile.json", good_profile));
	free(path);
}

static void test_known_until(void **state)
{
	char *path = write_tmp("plan.json", good_plan);
	char *err = NULL;
	struct plan_def *p = plan_def_load(path, &err);

	(void)state;
	assert_non_null(p);
	/* positions: 0 base, 1 one, 2 two; "until two" covers 0 and 1 */
	assert_non_null(profile_known_failure(p->profile, p, 0, "hmm-tests/hmm.a.exclusive"));
	assert_non_null(profile_known_failure(p->profile, p, 1, "hmm-tests/hmm.a.exclusive"));
	assert_null(profile_known_failure(p->profile, p, 2, "hmm-tests/hmm.a.exclusive"));
	assert_null(profile_known_failure(p->profile, p, 1, "hmm-tests/hmm.a.migrate"));
	assert_string_equal(profile_known_failure(p->profile, p, 1,
						  "hmm-tests/x.exclusive")->reason, "thp");
	plan_def_free(p);
	free(path);
}

static void test_daemon_config(void **state)
{
	char *path, *err = NULL;
	struct kstage_config *cfg;

	(void)state;
	cfg = config_load(NULL, &err);
	assert_non_null(cfg);
	assert_string_equal(cfg->listen, "127.0.0.1:8080");
	assert_int_equal(cfg->slots, 1);
	assert_true(cfg->db[0] == '/');
	config_free(cfg);

	path = write_tmp("k.json", "{ \"slots\": 3, \"db\": \"state/k.db\","
			 " \"plans\": [\"plan.json\"], \"listen\": \"0.0.0.0:9000\" }");
	cfg = config_load(path, &err);
	assert_non_null(cfg);
	assert_int_equal(cfg->slots, 3);
	assert_int_equal(cfg->nr_plans, 1);
	assert_non_null(strstr(cfg->db, "/state/k.db"));
	assert_string_equal(cfg->listen, "0.0.0.0:9000");
	config_free(cfg);
	free(path);

	path = write_tmp("k.json", "{ \"listen\": \"8080\" }");
	assert_null(config_load(path, &err));
	assert_non_null(strstr(err, "listen: expected \"ADDRESS:PORT\""));
	free(err);
	free(path);
	path = write_tmp("k.json", "{ \"slots\": 0 }");
	assert_null(config_load(path, &err));
	assert_non_null(strstr(err, "k.json:1:3: slots: expected an integer between 1 and 64"));
	free(err);
	free(path);

	/* "inbox": the public-inbox series are fetched from. */
	path = write_tmp("k.json", "{ \"inbox\": \"https://lore.kernel.org/linux-mm\" }");
	cfg = config_load(path, &err);
	assert_non_null(cfg);
	assert_string_equal(cfg->inbox, "https://lore.kernel.org/linux-mm");
	config_free(cfg);
	free(path);
	path = write_tmp("k.json", "{ \"inbox\": \"file:///etc/passwd\" }");
	assert_null(config_load(path, &err));
	assert_non_null(strstr(err, "inbox: expected the http:// or https:// URL"));
	free(err);
	free(path);
	path = write_tmp("k.json", "{ \"inbox\": \"http://a b\" }");
	assert_null(config_load(path, &err));
	free(err);
	free(path);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(config_valid_branch("stage/1-compound-devmap"));
	assert_true(config_valid_branch("refs/heads/x"));
	assert_true(config_valid_branch("v6.12+fixes"));
	assert_false(config_valid_branch("a b"));
	assert_false(config_valid_branch("a;b"));
	assert_false(config_valid_branch("a`b`"));
	assert_false(config_valid_branch("-x"));
	assert_false(config_valid_branch("a/.b"));
	assert_false(config_valid_branch("a.lock"));
	assert_false(config_valid_branch(""));
	assert_true(config_valid_name("s1-compound.v2"));
	assert_false(config_valid_name("../x"));
	assert_false(config_valid_name(".hidden"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_plan),
		cmocka_unit_test(test_plan_errors),
		cmocka_unit_test(test_profile_errors),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_known_until),
		cmocka_unit_test(test_daemon_config),
		cmocka_unit_test(test_names),
	};
	int rc;

	git_libgit2_init();
	rc = cmocka_run_group_tests_name("config", tests, setup, teardown);
	git_libgit2_shutdown();
	return rc;
}
