#ifndef OUTBOX_H
#define OUTBOX_H

#include <jansson.h>

#include "config.h"
#include "db.h"

/*
 * outbox: the notifications to deliver (tables outbox, outbox_attempts;
 * this module is their only writer).
 *
 * A notification is a row written in the same transaction as the change
 * that causes it: events_add() calls outbox_event() for every event it
 * writes, and a notifying one gets one row per configured destination
 * that wants its kind (a webhook, the mail server, and Patchwork: one row
 * per patch checked, patchwork.h).  A change that rolls back leaves no
 * row; one that commits leaves its rows, whatever happens to the process
 * after.  The sender (notify.h) delivers the rows that are due and
 * records every attempt here; a row marked delivered is never sent
 * again.  A row with a topic (a Patchwork check: the patch's Message-ID)
 * is superseded by a newer one of the same channel, target and topic
 * while it is still pending: it is never sent.
 *
 * Notification kinds (X-Kstage-Event), from the events written:
 *   run-finished            a run finished (event run-finished)
 *   stage-verdict           a stage was judged anew (stage-verdict: its
 *                           verdict, a red one's regressions, or the
 *                           commit of a settled one changed)
 *   regression              a confirmed regression started an automatic
 *                           bisection (bisection, state requested, auto)
 *   bisection-found         a bisection found the first bad commit
 *   bisection-inconclusive  a bisection ended with a range
 *   gate-moved              the integration branch moved (gate, action
 *                           moved or overridden)
 *   gate-refused            a push to it was refused (gate, refused)
 *
 * The destinations come from the configuration given to
 * outbox_configure() once, before any thread writes events; without it
 * (kstage commands that do not serve) no row is written.
 */

#define OUTBOX_KINDS "run-finished, stage-verdict, regression, bisection-found," \
	" bisection-inconclusive, gate-moved, gate-refused"

/* Is s one of the kinds above?  1 or 0. */
int outbox_kind_valid(const char *s);

/*
 * The notification kind of an event (kind and data as given to
 * events_add()), or NULL when it notifies nobody.
 */
const char *outbox_kind_of(const char *event_kind, json_t *data);

/*
 * Use cfg's webhooks and mail from now on (cfg must outlive every
 * thread that writes events; NULL: none).  kick (may be NULL) is called
 * after rows were written, from the writing thread, inside its
 * transaction: it may only set a flag or signal (notify.h).
 */
void outbox_configure(const struct kstage_config *cfg, void (*kick)(void *), void *arg);

/*
 * For events_add(): the rows of event event_id, inside the caller's
 * transaction.  data is borrowed.  0 or -1.
 */
int outbox_event(struct db *db, long long event_id, const char *event_kind,
		 long long plan_id, long long stage_id, long long run_id,
		 long long bisection_id, json_t *data);

/* A row to deliver (outbox_next()); release with outbox_item_release(). */
struct outbox_item {
	long long id, event_id, plan_id, stage_id, run_id, bisection_id;
	char *kind, *channel, *target;
	char *payload;		/* NULL: a mail not composed yet */
	int tries;		/* attempts made before this one */
};
#define OUTBOX_ITEM_INIT { 0 }
void outbox_item_release(struct outbox_item *it);

/*
 * The pending row due first at time now (ms): 1 with *it filled, or 0
 * with *next_at the time the next pending row is due (0: none), or -1.
 */
int outbox_next(struct db *db, long long now, struct outbox_item *it,
		long long *next_at);

/* Store a mail's composed message, once (a row that has one keeps it). */
int outbox_set_payload(struct db *db, long long id, const char *payload);

/*
 * Record attempt number tries+1 of row id: delivered (ok), or failed with
 * code (HTTP status / SMTP code, 0 unknown) and error, to be retried at
 * retry_at (ms), or given up (retry_at 0: state failed); a row superseded
 * while the attempt was in flight stays superseded unless delivered.
 * 0 or -1.
 */
int outbox_record(struct db *db, long long id, int ok, long code,
		  const char *error, long long retry_at);

/*
 * Which rows outbox_list() shows: each field set narrows the list (all
 * must hold); the ids are the rows' plan, stage, run and bisection.
 */
struct outbox_filter {
	const char *state;	/* pending, delivered, ...; NULL: any */
	long long plan_id, stage_id, run_id, bisection_id;	/* 0: any */
	int limit;		/* at most this many rows */
};
#define OUTBOX_FILTER_INIT { .state = NULL, .limit = 50 }

/*
 * GET /api/v1/outbox: the latest rows that pass f (at most f->limit),
 * newest first, each with its attempts.  A new array, or NULL.
 */
json_t *outbox_list(struct db *db, const struct outbox_filter *f);

#endif
