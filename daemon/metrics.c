/*
 * metrics: the database's share of the Prometheus /metrics page (see
 * metrics.h); http.c adds its own counters after it.
 */
#include <string.h>

#include "api.h"
#include "metrics.h"
#include "states.h"
#include "banned.h"

/* A label value: backslash, double quote and newline escaped. */
static void label_escape(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			strbuf_addch(out, '\\');
		if (*s == '\n')
			strbuf_adds(out, "\\n");
		else
			strbuf_addch(out, *s);
	}
}

/* One gauge per label value: the listed values always, others as found. */
static int grouped(struct strbuf *out, struct db *db, const char *metric,
		   const char *label, const char *help, const char *sql,
		   const char *const *known)
{
	sqlite3_stmt *st = db_stmt(db, sql, NULL);
	long long counts[16] = { 0 };
	size_t i;
	int rc;

	strbuf_addf(out, "# HELP %s %s\n# TYPE %s gauge\n", metric, help, metric);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		const char *v = db_col_text(st, 0);

		for (i = 0; known[i]; i++)
			if (!strcmp(known[i], v))
				break;
		if (known[i] && i < 16) {
			counts[i] = sqlite3_column_int64(st, 1);
			continue;
		}
		strbuf_addf(out, "%s{%s=\"", metric, label);
		label_escape(out, v);
		strbuf_addf(out, "\"} %lld\n", (long long)sqlite3_column_int64(st, 1));
	}
	db_done(st);
	for (i = 0; known[i] && i < 16; i++)
		strbuf_addf(out, "%s{%s=\"%s\"} %lld\n", metric, label, known[i], counts[i]);
	return rc < 0 ? -1 : 0;
}

/* The time spent in finished steps, by step name. */
static int step_durations(struct strbuf *out, struct db *db)
{
	sqlite3_stmt *st;
	int rc;

	strbuf_adds(out, "# HELP kstage_step_duration_seconds Time spent in finished"
		    " steps.\n# TYPE kstage_step_duration_seconds summary\n");
	st = db_stmt(db, "SELECT name, sum(finished_at - started_at) / 1000.0,"
		     " count(*) FROM steps WHERE finished_at IS NOT NULL AND"
		     " started_at IS NOT NULL GROUP BY name ORDER BY name", NULL);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		strbuf_adds(out, "kstage_step_duration_seconds_sum{step=\"");
		label_escape(out, db_col_text(st, 0));
		strbuf_addf(out, "\"} %.3f\nkstage_step_duration_seconds_count{step=\"",
			    sqlite3_column_double(st, 1));
		label_escape(out, db_col_text(st, 0));
		strbuf_addf(out, "\"} %lld\n", (long long)sqlite3_column_int64(st, 2));
	}
	db_done(st);
	return rc < 0 ? -1 : 0;
}

int metrics_append(struct strbuf *out, struct db *db)
{
	long long n = 0;
	int ret = 0;

	if (db_get_int(db, &n, "SELECT count(*) FROM runs WHERE state = 'queued'",
		       NULL) < 0)
		return -1;
	strbuf_addf(out, "# HELP kstage_queue_length Runs waiting for a slot.\n"
		    "# TYPE kstage_queue_length gauge\nkstage_queue_length %lld\n", n);
	ret |= grouped(out, db, "kstage_runs", "state", "Runs by state.",
		       "SELECT state, count(*) FROM runs GROUP BY state",
		       run_state_names);
	ret |= step_durations(out, db);
	ret |= grouped(out, db, "kstage_bisections", "state", "Bisections by state.",
		       "SELECT state, count(*) FROM bisections GROUP BY state",
		       bisection_state_names);
	ret |= grouped(out, db, "kstage_stages", "verdict", "Stages by verdict.",
		       "SELECT verdict, count(*) FROM stages GROUP BY verdict",
		       stage_verdict_names);
	n = 0;
	if (db_get_int(db, &n, "SELECT coalesce(max(id), 0) FROM events", NULL) < 0)
		ret = -1;
	strbuf_addf(out, "# HELP kstage_events_total Events recorded.\n"
		    "# TYPE kstage_events_total counter\nkstage_events_total %lld\n", n);
	return ret ? -1 : 0;
}
