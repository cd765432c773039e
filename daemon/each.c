/*
 * each: the checks of every commit of a stage, planned, recorded and
 * shown (see each.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "buildlog.h"
#include "each.h"
#include "events.h"
#include "executor.h"
#include "json.h"
#include "log.h"
#include "queue.h"
#include "wrapper.h"
#include "banned.h"

#define LOG_READ_MAX ((size_t)256 << 20)	/* of a build log, the head */
#define LINE_MAX_KEPT 400			/* bytes of one kept line */

/* --- planning ----------------------------------------------------------------- */

struct each_item {
	char commit[GIT_OID_HEXSZ + 1];
	char tree[GIT_OID_HEXSZ + 1];
	const char *subject;		/* borrowed, "" for the parent (seq 0) */
};

static int wants(const struct profile *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nr_each_steps; i++)
		if (!strcmp(p->each_steps[i].name, name))
			return 1;
	return 0;
}

static void checks_text(struct strbuf *sb, const struct profile *p)
{
	size_t i;

	for (i = 0; i < p->nr_each_steps; i++)
		strbuf_addf(sb, "%s%s", i ? "\n" : "", p->each_steps[i].name);
}

struct list_arg {
	const struct plan_def *plan;
	const char *head;
	const struct each_item *items;
	size_t nr;
	size_t total;
	long long plan_id;
};

/* A new head: its list replaces the old one; older queued checks go. */
static int store_list(struct db *db, long long stage_id, const void *arg)
{
	const struct list_arg *a = arg;
	struct strbuf checks = STRBUF_INIT;
	int n, ret = -1;
	size_t i;

	checks_text(&checks, a->plan->profile);
	if (db_exec(db, "DELETE FROM each_commits WHERE stage_id = ?", "l",
		    stage_id) < 0 ||
	    (n = queue_supersede_commits(db, stage_id)) < 0)
		goto out;
	for (i = 0; i < a->nr; i++)
		if (db_exec(db, "INSERT INTO each_commits (stage_id, seq, commit_id,"
			    " tree_id, subject, checks, head, total) VALUES (?, ?, ?, ?,"
			    " ?, ?, ?, ?)", "lisssssl", stage_id, (int)i,
			    a->items[i].commit, a->items[i].tree, a->items[i].subject,
			    strbuf_str(&checks), a->head, (long long)a->total) < 0)
			goto out;
	ret = events_add(db, "each-commits", a->plan_id, stage_id, 0, 0,
			 json_pack("{s:s,s:I,s:I,s:i}", "head", a->head,
				   "total", (json_int_t)a->total,
				   "checked", (json_int_t)(a->nr ? a->nr - 1 : 0),
				   "superseded", n));
out:
	strbuf_release(&checks);
	return ret;
}

/* 1 if a queued or running commit run does step name for key, 0, -1. */
static int pending(struct db *db, const char *digest, const char *col,
		   const char *key, const char *step)
{
	long long n = 0;
	int rc;

	/* Any run builds its tree; its build is recorded when it ends. */
	if (!strcmp(col, "tree"))
		rc = db_get_int(db, &n, "SELECT count(*) FROM runs WHERE"
				" tree_id = ? AND profile_digest = ?"
				" AND state IN ('queued', 'running') AND (reason != 'commit' OR"
				" instr(char(10) || steps || char(10), char(10) || ? || char(10)))",
				"sss", key, digest, step);
	else
		rc = db_get_int(db, &n, "SELECT count(*) FROM runs WHERE"
				" reason = 'commit' AND commit_id = ? AND profile_digest = ?"
				" AND state IN ('queued', 'running') AND"
				" instr(char(10) || steps || char(10), char(10) || ? || char(10))",
				"sss", key, digest, step);
	return rc < 0 ? -1 : n > 0;
}

/* Queue the checks item still lacks (seq 0 is only built). */
static int queue_missing(struct db *db, const struct plan_def *plan,
			 long long plan_id, long long stage_id,
			 const struct each_item *it, size_t seq)
{
	const struct profile *p = plan->profile;
	struct strbuf steps = STRBUF_INIT;
	struct run_request req = { 0 };
	long long have = 0;
	int rc;

	if (wants(p, "build")) {
		rc = db_get_int(db, &have, "SELECT count(*) FROM each_builds WHERE"
				" tree_id = ? AND profile_digest = ?", "ss", it->tree,
				p->digest);
		if (rc < 0)
			return -1;
		if (!have && (rc = pending(db, p->digest, "tree", it->tree, "build")) < 0)
			return -1;
		if (!have && !rc)
			strbuf_adds(&steps, "build");
	}
	if (seq > 0 && wants(p, "checkpatch")) {
		rc = db_get_int(db, &have, "SELECT count(*) FROM each_checkpatch WHERE"
				" commit_id = ? AND profile_digest = ?", "ss", it->commit,
				p->digest);
		if (rc < 0)
			return -1;
		if (!have && (rc = pending(db, p->digest, "commit", it->commit,
					   "checkpatch")) < 0)
			return -1;
		if (!have && !rc)
			strbuf_addf(&steps, "%scheckpatch", steps.len ? "\n" : "");
	}
	if (!steps.len)
		return 0;
	req.plan_id = plan_id;
	req.stage_id = stage_id;
	req.commit = it->commit;
	req.tree = it->tree;
	req.profile = p->name;
	req.digest = p->digest;
	req.reason = REASON_COMMIT;
	req.steps = strbuf_str(&steps);
	req.priority = EACH_PRIORITY;
	req.no_reuse = 1;
	rc = queue_add(db, &req, NULL) < 0 ? -1 : 0;
	strbuf_release(&steps);
	return rc;
}

int each_plan_stage(struct db *db, git_repository *repo,
		    const struct plan_def *plan, long long plan_id,
		    long long stage_id, const struct stack_entry *se)
{
	const struct profile *p = plan->profile;
	struct each_item *items = NULL;
	struct strbuf want = STRBUF_INIT;
	char head[GIT_OID_HEXSZ + 1];
	char *stored = NULL;
	size_t n, first, nr = 0, i;
	int ret = -1;

	if (!se->resolved)
		return 0;
	git_oid_tostr(head, sizeof(head), &se->head);
	/* A profile that stopped checking commits drops its lists. */
	n = !p->nr_each_steps ? 0 : se->nr_commits < p->each_max ? se->nr_commits
								 : p->each_max;
	first = se->nr_commits - n;
	items = xcalloc(n + 1, sizeof(*items));
	for (i = first; i < se->nr_commits; i++) {
		git_commit *c = NULL;

		if (git_commit_lookup(&c, repo, &se->commits[i].id) < 0) {
			error("plan %s: stage %s: cannot read commit %s", plan->name,
			      se->name, git_oid_tostr_s(&se->commits[i].id));
			goto out;
		}
		if (i == first && git_commit_parentcount(c) > 0) {
			git_commit *parent = NULL;

			if (git_commit_parent(&parent, c, 0) < 0) {
				error("plan %s: stage %s: cannot read the parent of %s",
				      plan->name, se->name, git_oid_tostr_s(git_commit_id(c)));
				git_commit_free(c);
				goto out;
			}
			git_oid_tostr(items[nr].commit, sizeof(items[nr].commit),
				      git_commit_id(parent));
			git_oid_tostr(items[nr].tree, sizeof(items[nr].tree),
				      git_commit_tree_id(parent));
			items[nr++].subject = "";
			git_commit_free(parent);
		} else if (i == first) {
			/* A root commit: no baseline; seq 0 stays a placeholder. */
			snprintf(items[nr].commit, sizeof(items[nr].commit), "%s",
				 git_oid_tostr_s(&se->commits[i].id));
			git_oid_tostr(items[nr].tree, sizeof(items[nr].tree),
				      git_commit_tree_id(c));
			items[nr++].subject = "";
		}
		git_oid_tostr(items[nr].commit, sizeof(items[nr].commit),
			      &se->commits[i].id);
		git_oid_tostr(items[nr].tree, sizeof(items[nr].tree),
			      git_commit_tree_id(c));
		items[nr++].subject = se->commits[i].subject;
		git_commit_free(c);
	}
	/*
	 * The stored list is the one for this head, this many commits and
	 * these checks (each_commit_max and each_commit may have changed).
	 */
	checks_text(&want, p);
	strbuf_addf(&want, " %s %zu", head, nr);
	if (db_get_text(db, &stored, "SELECT max(checks) || ' ' || max(head) || ' ' ||"
			" count(*) FROM each_commits WHERE stage_id = ? HAVING count(*) > 0",
			"l", stage_id) < 0)
		goto out;
	/* Without commits there is no list; one that was there goes. */
	if (nr ? !stored || strcmp(stored, strbuf_str(&want)) : stored != NULL) {
		struct list_arg a = { plan, head, items, nr, se->nr_commits, plan_id };

		if (db_transaction(db, store_list, stage_id, &a) < 0)
			goto out;
		if (nr)
			info("plan %s: stage %s: %zu of %zu commits to check at %.12s",
			     plan->name, se->name, nr - 1, se->nr_commits, head);
	}
	for (i = 0; i < nr; i++)
		if (queue_missing(db, plan, plan_id, stage_id, &items[i], i) < 0)
			goto out;
	ret = 0;
out:
	strbuf_release(&want);
	free(stored);
	free(items);
	return ret;
}

/* --- recording ------------------------------------------------------------------ */

/* Append line (capped) to list, one per line. */
static void keep_line(struct strbuf *list, const char *line, size_t len)
{
	if (len > LINE_MAX_KEPT)
		len = LINE_MAX_KEPT;
	if (list->len)
		strbuf_addch(list, '\n');
	strbuf_add(list, line, len);
}

/*
 * Walk the lines of a log: fn(line, len, payload) for each, and the last
 * non-empty line into last (capped).  At most LOG_READ_MAX bytes.
 */
typedef void line_fn(const char *line, size_t len, void *payload);

static int each_line(const char *path, line_fn *fn, void *payload,
		     struct strbuf *last)
{
	struct strbuf text = STRBUF_INIT;
	const char *p, *end;

	if (strbuf_read_file(&text, path, LOG_READ_MAX) < 0) {
		strbuf_release(&text);
		return error("cannot read %s: %s", path, strerror(errno));
	}
	p = text.buf ? text.buf : "";
	end = p + text.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (fn)
			fn(p, len, payload);
		if (len && last) {
			strbuf_reset(last);
			strbuf_add(last, p, len < LINE_MAX_KEPT ? len : LINE_MAX_KEPT);
		}
		p += len + 1;
	}
	strbuf_release(&text);
	return 0;
}

struct warn_scan {
	const char *root;		/* the slot's tree and "/", or NULL */
	struct strbuf keys;		/* seen, one per line */
	struct strbuf lines;		/* kept, one per line */
	struct strbuf key;
	size_t n, kept;
};

static void scan_warning(const char *line, size_t len, void *payload)
{
	struct warn_scan *w = payload;
	size_t n = w->root ? strlen(w->root) : 0;

	if (n && len > n && !memcmp(line, w->root, n)) {
		line += n;
		len -= n;
	}
	strbuf_reset(&w->key);
	if (!buildlog_warning(&w->key, line, len) ||
	    lines_contain(strbuf_str(&w->keys), strbuf_str(&w->key)))
		return;
	keep_line(&w->keys, w->key.buf, w->key.len);
	w->n++;
	if (w->kept++ < EACH_WARNINGS_KEPT)
		keep_line(&w->lines, line, len);
}

struct cp_scan {
	struct checkpatch_total total;
	int have_total;
	struct strbuf lines;
	size_t kept;
};

static void scan_checkpatch(const char *line, size_t len, void *payload)
{
	struct cp_scan *c = payload;
	struct checkpatch_total t;

	if (buildlog_checkpatch_issue(line, len)) {
		if (c->kept++ < EACH_ISSUES_KEPT)
			keep_line(&c->lines, line, len);
	} else if (!c->have_total && buildlog_checkpatch_total(&t, line, len)) {
		c->total = t;
		c->have_total = 1;
	}
}

struct finished_arg {
	const struct kstage_config *cfg;
	json_t *event;
};

static const char *build_status(const char *step_state)
{
	if (!strcmp(step_state, "ok"))
		return "pass";
	if (!strcmp(step_state, "failed"))
		return "fail";
	return "error";
}

/* The tree of the slot run_id ran on, with a "/" after it (or NULL). */
static char *slot_root(struct db *db, const struct kstage_config *cfg,
		       long long run_id)
{
	sqlite3_stmt *st;
	char *tree, *real;

	if (db_first(db, &st, "SELECT p.repo, r.slot FROM runs r JOIN plans p"
		     " ON p.id = r.plan_id WHERE r.id = ? AND r.slot IS NOT NULL", "l",
		     run_id) != 1)
		return NULL;
	tree = executor_slot_tree(cfg, db_col_text(st, 0), sqlite3_column_int(st, 1));
	db_done(st);
	/* kbuild prints the real path of its source tree. */
	real = path_real(tree);
	free(tree);
	if (!real)
		return NULL;
	tree = path_join(real, "");
	free(real);
	return tree;
}

static int record_build(struct db *db, long long run_id, const char *tree,
			const char *digest, const char *state, const char *log,
			const struct finished_arg *a)
{
	struct warn_scan w = { NULL, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, 0, 0 };
	struct strbuf last = STRBUF_INIT;
	const char *status = build_status(state);
	char *path = log && *log ? path_join(a->cfg->artifacts, log) : NULL;
	char *root = slot_root(db, a->cfg, run_id);
	int ret;

	w.root = root;

	if (path && each_line(path, scan_warning, &w, &last) < 0)
		status = "error";
	ret = db_exec(db, "INSERT OR REPLACE INTO each_builds (tree_id, profile_digest,"
		      " run_id, status, warnings, n_warnings, detail, at) VALUES (?, ?,"
		      " ?, ?, ?, ?, ?, ?)", "sslssisl", tree, digest, run_id, status,
		      strbuf_str(&w.lines), (int)w.n,
		      strcmp(status, "pass") ? strbuf_str(&last) : NULL, now_wall_ms());
	json_object_set_new(a->event, "build", json_string(status));
	json_object_set_new(a->event, "warnings", json_integer((json_int_t)w.n));
	free(path);
	free(root);
	strbuf_release(&w.keys);
	strbuf_release(&w.lines);
	strbuf_release(&w.key);
	strbuf_release(&last);
	return ret;
}

static int record_checkpatch(struct db *db, long long run_id, const char *commit,
			     const char *digest, const char *state, const char *log,
			     const struct finished_arg *a)
{
	struct cp_scan c = { { 0, 0, 0, 0 }, 0, STRBUF_INIT, 0 };
	struct strbuf last = STRBUF_INIT;
	const char *status = "error";
	char *path = log && *log ? path_join(a->cfg->artifacts, log) : NULL;
	const char *detail = NULL;
	int ret;

	if (path && each_line(path, scan_checkpatch, &c, &last) < 0)
		detail = "cannot read the log";
	else if (strcmp(state, "ok"))
		detail = strbuf_str(&last);
	else if (!c.have_total)
		detail = "checkpatch printed no \"total:\" line";
	else
		status = c.total.errors ? "fail" : c.total.warnings || c.total.checks
			 ? "warn" : "pass";
	ret = db_exec(db, "INSERT OR REPLACE INTO each_checkpatch (commit_id,"
		      " profile_digest, run_id, status, errors, warnings, checks, lines,"
		      " detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "sslsiiissl",
		      commit, digest, run_id, status, (int)c.total.errors,
		      (int)c.total.warnings, (int)c.total.checks, strbuf_str(&c.lines),
		      detail, now_wall_ms());
	json_object_set_new(a->event, "checkpatch", json_string(status));
	free(path);
	strbuf_release(&c.lines);
	strbuf_release(&last);
	return ret;
}

static int finished(struct db *db, long long run_id, const void *arg)
{
	const struct finished_arg *a = arg;
	sqlite3_stmt *st;
	char *commit = NULL, *tree = NULL, *digest = NULL;
	long long plan = 0, stage = 0, last = -1, steps_of = run_id;
	int rc, ret = -1, is_commit = 0;

	rc = db_first(db, &st, "SELECT commit_id, tree_id, profile_digest, plan_id,"
		      " coalesce(stage_id, 0), reason = 'commit', coalesce(reused_from, id)"
		      " FROM runs WHERE id = ? AND state = 'done'", "l", run_id);
	if (rc <= 0)
		return rc;
	commit = db_col_dup(st, 0);
	tree = db_col_dup(st, 1);
	digest = db_col_dup(st, 2);
	plan = sqlite3_column_int64(st, 3);
	stage = sqlite3_column_int64(st, 4);
	is_commit = sqlite3_column_int(st, 5);
	steps_of = sqlite3_column_int64(st, 6);
	db_done(st);
	/*
	 * Any other run built its tree (or the run it reused did): that
	 * build stands for the commit checks of the tree when they want
	 * one and have none.
	 */
	if (!is_commit) {
		long long want = 0;

		rc = db_get_int(db, &want, "SELECT (SELECT count(*) FROM each_commits"
				" WHERE tree_id = ?1 AND instr(checks, 'build')) > 0 AND"
				" (SELECT count(*) FROM each_builds WHERE tree_id = ?1 AND"
				" profile_digest = ?2) = 0", "ss", tree, digest);
		if (rc < 0 || !want) {
			ret = rc < 0 ? -1 : 0;
			goto out;
		}
	}
	json_object_set_new(a->event, "commit", json_string(commit));
	for (;;) {
		char *name = NULL, *state = NULL, *log = NULL;

		/* One step at a time: the scans below run their own queries. */
		rc = db_first(db, &st, "SELECT idx, name, state, log FROM steps"
			      " WHERE run_id = ? AND idx > ? AND state != 'skipped'"
			      " ORDER BY idx LIMIT 1", "ll", steps_of, last);
		if (rc < 0)
			goto out;
		if (rc == 0)
			break;
		last = sqlite3_column_int64(st, 0);
		name = db_col_dup(st, 1);
		state = db_col_dup(st, 2);
		log = db_col_dup(st, 3);
		db_done(st);
		if (!strcmp(name, "build") && strcmp(state, "pending"))
			rc = record_build(db, steps_of, tree, digest, state, log, a);
		else if (!is_commit)
			rc = 0;
		else if (!strcmp(name, "checkpatch"))
			rc = record_checkpatch(db, run_id, commit, digest, state, log, a);
		else
			rc = 0;
		free(name);
		free(state);
		free(log);
		if (rc < 0)
			goto out;
	}
	ret = events_add(db, "commit-check", plan, stage, run_id, 0,
			 json_incref(a->event));
out:
	free(commit);
	free(tree);
	free(digest);
	return ret;
}

int each_run_finished(struct db *db, const struct kstage_config *cfg,
		      long long run_id)
{
	struct finished_arg a = { cfg, json_object() };
	int rc = db_transaction(db, finished, run_id, &a);

	json_decref(a.event);
	if (rc < 0)
		return error("run %lld: its commit checks are not recorded", run_id);
	return 0;
}

/* --- reading ---------------------------------------------------------------------- */

struct each_counts {
	size_t commits, build_pass, build_fail, build_pending, new_warnings;
	size_t cp_pass, cp_warn, cp_fail, cp_error, cp_pending;
	int build, checkpatch;		/* checked at all */
};

static void plural(struct strbuf *sb, size_t n, const char *what)
{
	strbuf_addf(sb, "%s%zu %s%s", sb->len ? ", " : "", n, what, n == 1 ? "" : "s");
}

static void summary_text(struct strbuf *sb, const struct each_counts *c)
{
	if (c->build) {
		strbuf_addf(sb, "%zu/%zu commit%s build%s", c->build_pass, c->commits,
			    c->commits == 1 ? "" : "s", c->commits == 1 ? "s" : "");
		if (c->build_pending)
			strbuf_addf(sb, " (%zu pending)", c->build_pending);
		if (c->new_warnings)
			strbuf_addf(sb, ", %zu with new warnings", c->new_warnings);
	}
	if (c->checkpatch) {
		if (c->cp_fail)
			plural(sb, c->cp_fail, "checkpatch error");
		if (c->cp_warn)
			plural(sb, c->cp_warn, "checkpatch warning");
		if (c->cp_error)
			strbuf_addf(sb, "%scheckpatch did not run on %zu", sb->len ? ", " : "",
				    c->cp_error);
		if (!c->cp_fail && !c->cp_warn && !c->cp_error && !c->cp_pending)
			strbuf_addf(sb, "%scheckpatch clean", sb->len ? ", " : "");
		if (c->cp_pending)
			strbuf_addf(sb, "%s%zu checkpatch pending", sb->len ? ", " : "",
				    c->cp_pending);
	}
}

/* The keys of a build's warning lines, one per line, into keys. */
static void warning_keys(struct strbuf *keys, const char *lines)
{
	struct strbuf key = STRBUF_INIT;
	const char *p = lines;

	strbuf_reset(keys);
	while (*p) {
		size_t len = strcspn(p, "\n");

		strbuf_reset(&key);
		if (buildlog_warning(&key, p, len))
			keep_line(keys, key.buf, key.len);
		p += len + (p[len] == '\n');
	}
	strbuf_release(&key);
}

/* The lines of text as a JSON array of strings. */
static void json_text_lines(struct strbuf *sb, const char *text)
{
	const char *p = text;

	json_ch(sb, '[');
	while (*p) {
		size_t len = strcspn(p, "\n");

		json_sep(sb);
		json_strn(sb, p, len);
		p += len + (p[len] == '\n');
	}
	json_ch(sb, ']');
}

/*
 * One pass over the stage's list: the commits' JSON into list (if not
 * NULL), the counts into c.  0, or -1.
 */
static int read_stage(struct strbuf *list, struct each_counts *c, struct db *db,
		      long long stage_id, long long *total, char **head)
{
	struct strbuf parent_keys = STRBUF_INIT, keys = STRBUF_INIT, key = STRBUF_INIT;
	struct strbuf fresh = STRBUF_INIT;
	char *parent_status = xstrdup("none");	/* NULL: pending */
	sqlite3_stmt *st;
	int rc;

	memset(c, 0, sizeof(*c));
	st = db_stmt(db, "SELECT e.seq, e.commit_id, e.subject, e.tree_id, e.checks,"
		     " e.total, e.head, b.status, b.run_id, b.warnings, b.n_warnings,"
		     " b.detail, k.status, k.run_id, k.errors, k.warnings, k.checks,"
		     " k.lines, k.detail FROM each_commits e"
		     " JOIN stages s ON s.id = e.stage_id JOIN plans p ON p.id = s.plan_id"
		     " LEFT JOIN each_builds b ON b.tree_id = e.tree_id"
		     " AND b.profile_digest = p.profile_digest"
		     " LEFT JOIN each_checkpatch k ON k.commit_id = e.commit_id"
		     " AND k.profile_digest = p.profile_digest"
		     " WHERE e.stage_id = ? ORDER BY e.seq", "l", stage_id);
	if (!st) {
		free(parent_status);
		return -1;
	}
	if (list)
		json_ch(list, '[');
	while ((rc = db_step(db, st)) == 1) {
		int seq = sqlite3_column_int(st, 0);
		const char *checks = db_col_text(st, 4);
		const char *bstatus = sqlite3_column_type(st, 7) == SQLITE_NULL ? NULL
				      : db_col_text(st, 7);
		const char *kstatus = sqlite3_column_type(st, 12) == SQLITE_NULL ? NULL
				      : db_col_text(st, 12);
		int want_build = lines_contain(checks, "build");
		int want_cp = lines_contain(checks, "checkpatch");
		size_t nfresh = 0;

		if (seq == 0) {
			*total = sqlite3_column_int64(st, 5);
			free(*head);
			*head = db_col_dup(st, 6);
		}
		strbuf_reset(&fresh);
		if (bstatus && !strcmp(bstatus, "pass")) {
			const char *p = db_col_text(st, 9);

			warning_keys(&keys, p);
			/* New: a key the parent's (passing) build did not print. */
			while (parent_status && !strcmp(parent_status, "pass") && *p) {
				size_t len = strcspn(p, "\n");

				strbuf_reset(&key);
				if (buildlog_warning(&key, p, len) &&
				    !lines_contain(strbuf_str(&parent_keys), strbuf_str(&key))) {
					keep_line(&fresh, p, len);
					nfresh++;
				}
				p += len + (p[len] == '\n');
			}
		} else {
			strbuf_reset(&keys);
		}
		if (seq > 0) {
			c->commits++;
			c->build |= want_build;
			c->checkpatch |= want_cp;
			if (want_build) {
				if (!bstatus)
					c->build_pending++;
				else if (!strcmp(bstatus, "pass"))
					c->build_pass++;
				else
					c->build_fail++;
				c->new_warnings += nfresh > 0;
			}
			if (want_cp) {
				if (!kstatus)
					c->cp_pending++;
				else if (!strcmp(kstatus, "pass"))
					c->cp_pass++;
				else if (!strcmp(kstatus, "warn"))
					c->cp_warn++;
				else if (!strcmp(kstatus, "fail"))
					c->cp_fail++;
				else
					c->cp_error++;
			}
		}
		if (list && seq > 0) {
			json_sep(list);
			json_ch(list, '{');
			json_key(list, "seq");
			json_int(list, seq);
			json_key(list, "commit");
			json_str(list, db_col_text(st, 1));
			json_key(list, "subject");
			json_str(list, db_col_text(st, 2));
			json_key(list, "tree");
			json_str(list, db_col_text(st, 3));
			json_key(list, "build");
			if (!want_build) {
				json_lit(list, "null");
			} else {
				json_ch(list, '{');
				json_key(list, "status");
				json_str(list, bstatus ? bstatus : "pending");
				json_key(list, "run_id");
				json_col(list, st, 8, 0);
				json_key(list, "warnings");
				json_col(list, st, 10, 0);
				json_key(list, "detail");
				json_col(list, st, 11, 0);
				json_ch(list, '}');
			}
			json_key(list, "build_warnings");
			if (!want_build || !bstatus || strcmp(bstatus, "pass")) {
				json_lit(list, "null");
			} else {
				json_ch(list, '{');
				json_key(list, "status");
				json_str(list, !parent_status ? "pending" :
					 strcmp(parent_status, "pass") ? "unknown" :
					 nfresh ? "warn" : "pass");
				json_key(list, "new");
				json_text_lines(list, strbuf_str(&fresh));
				json_ch(list, '}');
			}
			json_key(list, "checkpatch");
			if (!want_cp) {
				json_lit(list, "null");
			} else {
				json_ch(list, '{');
				json_key(list, "status");
				json_str(list, kstatus ? kstatus : "pending");
				json_key(list, "run_id");
				json_col(list, st, 13, 0);
				json_key(list, "errors");
				json_col(list, st, 14, 0);
				json_key(list, "warnings");
				json_col(list, st, 15, 0);
				json_key(list, "checks");
				json_col(list, st, 16, 0);
				json_key(list, "lines");
				json_text_lines(list, kstatus ? db_col_text(st, 17) : "");
				json_key(list, "detail");
				json_col(list, st, 18, 0);
				json_ch(list, '}');
			}
			json_ch(list, '}');
		}
		/*
		 * The baseline of the next commit's warnings: this build if it
		 * passed, nothing yet while it is pending, else the one before
		 * (a commit that does not build hides no warning of the next).
		 */
		if (!bstatus || !strcmp(bstatus, "pass")) {
			free(parent_status);
			parent_status = xstrdup_or_null(bstatus);
			strbuf_reset(&parent_keys);
			strbuf_adds(&parent_keys, strbuf_str(&keys));
		}
	}
	db_done(st);
	if (list)
		json_ch(list, ']');
	free(parent_status);
	strbuf_release(&parent_keys);
	strbuf_release(&keys);
	strbuf_release(&key);
	strbuf_release(&fresh);
	return rc < 0 ? -1 : 0;
}

int each_stage_json(struct strbuf *sb, struct db *db, long long stage_id,
		    int commits)
{
	struct strbuf list = STRBUF_INIT, text = STRBUF_INIT;
	struct each_counts c;
	long long total = 0;
	char *head = NULL;
	int ret = -1;

	if (read_stage(commits ? &list : NULL, &c, db, stage_id, &total, &head) < 0)
		goto out;
	ret = 0;
	if (!head) {
		json_lit(sb, "null");
		goto out;
	}
	summary_text(&text, &c);
	json_ch(sb, '{');
	json_key(sb, "head");
	json_str(sb, head);
	json_key(sb, "total");
	json_int(sb, total);
	json_key(sb, "checked");
	json_int(sb, (long long)c.commits);
	json_key(sb, "summary");
	json_ch(sb, '{');
	json_key(sb, "text");
	json_str(sb, strbuf_str(&text));
	json_key(sb, "build_pass");
	json_int(sb, (long long)c.build_pass);
	json_key(sb, "build_fail");
	json_int(sb, (long long)c.build_fail);
	json_key(sb, "build_pending");
	json_int(sb, (long long)c.build_pending);
	json_key(sb, "new_warnings");
	json_int(sb, (long long)c.new_warnings);
	json_key(sb, "checkpatch_pass");
	json_int(sb, (long long)c.cp_pass);
	json_key(sb, "checkpatch_warn");
	json_int(sb, (long long)c.cp_warn);
	json_key(sb, "checkpatch_fail");
	json_int(sb, (long long)c.cp_fail);
	json_key(sb, "checkpatch_error");
	json_int(sb, (long long)c.cp_error);
	json_key(sb, "checkpatch_pending");
	json_int(sb, (long long)c.cp_pending);
	json_ch(sb, '}');
	if (commits) {
		json_key(sb, "commits");
		strbuf_add(sb, list.buf ? list.buf : "", list.len);
	}
	json_ch(sb, '}');
out:
	free(head);
	strbuf_release(&list);
	strbuf_release(&text);
	return ret;
}
