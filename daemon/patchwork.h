#ifndef PATCHWORK_H
#define PATCHWORK_H

#include <jansson.h>

#include "config.h"
#include "db.h"
#include "strbuf.h"

/*
 * patchwork: the checks kstage posts on the patches of a series from mail
 * (series.h), in Patchwork's REST API (outbox channel "patchwork").
 *
 * Which check each patch gets, by the notification that causes it:
 *
 *   stage-verdict green     every patch: success
 *   stage-verdict red       the series' last patch (the tested head): fail,
 *                           naming the regressions; the others: pending
 *                           while a bisection will tell (auto_bisect),
 *                           else warning
 *   stage-verdict error     every patch: warning
 *   bisection-found         the patches before the first bad commit:
 *                           success; the first bad commit: fail, naming the
 *                           tests; the patches after it: warning
 *   bisection-inconclusive  up to the last good commit: success; the
 *                           patches in the range and after it: warning
 *
 * The series is the stage's latest one whose head is the commit judged
 * (or the bisection's bad commit, or which holds its culprit); a stage
 * whose branch did not come from mail, or patches without a Message-ID,
 * get no check.  Each check is one outbox row: its topic is the patch's
 * Message-ID, its payload the JSON
 *
 *   {"msgid", "number", "of", "state", "context", "description",
 *    "target_url"?}
 *
 * where context is the configured one or "kstage-PROFILE".
 */

/* May c be in a check's context?  Patchwork takes a slug: [A-Za-z0-9_-]. */
int patchwork_slug_char(int c);

/* outbox.c's insert of one row of channel patchwork: 0 or -1. */
typedef int patchwork_add_fn(void *arg, const char *topic, const char *payload);

/*
 * Inside the transaction of the event: the checks of notification kind
 * (outbox.h) on stage_id, run_id or bisection_id (data: the event's,
 * borrowed), each given to add().  0 (also when there is nothing to
 * check), or -1.
 */
int patchwork_checks(struct db *db, const struct kstage_config *cfg,
		     const char *kind, long long plan_id, long long stage_id,
		     long long run_id, long long bisection_id, json_t *data,
		     patchwork_add_fn *add, void *arg);

/*
 * For the sender: the URLs of one row's two calls (caller frees):
 * GET URL/api/patches/?msgid=ID[&project=P] and POST URL/api/patches/N/checks/.
 * -1 when the payload is not one of ours.
 */
int patchwork_lookup_url(const struct patchwork_def *pw, json_t *payload,
			 struct strbuf *out);
void patchwork_checks_url(const struct patchwork_def *pw, long long patch_id,
			  struct strbuf *out);

/*
 * The patch id in a lookup's answer (a JSON array of patches, the first
 * one's "id"): > 0, or 0 when Patchwork does not know the Message-ID, or
 * -1 when the answer is not a patch list.
 */
long long patchwork_patch_id(const char *answer, size_t len);

/* The body of the POST: {"state", "context", "description", "target_url"?}. */
char *patchwork_check_body(json_t *payload);

#endif
