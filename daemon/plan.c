/*
 * plan: resolve a plan's stages and judge the stack (see plan.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "plan.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

static void short_id(char *buf, size_t size, const git_oid *id)
{
	git_oid_tostr(buf, size > 13 ? 13 : size, id);
}

/*
 * Entry e does not contain the head of entry b: find what it lacks, the
 * commits of b's first-parent line that e does not have, oldest first.
 */
static int explain_rebase(struct stack_entry *e, const struct stack_entry *b,
			  git_repository *repo)
{
	struct commit_info *lack = NULL;
	size_t nr = 0, i;
	int truncated = 0;
	char hb[16], hm[16];

	if (repo_range(&lack, &nr, &truncated, repo, &e->head, &b->head, 0,
		       PLAN_MAX_OWN_COMMITS) < 0)
		return -1;
	short_id(hb, sizeof(hb), &b->head);
	if (nr == 0) {
		/* Cannot happen if e does not contain b, but be honest. */
		snprintf(e->detail, sizeof(e->detail),
			 "does not contain %s's head %s", b->name, hb);
		free(lack);
		return 0;
	}
	git_oid_cpy(&e->missing, &lack[0].id);
	e->nr_missing = nr;
	short_id(hm, sizeof(hm), &lack[0].id);
	snprintf(e->detail, sizeof(e->detail),
		 "needs rebase: does not contain %s's head %s; missing %s%zu "
		 "commit%s, first %s \"%.200s\"", b->name, hb,
		 truncated ? "more than " : "", nr, nr == 1 ? "" : "s", hm,
		 lack[0].subject);
	for (i = 0; i < nr; i++)
		commit_info_release(&lack[i]);
	free(lack);
	return 0;
}

int plan_resolve(struct stack *out, git_repository *repo,
		 const struct plan_def *plan, char **err)
{
	struct stack s = STACK_INIT;
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	int rc;

	*err = NULL;
	s.nr = plan->nr_stages + 1;
	s.v = xcalloc(s.nr, sizeof(*s.v));

	s.v[0].name = "base";
	s.v[0].branch = plan->base;
	s.v[0].below = -1;
	rc = repo_resolve_rev(&s.v[0].head, repo, plan->base);
	if (rc != 0) {
		strbuf_addf(&sb, "plan %s: base \"%s\" %s", plan->name, plan->base,
			    rc > 0 ? "does not resolve to a commit" : "cannot be read");
		goto fail;
	}
	s.v[0].resolved = 1;
	if (repo_commit_tree(&s.v[0].tree, repo, &s.v[0].head) < 0) {
		strbuf_addf(&sb, "plan %s: cannot read the base commit", plan->name);
		goto fail;
	}

	for (i = 1; i < s.nr; i++) {
		struct stack_entry *e = &s.v[i];
		const struct stack_entry *b;
		long k;

		e->name = plan->stages[i - 1].name;
		e->branch = plan->stages[i - 1].branch;
		for (k = (long)i - 1; k > 0 && !s.v[k].resolved; k--)
			;
		e->below = k;
		b = &s.v[k];

		rc = repo_resolve_branch(&e->head, repo, e->branch);
		if (rc < 0) {
			strbuf_addf(&sb, "plan %s: cannot read branch %s", plan->name,
				    e->branch);
			goto fail;
		}
		if (rc > 0) {
			e->state = STACK_MISSING;
			snprintf(e->detail, sizeof(e->detail),
				 "branch %s does not exist", e->branch);
			continue;
		}
		e->resolved = 1;
		if (repo_commit_tree(&e->tree, repo, &e->head) < 0)
			goto read_fail;

		rc = repo_contains(repo, &e->head, &b->head);
		if (rc < 0)
			goto read_fail;
		if (!rc) {
			e->state = STACK_NEEDS_REBASE;
			if (explain_rebase(e, b, repo) < 0)
				goto read_fail;
		}
		/*
		 * Own commits: what the stage adds over the stage below.  For
		 * a stale stage this still lists its commits since it forked.
		 */
		if (repo_range(&e->commits, &e->nr_commits, &e->commits_truncated,
			       repo, &b->head, &e->head, 1, PLAN_MAX_OWN_COMMITS) < 0)
			goto read_fail;
	}
	*out = s;
	return 0;

read_fail:
	strbuf_addf(&sb, "plan %s: cannot read the repository", plan->name);
fail:
	*err = strbuf_detach(&sb);
	stack_release(&s);
	return -1;
}

int stack_consistent(const struct stack *s)
{
	size_t i;

	for (i = 1; i < s->nr; i++)
		if (s->v[i].state != STACK_OK)
			return 0;
	return 1;
}

void stack_release(struct stack *s)
{
	size_t i, j;

	for (i = 0; i < s->nr; i++) {
		for (j = 0; j < s->v[i].nr_commits; j++)
			commit_info_release(&s->v[i].commits[j]);
		free(s->v[i].commits);
	}
	free(s->v);
	s->v = NULL;
	s->nr = 0;
}
