#ifndef STAGES_H
#define STAGES_H

#include "config.h"
#include "db.h"
#include "plan.h"

/*
 * stages: the plans and their stages in the database, the one writer of
 * the plans, stages, stage_commits and changes tables.
 *
 *  - a plan file is synced into plans and stages (stages are known by
 *    name; position 0 is the plan's base)
 *  - each stage's resolved head, tree and stack state are stored; a new
 *    head replaces the stage's own commits (stage_commits) and is an event
 *    ("stage-head")
 *  - each stage's verdict is judged (verdict.h decides, compare.h lists
 *    the changes test by test) and stored with its changes; a verdict that
 *    changed is an event ("stage-verdict")
 *
 *  - a plan's remote (plan_def.remote): its URL is stored with the plan
 *    (another URL starts its fetch record afresh), and the outcome of
 *    each fetch (remote.h) after it; a remote that starts failing is an
 *    event ("remote-failing"), one that works again too ("remote-ok")
 *
 * Every function runs in one transaction of its own (or joins the
 * caller's) and returns 0 or -1.
 */

/* Store a plan and its stages; *plan_id gets the plan's database id. */
int stages_sync_plan(struct db *db, const struct plan_def *plan, long long *plan_id);

/* The database id of the stage at position idx of a plan, 0 if none. */
long long stages_id_at(struct db *db, long long plan_id, size_t idx);

/* Store a resolved stack entry; *changed says whether its head moved. */
int stages_set_head(struct db *db, long long plan_id, long long stage_id,
		    const struct stack_entry *e, int *changed);

/*
 * Judge every stage of a plan against its baseline and store verdicts
 * and changes.  Known failures come from the profile and the plan's acks.
 */
int stages_judge_plan(struct db *db, const struct plan_def *plan, long long plan_id);

/*
 * The end of a fetch of plan_id's remote: error NULL when it worked (the
 * text is capped at STAGES_FETCH_ERROR_MAX bytes, and must hold no
 * secret), failures the failures in a row (0 after a success), next_at
 * when the next fetch is due (wall-clock ms; 0: only on request).
 */
#define STAGES_FETCH_ERROR_MAX 1000
int stages_fetch_done(struct db *db, long long plan_id, const char *error,
		      unsigned failures, long long next_at);

/* The failures in a row of plan_id's remote, as stored (0 if none). */
unsigned stages_fetch_failures(struct db *db, long long plan_id);

#endif
