#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "client.h"

/*
 * report: the table of the plans that "kstage status" and "kstage run
 * --once" print, one printer for both.  It reads the API through a client
 * (client.h), so the table is the same whether it comes from a server or
 * from a database:
 *
 *   plan NAME (profile PROFILE, DIGEST), gate STATE
 *     gate STATE: DETAIL                        (when the gate says why)
 *     remote URL: fetched TIME | failing since TIME (N in a row)
 *       [, next try in S s][: ERROR]            (a plan with a remote)
 *     #   stage  head  stack  verdict  pass fail skip error  regressions
 *     IDX NAME   HEAD  STACK  VERDICT  counts of the head's run  N[ (reused)]
 *         STACK DETAIL                          (needs-rebase, missing)
 *         commits: SUMMARY                      (the profile's each_commit)
 *         run ID running, step STEP
 *         error: WHAT                           (the run's error)
 *         KIND TEST (BEFORE -> AFTER): DETAIL   (regressions first)
 *         bisection ID: STATE[ CULPRIT "SUBJECT" (stage S)]; N runs, ...
 *           DETAIL                              (of the bisection)
 */

/*
 * Print the plans named in names[], in that order (a name the API does
 * not know is skipped), or every plan when names is NULL, to out.
 * *verdict gets the exit status of "kstage run --once" for what was
 * printed: 1 when a stage above the base is red or in error, else 3 when
 * one has a stack state other than "ok", else 0.  Returns 0, or -1 when a
 * read failed (printed; the table may be incomplete).
 */
int report_plans(struct client *cl, FILE *out, const char *const *names,
		 size_t nr_names, int *verdict);

#endif
