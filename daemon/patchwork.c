/*
 * patchwork: which check each patch of a series gets, and the shapes of
 * Patchwork's REST calls (see patchwork.h; the sender is notify.c).
 */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "log.h"
#include "patchwork.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

#define DESCRIPTION_MAX 900	/* bytes of a check's description */
#define NAMES_MAX 5		/* tests named in one */

enum check_state { CHECK_NONE, CHECK_PENDING, CHECK_SUCCESS, CHECK_WARNING, CHECK_FAIL };

static const char *const check_state_names[] = {
	NULL, "pending", "success", "warning", "fail"
};

struct patch {
	int number;
	char *commit, *msgid;
};

struct series_view {
	long long id;
	struct patch *p;
	int nr;
	char *plan, *stage, *profile;
	long long stage_idx;
};

static void series_view_release(struct series_view *s)
{
	int i;

	for (i = 0; i < s->nr; i++) {
		free(s->p[i].commit);
		free(s->p[i].msgid);
	}
	free(s->p);
	free(s->plan);
	free(s->stage);
	free(s->profile);
	memset(s, 0, sizeof(*s));
}

/* The patches of series id, in order: 0, or -1. */
static int load_patches(struct db *db, long long id, struct series_view *s)
{
	sqlite3_stmt *st;
	int rc;

	st = db_stmt(db, "SELECT number, commit_id, message_id FROM series_patches"
		     " WHERE series_id = ? ORDER BY number", "l", id);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		s->p = xrealloc(s->p, (s->nr + 1) * sizeof(*s->p));
		s->p[s->nr].number = sqlite3_column_int(st, 0);
		s->p[s->nr].commit = db_col_dup(st, 1);
		s->p[s->nr].msgid = db_col_dup(st, 2);
		s->nr++;
	}
	db_done(st);
	s->id = id;
	return rc < 0 ? -1 : 0;
}

/* The series of stage_id whose head is head, else the latest holding
 * commit: 1 loaded, 0 none, -1. */
static int find_series(struct db *db, long long stage_id, const char *head,
		       const char *commit, struct series_view *s)
{
	long long id = 0;
	int rc = 0;
	sqlite3_stmt *st;

	if (head)
		rc = db_get_int(db, &id, "SELECT id FROM series WHERE stage_id = ? AND"
				" head = ? ORDER BY id DESC LIMIT 1", "ls", stage_id, head);
	if (rc == 0 && commit)
		rc = db_get_int(db, &id, "SELECT p.series_id FROM series_patches p"
				" JOIN series s ON s.id = p.series_id WHERE s.stage_id = ?"
				" AND p.commit_id = ? ORDER BY p.series_id DESC LIMIT 1",
				"ls", stage_id, commit);
	if (rc <= 0)
		return rc;
	if (load_patches(db, id, s) < 0)
		return -1;
	if (db_first(db, &st, "SELECT p.name, p.profile, s.name, s.idx FROM stages s"
		     " JOIN plans p ON p.id = s.plan_id WHERE s.id = ?", "l",
		     stage_id) != 1)
		return -1;
	s->plan = db_col_dup(st, 0);
	s->profile = db_col_dup(st, 1);
	s->stage = db_col_dup(st, 2);
	s->stage_idx = sqlite3_column_int64(st, 3);
	db_done(st);
	return 1;
}

/* Position (0-based) of commit in the series, or -1. */
static int position(const struct series_view *s, const char *commit)
{
	int i;

	for (i = 0; commit && i < s->nr; i++)
		if (!strcmp(s->p[i].commit, commit))
			return i;
	return -1;
}

/* "T1, T2 and 3 more" of a newline-separated (or JSON array) list. */
static void add_names(struct strbuf *sb, const char *lines, json_t *arr)
{
	size_t n = 0, shown = 0, i;
	const char *p, *e;
	json_t *v;

	if (arr) {
		json_array_foreach(arr, i, v) {
			if (shown < NAMES_MAX && json_is_string(v)) {
				strbuf_addf(sb, "%s%s", shown ? ", " : "", json_string_value(v));
				shown++;
			}
			n++;
		}
	}
	for (p = lines; p && *p; p = *e ? e + 1 : e) {
		e = strchr(p, '\n');
		if (!e)
			e = p + strlen(p);
		if (e == p)
			continue;
		if (shown < NAMES_MAX) {
			strbuf_addf(sb, "%s%.*s", shown ? ", " : "", (int)(e - p), p);
			shown++;
		}
		n++;
	}
	if (n > shown)
		strbuf_addf(sb, " and %zu more", n - shown);
}

/* Copy at most cap - 1 bytes of s, cut at a UTF-8 character's start. */
static void copy_cut(char *dst, const char *s, size_t cap)
{
	size_t n = strlen(s);

	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

struct checks_ctx {
	const struct kstage_config *cfg;
	const struct series_view *s;
	patchwork_add_fn *add;
	void *arg;
	char *context, *target_url;
};

/* The row of patch i: state and description. */
static int add_check(struct checks_ctx *c, int i, enum check_state state,
		     const char *description)
{
	const struct patch *p = &c->s->p[i];
	char desc[DESCRIPTION_MAX + 1];
	char *text;
	json_t *o;
	int ret;

	if (!p->msgid || state == CHECK_NONE)
		return 0;
	copy_cut(desc, description, sizeof(desc));
	o = json_pack("{s:s,s:i,s:i,s:s,s:s,s:s,s:s?}", "msgid", p->msgid,
		      "number", p->number, "of", c->s->nr,
		      "state", check_state_names[state], "context", c->context,
		      "description", desc, "target_url", c->target_url);
	if (!o)
		return error("patch %s: cannot make its check", p->msgid);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	ret = text ? c->add(c->arg, p->msgid, text) : -1;
	free(text);
	return ret;
}

int patchwork_slug_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* "kstage-PROFILE", the profile's name made a slug. */
static char *default_context(const char *profile)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;

	strbuf_adds(&sb, "kstage-");
	for (p = profile; p && *p && sb.len < 255; p++)
		strbuf_addch(&sb, patchwork_slug_char(*p) ? *p : '-');
	return strbuf_detach(&sb);
}

static int verdict_checks(struct db *db, struct checks_ctx *c, long long run_id,
			  const char *verdict, json_t *regressions)
{
	const struct series_view *s = c->s;
	struct strbuf d = STRBUF_INIT;
	long long pass = 0, fail = 0, skip = 0;
	sqlite3_stmt *st;
	int i, ret = 0;

	if (db_first(db, &st, "SELECT n_pass, n_fail, n_skip FROM runs WHERE id = ?",
		     "l", run_id) == 1) {
		pass = sqlite3_column_int64(st, 0);
		fail = sqlite3_column_int64(st, 1);
		skip = sqlite3_column_int64(st, 2);
		db_done(st);
	}
	if (!strcmp(verdict, "green")) {
		strbuf_addf(&d, "stage %lld (%s) of %s is green at this series: %lld"
			    " passed, %lld failed (known, or as on the stage below), %lld skipped",
			    s->stage_idx, s->stage, s->plan, pass, fail, skip);
		for (i = 0; i < s->nr && !ret; i++)
			ret = add_check(c, i, CHECK_SUCCESS, d.buf);
	} else if (!strcmp(verdict, "red")) {
		struct strbuf head = STRBUF_INIT;

		strbuf_addf(&head, "stage %lld (%s) of %s regresses at this patch, the"
			    " series head: ", s->stage_idx, s->stage, s->plan);
		add_names(&head, NULL, regressions);
		strbuf_addf(&d, "the series head (patch %d/%d) regresses; %s",
			    s->nr, s->nr, c->cfg->auto_bisect ?
			    "bisecting to the first bad patch" : "not bisected");
		for (i = 0; i < s->nr && !ret; i++)
			ret = i == s->nr - 1 ? add_check(c, i, CHECK_FAIL, head.buf) :
				add_check(c, i, c->cfg->auto_bisect ? CHECK_PENDING :
					  CHECK_WARNING, d.buf);
		strbuf_release(&head);
	} else if (!strcmp(verdict, "error")) {
		strbuf_addf(&d, "stage %lld (%s) of %s: the run of the series head"
			    " ended in an error, nothing was compared", s->stage_idx,
			    s->stage, s->plan);
		for (i = 0; i < s->nr && !ret; i++)
			ret = add_check(c, i, CHECK_WARNING, d.buf);
	}
	strbuf_release(&d);
	return ret;
}

static int bisection_checks(struct checks_ctx *c, const char *kind,
			    const char *culprit, const char *range_good,
			    const char *range_bad, const char *tests)
{
	const struct series_view *s = c->s;
	struct strbuf d = STRBUF_INIT;
	int i, k, g, b, ret = 0;

	if (!strcmp(kind, "bisection-found")) {
		k = position(s, culprit);
		if (k < 0)
			return 0;
		for (i = 0; i < s->nr && !ret; i++) {
			strbuf_reset(&d);
			if (i < k) {
				strbuf_addf(&d, "good: bisection puts the first bad commit"
					    " at patch %d/%d", k + 1, s->nr);
				ret = add_check(c, i, CHECK_SUCCESS, d.buf);
			} else if (i == k) {
				strbuf_adds(&d, "first bad commit: ");
				add_names(&d, tests, NULL);
				strbuf_adds(&d, " regressed here");
				ret = add_check(c, i, CHECK_FAIL, d.buf);
			} else {
				strbuf_addf(&d, "comes after the first bad commit, patch"
					    " %d/%d", k + 1, s->nr);
				ret = add_check(c, i, CHECK_WARNING, d.buf);
			}
		}
	} else {
		g = position(s, range_good);	/* -1: the good end is below */
		b = position(s, range_bad);
		if (b < 0)
			b = s->nr - 1;
		for (i = 0; i < s->nr && !ret; i++) {
			strbuf_reset(&d);
			if (i <= g) {
				strbuf_addf(&d, "good: the regression is after patch %d/%d",
					    g + 1, s->nr);
				ret = add_check(c, i, CHECK_SUCCESS, d.buf);
			} else {
				strbuf_addf(&d, "bisection inconclusive: the first bad"
					    " commit is one of patches %d..%d/%d (", g + 2,
					    b + 1, s->nr);
				add_names(&d, tests, NULL);
				strbuf_adds(&d, ")");
				ret = add_check(c, i, CHECK_WARNING, d.buf);
			}
		}
	}
	strbuf_release(&d);
	return ret;
}

int patchwork_checks(struct db *db, const struct kstage_config *cfg,
		     const char *kind, long long plan_id, long long stage_id,
		     long long run_id, long long bisection_id, json_t *data,
		     patchwork_add_fn *add, void *arg)
{
	struct series_view s = { 0 };
	struct checks_ctx c = { cfg, &s, add, arg, NULL, NULL };
	char *head = NULL, *culprit = NULL, *good = NULL, *bad = NULL, *tests = NULL;
	int is_verdict = !strcmp(kind, "stage-verdict"), rc, ret = -1;
	sqlite3_stmt *st;

	(void)plan_id;
	if (!cfg->patchwork || !stage_id)
		return 0;
	if (is_verdict) {
		if (!run_id || db_get_text(db, &head, "SELECT commit_id FROM runs WHERE"
					   " id = ?", "l", run_id) < 0)
			return run_id ? -1 : 0;
	} else if (!strcmp(kind, "bisection-found") ||
		   !strcmp(kind, "bisection-inconclusive")) {
		rc = db_first(db, &st, "SELECT bad_commit, culprit, range_good, range_bad,"
			      " tests FROM bisections WHERE id = ?", "l", bisection_id);
		if (rc <= 0)
			return rc;
		head = db_col_dup(st, 0);
		culprit = db_col_dup(st, 1);
		good = db_col_dup(st, 2);
		bad = db_col_dup(st, 3);
		tests = db_col_dup(st, 4);
		db_done(st);
	} else {
		return 0;
	}
	rc = find_series(db, stage_id, head, culprit ? culprit : bad, &s);
	if (rc <= 0) {
		ret = rc;
		goto out;
	}
	c.context = cfg->patchwork->context ? xstrdup(cfg->patchwork->context) :
		default_context(s.profile);
	if (cfg->public_url) {
		struct strbuf u = STRBUF_INIT;

		if (is_verdict)
			strbuf_addf(&u, "%s/#/plan/%s/stage/%s", cfg->public_url, s.plan,
				    s.stage);
		else
			strbuf_addf(&u, "%s/#/bisection/%lld", cfg->public_url, bisection_id);
		c.target_url = strbuf_detach(&u);
	}
	if (is_verdict)
		ret = verdict_checks(db, &c, run_id,
				     json_string_value(json_object_get(data, "verdict")) ?
				     json_string_value(json_object_get(data, "verdict")) : "",
				     json_object_get(data, "regressions"));
	else
		ret = bisection_checks(&c, kind, culprit, good, bad, tests);
out:
	series_view_release(&s);
	free(c.context);
	free(c.target_url);
	free(head);
	free(culprit);
	free(good);
	free(bad);
	free(tests);
	return ret;
}

/* Percent-encode s for a query value (RFC 3986 unreserved kept). */
static void add_query_value(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~') {
			strbuf_addch(sb, *p);
		} else {
			strbuf_addch(sb, '%');
			strbuf_addch(sb, hex[*p >> 4]);
			strbuf_addch(sb, hex[*p & 15]);
		}
	}
}

int patchwork_lookup_url(const struct patchwork_def *pw, json_t *payload,
			 struct strbuf *out)
{
	const char *msgid = json_string_value(json_object_get(payload, "msgid"));
	size_t len;

	if (!msgid || !*msgid)
		return -1;
	/* Patchwork adds the angle brackets itself. */
	len = strlen(msgid);
	if (msgid[0] == '<' && len > 2 && msgid[len - 1] == '>') {
		char *bare = xstrndup(msgid + 1, len - 2);

		strbuf_addf(out, "%s/api/patches/?msgid=", pw->url);
		add_query_value(out, bare);
		free(bare);
	} else {
		strbuf_addf(out, "%s/api/patches/?msgid=", pw->url);
		add_query_value(out, msgid);
	}
	if (pw->project) {
		strbuf_adds(out, "&project=");
		add_query_value(out, pw->project);
	}
	return 0;
}

void patchwork_checks_url(const struct patchwork_def *pw, long long patch_id,
			  struct strbuf *out)
{
	strbuf_addf(out, "%s/api/patches/%lld/checks/", pw->url, patch_id);
}

long long patchwork_patch_id(const char *answer, size_t len)
{
	json_t *arr = json_loadb(answer, len, 0, NULL), *first;
	long long id;

	if (!json_is_array(arr)) {
		json_decref(arr);
		return -1;
	}
	if (!json_array_size(arr)) {
		json_decref(arr);
		return 0;
	}
	first = json_array_get(arr, 0);
	id = json_is_integer(json_object_get(first, "id")) ?
		json_integer_value(json_object_get(first, "id")) : -1;
	json_decref(arr);
	return id > 0 ? id : -1;
}

char *patchwork_check_body(json_t *payload)
{
	json_t *o = json_pack("{s:O?,s:O?,s:O?}", "state",
			      json_object_get(payload, "state"), "context",
			      json_object_get(payload, "context"), "description",
			      json_object_get(payload, "description"));
	char *text;

	if (!o || !json_is_string(json_object_get(o, "state")) ||
	    !json_is_string(json_object_get(o, "context"))) {
		json_decref(o);
		return NULL;
	}
	if (json_is_string(json_object_get(payload, "target_url")))
		json_object_set(o, "target_url", json_object_get(payload, "target_url"));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}
