#ifndef NODE_RUN_H
#define NODE_RUN_H

#include <jansson.h>
#include <stddef.h>

#include "ktap.h"
#include "queue.h"
#include "strbuf.h"

/*
 * node_run: "kstage node-run SPEC", what a Slurm batch job runs on its
 * node (exec_slurm.h), and the file through which it tells the daemon.
 *
 * SPEC is a JSON file the daemon wrote into the run's artifact directory
 * (on the shared file system):
 *
 *	{ "run": 12, "token": "...", "plan": "/srv/plans/zd.json",
 *	  "digest": "<profile digest>", "stage": "two", "commit": "<hex>",
 *	  "tree": "<hex>", "tests": "a\nb\n" | null, "only": "build" | null,
 *	  "slot": 1, "artifacts": "/shared/artifacts", "work": "/local/work",
 *	  "cache": "/local/cache", "jobs": 4, "record": "/shared/.../node-TOKEN.jsonl" }
 *
 * "jobs" is KSTAGE_JOBS for the steps ("jobs" of the daemon's config);
 * 0: the CPUs Slurm gave the job (SLURM_CPUS_PER_TASK, else
 * SLURM_CPUS_ON_NODE), not the whole node's.
 *
 * node-run loads the plan file (the same file as the daemon's, on the
 * shared file system) and refuses to run when its profile digest is not
 * the daemon's; it takes the slot's lock (work/slot-N.lock: one run per
 * node and slot), and runs the run through exec_local: the checkout into
 * work/<repo-key>/slot-N/tree, each step with its timeout and process
 * group, the logs into the run's artifact directory, the console parsed.
 * SIGTERM (scancel, the time limit) stops the step as a cancel does.
 *
 * The record: one JSON object per line, appended with one write() each,
 * so that a reader sees whole lines or a line still being written (no
 * newline yet), never a mix:
 *
 *	{"event":"start","node":"n1","job":"123","slot":1,"pid":4711}
 *	{"event":"step","idx":0,"name":"build","log":"runs/12/01-build.log","pid":4712}
 *	{"event":"step-end","idx":0,"name":"build","state":"ok","exit":0,
 *	 "signal":0,"log_bytes":812,"log_dropped":0}
 *	{"event":"finish","verdict":"fail","failed_step":null,"error":null,
 *	 "reusable":true,"checkout_ms":40,"overhead_ms":12,
 *	 "boot":{"verdict":"clean","line":310,"text":""},
 *	 "results":[["hmm-tests/hmm.open_close","pass",null,12],...]}
 *	{"event":"canceled"}
 *	{"event":"error","why":"..."}
 *
 * "finish", "canceled" and "error" are the last line.  Strings are valid
 * UTF-8 (json.h).
 */

int cmd_node_run(int argc, char **argv);

/* The most a record may hold, and the most one line of it. */
#define NODE_RECORD_MAX ((size_t)256 << 20)
#define NODE_LINE_MAX ((size_t)64 << 20)

/* The "finish" line of o, without its newline, appended to sb. */
void node_outcome_line(struct strbuf *sb, const struct run_outcome *o);

/*
 * A "finish" line (parsed) as a run outcome: o's strings and results
 * point into line and into *results, which the caller releases
 * (ktap_report_release()) after using o.  0, or -1 with *why set (a
 * static string).
 */
int node_outcome_parse(json_t *line, struct run_outcome *o,
		       struct ktap_report *results, const char **why);

#endif
