/*
 * report: the one table of the plans, for "kstage status" and "kstage run
 * --once" (see report.h).  Everything it shows comes from the API's JSON.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "api_read.h"
#include "client.h"
#include "report.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

/* The changes of a stage against its baseline, regressions first. */
static int report_changes(struct client *cl, FILE *out, const char *plan,
			  const char *stage, json_t *known_seen)
{
	struct strbuf path = STRBUF_INIT;
	json_t *detail = NULL, *ch;
	size_t i, again = 0;
	int rc;

	strbuf_adds(&path, "/api/v1/plans/");
	client_url_escape(&path, plan);
	strbuf_adds(&path, "/stages/");
	client_url_escape(&path, stage);
	rc = client_get(cl, strbuf_str(&path), api_stage, plan, stage, &detail);
	strbuf_release(&path);
	if (rc < 0)
		return -1;
	json_array_foreach(json_object_get(detail, "changes"), i, ch) {
		const char *d = client_str(ch, "detail", "");
		const char *test = client_str(ch, "test", "?");

		/* A known failure is named once per plan, at its lowest stage. */
		if (!strcmp(client_str(ch, "kind", ""), "known")) {
			if (json_object_get(known_seen, test)) {
				again++;
				continue;
			}
			json_object_set_new(known_seen, test, json_true());
		}
		fprintf(out, "      %-10s %s (%s -> %s)%s%.200s\n",
			client_str(ch, "kind", "?"), client_str(ch, "test", "?"),
			client_str(ch, "before", "-"), client_str(ch, "after", "-"),
			*d ? ": " : "", d);
	}
	if (again)
		fprintf(out, "      known      %zu more, named on a stage above\n", again);
	json_decref(detail);
	return 0;
}

/* Why a run ended in error or was canceled: the run's "error". */
static int report_run_error(struct client *cl, FILE *out, long long id)
{
	char path[64], param[32];
	json_t *run = NULL;
	const char *why;

	snprintf(param, sizeof(param), "%lld", id);
	snprintf(path, sizeof(path), "/api/v1/runs/%lld", id);
	if (client_get(cl, path, api_run, param, NULL, &run) < 0)
		return -1;
	why = client_str(run, "error", "");
	if (*why)
		fprintf(out, "      error: %s\n", why);
	json_decref(run);
	return 0;
}

/* The latest bisection of a stage: its outcome, and its detail if any. */
static int report_bisection(struct client *cl, FILE *out, long long id)
{
	char path[64], param[32];
	json_t *b = NULL, *culprit;
	const char *detail;

	snprintf(param, sizeof(param), "%lld", id);
	snprintf(path, sizeof(path), "/api/v1/bisections/%lld", id);
	if (client_get(cl, path, api_bisection, param, NULL, &b) < 0)
		return -1;
	fprintf(out, "      bisection %lld: %s", id, client_str(b, "state", "?"));
	culprit = json_object_get(b, "culprit");
	if (json_is_object(culprit)) {
		const char *stage = client_str(culprit, "stage", "");

		fprintf(out, " %.12s \"%s\"%s%s%s", client_str(culprit, "commit", "?"),
			client_str(culprit, "subject", ""), *stage ? " (stage " : "",
			stage, *stage ? ")" : "");
	}
	fprintf(out, "; %lld runs, %lld reused, %lld rounds\n", client_int(b, "runs"),
		client_int(b, "reused"), client_int(b, "rounds"));
	detail = client_str(b, "detail", "");
	if (*detail)
		fprintf(out, "        %s\n", detail);
	json_decref(b);
	return 0;
}

/* One stage: its line, then what explains it. */
static int report_stage(struct client *cl, FILE *out, const char *plan, json_t *st,
			json_t *known_seen)
{
	json_t *counts = json_object_get(st, "counts");
	json_t *run = json_object_get(st, "run");
	json_t *bisection = json_object_get(st, "bisection");
	json_t *each = json_object_get(st, "each_commit");
	const char *detail = client_str(st, "stack_detail", "");
	const char *state = client_str(run, "state", "");

	fprintf(out, "  %-3lld %-24s %-12.12s %-13s %-8s %5lld %5lld %5lld %5lld  %lld%s\n",
		client_int(st, "idx"), client_str(st, "name", "?"),
		client_str(st, "head", "-"), client_str(st, "stack_state", "?"),
		client_str(st, "verdict", "?"), client_int(counts, "pass"),
		client_int(counts, "fail"), client_int(counts, "skip"),
		client_int(counts, "error"), client_int(st, "regressions"),
		json_is_integer(json_object_get(run, "reused_from")) ? " (reused)" : "");
	if (*detail)
		fprintf(out, "      %s\n", detail);
	if (json_is_object(each))
		fprintf(out, "      commits: %s%s\n", client_str(json_object_get(each,
			"summary"), "text", "?"), client_int(each, "total") >
			client_int(each, "checked") ? " (the newest only)" : "");
	if (!strcmp(state, "running"))
		fprintf(out, "      run %lld running, step %s\n", client_int(run, "id"),
			client_str(run, "current_step", "?"));
	if ((!strcmp(client_str(run, "verdict", ""), "error") ||
	     !strcmp(state, "canceled")) &&
	    report_run_error(cl, out, client_int(run, "id")) < 0)
		return -1;
	if ((client_int(st, "regressions") || client_int(st, "fixed") ||
	     client_int(st, "new") || client_int(st, "skipped") ||
	     client_int(st, "known")) &&
	    report_changes(cl, out, plan, client_str(st, "name", ""), known_seen) < 0)
		return -1;
	if (json_is_integer(json_object_get(bisection, "id")) &&
	    report_bisection(cl, out, client_int(bisection, "id")) < 0)
		return -1;
	return 0;
}

/* What a stage adds to the exit status (see report_plans()). */
static int stage_verdict(json_t *st)
{
	const char *verdict = client_str(st, "verdict", "");

	/* The base is the baseline of stage 1, not part of the stack. */
	if (client_int(st, "idx") <= 0)
		return 0;
	if (!strcmp(verdict, "red") || !strcmp(verdict, "error"))
		return 1;
	if (strcmp(client_str(st, "stack_state", "ok"), "ok"))
		return 3;
	return 0;
}

/* A wall-clock time of the API (ms) as local "YYYY-MM-DD HH:MM:SS". */
static void fmt_ms(char *buf, size_t size, long long ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !localtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, size, "-");
}

/* The plan's remote, when it has one: one line on how its fetches go. */
static void report_remote(FILE *out, json_t *remote)
{
	const char *state = client_str(remote, "state", "");
	long long next = client_int(remote, "next_fetch");
	long long in = next ? (next - now_wall_ms() + 999) / 1000 : 0;
	char since[32], last[32];

	if (!json_is_object(remote))
		return;
	fprintf(out, "  remote %s: ", client_str(remote, "url", "?"));
	fmt_ms(last, sizeof(last), client_int(remote, "last_fetch"));
	if (!strcmp(state, "failing")) {
		fmt_ms(since, sizeof(since), client_int(remote, "failing_since"));
		fprintf(out, "failing since %s (%lld in a row)", since,
			client_int(remote, "failures"));
	} else if (!strcmp(state, "ok")) {
		fprintf(out, "fetched %s", last);
	} else {
		fprintf(out, "not fetched yet");
	}
	if (next)
		fprintf(out, ", next try in %lld s", in > 0 ? in : 0);
	if (!strcmp(state, "failing"))
		fprintf(out, ": %.300s", client_str(remote, "error", "?"));
	fputc('\n', out);
}

static int report_plan(struct client *cl, FILE *out, json_t *plan, int *verdict)
{
	const char *name = client_str(plan, "name", "?");
	json_t *gate = json_object_get(plan, "gate"), *st, *last, *known;
	const char *state = client_str(gate, "state", "unknown");
	const char *why = client_str(gate, "detail", "");
	size_t i;

	fprintf(out, "plan %s (profile %s, %.12s), gate %s\n", name,
		client_str(plan, "profile", "?"), client_str(plan, "profile_digest", ""),
		state);
	if (*why)
		fprintf(out, "  gate %s: %s\n", state, why);
	report_remote(out, json_object_get(plan, "remote"));
	last = json_array_get(json_object_get(plan, "gate_decisions"), 0);
	if (last)
		fprintf(out, "  gate decision: %s by %s: %s\n",
			client_str(last, "action", "?"), client_str(last, "by", "?"),
			client_str(last, "detail", ""));
	fprintf(out, "  %-3s %-24s %-12s %-13s %-8s %5s %5s %5s %5s  %s\n", "#",
		"stage", "head", "stack", "verdict", "pass", "fail", "skip", "error",
		"regressions");
	known = json_object();
	json_array_foreach(json_object_get(plan, "stages"), i, st) {
		int v = stage_verdict(st);

		if (v == 1 || (v == 3 && *verdict == 0))
			*verdict = v;
		if (report_stage(cl, out, name, st, known) < 0) {
			json_decref(known);
			return -1;
		}
	}
	json_decref(known);
	return 0;
}

int report_plans(struct client *cl, FILE *out, const char *const *names,
		 size_t nr_names, int *verdict)
{
	json_t *all = NULL, *plans, *plan;
	size_t i, j;
	int rc = 0;

	*verdict = 0;
	if (client_get(cl, "/api/v1/plans", api_plans, NULL, NULL, &all) < 0)
		return -1;
	plans = json_object_get(all, "plans");
	if (!names) {
		json_array_foreach(plans, j, plan)
			if ((rc = report_plan(cl, out, plan, verdict)) < 0)
				break;
	}
	for (i = 0; names && i < nr_names && rc == 0; i++)
		json_array_foreach(plans, j, plan)
			if (!strcmp(client_str(plan, "name", ""), names[i]))
				rc = report_plan(cl, out, plan, verdict);
	json_decref(all);
	return rc;
}
