/*
 * events: the events table and the server-sent events that read it
 * (see events.h).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <jansson.h>
#include <microhttpd.h>

#include "events.h"
#include "log.h"
#include "outbox.h"
#include "wrapper.h"
#include "banned.h"

#define EVENTS_BATCH 100
#define STREAM_BLOCK (16 * 1024)

#define PEER_CHECK_MS 1000		/* how often suspended sockets are polled */

/*
 * A stream is "suspended" (its connection too) from the moment its
 * reader found nothing to send until a tick resumes it; the reader sets
 * the flag and the tick clears it, both under the hub's lock, and the
 * tick reads last_id and last_write only while it is set.
 */
struct stream {
	struct events *ev;
	struct db *db;			/* the serving thread's */
	struct MHD_Connection *conn;
	int fd;				/* the client's socket, for the peer check */
	long long last_id;
	struct strbuf pending;		/* formatted, not yet handed to MHD */
	size_t sent;			/* bytes of pending already handed over */
	double last_write;		/* monotonic seconds */
	int suspended;			/* under ev->lock */
	int gone;			/* the client hung up; under ev->lock */
	long long token_id;		/* the token it was opened with, or 0 */
	struct stream *prev, *next;	/* in ev->streams; under ev->lock */
};

struct events {
	pthread_mutex_t lock;
	unsigned max_streams;
	unsigned open;			/* under lock */
	int stopping;			/* under lock */
	struct stream *streams;		/* open streams; under lock */
	double last_peer_check;		/* the ticking thread's own */
	struct pollfd *pfd;		/* the ticking thread's buffer */
	struct stream **pfd_stream;
	size_t pfd_alloc;
};

int events_add(struct db *db, const char *kind, long long plan_id,
	       long long stage_id, long long run_id, long long bisection_id,
	       json_t *data)
{
	char *text = NULL;
	int ret = -1;

	if (data) {
		text = json_dumps(data, JSON_COMPACT);
		if (!text) {
			json_decref(data);
			return error("event %s: cannot encode its data", kind);
		}
	}
	/* The event and its notifications (outbox.h) commit together. */
	if (db_begin(db) < 0) {
		if (db_in_transaction(db))
			db_rollback(db);	/* a doomed outer one: undo our level */
		goto out;
	}
	if (db_exec(db, "INSERT INTO events (at, kind, plan_id, stage_id, run_id,"
		    " bisection_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
		    "lsLLLLs", now_wall_ms(), kind, plan_id, stage_id, run_id,
		    bisection_id, text) < 0 ||
	    outbox_event(db, db_last_id(db), kind, plan_id, stage_id, run_id,
			 bisection_id, data) < 0) {
		db_rollback(db);
		goto out;
	}
	ret = db_commit(db);
out:
	json_decref(data);
	free(text);
	return ret;
}

struct events *events_new(unsigned max_streams)
{
	struct events *ev = xcalloc(1, sizeof(*ev));

	pthread_mutex_init(&ev->lock, NULL);
	ev->max_streams = max_streams ? max_streams : EVENTS_MAX_STREAMS;
	return ev;
}

/* Let a suspended stream's reader run again.  Under ev->lock. */
static void wake(struct stream *s)
{
	s->suspended = 0;
	MHD_resume_connection(s->conn);
}

void events_stop(struct events *ev)
{
	struct stream *s;

	pthread_mutex_lock(&ev->lock);
	ev->stopping = 1;
	for (s = ev->streams; s; s = s->next)
		if (s->suspended)
			wake(s);
	pthread_mutex_unlock(&ev->lock);
}

void events_free(struct events *ev)
{
	if (!ev)
		return;
	if (ev->open)
		warn("%u event streams still open", ev->open);
	pthread_mutex_destroy(&ev->lock);
	free(ev->pfd);
	free(ev->pfd_stream);
	free(ev);
}

unsigned events_open(struct events *ev)
{
	unsigned n;

	pthread_mutex_lock(&ev->lock);
	n = ev->open;
	pthread_mutex_unlock(&ev->lock);
	return n;
}

unsigned events_max(const struct events *ev)
{
	return ev->max_streams;
}

/*
 * Poll the sockets of the suspended streams (without waiting) and wake
 * those whose client hung up: their readers end them.  Under ev->lock;
 * a suspended connection is not touched by libmicrohttpd, so its socket
 * stays open until it is resumed.
 */
static void check_peers(struct events *ev)
{
	struct stream *s;
	size_t n = 0, i;

	for (s = ev->streams; s; s = s->next) {
		if (!s->suspended || s->fd < 0)
			continue;
		if (n == ev->pfd_alloc) {
			ev->pfd_alloc = ev->pfd_alloc ? 2 * ev->pfd_alloc : 64;
			ev->pfd = xrealloc(ev->pfd, ev->pfd_alloc * sizeof(*ev->pfd));
			ev->pfd_stream = xrealloc(ev->pfd_stream,
						  ev->pfd_alloc * sizeof(*ev->pfd_stream));
		}
		ev->pfd[n].fd = s->fd;
		ev->pfd[n].events = POLLRDHUP;
		ev->pfd[n].revents = 0;
		ev->pfd_stream[n++] = s;
	}
	if (!n || poll(ev->pfd, n, 0) <= 0)
		return;
	for (i = 0; i < n; i++)
		if (ev->pfd[i].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) {
			ev->pfd_stream[i]->gone = 1;
			wake(ev->pfd_stream[i]);
		}
}

/*
 * End the streams opened with a token that is no longer valid (revoked,
 * expired, or gone: a revoked name that was used again).  Under ev->lock.
 */
static void check_tokens(struct events *ev, struct db *db)
{
	long long live[256];
	struct stream *s;
	int n = -1, i, any = 0;

	for (s = ev->streams; s && !any; s = s->next)
		any = s->token_id != 0;
	if (!any)
		return;
	n = db_get_ids(db, live, sizeof(live) / sizeof(*live), "SELECT id FROM tokens"
		       " WHERE NOT revoked AND (expires_at IS NULL OR expires_at > ?)"
		       " ORDER BY id", "l", now_wall_ms());
	if (n < 0 || n == (int)(sizeof(live) / sizeof(*live)))
		return;		/* cannot tell (or too many to list): keep them */
	for (s = ev->streams; s; s = s->next) {
		if (!s->token_id || s->gone)
			continue;
		for (i = 0; i < n && live[i] != s->token_id; i++)
			;
		if (i == n) {
			s->gone = 1;
			if (s->suspended)
				wake(s);
		}
	}
}

int events_tick(struct events *ev, struct db *db)
{
	double now = now_monotonic();
	long long newest = 0;
	struct stream *s;
	int rc;

	rc = db_get_int(db, &newest, "SELECT coalesce(max(id), 0) FROM events", NULL);
	pthread_mutex_lock(&ev->lock);
	for (s = ev->streams; s; s = s->next) {
		if (!s->suspended)
			continue;
		if ((rc == 1 && s->last_id < newest) || ev->stopping ||
		    (now - s->last_write) * 1000 >= EVENTS_KEEPALIVE_MS)
			wake(s);
	}
	if ((now - ev->last_peer_check) * 1000 >= PEER_CHECK_MS) {
		ev->last_peer_check = now;
		check_peers(ev);
		check_tokens(ev, db);
	}
	pthread_mutex_unlock(&ev->lock);
	return rc == 1 ? 0 : -1;
}

/* The event's kind, safe for the "event:" line. */
static void add_field(struct strbuf *out, const char *s)
{
	for (; *s; s++)
		strbuf_addch(out, *s == '\n' || *s == '\r' ? '_' : *s);
}

int events_fetch(struct db *db, long long *last_id, int max, struct strbuf *out)
{
	sqlite3_stmt *st;
	int n = 0, rc;

	st = db_stmt(db, "SELECT e.id, e.at, e.kind, p.name, s.name, e.run_id,"
		     " e.bisection_id, e.data FROM events e"
		     " LEFT JOIN plans p ON p.id = e.plan_id"
		     " LEFT JOIN stages s ON s.id = e.stage_id"
		     " WHERE e.id > ? ORDER BY e.id LIMIT ?", "li", *last_id, max);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		long long id = sqlite3_column_int64(st, 0);
		const char *data = (const char *)sqlite3_column_text(st, 7);
		json_t *o, *d = NULL;
		char *text;

		if (data)
			d = json_loads(data, 0, NULL);
		if (data && !d)
			d = json_string(data);	/* not JSON: pass it on as text */
		o = json_pack("{s:I,s:I,s:s,s:s?,s:s?,s:o,s:o,s:o?}",
			      "id", (json_int_t)id,
			      "at", (json_int_t)sqlite3_column_int64(st, 1),
			      "kind", db_col_text(st, 2),
			      "plan", (const char *)sqlite3_column_text(st, 3),
			      "stage", (const char *)sqlite3_column_text(st, 4),
			      "run_id", sqlite3_column_type(st, 5) == SQLITE_NULL ?
			      json_null() : json_integer(sqlite3_column_int64(st, 5)),
			      "bisection_id", sqlite3_column_type(st, 6) == SQLITE_NULL ?
			      json_null() : json_integer(sqlite3_column_int64(st, 6)),
			      "data", d);
		text = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		strbuf_addf(out, "id: %lld\nevent: ", id);
		add_field(out, db_col_text(st, 2));
		/* A row jansson refused (bad UTF-8 in a name) still keeps its id. */
		strbuf_addf(out, "\ndata: %s\n\n", text ? text : "{}");
		free(text);
		*last_id = id;
		n++;
	}
	db_done(st);
	if (rc < 0)
		return -1;
	return n;
}

/*
 * MHD's content reader: what is pending, else the events after last_id,
 * else a keepalive when one is due; with nothing to send, suspend the
 * connection until a tick resumes it (and return 0, which then does not
 * make MHD call again at once: a suspended connection is left alone).
 */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	struct events *ev = s->ev;
	int stopping, gone;

	(void)pos;
	for (;;) {
		if (s->sent < s->pending.len) {
			size_t n = s->pending.len - s->sent;

			if (n > max)
				n = max;
			memcpy(buf, s->pending.buf + s->sent, n);
			s->sent += n;
			if (s->sent == s->pending.len) {
				strbuf_reset(&s->pending);
				s->sent = 0;
			}
			s->last_write = now_monotonic();
			return (ssize_t)n;
		}
		pthread_mutex_lock(&ev->lock);
		stopping = ev->stopping;
		gone = s->gone;
		pthread_mutex_unlock(&ev->lock);
		if (stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (gone)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (events_fetch(s->db, &s->last_id, EVENTS_BATCH, &s->pending) < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (s->pending.len)
			continue;
		if ((now_monotonic() - s->last_write) * 1000 >= EVENTS_KEEPALIVE_MS) {
			strbuf_adds(&s->pending, ": keepalive\n\n");
			continue;
		}
		/*
		 * Nothing to send.  An event written after the fetch is
		 * seen by the next tick, which resumes us: none is lost.
		 */
		pthread_mutex_lock(&ev->lock);
		if (ev->stopping) {
			pthread_mutex_unlock(&ev->lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		s->suspended = 1;
		MHD_suspend_connection(s->conn);
		pthread_mutex_unlock(&ev->lock);
		return 0;
	}
}

static void stream_free(void *cls)
{
	struct stream *s = cls;
	struct events *ev = s->ev;

	pthread_mutex_lock(&ev->lock);
	if (s->prev)
		s->prev->next = s->next;
	else if (ev->streams == s)
		ev->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	ev->open--;
	pthread_mutex_unlock(&ev->lock);
	strbuf_release(&s->pending);
	free(s);
}

struct MHD_Response *events_response(struct events *ev, struct db *db,
				     struct MHD_Connection *conn, long long since,
				     long long token_id, int *full)
{
	const union MHD_ConnectionInfo *ci;
	struct MHD_Response *r;
	struct stream *s;

	*full = 0;
	s = xcalloc(1, sizeof(*s));
	s->ev = ev;
	s->db = db;
	s->conn = conn;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	s->fd = ci ? ci->connect_fd : -1;
	s->last_id = since;
	s->token_id = token_id;
	s->pending.max = (size_t)4 << 20;
	s->last_write = now_monotonic();
	if (since < 0 && db_get_int(db, &s->last_id, "SELECT coalesce(max(id), 0)"
				    " FROM events", NULL) != 1) {
		free(s);
		return NULL;
	}
	/* Tell EventSource how soon to reconnect; also gets the headers out. */
	strbuf_adds(&s->pending, "retry: 3000\n\n");

	pthread_mutex_lock(&ev->lock);
	if (ev->stopping || ev->open >= ev->max_streams) {
		pthread_mutex_unlock(&ev->lock);
		strbuf_release(&s->pending);
		free(s);
		*full = 1;
		return NULL;
	}
	ev->open++;
	s->next = ev->streams;
	if (ev->streams)
		ev->streams->prev = s;
	ev->streams = s;
	pthread_mutex_unlock(&ev->lock);

	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
					      stream_read, s, stream_free);
	if (!r)
		stream_free(s);
	return r;
}
