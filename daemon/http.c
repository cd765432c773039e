/*
 * http: the libmicrohttpd server, its route table, static files, logs and
 * artifacts with ranges, body caps, the token check, the limits that
 * hold under attack and load, and the reply cache (see http.h).
 *
 * Threads: libmicrohttpd's own epoll loop in a small pool of
 * HTTP_THREADS threads (MHD_USE_EPOLL_INTERNAL_THREAD with
 * MHD_OPTION_THREAD_POOL_SIZE); a connection costs a socket and a few
 * kilobytes, not a thread, so the number held is bounded by the open-file
 * limit (the connection limit is that limit less FD_RESERVE), and at most
 * max_conns_per_ip come from one client address.  Each pool thread keeps
 * one SQLite connection (opened on its first request, closed when the
 * thread ends) with its prepared statements.  Handlers of reads run on
 * the pool thread and are short (a read transaction, or a file handed to
 * sendfile); a write may take seconds (a git fetch, a busy database), so
 * its connection is suspended and its handler runs on a thread of its
 * own (offload()), at most MAX_WRITERS at a time.
 *
 * Event streams hold no thread either: events.c suspends a stream with
 * nothing to send and the housekeeping thread resumes it (events_tick(),
 * every EVENTS_TICK_MS).  The same thread enforces the header deadline:
 * a connection has header_timeout seconds from its accept (or from the
 * end of its previous request) to send a request's headers, else its
 * socket is shut down (slowloris); a connection that sends nothing at
 * all for IDLE_TIMEOUT seconds is closed by libmicrohttpd.
 *
 * A request goes through the access handler several times: once with
 * the headers (route, token and Content-Length checked here; a body
 * declared too large is refused before it is read), once per chunk of
 * body (kept in a buffer capped by the config's max_body, and by
 * API_JSON_BODY_MAX on writes; or read and thrown away when the request
 * already failed or a chunked body went past the cap: see take_body()),
 * and once more with no data, when the handler runs and the reply (413
 * for a body over the cap) is queued.  The per-request state lives in
 * *req_cls; it is made by the URI callback (which also gives us the URI
 * exactly as the client sent it: MHD decodes the path before the access
 * handler sees it, and we must tell "%2f" from "/") and freed by the
 * completion callback.
 *
 * Beyond daemon/API.md: "/static/PATH" serves web_root/PATH (and "/"
 * web_root/index.html, or the plain view when there is none); "/plain"
 * and "/plain/plans/P/stages/S" are HTML views without JavaScript; file
 * replies carry "X-Kstage-Size" (the whole file's size, to follow a
 * growing log with ?offset=); the event stream may carry the token as
 * ?access_token= on the event stream only (EventSource cannot send
 * headers); no query is ever logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <microhttpd.h>

#include "api.h"
#include "api_read.h"
#include "api_write.h"
#include "events.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "plain.h"
#include "rcache.h"
#include "token.h"
#include "wrapper.h"
#include "banned.h"

#define HTTP_THREADS 4			/* libmicrohttpd's pool */
#define MAX_WRITERS 16			/* write handlers running at a time */
#define FD_RESERVE 256			/* descriptors not for connections */
#define MIN_CONNECTIONS 64
#define IDLE_TIMEOUT 60			/* seconds a connection may be silent */
#define THREAD_STACK ((size_t)1 << 20)
#define MAX_SEGMENTS 16
#define MAX_PATH_LEN 2048
#define FILE_MAX ((unsigned long long)16 << 20)	/* bytes per file response */
#define MAX_STATUS 600
#define DRAIN_SECONDS 30		/* reading a body that is thrown away */

/* --- the server ------------------------------------------------------------- */

struct http_server {
	const struct kstage_config *cfg;
	struct loop *loop;
	struct MHD_Daemon *d;
	pthread_key_t db_key;
	int have_key;
	struct events *events;
	struct sockaddr_storage addr;
	unsigned port;
	char start_error[256];		/* the last MHD message while starting */
	int starting;
	atomic_ullong codes[MAX_STATUS];
	atomic_uint connections;	/* open now */
	atomic_ullong header_timeouts;	/* connections closed by the deadline */
	struct rcache *cache;
	/*
	 * Connections waiting for a request's headers, oldest first, so
	 * the housekeeper looks at the head only; and the write handlers
	 * running on their own threads.
	 */
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* writers went down; or stopping */
	int have_lock;
	struct conn *waiting_head, *waiting_tail;	/* under lock */
	unsigned writers;		/* under lock */
	int stopping;			/* under lock */
	pthread_t housekeeper;
	int have_housekeeper;
};

/* A connection, from accept to close (MHD_OPTION_NOTIFY_CONNECTION). */
struct conn {
	int fd;
	double since;			/* when it began to wait for headers */
	int waiting;			/* in the waiting list; under lock */
	struct conn *prev, *next;
};

struct request;
typedef int local_fn(struct http_server *s, struct MHD_Connection *conn,
		     struct request *r, const struct api_request *req,
		     struct api_reply *out);

/* Route flags. */
#define F_WRITE 1	/* needs a token, always; may have a JSON body */
#define F_DATA 2	/* needs a token when the config says read_auth */
#define F_TX 4		/* runs inside one read transaction */
#define F_MAIL 8	/* the body is mail (application/mbox), up to max_body */
#define F_PUSH 16	/* a write that a push-scoped token may make (the hooks) */
#define F_ADMIN 32	/* a write that needs an admin-scoped token */
#define F_CACHE 64	/* the reply is kept in s->cache (rcache.h), with an ETag */

struct route {
	const char *method;
	/*
	 * Segments: literals, {plan} {stage} (names), {id} (a positive
	 * integer), {idx} (a non-negative integer) and a final {path*}
	 * (one or more safe file name components).
	 */
	const char *pattern;
	api_fn *api;
	local_fn *local;
	unsigned flags;
};

static local_fn serve_index, serve_static, serve_metrics, serve_events,
	serve_log, serve_artifact;

static const struct route routes[] = {
	{ "GET", "/", NULL, serve_index, 0 },
	{ "GET", "/index.html", NULL, serve_index, 0 },
	{ "GET", "/static/{path*}", NULL, serve_static, 0 },
	{ "GET", "/plain", plain_plans, NULL, F_DATA | F_TX },
	{ "GET", "/plain/plans/{plan}/stages/{stage}", plain_stage, NULL, F_DATA | F_TX },
	{ "GET", "/metrics", NULL, serve_metrics, F_DATA | F_TX },
	{ "GET", "/api/v1/events", NULL, serve_events, F_DATA },
	{ "GET", "/api/v1/plans", api_plans, NULL, F_DATA | F_TX | F_CACHE },
	{ "GET", "/api/v1/plans/{plan}", api_plan, NULL, F_DATA | F_TX | F_CACHE },
	{ "GET", "/api/v1/plans/{plan}/stages/{stage}", api_stage, NULL,
	  F_DATA | F_TX | F_CACHE },
	{ "POST", "/api/v1/plans/{plan}/stages/{stage}/trigger", api_trigger, NULL, F_WRITE },
	{ "GET", "/api/v1/plans/{plan}/stages/{stage}/series", api_series_list, NULL,
	  F_DATA | F_TX },
	{ "POST", "/api/v1/plans/{plan}/stages/{stage}/series", api_series_apply, NULL,
	  F_WRITE | F_MAIL },
	{ "POST", "/api/v1/plans/{plan}/stages/{stage}/series/fetch", api_series_fetch,
	  NULL, F_WRITE },
	{ "GET", "/api/v1/plans/{plan}/matrix", api_matrix, NULL, F_DATA | F_TX },
	{ "GET", "/api/v1/plans/{plan}/history", api_history, NULL, F_DATA | F_TX },
	{ "GET", "/api/v1/plans/{plan}/acks", api_acks, NULL, F_DATA | F_TX },
	{ "POST", "/api/v1/plans/{plan}/acks", api_ack_add, NULL, F_WRITE },
	{ "POST", "/api/v1/plans/{plan}/gate", api_gate_advance, NULL, F_WRITE },
	{ "POST", "/api/v1/plans/{plan}/gate/check", api_gate_check, NULL, F_WRITE | F_PUSH },
	{ "POST", "/api/v1/plans/{plan}/gate/override", api_gate_override, NULL,
	  F_WRITE | F_ADMIN },
	{ "DELETE", "/api/v1/plans/{plan}/acks/{id}", api_ack_delete, NULL, F_WRITE },
	{ "GET", "/api/v1/runs", api_runs, NULL, F_DATA | F_TX },
	{ "GET", "/api/v1/outbox", api_outbox, NULL, F_DATA | F_TX },
	{ "GET", "/api/v1/runs/{id}", api_run, NULL, F_DATA | F_TX },
	{ "GET", "/api/v1/runs/{id}/results", api_run_results, NULL, F_DATA | F_TX },
	{ "GET", "/api/v1/runs/{id}/steps/{idx}/log", NULL, serve_log, F_DATA },
	{ "GET", "/api/v1/runs/{id}/artifacts", api_run_artifacts, NULL, F_DATA | F_TX },
	{ "GET", "/api/v1/runs/{id}/artifacts/{path*}", NULL, serve_artifact, F_DATA },
	{ "POST", "/api/v1/runs/{id}/retry", api_retry, NULL, F_WRITE },
	{ "POST", "/api/v1/runs/{id}/cancel", api_cancel, NULL, F_WRITE },
	{ "GET", "/api/v1/bisections", api_bisections, NULL, F_DATA | F_TX },
	{ "POST", "/api/v1/bisections", api_bisection_start, NULL, F_WRITE },
	{ "GET", "/api/v1/bisections/{id}", api_bisection, NULL, F_DATA | F_TX },
	{ "POST", "/api/v1/bisections/{id}/cancel", api_bisection_cancel, NULL, F_WRITE },
	{ "POST", "/api/v1/refresh", api_refresh, NULL, F_WRITE | F_PUSH },
	{ "GET", "/api/v1/kcidb", api_kcidb, NULL, F_DATA | F_TX },
};

#define NR_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* --- per-request state ---------------------------------------------------------- */

struct request {
	char *uri;			/* raw, as sent (with the query) */
	int started;
	double t0;
	const struct route *route;
	struct api_reply reply;
	/* The decoded path: segments, and which of them had "%2f" or "%00". */
	char *path;
	char *seg[MAX_SEGMENTS];
	unsigned char encoded_sep[MAX_SEGMENTS];
	size_t nr_seg;
	int bad_path;			/* malformed escape, too long, too deep */
	const char *params[API_MAX_PARAMS];
	size_t nr_params;
	const char *rest;		/* {path*}: segments joined with '/' */
	char *rest_buf;
	struct strbuf body;		/* body.max is the request's cap */
	int too_large;			/* the body went past the cap */
	int failed;			/* the reply is an error made early */
	double drain_since;		/* when the body began to be thrown away */
	struct token_info token;
	int authed;
	int offloaded;			/* the handler runs on its own thread */
	atomic_int done;		/* that thread has made the reply */
};

/*
 * The length of the request's path, for logs: its query is never logged
 * (it may hold an access_token), and a long path is cut.
 */
static int uri_path_len(const struct request *r)
{
	size_t n = strcspn(r->uri, "?#");

	return n < 300 ? (int)n : 300;
}

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct request *r = xcalloc(1, sizeof(*r));
	struct api_reply init = API_REPLY_INIT;

	(void)cls;
	(void)conn;
	r->uri = xstrdup(uri ? uri : "/");
	r->reply = init;
	r->t0 = now_monotonic();
	return r;
}

static void request_free(struct request *r)
{
	if (!r)
		return;
	api_reply_release(&r->reply);
	strbuf_release(&r->body);
	free(r->uri);
	free(r->path);
	free(r->rest_buf);
	free(r);
}

/* --- connections and the header deadline ------------------------------------------ */

/* Under s->lock. */
static void waiting_remove(struct http_server *s, struct conn *c)
{
	if (!c->waiting)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->waiting_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->waiting_tail = c->prev;
	c->prev = c->next = NULL;
	c->waiting = 0;
}

/* Start c's deadline for a request's headers now.  Under s->lock. */
static void waiting_add(struct http_server *s, struct conn *c)
{
	waiting_remove(s, c);
	c->since = now_monotonic();
	c->prev = s->waiting_tail;
	if (s->waiting_tail)
		s->waiting_tail->next = c;
	else
		s->waiting_head = c;
	s->waiting_tail = c;
	c->waiting = 1;
}

static struct conn *conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/*
 * Whether the connection waits for headers: set at accept and at the
 * end of a request, cleared when the headers of a request are in.
 */
static void conn_waiting(struct http_server *s, struct MHD_Connection *mc, int on)
{
	struct conn *c = conn_of(mc);

	if (!c)
		return;
	pthread_mutex_lock(&s->lock);
	if (on)
		waiting_add(s, c);
	else
		waiting_remove(s, c);
	pthread_mutex_unlock(&s->lock);
}

/*
 * libmicrohttpd tells us of every connection: started (the socket is
 * accepted) and closed, which it says before it closes the socket, so
 * that the housekeeper, under the same lock, never shuts down a socket
 * that is no longer (or not yet again) this connection's.
 */
static void connection_cb(void *cls, struct MHD_Connection *mc, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *s = cls;
	struct conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);

		atomic_fetch_add(&s->connections, 1);
		c = xcalloc(1, sizeof(*c));
		c->fd = ci ? ci->connect_fd : -1;
		*socket_context = c;
		pthread_mutex_lock(&s->lock);
		waiting_add(s, c);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (!c)
		return;
	atomic_fetch_sub(&s->connections, 1);
	pthread_mutex_lock(&s->lock);
	waiting_remove(s, c);
	pthread_mutex_unlock(&s->lock);
	free(c);
	*socket_context = NULL;
}

/*
 * Shut down the sockets of connections that have waited header_timeout
 * seconds for a request's headers: libmicrohttpd sees the end of the
 * stream and closes them in their own thread.
 */
static void expire_waiting(struct http_server *s)
{
	double limit = now_monotonic() - s->cfg->header_timeout;
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	while (s->waiting_head && s->waiting_head->since <= limit) {
		struct conn *c = s->waiting_head;

		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
		waiting_remove(s, c);
		n++;
	}
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&s->header_timeouts, n);
	if (n)
		debug("closed %u connections that sent no request headers in %u s", n,
		      s->cfg->header_timeout);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *s = cls;

	request_free(*req_cls);
	*req_cls = NULL;
	/* Keep-alive: the next request's headers have their own deadline. */
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		conn_waiting(s, conn, 1);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Split the raw path into percent-decoded segments.  A segment that
 * decoded to a '/' or a NUL is flagged: it can never name a file.
 */
static void split_path(struct request *r)
{
	size_t len = strcspn(r->uri, "?#"), i, o = 0;
	char *p;

	if (len == 0 || r->uri[0] != '/' || len > MAX_PATH_LEN) {
		r->bad_path = 1;
		return;
	}
	r->path = p = xmalloc(len + 1);
	if (len == 1) {		/* "/" */
		p[0] = '\0';
		return;
	}
	r->seg[r->nr_seg++] = p;
	for (i = 1; i < len; i++) {
		int c = (unsigned char)r->uri[i];

		if (c == '/') {
			p[o++] = '\0';
			if (r->nr_seg == MAX_SEGMENTS) {
				r->bad_path = 1;
				return;
			}
			r->seg[r->nr_seg++] = p + o;
			continue;
		}
		if (c == '%') {
			int hi = i + 2 < len ? hexval(r->uri[i + 1]) : -1;
			int lo = i + 2 < len ? hexval(r->uri[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				r->bad_path = 1;
				return;
			}
			c = hi * 16 + lo;
			i += 2;
			if (c == '/' || c == 0) {
				r->encoded_sep[r->nr_seg - 1] = 1;
				c = '_';
			}
		}
		p[o++] = (char)c;
	}
	p[o] = '\0';
}

/* --- routing ------------------------------------------------------------------------ */

/*
 * Does the request path have the shape of pattern (literals equal, the
 * right number of segments)?  Parameters are checked later.
 */
static int path_matches(const struct request *r, const char *pattern)
{
	const char *p = pattern + 1;
	size_t i = 0;

	if (!*p)
		return r->nr_seg == 0;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (!strncmp(p, "{path*}", n) && n == 7)
			return i < r->nr_seg;
		if (i >= r->nr_seg)
			return 0;
		if (p[0] != '{' && (strlen(r->seg[i]) != n || strncmp(p, r->seg[i], n) ||
				    r->encoded_sep[i]))
			return 0;
		i++;
		p += n;
		if (*p == '/')
			p++;
	}
	return i == r->nr_seg;
}

static int method_is(const char *method, const char *want)
{
	return !strcmp(method, want) || (!strcmp(want, "GET") && !strcmp(method, "HEAD"));
}

/*
 * Check and collect the parameters of the matched route.  0, or the
 * reply is an error (400 for a malformed name or id, 404 for a file name
 * that is not a plain relative path).
 */
static int collect_params(struct request *r)
{
	const char *p = r->route->pattern + 1;
	size_t i = 0;

	while (*p) {
		size_t n = strcspn(p, "/");
		const char *seg = i < r->nr_seg ? r->seg[i] : "";

		if (p[0] == '{') {
			long long v;

			if (!strncmp(p, "{path*}", 7)) {
				struct strbuf sb = STRBUF_INIT;
				size_t k;

				for (k = i; k < r->nr_seg; k++) {
					if (r->encoded_sep[k] || !is_safe_component(r->seg[k]) ||
					    r->seg[k][0] == '.') {
						strbuf_release(&sb);
						return api_error(&r->reply, 404, "no such file"), -1;
					}
					strbuf_addf(&sb, "%s%s", k > i ? "/" : "", r->seg[k]);
				}
				r->rest_buf = strbuf_detach(&sb);
				r->rest = r->rest_buf;
				return 0;
			}
			if (r->nr_params == API_MAX_PARAMS) {
				error("route %s: too many parameters", r->route->pattern);
				return api_error(&r->reply, 500, "internal error"), -1;
			}
			if ((!strncmp(p, "{plan}", n) || !strncmp(p, "{stage}", n)) &&
			    (r->encoded_sep[i] || !config_valid_name(seg)))
				return api_error(&r->reply, 400, "invalid %.*s name: expected"
						 " [A-Za-z0-9._-]{1,64}", (int)n - 2, p + 1), -1;
			if (!strncmp(p, "{id}", n) &&
			    api_parse_int(seg, 1, (long long)1 << 53, &v) < 0)
				return api_error(&r->reply, 400, "invalid id \"%.32s\": expected a"
						 " positive integer", seg), -1;
			if (!strncmp(p, "{idx}", n) && api_parse_int(seg, 0, 9999, &v) < 0)
				return api_error(&r->reply, 400, "invalid step index \"%.32s\":"
						 " expected an integer from 0", seg), -1;
			r->params[r->nr_params++] = seg;
		}
		i++;
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

/* Find the route; on failure the reply says 400, 404 or 405. */
static int route_request(struct request *r, const char *method)
{
	char allow[128] = "";
	size_t i, len = 0;

	split_path(r);
	if (r->bad_path)
		return api_error(&r->reply, 400, "malformed request path"), -1;
	for (i = 0; i < NR_ROUTES; i++) {
		if (!path_matches(r, routes[i].pattern))
			continue;
		if (method_is(method, routes[i].method)) {
			r->route = &routes[i];
			return collect_params(r);
		}
		if (!strstr(allow, routes[i].method))
			len += (size_t)snprintf(allow + len, sizeof(allow) - len, "%s%s",
						len ? ", " : "", routes[i].method);
		if (!strcmp(routes[i].method, "GET") && len < sizeof(allow))
			len += (size_t)snprintf(allow + len, sizeof(allow) - len, ", HEAD");
		if (len >= sizeof(allow))
			len = sizeof(allow) - 1;
	}
	if (len) {
		api_error(&r->reply, 405, "%s is not allowed here (allowed: %s)", method,
			  allow);
		api_reply_header(&r->reply, "Allow", "%s", allow);
		return -1;
	}
	return api_error(&r->reply, 404, "no such resource: %.*s",
			 (int)(len = strcspn(r->uri, "?#")) < 200 ? (int)len : 200,
			 r->uri), -1;
}

/* --- per-thread database -------------------------------------------------------------- */

static void db_destructor(void *p)
{
	db_close(p);
}

static struct db *thread_db(struct http_server *s)
{
	struct db *db = pthread_getspecific(s->db_key);

	if (db)
		return db;
	db = db_open(s->cfg->db);
	if (db)
		pthread_setspecific(s->db_key, db);
	return db;
}

/* --- the token ---------------------------------------------------------------------------- */

/*
 * The secret the request presents: NULL none, "" an Authorization header
 * of another kind (Basic, say: a browser's, for a proxy in front).
 */
static const char *bearer(struct MHD_Connection *conn, const struct route *rt)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);

	if (h) {
		if (strncasecmp(h, "Bearer ", 7))
			return "";
		h += 7;
		while (*h == ' ')
			h++;
		return h;
	}
	/* EventSource cannot send headers: the event stream, and only it,
	 * may carry ?access_token= (never logged: the log has no queries). */
	if (rt->local == serve_events)
		return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
						   "access_token");
	return NULL;
}

/* The scope a route needs from a token. */
static enum token_scope route_scope(const struct route *rt)
{
	if (rt->flags & F_ADMIN)
		return TOKEN_SCOPE_ADMIN;
	if (rt->flags & F_PUSH)
		return TOKEN_SCOPE_PUSH;
	if (rt->flags & F_WRITE)
		return TOKEN_SCOPE_WRITE;
	return TOKEN_SCOPE_READ;
}

/* 0 to go on, -1 when the reply is an error. */
static int check_token(struct http_server *s, struct MHD_Connection *conn,
		       struct request *r, const char *method)
{
	int need = (r->route->flags & F_WRITE) ||
		   ((r->route->flags & F_DATA) && s->cfg->read_auth);
	const char *secret = bearer(conn, r->route);
	enum token_scope want = route_scope(r->route);
	struct db *db;
	int rc;

	/* Another kind of Authorization on an open read: not ours to judge. */
	if (secret && !*secret && !need)
		secret = NULL;
	if (!secret) {
		if (!need)
			return 0;
		api_error(&r->reply, 401, "this needs a token: send \"Authorization:"
			  " Bearer <token>\" (make one with: kstage token create NAME)");
		api_reply_header(&r->reply, "WWW-Authenticate", "Bearer realm=\"kstage\"");
		return -1;
	}
	db = thread_db(s);
	if (!db)
		return api_error(&r->reply, 500, "cannot open the database"), -1;
	rc = token_verify(db, secret, &r->token);
	if (rc < 0)
		return api_error(&r->reply, 500, "cannot check the token"), -1;
	if (rc == TOKEN_UNKNOWN) {
		api_error(&r->reply, 401, "unknown token");
		api_reply_header(&r->reply, "WWW-Authenticate",
				 "Bearer realm=\"kstage\", error=\"invalid_token\"");
		return -1;
	}
	if (rc == TOKEN_REVOKED)
		return api_error(&r->reply, 403, "token %s was revoked", r->token.name), -1;
	if (rc == TOKEN_EXPIRED)
		return api_error(&r->reply, 403, "token %s has expired", r->token.name), -1;
	if (r->token.scope < want)
		return api_error(&r->reply, 403, "token %s has scope %s; this needs %s"
				 " (kstage token create NAME --scope %s)", r->token.name,
				 token_scope_name(r->token.scope), token_scope_name(want),
				 token_scope_name(want)), -1;
	r->authed = 1;
	return 0;
}

/* --- replies -------------------------------------------------------------------------------- */

static enum MHD_Result send_reply(struct http_server *s, struct MHD_Connection *conn,
				  struct request *r)
{
	struct api_reply *rep = &r->reply;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t i;

	if (rep->response) {
		resp = rep->response;
		rep->response = NULL;
	} else if (rep->fd >= 0 && rep->length > 0) {
		resp = MHD_create_response_from_fd_at_offset64(rep->length, rep->fd,
							       rep->offset);
		if (resp)
			rep->fd = -1;	/* MHD closes it */
	} else {
		size_t len = rep->body.len;

		resp = MHD_create_response_from_buffer(len, strbuf_detach(&rep->body),
						       MHD_RESPMEM_MUST_FREE);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				rep->content_type ? rep->content_type
						  : "application/json");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	/* A cached reply may be kept by the client, but asked about (ETag). */
	if (r->route && (r->route->flags & F_CACHE) && rep->status < 400)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
					"private, no-cache");
	else if (!r->route || r->route->flags & (F_DATA | F_WRITE))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	for (i = 0; i < rep->nr_headers; i++)
		MHD_add_response_header(resp, rep->headers[i].name, rep->headers[i].value);
	ret = MHD_queue_response(conn, (unsigned)rep->status, resp);
	MHD_destroy_response(resp);
	if (rep->status > 0 && rep->status < MAX_STATUS)
		atomic_fetch_add(&s->codes[rep->status], 1);
	debug("%.*s -> %d (%.1f ms)", uri_path_len(r), r->uri, rep->status,
	      (now_monotonic() - r->t0) * 1000);
	return ret;
}

/* --- files: static, logs, artifacts ---------------------------------------------------------- */

struct ctype {
	const char *ext;
	const char *type;
};

static const struct ctype web_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".json", "application/json" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".woff2", "font/woff2" },
	{ NULL, NULL }
};

/* Artifacts come from builds: never served as HTML or script. */
static const struct ctype artifact_types[] = {
	{ ".log", "text/plain; charset=utf-8" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".html", "text/plain; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".png", "image/png" },
	{ NULL, NULL }
};

static const char *content_type(const struct ctype *t, const char *name)
{
	size_t n = strlen(name);

	for (; t->ext; t++) {
		size_t e = strlen(t->ext);

		if (n > e && !strcasecmp(name + n - e, t->ext))
			return t->type;
	}
	return "application/octet-stream";
}

/*
 * A byte position of a Range header: digits only, at least one.  One
 * too large for 64 bits saturates, with *over set.  0, or -1 malformed.
 */
static int parse_pos(const char *p, unsigned long long *v, int *over)
{
	*v = 0;
	*over = 0;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (*v > (~0ULL - d) / 10)
			*over = 1;
		else
			*v = *v * 10 + d;
	}
	return *p ? -1 : 0;
}

/*
 * Which bytes of a file of "size" to send: ?tail=N, ?offset=A&length=N,
 * or a single "Range: bytes=..." (the query wins).  Sets status 200 or
 * 206; returns -1 with the reply made on a bad request.
 */
static int pick_range(struct MHD_Connection *conn, struct api_reply *out,
		      unsigned long long size)
{
	const char *tail = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "tail");
	const char *off = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "offset");
	const char *len = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "length");
	const char *range = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_RANGE);
	unsigned long long start = 0, end = size;	/* [start, end) */
	long long v;
	int partial = 0;

	if (tail) {
		if (api_parse_int(tail, 0, (long long)1 << 53, &v) < 0)
			return api_error(out, 400, "tail must be a number of bytes"), -1;
		start = (unsigned long long)v < size ? size - (unsigned long long)v : 0;
		partial = start > 0;
	} else if (off || len) {
		if (off && api_parse_int(off, 0, (long long)1 << 53, &v) < 0)
			return api_error(out, 400, "offset must be a byte offset"), -1;
		start = off ? (unsigned long long)v : 0;
		if (len && api_parse_int(len, 0, (long long)1 << 53, &v) < 0)
			return api_error(out, 400, "length must be a number of bytes"), -1;
		if (start > size) {
			api_error(out, 416, "offset %llu is beyond the end (%llu bytes)",
				  start, size);
			api_reply_header(out, "Content-Range", "bytes */%llu", size);
			return -1;
		}
		if (len && start + (unsigned long long)v < size)
			end = start + (unsigned long long)v;
		partial = start > 0 || end < size;
	} else if (range) {
		unsigned long long a = 0, b = 0;
		const char *p = range + 6, *dash;
		int over_a = 0, over_b = 0;

		if (strncasecmp(range, "bytes=", 6) || strchr(p, ',') ||
		    !(dash = strchr(p, '-')))
			goto bad_range;
		if (dash == p) {		/* bytes=-N: the last N */
			if (parse_pos(dash + 1, &b, &over_b) < 0 || b == 0 || size == 0)
				goto bad_range;
			start = !over_b && b < size ? size - b : 0;
		} else {
			/*
			 * bytes=A-B.  A last position at or past the end (also one
			 * too large for 64 bits: the grammar has no bound) means
			 * "to the end" (RFC 9110 14.1.1); a first one past the end
			 * is unsatisfiable.
			 */
			char *a_text = xstrndup(p, (size_t)(dash - p));
			int rc = parse_pos(a_text, &a, &over_a);

			free(a_text);
			if (rc < 0 || over_a || a >= size)
				goto bad_range;
			start = a;
			if (dash[1]) {
				if (parse_pos(dash + 1, &b, &over_b) < 0 ||
				    (!over_b && b < a))
					goto bad_range;
				if (!over_b && b < size - 1)
					end = b + 1;
			}
		}
		partial = 1;
	}
	if (end - start > FILE_MAX) {
		end = start + FILE_MAX;
		partial = 1;
	}
	out->offset = start;
	out->length = end - start;
	out->status = partial ? 206 : 200;
	if (partial && end > start)
		api_reply_header(out, "Content-Range", "bytes %llu-%llu/%llu", start,
				 end - 1, size);
	else if (partial)
		api_reply_header(out, "Content-Range", "bytes */%llu", size);
	return 0;
bad_range:
	api_error(out, 416, "unsatisfiable or unsupported range \"%.64s\" (one range of"
		  " a %llu byte file)", range, size);
	api_reply_header(out, "Content-Range", "bytes */%llu", size);
	return -1;
}

/*
 * Serve root/rel.  The resolved path must stay inside the resolved root
 * (this also catches symlinks that lead out); anything else is 404.
 */
static int serve_file(struct MHD_Connection *conn, struct api_reply *out,
		      const char *root, const char *rel, const char *type)
{
	char *root_real = NULL, *path = NULL, *real = NULL;
	struct stat sb;
	size_t n;
	int fd = -1;

	if (!root || rel[0] == '/' || strstr(rel, "/../") || !strncmp(rel, "../", 3))
		goto not_found;
	root_real = path_real(root);
	path = path_join(root, rel);
	real = path_real(path);
	if (!root_real || !real)
		goto not_found;
	n = strlen(root_real);
	if (strncmp(real, root_real, n) || (real[n] != '/' && strcmp(root_real, "/"))) {
		warn("refused %s: it resolves to %s, outside %s", rel, real, root_real);
		goto not_found;
	}
	fd = xopen(real, O_RDONLY | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		goto not_found;
	free(root_real);
	free(path);
	free(real);
	out->fd = fd;
	out->content_type = type;
	if (pick_range(conn, out, (unsigned long long)sb.st_size) < 0) {
		close(out->fd);
		out->fd = -1;
		return 0;
	}
	api_reply_header(out, "Accept-Ranges", "bytes");
	api_reply_header(out, "X-Kstage-Size", "%lld", (long long)sb.st_size);
	return 0;
not_found:
	if (fd >= 0)
		close(fd);
	free(root_real);
	free(path);
	free(real);
	return api_error(out, 404, "no such file: %.200s", rel);
}

static int serve_static(struct http_server *s, struct MHD_Connection *conn,
			struct request *r, const struct api_request *req,
			struct api_reply *out)
{
	(void)req;
	return serve_file(conn, out, s->cfg->web_root, r->rest,
			  content_type(web_types, r->rest));
}

static int serve_index(struct http_server *s, struct MHD_Connection *conn,
		       struct request *r, const struct api_request *req,
		       struct api_reply *out)
{
	char *index = path_join(s->cfg->web_root, "index.html");
	struct api_request plain = *req;
	int have = access(index, R_OK) == 0, rc;

	free(index);
	if (have)
		return serve_file(conn, out, s->cfg->web_root, "index.html",
				  "text/html; charset=utf-8");
	/* No dashboard installed: the plain view, which needs no JavaScript. */
	if (s->cfg->read_auth && !r->authed)
		return api_error(out, 401, "this needs a token"), 0;
	plain.db = thread_db(s);
	if (!plain.db)
		return -1;
	if (api_read_begin(plain.db) < 0)
		return -1;
	rc = plain_plans(out, &plain);
	api_read_end(plain.db);
	return rc;
}

static int serve_log(struct http_server *s, struct MHD_Connection *conn,
		     struct request *r, const struct api_request *req,
		     struct api_reply *out)
{
	long long run = 0, idx = 0, one;
	char *rel = NULL;
	int rc;

	(void)r;
	api_parse_int(req->params[0], 1, (long long)1 << 53, &run);
	api_parse_int(req->params[1], 0, 9999, &idx);
	rc = db_get_text(req->db, &rel, "SELECT coalesce(log, '') FROM steps"
			 " WHERE run_id = ? AND idx = ?", "li", run, (int)idx);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		rc = db_get_int(req->db, &one, "SELECT 1 FROM runs WHERE id = ?", "l", run);
		if (rc < 0)
			return -1;
		return rc ? api_error(out, 404, "run %lld has no step %lld", run, idx)
			  : api_error(out, 404, "no such run: %lld", run);
	}
	if (!*rel) {
		free(rel);
		return api_error(out, 404, "step %lld of run %lld has no log (yet)", idx, run);
	}
	rc = serve_file(conn, out, s->cfg->artifacts, rel, "text/plain; charset=utf-8");
	free(rel);
	return rc;
}

static int serve_artifact(struct http_server *s, struct MHD_Connection *conn,
			  struct request *r, const struct api_request *req,
			  struct api_reply *out)
{
	struct strbuf rel = STRBUF_INIT;
	long long run = 0, one;
	int rc;

	api_parse_int(req->params[0], 1, (long long)1 << 53, &run);
	rc = db_get_int(req->db, &one, "SELECT 1 FROM runs WHERE id = ?", "l", run);
	if (rc <= 0)
		return rc < 0 ? -1 : api_error(out, 404, "no such run: %lld", run);
	strbuf_addf(&rel, "runs/%lld/%s", run, r->rest);
	rc = serve_file(conn, out, s->cfg->artifacts, strbuf_str(&rel),
			content_type(artifact_types, r->rest));
	strbuf_release(&rel);
	return rc;
}

/* --- metrics and events ---------------------------------------------------------------------- */

static int serve_metrics(struct http_server *s, struct MHD_Connection *conn,
			 struct request *r, const struct api_request *req,
			 struct api_reply *out)
{
	size_t i;

	(void)conn;
	(void)r;
	strbuf_reset(&out->body);
	if (metrics_append(&out->body, req->db) < 0)
		return -1;
	strbuf_adds(&out->body, "# HELP kstage_http_requests_total HTTP responses by"
		    " status code.\n# TYPE kstage_http_requests_total counter\n");
	for (i = 100; i < MAX_STATUS; i++) {
		unsigned long long n = atomic_load(&s->codes[i]);

		if (n || i == 200)
			strbuf_addf(&out->body, "kstage_http_requests_total{code=\"%zu\"}"
				    " %llu\n", i, n);
	}
	strbuf_addf(&out->body, "# HELP kstage_event_streams Open event streams.\n"
		    "# TYPE kstage_event_streams gauge\nkstage_event_streams %u\n",
		    events_open(s->events));
	strbuf_addf(&out->body, "# HELP kstage_http_connections Open HTTP connections.\n"
		    "# TYPE kstage_http_connections gauge\nkstage_http_connections %u\n"
		    "# HELP kstage_http_header_timeouts_total Connections closed for"
		    " not sending request headers within header_timeout.\n"
		    "# TYPE kstage_http_header_timeouts_total counter\n"
		    "kstage_http_header_timeouts_total %llu\n",
		    atomic_load(&s->connections), atomic_load(&s->header_timeouts));
	out->content_type = "text/plain; version=0.0.4; charset=utf-8";
	out->status = 200;
	return 0;
}

static int serve_events(struct http_server *s, struct MHD_Connection *conn,
			struct request *r, const struct api_request *req,
			struct api_reply *out)
{
	const char *since = api_query(req, "since");
	const char *last = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       "Last-Event-ID");
	long long from = -1;
	int full = 0;

	(void)r;
	/*
	 * A reconnecting EventSource repeats the URL (with its ?since=) and
	 * sends the last id it saw: that one wins, so nothing is replayed.
	 */
	if (last && *last) {
		if (api_parse_int(last, 0, (long long)1 << 53, &from) < 0)
			return api_error(out, 400, "Last-Event-ID must be an event id");
	} else if (since && api_parse_int(since, 0, (long long)1 << 53, &from) < 0) {
		return api_error(out, 400, "since must be an event id (0 or more)");
	}
	out->response = events_response(s->events, req->db, conn, from,
					r->authed ? r->token.id : 0, &full);
	if (!out->response) {
		if (full) {
			api_reply_header(out, "Retry-After", "10");
			return api_error(out, 503, "too many event streams (at most %u:"
					 " max_streams)", events_max(s->events));
		}
		return -1;
	}
	out->status = 200;
	out->content_type = "text/event-stream";
	api_reply_header(out, "X-Accel-Buffering", "no");
	return 0;
}

/* --- the access handler ------------------------------------------------------------------------ */

static enum MHD_Result query_cb(void *cls, enum MHD_ValueKind kind,
				const char *key, const char *value)
{
	struct api_request *req = cls;

	(void)kind;
	if (req->nr_query < API_MAX_QUERY) {
		req->query[req->nr_query][0] = key;
		req->query[req->nr_query][1] = value;
		req->nr_query++;
	}
	return MHD_YES;
}

static int is_type(const char *ct, const char *type)
{
	size_t n = strlen(type);

	return ct && !strncasecmp(ct, type, n) &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Is the Content-Type one the route takes? */
static int body_type_ok(const struct route *rt, const char *ct)
{
	if (rt->flags & F_MAIL)
		return is_type(ct, "application/mbox") || is_type(ct, "message/rfc822") ||
		       is_type(ct, "text/plain");
	return is_type(ct, "application/json");
}

/*
 * A route whose reply is cached (F_CACHE): the reply made at the state
 * version read now, from the cache or made and kept; 304 Not Modified
 * when the client has it (If-None-Match).  Inside the read transaction.
 */
static int run_cached(struct http_server *s, struct MHD_Connection *conn,
		      struct request *r, const struct api_request *req)
{
	const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_IF_NONE_MATCH);
	struct api_reply *out = &r->reply;
	struct rcache_version v;
	char etag[RCACHE_ETAG_MAX], *key;
	int rc = 0, have;

	if (rcache_version(req->db, &v) < 0)
		return r->route->api(out, req);
	key = xstrndup(r->uri, strcspn(r->uri, "?#"));
	have = inm && rcache_get(s->cache, key, &v, etag, NULL);
	if (have && rcache_etag_matches(inm, etag)) {
		out->status = 200;	/* made 304 below, with no body */
	} else {
		strbuf_reset(&out->body);
		have = rcache_get(s->cache, key, &v, etag, &out->body);
		if (have) {
			out->status = 200;
		} else {
			rc = r->route->api(out, req);
			if (rc == 0 && out->status == 200)
				rcache_put(s->cache, key, &v, out->body.buf, out->body.len,
					   etag);
		}
	}
	free(key);
	if (rc < 0 || out->status != 200)
		return rc;
	if (inm && rcache_etag_matches(inm, etag)) {
		strbuf_reset(&out->body);
		out->status = 304;
	}
	api_reply_header(out, "ETag", "%s", etag);
	return 0;
}

/* Run the route's handler; the reply is made (an error if it failed). */
static void dispatch(struct http_server *s, struct MHD_Connection *conn,
		     struct request *r)
{
	struct api_request req = API_REQUEST_INIT;
	const struct route *rt = r->route;
	int rc;

	req.cfg = s->cfg;
	req.loop = s->loop;
	req.db = thread_db(s);
	if (!req.db) {
		api_error(&r->reply, 500, "cannot open the database");
		return;
	}
	memcpy(req.params, r->params, sizeof(req.params));
	req.nr_params = r->nr_params;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_cb, &req);
	req.body = strbuf_str(&r->body);
	req.body_len = r->body.len;
	req.token_name = r->authed ? r->token.name : NULL;
	if ((rt->flags & F_TX) && api_read_begin(req.db) < 0) {
		api_error(&r->reply, 500, "cannot read the database");
		return;
	}
	if (rt->flags & F_CACHE)
		rc = run_cached(s, conn, r, &req);
	else
		rc = rt->api ? rt->api(&r->reply, &req)
			     : rt->local(s, conn, r, &req, &r->reply);
	if (rt->flags & F_TX)
		api_read_end(req.db);
	if (rc < 0 || !r->reply.status) {
		error("%s %.*s: the handler failed", rt->method, uri_path_len(r), r->uri);
		if (r->reply.fd >= 0)
			close(r->reply.fd);
		r->reply.fd = -1;
		r->reply.nr_headers = 0;
		api_error(&r->reply, 500, "internal error (the daemon's log says more)");
	}
}

/*
 * The cap of a request's body: max_body from the config, and at most
 * API_JSON_BODY_MAX for the routes that take a JSON body (the writes),
 * which jansson parses in memory.
 */
static size_t body_cap(const struct http_server *s, const struct route *rt)
{
	size_t cap = s->cfg->max_body;

	if ((rt->flags & F_WRITE) && !(rt->flags & F_MAIL) && cap > API_JSON_BODY_MAX)
		cap = API_JSON_BODY_MAX;
	return cap;
}

/*
 * 413, naming the cap and where it comes from.  declared: the
 * Content-Length, or -1 for a body that went past the cap as it came.
 */
static void reply_too_large(const struct http_server *s, struct request *r,
			    long long declared)
{
	char size[64];

	if (declared >= 0)
		snprintf(size, sizeof(size), "%lld bytes", declared);
	else
		snprintf(size, sizeof(size), "over %zu bytes", r->body.max);
	if (r->body.max < s->cfg->max_body)
		api_error(&r->reply, 413, "the body is %s; at most %zu bytes are accepted"
			  " (the cap of a JSON body; max_body is %zu MiB)", size,
			  r->body.max, s->cfg->max_body >> 20);
	else
		api_error(&r->reply, 413, "the body is %s; at most %zu bytes are accepted"
			  " (max_body: %zu MiB)", size, r->body.max,
			  s->cfg->max_body >> 20);
}

/* First call: route, token, declared body size. 0 to go on, -1 replied. */
static int start_request(struct http_server *s, struct MHD_Connection *conn,
			 struct request *r, const char *method)
{
	const char *cl;
	long long n;

	if (route_request(r, method) < 0)
		return -1;
	if (check_token(s, conn, r, method) < 0)
		return -1;
	r->body.max = body_cap(s, r->route);
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && api_parse_int(cl, 0, (long long)1 << 53, &n) == 0 &&
	    (size_t)n > r->body.max)
		return reply_too_large(s, r, n), -1;
	return 0;
}

/*
 * A piece of the body: kept, or thrown away when the request already
 * failed or the body went past its cap (a chunked body, whose size was
 * not declared).  A body that is thrown away is still read to its end,
 * so that the reply can follow it: libmicrohttpd 0.9.75 cannot queue a
 * reply while a body is arriving, and closing on a client that is still
 * sending resets the connection, which loses the reply.  Past
 * DRAIN_SECONDS of that, the connection is closed: MHD_NO.
 */
static enum MHD_Result take_body(struct request *r, const char *data, size_t n)
{
	if (!r->failed && !r->too_large && strbuf_add(&r->body, data, n) < 0) {
		r->too_large = 1;
		strbuf_release(&r->body);	/* keeps body.max, for the reply */
	}
	if (!r->failed && !r->too_large)
		return MHD_YES;
	if (!r->drain_since)
		r->drain_since = now_monotonic();
	return now_monotonic() - r->drain_since < DRAIN_SECONDS ? MHD_YES : MHD_NO;
}

/* --- writes on their own threads ------------------------------------------------------ */

struct writer {
	struct http_server *s;
	struct MHD_Connection *conn;
	struct request *r;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct http_server *s = w->s;
	struct db *db;

	dispatch(s, w->conn, w->r);
	db = pthread_getspecific(s->db_key);
	if (db) {
		pthread_setspecific(s->db_key, NULL);
		db_close(db);
	}
	atomic_store(&w->r->done, 1);
	pthread_mutex_lock(&s->lock);
	MHD_resume_connection(w->conn);
	s->writers--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	free(w);
	return NULL;
}

/*
 * Run a write's handler on a thread of its own, with the connection
 * suspended meanwhile, so that a slow write (a git fetch, a busy
 * database) stalls no other connection of the pool thread.  0 when it
 * went (the access handler is called again once the reply is made), -1
 * to run it here: MAX_WRITERS are running, or the server is stopping.
 */
static int offload(struct http_server *s, struct MHD_Connection *conn,
		   struct request *r)
{
	struct writer *w;
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	pthread_mutex_lock(&s->lock);
	if (s->stopping || s->writers >= MAX_WRITERS) {
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	s->writers++;
	pthread_mutex_unlock(&s->lock);
	w = xcalloc(1, sizeof(*w));
	w->s = s;
	w->conn = conn;
	w->r = r;
	r->offloaded = 1;
	/* Before the thread exists: it may resume at once. */
	MHD_suspend_connection(conn);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	rc = pthread_create(&t, &attr, writer_main, w);
	pthread_attr_destroy(&attr);
	if (rc) {
		error("%s %.*s: cannot start a thread: %s", r->route->method,
		      uri_path_len(r), r->uri, strerror(rc));
		free(w);
		api_error(&r->reply, 503, "the server is out of threads; try again");
		api_reply_header(&r->reply, "Retry-After", "1");
		atomic_store(&r->done, 1);
		pthread_mutex_lock(&s->lock);
		MHD_resume_connection(conn);
		s->writers--;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	return 0;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *upload_data,
				 size_t *upload_data_size, void **req_cls)
{
	struct http_server *s = cls;
	struct request *r = *req_cls;

	(void)version;
	if (!r)
		*req_cls = r = uri_cb(NULL, url, conn);
	/*
	 * libmicrohttpd 0.9.75 closes the connection after a response
	 * queued on the first call (it will not read what follows), so
	 * replies wait for the last call, to keep connections alive; only
	 * a body known to be too large is refused at once.
	 */
	if (!r->started) {
		r->started = 1;
		conn_waiting(s, conn, 0);	/* the headers are in */
		if (start_request(s, conn, r, method) < 0) {
			r->failed = 1;
			if (r->reply.status == 413)
				return send_reply(s, conn, r);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		return take_body(r, upload_data, n);
	}
	if (r->offloaded) {
		/*
		 * Resumed by the write's thread, which made the reply.  Only
		 * it resumes the connection: http_stop() waits for the
		 * writers before libmicrohttpd stops (and resumes the rest).
		 */
		if (!atomic_load(&r->done))
			return MHD_YES;
		return send_reply(s, conn, r);
	}
	if (r->failed)
		;	/* the reply is the error */
	else if (r->too_large)
		reply_too_large(s, r, -1);
	else if (r->body.len && !body_type_ok(r->route, MHD_lookup_connection_value(conn,
			MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
		api_error(&r->reply, 415, (r->route->flags & F_MAIL)
			  ? "the body must be mail (Content-Type: application/mbox)"
			  : "the body must be JSON (Content-Type: application/json)");
	else if (r->body.len && !(r->route->flags & F_MAIL) &&
		 memchr(r->body.buf, '\0', r->body.len))
		api_error(&r->reply, 400, "invalid JSON: the body contains a NUL byte");
	else if ((r->route->flags & F_WRITE) && offload(s, conn, r) == 0)
		return MHD_YES;		/* called again when the write is done */
	else
		dispatch(s, conn, r);
	return send_reply(s, conn, r);
}

/* --- start and stop ---------------------------------------------------------------------------- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (s->starting)
		snprintf(s->start_error, sizeof(s->start_error), "%s", msg);
	debug("libmicrohttpd: %s", msg);
}

static char *fmt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_err(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	return strbuf_detach(&sb);
}

/* "ADDRESS:PORT" ("[v6]:PORT" too) into s->addr. */
static int resolve_listen(struct http_server *s, const char *listen, char **err)
{
	const char *colon = strrchr(listen, ':');
	struct addrinfo hints = { 0 }, *ai = NULL;
	char host[256], port[16];
	size_t hlen;
	long long p;
	int rc;

	if (!colon || colon == listen ||
	    api_parse_int(colon + 1, 0, 65535, &p) < 0) {
		*err = fmt_err("listen: expected ADDRESS:PORT, got \"%s\"", listen);
		return -1;
	}
	hlen = (size_t)(colon - listen);
	if (listen[0] == '[' && hlen > 2 && listen[hlen - 1] == ']') {
		listen++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		*err = fmt_err("listen: address too long");
		return -1;
	}
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	snprintf(port, sizeof(port), "%lld", p);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc || !ai) {
		*err = fmt_err("listen: cannot resolve \"%s\": %s", host, gai_strerror(rc));
		return -1;
	}
	memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

/*
 * The housekeeping thread: every EVENTS_TICK_MS, the event streams'
 * tick (with its own SQLite connection) and the header deadline.
 */
static void *housekeeper_main(void *arg)
{
	struct http_server *s = arg;
	struct db *db = NULL;
	double next_open = 0;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		struct timespec ts;

		pthread_mutex_unlock(&s->lock);
		if (!db && now_monotonic() >= next_open) {
			db = db_open(s->cfg->db);
			if (!db) {
				error("cannot open %s: event streams wait", s->cfg->db);
				next_open = now_monotonic() + 5;
			}
		}
		if (db)
			events_tick(s->events, db);
		expire_waiting(s);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)EVENTS_TICK_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&s->lock);
		if (!s->stopping)
			pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	db_close(db);
	return NULL;
}

/* Connections the open-file limit leaves room for. */
static unsigned connection_limit(void)
{
	struct rlimit rl;
	rlim_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 65536;
	n = rl.rlim_cur > FD_RESERVE + MIN_CONNECTIONS ? rl.rlim_cur - FD_RESERVE
						       : MIN_CONNECTIONS;
	return n > 1000000 ? 1000000 : (unsigned)n;
}

struct http_server *http_start(const struct kstage_config *cfg,
			       struct loop *loop, char **err)
{
	struct http_server *s = xcalloc(1, sizeof(*s));
	const union MHD_DaemonInfo *di;
	pthread_condattr_t ca;
	pthread_attr_t attr;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	unsigned limit = connection_limit();
	int rc;

	*err = NULL;
	s->cfg = cfg;
	s->loop = loop;
	if (resolve_listen(s, cfg->listen, err) < 0)
		goto fail;
	if (s->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (pthread_key_create(&s->db_key, db_destructor)) {
		*err = fmt_err("pthread_key_create failed");
		goto fail;
	}
	s->have_key = 1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	s->have_lock = 1;
	s->cache = rcache_new();
	s->events = events_new(cfg->max_streams);
	s->starting = 1;
	errno = 0;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, s,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&s->addr,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTP_THREADS,
				MHD_OPTION_CONNECTION_LIMIT, limit,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_conns_per_ip,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT,
				MHD_OPTION_THREAD_STACK_SIZE, THREAD_STACK,
				MHD_OPTION_URI_LOG_CALLBACK, uri_cb, s,
				MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s,
				MHD_OPTION_NOTIFY_CONNECTION, connection_cb, s,
				MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U,
				MHD_OPTION_END);
	s->starting = 0;
	if (!s->d) {
		*err = fmt_err("cannot listen on %s: %s", cfg->listen,
			       s->start_error[0] ? s->start_error :
			       errno ? strerror(errno) : "libmicrohttpd failed to start");
		goto fail;
	}
	di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : 0;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	rc = pthread_create(&s->housekeeper, &attr, housekeeper_main, s);
	pthread_attr_destroy(&attr);
	if (rc) {
		*err = fmt_err("cannot start the HTTP housekeeping thread: %s",
			       strerror(rc));
		goto fail;
	}
	s->have_housekeeper = 1;
	debug("HTTP: %u threads, at most %u connections, %u per address, %u event"
	      " streams, %u s for headers", HTTP_THREADS, limit, cfg->max_conns_per_ip,
	      cfg->max_streams, cfg->header_timeout);
	return s;
fail:
	http_stop(s);
	return NULL;
}

unsigned http_port(const struct http_server *s)
{
	return s->port;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	if (s->have_lock) {
		/* No new writer threads; wait for those running to resume. */
		pthread_mutex_lock(&s->lock);
		s->stopping = 1;
		pthread_cond_broadcast(&s->cond);
		while (s->writers)
			pthread_cond_wait(&s->cond, &s->lock);
		pthread_mutex_unlock(&s->lock);
	}
	if (s->have_housekeeper)
		pthread_join(s->housekeeper, NULL);
	/* Streams: resumed to end, as MHD_stop_daemon() wants none suspended. */
	if (s->events)
		events_stop(s->events);
	if (s->d)
		MHD_stop_daemon(s->d);
	events_free(s->events);
	rcache_free(s->cache);
	if (s->have_key)
		pthread_key_delete(s->db_key);
	if (s->have_lock) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
	}
	free(s);
}
