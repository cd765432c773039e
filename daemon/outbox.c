/*
 * outbox: notifications written with the change that causes them, and
 * the record of their delivery (see outbox.h).
 */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "log.h"
#include "outbox.h"
#include "patchwork.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

static const char *const kinds[] = {
	"run-finished", "stage-verdict", "regression", "bisection-found",
	"bisection-inconclusive", "gate-moved", "gate-refused", NULL
};

/* Mail goes out for these unless its "events" says otherwise. */
static const char *const mail_default[] = {
	"bisection-found", "bisection-inconclusive", NULL
};

/* Set once before the threads start, read-only after. */
static const struct kstage_config *outbox_cfg;
static void (*outbox_kick)(void *);
static void *outbox_kick_arg;

int outbox_kind_valid(const char *s)
{
	size_t i;

	for (i = 0; kinds[i]; i++)
		if (!strcmp(s, kinds[i]))
			return 1;
	return 0;
}

static const char *data_str(json_t *data, const char *key)
{
	return json_string_value(json_object_get(data, key));
}

const char *outbox_kind_of(const char *event_kind, json_t *data)
{
	const char *s;

	/* Not the checks of every commit (each.h): 50 a push would flood. */
	if (!strcmp(event_kind, "run-finished"))
		return data_str(data, "reason") ? NULL : "run-finished";
	if (!strcmp(event_kind, "stage-verdict"))
		return "stage-verdict";
	if (!strcmp(event_kind, "bisection")) {
		s = data_str(data, "state");
		if (!s)
			return NULL;
		if (!strcmp(s, "requested"))
			return (data_str(data, "reason") &&
				!strcmp(data_str(data, "reason"), "auto")) ?
				"regression" : NULL;
		if (!strcmp(s, "found"))
			return "bisection-found";
		if (!strcmp(s, "inconclusive"))
			return "bisection-inconclusive";
		return NULL;
	}
	if (!strcmp(event_kind, "gate")) {
		s = data_str(data, "action");
		if (s && (!strcmp(s, "moved") || !strcmp(s, "overridden")))
			return "gate-moved";
		if (s && !strcmp(s, "refused"))
			return "gate-refused";
	}
	return NULL;
}

void outbox_configure(const struct kstage_config *cfg, void (*kick)(void *), void *arg)
{
	outbox_cfg = cfg;
	outbox_kick = kick;
	outbox_kick_arg = arg;
}

/* Does a list of kinds (NULL: deflt, or every kind) hold kind? */
static int wants(char *const *list, const char *const *deflt, const char *kind)
{
	size_t i;

	if (!list && !deflt)
		return 1;
	if (!list) {
		for (i = 0; deflt[i]; i++)
			if (!strcmp(deflt[i], kind))
				return 1;
		return 0;
	}
	for (i = 0; list[i]; i++)
		if (!strcmp(list[i], kind))
			return 1;
	return 0;
}

static json_t *opt_id(long long id)
{
	return id ? json_integer(id) : json_null();
}

/* The bisection's facts, for its webhook payload (NULL if none). */
static json_t *bisection_json(struct db *db, long long id)
{
	sqlite3_stmt *st;
	json_t *o, *tests;
	char *t, *p, *save;

	if (db_first(db, &st, "SELECT b.state, b.reason, b.good_commit,"
		     " b.bad_commit, b.tests, b.culprit, b.culprit_stage,"
		     " b.range_good, b.range_bad, b.detail, (SELECT subject FROM"
		     " bisection_commits c WHERE c.bisection_id = b.id AND"
		     " c.commit_id = b.culprit LIMIT 1) FROM bisections b WHERE"
		     " b.id = ?", "l", id) != 1)
		return NULL;
	tests = json_array();
	t = db_col_dup(st, 4);
	for (p = t ? strtok_r(t, "\n", &save) : NULL; p; p = strtok_r(NULL, "\n", &save))
		json_array_append_new(tests, json_string(p));
	free(t);
	o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?}",
		      "id", (json_int_t)id,
		      "state", db_col_text(st, 0), "reason", db_col_text(st, 1),
		      "good", db_col_text(st, 2), "bad", db_col_text(st, 3),
		      "tests", tests,
		      "culprit", (const char *)sqlite3_column_text(st, 5),
		      "culprit_stage", (const char *)sqlite3_column_text(st, 6),
		      "culprit_subject", (const char *)sqlite3_column_text(st, 10),
		      "range_good", (const char *)sqlite3_column_text(st, 7),
		      "range_bad", (const char *)sqlite3_column_text(st, 8),
		      "detail", (const char *)sqlite3_column_text(st, 9));
	db_done(st);
	return o;
}

/* The run's facts, for its webhook payload (NULL if none). */
static json_t *run_json(struct db *db, long long id)
{
	sqlite3_stmt *st;
	json_t *o;

	if (db_first(db, &st, "SELECT commit_id, reason, state, verdict, n_pass,"
		     " n_fail, n_skip, n_error, boot_verdict FROM runs WHERE id = ?",
		     "l", id) != 1)
		return NULL;
	o = json_pack("{s:I,s:s,s:s,s:s,s:s?,s:i,s:i,s:i,s:i,s:s?}",
		      "id", (json_int_t)id, "commit", db_col_text(st, 0),
		      "reason", db_col_text(st, 1), "state", db_col_text(st, 2),
		      "verdict", (const char *)sqlite3_column_text(st, 3),
		      "pass", sqlite3_column_int(st, 4), "fail", sqlite3_column_int(st, 5),
		      "skip", sqlite3_column_int(st, 6), "error", sqlite3_column_int(st, 7),
		      "boot", (const char *)sqlite3_column_text(st, 8));
	db_done(st);
	return o;
}

/* The webhook body (API.md, "Webhooks"): compact JSON, caller frees. */
static char *webhook_payload(struct db *db, long long event_id, const char *kind,
			     long long plan_id, long long stage_id, long long run_id,
			     long long bisection_id, json_t *data)
{
	char *plan = NULL, *stage = NULL, *text;
	json_t *o, *extra;

	if (plan_id && db_get_text(db, &plan, "SELECT name FROM plans WHERE id = ?",
				   "l", plan_id) < 0)
		return NULL;
	if (stage_id && db_get_text(db, &stage, "SELECT name FROM stages WHERE"
				    " id = ?", "l", stage_id) < 0) {
		free(plan);
		return NULL;
	}
	o = json_pack("{s:s,s:I,s:I,s:s?,s:s?,s:o,s:o,s:O?}",
		      "event", kind, "event_id", (json_int_t)event_id,
		      "at", (json_int_t)now_wall_ms(), "plan", plan, "stage", stage,
		      "run_id", opt_id(run_id), "bisection_id", opt_id(bisection_id),
		      "data", data);
	free(plan);
	free(stage);
	if (!o)
		return NULL;
	if (run_id && (extra = run_json(db, run_id)))
		json_object_set_new(o, "run", extra);
	if (bisection_id && (extra = bisection_json(db, bisection_id)))
		json_object_set_new(o, "bisection", extra);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

struct row {
	long long event_id, plan_id, stage_id, run_id, bisection_id;
	const char *kind, *channel, *target;
};

static int insert(struct db *db, const struct row *r, const char *topic,
		  const char *payload)
{
	long long now = now_wall_ms();

	/* A newer check on the same patch: the older one is not sent. */
	if (topic && db_exec(db, "UPDATE outbox SET state = 'superseded', last_error ="
			     " 'superseded by a newer notification' WHERE channel = ?"
			     " AND target = ? AND topic = ? AND state = 'pending'",
			     "sss", r->channel, r->target, topic) < 0)
		return -1;
	return db_exec(db, "INSERT INTO outbox (event_id, kind, channel, target,"
		       " plan_id, stage_id, run_id, bisection_id, payload, created_at,"
		       " next_at, topic) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		       "lsssLLLLslls", r->event_id, r->kind, r->channel, r->target,
		       r->plan_id, r->stage_id, r->run_id, r->bisection_id, payload,
		       now, now, topic);
}

/* patchwork_checks()'s add: one check, one row. */
static int add_patchwork(void *arg, const char *topic, const char *payload)
{
	struct {
		struct db *db;
		const struct row *r;
		int added;
	} *a = arg;

	if (insert(a->db, a->r, topic, payload) < 0)
		return -1;
	a->added++;
	return 0;
}

int outbox_event(struct db *db, long long event_id, const char *event_kind,
		 long long plan_id, long long stage_id, long long run_id,
		 long long bisection_id, json_t *data)
{
	const struct kstage_config *cfg = outbox_cfg;
	const char *kind;
	char *payload = NULL;
	struct row r = { event_id, plan_id, stage_id, run_id, bisection_id };
	size_t i;
	int added = 0, ret = -1;

	if (!cfg || !(kind = outbox_kind_of(event_kind, data)))
		return 0;
	r.kind = kind;
	for (i = 0; i < cfg->nr_webhooks; i++) {
		const struct webhook_def *w = &cfg->webhooks[i];

		if (!wants(w->events, NULL, kind))
			continue;
		if (!payload)
			payload = webhook_payload(db, event_id, kind, plan_id, stage_id,
						  run_id, bisection_id, data);
		if (!payload) {
			error("event %lld: cannot make its webhook payload", event_id);
			goto out;
		}
		r.channel = "webhook";
		r.target = w->url;
		if (insert(db, &r, NULL, payload) < 0)
			goto out;
		added++;
	}
	if (cfg->mail && wants(cfg->mail->events, mail_default, kind)) {
		/* A mail is composed by the sender, from what is committed. */
		r.channel = "mail";
		r.target = cfg->mail->url;
		if (insert(db, &r, NULL, NULL) < 0)
			goto out;
		added++;
	}
	if (cfg->patchwork) {
		struct {
			struct db *db;
			const struct row *r;
			int added;
		} a = { db, &r, 0 };

		r.channel = "patchwork";
		r.target = cfg->patchwork->url;
		if (patchwork_checks(db, cfg, kind, plan_id, stage_id, run_id,
				     bisection_id, data, add_patchwork, &a) < 0)
			goto out;
		added += a.added;
	}
	ret = 0;
	if (added && outbox_kick)
		outbox_kick(outbox_kick_arg);
out:
	free(payload);
	return ret;
}

void outbox_item_release(struct outbox_item *it)
{
	free(it->kind);
	free(it->channel);
	free(it->target);
	free(it->payload);
	memset(it, 0, sizeof(*it));
}

int outbox_next(struct db *db, long long now, struct outbox_item *it,
		long long *next_at)
{
	sqlite3_stmt *st;
	int rc;

	*next_at = 0;
	rc = db_first(db, &st, "SELECT id, event_id, coalesce(plan_id, 0),"
		      " coalesce(stage_id, 0), coalesce(run_id, 0),"
		      " coalesce(bisection_id, 0), kind, channel, target, payload,"
		      " tries, next_at FROM outbox WHERE state = 'pending'"
		      " ORDER BY next_at, id LIMIT 1", NULL);
	if (rc <= 0)
		return rc;
	if (sqlite3_column_int64(st, 11) > now) {
		*next_at = sqlite3_column_int64(st, 11);
		db_done(st);
		return 0;
	}
	it->id = sqlite3_column_int64(st, 0);
	it->event_id = sqlite3_column_int64(st, 1);
	it->plan_id = sqlite3_column_int64(st, 2);
	it->stage_id = sqlite3_column_int64(st, 3);
	it->run_id = sqlite3_column_int64(st, 4);
	it->bisection_id = sqlite3_column_int64(st, 5);
	it->kind = db_col_dup(st, 6);
	it->channel = db_col_dup(st, 7);
	it->target = db_col_dup(st, 8);
	it->payload = db_col_dup(st, 9);
	it->tries = sqlite3_column_int(st, 10);
	db_done(st);
	return 1;
}

int outbox_set_payload(struct db *db, long long id, const char *payload)
{
	return db_exec(db, "UPDATE outbox SET payload = ? WHERE id = ? AND"
		       " payload IS NULL", "sl", payload, id);
}

static int record(struct db *db, long long id, const void *arg)
{
	const struct {
		int ok;
		long code;
		const char *error;
		long long retry_at;
	} *a = arg;
	long long now = now_wall_ms(), n = 0;

	/* A row superseded while its attempt was in flight is still recorded. */
	if (db_get_int(db, &n, "SELECT tries + 1 FROM outbox WHERE id = ? AND"
		       " state IN ('pending', 'superseded')", "l", id) != 1)
		return -1;
	if (db_exec(db, "INSERT INTO outbox_attempts (outbox_id, n, at, ok, code,"
		    " error) VALUES (?, ?, ?, ?, ?, ?)", "llliLs", id, n, now, a->ok,
		    (long long)a->code, a->error) < 0)
		return -1;
	if (a->ok)
		return db_exec(db, "UPDATE outbox SET state = 'delivered', tries = ?,"
			       " delivered_at = ?, last_error = NULL WHERE id = ?",
			       "lll", n, now, id);
	return db_exec(db, "UPDATE outbox SET state = CASE state WHEN 'superseded'"
		       " THEN state ELSE ? END, tries = ?, next_at = ?, last_error = ?"
		       " WHERE id = ?", "sllsl", a->retry_at ? "pending" : "failed", n,
		       a->retry_at ? a->retry_at : now, a->error, id);
}

int outbox_record(struct db *db, long long id, int ok, long code,
		  const char *error, long long retry_at)
{
	struct {
		int ok;
		long code;
		const char *error;
		long long retry_at;
	} a = { ok, code, error, retry_at };

	return db_transaction(db, record, id, &a) < 0 ? -1 : 0;
}

static json_t *attempts_json(struct db *db, long long id)
{
	json_t *arr = json_array();
	sqlite3_stmt *st;
	int rc;

	st = db_stmt(db, "SELECT n, at, ok, code, error FROM outbox_attempts WHERE"
		     " outbox_id = ? ORDER BY n", "l", id);
	if (!st) {
		json_decref(arr);
		return NULL;
	}
	while ((rc = db_step(db, st)) == 1)
		json_array_append_new(arr, json_pack("{s:i,s:I,s:b,s:o,s:s?}",
			"n", sqlite3_column_int(st, 0),
			"at", (json_int_t)sqlite3_column_int64(st, 1),
			"ok", sqlite3_column_int(st, 2),
			"code", sqlite3_column_type(st, 3) == SQLITE_NULL ? json_null() :
			json_integer(sqlite3_column_int64(st, 3)),
			"error", (const char *)sqlite3_column_text(st, 4)));
	db_done(st);
	if (rc < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/*
 * A destination as the API shows it: scheme, host and port only (a
 * webhook's path or query may be its secret, as in chat services' hook
 * URLs; a user name stays out too), "/..." when something was left out.
 */
static char *public_target(const char *url)
{
	const char *p = strstr(url, "://"), *host, *end, *at;
	struct strbuf sb = STRBUF_INIT;

	if (!p)
		return xstrdup("?");
	host = p + 3;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (at)
		host = at + 1;
	strbuf_add(&sb, url, (size_t)(p + 3 - url));
	strbuf_add(&sb, host, (size_t)(end - host));
	if (*end && strcmp(end, "/"))
		strbuf_adds(&sb, "/...");
	return strbuf_detach(&sb);
}

json_t *outbox_list(struct db *db, const struct outbox_filter *f)
{
	json_t *arr = json_array(), *o, *att;
	sqlite3_stmt *st;
	size_t i;
	int rc;

	st = db_stmt(db, "SELECT o.id, o.event_id, o.kind, o.channel, o.target,"
		     " p.name, s.name, o.run_id, o.bisection_id, o.state, o.tries,"
		     " o.created_at, o.next_at, o.delivered_at, o.last_error, o.topic,"
		     " CASE o.channel WHEN 'patchwork' THEN o.payload END"
		     " FROM outbox o LEFT JOIN plans p ON p.id = o.plan_id"
		     " LEFT JOIN stages s ON s.id = o.stage_id"
		     " WHERE (?1 IS NULL OR o.state = ?1)"
		     " AND (?2 IS NULL OR o.plan_id = ?2)"
		     " AND (?3 IS NULL OR o.stage_id = ?3)"
		     " AND (?4 IS NULL OR o.run_id = ?4)"
		     " AND (?5 IS NULL OR o.bisection_id = ?5)"
		     " ORDER BY o.id DESC LIMIT ?6",
		     "sLLLLi", f->state, f->plan_id, f->stage_id, f->run_id,
		     f->bisection_id, f->limit);
	if (!st) {
		json_decref(arr);
		return NULL;
	}
	while ((rc = db_step(db, st)) == 1) {
		int pending = !strcmp(db_col_text(st, 9), "pending");
		char *target = public_target(db_col_text(st, 4));

		o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s?,s:s?,s:o,s:o,s:s,s:i,s:I,"
			      "s:o,s:o,s:s?}",
			      "id", (json_int_t)sqlite3_column_int64(st, 0),
			      "event_id", (json_int_t)sqlite3_column_int64(st, 1),
			      "kind", db_col_text(st, 2), "channel", db_col_text(st, 3),
			      "target", target,
			      "plan", (const char *)sqlite3_column_text(st, 5),
			      "stage", (const char *)sqlite3_column_text(st, 6),
			      "run_id", opt_id(sqlite3_column_int64(st, 7)),
			      "bisection_id", opt_id(sqlite3_column_int64(st, 8)),
			      "state", db_col_text(st, 9),
			      "tries", sqlite3_column_int(st, 10),
			      "created_at", (json_int_t)sqlite3_column_int64(st, 11),
			      "next_at", pending ?
			      json_integer(sqlite3_column_int64(st, 12)) : json_null(),
			      "delivered_at", sqlite3_column_type(st, 13) == SQLITE_NULL ?
			      json_null() : json_integer(sqlite3_column_int64(st, 13)),
			      "last_error", (const char *)sqlite3_column_text(st, 14));
		free(target);
		if (o && sqlite3_column_type(st, 15) != SQLITE_NULL)
			json_object_set_new(o, "topic", json_string(db_col_text(st, 15)));
		/* A Patchwork check says what it posts (patchwork.h). */
		if (o && sqlite3_column_type(st, 16) != SQLITE_NULL)
			json_object_set_new(o, "check", json_loads(db_col_text(st, 16), 0,
								   NULL));
		if (o)
			json_array_append_new(arr, o);
	}
	db_done(st);
	if (rc < 0) {
		json_decref(arr);
		return NULL;
	}
	json_array_foreach(arr, i, o) {
		att = attempts_json(db, json_integer_value(json_object_get(o, "id")));
		if (!att) {
			json_decref(arr);
			return NULL;
		}
		json_object_set_new(o, "attempts", att);
	}
	return arr;
}
