#ifndef HTTP_H
#define HTTP_H

#include "config.h"

/*
 * http: the HTTP server (libmicrohttpd): the JSON API (daemon/API.md), the
 * event stream, /metrics, logs and artifacts from the artifact root, and
 * the dashboard's static files from web_root.
 *
 * The server runs libmicrohttpd's epoll loop on a small pool of threads
 * of its own; a connection holds a socket, not a thread.  Each thread
 * that touches SQLite has its own connection.  Requests never run jobs:
 * a change is written to the database and the loop is told what changed
 * (loop_notify()).
 *
 * Limits that hold under attack and load (the config's, see config.h):
 * connections in all up to the open-file limit less 256 (main raises the
 * soft limit to the hard one first), max_conns_per_ip from one client
 * address, header_timeout seconds to send a request's headers (from
 * accept, or from the end of the previous request on a kept-alive
 * connection), 60 s of silence at most, and max_streams event streams.
 *
 * A request body is capped at cfg->max_body, and the JSON body of a
 * write also at API_JSON_BODY_MAX; a body over its cap, declared or
 * chunked, is answered 413 and never handed to a handler.
 *
 * The JSON of plans and stages is made once per change of the state and
 * served from memory with an ETag (rcache.h); If-None-Match gets 304.
 */

struct loop;
struct http_server;

/*
 * Start listening on cfg->listen.  loop may be NULL (a read-only server,
 * e.g. in tests).  NULL on failure, with *err set (caller frees).
 */
struct http_server *http_start(const struct kstage_config *cfg,
			       struct loop *loop, char **err);

/* The port actually bound (useful with port 0). */
unsigned http_port(const struct http_server *s);

/* Stop: no new requests, wait for running ones, free everything. */
void http_stop(struct http_server *s);

#endif
