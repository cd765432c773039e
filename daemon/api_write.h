#ifndef API_WRITE_H
#define API_WRITE_H

#include "api.h"

/*
 * api_write: the POST and DELETE resources of the JSON API
 * (daemon/API.md): trigger, retry and cancel runs, start and cancel
 * bisections, add and delete acks, refresh.
 *
 * http.c has checked the token (req->token_name names it) and that a
 * body, if any, is JSON, has no NUL byte and is within the body cap.
 * Each handler parses its own body: an object with only its own fields
 * (an empty body is {}; DELETE takes none), anything else is a 400 reply.
 *
 * A request is one BEGIN IMMEDIATE transaction on req->db (taken here,
 * or by queue_cancel()), so these must not be called inside a read one
 * (api_read_begin()).  A reply below 300 commits, anything else rolls
 * back: a refused request changes nothing.  After a commit the handler
 * wakes req->loop (if any) so that the loop sees the change at once;
 * api_refresh() writes nothing: it tells the loop to re-read the
 * plans' branches.
 */

api_fn api_trigger;		/* POST /api/v1/plans/{plan}/stages/{stage}/trigger */
api_fn api_retry;		/* POST /api/v1/runs/{id}/retry */
api_fn api_cancel;		/* POST /api/v1/runs/{id}/cancel */
api_fn api_bisection_start;	/* POST /api/v1/bisections */
api_fn api_bisection_cancel;	/* POST /api/v1/bisections/{id}/cancel */
api_fn api_ack_add;		/* POST /api/v1/plans/{plan}/acks */
api_fn api_ack_delete;		/* DELETE /api/v1/plans/{plan}/acks/{id} */
api_fn api_gate_advance;	/* POST /api/v1/plans/{plan}/gate */
api_fn api_gate_check;		/* POST /api/v1/plans/{plan}/gate/check */
api_fn api_refresh;		/* POST /api/v1/refresh */
api_fn api_gate_override;	/* POST /api/v1/plans/P/gate/override (admin) */
api_fn api_series_apply;	/* POST /api/v1/plans/P/stages/S/series (mbox) */
api_fn api_series_fetch;	/* POST /api/v1/plans/P/stages/S/series/fetch */

#endif
