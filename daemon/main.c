/*
 * main: the kstage command line, one binary with a table of subcommands,
 * and the composition root: "serve", "run" and "check" put the loop,
 * the HTTP server and the configuration together here.  The client
 * commands are cli.c's.  Every command reads its own options (options.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <curl/curl.h>
#include <git2.h>

#include "api.h"
#include "child.h"
#include "cli.h"
#include "client.h"
#include "config.h"
#include "loop.h"
#include "node_run.h"
#include "notify.h"
#include "hooks.h"
#include "intake.h"
#include "http.h"
#include "log.h"
#include "options.h"
#include "report.h"
#include "repo.h"
#include "wrapper.h"
#include "banned.h"

#define KSTAGE_VERSION "0.1"

static const char usage_text[] =
"usage: kstage [-v | -q] <command> [<options>] [<arguments>]\n"
"\n"
"kstage builds, boots and tests every stage of a stacked kernel patch plan,\n"
"compares each stage with the stage below, and bisects regressions.\n"
"\n"
"commands:\n"
"  run            follow the plans without a server, until SIGTERM\n"
"  run --once     one full pass over the plans without a server; exits 1 if\n"
"                 a stage regressed or failed, 3 if the stack is not\n"
"                 consistent (a stage needs a rebase), 0 otherwise\n"
"  serve          the daemon: loop, HTTP API, dashboard, events, metrics\n"
"  status         the state of every plan and stage (from the server, or\n"
"                 --db FILE without one)\n"
"  trigger PLAN STAGE    queue a run of a stage's head\n"
"  retry RUN      run a finished run's commit again, without reuse\n"
"  cancel RUN     cancel a queued or running run\n"
"  log RUN [STEP] print a step's log (--tail N for the end)\n"
"  ack add|list|delete        acknowledge a known failure, list, remove\n"
"  bisect start|cancel|show   ask for, stop or show a bisection\n"
"  gate advance PLAN [STAGE]  move the integration branch to tested stages\n"
"  repo init PATH --url URL   a bare repository for git push, with hooks\n"
"  hook pre-receive|post-receive   what those hooks run (git runs them)\n"
"  series apply --plan P --stage S FILE...   a patch series from mail\n"
"                 (mbox) onto a stage's branch\n"
"  token create|list|revoke   manage the API tokens (on the database)\n"
"  kcidb export   the finished runs as KernelCI KCIDB JSON (v5.3)\n"
"  check          validate the configuration, plans and profiles\n"
"  version        print the version\n"
"  node-run SPEC  one run on this node: what a Slurm batch job of the\n"
"                 executor runs (internal; \"executor\": \"slurm\")\n"
"\n"
"global options, before the command:\n"
"  -v, -q         more or less logging\n"
"  -h, --help     this text\n"
"      --version  the same as 'kstage version'\n"
"\n"
"Each command has its own options: 'kstage <command> --help' (or 'kstage\n"
"help <command>') lists them.  Options and arguments may come in any\n"
"order; '--opt=value' and '--opt value' are the same.  Most commands take\n"
"-c, --config FILE: the daemon configuration (default: configs/kstage.json\n"
"if it exists, else built-in defaults under var/).  An unknown option or a\n"
"missing value is a usage error: exit 2.\n";

/* --- the options of serve, run and check ---------------------------------------- */

/* The command line of the commands that compose the daemon. */
struct daemon_args {
	struct config_overrides cfg;
	const char **plans;	/* --plan, in order (the strings are argv's) */
	size_t nr_plans;
	int once;		/* run --once */
};

#define DAEMON_ARGS_INIT { CONFIG_OVERRIDES_INIT, NULL, 0, 0 }

enum {
	OPT_DB = 256,
	OPT_SLOTS,
	OPT_ARTIFACTS,
	OPT_WORK,
	OPT_CACHE,
	OPT_LISTEN,
	OPT_ONCE,
	OPT_VERSION,
};

#define OPT_CONFIG { "config", required_argument, NULL, 'c' }
#define OPT_PLAN { "plan", required_argument, NULL, 'p' }
#define OPT_DATA \
	{ "db", required_argument, NULL, OPT_DB }, \
	{ "slots", required_argument, NULL, OPT_SLOTS }, \
	{ "artifacts", required_argument, NULL, OPT_ARTIFACTS }, \
	{ "work", required_argument, NULL, OPT_WORK }, \
	{ "cache", required_argument, NULL, OPT_CACHE }

static const struct option run_options[] = {
	OPTION_HELP, OPT_CONFIG, OPT_PLAN, OPT_DATA,
	{ "once", no_argument, NULL, OPT_ONCE },
	OPTION_END
};

static const struct option serve_options[] = {
	OPTION_HELP, OPT_CONFIG, OPT_PLAN, OPT_DATA,
	{ "listen", required_argument, NULL, OPT_LISTEN },
	OPTION_END
};

static const struct option check_options[] = {
	OPTION_HELP, OPT_CONFIG, OPT_PLAN,
	OPTION_END
};

static void daemon_args_release(struct daemon_args *a)
{
	free(a->plans);
	a->plans = NULL;
}

/* One option of serve, run or check into *a.  0, or -1 with o->status. */
static int daemon_option(struct daemon_args *a, struct options *o, int opt)
{
	long long n;

	switch (opt) {
	case 'c': a->cfg.path = optarg; break;
	case 'p': a->plans[a->nr_plans++] = optarg; break;
	case OPT_DB: a->cfg.db = optarg; break;
	case OPT_ARTIFACTS: a->cfg.artifacts = optarg; break;
	case OPT_WORK: a->cfg.work = optarg; break;
	case OPT_CACHE: a->cfg.cache = optarg; break;
	case OPT_LISTEN: a->cfg.listen = optarg; break;
	case OPT_ONCE: a->once = 1; break;
	case OPT_SLOTS:
		if (api_parse_int(optarg, 1, 64, &n) < 0)
			return options_error(o, "--slots must be 1..64 (got \"%s\")",
					     optarg);
		a->cfg.slots = (unsigned)n;
		break;
	}
	return 0;
}

/*
 * The command line of serve, run or check (argv[0] is the command): the
 * table says which options it takes; none takes arguments.  0, or -1
 * when the command is to exit with *status (help or a usage error).
 */
static int daemon_args_parse(struct daemon_args *a, int argc, char **argv,
			     const struct option *table, const char *usage,
			     int *status)
{
	struct options o = OPTIONS_INIT(table, usage);
	int opt;

	a->plans = xcalloc(argc, sizeof(*a->plans));
	while ((opt = options_next(&o, argc, argv)) > 0 &&
	       daemon_option(a, &o, opt) == 0)
		;
	if (opt)
		goto fail;
	if (optind < argc) {
		options_error(&o, "unexpected argument \"%s\"", argv[optind]);
		goto fail;
	}
	return 0;
fail:
	daemon_args_release(a);
	*status = o.status;
	return -1;
}

/*
 * The command line (as daemon_args_parse()) and the configuration with its
 * overrides: the configuration, or NULL when the command is to exit with
 * *status (help, a usage error, a bad configuration: printed).
 */
static struct kstage_config *daemon_config(struct daemon_args *a, int argc,
					   char **argv, const struct option *table,
					   const char *usage, int *status)
{
	struct kstage_config *cfg;
	char *err = NULL;

	*status = 2;
	if (daemon_args_parse(a, argc, argv, table, usage, status) < 0)
		return NULL;
	cfg = config_load_with(&a->cfg, &err);
	if (!cfg) {
		fprintf(stderr, "kstage: %s\n", err);
		free(err);
	}
	return cfg;
}

/*
 * Block the signals the loop reads from its signalfd, before any
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

/* The options of serve, run and check, for their usage. */
#define CONFIG_OPTIONS \
"  -c, --config FILE    the configuration (default: configs/kstage.json if\n" \
"                       it exists, else built-in defaults under var/)\n" \
"  -p, --plan FILE      a plan (repeatable; replaces the configuration's)\n"
#define DAEMON_OPTIONS \
CONFIG_OPTIONS \
"      --db FILE        the SQLite database\n" \
"      --slots N        runs at the same time, 1..64\n" \
"      --artifacts DIR  where logs and artifacts go\n" \
"      --work DIR       worker trees and build outputs\n" \
"      --cache DIR      the shared cache (ccache, probes)\n" \
"  -h, --help           this text\n"

/* --- run ------------------------------------------------------------------------ */

static const char run_usage[] =
"usage: kstage run [--once] [-c FILE] [-p PLAN]... [--db FILE] [--slots N]\n"
"                  [--artifacts DIR] [--work DIR] [--cache DIR]\n"
"\n"
"Follow the plans without a server: resolve every stage of every plan, run\n"
"each head that has no result yet (lowest stage first), compare every\n"
"stage with the stage below and bisect regressions; look at the branches\n"
"again every \"poll_interval\" seconds of the configuration (0: only at\n"
"start and on SIGHUP), until SIGTERM or SIGINT: running steps are stopped\n"
"and their runs re-queued at the next start.  'kstage status --db FILE'\n"
"prints the state meanwhile.  Exit 0 after a clean stop, 2 on bad input.\n"
"\n"
"  --once  one full pass: run what the branches need, then print the\n"
"          table of the plans (as 'kstage status' does) and exit:\n"
"            0  every stage green\n"
"            1  a stage regressed (red) or could not be built/booted (error)\n"
"            2  bad input (configuration, plan, profile)\n"
"            3  nothing red, but the stack is not consistent (needs rebase\n"
"               or missing)\n"
"\n"
DAEMON_OPTIONS;

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * Load the plan at path and hand it to fn (NULL: a load error, printed).
 * Returns fn's result, or -1 if it did not load.
 */
static int with_plan(const char *path, size_t i,
		     int (*fn)(const struct plan_def *p, const char *path,
			       size_t i, void *payload),
		     void *payload)
{
	char *err = NULL;
	struct plan_def *p = plan_def_load(path, &err);
	int rc;

	if (!p) {
		fprintf(stderr, "kstage: %s\n", err);
		free(err);
		return -1;
	}
	rc = fn(p, path, i, payload);
	plan_def_free(p);
	return rc;
}

static int keep_name(const struct plan_def *p, const char *path, size_t i,
		     void *payload)
{
	char **names = payload;

	(void)path;
	names[i] = xstrdup(p->name);
	return 0;
}

/*
 * The names of the plans at paths[], for the table; the loop loads them
 * again (a plan is a small file and its profile's digest cheap to compute).
 * NULL (printed) when one does not load: bad input.
 */
static char **plan_names(const char *const *paths, size_t n)
{
	char **names = xcalloc(n, sizeof(*names));
	size_t i;

	for (i = 0; i < n; i++) {
		if (with_plan(paths[i], i, keep_name, names) < 0) {
			free_names(names, i);
			return NULL;
		}
	}
	return names;
}

/*
 * The table of the plans run --once followed, read back from the database
 * the way "kstage status --db" reads it, on a connection of its own.
 * Returns the exit status.
 */
static int print_table(const char *db, char **names, size_t n)
{
	struct client cl = CLIENT_INIT;
	int verdict = 2;

	if (client_open_db(&cl, db) < 0 ||
	    report_plans(&cl, stdout, (const char *const *)names, n, &verdict) < 0)
		verdict = 2;
	client_release(&cl);
	return verdict;
}

/*
 * Raise the soft limit on open files to the hard one: each HTTP
 * connection holds a descriptor, and the server sizes its connection
 * limit from this (http.c).  Not fatal: the server then holds fewer.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		warn("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		warn("setrlimit(RLIMIT_NOFILE, %llu): %s",
		     (unsigned long long)rl.rlim_max, strerror(errno));
}

/* Block the signals and make the loop; NULL (printed) if it cannot be. */
static struct loop *start_loop(struct kstage_config *cfg,
			       const struct loop_options *opt)
{
	struct loop *l;
	char *err = NULL;

	block_signals();
	l = loop_new(cfg, opt, &err);
	if (!l && err)
		fprintf(stderr, "kstage: %s\n", err);
	free(err);
	return l;
}

static int cmd_run(int argc, char **argv)
{
	struct daemon_args a = DAEMON_ARGS_INIT;
	struct loop_options opt = { 0 };
	struct kstage_config *cfg = NULL;
	struct loop *lp = NULL;
	char **names = NULL;
	int status = 2;

	cfg = daemon_config(&a, argc, argv, run_options, run_usage, &status);
	if (!cfg)
		goto out;
	opt.once = a.once;
	opt.plan_paths = a.nr_plans ? a.plans : (const char *const *)cfg->plans;
	opt.nr_plan_paths = a.nr_plans ? a.nr_plans : cfg->nr_plans;
	if (!opt.nr_plan_paths) {
		fprintf(stderr, "kstage: no plan: give --plan FILE or list plans in "
			"the configuration\n");
		goto out;
	}
	if (a.once && !(names = plan_names(opt.plan_paths, opt.nr_plan_paths)))
		goto out;
	lp = start_loop(cfg, &opt);
	if (!lp)
		goto out;
	if (!a.once)
		info("following %zu plan(s), no server; SIGTERM or SIGINT stop it",
		     opt.nr_plan_paths);
	if (loop_run(lp) < 0)
		goto out;
	loop_free(lp);
	lp = NULL;
	status = a.once ? print_table(cfg->db, names, opt.nr_plan_paths) : 0;
out:
	loop_free(lp);
	if (names)
		free_names(names, opt.nr_plan_paths);
	config_free(cfg);
	daemon_args_release(&a);
	return status;
}

/* --- serve ---------------------------------------------------------------------- */

static const char serve_usage[] =
"usage: kstage serve [-c FILE] [-p PLAN]... [--listen ADDRESS:PORT] [--db FILE]\n"
"                    [--slots N] [--artifacts DIR] [--work DIR] [--cache DIR]\n"
"\n"
"Run the daemon: the loop (plans, queue, runs, comparisons, bisections)\n"
"and the HTTP server: the dashboard on /, the JSON API on /api/v1 (see\n"
"daemon/API.md), live events on /api/v1/events, Prometheus metrics on\n"
"/metrics and plain HTML views that need no JavaScript on /plain.\n"
"\n"
"      --listen ADDRESS:PORT  where to listen (default: the configuration's\n"
"                       \"listen\", 127.0.0.1:8080); port 0 picks a free\n"
"                       port, printed at start\n"
DAEMON_OPTIONS
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

static int cmd_serve(int argc, char **argv)
{
	struct daemon_args a = DAEMON_ARGS_INIT;
	struct loop_options opt = { 0 };
	struct kstage_config *cfg = NULL;
	struct http_server *srv = NULL;
	struct notify *nt = NULL;
	struct loop *lp = NULL;
	char *err = NULL;
	int status = 2;

	cfg = daemon_config(&a, argc, argv, serve_options, serve_usage, &status);
	if (!cfg)
		goto out;
	opt.plan_paths = a.plans;
	opt.nr_plan_paths = a.nr_plans;
	if (!a.nr_plans && !cfg->nr_plans)
		warn("no plans configured: serving an empty state (give --plan FILE"
		     " or list plans in the configuration)");
	raise_fd_limit();
	/* Before the loop and the server: their events fill the outbox. */
	if ((cfg->nr_webhooks || cfg->mail || cfg->patchwork) && !(nt = notify_start(cfg))) {
		status = 1;
		goto out;
	}
	lp = start_loop(cfg, &opt);
	if (!lp)
		goto out;
	srv = http_start(cfg, lp, &err);
	if (!srv) {
		fprintf(stderr, "kstage: %s\n", err);
		status = 1;
		goto out;
	}
	printf("kstage: serving http://%.*s:%u/ (dashboard), API at /api/v1\n",
	       host_len(cfg->listen), cfg->listen, http_port(srv));
	fflush(stdout);
	status = loop_run(lp) < 0 ? 1 : 0;
out:
	http_stop(srv);
	loop_free(lp);
	notify_stop(nt);
	free(err);
	config_free(cfg);
	daemon_args_release(&a);
	return status;
}

/* --- check ---------------------------------------------------------------------- */

static const char check_usage[] =
"usage: kstage check [-c FILE] [-p PLAN]...\n"
"\n"
"Load the configuration and every plan (with its profile) and report the\n"
"first error of each, with file, line, column and field.  Exit 0 if all\n"
"are valid, 2 otherwise.\n"
"\n"
CONFIG_OPTIONS
"  -h, --help           this text\n";

static int print_plan(const struct plan_def *p, const char *path, size_t i,
		      void *payload)
{
	(void)i;
	(void)payload;
	printf("%s: plan %s, %zu stages, profile %s (%.12s)\n", path, p->name,
	       p->nr_stages, p->profile->name, p->profile->digest);
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	struct daemon_args a = DAEMON_ARGS_INIT;
	struct kstage_config *cfg;
	const char *const *paths;
	size_t n, i;
	int status = 2;

	cfg = daemon_config(&a, argc, argv, check_options, check_usage, &status);
	if (!cfg)
		goto out;
	status = 0;
	paths = a.nr_plans ? a.plans : (const char *const *)cfg->plans;
	n = a.nr_plans ? a.nr_plans : cfg->nr_plans;
	for (i = 0; i < n; i++)
		if (with_plan(paths[i], i, print_plan, NULL) < 0)
			status = 2;
out:
	config_free(cfg);
	daemon_args_release(&a);
	return status;
}

/* --- version -------------------------------------------------------------------- */

static const char version_usage[] =
"usage: kstage version\n"
"\n"
"Print the version of kstage and of libgit2 and libcurl.  Exit 0.\n";

static int cmd_version(int argc, char **argv)
{
	static const struct option options[] = { OPTION_HELP, OPTION_END };
	struct options o = OPTIONS_INIT(options, version_usage);
	int major, minor, rev, opt;

	while ((opt = options_next(&o, argc, argv)) > 0)
		;
	if (opt < 0)
		return o.status;
	if (optind < argc) {
		options_error(&o, "unexpected argument \"%s\"", argv[optind]);
		return o.status;
	}
	git_libgit2_version(&major, &minor, &rev);
	printf("kstage %s (libgit2 %d.%d.%d, %s)\n", KSTAGE_VERSION, major, minor,
	       rev, curl_version());
	return 0;
}

/* --- the commands ---------------------------------------------------------------- */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);	/* argv[0]: "kstage NAME" */
};

static const struct command commands[] = {
	{ "run", cmd_run },
	{ "check", cmd_check },
	{ "serve", cmd_serve },
	{ "status", cmd_status },
	{ "trigger", cmd_trigger },
	{ "retry", cmd_retry },
	{ "cancel", cmd_cancel },
	{ "log", cmd_log },
	{ "ack", cmd_ack },
	{ "bisect", cmd_bisect },
	{ "repo", cmd_repo },
	{ "series", cmd_series },
	{ "gate", cmd_gate },
	{ "hook", cmd_hook },
	{ "token", cmd_token },
	{ "kcidb", cmd_kcidb },
	{ "version", cmd_version },
	{ "step-guard", cmd_step_guard },	/* internal: started by the executor */
	{ "node-run", cmd_node_run },		/* internal: a Slurm job of the executor */
};

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		OPTION_HELP,
		{ "version", no_argument, NULL, OPT_VERSION },
		OPTION_END
	};
	static char prog[] = "kstage";
	struct options o = OPTIONS_INIT(options, usage_text);
	char *alias[3] = { NULL, NULL, NULL };
	const struct command *cmd;
	char name[64];
	int status, opt, version = 0;

	/* The global options stop at the command: its options are its own. */
	argv[0] = prog;
	o.in_order = 1;
	while ((opt = options_next(&o, argc, argv)) > 0)
		version = 1;	/* OPT_VERSION, the only one left to us */
	if (opt < 0)
		return o.status;
	argv += optind;
	argc -= optind;
	/* "kstage --version" is "kstage version", "kstage help CMD" is
	 * "kstage CMD --help". */
	if (version) {
		alias[0] = "version";
		argv = alias;
		argc = 1;
	} else if (argc > 0 && !strcmp(argv[0], "help")) {
		if (argc < 2) {
			fputs(usage_text, stdout);
			return 0;
		}
		alias[0] = argv[1];
		alias[1] = "--help";
		argv = alias;
		argc = 2;
	}
	if (argc < 1) {
		fputs(usage_text, stderr);
		return 2;
	}
	cmd = find_command(argv[0]);
	if (!cmd) {
		fprintf(stderr, "kstage: '%s' is not a command\n\n%s", argv[0], usage_text);
		return 2;
	}
	snprintf(name, sizeof(name), "kstage %s", cmd->name);
	argv[0] = name;
	if (cmd->fn == cmd_step_guard)	/* small: none of the libraries */
		return cmd_step_guard(argc, argv);
	{
		char *self = path_real("/proc/self/exe");

		set_self_exe(self);
		free(self);
	}
	if (repo_global_init() < 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	status = cmd->fn(argc, argv);
	curl_global_cleanup();
	git_libgit2_shutdown();
	return status;
}
