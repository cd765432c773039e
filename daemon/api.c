/*
 * api: what the handlers of the HTTP API share (see api.h): replies and
 * their headers, JSON errors, query arguments, strict integers, the read
 * transaction, and the lookups of plans, stages and ids.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "json.h"
#include "log.h"
#include "wrapper.h"
#include "banned.h"

/* --- replies ---------------------------------------------------------------- */

void api_reply_release(struct api_reply *r)
{
	strbuf_release(&r->body);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

void api_reply_header(struct api_reply *r, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (r->nr_headers >= API_MAX_HEADERS)
		return;
	r->headers[r->nr_headers].name = name;
	va_start(ap, fmt);
	vsnprintf(r->headers[r->nr_headers].value,
		  sizeof(r->headers[r->nr_headers].value), fmt, ap);
	va_end(ap);
	r->nr_headers++;
}

struct strbuf *api_begin_json(struct api_reply *out)
{
	strbuf_reset(&out->body);
	/* Room for a typical reply, so that it is not grown ten times. */
	if (out->body.alloc < 16384 && strbuf_add(&out->body, "", 0) == 0) {
		out->body.buf = xrealloc(out->body.buf, 16384);
		out->body.alloc = 16384;
	}
	out->content_type = NULL;
	return &out->body;
}

int api_end_json(struct api_reply *out, int status)
{
	if (out->body.truncated)
		return error("reply over %zu bytes", out->body.len);
	strbuf_addch(&out->body, '\n');
	out->status = status;
	return 0;
}

int api_error(struct api_reply *out, int status, const char *fmt, ...)
{
	struct strbuf *sb = api_begin_json(out);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_lit(sb, "{\"error\":");
	json_str(sb, msg);	/* msg may quote client input: made valid here */
	json_ch(sb, '}');
	return api_end_json(out, status);
}

const char *api_query(const struct api_request *req, const char *key)
{
	size_t i;

	for (i = 0; i < req->nr_query; i++)
		if (!strcmp(req->query[i][0], key))
			return req->query[i][1] ? req->query[i][1] : "";
	return NULL;
}

int api_parse_int(const char *s, long long min, long long max, long long *out)
{
	long long v = 0;
	size_t i;

	if (!s || !*s || strlen(s) > 18 || (s[0] == '0' && s[1]))
		return -1;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int api_read_begin(struct db *db)
{
	if (sqlite3_exec(db->h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return error("BEGIN: %s", sqlite3_errmsg(db->h));
	return 0;
}

void api_read_end(struct db *db)
{
	if (sqlite3_get_autocommit(db->h))
		return;
	if (sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

int api_in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

/* --- lookups -------------------------------------------------------------------- */

int api_find_plan(struct api_reply *out, struct db *db, const char *name,
		  long long *id)
{
	int rc = db_get_int(db, id, "SELECT id FROM plans WHERE name = ?", "s", name);

	if (rc == 0)
		api_error(out, 404, "no such plan: %s", name);
	return rc;
}

int api_find_stage(struct api_reply *out, struct db *db, long long plan_id,
		   const char *plan, const char *name, long long *id)
{
	int rc = db_get_int(db, id, "SELECT id FROM stages WHERE plan_id = ?"
			    " AND name = ?", "ls", plan_id, name);

	if (rc == 0)
		api_error(out, 404, "no stage %s in plan %s", name, plan);
	return rc;
}

int api_find_plan_stage(struct api_reply *out, struct db *db, const char *plan,
			const char *stage, long long *plan_id, long long *stage_id)
{
	int rc = api_find_plan(out, db, plan, plan_id);

	if (rc > 0)
		rc = api_find_stage(out, db, *plan_id, plan, stage, stage_id);
	return rc;
}

long long api_param_id(const struct api_request *req, size_t i)
{
	long long id = 0;

	api_parse_int(req->params[i], 1, (long long)1 << 53, &id);
	return id;
}

void api_log_url(struct strbuf *sb, long long run_id, int step)
{
	struct strbuf url = STRBUF_INIT;

	strbuf_addf(&url, "/api/v1/runs/%lld/steps/%d/log", run_id, step);
	json_str(sb, url.buf);
	strbuf_release(&url);
}
