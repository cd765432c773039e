#ifndef KCIDB_H
#define KCIDB_H

#include <stddef.h>

#include "strbuf.h"

struct db;

/*
 * kcidb: kstage's runs as KernelCI's KCIDB I/O JSON, schema version 5.3
 * ({"version": {"major": 5, "minor": 3}, "checkouts", "builds", "tests"}),
 * for "kstage kcidb export" and GET /api/v1/kcidb.
 *
 * What becomes what (README, "KCIDB"):
 *   - a checkout per distinct (plan, commit) among the exported runs:
 *     id "ORIGIN:PLAN:COMMIT"; the stage's branch; the plan's remote URL
 *     when it is https:// (the schema accepts nothing else; a local
 *     repository is named in misc.repo instead); patchset_hash "";
 *   - a build per run: id "ORIGIN:RUN", the step named "build" (else the
 *     first step) of the run, or of the run whose outcome it reused;
 *     architecture "x86_64", config_name the profile's name, status from
 *     the step's state (v5.3 builds have a status, not "valid");
 *   - a test per result: id "ORIGIN:RUN:TEST" (TEST as kstage names it,
 *     so ids are unique and stable), path kcidb_test_path(), status
 *     kcidb_test_status(); a failure known on its stage (a profile's
 *     known failure or an ack, as the stage's latest comparison says) stays
 *     FAIL with "known failure: REASON" in comment and misc.known; the
 *     result "boot" (kstage's boot verdict) has misc.boot_verdict.
 * Only finished runs (state "done") are exported.  Every string is
 * written with the one JSON writer (json.h).
 */

#define KCIDB_ORIGIN_DEFAULT "kstage"

struct kcidb_options {
	const char *origin;	/* kcidb_valid_origin(); NULL: the default */
	/* http(s) URL under which the daemon's API is reachable, for the
	 * logs' URLs (no trailing '/' needed); NULL: no log_url. */
	const char *base_url;
	long long plan_id;	/* only this plan's runs; 0: every plan */
	long long since;	/* only runs with id > since */
};

#define KCIDB_OPTIONS_INIT { NULL, NULL, 0, 0 }

/*
 * Append the export to sb (one JSON object, no trailing newline).  Must
 * run inside one read transaction (api_read_begin()), so the three
 * arrays agree.  0, or -1 when a query failed (logged; what was written
 * to sb must not be used).  The caller checks sb->truncated.
 */
int kcidb_export(struct strbuf *sb, struct db *db, const struct kcidb_options *o);

/* --- the mappings (pure, unit-tested) ---------------------------------------------- */

/* Is s a KCIDB origin (^[a-z0-9_]+$, here at most 64 bytes)?  1 or 0. */
int kcidb_valid_origin(const char *s);

/*
 * The KCIDB test path of a kstage result name: '/' and '.' separate
 * segments ("hmm-tests/hmm.hmm_device_private.open_close" becomes
 * "hmm-tests.hmm.hmm_device_private.open_close"); in a segment every byte
 * outside [A-Za-z0-9_-] becomes '_', and an empty segment is "_", so the
 * path always matches the schema's ^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$.
 * The same name always gives the same path; two names may share one
 * (the test's id keeps them apart).  Appended to out.
 */
void kcidb_test_path(struct strbuf *out, const char *test);

/* pass, fail, skip, error -> PASS, FAIL, SKIP, ERROR; anything else NULL. */
const char *kcidb_test_status(const char *status);

/*
 * A step's state as a build status: ok PASS, failed FAIL, timeout and
 * error ERROR, skipped SKIP, pending and running MISS; else NULL.
 */
const char *kcidb_step_status(const char *state);

/*
 * Milliseconds since the epoch as RFC 3339 UTC, "2025-01-07T10:02:11.123Z",
 * into buf (at least 32 bytes).  0, or -1 for a time gmtime cannot show.
 */
int kcidb_time(char *buf, size_t size, long long ms);

#endif
