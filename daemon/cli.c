/*
 * cli: the API clients (status, trigger, retry, cancel, log, bisect),
 * "kstage token" and "kstage kcidb" (see cli.h): their command lines and what they print.
 * How they reach the API is client.c's, the status table report.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "api.h"
#include "api_read.h"
#include "cli.h"
#include "client.h"
#include "config.h"
#include "db.h"
#include "kcidb.h"
#include "log.h"
#include "options.h"
#include "report.h"
#include "strbuf.h"
#include "token.h"
#include "wrapper.h"
#include "banned.h"

/* --- the command line ------------------------------------------------------------- */

/* What a client command reads from its command line. */
struct cli_args {
	struct options o;	/* for usage errors found after the options */
	const char *config;	/* -c: where the server listens, the database */
	const char *url, *token, *db;
	int json;
	long long tail;		/* log --tail N; -1: not given */
	const char *until;	/* ack add --until STAGE */
	const char *reason;	/* gate override --reason TEXT */
	const char *scope;	/* token create --scope */
	long long expires_days;	/* token create --expires DAYS; 0: never */
	const char *plan;	/* kcidb export --plan PLAN */
	long long since;	/* kcidb export --since RUN; 0: from the first */
	char **args;		/* the arguments, the options taken out */
	int nr_args;
};

enum {
	OPT_URL = 256, OPT_TOKEN, OPT_JSON, OPT_DB, OPT_TAIL, OPT_UNTIL, OPT_REASON,
	OPT_SCOPE, OPT_EXPIRES, OPT_PLAN, OPT_SINCE
};

#define OPT_CONFIG { "config", required_argument, NULL, 'c' }
/* What every command that talks to the server takes. */
#define OPT_CLIENT OPTION_HELP, OPT_CONFIG, \
	{ "url", required_argument, NULL, OPT_URL }, \
	{ "token", required_argument, NULL, OPT_TOKEN }
#define OPT_JSON_ { "json", no_argument, NULL, OPT_JSON }

static const struct option status_options[] = {
	OPT_CLIENT, OPT_JSON_, { "db", required_argument, NULL, OPT_DB }, OPTION_END
};

/* trigger, retry, cancel and bisect */
static const struct option request_options[] = {
	OPT_CLIENT, OPT_JSON_, OPTION_END
};

static const struct option ack_options[] = {
	OPT_CLIENT, OPT_JSON_, { "until", required_argument, NULL, OPT_UNTIL },
	OPTION_END
};

static const struct option log_options[] = {
	OPT_CLIENT, { "tail", required_argument, NULL, OPT_TAIL }, OPTION_END
};

static const struct option token_options[] = {
	OPTION_HELP, OPT_CONFIG,
	{ "db", required_argument, NULL, OPT_DB },
	{ "scope", required_argument, NULL, OPT_SCOPE },
	{ "expires", required_argument, NULL, OPT_EXPIRES },
	OPTION_END
};

static const struct option gate_options[] = {
	OPT_CLIENT, OPT_JSON_, { "reason", required_argument, NULL, OPT_REASON },
	OPTION_END
};

/* One option into *a.  0, or -1 with a->o.status. */
static int cli_option(struct cli_args *a, int opt)
{
	switch (opt) {
	case 'c': a->config = optarg; break;
	case OPT_URL: a->url = optarg; break;
	case OPT_TOKEN: a->token = optarg; break;
	case OPT_DB: a->db = optarg; break;
	case OPT_JSON: a->json = 1; break;
	case OPT_UNTIL: a->until = optarg; break;
	case OPT_REASON: a->reason = optarg; break;
	case OPT_SCOPE: a->scope = optarg; break;
	case OPT_EXPIRES:
		if (api_parse_int(optarg, 1, 3650, &a->expires_days) < 0)
			return options_error(&a->o, "--expires needs a number of days from"
					     " 1 to 3650 (got \"%s\")", optarg);
		break;
	case OPT_PLAN: a->plan = optarg; break;
	case OPT_SINCE:
		if (api_parse_int(optarg, 0, (long long)1 << 53, &a->since) < 0)
			return options_error(&a->o, "--since needs a run id (got \"%s\")",
					     optarg);
		break;
	case OPT_TAIL:
		if (api_parse_int(optarg, 0, (long long)1 << 53, &a->tail) < 0)
			return options_error(&a->o, "--tail needs a number of bytes"
					     " (got \"%s\")", optarg);
		break;
	}
	return 0;
}

/*
 * The command line of a client command (argv[0] is the command), with the
 * options of its table and between min and max arguments (max < 0: no
 * limit).  0, or -1 when the command is to exit with a->o.status (after
 * --help, or a usage error).
 */
static int cli_args_parse(struct cli_args *a, int argc, char **argv,
			     const struct option *table, const char *usage,
			     int min, int max)
{
	int opt;

	*a = (struct cli_args){ .o = OPTIONS_INIT(table, usage), .tail = -1 };
	while ((opt = options_next(&a->o, argc, argv)) > 0 &&
	       cli_option(a, opt) == 0)
		;
	if (opt)
		return -1;
	a->args = argv + optind;
	a->nr_args = argc - optind;
	if (a->nr_args < min || (max >= 0 && a->nr_args > max))
		return options_error(&a->o, "wrong number of arguments");
	return 0;
}

/* The configuration (-c, with --db), or NULL (printed). */
static struct kstage_config *cli_config(const struct cli_args *a)
{
	struct config_overrides ov = CONFIG_OVERRIDES_INIT;
	struct kstage_config *cfg;
	char *err = NULL;

	ov.path = a->config;
	ov.db = a->db;
	cfg = config_load_with(&ov, &err);
	if (!cfg) {
		fprintf(stderr, "kstage: %s\n", err);
		free(err);
	}
	return cfg;
}

/*
 * The server and the token, from the options and the configuration.
 * 0, or 2 (the exit status) when the configuration is invalid (printed).
 */
static int cli_connect(struct client *cl, const struct cli_args *a)
{
	const char *token = a->token ? a->token : getenv("KSTAGE_TOKEN");
	struct kstage_config *cfg;

	*cl = (struct client)CLIENT_INIT;
	cl->json = a->json;
	if (a->url) {
		client_init_url(cl, a->url, token);
		return 0;
	}
	cfg = cli_config(a);
	if (!cfg)
		return 2;
	client_init_listen(cl, cfg->listen, token);
	config_free(cfg);
	return 0;
}

/* The options of every command that talks to the server, for its usage. */
#define SERVER_OPTIONS \
"  -c, --config FILE      the configuration, whose \"listen\" is the server\n" \
"      --url URL          the server (default: http:// + that \"listen\")\n" \
"      --token TOKEN      the API token (default: $KSTAGE_TOKEN)\n" \
"  -h, --help             this text\n"

/* --- status -------------------------------------------------------------------------- */

static const char status_usage[] =
"usage: kstage status [-c FILE | --url URL] [--token TOKEN] [--json]\n"
"       kstage status --db FILE [--json]\n"
"\n"
"Print the state of every plan, the table 'kstage run --once' prints:\n"
"per stage its head, whether the stack is consistent, the verdict, the\n"
"counts of the head's run, the changes against the baseline (regressions\n"
"first), why the run failed and the latest bisection.  It asks the\n"
"server (GET /api/v1/plans and what a stage needs); with --db it reads\n"
"that database directly instead, so it also works when no server runs.\n"
"\n"
"      --db FILE          read this database, not the server\n"
"      --json             print the API's JSON instead of the table\n"
SERVER_OPTIONS
"\n"
"The token is only needed when the server has read_auth.  Exit 0 when\n"
"the state was printed, 1 when the request failed, 2 on a usage error.\n";

int cmd_status(int argc, char **argv)
{
	struct client cl = CLIENT_INIT;
	struct cli_args a;
	json_t *plans = NULL;
	int rc, verdict;

	if (cli_args_parse(&a, argc, argv, status_options, status_usage, 0, 0) < 0)
		return a.o.status;
	if (a.db && !a.url) {
		if (client_open_db(&cl, a.db) < 0)
			return 1;
	} else if ((rc = cli_connect(&cl, &a))) {
		return rc;
	}
	if (a.json) {
		rc = client_get(&cl, "/api/v1/plans", api_plans, NULL, NULL, &plans);
		if (!rc) {
			char *text = json_dumps(plans, JSON_COMPACT);

			puts(text ? text : "{}");
			free(text);
		}
	} else {
		/* status exits 0 whatever the verdict: only run --once judges. */
		rc = report_plans(&cl, stdout, NULL, 0, &verdict);
	}
	json_decref(plans);
	client_release(&cl);
	return rc < 0 ? 1 : 0;
}

/* --- trigger, retry, cancel -------------------------------------------------------------- */

static const char trigger_usage[] =
"usage: kstage trigger [-c FILE | --url URL] [--token TOKEN] [--json] PLAN STAGE\n"
"\n"
"Queue a run of the stage's current head (POST .../trigger).  When the\n"
"tree was tested already under the plan's profile, its results are reused\n"
"at once; when a run of that head is already queued or running, that run\n"
"is reported and nothing new is queued.\n"
"\n"
"      --json             print the API's answer\n"
SERVER_OPTIONS
"\n"
"Needs a token.  Exit 0 done, 1 the request failed, 2 usage.\n";

static const char retry_usage[] =
"usage: kstage retry [-c FILE | --url URL] [--token TOKEN] [--json] RUN\n"
"\n"
"Run the same commit (and the same subset of tests) as run RUN again,\n"
"without reusing any result: to check a flaky failure.  RUN must be\n"
"finished.\n"
"\n"
"      --json             print the API's answer\n"
SERVER_OPTIONS
"\n"
"Needs a token.  Exit 0 done, 1 the request failed, 2 usage.\n";

static const char cancel_usage[] =
"usage: kstage cancel [-c FILE | --url URL] [--token TOKEN] [--json] RUN\n"
"\n"
"Cancel a queued or running run (a running one has its steps stopped).\n"
"\n"
"      --json             print the API's answer\n"
SERVER_OPTIONS
"\n"
"Needs a token.  Exit 0 done, 1 the request failed (e.g. the run is\n"
"already finished), 2 usage.\n";

/* A run or bisection id: 0, or 2 after printing the usage error. */
static int check_id(struct cli_args *a, const char *s)
{
	long long id;

	if (api_parse_int(s, 1, (long long)1 << 53, &id) < 0) {
		options_error(&a->o, "\"%s\" is not a number (a positive integer)", s);
		return 2;
	}
	return 0;
}

int cmd_trigger(int argc, char **argv)
{
	struct strbuf path = STRBUF_INIT;
	struct cli_args a;
	struct client cl;
	json_t *r = NULL;
	int rc;

	if (cli_args_parse(&a, argc, argv, request_options, trigger_usage, 2, 2) < 0)
		return a.o.status;
	if ((rc = cli_connect(&cl, &a)))
		return rc;
	strbuf_adds(&path, "/api/v1/plans/");
	client_url_escape(&path, a.args[0]);
	strbuf_adds(&path, "/stages/");
	client_url_escape(&path, a.args[1]);
	strbuf_adds(&path, "/trigger");
	rc = client_call(&cl, "POST", strbuf_str(&path), "{}", &r) < 0 ? 1 : 0;
	if (!rc && !cl.json) {
		if (json_is_true(json_object_get(r, "existing")))
			printf("run %lld of %s/%s is already queued or running\n",
			       client_int(r, "run"), a.args[0], a.args[1]);
		else if (json_is_true(json_object_get(r, "reused")))
			printf("run %lld of %s/%s: the results of an earlier run of the"
			       " same tree were reused\n", client_int(r, "run"), a.args[0], a.args[1]);
		else
			printf("run %lld of %s/%s queued\n", client_int(r, "run"), a.args[0],
			       a.args[1]);
	}
	json_decref(r);
	strbuf_release(&path);
	client_release(&cl);
	return rc;
}

static int run_action(int argc, char **argv, const char *usage, const char *action)
{
	struct strbuf path = STRBUF_INIT;
	struct cli_args a;
	struct client cl;
	json_t *r = NULL;
	int rc;

	if (cli_args_parse(&a, argc, argv, request_options, usage, 1, 1) < 0)
		return a.o.status;
	if ((rc = check_id(&a, a.args[0])) || (rc = cli_connect(&cl, &a)))
		return rc;
	strbuf_addf(&path, "/api/v1/runs/%s/%s", a.args[0], action);
	rc = client_call(&cl, "POST", strbuf_str(&path), "{}", &r) < 0 ? 1 : 0;
	if (!rc && !cl.json) {
		if (!strcmp(action, "retry"))
			printf("run %lld queued (a retry of run %s)\n", client_int(r, "run"),
			       a.args[0]);
		else
			printf("run %s canceled\n", a.args[0]);
	}
	json_decref(r);
	strbuf_release(&path);
	client_release(&cl);
	return rc;
}

int cmd_retry(int argc, char **argv)
{
	return run_action(argc, argv, retry_usage, "retry");
}

int cmd_cancel(int argc, char **argv)
{
	return run_action(argc, argv, cancel_usage, "cancel");
}

/* --- log -------------------------------------------------------------------------------- */

static const char log_usage[] =
"usage: kstage log [-c FILE | --url URL] [--token TOKEN] RUN [STEP] [--tail N]\n"
"\n"
"Print the log of a step of run RUN: STEP is the step's index (0, 1, ...)\n"
"or its name (build, boot, ...); without it, the last step that has a\n"
"log (the console, for the usual profiles).  At most 16 MiB are printed\n"
"per call (the API's cap).\n"
"\n"
"      --tail N           only the last N bytes\n"
SERVER_OPTIONS
"\n"
"Exit 0 done, 1 the request failed (no such run, step or log), 2 usage.\n";

int cmd_log(int argc, char **argv)
{
	struct strbuf path = STRBUF_INIT, err = STRBUF_INIT;
	struct cli_args a;
	struct client cl;
	json_t *run = NULL, *steps, *st, *pick = NULL;
	size_t i;
	long code;
	int rc;

	if (cli_args_parse(&a, argc, argv, log_options, log_usage, 1, 2) < 0)
		return a.o.status;
	if ((rc = check_id(&a, a.args[0])) || (rc = cli_connect(&cl, &a)))
		return rc;
	cl.json = 0;
	strbuf_addf(&path, "/api/v1/runs/%s", a.args[0]);
	rc = client_call(&cl, "GET", strbuf_str(&path), NULL, &run) < 0 ? 1 : 0;
	if (rc)
		goto out;
	steps = json_object_get(run, "steps");
	json_array_foreach(steps, i, st) {
		char idx[32];

		snprintf(idx, sizeof(idx), "%lld", client_int(st, "idx"));
		if (a.nr_args == 2 ? (!strcmp(a.args[1], idx) ||
				 !strcmp(a.args[1], client_str(st, "name", ""))) :
		    json_is_string(json_object_get(st, "log")))
			pick = st;
	}
	rc = 1;
	if (!pick) {
		if (a.nr_args == 2)
			fprintf(stderr, "kstage: run %s has no step %s\n", a.args[0], a.args[1]);
		else
			fprintf(stderr, "kstage: run %s has no step log yet\n", a.args[0]);
		goto out;
	}
	if (!json_is_string(json_object_get(pick, "log"))) {
		fprintf(stderr, "kstage: step %s of run %s has no log yet\n",
			client_str(pick, "name", "?"), a.args[0]);
		goto out;
	}
	strbuf_reset(&path);
	strbuf_adds(&path, client_str(pick, "log", ""));
	if (a.tail >= 0)
		strbuf_addf(&path, "?tail=%lld", a.tail);
	fflush(stdout);
	code = client_request(&cl, "GET", strbuf_str(&path), NULL, &err, stdout);
	if (code < 0)
		goto out;
	if (code >= 300) {
		client_failed(code, &err);
		goto out;
	}
	rc = fflush(stdout) ? 1 : 0;
out:
	json_decref(run);
	strbuf_release(&path);
	strbuf_release(&err);
	client_release(&cl);
	return rc;
}

/* --- bisect ------------------------------------------------------------------------------- */

static const char bisect_usage[] =
"usage: kstage bisect start [<options>] PLAN STAGE [TEST...]\n"
"       kstage bisect cancel [<options>] ID\n"
"       kstage bisect show [<options>] ID\n"
"\n"
"start   ask for a bisection of STAGE's own commits: between the head of\n"
"        the stage below (good) and STAGE's head (bad), for the named\n"
"        tests (SUITE/TEST), or for the stage's current regressions when\n"
"        none are named.  The daemon confirms the failure, searches and\n"
"        verifies the first bad commit.\n"
"cancel  stop a bisection that has not finished\n"
"show    print a bisection: its state, the culprit or the range that is\n"
"        left, and every step with its verdict\n"
"\n"
"      --json             print the API's answer\n"
SERVER_OPTIONS
"\n"
"start and cancel need a token.  Exit 0 done, 1 the request failed, 2 usage.\n";

static int bisect_show(struct client *cl, const struct cli_args *a)
{
	const char *id = a->args[1];
	struct strbuf path = STRBUF_INIT;
	json_t *b = NULL, *v, *culprit, *range;
	size_t i;
	int rc;

	strbuf_addf(&path, "/api/v1/bisections/%s", id);
	rc = client_call(cl, "GET", strbuf_str(&path), NULL, &b) < 0 ? 1 : 0;
	strbuf_release(&path);
	if (rc || cl->json) {
		json_decref(b);
		return rc;
	}
	printf("bisection %lld of %s/%s (%s): %s\n", client_int(b, "id"),
	       client_str(b, "plan", "?"), client_str(b, "stage", "-"),
	       client_str(b, "reason", "?"), client_str(b, "state", "?"));
	printf("  good %.12s  bad %.12s\n", client_str(b, "good_commit", "?"),
	       client_str(b, "bad_commit", "?"));
	json_array_foreach(json_object_get(b, "tests"), i, v)
		printf("  test %s\n", json_string_value(v));
	culprit = json_object_get(b, "culprit");
	if (json_is_object(culprit))
		printf("  first bad commit: %.12s %s (%s) in stage %s\n",
		       client_str(culprit, "commit", "?"), client_str(culprit, "subject", ""),
		       client_str(culprit, "author", ""), client_str(culprit, "stage", "?"));
	range = json_object_get(b, "range");
	if (json_is_object(range))
		printf("  range: last good %.12s, first bad %.12s, %zu untestable\n",
		       client_str(range, "good", "?"), client_str(range, "bad", "?"),
		       json_array_size(json_object_get(range, "untestable")));
	if (*client_str(b, "detail", ""))
		printf("  %s\n", client_str(b, "detail", ""));
	printf("  %lld runs, %lld reused, %lld rounds\n", client_int(b, "runs"),
	       client_int(b, "reused"), client_int(b, "rounds"));
	if (json_array_size(json_object_get(b, "steps")))
		printf("  %-6s %-5s %-12s %-8s %-6s %-8s %s\n", "run", "seq", "commit",
		       "phase", "round", "verdict", "state");
	json_array_foreach(json_object_get(b, "steps"), i, v)
		printf("  %-6lld %-5lld %-12.12s %-8s %-6lld %-8s %s\n",
		       client_int(v, "run_id"), client_int(v, "seq"),
		       client_str(v, "commit", "?"), client_str(v, "phase", "?"),
		       client_int(v, "round"), client_str(v, "verdict", "-"),
		       client_str(v, "run_state", "?"));
	json_decref(b);
	return 0;
}

static int bisect_start(struct client *cl, const struct cli_args *a)
{
	json_t *body, *tests = json_array(), *r = NULL;
	char *text;
	int i, rc;

	for (i = 3; i < a->nr_args; i++)
		json_array_append_new(tests, json_string(a->args[i]));
	body = json_pack("{s:s,s:s}", "plan", a->args[1], "stage", a->args[2]);
	if (body && json_array_size(tests))
		json_object_set(body, "tests", tests);
	json_decref(tests);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text) {
		fprintf(stderr, "kstage: names must be UTF-8\n");
		return 2;
	}
	rc = client_call(cl, "POST", "/api/v1/bisections", text, &r) < 0 ? 1 : 0;
	free(text);
	if (!rc && !cl->json)
		printf(json_is_true(json_object_get(r, "existing")) ?
		       "bisection %lld is already under way\n" :
		       "bisection %lld requested\n", client_int(r, "bisection"));
	json_decref(r);
	return rc;
}

static int bisect_cancel(struct client *cl, const struct cli_args *a)
{
	struct strbuf path = STRBUF_INIT;
	json_t *r = NULL;
	int rc;

	strbuf_addf(&path, "/api/v1/bisections/%s/cancel", a->args[1]);
	rc = client_call(cl, "POST", strbuf_str(&path), "{}", &r) < 0 ? 1 : 0;
	if (!rc && !cl->json)
		printf("bisection %s canceled\n", a->args[1]);
	json_decref(r);
	strbuf_release(&path);
	return rc;
}

/* A sub-command of bisect or ack. */
struct sub_command {
	const char *name;
	int min, max;		/* arguments, its own name included; -1: no limit */
	int (*fn)(struct client *cl, const struct cli_args *a);
	int takes_id;		/* its last argument is an id */
};

/*
 * The sub-command named by the first argument, with a fitting number of
 * arguments; NULL after a usage error (printed).
 */
static const struct sub_command *find_sub(struct cli_args *a,
					  const struct sub_command *v, size_t n,
					  const char *what)
{
	size_t i;

	for (i = 0; a->nr_args && i < n; i++) {
		if (strcmp(v[i].name, a->args[0]))
			continue;
		if (a->nr_args < v[i].min || (v[i].max >= 0 && a->nr_args > v[i].max)) {
			options_error(&a->o, "wrong number of arguments");
			return NULL;
		}
		return &v[i];
	}
	options_error(&a->o, "%s", what);
	return NULL;
}

static const struct sub_command bisect_commands[] = {
	{ "start", 3, -1, bisect_start, 0 },	/* PLAN STAGE [TEST...] */
	{ "cancel", 2, 2, bisect_cancel, 1 },	/* ID */
	{ "show", 2, 2, bisect_show, 1 },	/* ID */
};

/*
 * A command made of sub-commands (bisect, ack): parse, find the
 * sub-command, check its id argument, connect and run it.  The exit
 * status.
 */
static int run_sub(int argc, char **argv, const struct option *table,
		   const char *usage, const struct sub_command *subs, size_t n,
		   const char *what)
{
	const struct sub_command *sub;
	struct cli_args a;
	struct client cl;
	int rc;

	if (cli_args_parse(&a, argc, argv, table, usage, 0, -1) < 0)
		return a.o.status;
	sub = find_sub(&a, subs, n, what);
	if (!sub)
		return 2;
	if (sub->takes_id &&
	    (rc = check_id(&a, a.args[a.nr_args - 1])))
		return rc;
	if ((rc = cli_connect(&cl, &a)))
		return rc;
	rc = sub->fn(&cl, &a);
	client_release(&cl);
	return rc;
}

int cmd_bisect(int argc, char **argv)
{
	return run_sub(argc, argv, request_options, bisect_usage, bisect_commands,
		       sizeof(bisect_commands) / sizeof(bisect_commands[0]),
		       "bisect needs start, cancel or show");
}

/* --- ack ------------------------------------------------------------------------------------ */

static const char ack_usage[] =
"usage: kstage ack add [<options>] [--until STAGE] PLAN TEST REASON\n"
"       kstage ack list [<options>] PLAN\n"
"       kstage ack delete [<options>] PLAN ID\n"
"\n"
"An acknowledged failure: TEST (a name, or an fnmatch pattern such as\n"
"'hmm-tests/*.migrate') fails on PLAN for REASON.  Its failures count as\n"
"known (shown, not a regression, never bisected) on every stage below\n"
"STAGE (on every stage without --until) until the ack is deleted; the\n"
"daemon judges the plan's stages again at once.\n"
"\n"
"add     acknowledge a failure; prints the ack's id\n"
"list    the plan's acks: id, test, until, who, reason\n"
"delete  remove ack ID: its test counts again\n"
"\n"
"      --until STAGE      the first stage where the test counts again\n"
"      --json             print the API's answer\n"
SERVER_OPTIONS
"\n"
"add and delete need a token.  Exit 0 done, 1 the request failed, 2 usage.\n";

/* "/api/v1/plans/PLAN/acks" and what follows it. */
static void acks_path(struct strbuf *path, const char *plan, const char *id)
{
	strbuf_adds(path, "/api/v1/plans/");
	client_url_escape(path, plan);
	strbuf_adds(path, "/acks");
	if (id)
		strbuf_addf(path, "/%s", id);
}

static int ack_add(struct client *cl, const struct cli_args *a)
{
	struct strbuf path = STRBUF_INIT;
	json_t *body, *r = NULL;
	char *text;
	int rc;

	body = json_pack("{s:s,s:s}", "test", a->args[2], "reason", a->args[3]);
	if (body && a->until)
		json_object_set_new(body, "until", json_string(a->until));
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text) {
		fprintf(stderr, "kstage: the test, the reason and the stage must be UTF-8\n");
		return 2;
	}
	acks_path(&path, a->args[1], NULL);
	rc = client_call(cl, "POST", path.buf, text, &r) < 0 ? 1 : 0;
	if (!rc && !cl->json)
		printf("ack %lld: %s on %s\n", client_int(r, "ack"), a->args[2],
		       a->args[1]);
	free(text);
	json_decref(r);
	strbuf_release(&path);
	return rc;
}

static int ack_list(struct client *cl, const struct cli_args *a)
{
	struct strbuf path = STRBUF_INIT;
	json_t *r = NULL, *v;
	size_t i;
	int rc;

	acks_path(&path, a->args[1], NULL);
	rc = client_call(cl, "GET", path.buf, NULL, &r) < 0 ? 1 : 0;
	strbuf_release(&path);
	if (!rc && !cl->json) {
		printf("%-6s %-40s %-16s %-12s %s\n", "id", "test", "until", "by",
		       "reason");
		json_array_foreach(json_object_get(r, "acks"), i, v)
			printf("%-6lld %-40s %-16s %-12s %s\n", client_int(v, "id"),
			       client_str(v, "test", "?"), client_str(v, "until", "-"),
			       client_str(v, "created_by", "-"),
			       client_str(v, "reason", ""));
	}
	json_decref(r);
	return rc;
}

static int ack_delete(struct client *cl, const struct cli_args *a)
{
	struct strbuf path = STRBUF_INIT;
	json_t *r = NULL;
	int rc;

	acks_path(&path, a->args[1], a->args[2]);
	rc = client_call(cl, "DELETE", path.buf, NULL, &r) < 0 ? 1 : 0;
	if (!rc && !cl->json)
		printf("ack %s deleted\n", a->args[2]);
	json_decref(r);
	strbuf_release(&path);
	return rc;
}

static const struct sub_command ack_commands[] = {
	{ "add", 4, 4, ack_add, 0 },		/* PLAN TEST REASON */
	{ "list", 2, 2, ack_list, 0 },		/* PLAN */
	{ "delete", 3, 3, ack_delete, 1 },	/* PLAN ID */
};

int cmd_ack(int argc, char **argv)
{
	return run_sub(argc, argv, ack_options, ack_usage, ack_commands,
		       sizeof(ack_commands) / sizeof(ack_commands[0]),
		       "ack needs add, list or delete");
}

/* --- gate ------------------------------------------------------------------------------------ */

static const char gate_usage[] =
"usage: kstage gate advance [<options>] PLAN [STAGE]\n"
"       kstage gate override [<options>] PLAN COMMIT --reason TEXT\n"
"\n"
"Fast-forward PLAN's integration branch to its highest stage that is\n"
"tested green with every stage below it (or to STAGE, which must be one\n"
"of those), as the plan's \"gate\": \"auto\" policy does by itself.  Never a\n"
"non-fast-forward: a diverged branch, a red or untested stage, a branch\n"
"that moved meanwhile are refused with the reason.  The reflog of the\n"
"branch names the runs that tested it; every decision is recorded.\n"
"\n"
"override lets the next push of exactly COMMIT to PLAN's integration\n"
"branch through the pre-receive hook although it is not tested green\n"
"(a hotfix, a revert): once, within an hour.  The override and its use\n"
"are recorded with the reason and who gave it.  It needs an admin token\n"
"(kstage token create NAME --scope admin).\n"
"\n"
"      --reason TEXT      why (override; required)\n"
"      --json             print the API's answer\n"
SERVER_OPTIONS
"\n"
"advance needs a write token.  Exit 0 moved (or allowed), 1 refused or\n"
"the request failed, 2 usage.\n";

static int gate_advance_cmd(struct client *cl, const struct cli_args *a)
{
	struct strbuf path = STRBUF_INIT;
	json_t *body = json_object(), *r = NULL;
	char *text;
	int rc;

	if (a->nr_args > 2)
		json_object_set_new(body, "stage", json_string(a->args[2]));
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	strbuf_adds(&path, "/api/v1/plans/");
	client_url_escape(&path, a->args[1]);
	strbuf_adds(&path, "/gate");
	rc = text && client_call(cl, "POST", path.buf, text, &r) == 0 ? 0 : 1;
	if (!rc && !cl->json)
		printf("%s\n", client_str(r, "detail", "moved"));
	free(text);
	json_decref(r);
	strbuf_release(&path);
	return rc;
}

static int gate_override_cmd(struct client *cl, const struct cli_args *a)
{
	struct strbuf path = STRBUF_INIT;
	json_t *r = NULL, *body;
	char *text;
	int rc;

	if (!a->reason || !*a->reason) {
		fprintf(stderr, "kstage: gate override needs --reason TEXT\n");
		return 2;
	}
	body = json_pack("{s:s,s:s}", "commit", a->args[2], "reason", a->reason);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	strbuf_adds(&path, "/api/v1/plans/");
	client_url_escape(&path, a->args[1]);
	strbuf_adds(&path, "/gate/override");
	rc = text && client_call(cl, "POST", path.buf, text, &r) == 0 ? 0 : 1;
	if (!rc && !cl->json)
		printf("override %lld: the next push of %.12s to the integration branch of"
		       " %s passes the gate (until %s)\n", client_int(r, "override"),
		       a->args[2], a->args[1], client_str(r, "expires", "?"));
	free(text);
	json_decref(r);
	strbuf_release(&path);
	return rc;
}

static const struct sub_command gate_commands[] = {
	{ "advance", 2, 3, gate_advance_cmd, 0 },	/* PLAN [STAGE] */
	{ "override", 3, 3, gate_override_cmd, 0 },	/* PLAN COMMIT */
};

int cmd_gate(int argc, char **argv)
{
	return run_sub(argc, argv, gate_options, gate_usage, gate_commands,
		       sizeof(gate_commands) / sizeof(gate_commands[0]),
		       "gate needs advance or override");
}

/* --- token ------------------------------------------------------------------------------------ */

static const char token_usage[] =
"usage: kstage token create NAME [--scope SCOPE] [--expires DAYS] [-c FILE] [--db FILE]\n"
"       kstage token list [-c FILE] [--db FILE]\n"
"       kstage token revoke NAME [-c FILE] [--db FILE]\n"
"\n"
"Manage the tokens that authorise API writes (and reads, with\n"
"\"read_auth\": true).  These work on the database directly; no server\n"
"is needed, and a running daemon sees the change at once.\n"
"\n"
"create  make token NAME ([A-Za-z0-9._-], at most 64) and print its secret\n"
"        on stdout.  It is shown this once: only its SHA-256 is stored.\n"
"        Clients send it as \"Authorization: Bearer SECRET\" (kstage\n"
"        clients: --token SECRET or KSTAGE_TOKEN=SECRET).  A revoked\n"
"        token's name may be used again.\n"
"        --scope says what it may do, each including the ones before:\n"
"          read   reads (when \"read_auth\" asks for a token)\n"
"          push   what the hooks of kstage repo init ask (refresh, gate\n"
"                 check): the token to give them\n"
"          write  every write: trigger, retry, cancel, bisect, acks, gate\n"
"                 advance, series (the default)\n"
"          admin  and overriding the gate (kstage gate override)\n"
"        --expires DAYS: refused after that many days (default: never)\n"
"list    name, scope, creation, last use, expiry and state of every token\n"
"revoke  refuse token NAME from now on (requests with it get 403)\n"
"\n"
"  -c, --config FILE  the configuration, for its database\n"
"      --db FILE      this database instead\n"
"  -h, --help         this text\n"
"\n"
"Exit 0 done, 1 failed (the name exists, no such token), 2 usage.\n";

static void fmt_time(char *out, size_t size, long long ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !localtime_r(&t, &tm) || !strftime(out, size, "%Y-%m-%d %H:%M", &tm))
		snprintf(out, size, "-");
}

static int print_token(const struct token_info *t, void *payload)
{
	char created[32], used[32], expires[32];

	(void)payload;
	fmt_time(created, sizeof(created), t->created_at);
	fmt_time(used, sizeof(used), t->last_used_at);
	fmt_time(expires, sizeof(expires), t->expires_at);
	printf("%-24s %-6s %-17s %-17s %-17s %s\n", t->name, token_scope_name(t->scope),
	       created, used, expires, t->revoked ? "revoked"
	       : t->expires_at && t->expires_at <= now_wall_ms() ? "expired" : "active");
	return 0;
}

static int token_do_create(struct db *db, const struct cli_args *a)
{
	const char *name = a->args[1];
	char secret[TOKEN_SECRET_SIZE];
	enum token_scope scope = TOKEN_SCOPE_WRITE;
	int rc;

	if (a->scope && token_scope_parse(&scope, a->scope) < 0) {
		fprintf(stderr, "kstage: --scope is read, push, write or admin (got \"%s\")\n",
			a->scope);
		return 2;
	}
	rc = token_create(db, name, scope, a->expires_days ?
			  now_wall_ms() + a->expires_days * 86400 * 1000 : 0, secret);
	if (rc == 0) {
		printf("%s\n", secret);
		fprintf(stderr, "kstage: token %s (%s) created; its secret is shown only"
			" this once\n", name, token_scope_name(scope));
	} else if (rc == 1) {
		fprintf(stderr, "kstage: a token named %s exists already (revoke it"
			" first to replace it)\n", name);
	}
	memset(secret, 0, sizeof(secret));
	return rc ? 1 : 0;
}

static int token_do_revoke(struct db *db, const struct cli_args *a)
{
	const char *name = a->args[1];
	int rc = token_revoke(db, name);

	if (rc == 0)
		printf("token %s revoked\n", name);
	else if (rc == 1)
		fprintf(stderr, "kstage: no token named %s\n", name);
	else if (rc == 2)
		fprintf(stderr, "kstage: token %s was already revoked\n", name);
	return rc == 0 ? 0 : 1;
}

static int token_do_list(struct db *db, const struct cli_args *a)
{
	(void)a;
	printf("%-24s %-6s %-17s %-17s %-17s %s\n", "name", "scope", "created",
	       "last used", "expires", "state");
	return token_list(db, print_token, NULL) < 0 ? 1 : 0;
}

static const struct token_command {
	const char *name;
	int nr_args;		/* its own name included */
	int (*fn)(struct db *db, const struct cli_args *a);
} token_commands[] = {
	{ "create", 2, token_do_create },	/* NAME */
	{ "list", 1, token_do_list },
	{ "revoke", 2, token_do_revoke },	/* NAME */
};

/* The database of the configuration (-c, --db); NULL (printed) if none. */
static struct db *token_db(const struct cli_args *a, int create, int *status)
{
	struct kstage_config *cfg = cli_config(a);
	struct db *db = NULL;
	char *dir;

	*status = 2;
	if (!cfg)
		return NULL;
	*status = 1;
	if (!create && access(cfg->db, R_OK) < 0) {
		fprintf(stderr, "kstage: %s: no database (no tokens yet)\n", cfg->db);
		goto out;
	}
	dir = path_dirname(cfg->db);
	mkdir_p(dir, 0755);
	free(dir);
	db = db_open(cfg->db);
out:
	config_free(cfg);
	return db;
}

int cmd_token(int argc, char **argv)
{
	const struct token_command *sub = NULL;
	struct cli_args a;
	struct db *db;
	size_t i;
	int rc;

	if (cli_args_parse(&a, argc, argv, token_options, token_usage, 0, -1) < 0)
		return a.o.status;
	for (i = 0; a.nr_args && i < sizeof(token_commands) / sizeof(*sub); i++)
		if (!strcmp(token_commands[i].name, a.args[0]) &&
		    token_commands[i].nr_args == a.nr_args)
			sub = &token_commands[i];
	if (!sub) {
		options_error(&a.o, "token needs create NAME, list or revoke NAME");
		return 2;
	}
	if (a.nr_args == 2 && !config_valid_name(a.args[1])) {
		fprintf(stderr, "kstage: \"%s\" is not a valid token name (letters, digits,"
			" . _ -; at most 64)\n", a.args[1]);
		return 2;
	}
	db = token_db(&a, sub->fn == token_do_create, &rc);
	if (!db)
		return rc;
	rc = sub->fn(db, &a);
	db_close(db);
	return rc;
}

/* --- kcidb ------------------------------------------------------------------------------------ */

static const char kcidb_usage[] =
"usage: kstage kcidb export [--plan PLAN] [--since RUN] [-c FILE] [--db FILE]\n"
"\n"
"Print the finished runs as KernelCI KCIDB I/O JSON, schema version 5.3:\n"
"a checkout per tested commit of a plan, a build per run (its build\n"
"step), a test per result (suite/test names as dotted paths, the boot\n"
"verdict as the test \"boot\").  Ids are \"ORIGIN:...\" with the\n"
"configuration's kcidb_origin (default kstage); log URLs need its\n"
"public_url.  It reads the database directly: no server needed.  The same\n"
"is GET /api/v1/kcidb?plan=&since= on a running daemon.\n"
"\n"
"      --plan PLAN        only this plan's runs\n"
"      --since RUN        only runs after run RUN (an incremental export)\n"
"  -c, --config FILE      the configuration (its database, origin, URL)\n"
"      --db FILE          this database instead\n"
"  -h, --help             this text\n"
"\n"
"Exit 0 printed, 1 no database or unknown plan, 2 usage.\n";

static const struct option kcidb_options_table[] = {
	OPTION_HELP, OPT_CONFIG,
	{ "db", required_argument, NULL, OPT_DB },
	{ "plan", required_argument, NULL, OPT_PLAN },
	{ "since", required_argument, NULL, OPT_SINCE },
	OPTION_END
};

/* The export of o from db, in one read transaction, to stdout. */
static int kcidb_print(struct db *db, struct kcidb_options *o, const char *plan)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = 1;

	if (api_read_begin(db) < 0)
		return 1;
	if (plan) {
		int found = db_get_int(db, &o->plan_id, "SELECT id FROM plans"
				       " WHERE name = ?", "s", plan);

		if (found == 0)
			fprintf(stderr, "kstage: no such plan: %s\n", plan);
		if (found <= 0)
			goto out;
	}
	sb.max = (size_t)1 << 30;
	if (kcidb_export(&sb, db, o) < 0)
		goto out;
	if (sb.truncated) {
		fprintf(stderr, "kstage: the export is over %zu bytes: use --since\n",
			sb.max);
		goto out;
	}
	strbuf_addch(&sb, '\n');
	if (fwrite(sb.buf, 1, sb.len, stdout) != sb.len || fflush(stdout)) {
		perror("kstage: stdout");
		goto out;
	}
	rc = 0;
out:
	api_read_end(db);
	strbuf_release(&sb);
	return rc;
}

int cmd_kcidb(int argc, char **argv)
{
	struct kcidb_options o = KCIDB_OPTIONS_INIT;
	struct kstage_config *cfg;
	struct cli_args a;
	struct db *db = NULL;
	int rc = 1;

	if (cli_args_parse(&a, argc, argv, kcidb_options_table, kcidb_usage, 1, 1) < 0)
		return a.o.status;
	if (strcmp(a.args[0], "export")) {
		options_error(&a.o, "kcidb needs export");
		return 2;
	}
	if (a.plan && !config_valid_name(a.plan)) {
		options_error(&a.o, "\"%s\" is not a plan name", a.plan);
		return 2;
	}
	cfg = cli_config(&a);
	if (!cfg)
		return 2;
	if (access(cfg->db, R_OK) < 0) {
		fprintf(stderr, "kstage: %s: no such database\n", cfg->db);
		goto out;
	}
	db = db_open(cfg->db);
	if (!db)
		goto out;
	o.origin = cfg->kcidb_origin;
	o.base_url = cfg->public_url;
	o.since = a.since;
	rc = kcidb_print(db, &o, a.plan);
out:
	db_close(db);
	config_free(cfg);
	return rc;
}
