#ifndef CLIENT_H
#define CLIENT_H

#include <stdio.h>
#include <jansson.h>

#include "api.h"
#include "db.h"
#include "strbuf.h"

/*
 * client: the HTTP API as the command line uses it.  Requests go to a
 * running server over HTTP (libcurl; main() has called
 * curl_global_init()), or, for reads, to the API's own functions on a
 * database opened here ("kstage status --db", "kstage run --once"): the
 * same JSON either way, so that one printer serves both.
 *
 * What goes wrong is printed on stderr where it happens, with the API's
 * message when there is one ("kstage: no such run: 7 (HTTP 404)"); the
 * functions then return -1.  Every answer is capped at CLIENT_RESPONSE_MAX
 * bytes.
 *
 *   struct client cl = CLIENT_INIT;
 *   client_init_url(&cl, "http://127.0.0.1:8080", token);   or
 *   client_open_db(&cl, "var/kstage.db");
 *   ... client_get(&cl, "/api/v1/plans", api_plans, NULL, NULL, &plans);
 *   client_release(&cl);
 */

#define CLIENT_RESPONSE_MAX ((size_t)32 << 20)

struct client {
	char *base;		/* "http://host:port", no trailing '/'; NULL with db */
	const char *token;	/* sent as "Authorization: Bearer"; may be NULL */
	int json;		/* client_call() echoes a 2xx answer to stdout */
	struct db *db;		/* reads go to this database (owned) instead */
	int quiet;		/* say nothing when no server answers */
};

#define CLIENT_INIT { NULL, NULL, 0, NULL, 0 }

/* Talk to the server at url (trailing '/'s are dropped); token may be NULL. */
void client_init_url(struct client *cl, const char *url, const char *token);

/*
 * Talk to the server that listens on "ADDRESS:PORT" (a configuration's
 * "listen"): a wildcard address is reached through loopback.
 */
void client_init_listen(struct client *cl, const char *listen, const char *token);

/*
 * Read the database at path instead of asking a server; it must exist
 * (a read must not create one).  0, or -1 (printed).
 */
int client_open_db(struct client *cl, const char *path);

void client_release(struct client *cl);

/*
 * HTTP: method on path (with its query), with an optional JSON body.
 * Returns the HTTP status with the answer appended to *out (or, for a
 * 2xx answer, written to stream when that is not NULL), or -1 when there
 * was no answer (printed).  A status >= 300 is for the caller to report
 * (client_failed()).
 */
long client_request(struct client *cl, const char *method, const char *path,
		    const char *body, struct strbuf *out, FILE *stream);

/*
 * HTTP: client_request() and the JSON answer parsed into *out (the
 * caller's reference).  0, or -1 after printing the API's error, or why
 * there is no answer, or that it is not JSON.
 */
int client_call(struct client *cl, const char *method, const char *path,
		const char *body, json_t **out);

/*
 * A read: GET path from the server, or, with a database, fn with the path
 * parameters p0 and p1 (either may be NULL) in one read transaction.
 * *out is the caller's reference.  0, or -1 (printed).
 */
int client_get(struct client *cl, const char *path, api_fn *fn,
	       const char *p0, const char *p1, json_t **out);

/* Print the error of an answer with HTTP status code (its "error" member). */
void client_failed(long code, const struct strbuf *body);

/* Append s to sb, percent-encoded for a URL path segment or query value. */
void client_url_escape(struct strbuf *sb, const char *s);

/* Members of an answer: a string (def if absent or not one), an integer (0). */
const char *client_str(json_t *o, const char *key, const char *def);
long long client_int(json_t *o, const char *key);

#endif
