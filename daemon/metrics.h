#ifndef METRICS_H
#define METRICS_H

#include "db.h"
#include "strbuf.h"

/*
 * metrics: the Prometheus metrics that come from the database (queue
 * length, runs, bisections and stages by state, step durations, the
 * event count), in the text exposition format.  The HTTP counters and
 * the number of event streams are http.c's, appended after these.
 */

/*
 * Append the metrics to out, each with its HELP and TYPE lines; a label
 * value from the database has backslash, double quote and newline
 * escaped as the format asks.  The known states are always listed (0
 * when there are none), so that a graph does not lose its series.  It
 * reads several tables: call it inside api_read_begin() / api_read_end()
 * for one snapshot.  0, or -1 when a query failed (logged; out holds
 * what was written, which is not all of it and must not be served).
 */
int metrics_append(struct strbuf *out, struct db *db);

#endif
