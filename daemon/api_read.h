#ifndef API_READ_H
#define API_READ_H

#include "api.h"

/*
 * api_read: the GET resources of the JSON API (daemon/API.md), written
 * from query rows with the one JSON writer (json.h).
 *
 * Every handler must run inside api_read_begin() / api_read_end() on
 * req->db, so that a reply made of several queries sees one snapshot of
 * the database.  None writes to the database or tells the loop anything.  Path
 * parameters (req->params) come in the order of the route pattern,
 * already validated by http.c; query arguments are checked here (a bad
 * one is a 400 reply).  api_run_artifacts() needs req->cfg (the
 * artifacts root); api_bisection() leaves out its log excerpts without it.
 * A query that fails, at its first row or a later one, makes the handler
 * return -1 (a 500): never a 200 with the rows read so far.
 */

api_fn api_plans;		/* GET /api/v1/plans */
api_fn api_plan;		/* GET /api/v1/plans/{plan} */
api_fn api_stage;		/* GET /api/v1/plans/{plan}/stages/{stage} */
api_fn api_matrix;		/* GET /api/v1/plans/{plan}/matrix */
api_fn api_history;		/* GET /api/v1/plans/{plan}/history?test= */
api_fn api_acks;		/* GET /api/v1/plans/{plan}/acks */
api_fn api_outbox;		/* GET /api/v1/outbox?state=&plan=&stage=&run=&bisection=&limit= */
api_fn api_runs;		/* GET /api/v1/runs?plan=&stage=&state=&limit= */
api_fn api_run;			/* GET /api/v1/runs/{id} */
api_fn api_run_results;		/* GET /api/v1/runs/{id}/results */
api_fn api_run_artifacts;	/* GET /api/v1/runs/{id}/artifacts */
api_fn api_bisections;		/* GET /api/v1/bisections?plan=&stage=&state=&limit= */
api_fn api_bisection;		/* GET /api/v1/bisections/{id} */
api_fn api_kcidb;		/* GET /api/v1/kcidb?plan=&since= */
api_fn api_series_list;		/* GET /api/v1/plans/{plan}/stages/{stage}/series */

#endif
