#ifndef NOTIFY_H
#define NOTIFY_H

#include "config.h"

/*
 * notify: the sender of the outbox (outbox.h), a thread of its own with
 * its own SQLite connection, so that a slow webhook or mail server holds
 * up nothing but the next notification.
 *
 * It takes the pending row due first, delivers it with libcurl and
 * records the attempt (outbox_record()):
 *
 *  - webhook: POST of the row's JSON payload, with the headers
 *      Content-Type: application/json
 *      X-Kstage-Event: KIND
 *      X-Kstage-Delivery: ID          (the row's id, the same at every retry)
 *      X-Kstage-Signature: sha256=HEX (HMAC-SHA256 of the body with the
 *                                      contents of secret_file, trailing
 *                                      newlines removed; absent without one)
 *    delivered on a 2xx answer; redirects are not followed.
 *  - mail: composed at the first attempt (notify_mail.h) and stored with
 *    the row, then sent by SMTP (smtp://, smtps://, STARTTLS when
 *    "starttls" is set, AUTH with username and the password file).
 *
 * A failed attempt is retried after notify_backoff seconds, doubled after
 * each failure (capped at an hour), until notify_tries attempts were
 * made; then the row is "failed".  Each attempt is bounded (30 s in all,
 * 10 s to connect) and ends at once when the sender stops.
 *
 * Delivery is at least once: a row is marked delivered after the server
 * acknowledged it, so a crash between the two sends it again at the next
 * start, with the same X-Kstage-Delivery (and for mail the same
 * Message-ID): receivers dedupe on it.  A row marked delivered is never
 * sent again.
 *
 * The sender wakes when outbox_event() wrote rows (it then looks for a
 * short while, since the writer commits after the call), when a retry is
 * due, and at least every second (rows written by another process).
 */

struct notify;

/*
 * Start the sender for cfg (which must outlive it) and make the outbox
 * write rows for cfg's destinations (outbox_configure()).  Call before
 * the threads that write events start.  NULL on failure (logged).
 */
struct notify *notify_start(const struct kstage_config *cfg);

/*
 * Stop and free it (NULL is fine): an attempt in flight is abandoned
 * (the row stays pending).  Call after every other thread that writes
 * events has stopped.
 */
void notify_stop(struct notify *n);

/* Seconds to wait after the failure of attempt number tries (1-based). */
unsigned notify_backoff(unsigned base, unsigned tries);

#endif
