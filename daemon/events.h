#ifndef EVENTS_H
#define EVENTS_H

#include <jansson.h>

#include "db.h"
#include "strbuf.h"

/*
 * events: the events table, and the live event stream (server-sent events, GET /api/v1/events).
 *
 * A stream sends every row of the events table after a given id, in
 * order, then new rows as they are written:
 *
 *   id: 42
 *   event: run-started
 *   data: {"id":42,"at":...,"kind":"run-started","plan":"demo",...}
 *
 * and a comment line ": keepalive" after 15 s without anything else.
 *
 * A stream holds no thread.  Its content reader (run by the HTTP
 * server's thread that serves the connection) sends what there is, then
 * suspends the connection (MHD_suspend_connection()) instead of
 * returning 0, which would make libmicrohttpd call it again at once.
 * events_tick(), called every EVENTS_TICK_MS by one thread of the
 * server, reads the newest event id once for all streams and resumes the
 * streams behind it, and those due a keepalive; once a second it also
 * polls the sockets of the suspended streams, so that a client that went
 * away frees its stream within about a second (libmicrohttpd does not
 * watch a suspended connection).  An event written by any thread or
 * process reaches every stream within one tick.
 *
 * struct events (the hub) caps the number of open streams and ends them
 * all when the server stops.  It is shared by the server's threads.
 */

struct MHD_Connection;
struct MHD_Response;
struct events;

/*
 * Record an event: the one writer of the events table.  Ids of 0 are
 * stored as NULL.  data is a JSON object (jansson) whose reference is
 * stolen, or NULL; it is stored as compact JSON text, so every string in
 * it is escaped by jansson, whatever it holds.  Call it inside the
 * transaction of the change it reports.  0 or -1.
 */
int events_add(struct db *db, const char *kind, long long plan_id,
	       long long stage_id, long long run_id, long long bisection_id,
	       json_t *data);

#define EVENTS_MAX_STREAMS 64	/* the default of max_streams */
#define EVENTS_TICK_MS 100
#define EVENTS_KEEPALIVE_MS 15000

/*
 * A hub for at most max_streams open streams.  The connections of the
 * server must allow suspending (MHD_ALLOW_SUSPEND_RESUME).
 */
struct events *events_new(unsigned max_streams);

/*
 * One tick (see above): db is the calling thread's connection.  Called
 * from one thread only, every EVENTS_TICK_MS.  0, or -1 when the newest
 * id cannot be read (the streams then wait for the next tick).
 */
int events_tick(struct events *ev, struct db *db);

/*
 * End every stream: each is resumed and sends its end; new ones are
 * refused.  Call it before MHD_stop_daemon(), which must not find a
 * suspended connection.
 */
void events_stop(struct events *ev);

/* Free the hub; every stream must be gone (after MHD_stop_daemon()). */
void events_free(struct events *ev);

/* Streams open now. */
unsigned events_open(struct events *ev);

/* The cap given to events_new(). */
unsigned events_max(const struct events *ev);

/*
 * A response streaming the events after id "since" (-1: only new ones)
 * from db, to be queued on conn.  db must belong to the calling thread,
 * which is the thread that serves conn (libmicrohttpd serves a
 * connection from one thread of its pool for its whole life), so the
 * reader may use it.  token_id: the token the request was authorised
 * with (0: none); the stream ends within a second of that token being
 * revoked or expiring.  NULL when max_streams are open or the hub is
 * stopping (*full set: answer 503), or on an error (*full clear).
 */
struct MHD_Response *events_response(struct events *ev, struct db *db,
				     struct MHD_Connection *conn, long long since,
				     long long token_id, int *full);

/*
 * Append the events after *last_id (at most max of them) to out in the
 * wire format above and advance *last_id.  Returns how many, or -1.
 */
int events_fetch(struct db *db, long long *last_id, int max, struct strbuf *out);

#endif
