/*
 * events: the events table and the server-sent events that read it
 * (see events.h).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <jansson.h>
#include <microhttpd.h>

#include "events.h"
#include "log.h"
#include "wrapper.h"
#include "banned.h"

#define EVENTS_BATCH 100
#define STREAM_BLOCK (16 * 1024)

struct events {
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* signalled by events_stop() */
	unsigned max_streams;
	unsigned open;		/* under lock */
	int stopping;		/* under lock */
};

struct stream {
	struct events *ev;
	struct db *db;
	int fd;
	long long last_id;
	struct strbuf pending;	/* formatted, not yet handed to MHD */
	size_t sent;		/* bytes of pending already handed over */
	double last_write;	/* monotonic seconds */
};

int events_add(struct db *db, const char *kind, long long plan_id,
	       long long stage_id, long long run_id, long long bisection_id,
	       json_t *data)
{
	char *text = NULL;
	int ret;

	if (data) {
		text = json_dumps(data, JSON_COMPACT);
		json_decref(data);
		if (!text)
			return error("event %s: cannot encode its data", kind);
	}
	ret = db_exec(db, "INSERT INTO events (at, kind, plan_id, stage_id, run_id,"
		      " bisection_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
		      "lsLLLLs", now_wall_ms(), kind, plan_id, stage_id, run_id,
		      bisection_id, text);
	free(text);
	return ret;
}

struct events *events_new(unsigned max_streams)
{
	struct events *ev = xcalloc(1, sizeof(*ev));
	pthread_condattr_t ca;

	pthread_mutex_init(&ev->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ev->cond, &ca);
	pthread_condattr_destroy(&ca);
	ev->max_streams = max_streams ? max_streams : EVENTS_MAX_STREAMS;
	return ev;
}

void events_stop(struct events *ev)
{
	pthread_mutex_lock(&ev->lock);
	ev->stopping = 1;
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
}

void events_free(struct events *ev)
{
	if (!ev)
		return;
	if (ev->open)
		warn("%u event streams still open", ev->open);
	pthread_cond_destroy(&ev->cond);
	pthread_mutex_destroy(&ev->lock);
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

/* Has the client closed its end? */
static int peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

	if (fd < 0)
		return 0;
	if (poll(&p, 1, 0) <= 0)
		return 0;
	return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

/* Sleep up to ms, or until the hub stops.  Returns the stopping flag. */
static int wait_ms(struct events *ev, int ms)
{
	struct timespec ts;
	int stopping;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&ev->lock);
	while (!ev->stopping) {
		int rc = pthread_cond_timedwait(&ev->cond, &ev->lock, &ts);

		if (rc == ETIMEDOUT)
			break;
	}
	stopping = ev->stopping;
	pthread_mutex_unlock(&ev->lock);
	return stopping;
}

static int stopping(struct events *ev)
{
	int s;

	pthread_mutex_lock(&ev->lock);
	s = ev->stopping;
	pthread_mutex_unlock(&ev->lock);
	return s;
}

/*
 * MHD's content reader: block (in this connection's own thread) until
 * there is something to send.  Returning 0 would make MHD call again at
 * once, a busy loop, so this never does.
 */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;

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
		if (stopping(s->ev))
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (events_fetch(s->db, &s->last_id, EVENTS_BATCH, &s->pending) < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (s->pending.len)
			continue;
		if ((now_monotonic() - s->last_write) * 1000 >= EVENTS_KEEPALIVE_MS) {
			strbuf_adds(&s->pending, ": keepalive\n\n");
			continue;
		}
		if (peer_gone(s->fd))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (wait_ms(s->ev, EVENTS_POLL_MS))
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
}

static void stream_free(void *cls)
{
	struct stream *s = cls;

	pthread_mutex_lock(&s->ev->lock);
	s->ev->open--;
	pthread_mutex_unlock(&s->ev->lock);
	strbuf_release(&s->pending);
	free(s);
}

struct MHD_Response *events_response(struct events *ev, struct db *db, int fd,
				     long long since, int *full)
{
	struct MHD_Response *r;
	struct stream *s;

	*full = 0;
	pthread_mutex_lock(&ev->lock);
	if (ev->stopping || ev->open >= ev->max_streams) {
		pthread_mutex_unlock(&ev->lock);
		*full = 1;
		return NULL;
	}
	ev->open++;
	pthread_mutex_unlock(&ev->lock);

	s = xcalloc(1, sizeof(*s));
	s->ev = ev;
	s->db = db;
	s->fd = fd;
	s->last_id = since;
	s->pending.max = (size_t)4 << 20;
	s->last_write = now_monotonic();
	if (since < 0 && db_get_int(db, &s->last_id, "SELECT coalesce(max(id), 0)"
				    " FROM events", NULL) != 1)
		goto fail;
	/* Tell EventSource how soon to reconnect; also gets the headers out. */
	strbuf_adds(&s->pending, "retry: 3000\n\n");
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
					      stream_read, s, stream_free);
	if (!r)
		goto fail;
	return r;
fail:
	stream_free(s);
	return NULL;
}
