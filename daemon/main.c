/*
 * main: the kstage command line, one binary with a table of subcommands,
 * and the composition root: "serve", "run" and "check" put the engine,
 * the HTTP server and the configuration together here.  The client
 * commands are cli.c's.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <git2.h>

#include "cli.h"
#include "config.h"
#include "engine.h"
#include "http.h"
#include "log.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

#define KSTAGE_VERSION "0.1"

static const char usage_text[] =
"usage: kstage [-v | -q] <command> [<options>]\n"
"\n"
"kstage builds, boots and tests every stage of a stacked kernel patch plan,\n"
"compares each stage with the stage below, and bisects regressions.\n"
"\n"
"commands:\n"
"  run --once     one full pass over the plans without a server; exits 1 if\n"
"                 a stage regressed or failed, 3 if the stack is not\n"
"                 consistent (a stage needs a rebase), 0 otherwise\n"
"  serve          the daemon: engine, HTTP API, dashboard, events, metrics\n"
"  status         the state of every plan and stage (from the server, or\n"
"                 --db FILE without one)\n"
"  trigger PLAN STAGE    queue a run of a stage's head\n"
"  retry RUN      run a finished run's commit again, without reuse\n"
"  cancel RUN     cancel a queued or running run\n"
"  log RUN [STEP] print a step's log (--tail N for the end)\n"
"  bisect start|cancel|show   ask for, stop or show a bisection\n"
"  token create|list|revoke   manage the API tokens (on the database)\n"
"  check          validate the configuration, plans and profiles\n"
"  version        print the version\n"
"\n"
"common options:\n"
"  -c, --config FILE   daemon configuration (default: configs/kstage.json if\n"
"                      it exists, else built-in defaults under var/)\n"
"  -p, --plan FILE     a plan file (repeatable; replaces the config's plans)\n"
"      --db FILE       the SQLite database (overrides the configuration)\n"
"      --listen ADDRESS:PORT   where serve listens (port 0: any free port)\n"
"      --url URL       the server the client commands talk to (default:\n"
"                      http:// + the configuration's listen)\n"
"      --token TOKEN   API token for writes (default: $KSTAGE_TOKEN)\n"
"      --json          client commands print the API's JSON\n"
"  -v, -q              more or less logging\n"
"\n"
"Run 'kstage <command> --help' for the options of a command.\n";

struct kstage_config *load_config(const struct common *c)
{
	struct kstage_config *cfg;
	char *err = NULL;

	cfg = config_load_with(&c->cfg, &err);
	if (!cfg) {
		fprintf(stderr, "kstage: %s\n", err);
		free(err);
	}
	return cfg;
}

/*
 * Block the signals the engine's loop reads from its signalfd, before any
 * thread starts (threads inherit the mask), and ignore SIGPIPE: a client
 * that hangs up must not kill the daemon.
 */
static void block_signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static const char run_usage[] =
"usage: kstage run --once [-c FILE] [-p PLAN]... [--db FILE] [--slots N]\n"
"                  [--artifacts DIR] [--work DIR] [--cache DIR]\n"
"\n"
"One full pass without a server: resolve every stage of every plan, run\n"
"each head that has no result yet (lowest stage first), compare every\n"
"stage with the stage below, print the table and exit:\n"
"  0  every stage green\n"
"  1  a stage regressed (red) or could not be built/booted (error)\n"
"  2  bad input (configuration, plan, profile)\n"
"  3  nothing red, but the stack is not consistent (needs rebase / missing)\n";

static int cmd_run(struct common *c, int argc, char **argv)
{
	struct engine_options opt = { 0 };
	struct kstage_config *cfg;
	struct engine *e;
	char *err = NULL;
	int status;

	(void)argc;
	(void)argv;
	cfg = load_config(c);
	if (!cfg)
		return 2;
	opt.once = 1;
	opt.plan_paths = c->plans;
	opt.nr_plan_paths = c->nr_plans;
	if (!c->nr_plans && !cfg->nr_plans) {
		fprintf(stderr, "kstage: no plan: give --plan FILE or list plans in "
			"the configuration\n");
		config_free(cfg);
		return 2;
	}
	block_signals();
	e = engine_new(cfg, &opt, &err);
	if (!e) {
		if (err)
			fprintf(stderr, "kstage: %s\n", err);
		free(err);
		config_free(cfg);
		return 2;
	}
	if (engine_loop(e) < 0) {
		engine_free(e);
		config_free(cfg);
		return 2;
	}
	status = engine_report(e, stdout);
	engine_free(e);
	config_free(cfg);
	return status;
}

static const char serve_usage[] =
"usage: kstage serve [-c FILE] [-p PLAN]... [--listen ADDRESS:PORT] [--db FILE]\n"
"                    [--slots N] [--artifacts DIR] [--work DIR] [--cache DIR]\n"
"\n"
"Run the daemon: the engine (plans, queue, runs, comparisons, bisections)\n"
"and the HTTP server: the dashboard on /, the JSON API on /api/v1 (see\n"
"daemon/API.md), live events on /api/v1/events, Prometheus metrics on\n"
"/metrics and plain HTML views that need no JavaScript on /plain.\n"
"\n"
"  --listen ADDRESS:PORT  where to listen (default: the configuration's\n"
"                         \"listen\", 127.0.0.1:8080); port 0 picks a free\n"
"                         port, printed at start\n"
"\n"
"Writes (POST, DELETE) need a token: kstage token create NAME.  Once it\n"
"listens, the daemon prints\n"
"  kstage: serving http://ADDRESS:PORT/ (dashboard), API at /api/v1\n"
"on stdout.  SIGTERM or SIGINT stop it: running steps are stopped and\n"
"their runs re-queued at the next start.  Exit 0 after a clean stop, 1 if\n"
"it cannot listen, 2 on a bad configuration.\n";

/* The length of the ADDRESS part of "ADDRESS:PORT". */
static int host_len(const char *listen)
{
	const char *colon = strrchr(listen, ':');

	return colon ? (int)(colon - listen) : (int)strlen(listen);
}

static int cmd_serve(struct common *c, int argc, char **argv)
{
	struct engine_options opt = { 0 };
	struct kstage_config *cfg;
	struct http_server *srv = NULL;
	struct engine *e = NULL;
	char *err = NULL;
	int status = 0;

	if (argc > 0) {
		fprintf(stderr, "kstage: serve takes no arguments (got \"%s\")\n\n%s",
			argv[0], serve_usage);
		return 2;
	}
	cfg = load_config(c);
	if (!cfg)
		return 2;
	opt.plan_paths = c->plans;
	opt.nr_plan_paths = c->nr_plans;
	if (!c->nr_plans && !cfg->nr_plans)
		warn("no plans configured: serving an empty state (give --plan FILE"
		     " or list plans in the configuration)");
	block_signals();
	e = engine_new(cfg, &opt, &err);
	if (!e) {
		if (err)
			fprintf(stderr, "kstage: %s\n", err);
		status = 2;
		goto out;
	}
	srv = http_start(cfg, e, &err);
	if (!srv) {
		fprintf(stderr, "kstage: %s\n", err);
		status = 1;
		goto out;
	}
	printf("kstage: serving http://%.*s:%u/ (dashboard), API at /api/v1\n",
	       host_len(cfg->listen), cfg->listen, http_port(srv));
	fflush(stdout);
	if (engine_loop(e) < 0)
		status = 1;
out:
	http_stop(srv);
	engine_free(e);
	free(err);
	config_free(cfg);
	return status;
}

static const char check_usage[] =
"usage: kstage check [-c FILE] [-p PLAN]...\n"
"\n"
"Load the configuration and every plan (with its profile) and report the\n"
"first error of each, with file, line, column and field.  Exit 0 if all\n"
"are valid, 2 otherwise.\n";

static int cmd_check(struct common *c, int argc, char **argv)
{
	struct kstage_config *cfg = load_config(c);
	const char *const *paths;
	size_t n, i;
	int status = 0;

	(void)argc;
	(void)argv;
	if (!cfg)
		return 2;
	paths = c->nr_plans ? c->plans : (const char *const *)cfg->plans;
	n = c->nr_plans ? c->nr_plans : cfg->nr_plans;
	for (i = 0; i < n; i++) {
		char *err = NULL;
		struct plan_def *p = plan_def_load(paths[i], &err);

		if (!p) {
			fprintf(stderr, "kstage: %s\n", err);
			free(err);
			status = 2;
			continue;
		}
		printf("%s: plan %s, %zu stages, profile %s (%.12s)\n", paths[i],
		       p->name, p->nr_stages, p->profile->name, p->profile->digest);
		plan_def_free(p);
	}
	config_free(cfg);
	return status;
}

static int cmd_version(struct common *c, int argc, char **argv)
{
	int major, minor, rev;

	(void)c;
	(void)argc;
	(void)argv;
	git_libgit2_version(&major, &minor, &rev);
	printf("kstage %s (libgit2 %d.%d.%d, %s)\n", KSTAGE_VERSION, major, minor,
	       rev, curl_version());
	return 0;
}

struct command {
	const char *name;
	int (*fn)(struct common *c, int argc, char **argv);
	const char *usage;
};

static const struct command commands[] = {
	{ "run", cmd_run, run_usage },
	{ "check", cmd_check, check_usage },
	{ "serve", cmd_serve, serve_usage },
	{ "status", cmd_status, status_usage },
	{ "trigger", cmd_trigger, trigger_usage },
	{ "retry", cmd_retry, retry_usage },
	{ "cancel", cmd_cancel, cancel_usage },
	{ "log", cmd_log, log_usage },
	{ "bisect", cmd_bisect, bisect_usage },
	{ "token", cmd_token, token_usage },
	{ "version", cmd_version, NULL },
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "plan", required_argument, NULL, 'p' },
		{ "db", required_argument, NULL, 'D' },
		{ "slots", required_argument, NULL, 'S' },
		{ "artifacts", required_argument, NULL, 'A' },
		{ "work", required_argument, NULL, 'W' },
		{ "cache", required_argument, NULL, 'C' },
		{ "listen", required_argument, NULL, 'l' },
		{ "url", required_argument, NULL, 'u' },
		{ "token", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct common c = { 0 };
	const struct command *cmd = NULL;
	int status, opt;
	size_t i;

	/* Global options before the command. */
	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "-v"))
			log_verbosity = LOG_DEBUG;
		else if (!strcmp(argv[1], "-q"))
			log_verbosity = LOG_WARN;
		else if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(argv[1], "--version")) {
			argv[1] = "version";
			break;
		} else {
			fprintf(stderr, "kstage: unknown option %s\n\n%s", argv[1], usage_text);
			return 2;
		}
		argv++;
		argc--;
	}
	if (argc < 2) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help")) {
		if (argc < 3) {
			fputs(usage_text, stdout);
			return 0;
		}
		argv[1] = argv[2];
		argv[2] = "--help";
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, argv[1]))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "kstage: '%s' is not a command\n\n%s", argv[1], usage_text);
		return 2;
	}
	argv++;
	argc--;
	c.plans = xcalloc(argc + 1, sizeof(char *));
	/* "+" stops at the first non-option: sub-subcommands keep theirs. */
	while ((opt = getopt_long(argc, argv, "+c:p:vqh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': c.cfg.path = optarg; break;
		case 'p': c.plans[c.nr_plans++] = optarg; break;
		case 'D': c.cfg.db = optarg; break;
		case 'S': c.cfg.slots = (unsigned)atoi(optarg);
			if (c.cfg.slots < 1 || c.cfg.slots > 64) {
				fprintf(stderr, "kstage: --slots must be 1..64\n");
				return 2;
			}
			break;
		case 'A': c.cfg.artifacts = optarg; break;
		case 'W': c.cfg.work = optarg; break;
		case 'C': c.cfg.cache = optarg; break;
		case 'l': c.cfg.listen = optarg; break;
		case 'u': c.url = optarg; break;
		case 't': c.token = optarg; break;
		case 'j': c.json = 1; break;
		case 'o': break;
		case 'v': log_verbosity = LOG_DEBUG; break;
		case 'q': log_verbosity = LOG_WARN; break;
		case 'h':
			fputs(cmd->usage ? cmd->usage : usage_text, stdout);
			return 0;
		default:
			fprintf(stderr, "\n%s", cmd->usage ? cmd->usage : usage_text);
			return 2;
		}
	}
	git_libgit2_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	status = cmd->fn(&c, argc - optind, argv + optind);
	curl_global_cleanup();
	git_libgit2_shutdown();
	free(c.plans);
	return status;
}
