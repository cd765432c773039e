#ifndef API_H
#define API_H

#include <stdarg.h>
#include <stddef.h>

#include "config.h"
#include "db.h"
#include "strbuf.h"

/*
 * api: what every handler of the HTTP API (daemon/API.md) shares: the
 * request and reply types, JSON replies and errors, query and integer
 * parsing, the read transaction, and the lookups of plans, stages and
 * path ids.  The handlers themselves live in api_read (GET), api_write
 * (POST, DELETE) and plain (HTML views); metrics and json are beside them.
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
 * after a successful write they tell the loop (req->loop, if any).
 */

struct loop;
struct MHD_Response;

#define API_MAX_PARAMS 4
#define API_MAX_QUERY 16
#define API_JSON_BODY_MAX ((size_t)1 << 20)	/* cap of a JSON request body */

struct api_request {
	const struct kstage_config *cfg;	/* may be NULL outside the server */
	struct loop *loop;		/* NULL: nothing to wake */
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

/*
 * Start a JSON reply: empty out->body (keeping its buffer, with room for
 * a typical reply) and return it for the handler to append to (see
 * json.h).  Finish with api_end_json().
 */
struct strbuf *api_begin_json(struct api_reply *out);

/*
 * Finish a JSON reply: add the final newline and set the status.  0, or
 * -1 (logged) when the body reached its cap: it is not valid JSON, and
 * the caller must fail (500) rather than send it.
 */
int api_end_json(struct api_reply *out, int status);

/*
 * Lookups for handlers: 1 found (*id set), 0 not found (the 404 reply is
 * made, naming what was asked for), -1 on a database error.  plan is the
 * plan's name, for the message.
 */
int api_find_plan(struct api_reply *out, struct db *db, const char *name,
		  long long *id);
int api_find_stage(struct api_reply *out, struct db *db, long long plan_id,
		   const char *plan, const char *name, long long *id);
/* Both (as the path's {plan} and {stage} name them): 1, 0 (404), -1. */
int api_find_plan_stage(struct api_reply *out, struct db *db, const char *plan,
			const char *stage, long long *plan_id, long long *stage_id);

/*
 * Path parameter i as an id.  http.c has already checked that an {id}
 * is a positive integer; anything else gives 0, which matches no row.
 */
long long api_param_id(const struct api_request *req, size_t i);

/* 1 if s is one of the strings of the NULL-terminated list, else 0. */
int api_in_list(const char *const *list, const char *s);

/* The URL of a step's log, as a JSON string. */
void api_log_url(struct strbuf *sb, long long run_id, int step);

#endif
