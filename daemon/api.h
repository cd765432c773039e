#ifndef API_H
#define API_H

#include <stdarg.h>
#include <stddef.h>

#include "config.h"
#include "db.h"
#include "strbuf.h"

/*
 * api: the resources of the HTTP API (daemon/API.md) as functions from a
 * request to a reply: JSON built with jansson from the database, the
 * writes (trigger, retry, cancel, bisections, acks, refresh), the
 * Prometheus metrics that come from the database, and the plain HTML
 * views that work without JavaScript.
 *
 * Nothing here knows about sockets or libmicrohttpd: http.c parses the
 * request, checks the token, fills a struct api_request and turns the
 * struct api_reply into a response.  The CLI calls the same read
 * functions on a database it opened itself ("kstage status --db").
 *
 * Reads: the caller wraps a read handler in api_read_begin() /
 * api_read_end(), so that a reply that takes several queries sees one
 * snapshot of the database (no torn reads).  Writes take their own short
 * BEGIN IMMEDIATE transaction and must not be called inside a read one;
 * after a successful write they wake the engine (req->engine, if any).
 */

struct engine;
struct MHD_Response;

#define API_MAX_PARAMS 4
#define API_MAX_QUERY 16
#define API_JSON_BODY_MAX ((size_t)1 << 20)	/* cap of a JSON request body */

struct api_request {
	const struct kstage_config *cfg;	/* may be NULL outside the server */
	struct engine *engine;		/* NULL: nothing to wake */
	struct db *db;			/* the calling thread's connection */
	/* Path parameters in the order of the route pattern, already
	 * validated (names: [A-Za-z0-9._-]{1,64}; ids: positive integers). */
	const char *params[API_MAX_PARAMS];
	size_t nr_params;
	/* Decoded query arguments (key, value); value may be NULL ("?a"). */
	const char *query[API_MAX_QUERY][2];
	size_t nr_query;
	const char *body;		/* NUL-terminated; "" when there is none */
	size_t body_len;
	const char *token_name;		/* the token that authorised it, or NULL */
};

#define API_REQUEST_INIT { .body = "" }

struct api_header {
	const char *name;		/* a string literal */
	char value[192];
};

#define API_MAX_HEADERS 6

struct api_reply {
	int status;			/* 0 until a handler sets it */
	const char *content_type;	/* a string literal; NULL = JSON */
	struct strbuf body;
	/*
	 * fd >= 0: send [offset, offset + length) of this file instead of
	 * body; the reply owns fd (api_reply_release() closes it unless it
	 * was handed on and set to -1).
	 */
	int fd;
	unsigned long long offset, length;
	struct MHD_Response *response;	/* a ready response (the event stream) */
	struct api_header headers[API_MAX_HEADERS];
	size_t nr_headers;
};

#define API_REPLY_INIT { 0, NULL, STRBUF_INIT, -1, 0, 0, NULL, { { 0 } }, 0 }

void api_reply_release(struct api_reply *r);

/* Add a header to the reply (at most API_MAX_HEADERS; extra ones dropped). */
void api_reply_header(struct api_reply *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set status and a {"error": message} body.  Returns 0 (the reply is made). */
int api_error(struct api_reply *out, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The value of query argument key: NULL if absent, "" if given bare. */
const char *api_query(const struct api_request *req, const char *key);

/*
 * Parse a decimal integer in [min, max] with nothing else around it (no
 * sign, no spaces, no leading zeros except "0").  0 or -1.
 */
int api_parse_int(const char *s, long long min, long long max, long long *out);

/* Plain deferred BEGIN / COMMIT around a read handler. */
int api_read_begin(struct db *db);
void api_read_end(struct db *db);

/*
 * A handler fills *out and returns 0, also for errors the client caused
 * (4xx, set with api_error()); -1 means the server failed (500).
 */
typedef int api_fn(struct api_reply *out, const struct api_request *req);

/* Reads (params: see the route patterns in http.c). */
api_fn api_plans;		/* GET /api/v1/plans */
api_fn api_plan;		/* GET /api/v1/plans/{plan} */
api_fn api_stage;		/* GET /api/v1/plans/{plan}/stages/{stage} */
api_fn api_matrix;		/* GET /api/v1/plans/{plan}/matrix */
api_fn api_history;		/* GET /api/v1/plans/{plan}/history?test= */
api_fn api_acks;		/* GET /api/v1/plans/{plan}/acks */
api_fn api_runs;		/* GET /api/v1/runs?plan=&stage=&state=&limit= */
api_fn api_run;			/* GET /api/v1/runs/{id} */
api_fn api_run_results;		/* GET /api/v1/runs/{id}/results */
api_fn api_run_artifacts;	/* GET /api/v1/runs/{id}/artifacts */
api_fn api_bisections;		/* GET /api/v1/bisections?plan=&stage=&limit= */
api_fn api_bisection;		/* GET /api/v1/bisections/{id} */

/* Writes (token required; not inside a read transaction). */
api_fn api_trigger;		/* POST /api/v1/plans/{plan}/stages/{stage}/trigger */
api_fn api_retry;		/* POST /api/v1/runs/{id}/retry */
api_fn api_cancel;		/* POST /api/v1/runs/{id}/cancel */
api_fn api_bisection_start;	/* POST /api/v1/bisections */
api_fn api_bisection_cancel;	/* POST /api/v1/bisections/{id}/cancel */
api_fn api_ack_add;		/* POST /api/v1/plans/{plan}/acks */
api_fn api_ack_delete;		/* DELETE /api/v1/plans/{plan}/acks/{id} */
api_fn api_refresh;		/* POST /api/v1/refresh */

/* Plain HTML views (no JavaScript): the plans, one stage. */
api_fn api_plain;		/* GET /plain */
api_fn api_plain_stage;		/* GET /plain/plans/{plan}/stages/{stage} */

/*
 * Append the metrics that come from the database to out, in the
 * Prometheus text format (the HTTP counters are http.c's).  0 or -1.
 */
int api_metrics(struct strbuf *out, struct db *db);

/* Append s to out with &, <, >, " and ' escaped for HTML. */
void api_html_escape(struct strbuf *out, const char *s);

#endif
