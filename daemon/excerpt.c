/*
 * excerpt: the console lines around a bisection's first failing test, at
 * its culprit and at the culprit's parent (see excerpt.h).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "excerpt.h"
#include "json.h"
#include "wrapper.h"
#include "banned.h"

#define EXCERPT_CONTEXT 15		/* lines either side */
#define EXCERPT_MAX 8192		/* bytes of text per excerpt */
#define EXCERPT_LINE_MAX 400		/* bytes kept of one line */

/*
 * The log of a run's console step (the one parsed for results): 1 with
 * *idx and *rel (the caller's) set, 0 if the run has no log, -1 an error.
 */
static int console_log(struct db *db, long long run_id, int *idx, char **rel)
{
	/* The console step; for runs from before it was recorded, the last log. */
	sqlite3_stmt *st = db_stmt(db, "SELECT idx, log FROM steps WHERE run_id = ?"
				   " AND log IS NOT NULL ORDER BY console DESC, idx DESC"
				   " LIMIT 1", "l", run_id);
	int rc;

	if (!st)
		return -1;
	rc = db_step(db, st);
	if (rc == 1) {
		*idx = sqlite3_column_int(st, 0);
		*rel = db_col_dup(st, 1);
	}
	db_done(st);
	return rc;
}

/*
 * Lines [line - EXCERPT_CONTEXT, line + EXCERPT_CONTEXT] of a file
 * (1-based), each cut at EXCERPT_LINE_MAX bytes, all at EXCERPT_MAX.
 */
static int read_excerpt(struct strbuf *out, long long *first, const char *path,
			long long line)
{
	long long from = line - EXCERPT_CONTEXT > 1 ? line - EXCERPT_CONTEXT : 1;
	long long to = line + EXCERPT_CONTEXT, cur = 1;
	size_t in_line = 0;
	char buf[65536];
	ssize_t n;
	int fd = xopen(path, O_RDONLY | O_NOFOLLOW);

	*first = from;
	if (fd < 0)
		return -1;
	while (cur <= to && (n = xread(fd, buf, sizeof(buf))) > 0) {
		char *p = buf, *end = buf + n;

		while (p < end && cur <= to) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = (size_t)((nl ? nl : end) - p);

			if (cur >= from) {
				size_t room = in_line < EXCERPT_LINE_MAX ?
					      EXCERPT_LINE_MAX - in_line : 0;

				if (out->len + (len < room ? len : room) + 1 > EXCERPT_MAX)
					goto done;
				strbuf_add(out, p, len < room ? len : room);
				in_line += len;
				if (nl)
					strbuf_addch(out, '\n');
			}
			if (!nl)
				break;
			in_line = 0;
			cur++;
			p = nl + 1;
		}
	}
done:
	close(fd);
	return 0;
}

/*
 * {"run_id", "log", "first_line", "text"} for test's result line, or null
 * when it has none or its log cannot be read.  0, or -1 when a query
 * failed.
 */
static int excerpt_of(struct strbuf *sb, const struct api_request *req,
		      long long run_id, const char *test)
{
	struct strbuf text = STRBUF_INIT;
	long long line = 0, first = 0;
	char *rel = NULL, *abs = NULL;
	int idx = 0, rc = 0;

	if (!run_id || !req->cfg)
		goto none;
	rc = db_get_int(req->db, &line, "SELECT line FROM results WHERE run_id = ?"
			" AND test = ? AND line IS NOT NULL", "ls", run_id, test);
	if (rc <= 0 || line <= 0)
		goto none;
	rc = console_log(req->db, run_id, &idx, &rel);
	if (rc <= 0 || rel[0] == '/' || strstr(rel, ".."))
		goto none;
	abs = path_join(req->cfg->artifacts, rel);
	if (read_excerpt(&text, &first, abs, line) < 0)
		goto none;
	json_ch(sb, '{');
	json_key(sb, "run_id");
	json_int(sb, run_id);
	json_key(sb, "log");
	api_log_url(sb, run_id, idx);
	json_key(sb, "first_line");
	json_int(sb, first);
	json_key(sb, "text");
	json_strn(sb, strbuf_str(&text), text.len);
	json_ch(sb, '}');
	goto out;
none:
	json_lit(sb, "null");
out:
	strbuf_release(&text);
	free(rel);
	free(abs);
	return rc < 0 ? -1 : 0;
}

/* *run_id: the last verify-phase run of commit position seq, 0 if none. */
static int verify_run(long long *run_id, struct db *db, long long bisection_id,
		      long long seq)
{
	*run_id = 0;
	if (db_get_int(db, run_id, "SELECT max(run_id) FROM bisection_runs WHERE"
		       " bisection_id = ? AND seq = ? AND phase = 'verify'", "ll",
		       bisection_id, seq) < 0)
		return -1;
	return 0;
}

/* *test: the first failing test of run that is one of tests, NULL if none. */
static int first_failing(char **test, struct db *db, long long run, const char *tests)
{
	sqlite3_stmt *st;
	int rc;

	*test = NULL;
	st = db_stmt(db, "SELECT test FROM results WHERE run_id = ? AND status"
		     " IN ('fail', 'error') AND line IS NOT NULL ORDER BY line", "l",
		     run);
	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		if (lines_contain(tests, db_col_text(st, 0))) {
			*test = db_col_dup(st, 0);
			break;
		}
	}
	db_done(st);
	return rc < 0 ? -1 : 0;
}

/*
 * The console lines around the first failing bisected test in the
 * culprit's last verify run, and around the same test in its parent's;
 * null when there is no such run or test.  0, or -1 when a query failed.
 */
int bisection_excerpts(struct strbuf *sb, const struct api_request *req, long long id,
		       const char *culprit, const char *tests)
{
	long long seq = 0, culprit_run = 0, parent_run = 0;
	char *test = NULL;
	size_t mark;
	int rc = 0;

	/* Each lookup needs what the one before found; rc < 0 stops them all. */
	if (culprit)
		rc = db_get_int(req->db, &seq, "SELECT seq FROM bisection_commits WHERE"
				" bisection_id = ? AND commit_id = ?", "ls", id, culprit);
	if (rc == 1)
		rc = verify_run(&culprit_run, req->db, id, seq);
	if (rc == 0 && culprit_run)
		rc = verify_run(&parent_run, req->db, id, seq - 1);
	if (rc == 0 && culprit_run)
		rc = first_failing(&test, req->db, culprit_run, tests);
	if (rc < 0)
		return -1;
	if (!test) {
		json_lit(sb, "null");
		return 0;
	}
	mark = sb->len;
	json_lit(sb, "{\"culprit\":");
	rc = excerpt_of(sb, req, culprit_run, test);
	json_lit(sb, ",\"parent\":");
	if (excerpt_of(sb, req, parent_run, test) < 0)
		rc = -1;
	json_ch(sb, '}');
	if (!strcmp(sb->buf + mark, "{\"culprit\":null,\"parent\":null}")) {
		sb->len = mark;
		sb->buf[mark] = '\0';
		json_lit(sb, "null");
	}
	free(test);
	return rc;
}
