/*
 * compare: per-test transitions between a baseline and a stage.
 */
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "wrapper.h"
#include "banned.h"

static int is_bad(int s)
{
	return s == TEST_FAIL || s == TEST_ERROR;
}

/* The kind of change from before to after, or -1 for none. */
static int classify(int before, int after)
{
	if (after < 0)
		return before == TEST_PASS ? CHANGE_MISSING : -1;
	if (before < 0)
		return CHANGE_NEW;
	if (before == TEST_PASS && is_bad(after))
		return CHANGE_REGRESSION;
	if (is_bad(before) && after == TEST_PASS)
		return CHANGE_FIXED;
	if (before == TEST_PASS && after == TEST_SKIP)
		return CHANGE_SKIPPED;
	return -1;
}

int compare_outcomes(struct change **out, size_t *nr,
		     unsigned counts[CHANGE_KIND_COUNT],
		     const struct outcome *base, size_t nbase,
		     const struct outcome *stage, size_t nstage,
		     known_fn known, void *payload)
{
	struct change *v = NULL;
	size_t n = 0, alloc = 0, i = 0, j = 0;
	unsigned local[CHANGE_KIND_COUNT] = { 0 };

	while (i < nbase || j < nstage) {
		const struct outcome *b = NULL, *s = NULL;
		const char *reason = NULL;
		int kind, cmp;

		if (i == nbase)
			cmp = 1;
		else if (j == nstage)
			cmp = -1;
		else
			cmp = strcmp(base[i].test, stage[j].test);
		if (cmp <= 0)
			b = &base[i++];
		if (cmp >= 0)
			s = &stage[j++];

		if (s && is_bad(s->status) && known &&
		    (reason = known(s->test, payload)))
			kind = CHANGE_KNOWN;
		else
			kind = classify(b ? b->status : -1, s ? s->status : -1);
		if (kind < 0)
			continue;
		ALLOC_GROW(v, n + 1, alloc);
		v[n].test = s ? s->test : b->test;
		v[n].kind = kind;
		v[n].before = b ? b->status : -1;
		v[n].after = s ? s->status : -1;
		v[n].detail = reason ? reason : s ? s->detail : NULL;
		local[kind]++;
		n++;
	}
	*out = v;
	*nr = n;
	if (counts)
		memcpy(counts, local, sizeof(local));
	return 0;
}
