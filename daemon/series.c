/*
 * series: mail series onto stage branches (see series.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <git2.h>
#include <jansson.h>

#include "events.h"
#include "log.h"
#include "repo.h"
#include "series.h"
#include "wrapper.h"
#include "banned.h"

/* --- picking the series ------------------------------------------------------------ */

void series_release(struct series *s)
{
	free(s->patches);
	free(s->note);
	memset(s, 0, sizeof(*s));
}

static int is_candidate(const struct patch_mail *m)
{
	return m->diff && !m->is_reply;
}

/*
 * The patches of version v in order, into s.  0 complete, 1 incomplete
 * or inconsistent (the reason in why), -1 never.
 */
static int pick_version(struct series *s, const struct patch_mail *mails, size_t nr,
			unsigned v, struct strbuf *why)
{
	size_t i, numbered = 0, unnumbered = 0;
	unsigned total = 0, k;

	for (i = 0; i < nr; i++) {
		const struct patch_mail *m = &mails[i];

		if (!is_candidate(m) || m->version != v)
			continue;
		if (m->total) {
			numbered++;
			if (total && m->total != total) {
				strbuf_addf(why, "v%u: patches say both %u/%u and %u/%u",
					    v, m->number, m->total, m->number, total);
				return 1;
			}
			total = m->total;
		} else {
			unnumbered++;
		}
	}
	if (numbered && unnumbered) {
		strbuf_addf(why, "v%u mixes numbered ([PATCH m/n]) and unnumbered patches", v);
		return 1;
	}
	s->version = v;
	s->total = total;
	s->nr = 0;
	if (unnumbered) {
		s->patches = xcalloc(unnumbered, sizeof(*s->patches));
		for (i = 0; i < nr; i++)
			if (is_candidate(&mails[i]) && mails[i].version == v)
				s->patches[s->nr++] = &mails[i];
		return 0;
	}
	s->patches = xcalloc(total, sizeof(*s->patches));
	for (i = 0; i < nr; i++) {
		const struct patch_mail *m = &mails[i], *had;

		if (!is_candidate(m) || m->version != v || !m->number)
			continue;
		had = s->patches[m->number - 1];
		if (had && strcmp(had->diff, m->diff)) {
			strbuf_addf(why, "v%u: patch %u/%u comes twice, with different diffs",
				    v, m->number, total);
			return 1;
		}
		if (!had)
			s->patches[m->number - 1] = m;
	}
	for (k = 0; k < total; k++)
		if (!s->patches[k]) {
			strbuf_addf(why, "v%u: patch %u/%u is missing", v, k + 1, total);
			return 1;
		}
	s->nr = total;
	return 0;
}

int series_pick(struct series *s, const struct patch_mail *mails, size_t nr,
		struct strbuf *err)
{
	struct strbuf why = STRBUF_INIT;
	unsigned newest = 0, v;
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < nr; i++)
		if (is_candidate(&mails[i]) && mails[i].version > newest)
			newest = mails[i].version;
	if (!newest) {
		strbuf_adds(err, nr == 1 ? "the mail holds no patch (no \"diff --git\")"
			    : "no patch in the mails (no \"diff --git\" in any of them)");
		return -1;
	}
	/* The newest complete version, and say why newer ones were passed over. */
	for (v = newest; v >= 1; v--) {
		int have = 0;

		for (i = 0; i < nr && !have; i++)
			have = is_candidate(&mails[i]) && mails[i].version == v;
		if (!have)
			continue;
		free(s->patches);
		s->patches = NULL;
		if (pick_version(s, mails, nr, v, &why) == 0)
			break;
		strbuf_adds(&why, "; ");
	}
	if (!s->nr) {
		if (why.len >= 2)
			why.len -= 2;
		strbuf_add(err, why.buf, why.len);
		strbuf_release(&why);
		series_release(s);
		return -1;
	}
	if (why.len) {
		why.len -= 2;
		why.buf[why.len] = '\0';
		s->note = strbuf_detach(&why);
	}
	strbuf_release(&why);

	for (i = 0; i < nr && s->total; i++) {
		const struct patch_mail *m = &mails[i];

		if (!m->is_reply && m->number == 0 && m->total == s->total &&
		    m->version == s->version) {
			s->cover = m;
			break;
		}
	}
	s->title = s->cover ? s->cover->title : s->patches[0]->title;
	s->message_id = s->cover ? s->cover->message_id : s->patches[0]->message_id;
	if (s->cover && s->cover->base_commit)
		s->base_commit = s->cover->base_commit;
	for (i = 0; i < s->nr && !s->base_commit; i++)
		s->base_commit = s->patches[s->nr - 1 - i]->base_commit;
	return 0;
}

/* --- applying ------------------------------------------------------------------------ */

void series_outcome_release(struct series_outcome *o)
{
	size_t i;

	for (i = 0; i < o->nr; i++) {
		free(o->commits[i]);
		free(o->subjects[i]);
	}
	free(o->commits);
	free(o->subjects);
	free(o->title);
	free(o->note);
	memset(o, 0, sizeof(*o));
}

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "libgit2 error";
}

/* Where git_apply_to_tree() was when it failed: its callbacks note it. */
struct apply_where {
	char file[512];
	char hunk[160];
	int hunk_nr;
};

static int note_delta(const git_diff_delta *delta, void *payload)
{
	struct apply_where *w = payload;
	const char *path = delta->new_file.path ? delta->new_file.path
			   : delta->old_file.path;

	snprintf(w->file, sizeof(w->file), "%s", path ? path : "?");
	w->hunk[0] = '\0';
	w->hunk_nr = 0;
	return 0;
}

static int note_hunk(const git_diff_hunk *hunk, void *payload)
{
	struct apply_where *w = payload;
	size_t n = hunk->header_len;

	while (n && (hunk->header[n - 1] == '\n' || hunk->header[n - 1] == '\r'))
		n--;
	if (n >= sizeof(w->hunk))
		n = sizeof(w->hunk) - 1;
	memcpy(w->hunk, hunk->header, n);
	w->hunk[n] = '\0';
	w->hunk_nr++;
	return 0;
}

/* The patch's place for messages: "patch 2/3 "subject"". */
static void patch_name(struct strbuf *sb, const struct series *s, size_t i)
{
	if (s->total)
		strbuf_addf(sb, "patch %zu/%u \"%s\"", i + 1, s->total,
			    s->patches[i]->title);
	else
		strbuf_addf(sb, "patch %zu of %zu \"%s\"", i + 1, s->nr,
			    s->patches[i]->title);
}

/* Does the last paragraph of msg consist of "Token: value" lines? */
static int ends_in_trailers(const char *msg)
{
	size_t len = strlen(msg), start, i;

	while (len && msg[len - 1] == '\n')
		len--;
	if (!len)
		return 0;
	for (start = len; start > 0; start--)
		if (start >= 2 && msg[start - 1] == '\n' && msg[start - 2] == '\n')
			break;
	for (i = start; i < len;) {
		const char *nl = memchr(msg + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - msg) : len, t = i;

		while (t < end && (msg[t] == '-' || (msg[t] >= 'A' && msg[t] <= 'Z') ||
				   (msg[t] >= 'a' && msg[t] <= 'z') ||
				   (msg[t] >= '0' && msg[t] <= '9')))
			t++;
		if (t == i || t + 1 >= end || msg[t] != ':' || msg[t + 1] != ' ')
			return 0;
		i = end + 1;
	}
	return 1;
}

/* The commit message: title, body, the trailer that points to the mail. */
static void commit_message(struct strbuf *out, const struct patch_mail *m,
			   const char *link_base)
{
	struct strbuf trailer = STRBUF_INIT;

	strbuf_addf(out, "%s\n", m->title);
	if (*m->message)
		strbuf_addf(out, "\n%s", m->message);
	if (m->message_id) {
		if (link_base) {
			size_t n = strlen(link_base);

			while (n && link_base[n - 1] == '/')
				n--;
			strbuf_addf(&trailer, "Link: %.*s/%s\n", (int)n, link_base,
				    m->message_id);
		} else {
			strbuf_addf(&trailer, "Message-ID: <%s>\n", m->message_id);
		}
		if (strstr(out->buf, trailer.buf))
			;	/* already there (the patch was applied before) */
		else if (*m->message && ends_in_trailers(m->message))
			strbuf_add(out, trailer.buf, trailer.len);
		else
			strbuf_addf(out, "\n%s", trailer.buf);
	}
	strbuf_release(&trailer);
}

/* Who commits: GIT_COMMITTER_NAME/EMAIL, the repository's user, or kstage. */
static int committer_sig(git_signature **out, git_repository *repo,
			 const struct patch_mail *m, int date_is_author_date)
{
	const char *name = getenv("GIT_COMMITTER_NAME");
	const char *email = getenv("GIT_COMMITTER_EMAIL");
	git_signature *def = NULL;
	int rc;

	if (!name || !*name || !email || !*email) {
		if (git_signature_default(&def, repo) == 0) {
			name = def->name;
			email = def->email;
		} else {
			name = "kstage";
			email = "kstage@localhost";
		}
	}
	if (date_is_author_date && m->has_date)
		rc = git_signature_new(out, name, email, m->date, m->tz_minutes);
	else
		rc = git_signature_now(out, name, email);
	git_signature_free(def);
	return rc;
}

/*
 * Apply the patches of s onto "onto" as new commits (written to the
 * object database, no reference moved).  0 with out->commits, 1 a patch
 * does not apply (err), -1 a repository error (err).
 */
static int apply_all(struct series_outcome *out, git_repository *repo,
		     const struct series *s, const git_oid *onto,
		     const struct series_opts *o, git_oid *head, struct strbuf *err)
{
	git_oid parent = *onto, tree_id;
	git_commit *parent_c = NULL;
	git_tree *tree = NULL;
	size_t i;
	int ret = -1;

	out->commits = xcalloc(s->nr, sizeof(*out->commits));
	out->subjects = xcalloc(s->nr, sizeof(*out->subjects));
	for (i = 0; i < s->nr; i++) {
		const struct patch_mail *m = s->patches[i];
		git_apply_options aopts = GIT_APPLY_OPTIONS_INIT;
		struct apply_where where = { "", "", 0 };
		git_signature *author = NULL, *committer = NULL;
		git_tree *new_tree = NULL;
		git_index *index = NULL;
		git_diff *diff = NULL;
		struct strbuf msg = STRBUF_INIT;
		char hex[GIT_OID_HEXSZ + 1];
		const char *name;
		int rc;

		if (git_commit_lookup(&parent_c, repo, &parent) < 0 ||
		    git_commit_tree(&tree, parent_c) < 0) {
			strbuf_addf(err, "%s: %s", git_oid_tostr_s(&parent), git_msg());
			goto out;
		}
		if (git_diff_from_buffer(&diff, m->diff, strlen(m->diff)) < 0) {
			patch_name(err, s, i);
			strbuf_addf(err, ": the diff cannot be read: %s", git_msg());
			ret = 1;
			goto out;
		}
		aopts.delta_cb = note_delta;
		aopts.hunk_cb = note_hunk;
		aopts.payload = &where;
		rc = git_apply_to_tree(&index, repo, tree, diff, &aopts);
		git_diff_free(diff);
		if (rc < 0) {
			patch_name(err, s, i);
			strbuf_addf(err, " does not apply");
			if (where.file[0])
				strbuf_addf(err, ": %s", where.file);
			if (where.hunk_nr)
				strbuf_addf(err, ", hunk #%d %s", where.hunk_nr, where.hunk);
			strbuf_addf(err, " (%s)", git_msg());
			ret = 1;
			goto out;
		}
		rc = git_index_write_tree_to(&tree_id, index, repo);
		git_index_free(index);
		if (rc < 0 || git_tree_lookup(&new_tree, repo, &tree_id) < 0) {
			strbuf_addf(err, "writing the tree: %s", git_msg());
			goto out;
		}
		name = *m->author_name ? m->author_name : m->author_email;
		rc = m->has_date
			? git_signature_new(&author, name, m->author_email, m->date,
					    m->tz_minutes)
			: git_signature_now(&author, name, m->author_email);
		if (rc < 0 || committer_sig(&committer, repo, m,
					    o->committer_date_is_author_date) < 0) {
			git_tree_free(new_tree);
			git_signature_free(author);
			patch_name(err, s, i);
			strbuf_addf(err, ": bad author or committer: %s", git_msg());
			ret = 1;
			goto out;
		}
		commit_message(&msg, m, o->link_base);
		rc = git_commit_create(&parent, repo, NULL, author, committer, NULL,
				       msg.buf, new_tree, 1,
				       (const git_commit **)&parent_c);
		strbuf_release(&msg);
		git_signature_free(author);
		git_signature_free(committer);
		git_tree_free(new_tree);
		git_tree_free(tree);
		tree = NULL;
		git_commit_free(parent_c);
		parent_c = NULL;
		if (rc < 0) {
			strbuf_addf(err, "writing a commit: %s", git_msg());
			goto out;
		}
		git_oid_tostr(hex, sizeof(hex), &parent);
		out->subjects[out->nr] = xstrdup(m->title);
		out->commits[out->nr++] = xstrdup(hex);
	}
	*head = parent;
	ret = 0;
out:
	git_tree_free(tree);
	git_commit_free(parent_c);
	return ret;
}

/* --- the stage, the database ------------------------------------------------------ */

struct stage_row {
	long long plan_id, stage_id;
	char *repo, *branch, *below, *plan_base;
	long long idx;
};

static void stage_row_release(struct stage_row *r)
{
	free(r->repo);
	free(r->branch);
	free(r->below);
	free(r->plan_base);
}

/* 1 found, 0 not (err says which), -1. */
static int stage_row_load(struct stage_row *r, struct db *db, const char *plan,
			  const char *stage, struct strbuf *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = db_first(db, &st, "SELECT p.id, s.id, p.repo, s.branch, s.idx, p.base"
		      " FROM plans p JOIN stages s ON s.plan_id = p.id"
		      " WHERE p.name = ? AND s.name = ?", "ss", plan, stage);
	if (rc < 0)
		return -1;
	if (!rc) {
		strbuf_addf(err, "plan %s has no stage %s", plan, stage);
		return 0;
	}
	r->plan_id = sqlite3_column_int64(st, 0);
	r->stage_id = sqlite3_column_int64(st, 1);
	r->repo = db_col_dup(st, 2);
	r->branch = db_col_dup(st, 3);
	r->idx = sqlite3_column_int64(st, 4);
	r->plan_base = db_col_dup(st, 5);
	db_done(st);
	if (r->idx == 0) {
		strbuf_addf(err, "%s is the base of plan %s, not a stage", stage, plan);
		return 0;
	}
	if (r->idx > 1)
		rc = db_get_text(db, &r->below, "SELECT branch FROM stages"
				 " WHERE plan_id = ? AND idx = ?", "ll", r->plan_id,
				 r->idx - 1);
	return rc < 0 ? -1 : 1;
}

/* What the stage's latest series record says, when it is this series. */
struct held {
	long long id;		/* 0: the stage holds no record of this series */
	long long version;
	int same_mail;		/* the very same mails (same Message-ID and version) */
	char head[41], onto[41];
};

/*
 * The record of this series the stage holds now, if its latest series is
 * the same one (same title or Message-ID).  0 or -1.
 */
static int held_series(struct held *h, struct db *db, long long stage_id,
		       const struct series *s)
{
	sqlite3_stmt *st;
	int rc = db_first(db, &st, "SELECT id, version, title, message_id, head, onto FROM"
			  " series WHERE stage_id = ? ORDER BY id DESC LIMIT 1", "l",
			  stage_id);

	memset(h, 0, sizeof(*h));
	if (rc == 1) {
		const char *id = db_col_text(st, 3);

		if (!strcmp(db_col_text(st, 2), s->title) ||
		    (s->message_id && !strcmp(id, s->message_id))) {
			h->id = sqlite3_column_int64(st, 0);
			h->version = sqlite3_column_int64(st, 1);
			h->same_mail = s->message_id && !strcmp(id, s->message_id) &&
				       h->version == s->version;
			snprintf(h->head, sizeof(h->head), "%s", db_col_text(st, 4));
			snprintf(h->onto, sizeof(h->onto), "%s", db_col_text(st, 5));
		}
		db_done(st);
	}
	return rc < 0 ? -1 : 0;
}

/* The branch is at the head of these very mails: say so, from the record. */
static int already_held(struct series_outcome *out, struct db *db, const struct held *h)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT commit_id, subject FROM series_patches"
				   " WHERE series_id = ? ORDER BY number", "l", h->id);
	size_t alloc = 0, alloc2 = 0;
	int rc;

	if (!st)
		return -1;
	while ((rc = db_step(db, st)) == 1) {
		ALLOC_GROW(out->commits, out->nr + 1, alloc);
		ALLOC_GROW(out->subjects, out->nr + 1, alloc2);
		out->commits[out->nr] = xstrdup(db_col_text(st, 0));
		out->subjects[out->nr++] = xstrdup(db_col_text(st, 1));
	}
	db_done(st);
	snprintf(out->head, sizeof(out->head), "%s", h->head);
	out->series_id = h->id;
	out->unchanged = 1;
	return rc;
}

static void author_of(struct strbuf *sb, const struct patch_mail *m)
{
	strbuf_addf(sb, "%s <%s>", *m->author_name ? m->author_name : m->author_email,
		    m->author_email);
}

/* Store the series (inside the caller's transaction). */
static int record(struct db *db, struct series_outcome *out, const struct series *s,
		  const struct stage_row *r, const struct series_opts *o)
{
	struct strbuf author = STRBUF_INIT;
	json_t *data;
	size_t i;

	if (db_exec(db, "INSERT INTO series (plan_id, stage_id, at, title, version,"
		    " message_id, base_commit, onto, head, old_head, nr_patches, source,"
		    " link_base, by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		    "lllslssssslsss", r->plan_id, r->stage_id, now_wall_ms(), s->title,
		    (long long)s->version, s->message_id, s->base_commit, out->onto,
		    out->head, out->old_head[0] ? out->old_head : NULL, (long long)s->nr,
		    o->source, o->link_base, o->by) < 0)
		return -1;
	out->series_id = db_last_id(db);
	for (i = 0; i < s->nr; i++) {
		strbuf_reset(&author);
		author_of(&author, s->patches[i]);
		if (db_exec(db, "INSERT INTO series_patches (series_id, number, commit_id,"
			    " message_id, author, subject) VALUES (?, ?, ?, ?, ?, ?)",
			    "llssss", out->series_id, (long long)(i + 1), out->commits[i],
			    s->patches[i]->message_id, author.buf, s->patches[i]->title) < 0)
			break;
	}
	strbuf_release(&author);
	if (i < s->nr)
		return -1;
	data = json_pack("{s:s,s:s,s:s,s:i,s:i,s:s,s:s?,s:s}", "plan", o->plan,
			 "stage", o->stage, "title", s->title, "version", (int)s->version,
			 "patches", (int)s->nr, "head", out->head, "old_head",
			 out->old_head[0] ? out->old_head : NULL, "by", o->by);
	return events_add(db, "series-applied", r->plan_id, r->stage_id, 0, 0, data);
}

/* The branch holds the series already: record it unless that is known. */
static int record_unchanged(struct db *db, struct series_outcome *out,
			    const struct series *s, const struct stage_row *r,
			    const struct series_opts *o)
{
	char *head = NULL;
	int rc = db_get_text(db, &head, "SELECT head FROM series WHERE stage_id = ?"
			     " ORDER BY id DESC LIMIT 1", "l", r->stage_id);

	if (rc < 0)
		return -1;
	if (rc == 1 && head && !strcmp(head, out->head)) {
		free(head);
		return 0;
	}
	free(head);
	if (db_begin(db) < 0 || record(db, out, s, r, o) < 0) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}

json_t *series_outcome_json(const struct series_outcome *o, const char *plan,
			    const char *stage)
{
	json_t *commits = json_array(), *j;
	size_t i;

	for (i = 0; i < o->nr; i++)
		json_array_append_new(commits, json_pack("{s:s,s:s}", "commit",
							 o->commits[i], "subject",
							 o->subjects[i]));
	j = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s?,s:s,s:b,s:o}", "plan", plan,
		      "stage", stage, "title", o->title ? o->title : "", "version",
		      (int)o->version, "onto", o->onto, "old_head",
		      o->old_head[0] ? o->old_head : NULL, "head", o->head,
		      "unchanged", o->unchanged, "commits", commits);
	if (j && o->series_id)
		json_object_set_new(j, "series", json_integer(o->series_id));
	if (j && o->note)
		json_object_set_new(j, "note", json_string(o->note));
	return j;
}

/* The commit a base-commit: line names, if the repository has it.  1, 0, -1. */
static int find_base(git_oid *out, git_repository *repo, const char *hex)
{
	git_object *obj = NULL;
	git_oid prefix;
	size_t n = strlen(hex);
	int rc;

	if (n > GIT_OID_HEXSZ || git_oid_fromstrn(&prefix, hex, n) < 0)
		return 0;
	rc = git_object_lookup_prefix(&obj, repo, &prefix, n, GIT_OBJECT_COMMIT);
	if (rc == GIT_ENOTFOUND || rc == GIT_EAMBIGUOUS)
		return 0;
	if (rc < 0)
		return -1;
	git_oid_cpy(out, git_object_id(obj));
	git_object_free(obj);
	return 1;
}

/* What the series goes onto: its base-commit, else the stage below.  0, 1, -1. */
static int find_onto(git_oid *onto, git_repository *repo, const struct series *s,
		     const struct stage_row *r, const char *stage,
		     struct series_outcome *out, struct strbuf *err)
{
	const char *below = r->below ? r->below : r->plan_base;
	struct strbuf note = STRBUF_INIT;
	int rc;

	if (s->base_commit) {
		rc = find_base(onto, repo, s->base_commit);
		if (rc > 0)
			return 0;
		if (rc < 0) {
			strbuf_addf(err, "base-commit %s: %s", s->base_commit, git_msg());
			return -1;
		}
		strbuf_addf(&note, "base-commit %s is not in the repository: applied"
			    " onto %s", s->base_commit, below);
		free(out->note);
		out->note = strbuf_detach(&note);
	}
	rc = r->below ? repo_resolve_branch(onto, repo, r->below)
		: repo_resolve_rev(onto, repo, r->plan_base);
	if (rc == 1)
		strbuf_addf(err, "the stage below %s (%s) does not exist", stage, below);
	else if (rc < 0)
		strbuf_addf(err, "%s: %s", below, git_msg());
	return rc;
}

/* Store the series and move the branch, together.  0, 1 (moved meanwhile), -1. */
static int commit_series(struct series_outcome *out, struct db *db,
			 git_repository *repo, const struct series *s,
			 const struct stage_row *r, const struct series_opts *o,
			 const git_oid *head, const git_oid *old, struct strbuf *err)
{
	struct strbuf reflog = STRBUF_INIT;
	int rc;

	strbuf_addf(&reflog, "kstage series: v%u \"%s\" (%zu patch%s, by %s)", s->version,
		    s->title, s->nr, s->nr == 1 ? "" : "es", o->by);
	if (db_begin(db) < 0 || record(db, out, s, r, o) < 0) {
		db_rollback(db);
		strbuf_adds(err, "could not record the series (database error)");
		rc = -1;
		goto out;
	}
	rc = repo_move_branch(repo, r->branch, head, old, reflog.buf);
	if (rc) {
		db_rollback(db);
		if (rc == 1)
			strbuf_addf(err, "%s moved while the series was applied; nothing"
				    " done", r->branch);
		else
			strbuf_addf(err, "%s: %s", r->branch, git_msg());
		goto out;
	}
	if (db_commit(db) < 0) {
		/* Put the branch back: no moved branch without its record. */
		repo_restore_branch(repo, r->branch, old, head);
		strbuf_adds(err, "could not record the series (database error)");
		rc = -1;
	}
out:
	strbuf_release(&reflog);
	return rc;
}

int series_apply(struct series_outcome *out, struct db *db,
		 const struct patch_mail *mails, size_t nr,
		 const struct series_opts *o, struct strbuf *err)
{
	struct series s;
	struct stage_row r;
	struct held held;
	git_repository *repo = NULL;
	git_oid onto, old, head;
	int rc, ret = -1, have_old;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	if (series_pick(&s, mails, nr, err) < 0) {
		out->bad_input = 1;
		return 1;
	}
	out->version = s.version;
	out->title = xstrdup(s.title);
	if (s.note)
		out->note = xstrdup(s.note);
	rc = stage_row_load(&r, db, o->plan, o->stage, err);
	if (rc <= 0) {
		ret = rc < 0 ? -1 : 1;
		goto out;
	}
	out->plan_id = r.plan_id;
	out->stage_id = r.stage_id;
	if (held_series(&held, db, r.stage_id, &s) < 0)
		goto out;
	if (held.version > s.version && !o->force) {
		strbuf_addf(err, "stage %s holds v%lld of \"%s\"; refusing the older v%u"
			    " (force to replace it)", o->stage, held.version, s.title,
			    s.version);
		ret = 1;
		goto out;
	}
	if (repo_open(&repo, r.repo) < 0) {
		strbuf_addf(err, "%s: %s", r.repo, git_msg());
		goto out;
	}
	rc = find_onto(&onto, repo, &s, &r, o->stage, out, err);
	if (rc) {
		ret = rc;
		goto out;
	}
	git_oid_tostr(out->onto, sizeof(out->onto), &onto);
	rc = repo_resolve_branch(&old, repo, r.branch);
	if (rc < 0)
		goto out;
	have_old = rc == 0;
	if (have_old)
		git_oid_tostr(out->old_head, sizeof(out->old_head), &old);
	if (have_old && held.same_mail && !o->force &&
	    !strcmp(held.head, out->old_head) && !strcmp(held.onto, out->onto)) {
		/* The same mails on the same base again (fetched twice): no new commits. */
		ret = already_held(out, db, &held) < 0 ? -1 : 0;
		goto out;
	}
	ret = apply_all(out, repo, &s, &onto, o, &head, err);
	if (ret)
		goto out;
	git_oid_tostr(out->head, sizeof(out->head), &head);
	out->unchanged = have_old && git_oid_equal(&old, &head);
	if (o->dry_run)
		goto out;
	if (!out->unchanged)
		ret = commit_series(out, db, repo, &s, &r, o, &head,
				    have_old ? &old : NULL, err);
	else if (record_unchanged(db, out, &s, &r, o) < 0) {
		strbuf_adds(err, "could not record the series (database error)");
		ret = -1;
	}
out:
	git_repository_free(repo);
	stage_row_release(&r);
	series_release(&s);
	return ret;
}
