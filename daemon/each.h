#ifndef EACH_H
#define EACH_H

#include <git2.h>

#include "config.h"
#include "db.h"
#include "plan.h"
#include "strbuf.h"

/*
 * each: every commit of a stage built and checked, as a kernel maintainer
 * wants a series (the profile's "each_commit", config.h); the one writer
 * of the each_commits, each_builds and each_checkpatch tables.
 *
 * For a stage head, the newest each_max commits of the stage (below..head,
 * first-parent) are listed, with the parent of the oldest of them as seq
 * 0: it is built too, as the baseline of the first commit's warnings.
 * Commits beyond each_max are not checked (the stage says how many there
 * are).  Each listed commit gets a commit run (queue.h, REASON_COMMIT) of
 * the profile's each_steps it still lacks:
 *
 *   build       unless its tree was built under the profile digest
 *               (each_builds, by tree: a rebase that keeps the tree
 *               builds nothing), or a run that builds it is queued or
 *               running (a head's run: its build step is read too)
 *   checkpatch  unless the commit was checked under the digest
 *               (each_checkpatch, by commit id: the message counts)
 *
 * Commit runs queue behind every head and bisection run (a lower
 * priority), give their slot back to one that is queued while every slot
 * is busy (loop.c, executor_preempt()), and never count as a stage's
 * run: the verdict stays the head's.  When one finishes, its logs are read: the compiler warnings
 * of the build (buildlog.h), the summary and the ERROR:/WARNING:/CHECK:
 * lines of checkpatch.  New warnings are a commit's warnings whose key
 * (without line numbers) its parent's build did not print.
 *
 * Each function runs in one transaction of its own (or joins the
 * caller's) and returns 0 or -1 (logged).
 */

#define EACH_PRIORITY 50	/* after heads (10), bisections (5, 20) */
#define EACH_WARNINGS_KEPT 200	/* warning lines stored per build */
#define EACH_ISSUES_KEPT 50	/* checkpatch lines stored per commit */

/*
 * A pass saw stage_id at se (resolved, not the base): list its commits
 * for a new head, and queue the checks that are missing and not queued.
 */
int each_plan_stage(struct db *db, git_repository *repo,
		    const struct plan_def *plan, long long plan_id,
		    long long stage_id, const struct stack_entry *se);

/*
 * Run run_id finished: if it is a commit run, store what its steps
 * found (logs under the artifact root) and write an event
 * ("commit-check").  Any other run (a head's, a bisection's) built its
 * tree with the same "build" step: when a listed commit has that tree
 * and no build of it is stored, its build is stored from that run (so a
 * head is never built twice).  Else nothing.  A warning that names its
 * file under the slot's tree (kbuild with O= names sources by their
 * absolute path) is stored without that prefix, so that builds in
 * different slots name the same file alike.
 */
int each_run_finished(struct db *db, const struct kstage_config *cfg,
		      long long run_id);

/*
 * The stage's commit checks as a JSON value (daemon/API.md, "each_commit"),
 * appended to sb: null when the stage has none.  With commits, the list
 * of commits too (else only the summary).
 */
int each_stage_json(struct strbuf *sb, struct db *db, long long stage_id,
		    int commits);

#endif
