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
 * Each stream polls the table every EVENTS_POLL_MS from its connection's
 * thread (the HTTP server runs one thread per connection, see http.c), so
 * the reader blocks that thread only, sleeping on a condition variable in
 * between: an idle stream costs a small query five times a second, no
 * busy loop.  While it waits it also checks the client's socket, so a
 * client that went away frees its stream within one poll interval.
 *
 * struct events (the hub) caps the number of open streams and ends them
 * all when the server stops.  It is shared by the server's threads.
 */

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

#define EVENTS_MAX_STREAMS 64
#define EVENTS_POLL_MS 200
#define EVENTS_KEEPALIVE_MS 15000

struct events *events_new(unsigned max_streams);

/* End every stream (each returns within EVENTS_POLL_MS); refuse new ones. */
void events_stop(struct events *ev);

/* Free the hub; every stream must be gone (after MHD_stop_daemon()). */
void events_free(struct events *ev);

/* Streams open now. */
unsigned events_open(struct events *ev);

/*
 * A response streaming the events after id "since" (-1: only new ones)
 * from db.  db must belong to the calling thread, and the response must
 * be queued on the connection whose socket is fd (-1 if unknown), served
 * by that same thread.  NULL when max_streams are open or the hub is
 * stopping (*full set: answer 503), or on an error (*full clear).
 */
struct MHD_Response *events_response(struct events *ev, struct db *db, int fd,
				     long long since, int *full);

/*
 * Append the events after *last_id (at most max of them) to out in the
 * wire format above and advance *last_id.  Returns how many, or -1.
 */
int events_fetch(struct db *db, long long *last_id, int max, struct strbuf *out);

#endif
