/*
 * cli: the API clients (status, trigger, retry, cancel, log, bisect) and
 * "kstage token" (see cli.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <jansson.h>

#include "api.h"
#include "cli.h"
#include "db.h"
#include "log.h"
#include "strbuf.h"
#include "token.h"
#include "wrapper.h"
#include "banned.h"

#define RESPONSE_MAX ((size_t)32 << 20)	/* bytes accepted from the server */

/* The host to connect to for a daemon listening on "ADDRESS:PORT". */
static void client_host(char *out, size_t size, const char *listen)
{
	const char *colon = strrchr(listen, ':');
	size_t n = colon ? (size_t)(colon - listen) : strlen(listen);

	snprintf(out, size, "%.*s", (int)n, listen);
	/* A wildcard address is reached through loopback. */
	if (!strcmp(out, "0.0.0.0") || !*out)
		snprintf(out, size, "127.0.0.1");
	else if (!strcmp(out, "[::]"))
		snprintf(out, size, "[::1]");
}

/* --- the HTTP client ------------------------------------------------------------- */

struct client {
	char *base;		/* "http://host:port", no trailing slash */
	const char *token;
	int json;		/* print the API's JSON as is */
	struct db *db;		/* status --db: read the database instead */
};

struct fetch {
	CURL *curl;
	struct strbuf body;
	FILE *stream;		/* 2xx bodies go here when set */
	size_t bytes;
	int too_big;
};

static size_t write_cb(char *data, size_t size, size_t n, void *payload)
{
	struct fetch *f = payload;
	long code = 0;

	size *= n;
	f->bytes += size;
	if (f->bytes > RESPONSE_MAX) {
		f->too_big = 1;
		return 0;
	}
	curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &code);
	if (f->stream && code < 300)
		return fwrite(data, 1, size, f->stream);
	strbuf_add(&f->body, data, size);
	return size;
}

/*
 * method path (with query) and an optional JSON body.  Returns the HTTP
 * status (the body in *out, unless stream took it), or -1 when there was
 * no answer (printed).
 */
static long request(struct client *cl, const char *method, const char *path,
		    const char *body, struct strbuf *out, FILE *stream)
{
	struct fetch f = { NULL, STRBUF_INIT, stream, 0, 0 };
	struct curl_slist *hdrs = NULL;
	struct strbuf url = STRBUF_INIT, auth = STRBUF_INIT;
	long code = -1;
	CURLcode rc;

	f.curl = curl_easy_init();
	if (!f.curl) {
		fprintf(stderr, "kstage: cannot initialise libcurl\n");
		return -1;
	}
	strbuf_addf(&url, "%s%s", cl->base, path);
	curl_easy_setopt(f.curl, CURLOPT_URL, strbuf_str(&url));
	curl_easy_setopt(f.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f.curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(f.curl, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(f.curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f.curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)RESPONSE_MAX);
	curl_easy_setopt(f.curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(f.curl, CURLOPT_WRITEDATA, &f);
	curl_easy_setopt(f.curl, CURLOPT_USERAGENT, "kstage-cli");
	curl_easy_setopt(f.curl, CURLOPT_CUSTOMREQUEST, method);
	if (cl->token && *cl->token) {
		strbuf_addf(&auth, "Authorization: Bearer %s", cl->token);
		hdrs = curl_slist_append(hdrs, strbuf_str(&auth));
	}
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(f.curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(f.curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(f.curl, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(f.curl);
	if (rc != CURLE_OK) {
		fprintf(stderr, "kstage: %s %s: %s\n", method, strbuf_str(&url),
			f.too_big ? "the response is too large" : curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(f.curl, CURLINFO_RESPONSE_CODE, &code);
		strbuf_add(out, f.body.buf ? f.body.buf : "", f.body.len);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(f.curl);
	strbuf_release(&f.body);
	strbuf_release(&url);
	strbuf_release(&auth);
	return code;
}

/* Print the API's error for a failed request; returns 1 (the exit status). */
static int api_failed(long code, const struct strbuf *body)
{
	json_t *j = json_loadb(body->buf ? body->buf : "", body->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "error"));

	if (msg)
		fprintf(stderr, "kstage: %s (HTTP %ld)\n", msg, code);
	else
		fprintf(stderr, "kstage: HTTP %ld: %.300s\n", code, strbuf_str(body));
	json_decref(j);
	return 1;
}

/*
 * Call the API and parse the JSON answer into *out.  0, or the exit
 * status (1) after printing what went wrong.  With cl->json, a
 * successful answer is printed as is.
 */
static int call_json(struct client *cl, const char *method, const char *path,
		     const char *body, json_t **out)
{
	struct strbuf resp = STRBUF_INIT;
	json_error_t jerr;
	long code;

	*out = NULL;
	code = request(cl, method, path, body, &resp, NULL);
	if (code < 0) {
		strbuf_release(&resp);
		return 1;
	}
	if (code >= 300) {
		api_failed(code, &resp);
		strbuf_release(&resp);
		return 1;
	}
	*out = json_loadb(resp.buf ? resp.buf : "", resp.len, 0, &jerr);
	if (!*out) {
		fprintf(stderr, "kstage: %s %s: the server's answer is not JSON: %s\n",
			method, path, jerr.text);
		strbuf_release(&resp);
		return 1;
	}
	if (cl->json)
		fputs(strbuf_str(&resp), stdout);
	strbuf_release(&resp);
	return 0;
}

/* Append s to sb, percent-encoded for a URL path segment or query value. */
static void url_escape(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~')
			strbuf_addch(sb, c);
		else
			strbuf_addf(sb, "%%%02X", c);
	}
}

/*
 * The arguments after the command: positionals into pos[], and the
 * options that may also follow them (-c/--config, --db, --json, --url,
 * --token, and --tail N for log).  2 on a usage error (printed), 0
 * otherwise.
 */
struct args {
	const char *pos[64];
	int nr;
	long long tail;		/* -1 = not given */
	int help;
};

static int parse_args(struct args *a, struct common *c, int argc, char **argv,
		      const char *usage, int with_tail)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->tail = -1;
	for (i = 0; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = NULL;

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			a->help = 1;
			fputs(usage, stdout);
			return 0;
		}
		if (!strcmp(arg, "--json")) {
			c->json = 1;
			continue;
		}
		if (!strcmp(arg, "-c") && i + 1 < argc) {
			c->cfg.path = argv[++i];
			continue;
		}
		if (!strncmp(arg, "--", 2) && arg[2]) {
			const char *eq = strchr(arg, '=');
			size_t n = eq ? (size_t)(eq - arg) : strlen(arg);

			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			if (!val)
				goto bad;
			if (n == 5 && !strncmp(arg, "--url", n))
				c->url = val;
			else if (n == 4 && !strncmp(arg, "--db", n))
				c->cfg.db = val;
			else if (n == 8 && !strncmp(arg, "--config", n))
				c->cfg.path = val;
			else if (n == 7 && !strncmp(arg, "--token", n))
				c->token = val;
			else if (with_tail && n == 6 && !strncmp(arg, "--tail", n)) {
				if (api_parse_int(val, 0, (long long)1 << 53, &a->tail) < 0) {
					fprintf(stderr, "kstage: --tail needs a number of bytes\n");
					return 2;
				}
			} else
				goto bad;
			continue;
		}
		if (a->nr == (int)(sizeof(a->pos) / sizeof(a->pos[0]))) {
			fprintf(stderr, "kstage: too many arguments\n");
			return 2;
		}
		a->pos[a->nr++] = arg;
	}
	return 0;
bad:
	fprintf(stderr, "kstage: unknown option or missing value: %s\n\n%s", argv[i],
		usage);
	return 2;
}

static void client_release(struct client *cl)
{
	free(cl->base);
	db_close(cl->db);
}

/*
 * The server's URL and the token, from the options and the configuration.
 * 0, or 2 (the exit status) when the configuration is invalid (printed).
 */
static int client_init(struct client *cl, const struct common *c)
{
	const char *env = getenv("KSTAGE_TOKEN");

	memset(cl, 0, sizeof(*cl));
	cl->json = c->json;
	cl->token = c->token ? c->token : env;
	if (c->url) {
		size_t n = strlen(c->url);

		while (n && c->url[n - 1] == '/')
			n--;
		cl->base = xstrndup(c->url, n);
	} else {
		struct kstage_config *cfg = load_config(c);
		struct strbuf sb = STRBUF_INIT;
		const char *colon;
		char host[256];

		if (!cfg)
			return 2;
		colon = strrchr(cfg->listen, ':');
		client_host(host, sizeof(host), cfg->listen);
		strbuf_addf(&sb, "http://%s:%s", host, colon ? colon + 1 : "8080");
		cl->base = strbuf_detach(&sb);
		config_free(cfg);
	}
	return 0;
}

/* --- status -------------------------------------------------------------------------- */

const char status_usage[] =
"usage: kstage status [--url URL] [--token TOKEN] [--json]\n"
"       kstage status --db FILE [--json]\n"
"\n"
"Print the state of every plan, as 'kstage run --once' does: per stage\n"
"its head, whether the stack is consistent, the verdict, the counts of\n"
"the head's run and the changes against the baseline (regressions\n"
"first).  It asks the server (GET /api/v1/plans); with --db it reads\n"
"that database directly instead, so it also works when no server runs.\n"
"\n"
"  --url URL      the server (default: http:// + the configuration's listen)\n"
"  --token TOKEN  only needed when the server has read_auth (default:\n"
"                 $KSTAGE_TOKEN)\n"
"  --json         print the API's JSON instead of the table\n"
"\n"
"Exit 0 when the state was printed, 1 when the request failed, 2 on a\n"
"usage error.\n";

/* GET path from the server, or the same resource from cl->db. */
static int fetch(struct client *cl, const char *path, api_fn *fn,
		 const char *p0, const char *p1, json_t **out)
{
	struct api_request req = API_REQUEST_INIT;
	struct api_reply rep = API_REPLY_INIT;
	int rc;

	if (!cl->db) {
		int saved = cl->json;

		cl->json = 0;
		rc = call_json(cl, "GET", path, NULL, out);
		cl->json = saved;
		return rc;
	}
	req.db = cl->db;
	req.params[0] = p0;
	req.params[1] = p1;
	req.nr_params = p1 ? 2 : p0 ? 1 : 0;
	if (api_read_begin(cl->db) < 0)
		return 1;
	rc = fn(&rep, &req);
	api_read_end(cl->db);
	if (rc < 0 || rep.status >= 300) {
		if (rc < 0)
			fprintf(stderr, "kstage: cannot read %s\n", path);
		else
			api_failed(rep.status, &rep.body);
		api_reply_release(&rep);
		return 1;
	}
	*out = json_loadb(rep.body.buf, rep.body.len, 0, NULL);
	api_reply_release(&rep);
	return *out ? 0 : 1;
}

static const char *jtext(json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : def;
}

static long long jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static int print_changes(struct client *cl, const char *plan, json_t *stage)
{
	const char *name = jtext(stage, "name", "");
	struct strbuf path = STRBUF_INIT;
	json_t *detail = NULL, *ch;
	size_t i;
	int rc;

	strbuf_adds(&path, "/api/v1/plans/");
	url_escape(&path, plan);
	strbuf_adds(&path, "/stages/");
	url_escape(&path, name);
	rc = fetch(cl, strbuf_str(&path), api_stage, plan, name, &detail);
	strbuf_release(&path);
	if (rc)
		return rc;
	json_array_foreach(json_object_get(detail, "changes"), i, ch) {
		const char *d = jtext(ch, "detail", "");

		printf("      %-10s %s (%s -> %s)%s%.200s\n", jtext(ch, "kind", "?"),
		       jtext(ch, "test", "?"), jtext(ch, "before", "-"),
		       jtext(ch, "after", "-"), *d ? ": " : "", d);
	}
	json_decref(detail);
	return 0;
}

static int print_status(struct client *cl, json_t *plans)
{
	json_t *plan, *st;
	size_t i, j;

	json_array_foreach(json_object_get(plans, "plans"), i, plan) {
		const char *name = jtext(plan, "name", "?");
		json_t *gate = json_object_get(plan, "gate");

		printf("plan %s (profile %s, %.12s), gate %s\n", name,
		       jtext(plan, "profile", "?"), jtext(plan, "profile_digest", ""),
		       jtext(gate, "state", "unknown"));
		printf("  %-3s %-24s %-12s %-13s %-8s %5s %5s %5s %5s  %s\n", "#",
		       "stage", "head", "stack", "verdict", "pass", "fail", "skip",
		       "error", "regressions");
		json_array_foreach(json_object_get(plan, "stages"), j, st) {
			json_t *counts = json_object_get(st, "counts");
			json_t *run = json_object_get(st, "run");
			const char *detail = jtext(st, "stack_detail", "");

			printf("  %-3lld %-24s %-12.12s %-13s %-8s %5lld %5lld %5lld %5lld"
			       "  %lld%s\n", jint(st, "idx"), jtext(st, "name", "?"),
			       jtext(st, "head", "-"), jtext(st, "stack_state", "?"),
			       jtext(st, "verdict", "?"), jint(counts, "pass"),
			       jint(counts, "fail"), jint(counts, "skip"),
			       jint(counts, "error"), jint(st, "regressions"),
			       json_is_integer(json_object_get(run, "reused_from"))
			       ? " (reused)" : "");
			if (*detail)
				printf("      %s\n", detail);
			if (!strcmp(jtext(run, "state", ""), "running"))
				printf("      run %lld running, step %s\n", jint(run, "id"),
				       jtext(run, "current_step", "?"));
			if ((jint(st, "regressions") || jint(st, "fixed") || jint(st, "new") ||
			     jint(st, "skipped") || jint(st, "known")) &&
			    print_changes(cl, name, st))
				return 1;
		}
	}
	return 0;
}

int cmd_status(struct common *c, int argc, char **argv)
{
	struct client cl;
	struct args a;
	json_t *plans = NULL;
	int rc;

	rc = parse_args(&a, c, argc, argv, status_usage, 0);
	if (rc || a.help)
		return rc;
	if (a.nr) {
		fprintf(stderr, "kstage: status takes no arguments\n\n%s", status_usage);
		return 2;
	}
	if (c->cfg.db && !c->url) {
		memset(&cl, 0, sizeof(cl));
		cl.json = c->json;
		if (access(c->cfg.db, R_OK) < 0) {
			fprintf(stderr, "kstage: %s: no such database\n", c->cfg.db);
			return 1;
		}
		cl.db = db_open(c->cfg.db);
		if (!cl.db)
			return 1;
	} else if ((rc = client_init(&cl, c))) {
		return rc;
	}
	rc = fetch(&cl, "/api/v1/plans", api_plans, NULL, NULL, &plans);
	if (!rc && cl.json) {
		char *s = json_dumps(plans, JSON_COMPACT);

		puts(s ? s : "{}");
		free(s);
	} else if (!rc) {
		rc = print_status(&cl, plans);
	}
	json_decref(plans);
	client_release(&cl);
	return rc;
}

/* --- trigger, retry, cancel -------------------------------------------------------------- */

const char trigger_usage[] =
"usage: kstage trigger [--url URL] [--token TOKEN] [--json] PLAN STAGE\n"
"\n"
"Queue a run of the stage's current head (POST .../trigger).  When the\n"
"tree was tested already under the plan's profile, its results are reused\n"
"at once; when a run of that head is already queued or running, that run\n"
"is reported and nothing new is queued.  Needs a token (--token or\n"
"$KSTAGE_TOKEN).  Exit 0 done, 1 the request failed, 2 usage.\n";

const char retry_usage[] =
"usage: kstage retry [--url URL] [--token TOKEN] [--json] RUN\n"
"\n"
"Run the same commit (and the same subset of tests) as run RUN again,\n"
"without reusing any result: to check a flaky failure.  RUN must be\n"
"finished.  Needs a token.  Exit 0 done, 1 the request failed, 2 usage.\n";

const char cancel_usage[] =
"usage: kstage cancel [--url URL] [--token TOKEN] [--json] RUN\n"
"\n"
"Cancel a queued or running run (a running one has its steps stopped).\n"
"Needs a token.  Exit 0 done, 1 the request failed (e.g. the run is\n"
"already finished), 2 usage.\n";

static int want_args(const struct args *a, int min, int max, const char *usage)
{
	if (a->nr < min || a->nr > max) {
		fprintf(stderr, "kstage: wrong number of arguments\n\n%s", usage);
		return 2;
	}
	return 0;
}

static int check_run_id(const char *s, const char *usage)
{
	long long id;

	if (api_parse_int(s, 1, (long long)1 << 53, &id) < 0) {
		fprintf(stderr, "kstage: \"%s\" is not a number (a positive integer)\n\n%s", s, usage);
		return 2;
	}
	return 0;
}

int cmd_trigger(struct common *c, int argc, char **argv)
{
	struct strbuf path = STRBUF_INIT;
	struct client cl;
	struct args a;
	json_t *r = NULL;
	int rc;

	rc = parse_args(&a, c, argc, argv, trigger_usage, 0);
	if (rc || a.help || (rc = want_args(&a, 2, 2, trigger_usage)))
		return rc;
	if ((rc = client_init(&cl, c)))
		return rc;
	strbuf_adds(&path, "/api/v1/plans/");
	url_escape(&path, a.pos[0]);
	strbuf_adds(&path, "/stages/");
	url_escape(&path, a.pos[1]);
	strbuf_adds(&path, "/trigger");
	rc = call_json(&cl, "POST", strbuf_str(&path), "{}", &r);
	if (!rc && !cl.json) {
		if (json_is_true(json_object_get(r, "existing")))
			printf("run %lld of %s/%s is already queued or running\n",
			       jint(r, "run"), a.pos[0], a.pos[1]);
		else if (json_is_true(json_object_get(r, "reused")))
			printf("run %lld of %s/%s: the results of an earlier run of the"
			       " same tree were reused\n", jint(r, "run"), a.pos[0], a.pos[1]);
		else
			printf("run %lld of %s/%s queued\n", jint(r, "run"), a.pos[0],
			       a.pos[1]);
	}
	json_decref(r);
	strbuf_release(&path);
	client_release(&cl);
	return rc;
}

static int run_action(struct common *c, int argc, char **argv, const char *usage,
		      const char *action)
{
	struct strbuf path = STRBUF_INIT;
	struct client cl;
	struct args a;
	json_t *r = NULL;
	int rc;

	rc = parse_args(&a, c, argc, argv, usage, 0);
	if (rc || a.help || (rc = want_args(&a, 1, 1, usage)) ||
	    (rc = check_run_id(a.pos[0], usage)))
		return rc;
	if ((rc = client_init(&cl, c)))
		return rc;
	strbuf_addf(&path, "/api/v1/runs/%s/%s", a.pos[0], action);
	rc = call_json(&cl, "POST", strbuf_str(&path), "{}", &r);
	if (!rc && !cl.json) {
		if (!strcmp(action, "retry"))
			printf("run %lld queued (a retry of run %s)\n", jint(r, "run"),
			       a.pos[0]);
		else
			printf("run %s canceled\n", a.pos[0]);
	}
	json_decref(r);
	strbuf_release(&path);
	client_release(&cl);
	return rc;
}

int cmd_retry(struct common *c, int argc, char **argv)
{
	return run_action(c, argc, argv, retry_usage, "retry");
}

int cmd_cancel(struct common *c, int argc, char **argv)
{
	return run_action(c, argc, argv, cancel_usage, "cancel");
}

/* --- log -------------------------------------------------------------------------------- */

const char log_usage[] =
"usage: kstage log [--url URL] [--token TOKEN] RUN [STEP] [--tail N]\n"
"\n"
"Print the log of a step of run RUN: STEP is the step's index (0, 1, ...)\n"
"or its name (build, boot, ...); without it, the last step that has a\n"
"log (the console, for the usual profiles).  --tail N prints only the\n"
"last N bytes.  At most 16 MiB are printed per call (the API's cap).\n"
"Exit 0 done, 1 the request failed (no such run, step or log), 2 usage.\n";

int cmd_log(struct common *c, int argc, char **argv)
{
	struct strbuf path = STRBUF_INIT, err = STRBUF_INIT;
	struct client cl;
	struct args a;
	json_t *run = NULL, *steps, *st, *pick = NULL;
	size_t i;
	long code;
	int rc;

	rc = parse_args(&a, c, argc, argv, log_usage, 1);
	if (rc || a.help || (rc = want_args(&a, 1, 2, log_usage)) ||
	    (rc = check_run_id(a.pos[0], log_usage)))
		return rc;
	if ((rc = client_init(&cl, c)))
		return rc;
	cl.json = 0;
	strbuf_addf(&path, "/api/v1/runs/%s", a.pos[0]);
	rc = call_json(&cl, "GET", strbuf_str(&path), NULL, &run);
	if (rc)
		goto out;
	steps = json_object_get(run, "steps");
	json_array_foreach(steps, i, st) {
		char idx[32];

		snprintf(idx, sizeof(idx), "%lld", jint(st, "idx"));
		if (a.nr == 2 ? (!strcmp(a.pos[1], idx) ||
				 !strcmp(a.pos[1], jtext(st, "name", ""))) :
		    json_is_string(json_object_get(st, "log")))
			pick = st;
	}
	rc = 1;
	if (!pick) {
		if (a.nr == 2)
			fprintf(stderr, "kstage: run %s has no step %s\n", a.pos[0], a.pos[1]);
		else
			fprintf(stderr, "kstage: run %s has no step log yet\n", a.pos[0]);
		goto out;
	}
	if (!json_is_string(json_object_get(pick, "log"))) {
		fprintf(stderr, "kstage: step %s of run %s has no log yet\n",
			jtext(pick, "name", "?"), a.pos[0]);
		goto out;
	}
	strbuf_reset(&path);
	strbuf_adds(&path, jtext(pick, "log", ""));
	if (a.tail >= 0)
		strbuf_addf(&path, "?tail=%lld", a.tail);
	fflush(stdout);
	code = request(&cl, "GET", strbuf_str(&path), NULL, &err, stdout);
	if (code < 0)
		goto out;
	if (code >= 300) {
		api_failed(code, &err);
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

const char bisect_usage[] =
"usage: kstage bisect start [--url URL] [--token TOKEN] [--json] PLAN STAGE [TEST...]\n"
"       kstage bisect cancel [--url URL] [--token TOKEN] [--json] ID\n"
"       kstage bisect show [--url URL] [--token TOKEN] [--json] ID\n"
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
"start and cancel need a token.  Exit 0 done, 1 the request failed, 2 usage.\n";

static int bisect_show(struct client *cl, const char *id)
{
	struct strbuf path = STRBUF_INIT;
	json_t *b = NULL, *v, *culprit, *range;
	size_t i;
	int rc;

	strbuf_addf(&path, "/api/v1/bisections/%s", id);
	rc = call_json(cl, "GET", strbuf_str(&path), NULL, &b);
	strbuf_release(&path);
	if (rc || cl->json) {
		json_decref(b);
		return rc;
	}
	printf("bisection %lld of %s/%s (%s): %s\n", jint(b, "id"), jtext(b, "plan", "?"),
	       jtext(b, "stage", "-"), jtext(b, "reason", "?"), jtext(b, "state", "?"));
	printf("  good %.12s  bad %.12s\n", jtext(b, "good_commit", "?"),
	       jtext(b, "bad_commit", "?"));
	json_array_foreach(json_object_get(b, "tests"), i, v)
		printf("  test %s\n", json_string_value(v));
	culprit = json_object_get(b, "culprit");
	if (json_is_object(culprit))
		printf("  first bad commit: %.12s %s (%s) in stage %s\n",
		       jtext(culprit, "commit", "?"), jtext(culprit, "subject", ""),
		       jtext(culprit, "author", ""), jtext(culprit, "stage", "?"));
	range = json_object_get(b, "range");
	if (json_is_object(range))
		printf("  range: last good %.12s, first bad %.12s, %zu untestable\n",
		       jtext(range, "good", "?"), jtext(range, "bad", "?"),
		       json_array_size(json_object_get(range, "untestable")));
	if (*jtext(b, "detail", ""))
		printf("  %s\n", jtext(b, "detail", ""));
	printf("  %lld runs, %lld reused, %lld rounds\n", jint(b, "runs"),
	       jint(b, "reused"), jint(b, "rounds"));
	if (json_array_size(json_object_get(b, "steps")))
		printf("  %-6s %-5s %-12s %-8s %-6s %-8s %s\n", "run", "seq", "commit",
		       "phase", "round", "verdict", "state");
	json_array_foreach(json_object_get(b, "steps"), i, v)
		printf("  %-6lld %-5lld %-12.12s %-8s %-6lld %-8s %s\n", jint(v, "run_id"),
		       jint(v, "seq"), jtext(v, "commit", "?"), jtext(v, "phase", "?"),
		       jint(v, "round"), jtext(v, "verdict", "-"), jtext(v, "run_state", "?"));
	json_decref(b);
	return 0;
}

int cmd_bisect(struct common *c, int argc, char **argv)
{
	struct strbuf path = STRBUF_INIT;
	struct client cl;
	struct args a;
	json_t *r = NULL;
	const char *sub;
	int rc;

	rc = parse_args(&a, c, argc, argv, bisect_usage, 0);
	if (rc || a.help)
		return rc;
	sub = a.nr ? a.pos[0] : "";
	if (!strcmp(sub, "start")) {
		json_t *body, *tests = json_array();
		char *text;
		int i;

		if (a.nr < 3)
			return want_args(&a, 3, 3, bisect_usage);
		for (i = 3; i < a.nr; i++)
			json_array_append_new(tests, json_string(a.pos[i]));
		body = json_pack("{s:s,s:s}", "plan", a.pos[1], "stage", a.pos[2]);
		if (body && json_array_size(tests))
			json_object_set(body, "tests", tests);
		json_decref(tests);
		text = body ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		if (!text) {
			fprintf(stderr, "kstage: names must be UTF-8\n");
			return 2;
		}
		if ((rc = client_init(&cl, c))) {
			free(text);
			return rc;
		}
		rc = call_json(&cl, "POST", "/api/v1/bisections", text, &r);
		free(text);
		if (!rc && !cl.json)
			printf(json_is_true(json_object_get(r, "existing")) ?
			       "bisection %lld is already under way\n" :
			       "bisection %lld requested\n", jint(r, "bisection"));
	} else if (!strcmp(sub, "cancel") || !strcmp(sub, "show")) {
		if ((rc = want_args(&a, 2, 2, bisect_usage)))
			return rc;
		if (check_run_id(a.pos[1], bisect_usage))
			return 2;
		if ((rc = client_init(&cl, c)))
			return rc;
		if (!strcmp(sub, "show")) {
			rc = bisect_show(&cl, a.pos[1]);
		} else {
			strbuf_addf(&path, "/api/v1/bisections/%s/cancel", a.pos[1]);
			rc = call_json(&cl, "POST", strbuf_str(&path), "{}", &r);
			if (!rc && !cl.json)
				printf("bisection %s canceled\n", a.pos[1]);
		}
	} else {
		fprintf(stderr, "kstage: bisect needs start, cancel or show\n\n%s",
			bisect_usage);
		return 2;
	}
	json_decref(r);
	strbuf_release(&path);
	client_release(&cl);
	return rc;
}

/* --- token ------------------------------------------------------------------------------------ */

const char token_usage[] =
"usage: kstage token create NAME [-c FILE] [--db FILE]\n"
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
"list    name, creation, last use and state of every token\n"
"revoke  refuse token NAME from now on (requests with it get 403)\n"
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
	char created[32], used[32];

	(void)payload;
	fmt_time(created, sizeof(created), t->created_at);
	fmt_time(used, sizeof(used), t->last_used_at);
	printf("%-24s %-17s %-17s %s\n", t->name, created, used,
	       t->revoked ? "revoked" : "active");
	return 0;
}

int cmd_token(struct common *c, int argc, char **argv)
{
	struct kstage_config *cfg;
	struct db *db = NULL;
	struct args a;
	const char *sub;
	int rc;

	rc = parse_args(&a, c, argc, argv, token_usage, 0);
	if (rc || a.help)
		return rc;
	sub = a.nr ? a.pos[0] : "";
	if (!((!strcmp(sub, "create") && a.nr == 2) || (!strcmp(sub, "list") && a.nr == 1) ||
	      (!strcmp(sub, "revoke") && a.nr == 2))) {
		fprintf(stderr, "kstage: token needs create NAME, list or revoke NAME\n\n%s",
			token_usage);
		return 2;
	}
	if (strcmp(sub, "list") && !config_valid_name(a.pos[1])) {
		fprintf(stderr, "kstage: \"%s\" is not a valid token name (letters, digits,"
			" . _ -; at most 64)\n", a.pos[1]);
		return 2;
	}
	cfg = load_config(c);
	if (!cfg)
		return 2;
	if (strcmp(sub, "create") && access(cfg->db, R_OK) < 0) {
		fprintf(stderr, "kstage: %s: no database (no tokens yet)\n", cfg->db);
		config_free(cfg);
		return 1;
	}
	{
		char *dir = path_dirname(cfg->db);

		mkdir_p(dir, 0755);
		free(dir);
	}
	db = db_open(cfg->db);
	if (!db) {
		config_free(cfg);
		return 1;
	}
	if (!strcmp(sub, "create")) {
		char secret[TOKEN_SECRET_SIZE];

		rc = token_create(db, a.pos[1], secret);
		if (rc == 0) {
			printf("%s\n", secret);
			fprintf(stderr, "kstage: token %s created; its secret is shown only"
				" this once\n", a.pos[1]);
		} else if (rc == 1) {
			fprintf(stderr, "kstage: a token named %s exists already (revoke it"
				" first to replace it)\n", a.pos[1]);
		}
		memset(secret, 0, sizeof(secret));
		rc = rc ? 1 : 0;
	} else if (!strcmp(sub, "revoke")) {
		rc = token_revoke(db, a.pos[1]);
		if (rc == 0)
			printf("token %s revoked\n", a.pos[1]);
		else if (rc == 1)
			fprintf(stderr, "kstage: no token named %s\n", a.pos[1]);
		else if (rc == 2)
			fprintf(stderr, "kstage: token %s was already revoked\n", a.pos[1]);
		rc = rc == 0 ? 0 : 1;
	} else {
		printf("%-24s %-17s %-17s %s\n", "name", "created", "last used", "state");
		rc = token_list(db, print_token, NULL) < 0 ? 1 : 0;
	}
	db_close(db);
	config_free(cfg);
	return rc;
}
