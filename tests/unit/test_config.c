/*
 * Unit tests of configuration loading (config.c): valid files, every kind
 * of error with its file:line:column and field, the profile digest, known
 * failures.
 */
#include "unit.h"

#include <git2.h>
#include <unistd.h>

#include "config.h"
#include "config_slurm.h"
#include "strbuf.h"
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

/* A profile with one console step and the given members spliced in. */
#define CONSOLE_PROFILE(extra) \
	"{ \"name\": \"p\", \"steps\": [ { \"name\": \"boot\", \"run\": [\"x\"]," \
	" \"console\": true } ]" extra " }"

static void test_profile_expect(void **state)
{
	char *path, *err = NULL;
	struct profile *p;

	(void)state;
	path = write_tmp("p.json", CONSOLE_PROFILE(", \"expect\": [\"hmm-tests\","
						  " \"gup_test-u\", \"gup_test -a\"]"));
	p = profile_load(path, &err);
	assert_null(err);
	assert_non_null(p);
	assert_int_equal(p->nr_expect, 3);
	assert_string_equal(p->expect[0], "hmm-tests");
	assert_string_equal(p->expect[2], "gup_test -a");
	assert_null(p->expect[3]);
	assert_false(p->boot_only);
	profile_free(p);
	free(path);

	path = write_tmp("p.json", CONSOLE_PROFILE(", \"boot_only\": true"));
	p = profile_load(path, &err);
	assert_null(err);
	assert_non_null(p);
	assert_true(p->boot_only);
	assert_int_equal(p->nr_expect, 0);
	assert_null(p->expect);
	profile_free(p);
	free(path);

	/* an empty list: no suite named, but results are still required */
	path = write_tmp("p.json", CONSOLE_PROFILE(", \"expect\": []"));
	p = profile_load(path, &err);
	assert_null(err);
	assert_non_null(p);
	assert_int_equal(p->nr_expect, 0);
	assert_false(p->boot_only);
	profile_free(p);
	free(path);
}

static void test_profile_expect_errors(void **state)
{
	(void)state;
	expect_profile_error(CONSOLE_PROFILE(", \"expect\": \"hmm-tests\""),
			     "expect: expected an array");
	expect_profile_error(CONSOLE_PROFILE(", \"expect\": [\"hmm-tests\", 3]"),
			     "expect[1]: expected a suite name (a string)");
	expect_profile_error(CONSOLE_PROFILE(", \"expect\": [\"\"]"),
			     "expect[0]: \"\": expected a non-empty suite name");
	expect_profile_error(CONSOLE_PROFILE(", \"expect\": [\"hmm-tests/hmm.x\"]"),
			     "expect[0]: \"hmm-tests/hmm.x\": '/' ends a suite");
	expect_profile_error(CONSOLE_PROFILE(", \"expect\": [\"a\\tb\"]"),
			     "expect[0]: \"a\tb\": a control character");
	expect_profile_error(CONSOLE_PROFILE(", \"expect\": [\" cow\"]"),
			     "a space at the start or the end");
	expect_profile_error(CONSOLE_PROFILE(", \"expect\": [\"a\\u0000b\"]"),
			     "\\u0000 is not allowed");	/* jansson's refusal */
	expect_profile_error(CONSOLE_PROFILE(", \"expect\": [\"boot\"]"),
			     "\"boot\" is the boot verdict's result");
	expect_profile_error(CONSOLE_PROFILE(", \"expect\": [\"cow\", \"mkdirty\", \"cow\"]"),
			     "expect[2]: \"cow\": named twice");
	expect_profile_error(CONSOLE_PROFILE(", \"boot_only\": \"yes\""),
			     "boot_only: expected true or false");
	expect_profile_error(CONSOLE_PROFILE(", \"boot_only\": true, \"expect\": [\"cow\"]"),
			     "expect: a profile with \"boot_only\": true expects no suites");
	expect_profile_error(CONSOLE_PROFILE(", \"boot_only\": true, \"expect\": []"),
			     "expects no suites");
	expect_profile_error("{ \"name\": \"p\", \"steps\": [ { \"name\": \"b\", \"run\": [\"x\"] } ],"
			     " \"expect\": [\"cow\"] }",
			     "expect: no step has \"console\": true");
	expect_profile_error("{ \"name\": \"p\", \"steps\": [ { \"name\": \"b\", \"run\": [\"x\"] } ],"
			     " \"boot_only\": true }",
			     "boot_only: no step has \"console\": true");
	expect_profile_error(CONSOLE_PROFILE(", \"expects\": [\"cow\"]"), "expects");
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

/* A plan over repo.git with the given "remote" member (JSON text). */
static char *remote_plan(const char *remote)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "{\n"
		    "  \"name\": \"demo\", \"repo\": \"mirror.git\", \"base\": \"v6.12\",\n"
		    "  \"integration\": \"integration\", \"profile\": \"profile.json\",\n"
		    "  \"remote\": %s,\n"
		    "  \"stages\": [ { \"name\": \"one\", \"branch\": \"stage/1-one\" },\n"
		    "              { \"name\": \"two\", \"branch\": \"stage/2-two\" } ]\n"
		    "}\n", remote);
	return strbuf_detach(&sb);
}

static void expect_remote_error(const char *remote, const char *n1, const char *n2)
{
	char *text = remote_plan(remote);

	expect_plan_error(text, n1, n2);
	free(text);
}

static void test_plan_remote(void **state)
{
	char *text, *path, *err = NULL, *want;
	struct plan_def *p;

	(void)state;
	free(write_tmp("token", "ghp_secret\n"));
	free(write_tmp("id_ed25519", "key\n"));
	free(write_tmp("id_ed25519.pub", "pub\n"));

	/* no remote: none */
	path = write_tmp("plan.json", good_plan);
	p = plan_def_load(path, &err);
	assert_non_null(p);
	assert_null(p->remote);
	plan_def_free(p);
	free(path);

	/* the smallest remote: the default refspec, no credentials */
	text = remote_plan("{ \"url\": \"git://127.0.0.1:9418/linux.git\" }");
	path = write_tmp("plan.json", text);
	free(text);
	p = plan_def_load(path, &err);
	if (err)
		fail_msg("%s", err);
	assert_non_null(p->remote);
	assert_string_equal(p->remote->url, "git://127.0.0.1:9418/linux.git");
	assert_int_equal(p->remote->nr_fetch, 1);
	assert_string_equal(p->remote->fetch[0], "+refs/heads/*:refs/heads/*");
	assert_null(p->remote->fetch[1]);
	assert_null(p->remote->username);
	assert_null(p->remote->token_file);
	assert_null(p->remote->ssh_key);
	plan_def_free(p);
	free(path);

	/* everything: refspecs, credentials (paths relative to the plan), a pinned host key */
	text = remote_plan("{ \"url\": \"https://git.example.org/mm.git\",\n"
			   "    \"fetch\": [\"+refs/heads/zd/*:refs/heads/zd/*\","
			   " \"refs/tags/v6.12:refs/tags/v6.12\"],\n"
			   "    \"credentials\": { \"username\": \"ci\", \"token_file\": \"token\","
			   " \"ssh_key\": \"id_ed25519\", \"ssh_public_key\": \"id_ed25519.pub\" },\n"
			   "    \"ssh_host_key\": \"SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s\" }");
	path = write_tmp("plan.json", text);
	free(text);
	p = plan_def_load(path, &err);
	if (err)
		fail_msg("%s", err);
	assert_int_equal(p->remote->nr_fetch, 2);
	assert_string_equal(p->remote->fetch[1], "refs/tags/v6.12:refs/tags/v6.12");
	assert_string_equal(p->remote->username, "ci");
	want = path_join(dir, "token");
	assert_string_equal(p->remote->token_file, want);
	free(want);
	want = path_join(dir, "id_ed25519.pub");
	assert_string_equal(p->remote->ssh_public_key, want);
	free(want);
	assert_string_equal(p->remote->ssh_host_key,
			    "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s");
	plan_def_free(p);
	free(path);

	/* scp-like and local URLs */
	text = remote_plan("{ \"url\": \"git@git.example.org:mm.git\" }");
	path = write_tmp("plan.json", text);
	free(text);
	p = plan_def_load(path, &err);
	assert_non_null(p);
	plan_def_free(p);
	free(path);
	text = remote_plan("{ \"url\": \"file:///srv/git/linux.git\" }");
	path = write_tmp("plan.json", text);
	free(text);
	p = plan_def_load(path, &err);
	assert_non_null(p);
	plan_def_free(p);
	free(path);

	/* bad remotes, each located */
	expect_remote_error("{ \"fetch\": [\"+refs/heads/*:refs/heads/*\"] }",
			    "bad.json:4:", "remote: missing required field \"url\"");
	expect_remote_error("{ \"url\": \"git://h/x\", \"branch\": \"main\" }",
			    "bad.json:4:35: remote.branch: unknown field", "known: url, fetch");
	expect_remote_error("{ \"url\": \"git://h/x\", \"credentials\": { \"password\": \"x\" } }",
			    "remote.credentials.password: unknown field", "token_file");
	expect_remote_error("{ \"url\": \"git://h/x\", \"fetch\": [\"+refs/heads/*:refs/heads/x/*/*\"] }",
			    "bad.json:4:", "remote.fetch[0]: \"+refs/heads/*:refs/heads/x/*/*\""
			    " is not a valid fetch refspec");
	expect_remote_error("{ \"url\": \"git://h/x\", \"fetch\": [\"refs/heads/a b:refs/heads/a\"] }",
			    "remote.fetch[0]:", "is not a valid fetch refspec");
	expect_remote_error("{ \"url\": \"git://h/x\", \"fetch\": [7] }",
			    "remote.fetch[0]: expected a refspec", NULL);
	expect_remote_error("{ \"url\": \"git://h/x\", \"fetch\": [] }",
			    "remote.fetch: expected at least one refspec", NULL);
	expect_remote_error("{ \"url\": \"git://h/x\", \"fetch\": [\"refs/heads/main\"] }",
			    "remote.fetch[0]: \"refs/heads/main\" stores nothing", NULL);
	expect_remote_error("{ \"url\": \"git://h/x\", \"fetch\": [\"main:main\"] }",
			    "remote.fetch[0]: \"main:main\": name full refs", NULL);
	expect_remote_error("{ \"url\": \"git://h/x\","
			    " \"fetch\": [\"+refs/heads/main:refs/heads/integration\"] }",
			    "would overwrite the integration branch", NULL);
	expect_remote_error("{ \"url\": \"\" }", "remote.url: expected a URL", NULL);
	expect_remote_error("{ \"url\": \"git://h/x y\" }", "remote.url:", "spaces");
	expect_remote_error("{ \"url\": \"git://h/x\\n\" }", "remote.url:", "control");
	expect_remote_error("{ \"url\": \"https://ci:hunter2@h/x.git\" }",
			    "remote.url: a password may not be in the URL", "token_file");
	expect_remote_error("{ \"url\": \"ftp://h/x\" }", "remote.url: expected git://", NULL);
	expect_remote_error("{ \"url\": \"git:///x\" }", "remote.url: the URL names no host", NULL);
	expect_remote_error("{ \"url\": \"--upload-pack=x:y\" }", "remote.url:", "'-'");
	expect_remote_error("\"git://h/x\"", "remote: expected an object", NULL);
	expect_remote_error("{ \"url\": \"https://h/x\", \"credentials\": { \"token_file\": \"nope\" } }",
			    "remote.credentials.token_file: cannot read", "nope");
	expect_remote_error("{ \"url\": \"ssh://h/x\", \"credentials\": { \"ssh_public_key\": \"id_ed25519.pub\" } }",
			    "remote.credentials.ssh_public_key: needs ssh_key", NULL);
	expect_remote_error("{ \"url\": \"ssh://h/x\", \"credentials\": { \"username\": \"a:b\" } }",
			    "remote.credentials.username: expected a user name", NULL);
	expect_remote_error("{ \"url\": \"ssh://h/x\", \"ssh_host_key\": \"MD5:aa\" }",
			    "remote.ssh_host_key: expected \"SHA256:", NULL);
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
	assert_int_equal(cfg->fetch_timeout, 60);
	config_free(cfg);
	free(path);

	path = write_tmp("k.json", "{ \"fetch_timeout\": 0 }");
	assert_null(config_load(path, &err));
	assert_non_null(strstr(err, "fetch_timeout: expected an integer between 1 and 3600"));
	free(err);
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

/* Loading k.json with text fails with an error that holds want. */
static void config_refused(const char *text, const char *want)
{
	char *path = write_tmp("k.json", text), *err = NULL;

	assert_null(config_load(path, &err));
	if (!strstr(err, want))
		fail_msg("\"%s\" not in \"%s\"", want, err);
	free(err);
	free(path);
}

static void test_slurm_config(void **state)
{
	const struct slurm_profile *sp;
	struct kstage_config *cfg;
	char *path, *err = NULL;

	(void)state;
	path = write_tmp("k.json", "{ \"executor\": \"local\" }");
	cfg = config_load(path, &err);
	assert_non_null(cfg);
	assert_null(cfg->slurm);
	config_free(cfg);
	free(path);

	path = write_tmp("k.json", "{ \"work\": \"w\", \"executor\": \"slurm\","
			 " \"slurm\": { \"partition\": \"kernel\", \"qos\": \"normal\","
			 " \"cache\": \"/local/cache\", \"kstage\": \"/usr/bin/kstage\","
			 " \"poll\": 5, \"placement\": \"feature\", \"profiles\": {"
			 " \"prof\": { \"cpus\": 8, \"mem\": \"16G\", \"time\": 90,"
			 " \"sbatch\": [\"--exclusive\", \"--gres=gpu:0\"] },"
			 " \"*\": { \"cpus\": 2 } } } }");
	cfg = config_load(path, &err);
	assert_non_null(cfg);
	assert_non_null(cfg->slurm);
	assert_string_equal(cfg->slurm->partition, "kernel");
	assert_null(cfg->slurm->account);
	assert_string_equal(cfg->slurm->qos, "normal");
	assert_string_equal(cfg->slurm->work, cfg->work);	/* the default */
	assert_string_equal(cfg->slurm->cache, "/local/cache");
	assert_string_equal(cfg->slurm->kstage, "/usr/bin/kstage");
	assert_int_equal(cfg->slurm->poll, 5);
	assert_int_equal(cfg->slurm->prefer_wait, 60);
	assert_int_equal(cfg->slurm->placement, PLACE_FEATURE);
	sp = config_slurm_profile(cfg->slurm, "prof");
	assert_non_null(sp);
	assert_int_equal(sp->cpus, 8);
	assert_string_equal(sp->mem, "16G");
	assert_int_equal(sp->time, 90);
	assert_int_equal(sp->nr_sbatch, 2);
	assert_string_equal(sp->sbatch[1], "--gres=gpu:0");
	assert_null(sp->sbatch[2]);
	sp = config_slurm_profile(cfg->slurm, "other");
	assert_non_null(sp);
	assert_string_equal(sp->name, "*");
	assert_int_equal(sp->cpus, 2);
	config_free(cfg);
	free(path);

	config_refused("{ \"executor\": \"k8s\" }",
		       "executor: \"k8s\": expected \"local\" (the default) or \"slurm\"");
	config_refused("{ \"slurm\": {} }", "with \"executor\": \"slurm\" only");
	config_refused("{ \"executor\": \"slurm\", \"slurm\": { \"partitions\": \"x\" } }",
		       "partitions");
	config_refused("{ \"executor\": \"slurm\", \"slurm\": { \"account\": \"a b\" } }",
		       "slurm.account: \"a b\": expected a Slurm account name");
	config_refused("{ \"executor\": \"slurm\", \"slurm\": { \"placement\": \"near\" } }",
		       "slurm.placement: \"near\": expected");
	config_refused("{ \"executor\": \"slurm\", \"slurm\": { \"profiles\": {"
		       " \"p\": { \"mem\": \"lots\" } } } }",
		       "slurm.profiles.p.mem: \"lots\": expected a size");
	config_refused("{ \"executor\": \"slurm\", \"slurm\": { \"profiles\": {"
		       " \"p\": { \"sbatch\": [\"script.sh\"] } } } }",
		       "\"script.sh\": expected an sbatch option");
	config_refused("{ \"executor\": \"slurm\", \"slurm\": { \"profiles\": {"
		       " \"p\": { \"sbatch\": [\"--output=/tmp/x\"] } } } }",
		       "kstage sets --output itself");
	config_refused("{ \"executor\": \"slurm\", \"slurm\": { \"profiles\": {"
		       " \"p\": { \"sbatch\": [\"-J\", \"x\"] } } } }",
		       "kstage sets -J itself");
	config_refused("{ \"executor\": \"slurm\", \"slurm\": { \"profiles\": {"
		       " \"p\": { \"time\": 0 } } } }",
		       "slurm.profiles.p.time: expected an integer between 1");
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
		cmocka_unit_test(test_profile_expect),
		cmocka_unit_test(test_profile_expect_errors),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_known_until),
		cmocka_unit_test(test_plan_remote),
		cmocka_unit_test(test_daemon_config),
		cmocka_unit_test(test_slurm_config),
		cmocka_unit_test(test_names),
	};
	int rc;

	git_libgit2_init();
	rc = cmocka_run_group_tests_name("config", tests, setup, teardown);
	git_libgit2_shutdown();
	return rc;
}
