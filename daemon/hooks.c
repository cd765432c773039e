/*
 * hooks: "kstage repo init" and the hooks it installs (see hooks.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <git2.h>
#include <jansson.h>

#include "client.h"
#include "hooks.h"
#include "log.h"
#include "options.h"
#include "repo.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

#define HOOK_INPUT_MAX ((size_t)1 << 20)	/* ref lines a push sends */
#define ZERO_ID "0000000000000000000000000000000000000000"

/* The text of both hooks: it names nothing that came from outside. */
static const char hook_text[] =
"#!/bin/sh\n"
"# Installed by \"kstage repo init\": tells the kstage daemon about a push\n"
"# (post-receive) and lets it refuse one to an integration branch\n"
"# (pre-receive).  Settings: git config kstage.url, kstage.binary.\n"
"exec \"$(git config --get kstage.binary)\" hook \"$(basename \"$0\")\"\n";

static const char repo_usage[] =
"usage: kstage repo init PATH --url URL [--token TOKEN]\n"
"\n"
"Make (or re-initialise) the bare repository PATH for \"git push\" over any\n"
"of git's transports (ssh, file, git daemon, git http-backend) and install\n"
"its hooks: pre-receive asks the daemon at URL whether a push to a plan's\n"
"integration branch is tested green, post-receive tells it what moved, so\n"
"runs start at once.  Point a plan's \"repo\" at PATH.  The hooks use TOKEN\n"
"(default: $KSTAGE_TOKEN), kept in PATH/kstage-token (mode 0600).\n"
"Exit 0 done, 1 failed, 2 usage.\n";

static int write_file(const char *dir, const char *name, const char *text,
		      mode_t mode)
{
	char *path = path_join(dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int rc = -1;

	if (fd >= 0 && write_all(fd, text, strlen(text)) == 0 &&
	    fchmod(fd, mode) == 0)
		rc = 0;
	if (rc < 0)
		error("%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

/* The repository's settings for its hooks. */
static int configure(git_repository *repo, const char *url)
{
	git_config *cfg = NULL;
	char *self = path_real("/proc/self/exe");
	int rc = -1;

	if (!self)
		return error("cannot find the kstage binary: %s", strerror(errno));
	if (git_repository_config(&cfg, repo) == 0 &&
	    git_config_set_string(cfg, "kstage.url", url) == 0 &&
	    git_config_set_string(cfg, "kstage.binary", self) == 0)
		rc = 0;
	else
		error("config: %s", git_error_last() ? git_error_last()->message : "?");
	git_config_free(cfg);
	free(self);
	return rc;
}

static int repo_init(const char *path, const char *url, const char *token)
{
	git_repository *repo = NULL;
	char *hooks = path_join(path, "hooks");
	int rc = -1;

	if (git_repository_init(&repo, path, 1) < 0) {
		error("%s: %s", path, git_error_last() ? git_error_last()->message : "?");
		goto out;
	}
	if (configure(repo, url) < 0 || mkdir_p(hooks, 0755) < 0 ||
	    write_file(path, "kstage-token", token, 0600) < 0 ||
	    write_file(hooks, "pre-receive", hook_text, 0755) < 0 ||
	    write_file(hooks, "post-receive", hook_text, 0755) < 0)
		goto out;
	printf("kstage: %s takes pushes; its hooks tell %s\n", path, url);
	rc = 0;
out:
	git_repository_free(repo);
	free(hooks);
	return rc;
}

int cmd_repo(int argc, char **argv)
{
	static const struct option table[] = {
		OPTION_HELP,
		{ "url", required_argument, NULL, 'u' },
		{ "token", required_argument, NULL, 't' },
		OPTION_END
	};
	struct options o = OPTIONS_INIT(table, repo_usage);
	const char *url = NULL, *token = getenv("KSTAGE_TOKEN");
	int opt;

	while ((opt = options_next(&o, argc, argv)) > 0)
		if (opt == 'u')
			url = optarg;
		else if (opt == 't')
			token = optarg;
	if (opt < 0)
		return o.status;
	if (argc - optind != 2 || strcmp(argv[optind], "init"))
		return options_error(&o, "repo needs: init PATH"), 2;
	if (!url || !token || !*token)
		return options_error(&o, "repo init needs --url and a token"), 2;
	return repo_init(argv[optind + 1], url, token) < 0 ? 1 : 0;
}

/* --- the hooks ------------------------------------------------------------------ */

/* The daemon this repository tells, with the repository's token. */
static int connect_repo(struct client *cl, git_repository *repo, char **token)
{
	git_config *cfg = NULL;
	git_buf url = GIT_BUF_INIT;
	struct strbuf tok = STRBUF_INIT;
	char *path = path_join(git_repository_path(repo), "kstage-token");
	int rc = -1;

	if (git_repository_config_snapshot(&cfg, repo) < 0 ||
	    git_config_get_string_buf(&url, cfg, "kstage.url") < 0)
		error("this repository has no kstage.url: run kstage repo init");
	else if (strbuf_read_file(&tok, path, 4096) < 0)
		error("%s: %s", path, strerror(errno));
	else {
		while (tok.len && strchr(" \t\r\n", tok.buf[tok.len - 1]))
			tok.buf[--tok.len] = '\0';
		*token = strbuf_detach(&tok);
		client_init_url(cl, url.ptr, *token);
		rc = 0;
	}
	strbuf_release(&tok);
	git_buf_dispose(&url);
	git_config_free(cfg);
	free(path);
	return rc;
}

/* A plan of this repository, with the full ref of its integration branch. */
static void add_plan(json_t *mine, json_t *plan, struct strbuf *refs)
{
	struct strbuf ref = STRBUF_INIT;

	repo_branch_ref(&ref, client_str(plan, "integration", ""));
	json_object_set_new(plan, "ref", json_string(ref.buf));
	json_array_append(mine, plan);
	strbuf_addf(refs, " %s ", ref.buf);
	strbuf_release(&ref);
}

/*
 * The plans whose repository is this one, as the API lists them, or NULL
 * if the daemon cannot be asked.  Their integration branches are kept in
 * the config (kstage.integration) for a push while the daemon is down.
 */
static json_t *my_plans(struct client *cl, git_repository *repo)
{
	char *me = path_real(git_repository_path(repo));
	json_t *all = NULL, *mine = NULL, *p;
	struct strbuf refs = STRBUF_INIT;
	git_config *cfg = NULL;
	size_t i;

	if (me && client_call(cl, "GET", "/api/v1/plans", NULL, &all) == 0) {
		mine = json_array();
		json_array_foreach(json_object_get(all, "plans"), i, p) {
			char *theirs = path_real(client_str(p, "repo", ""));

			if (theirs && !strcmp(theirs, me) &&
			    json_is_string(json_object_get(p, "integration")))
				add_plan(mine, p, &refs);
			free(theirs);
		}
		if (git_repository_config(&cfg, repo) < 0 ||
		    git_config_set_string(cfg, "kstage.integration", refs.buf) < 0)
			warn("cannot remember the integration branches in the config");
	}
	git_config_free(cfg);
	strbuf_release(&refs);
	json_decref(all);
	free(me);
	return mine;
}

/*
 * The daemon is down: a push to a branch that was an integration branch
 * when it was last asked is refused.  1 if one is, else 0.
 */
static int refuse_unchecked(git_repository *repo, const char *ref)
{
	git_config *cfg = NULL;
	git_buf known = GIT_BUF_INIT;
	struct strbuf want = STRBUF_INIT;
	int hit = 0;

	strbuf_addf(&want, " %s ", ref);
	if (git_repository_config_snapshot(&cfg, repo) == 0 &&
	    git_config_get_string_buf(&known, cfg, "kstage.integration") == 0)
		hit = strstr(known.ptr, want.buf) != NULL;
	if (hit)
		fprintf(stderr, "kstage: cannot ask the daemon about %s; refused\n", ref);
	git_buf_dispose(&known);
	git_config_free(cfg);
	strbuf_release(&want);
	return hit;
}

/* One pushed ref to a plan's integration branch: 0 allowed, 1 refused. */
static int check_ref(struct client *cl, json_t *plan, const char *new_id)
{
	const char *name = client_str(plan, "name", "?");
	const char *integ = client_str(plan, "integration", "?");
	struct strbuf path = STRBUF_INIT;
	json_t *body, *r = NULL;
	char *text;
	int rc = 1;

	if (!strcmp(new_id, ZERO_ID)) {
		fprintf(stderr, "kstage: plan %s: %s may not be deleted\n", name, integ);
		return 1;
	}
	body = json_pack("{s:s}", "commit", new_id);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	strbuf_adds(&path, "/api/v1/plans/");
	client_url_escape(&path, name);
	strbuf_adds(&path, "/gate/check");
	if (text && client_call(cl, "POST", path.buf, text, &r) == 0) {
		rc = !json_is_true(json_object_get(r, "allowed"));
		if (rc)
			fprintf(stderr, "kstage: plan %s: push to %s refused: %s\n", name,
				integ, client_str(r, "reason", "not tested green"));
		else if (json_is_string(json_object_get(r, "override")))
			fprintf(stderr, "kstage: plan %s: push to %s %s\n", name, integ,
				client_str(r, "override", ""));
	} else {
		fprintf(stderr, "kstage: plan %s: cannot ask the daemon about %s;"
			" refused\n", name, integ);
	}
	json_decref(r);
	free(text);
	strbuf_release(&path);
	return rc;
}

/* Every line "OLD NEW REF" that moves an integration branch, checked. */
static int pre_receive(struct client *cl, git_repository *repo, const char *input)
{
	json_t *plans = my_plans(cl, repo), *p;
	const char *line;
	int refused = 0;
	size_t i;

	for (line = input; *line; ) {
		char old_id[41], new_id[41], ref[256];
		size_t len = strcspn(line, "\n");
		int fields = sscanf(line, "%40s %40s %255s", old_id, new_id, ref);

		line += len + (line[len] != '\0');
		if (fields != 3)
			continue;
		if (!plans) {
			refused |= refuse_unchecked(repo, ref);
			continue;
		}
		json_array_foreach(plans, i, p)
			if (!strcmp(ref, client_str(p, "ref", "")))
				refused |= check_ref(cl, p, new_id);
	}
	json_decref(plans);
	return refused;
}

static int post_receive(struct client *cl, const char *input)
{
	json_t *r = NULL;
	size_t n = 0;
	const char *p;

	for (p = input; *p; p++)
		n += *p == '\n';
	if (client_call(cl, "POST", "/api/v1/refresh", "{}", &r) == 0)
		printf("kstage: %zu ref%s moved; the daemon looks at them now\n", n,
		       n == 1 ? "" : "s");
	json_decref(r);
	return 0;	/* too late to refuse anything */
}

int cmd_hook(int argc, char **argv)
{
	struct client cl = CLIENT_INIT;
	git_repository *repo = NULL;
	struct strbuf input = STRBUF_INIT;
	const char *dir = getenv("GIT_DIR");
	char *token = NULL;
	int rc = 1;

	if (argc != 2 || (strcmp(argv[1], "pre-receive") && strcmp(argv[1], "post-receive"))) {
		fprintf(stderr, "usage: kstage hook pre-receive|post-receive (run by git)\n");
		return 2;
	}
	if (git_repository_open(&repo, dir ? dir : ".") < 0 ||
	    connect_repo(&cl, repo, &token) < 0 ||
	    strbuf_read_file(&input, "/dev/stdin", HOOK_INPUT_MAX) < 0)
		goto out;
	rc = !strcmp(argv[1], "pre-receive") ? pre_receive(&cl, repo, input.buf)
					     : post_receive(&cl, input.buf);
out:
	client_release(&cl);
	git_repository_free(repo);
	strbuf_release(&input);
	free(token);
	return rc;
}
