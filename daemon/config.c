/*
 * config: the daemon configuration and plans from JSON files, read
 * strictly through jfile.h (every error at its file, line, column and
 * field); profiles are read by profile.c, notifications by config_notify.c.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <git2.h>

#include "config.h"
#include "config_notify.h"
#include "config_slurm.h"
#include "jfile.h"
#include "kcidb.h"
#include "repo.h"
#include "states.h"
#include "strbuf.h"
#include "text.h"
#include "wrapper.h"
#include "banned.h"

/* --- names ------------------------------------------------------------------ */

int config_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") == n;
}

int config_valid_branch(const char *s)
{
	struct strbuf ref = STRBUF_INIT;
	size_t n = strlen(s);
	int valid = 0;

	if (n == 0 || n > 200 || s[0] == '-')
		return 0;
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._-/+") != n)
		return 0;
	if (!strncmp(s, "refs/", 5))
		strbuf_adds(&ref, s);
	else
		strbuf_addf(&ref, "refs/heads/%s", s);
	if (git_reference_name_is_valid(&valid, strbuf_str(&ref)) < 0)
		valid = 0;
	strbuf_release(&ref);
	return valid;
}

/* --- plans ------------------------------------------------------------------ */

static int parse_stage(struct jfile *c, json_t *v, const char *path,
		       struct stage_def *s)
{
	static const char *const keys[] = { "name", "branch", "title", NULL };
	char *p;

	if (jfile_check_keys(c, v, path, keys) < 0 ||
	    jfile_string(c, v, path, "name", 1, &s->name) < 0 ||
	    jfile_string(c, v, path, "branch", 1, &s->branch) < 0 ||
	    jfile_string(c, v, path, "title", 0, &s->title) < 0)
		return -1;
	if (!config_valid_name(s->name) || !strcmp(s->name, "base")) {
		p = jfile_sub(path, "name");
		jfile_fail(c, p, "\"%s\" is not a valid stage name ([A-Za-z0-9._-], "
		      "1-64 characters, not \"base\")", s->name);
		free(p);
		return -1;
	}
	if (!config_valid_branch(s->branch)) {
		p = jfile_sub(path, "branch");
		jfile_fail(c, p, "\"%s\" is not a valid branch name (letters, digits "
		      "and . _ - / + only, and a valid git ref)", s->branch);
		free(p);
		return -1;
	}
	return 0;
}

/*
 * The plan's own names: a valid plan name, a base revision in plain
 * revision characters (letters, digits, . _ - / + ~ ^) and, when given,
 * an integration branch that config_valid_branch() accepts.
 */
static int check_plan_names(struct jfile *c, const struct plan_def *plan)
{
	if (!config_valid_name(plan->name))
		return jfile_fail(c, "name", "\"%s\" is not a valid plan name",
			     plan->name);
	if (!*plan->base || strlen(plan->base) > 200 ||
	    strspn(plan->base, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789._-/+~^") != strlen(plan->base))
		return jfile_fail(c, "base", "\"%s\" is not a valid revision",
			     plan->base);
	if (plan->integration && !config_valid_branch(plan->integration))
		return jfile_fail(c, "integration", "\"%s\" is not a valid branch name",
			     plan->integration);
	return 0;
}

/* Stage i against the stages before it: names and branches are unique. */
static int check_stage_unique(struct jfile *c, const struct plan_def *plan,
			      size_t i, const char *path)
{
	const struct stage_def *s = &plan->stages[i];
	size_t j;

	for (j = 0; j < i; j++) {
		if (!strcmp(plan->stages[j].name, s->name))
			return jfile_fail(c, path, "duplicate stage name \"%s\"",
				     s->name);
		if (!strcmp(plan->stages[j].branch, s->branch))
			return jfile_fail(c, path,
				     "branch \"%s\" is already stage \"%s\"",
				     s->branch, plan->stages[j].name);
	}
	return 0;
}

/*
 * "stages": 1 to 256 stages.  Each one is checked against those before it
 * as soon as it is read, so errors come in the order of the file.
 * plan->stages grows one entry at a time: plan_def_free() also frees a
 * stage that failed halfway.
 */
static int parse_stages(struct jfile *c, json_t *root, struct plan_def *plan)
{
	json_t *stages;
	size_t i;

	if (jfile_array(c, root, "", "stages", 256, &stages) < 0)
		return -1;
	if (!stages || json_array_size(stages) == 0)
		return jfile_fail(c, stages ? "stages" : "",
			     "a plan needs at least one stage");
	plan->stages = xcalloc(json_array_size(stages), sizeof(*plan->stages));
	for (i = 0; i < json_array_size(stages); i++) {
		char *sp = jfile_subi("stages", i);
		int r = parse_stage(c, json_array_get(stages, i), sp,
				    &plan->stages[i]);

		plan->nr_stages = i + 1;
		if (r == 0)
			r = check_stage_unique(c, plan, i, sp);
		free(sp);
		if (r < 0)
			return -1;
	}
	return 0;
}

/*
 * "profile": the profile file, relative to the plan's directory.  Its
 * errors name the profile file; the line of the plan that pulled it in
 * is added, since one profile may serve several plans.
 */
static int load_plan_profile(struct jfile *c, struct plan_def *plan,
			     const char *dir, const char *profile)
{
	char *ppath = path_join(dir, profile);
	char *perr = NULL;
	struct strbuf sb = STRBUF_INIT;
	int line, col;

	plan->profile = profile_load(ppath, &perr);
	free(ppath);
	if (plan->profile)
		return 0;
	jfile_where(c, "profile", &line, &col);
	strbuf_addf(&sb, "%s\n  (profile of plan %s:%d:%d)", perr, c->file,
		    line, col);
	free(perr);
	*c->err = strbuf_detach(&sb);
	return -1;
}

/*
 * The "until" of each known failure of the plan's profile: a profile
 * knows no stages, so each plan that uses it checks the names against
 * its own.
 */
static int check_known_until(struct jfile *c, const struct plan_def *plan)
{
	const struct profile *p = plan->profile;
	size_t i, j;

	for (i = 0; i < p->nr_known; i++) {
		const char *until = p->known[i].until;

		for (j = 0; until && j < plan->nr_stages; j++)
			if (!strcmp(plan->stages[j].name, until))
				break;
		if (until && j == plan->nr_stages) {
			struct strbuf sb = STRBUF_INIT;

			strbuf_addf(&sb, "%s: known_failures[%zu].until: no stage "
				    "\"%s\" in plan %s", p->path, i, until,
				    c->file);
			*c->err = strbuf_detach(&sb);
			return -1;
		}
	}
	return 0;
}

/* --- a plan's remote ------------------------------------------------------- */

#define REMOTE_URL_MAX 1024
#define REMOTE_FETCH_MAX 64
#define REMOTE_DEFAULT_FETCH "+refs/heads/*:refs/heads/*"

/*
 * A URL libgit2 can fetch, without a secret in it: no control characters
 * or spaces, a known scheme, an scp-like "[user@]host:path" or an absolute
 * path; a password in the URL's userinfo is refused (it belongs in a
 * file, or it would be stored in the database and shown by the API).
 * NULL, or why not.
 */
static const char *remote_url_problem(const char *url)
{
	static const char *const schemes[] = {
		"git://", "http://", "https://", "ssh://", "file://", NULL
	};
	const char *const *sc;
	const char *p, *rest = NULL, *at, *end;
	size_t n = strlen(url);

	if (n == 0 || n > REMOTE_URL_MAX)
		return "expected a URL of 1 to 1024 characters";
	for (p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "a URL may not hold spaces or control characters";
	if (url[0] == '-')
		return "a URL may not start with '-'";
	for (sc = schemes; *sc; sc++)
		if (!strncmp(url, *sc, strlen(*sc)))
			rest = url + strlen(*sc);
	if (!rest) {
		if (url[0] == '/')
			return NULL;
		p = strchr(url, ':');
		if (strstr(url, "://") || !p || p == url || memchr(url, '/', (size_t)(p - url)))
			return "expected git://, http://, https://, ssh://, file://, "
			       "[user@]host:path or an absolute path";
		return NULL;
	}
	end = rest + strcspn(rest, "/");
	at = memchr(rest, '@', (size_t)(end - rest));
	if (at && memchr(rest, ':', (size_t)(at - rest)))
		return "a password may not be in the URL: put it in a file named by "
		       "credentials.token_file";
	if (strncmp(url, "file://", 7) && (end == rest || (at && at + 1 == end)))
		return "the URL names no host";
	return NULL;
}

/*
 * "fetch": 1 to 64 fetch refspecs that libgit2 accepts, each with a
 * destination.  One that would write the integration branch as such is
 * refused: the gate moves it, a fetch must not (a pattern that covers it
 * is fine: the fetch skips that one ref, see remote.h).
 */
static int parse_refspecs(struct jfile *c, json_t *obj, const char *path,
			  struct plan_def *plan, struct remote_def *r)
{
	struct strbuf integ = STRBUF_INIT;
	json_t *fetch;
	size_t i, n;
	char *fp = jfile_sub(path, "fetch");
	int ret = -1;

	if (jfile_array(c, obj, path, "fetch", REMOTE_FETCH_MAX, &fetch) < 0)
		goto out;
	if (fetch && json_array_size(fetch) == 0) {
		jfile_fail(c, fp, "expected at least one refspec");
		goto out;
	}
	n = fetch ? json_array_size(fetch) : 1;
	r->fetch = xcalloc(n + 1, sizeof(char *));
	if (plan->integration)
		repo_branch_ref(&integ, plan->integration);
	for (i = 0; i < n; i++) {
		json_t *a = fetch ? json_array_get(fetch, i) : NULL;
		char *ip = jfile_subi(fp, i);
		git_refspec *spec = NULL;
		const char *s = a ? json_string_value(a) : REMOTE_DEFAULT_FETCH;
		int bad;

		if (a && (!json_is_string(a) || strlen(s) != json_string_length(a) ||
			  strlen(s) > 512)) {
			jfile_fail(c, ip, "expected a refspec (a string of at most 512 bytes)");
			free(ip);
			goto out;
		}
		if (git_refspec_parse(&spec, s, 1) < 0) {
			jfile_fail(c, ip, "\"%s\" is not a valid fetch refspec", s);
			free(ip);
			goto out;
		}
		bad = !git_refspec_dst(spec) || !*git_refspec_dst(spec) ? 1 :
		      strncmp(git_refspec_src(spec), "refs/", 5) ||
		      strncmp(git_refspec_dst(spec), "refs/", 5) ? 2 :
		      integ.len && !strchr(git_refspec_dst(spec), '*') &&
		      !strcmp(git_refspec_dst(spec), strbuf_str(&integ)) ? 3 : 0;
		git_refspec_free(spec);
		if (bad) {
			jfile_fail(c, ip, bad == 1 ? "\"%s\" stores nothing (it needs"
				   " \":DESTINATION\")" : bad == 2 ? "\"%s\": name"
				   " full refs on both sides (refs/...)" : "\"%s\" would"
				   " overwrite the integration branch, which only the gate"
				   " moves", s);
			free(ip);
			goto out;
		}
		free(ip);
		r->fetch[r->nr_fetch++] = xstrdup(s);
	}
	ret = 0;
out:
	strbuf_release(&integ);
	free(fp);
	return ret;
}

/* "credentials": who we are to the remote; secrets stay in their files. */
static int parse_credentials(struct jfile *c, json_t *obj, const char *path,
			     const char *dir, struct remote_def *r)
{
	static const char *const keys[] = {
		"username", "token_file", "ssh_key", "ssh_public_key", NULL
	};
	char *cp = jfile_sub(path, "credentials");
	json_t *cred = json_object_get(obj, "credentials");
	int ret = -1;

	if (!cred) {
		free(cp);
		return 0;
	}
	if (jfile_check_keys(c, cred, cp, keys) < 0 ||
	    jfile_string(c, cred, cp, "username", 0, &r->username) < 0 ||
	    jfile_readable(c, cred, cp, "token_file", dir, &r->token_file) < 0 ||
	    jfile_readable(c, cred, cp, "ssh_key", dir, &r->ssh_key) < 0 ||
	    jfile_readable(c, cred, cp, "ssh_public_key", dir, &r->ssh_public_key) < 0)
		goto out;
	if (r->username && (!*r->username || strlen(r->username) > 128 ||
			    strcspn(r->username, " \t\r\n:@/") != strlen(r->username))) {
		char *p = jfile_sub(cp, "username");

		jfile_fail(c, p, "expected a user name (1-128 characters, no"
			   " spaces, ':', '@' or '/')");
		free(p);
		goto out;
	}
	if (r->ssh_public_key && !r->ssh_key) {
		char *p = jfile_sub(cp, "ssh_public_key");

		jfile_fail(c, p, "needs ssh_key (the private half)");
		free(p);
		goto out;
	}
	ret = 0;
out:
	free(cp);
	return ret;
}

/* "ssh_host_key": "SHA256:" and 43 characters of unpadded base64. */
static int check_host_key(struct jfile *c, const char *path, const char *key)
{
	char *p;

	if (!key || (strlen(key) == 50 && !strncmp(key, "SHA256:", 7) &&
		     strspn(key + 7, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789+/") == 43))
		return 0;
	p = jfile_sub(path, "ssh_host_key");
	jfile_fail(c, p, "expected \"SHA256:...\" as ssh-keygen -lf prints it");
	free(p);
	return -1;
}

/* "remote": optional; see struct remote_def. */
static int parse_remote(struct jfile *c, json_t *root, const char *dir,
			struct plan_def *plan)
{
	static const char *const keys[] = {
		"url", "fetch", "credentials", "ssh_host_key", NULL
	};
	json_t *obj = json_object_get(root, "remote");
	struct remote_def *r;
	const char *why;

	if (!obj)
		return 0;
	r = plan->remote = xcalloc(1, sizeof(*r));
	if (jfile_check_keys(c, obj, "remote", keys) < 0 ||
	    jfile_string(c, obj, "remote", "url", 1, &r->url) < 0)
		return -1;
	if ((why = remote_url_problem(r->url)))
		return jfile_fail(c, "remote.url", "%s", why);
	if (parse_refspecs(c, obj, "remote", plan, r) < 0 ||
	    parse_credentials(c, obj, "remote", dir, r) < 0 ||
	    jfile_string(c, obj, "remote", "ssh_host_key", 0, &r->ssh_host_key) < 0 ||
	    check_host_key(c, "remote", r->ssh_host_key) < 0)
		return -1;
	return 0;
}

static void remote_def_free(struct remote_def *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nr_fetch; i++)
		free(r->fetch[i]);
	free(r->fetch);
	free(r->url);
	free(r->username);
	free(r->token_file);
	free(r->ssh_key);
	free(r->ssh_public_key);
	free(r->ssh_host_key);
	free(r);
}

static const char *const gate_policy_names[] = { "manual", "auto", "off" };

DEFINE_NAMES(gate_policy, enum gate_policy, 3)

/* "gate": who moves the integration branch (manual without one). */
static int parse_gate(struct jfile *c, struct plan_def *plan, const char *gate)
{
	plan->gate = GATE_MANUAL;
	if (!gate || gate_policy_parse(&plan->gate, gate) == 0)
		return 0;
	return jfile_fail(c, "gate", "\"%s\" is not a gate policy (auto, manual,"
			  " off)", gate);
}

struct plan_def *plan_def_load(const char *path, char **err)
{
	static const char *const keys[] = {
		"name", "repo", "base", "integration", "gate", "profile", "stages",
		"description", "remote", NULL
	};
	struct strbuf text = STRBUF_INIT;
	struct jfile c = { .err = err };
	struct plan_def *plan = xcalloc(1, sizeof(*plan));
	char *dir = path_dirname(path);
	char *repo = NULL, *profile = NULL, *desc = NULL, *gate = NULL;
	json_t *root;

	*err = NULL;
	plan->path = xstrdup(path);
	root = jfile_load(&c, &text, path);
	if (!root)
		goto fail;
	if (jfile_check_keys(&c, root, "", keys) < 0 ||
	    jfile_string(&c, root, "", "name", 1, &plan->name) < 0 ||
	    jfile_string(&c, root, "", "repo", 1, &repo) < 0 ||
	    jfile_string(&c, root, "", "base", 1, &plan->base) < 0 ||
	    jfile_string(&c, root, "", "integration", 0, &plan->integration) < 0 ||
	    jfile_string(&c, root, "", "description", 0, &desc) < 0 ||
	    jfile_string(&c, root, "", "profile", 1, &profile) < 0 ||
	    jfile_string(&c, root, "", "gate", 0, &gate) < 0 ||
	    check_plan_names(&c, plan) < 0 || parse_gate(&c, plan, gate) < 0)
		goto fail;
	plan->repo = jfile_path(dir, repo);
	/* Keep this order: it decides which error a file with several gets. */
	if (parse_remote(&c, root, dir, plan) < 0 ||
	    parse_stages(&c, root, plan) < 0 ||
	    load_plan_profile(&c, plan, dir, profile) < 0 ||
	    check_known_until(&c, plan) < 0)
		goto fail;
	free(repo);
	free(profile);
	free(desc);
	free(gate);
	free(dir);
	json_decref(root);
	strbuf_release(&text);
	return plan;

fail:
	free(repo);
	free(profile);
	free(desc);
	free(gate);
	free(dir);
	json_decref(root);
	strbuf_release(&text);
	plan_def_free(plan);
	return NULL;
}

void plan_def_free(struct plan_def *plan)
{
	size_t i;

	if (!plan)
		return;
	for (i = 0; i < plan->nr_stages; i++) {
		free(plan->stages[i].name);
		free(plan->stages[i].branch);
		free(plan->stages[i].title);
	}
	free(plan->stages);
	profile_free(plan->profile);
	remote_def_free(plan->remote);
	free(plan->path);
	free(plan->name);
	free(plan->repo);
	free(plan->base);
	free(plan->integration);
	free(plan);
}

/* --- the daemon configuration ---------------------------------------------- */

static void config_defaults(struct kstage_config *cfg, const char *dir)
{
	cfg->db = jfile_path(dir, "var/kstage.db");
	cfg->artifacts = jfile_path(dir, "var/artifacts");
	cfg->work = jfile_path(dir, "var/work");
	cfg->cache = jfile_path(dir, "var/cache");
	cfg->web_root = jfile_path(dir, "web");
	cfg->listen = xstrdup("127.0.0.1:8080");
	cfg->slots = 1;
	cfg->poll_interval = 60;
	cfg->fetch_timeout = 60;
	cfg->confirm_runs = 1;
	cfg->bisect_runs = 1;
	cfg->auto_bisect = 1;
	cfg->max_body = (size_t)8 << 20;
	cfg->max_conns_per_ip = 256;
	cfg->max_streams = 64;
	cfg->header_timeout = 10;
	cfg->kcidb_origin = xstrdup(KCIDB_ORIGIN_DEFAULT);
	cfg->notify_tries = 8;
	cfg->notify_backoff = 5;
	cfg->notify_timeout = 30;
}

/* The data paths, each relative to the config file's directory. */
static int parse_config_paths(struct jfile *c, json_t *root, const char *dir,
			      struct kstage_config *cfg)
{
	if (jfile_path_member(c, root, "", "db", dir, &cfg->db) < 0 ||
	    jfile_path_member(c, root, "", "artifacts", dir, &cfg->artifacts) < 0 ||
	    jfile_path_member(c, root, "", "work", dir, &cfg->work) < 0 ||
	    jfile_path_member(c, root, "", "cache", dir, &cfg->cache) < 0 ||
	    jfile_path_member(c, root, "", "web_root", dir, &cfg->web_root) < 0)
		return -1;
	return 0;
}

/*
 * The numbers and switches: slots, jobs, polling, read auth, confirmation
 * and bisection runs, the request body cap (given in MiB) and the HTTP
 * limits under load.
 */
static int parse_config_settings(struct jfile *c, json_t *root,
				 struct kstage_config *cfg)
{
	unsigned body_mb = 8;

	if (jfile_uint(c, root, "", "slots", 1, 64, &cfg->slots) < 0 ||
	    jfile_uint(c, root, "", "jobs", 0, 1024, &cfg->jobs) < 0 ||
	    jfile_uint(c, root, "", "poll_interval", 0, 86400, &cfg->poll_interval) < 0 ||
	    jfile_uint(c, root, "", "fetch_timeout", 1, 3600, &cfg->fetch_timeout) < 0 ||
	    jfile_bool(c, root, "", "read_auth", &cfg->read_auth) < 0 ||
	    jfile_uint(c, root, "", "confirm_runs", 0, 20, &cfg->confirm_runs) < 0 ||
	    jfile_uint(c, root, "", "bisect_runs", 1, 20, &cfg->bisect_runs) < 0 ||
	    jfile_bool(c, root, "", "auto_bisect", &cfg->auto_bisect) < 0 ||
	    jfile_uint(c, root, "", "max_body", 1, 1024, &body_mb) < 0 ||
	    jfile_uint(c, root, "", "max_conns_per_ip", 0, 1000000,
		       &cfg->max_conns_per_ip) < 0 ||
	    jfile_uint(c, root, "", "max_streams", 1, 1000000, &cfg->max_streams) < 0 ||
	    jfile_uint(c, root, "", "header_timeout", 1, 3600, &cfg->header_timeout) < 0 ||
	    jfile_uint(c, root, "", "notify_tries", 1, 100, &cfg->notify_tries) < 0 ||
	    jfile_uint(c, root, "", "notify_backoff", 1, 86400, &cfg->notify_backoff) < 0 ||
	    jfile_uint(c, root, "", "notify_timeout", 1, 600, &cfg->notify_timeout) < 0)
		return -1;
	cfg->max_body = (size_t)body_mb << 20;
	return 0;
}

/* "listen" (NULL when absent): ADDRESS:PORT with a port up to 65535. */
static int check_listen(struct jfile *c, const char *listen)
{
	const char *colon;

	if (!listen)
		return 0;
	colon = strrchr(listen, ':');
	/* Port 0: any free port (the daemon prints the one it got). */
	if (!colon || colon == listen || colon[1] < '0' || colon[1] > '9' ||
	    atoi(colon + 1) < 0 || atoi(colon + 1) > 65535)
		return jfile_fail(c, "listen",
			     "expected \"ADDRESS:PORT\", got \"%s\"", listen);
	return 0;
}

/* "inbox" (NULL when absent): an http:// or https:// URL. */
static int check_inbox(struct jfile *c, const char *url)
{
	if (url && !text_is_http_url(url))
		return jfile_fail(c, "inbox", "expected the http:// or https:// URL of a"
				  " public-inbox (e.g. https://lore.kernel.org/linux-mm),"
				  " got \"%s\"", url);
	return 0;
}

/*
 * "kcidb_origin" (the origin of KCIDB ids, kcidb.h) and "public_url" (the
 * base of the log URLs in a KCIDB export; NULL when absent).
 */
static int parse_config_kcidb(struct jfile *c, json_t *root, struct kstage_config *cfg)
{
	char *origin = NULL;

	if (jfile_string(c, root, "", "kcidb_origin", 0, &origin) < 0)
		return -1;
	if (origin && !kcidb_valid_origin(origin)) {
		jfile_fail(c, "kcidb_origin", "expected a KCIDB origin (lower-case letters,"
			   " digits and _, at most 64), got \"%s\"", origin);
		free(origin);
		return -1;
	}
	if (origin) {
		free(cfg->kcidb_origin);
		cfg->kcidb_origin = origin;
	}
	if (jfile_string(c, root, "", "public_url", 0, &cfg->public_url) < 0)
		return -1;
	if (cfg->public_url && !text_is_http_url(cfg->public_url))
		return jfile_fail(c, "public_url", "expected the http:// or https:// URL"
				  " the API is reached at (e.g. https://ci.example.org),"
				  " got \"%s\"", cfg->public_url);
	return 0;
}

/*
 * "plans": up to 64 plan files, relative to the config file's directory.
 * cfg->plans grows one entry at a time, so config_free() frees what was
 * read before an error.
 */
static int parse_config_plans(struct jfile *c, json_t *root, const char *dir,
			      struct kstage_config *cfg)
{
	json_t *plans;
	size_t i;

	if (jfile_array(c, root, "", "plans", 64, &plans) < 0)
		return -1;
	if (!plans)
		return 0;
	cfg->plans = xcalloc(json_array_size(plans) + 1, sizeof(char *));
	for (i = 0; i < json_array_size(plans); i++) {
		json_t *a = json_array_get(plans, i);

		if (!json_is_string(a)) {
			char *pp = jfile_subi("plans", i);
			jfile_fail(c, pp, "expected a path to a plan file");
			free(pp);
			return -1;
		}
		cfg->plans[cfg->nr_plans++] = jfile_path(dir, json_string_value(a));
	}
	return 0;
}


struct kstage_config *config_load(const char *path, char **err)
{
	static const char *const keys[] = {
		"db", "artifacts", "work", "cache", "web_root", "listen",
		"slots", "jobs", "poll_interval", "read_auth", "plans",
		"confirm_runs", "bisect_runs", "auto_bisect", "max_body", "inbox",
		"fetch_timeout", "max_conns_per_ip", "max_streams", "header_timeout",
		"kcidb_origin", "public_url", "webhooks", "mail", "notify_tries",
		"notify_backoff", "notify_timeout", "patchwork", "executor", "slurm",
		NULL
	};
	struct kstage_config *cfg = xcalloc(1, sizeof(*cfg));
	struct strbuf text = STRBUF_INIT;
	struct jfile c = { .err = err };
	json_t *root = NULL;
	char *dir = NULL, *listen = NULL;

	*err = NULL;
	if (!path) {
		config_defaults(cfg, NULL);
		return cfg;
	}
	cfg->path = xstrdup(path);
	dir = path_dirname(path);
	/* Default data paths sit beside the config's parent (the checkout). */
	{
		char *top = path_join(dir, "..");
		config_defaults(cfg, top);
		free(top);
	}
	root = jfile_load(&c, &text, path);
	if (!root)
		goto fail;
	/* Keep this order: it decides which error a file with several gets. */
	if (jfile_check_keys(&c, root, "", keys) < 0 ||
	    parse_config_paths(&c, root, dir, cfg) < 0 ||
	    jfile_string(&c, root, "", "listen", 0, &listen) < 0 ||
	    parse_config_settings(&c, root, cfg) < 0 ||
	    check_listen(&c, listen) < 0 ||
	    jfile_string(&c, root, "", "inbox", 0, &cfg->inbox) < 0 ||
	    check_inbox(&c, cfg->inbox) < 0 ||
	    parse_config_kcidb(&c, root, cfg) < 0)
		goto fail;
	if (listen) {
		free(cfg->listen);
		cfg->listen = listen;
		listen = NULL;
	}
	if (parse_config_plans(&c, root, dir, cfg) < 0 ||
	    config_parse_notify(&c, root, dir, cfg) < 0 ||
	    config_parse_slurm(&c, root, dir, cfg) < 0)
		goto fail;
	json_decref(root);
	strbuf_release(&text);
	free(dir);
	return cfg;

fail:
	free(listen);
	json_decref(root);
	strbuf_release(&text);
	free(dir);
	config_free(cfg);
	return NULL;
}

/* Replace *field by an absolute copy of value, when one is given. */
static void override_path(char **field, const char *value)
{
	if (!value)
		return;
	free(*field);
	*field = path_absolute(value);
}

struct kstage_config *config_load_with(const struct config_overrides *o, char **err)
{
	const char *path = o->path;
	struct kstage_config *cfg;

	if (!path && access("configs/kstage.json", R_OK) == 0)
		path = "configs/kstage.json";
	cfg = config_load(path, err);
	if (!cfg)
		return NULL;
	override_path(&cfg->db, o->db);
	override_path(&cfg->artifacts, o->artifacts);
	override_path(&cfg->work, o->work);
	override_path(&cfg->cache, o->cache);
	if (o->listen) {
		free(cfg->listen);
		cfg->listen = xstrdup(o->listen);
	}
	if (o->slots)
		cfg->slots = o->slots;
	return cfg;
}

void config_free(struct kstage_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->nr_plans; i++)
		free(cfg->plans[i]);
	free(cfg->plans);
	free(cfg->path);
	free(cfg->db);
	free(cfg->inbox);
	free(cfg->kcidb_origin);
	free(cfg->public_url);
	free(cfg->artifacts);
	free(cfg->work);
	free(cfg->cache);
	free(cfg->web_root);
	free(cfg->listen);
	config_notify_free(cfg);
	config_slurm_free(cfg);
	free(cfg);
}
