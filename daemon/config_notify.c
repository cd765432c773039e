/*
 * config_notify: where notifications go (see config.h and outbox.h):
 * "webhooks", "mail" and "patchwork" of the daemon configuration.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_notify.h"
#include "jfile.h"
#include "outbox.h"
#include "patchwork.h"
#include "wrapper.h"
#include "banned.h"

static void free_strv(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* A URL with one of the schemes (NULL-terminated), no space or control. */
static int check_url(struct jfile *c, const char *path, const char *url,
		     const char *const *schemes)
{
	const unsigned char *p;
	size_t i;

	for (p = (const unsigned char *)url; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return jfile_fail(c, path, "\"%s\" is not a URL (a space or"
					  " control character)", url);
	for (i = 0; schemes[i]; i++)
		if (!strncmp(url, schemes[i], strlen(schemes[i])) &&
		    url[strlen(schemes[i])])
			return 0;
	return jfile_fail(c, path, "\"%s\": expected a URL starting with %s%s%s", url,
			  schemes[0], schemes[1] ? " or " : "", schemes[1] ? schemes[1] : "");
}

/* A mail address: no space, no control, no <>, one @ with text around. */
static int check_address(struct jfile *c, const char *path, const char *a)
{
	const char *at = strchr(a, '@');
	const unsigned char *p;

	for (p = (const unsigned char *)a; *p; p++)
		if (*p < ' ' || *p == 0x7f)
			return jfile_fail(c, path, "not a mail address (a control"
					  " character in it)");
	for (p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == '<' || *p == '>' || *p == ',' || *p == '"')
			break;
	if (*p || !at || at == a || !at[1] || strchr(at + 1, '@'))
		return jfile_fail(c, path, "\"%s\" is not a mail address"
				  " (expected user@host)", a);
	return 0;
}

/* An array of strings at obj.key into *out (NULL-terminated); check each. */
static int string_list(struct jfile *c, json_t *obj, const char *path,
		       const char *key, size_t max, int kinds, char ***out,
		       size_t *nr)
{
	char *lp = jfile_sub(path, key);
	json_t *arr = NULL, *v;
	size_t i;
	int ret = -1;

	if (jfile_array(c, obj, path, key, max, &arr) < 0)
		goto out;
	ret = 0;
	if (!arr)
		goto out;
	*out = xcalloc(json_array_size(arr) + 1, sizeof(**out));
	json_array_foreach(arr, i, v) {
		char *ip = jfile_subi(lp, i);

		if (!json_is_string(v) || !*json_string_value(v))
			ret = jfile_fail(c, ip, "expected a non-empty string");
		else if (kinds && !outbox_kind_valid(json_string_value(v)))
			ret = jfile_fail(c, ip, "\"%s\" is not a notification kind"
					 " (%s)", json_string_value(v), OUTBOX_KINDS);
		else if (!kinds && check_address(c, ip, json_string_value(v)) < 0)
			ret = -1;
		free(ip);
		if (ret < 0)
			break;
		(*out)[(*nr)++] = xstrdup(json_string_value(v));
	}
out:
	free(lp);
	return ret;
}

static int parse_webhook(struct jfile *c, json_t *v, const char *path,
			 const char *dir, struct webhook_def *w)
{
	static const char *const keys[] = {
		"url", "secret_file", "ca_file", "events", NULL
	};
	static const char *const schemes[] = { "http://", "https://", NULL };
	char *up = jfile_sub(path, "url");
	int ret = -1;

	if (!json_is_object(v)) {
		ret = jfile_fail(c, path, "expected an object {\"url\": ...}");
		goto out;
	}
	if (jfile_check_keys(c, v, path, keys) < 0 ||
	    jfile_string(c, v, path, "url", 1, &w->url) < 0 ||
	    check_url(c, up, w->url, schemes) < 0 ||
	    jfile_readable(c, v, path, "secret_file", dir, &w->secret_file) < 0 ||
	    jfile_readable(c, v, path, "ca_file", dir, &w->ca_file) < 0 ||
	    string_list(c, v, path, "events", 64, 1, &w->events, &w->nr_events) < 0)
		goto out;
	ret = 0;
out:
	free(up);
	return ret;
}

static int parse_mail(struct jfile *c, json_t *v, const char *dir,
		      struct mail_def *m)
{
	static const char *const keys[] = {
		"url", "from", "to", "username", "password_file", "starttls",
		"ca_file", "events", NULL
	};
	static const char *const schemes[] = { "smtp://", "smtps://", NULL };

	if (!json_is_object(v))
		return jfile_fail(c, "mail", "expected an object {\"url\": ...,"
				  " \"from\": ..., \"to\": [...]}");
	if (jfile_check_keys(c, v, "mail", keys) < 0 ||
	    jfile_string(c, v, "mail", "url", 1, &m->url) < 0 ||
	    check_url(c, "mail.url", m->url, schemes) < 0 ||
	    jfile_string(c, v, "mail", "from", 1, &m->from) < 0 ||
	    check_address(c, "mail.from", m->from) < 0 ||
	    string_list(c, v, "mail", "to", 64, 0, &m->to, &m->nr_to) < 0 ||
	    jfile_string(c, v, "mail", "username", 0, &m->username) < 0 ||
	    jfile_readable(c, v, "mail", "password_file", dir, &m->password_file) < 0 ||
	    jfile_bool(c, v, "mail", "starttls", &m->starttls) < 0 ||
	    jfile_readable(c, v, "mail", "ca_file", dir, &m->ca_file) < 0 ||
	    string_list(c, v, "mail", "events", 64, 1, &m->events, &m->nr_events) < 0)
		return -1;
	if (!m->nr_to)
		return jfile_fail(c, json_object_get(v, "to") ? "mail.to" : "mail",
				  "expected at least one address in \"to\"");
	/* A mail is a report on a bisection: only kinds that have one. */
	for (size_t i = 0; i < m->nr_events; i++)
		if (strcmp(m->events[i], "regression") &&
		    strcmp(m->events[i], "bisection-found") &&
		    strcmp(m->events[i], "bisection-inconclusive")) {
			char *ep = jfile_subi("mail.events", i);
			int r = jfile_fail(c, ep, "\"%s\": mail reports only regression,"
					   " bisection-found and bisection-inconclusive",
					   m->events[i]);

			free(ep);
			return r;
		}
	return 0;
}

/* A check's context: Patchwork takes a slug ([A-Za-z0-9_-]). */
static int check_slug(struct jfile *c, const char *path, const char *s)
{
	const char *p;

	for (p = s; *p && patchwork_slug_char(*p); p++)
		;
	if (*p || !*s || strlen(s) > 255)
		return jfile_fail(c, path, "\"%s\": a check context is a slug (letters,"
				  " digits, _ and -, at most 255)", s);
	return 0;
}

static int parse_patchwork(struct jfile *c, json_t *v, const char *dir,
			   struct patchwork_def *pw)
{
	static const char *const keys[] = {
		"url", "token_file", "project", "context", "ca_file", NULL
	};
	static const char *const schemes[] = { "http://", "https://", NULL };

	if (!json_is_object(v))
		return jfile_fail(c, "patchwork", "expected an object {\"url\": ...,"
				  " \"token_file\": ...}");
	if (jfile_check_keys(c, v, "patchwork", keys) < 0 ||
	    jfile_string(c, v, "patchwork", "url", 1, &pw->url) < 0 ||
	    check_url(c, "patchwork.url", pw->url, schemes) < 0 ||
	    jfile_readable(c, v, "patchwork", "token_file", dir, &pw->token_file) < 0 ||
	    jfile_string(c, v, "patchwork", "project", 0, &pw->project) < 0 ||
	    jfile_string(c, v, "patchwork", "context", 0, &pw->context) < 0 ||
	    (pw->context && check_slug(c, "patchwork.context", pw->context) < 0) ||
	    jfile_readable(c, v, "patchwork", "ca_file", dir, &pw->ca_file) < 0)
		return -1;
	if (!pw->token_file)
		return jfile_fail(c, "patchwork", "expected \"token_file\": a check"
				  " needs an API token");
	if (pw->project && (!*pw->project || strlen(pw->project) > 255 ||
			    strspn(pw->project, "abcdefghijklmnopqrstuvwxyz"
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
			    strlen(pw->project)))
		return jfile_fail(c, "patchwork.project", "\"%s\": expected a"
				  " project's link name or id", pw->project);
	/* The API lives under /api/: the URL is the instance's root. */
	while (strlen(pw->url) > 8 && pw->url[strlen(pw->url) - 1] == '/')
		pw->url[strlen(pw->url) - 1] = '\0';
	return 0;
}


int config_parse_notify(struct jfile *c, json_t *root, const char *dir,
			struct kstage_config *cfg)
{
	json_t *hooks = NULL, *mail, *pw;
	size_t i;

	if (jfile_array(c, root, "", "webhooks", 32, &hooks) < 0)
		return -1;
	if (hooks && json_array_size(hooks)) {
		cfg->webhooks = xcalloc(json_array_size(hooks), sizeof(*cfg->webhooks));
		for (i = 0; i < json_array_size(hooks); i++) {
			char *hp = jfile_subi("webhooks", i);
			int r = parse_webhook(c, json_array_get(hooks, i), hp, dir,
					      &cfg->webhooks[i]);

			cfg->nr_webhooks++;
			free(hp);
			if (r < 0)
				return -1;
		}
	}
	mail = json_object_get(root, "mail");
	if (mail) {
		cfg->mail = xcalloc(1, sizeof(*cfg->mail));
		if (parse_mail(c, mail, dir, cfg->mail) < 0)
			return -1;
	}
	pw = json_object_get(root, "patchwork");
	if (pw) {
		cfg->patchwork = xcalloc(1, sizeof(*cfg->patchwork));
		if (parse_patchwork(c, pw, dir, cfg->patchwork) < 0)
			return -1;
	}
	return 0;
}

void config_notify_free(struct kstage_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nr_webhooks; i++) {
		free(cfg->webhooks[i].url);
		free(cfg->webhooks[i].secret_file);
		free(cfg->webhooks[i].ca_file);
		free_strv(cfg->webhooks[i].events);
	}
	free(cfg->webhooks);
	if (cfg->mail) {
		free(cfg->mail->url);
		free(cfg->mail->from);
		free_strv(cfg->mail->to);
		free(cfg->mail->username);
		free(cfg->mail->password_file);
		free(cfg->mail->ca_file);
		free_strv(cfg->mail->events);
		free(cfg->mail);
	}
	if (cfg->patchwork) {
		free(cfg->patchwork->url);
		free(cfg->patchwork->token_file);
		free(cfg->patchwork->project);
		free(cfg->patchwork->context);
		free(cfg->patchwork->ca_file);
		free(cfg->patchwork);
	}
}
