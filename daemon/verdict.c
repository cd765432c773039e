/*
 * verdict: baseline choice and stage verdicts (see verdict.h).  Pure.
 */
#include <fnmatch.h>
#include <string.h>

#include "verdict.h"
#include "banned.h"

long verdict_baseline(const struct verdict_input *in, size_t idx)
{
	long k;

	for (k = (long)idx - 1; k >= 0; k--) {
		if (!in[k].run_id)
			continue;
		if (in[k].state != RUN_DONE)
			return VERDICT_WAIT;
		if (in[k].verdict != VERDICT_ERROR)
			return k;
	}
	return VERDICT_NO_BASELINE;
}

int verdict_compares(const struct verdict_input *in, size_t idx, long base)
{
	return idx > 0 && in[idx].run_id && in[idx].state == RUN_DONE &&
	       base != VERDICT_WAIT;
}

enum stage_verdict verdict_stage(const struct verdict_input *in, size_t idx,
				 long base, const unsigned counts[CHANGE_KIND_COUNT])
{
	const struct verdict_input *me = &in[idx];

	if (!me->run_id)
		return STAGE_UNKNOWN;
	if (me->state == RUN_QUEUED)
		return STAGE_QUEUED;
	if (me->state != RUN_DONE)
		return STAGE_RUNNING;
	if (idx > 0 && base == VERDICT_WAIT)
		return STAGE_WAITING;
	if (me->verdict == VERDICT_ERROR)
		return STAGE_ERROR;
	if (compare_regressions(counts))
		return STAGE_RED;
	return STAGE_GREEN;
}

int verdict_covers(const char *pattern, size_t until_pos, size_t idx,
		   const char *test)
{
	/* Counted again from the until stage on. */
	if (until_pos && idx >= until_pos)
		return 0;
	return fnmatch(pattern, test, 0) == 0;
}

const char *verdict_acked(const struct verdict_ack *acks, size_t nr_acks,
			  const char *const *names, size_t nr_names, size_t idx,
			  const char *test)
{
	size_t i, j;

	for (i = 0; i < nr_acks; i++) {
		for (j = 1; acks[i].until && j < nr_names; j++)
			if (!strcmp(names[j], acks[i].until))
				break;
		if (verdict_covers(acks[i].test, acks[i].until && j < nr_names ? j : 0,
				   idx, test))
			return acks[i].reason;
	}
	return NULL;
}
