/*
 * intake: "kstage series" (see intake.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "client.h"
#include "config.h"
#include "db.h"
#include "inbox.h"
#include "intake.h"
#include "log.h"
#include "options.h"
#include "series.h"
#include "stages.h"
#include "text.h"
#include "wrapper.h"
#include "banned.h"

int intake_read(struct patch_mail **mails, size_t *nr, const char *const *bufs,
		const size_t *lens, const char *const *names, size_t nr_inputs,
		struct strbuf *err)
{
	struct patch_mail *all = NULL;
	size_t n = 0, alloc = 0, i, k;

	for (i = 0; i < nr_inputs; i++) {
		struct strbuf why = STRBUF_INIT;
		struct patch_mail *m;
		size_t got;

		if (mbox_read(&m, &got, bufs[i], lens[i], &why) < 0 ||
		    n + got > MBOX_MAX_MAILS) {
			strbuf_addf(err, "%s: %s", names[i],
				    why.len ? why.buf : "too many mails");
			if (!why.len)
				mbox_free(m, got);
			strbuf_release(&why);
			mbox_free(all, n);
			return -1;
		}
		strbuf_release(&why);
		ALLOC_GROW(all, n + got, alloc);
		for (k = 0; k < got; k++) {
			all[n] = m[k];
			all[n].index = n;
			n++;
		}
		free(m);	/* the entries moved into all */
	}
	*mails = all;
	*nr = n;
	return 0;
}

int intake_fetch(struct series_outcome *out, struct db *db, const char *inbox,
		 const char *msgid, struct series_opts *o, struct strbuf *err)
{
	struct strbuf mbox = STRBUF_INIT_MAX(INTAKE_MAX_MBOX);
	struct patch_mail *mails = NULL;
	size_t nr = 0;
	char *why = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (inbox_fetch_thread(&mbox, inbox, msgid, INTAKE_MAX_MBOX, INTAKE_FETCH_TIMEOUT,
			       &why) < 0) {
		strbuf_addf(err, "%s", why ? why : "cannot get the thread");
		free(why);
		strbuf_release(&mbox);
		out->fetch_failed = 1;
		return 1;
	}
	if (mbox_read(&mails, &nr, mbox.buf ? mbox.buf : "", mbox.len, err) < 0) {
		strbuf_release(&mbox);
		out->fetch_failed = 1;
		return 1;
	}
	strbuf_release(&mbox);
	o->source = "inbox";
	if (!o->link_base)
		o->link_base = inbox;
	rc = series_apply(out, db, mails, nr, o, err);
	mbox_free(mails, nr);
	return rc;
}

/* --- kstage series ----------------------------------------------------------- */

static const char series_usage[] =
"usage: kstage series apply --plan PLAN --stage STAGE [<options>] FILE...\n"
"       kstage series fetch --plan PLAN --stage STAGE [--inbox URL] [<options>] MSGID\n"
"\n"
"Apply a patch series from mail to a stage of a plan: its branch then\n"
"holds one commit per patch, on top of the stage below (or on the\n"
"series' \"base-commit:\" when the repository has it).\n"
"\n"
"FILE is an mbox (as \"git format-patch --stdout\" or a list archive\n"
"writes it) or a single mail; several are read in order; \"-\" is the\n"
"standard input.  Of the mails, the newest complete version of the\n"
"series is taken ([PATCH v2 m/n]), in m/n order; a cover letter (0/n)\n"
"gives it its title; replies are left out.  Each patch becomes a commit\n"
"with the mail's author, date and message and a \"Message-ID:\" trailer\n"
"(\"Link: URL/ID\" with --link).  All or nothing: when a patch does not\n"
"apply, the command names it (number, subject, file and hunk) and no\n"
"branch moves.  A newer version of the series the stage holds replaces\n"
"it; an older one is refused unless --force.\n"
"\n"
"fetch gets the thread of MSGID (any mail of it: the cover letter, a\n"
"patch, a reply) from a public-inbox archive (lore.kernel.org or your\n"
"own): URL/MSGID/t.mbox.gz, the URL from --inbox or the configuration's\n"
"\"inbox\"; a v2 sent as a reply to v1 comes with it, and the newest\n"
"complete version is applied as above, with \"Link: URL/MESSAGE-ID\"\n"
"trailers.\n"
"\n"
"Both work on the plan's repository and the database directly (no\n"
"server needed); a server that runs is then asked to look at once.\n"
"\n"
"  -c, --config FILE      the configuration (plans, database)\n"
"      --db FILE          this database instead of the configuration's\n"
"      --plan PLAN        the plan, by name\n"
"      --stage STAGE      the stage, by name\n"
"      --force            replace a newer version of the series too\n"
"      --link URL         \"Link: URL/MESSAGE-ID\" instead of \"Message-ID:\"\n"
"      --inbox URL        fetch: the public-inbox (default: the config's)\n"
"      --committer-date-is-author-date\n"
"                         as git am (reproducible commit ids)\n"
"      --dry-run          make the commits and print them, but move no\n"
"                         branch and record nothing (does it apply?)\n"
"      --json             print the outcome as the API's JSON\n"
"      --token TOKEN      for telling the server (default: $KSTAGE_TOKEN)\n"
"  -h, --help             this text\n"
"\n"
"The committer is $GIT_COMMITTER_NAME <$GIT_COMMITTER_EMAIL>, else the\n"
"repository's user.name and user.email, else kstage.  Exit 0 when the\n"
"stage holds the series, 1 when it was refused or failed, 2 on a usage\n"
"error.\n";

enum {
	OPT_PLAN = 256, OPT_STAGE, OPT_FORCE, OPT_LINK, OPT_CDIAD, OPT_DB, OPT_TOKEN,
	OPT_DRY_RUN, OPT_JSON, OPT_INBOX
};

static const struct option series_options[] = {
	OPTION_HELP,
	{ "config", required_argument, NULL, 'c' },
	{ "db", required_argument, NULL, OPT_DB },
	{ "plan", required_argument, NULL, OPT_PLAN },
	{ "stage", required_argument, NULL, OPT_STAGE },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "link", required_argument, NULL, OPT_LINK },
	{ "committer-date-is-author-date", no_argument, NULL, OPT_CDIAD },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "inbox", required_argument, NULL, OPT_INBOX },
	OPTION_END
};

struct series_args {
	struct config_overrides cfg;
	const char *token;
	struct series_opts opts;
	char **files;
	int nr_files;
	int json;
	int fetch;		/* fetch MSGID (files[0]) rather than apply FILE... */
	const char *inbox;
};

/* Read one input (a file, or "-") whole, up to INTAKE_MAX_MBOX.  0 or -1. */
static int read_input(struct strbuf *sb, const char *name)
{
	if (strcmp(name, "-")) {
		if (strbuf_read_file(sb, name, INTAKE_MAX_MBOX + 1) < 0)
			return error("%s: %s", name, strerror(errno));
	} else {
		char buf[65536];
		ssize_t n = 0;

		while (sb->len <= INTAKE_MAX_MBOX && (n = xread(0, buf, sizeof(buf))) > 0)
			strbuf_add(sb, buf, n);
		if (n < 0)
			return error("standard input: %s", strerror(errno));
	}
	if (sb->truncated || sb->len > INTAKE_MAX_MBOX)
		return error("%s: larger than %zu MiB; not a patch series",
			     name, INTAKE_MAX_MBOX >> 20);
	return 0;
}

/* The plan named name among the configuration's, or NULL (printed). */
static struct plan_def *find_plan(const struct kstage_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nr_plans; i++) {
		char *err = NULL;
		struct plan_def *p = plan_def_load(cfg->plans[i], &err);

		if (!p) {
			fprintf(stderr, "kstage: %s\n", err);
			free(err);
			return NULL;
		}
		if (!strcmp(p->name, name))
			return p;
		plan_def_free(p);
	}
	fprintf(stderr, "kstage: no plan %s in the configuration\n", name);
	return NULL;
}

static void print_json(const struct series_outcome *o, const struct series_opts *opts)
{
	json_t *j = series_outcome_json(o, opts->plan, opts->stage);

	if (j) {
		json_object_set_new(j, "dry_run", json_boolean(opts->dry_run));
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(j);
}

static void print_outcome(const struct series_outcome *o, const struct series_opts *opts)
{
	const char *stage = opts->stage;
	size_t i;

	if (o->note)
		printf("note: %s\n", o->note);
	if (opts->dry_run) {
		printf("%s: \"%s\" v%u applies onto %.12s (dry run: nothing moved)\n",
		       stage, o->title, o->version, o->onto);
		for (i = 0; i < o->nr; i++)
			printf("  %.12s %s\n", o->commits[i], o->subjects[i]);
		return;
	}
	if (o->unchanged) {
		printf("%s: already at %.12s (v%u, %zu patch%s): nothing to do\n", stage,
		       o->head, o->version, o->nr, o->nr == 1 ? "" : "es");
		return;
	}
	printf("%s: \"%s\" v%u, %zu patch%s onto %.12s\n", stage, o->title, o->version,
	       o->nr, o->nr == 1 ? "" : "es", o->onto);
	for (i = 0; i < o->nr; i++)
		printf("  %.12s %s\n", o->commits[i], o->subjects[i]);
	if (o->old_head[0])
		printf("%s: %.12s -> %.12s\n", stage, o->old_head, o->head);
	else
		printf("%s: created at %.12s\n", stage, o->head);
}

/* Ask a running server to look now; quiet when none runs. */
static void tell_server(const struct kstage_config *cfg, const char *token, int quiet)
{
	struct client cl = CLIENT_INIT;
	struct strbuf out = STRBUF_INIT;
	long code;

	client_init_listen(&cl, cfg->listen, token);
	cl.quiet = 1;
	code = client_request(&cl, "POST", "/api/v1/refresh", NULL, &out, NULL);
	if (code == 202 && !quiet)
		printf("told the server at %s\n", cl.base);
	else if (code > 0)
		fprintf(stderr, "kstage: the server at %s did not take the refresh (HTTP"
			" %ld): it sees the stage at its next pass\n", cl.base, code);
	strbuf_release(&out);
	client_release(&cl);
}

/* Read every FILE of a (or "-") into mails.  0, or -1 (printed). */
static int read_files(struct patch_mail **mails, size_t *nr, const struct series_args *a)
{
	size_t n = a->nr_files, i;
	struct strbuf *bufs = xcalloc(n, sizeof(*bufs)), err = STRBUF_INIT;
	const char **data = xcalloc(n, sizeof(*data)), **names = xcalloc(n, sizeof(*names));
	size_t *lens = xcalloc(n, sizeof(*lens));
	int rc = -1;

	for (i = 0; i < n; i++) {
		if (read_input(&bufs[i], a->files[i]) < 0)
			goto out;
		data[i] = bufs[i].buf ? bufs[i].buf : "";
		lens[i] = bufs[i].len;
		names[i] = strcmp(a->files[i], "-") ? a->files[i] : "standard input";
	}
	rc = intake_read(mails, nr, data, lens, names, n, &err);
	if (rc < 0)
		fprintf(stderr, "kstage: %s\n", err.buf);
out:
	for (i = 0; i < n; i++)
		strbuf_release(&bufs[i]);
	free(bufs);
	free(data);
	free(names);
	free(lens);
	strbuf_release(&err);
	return rc;
}

/* apply FILE... or fetch MSGID, as a says.  The exit status. */
static int series_cmd(struct series_args *a)
{
	struct kstage_config *cfg;
	struct plan_def *plan = NULL;
	struct patch_mail *mails = NULL;
	struct strbuf err = STRBUF_INIT;
	struct series_outcome out;
	struct db *db = NULL;
	const char *inbox = NULL;
	long long plan_id;
	char *cerr = NULL;
	size_t nr = 0;
	int rc = 1;

	cfg = config_load_with(&a->cfg, &cerr);
	if (!cfg) {
		fprintf(stderr, "kstage: %s\n", cerr);
		free(cerr);
		return 2;
	}
	if (a->fetch) {
		inbox = a->inbox ? a->inbox : cfg->inbox;
		if (!inbox) {
			fprintf(stderr, "kstage: fetch needs a public-inbox: --inbox URL, or"
				" \"inbox\" in the configuration\n");
			rc = 2;
			goto out;
		}
	} else if (read_files(&mails, &nr, a) < 0) {
		goto out;
	}
	plan = find_plan(cfg, a->opts.plan);
	if (!plan)
		goto out;
	db = db_open(cfg->db);
	if (!db || stages_sync_plan(db, plan, &plan_id) < 0) {
		fprintf(stderr, "kstage: %s: cannot open or update the database\n", cfg->db);
		goto out;
	}
	if (a->fetch)
		rc = intake_fetch(&out, db, inbox, a->files[0], &a->opts, &err);
	else
		rc = series_apply(&out, db, mails, nr, &a->opts, &err);
	if (rc == 0) {
		if (a->json)
			print_json(&out, &a->opts);
		else
			print_outcome(&out, &a->opts);
		if (!out.unchanged && !a->opts.dry_run)
			tell_server(cfg, a->token, a->json);
	} else {
		if (out.note)
			fprintf(stderr, "note: %s\n", out.note);
		fprintf(stderr, "kstage: %s: nothing applied, no branch moved\n", err.buf);
		rc = 1;
	}
	series_outcome_release(&out);
out:
	mbox_free(mails, nr);
	if (db)
		db_close(db);
	if (plan)
		plan_def_free(plan);
	strbuf_release(&err);
	config_free(cfg);
	return rc;
}

int cmd_series(int argc, char **argv)
{
	struct options o = OPTIONS_INIT(series_options, series_usage);
	struct series_args a = { CONFIG_OVERRIDES_INIT };
	int opt;

	a.opts.source = "file";
	while ((opt = options_next(&o, argc, argv)) > 0) {
		switch (opt) {
		case 'c': a.cfg.path = optarg; break;
		case OPT_DB: a.cfg.db = optarg; break;
		case OPT_PLAN: a.opts.plan = optarg; break;
		case OPT_STAGE: a.opts.stage = optarg; break;
		case OPT_FORCE: a.opts.force = 1; break;
		case OPT_LINK: a.opts.link_base = optarg; break;
		case OPT_CDIAD: a.opts.committer_date_is_author_date = 1; break;
		case OPT_TOKEN: a.token = optarg; break;
		case OPT_DRY_RUN: a.opts.dry_run = 1; break;
		case OPT_JSON: a.json = 1; break;
		case OPT_INBOX: a.inbox = optarg; break;
		}
	}
	if (opt < 0)
		return o.status;
	if (optind >= argc || (strcmp(argv[optind], "apply") && strcmp(argv[optind], "fetch")))
		return options_error(&o, "series needs a command: apply or fetch"), o.status;
	a.fetch = !strcmp(argv[optind], "fetch");
	if (!a.opts.plan || !a.opts.stage)
		return options_error(&o, "%s needs --plan and --stage", argv[optind]), o.status;
	if (!config_valid_name(a.opts.plan) || !config_valid_name(a.opts.stage))
		return options_error(&o, "--plan and --stage take names ([A-Za-z0-9._-])"),
		       o.status;
	if ((a.opts.link_base && !text_is_http_url(a.opts.link_base)) ||
	    (a.inbox && !text_is_http_url(a.inbox)))
		return options_error(&o, "--link and --inbox take an http:// or https:// URL"),
		       o.status;
	a.files = argv + optind + 1;
	a.nr_files = argc - optind - 1;
	if (a.fetch && a.nr_files != 1)
		return options_error(&o, "fetch takes one MSGID"), o.status;
	if (!a.nr_files)
		return options_error(&o, "apply needs at least one FILE (or -)"), o.status;
	if (!a.token)
		a.token = getenv("KSTAGE_TOKEN");
	a.opts.by = getenv("USER") && config_valid_name(getenv("USER")) ?
		getenv("USER") : "cli";
	return series_cmd(&a);
}
