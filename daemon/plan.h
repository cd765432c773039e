#ifndef PLAN_H
#define PLAN_H

#include <stddef.h>
#include <git2.h>

#include "config.h"
#include "repo.h"
#include "states.h"

/*
 * plan: the stack logic.  Given a plan and its repository, resolve every
 * stage head, decide whether the stack is consistent, and list each
 * stage's own commits.  No I/O beyond reading the repository, so it is
 * unit-tested on real temporary repositories.
 *
 * Position 0 of a stack is the plan base; positions 1..n are the stages.
 * A stage's "below" is the nearest position under it whose head resolved
 * (so one missing branch does not mark every stage above as stale).
 */

#define PLAN_MAX_OWN_COMMITS 10000

struct stack_entry {
	const char *name;	/* borrowed from the plan_def ("base" for 0) */
	const char *branch;	/* borrowed */
	int resolved;
	git_oid head;
	git_oid tree;
	enum stack_state state;
	long below;		/* position of the stage below; -1 for the base */
	/* needs-rebase: the oldest commit of the stage below that is missing
	 * here, and how many are missing. */
	git_oid missing;
	size_t nr_missing;
	char detail[512];	/* human-readable explanation, "" when ok */
	/* Own commits (below..head, first-parent), oldest first. */
	struct commit_info *commits;
	size_t nr_commits;
	int commits_truncated;
};

struct stack {
	struct stack_entry *v;	/* nr = plan->nr_stages + 1 */
	size_t nr;
};

#define STACK_INIT { NULL, 0 }

/*
 * Resolve the whole plan.  Fails (-1, *err set, caller frees) only when
 * the base itself does not resolve or the repository cannot be read; a
 * missing or stale stage is recorded in its entry.
 */
int plan_resolve(struct stack *out, git_repository *repo,
		 const struct plan_def *plan, char **err);

/* 1 if every stage resolved and the stack is consistent. */
int stack_consistent(const struct stack *s);

void stack_release(struct stack *s);

#endif
