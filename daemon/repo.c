/*
 * repo: libgit2 access for plan tracking and slot checkouts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <git2.h>
#include <git2/sys/repository.h>

#include "log.h"
#include "repo.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

static int git_fail(const char *func, const char *what)
{
	const git_error *e = git_error_last();

	return error_at(func, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

void commit_info_release(struct commit_info *c)
{
	free(c->subject);
	free(c->author);
	c->subject = c->author = NULL;
}

int repo_global_init(void)
{
	if (git_libgit2_init() < 0)
		return git_fail(__func__, "init");
	if (git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0) < 0)
		return git_fail(__func__, "options");
	return 0;
}

int repo_open(git_repository **out, const char *path)
{
	if (git_repository_open_ext(out, path, GIT_REPOSITORY_OPEN_NO_SEARCH,
				    NULL) < 0)
		return git_fail(__func__, path);
	return 0;
}

/* The commit obj (freed here) peels to, for what a user named ("what"). */
static int peel_commit(git_oid *out, git_object *obj, const char *what)
{
	git_object *peeled = NULL;
	int rc = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);

	git_object_free(obj);
	if (rc < 0)
		return git_fail(__func__, what);
	git_oid_cpy(out, git_object_id(peeled));
	git_object_free(peeled);
	return 0;
}

static int resolve_ref(git_oid *out, git_repository *repo, const char *name)
{
	git_object *obj = NULL;
	git_reference *ref = NULL;
	int rc;

	rc = git_reference_lookup(&ref, repo, name);
	if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
		return 1;
	if (rc < 0)
		return git_fail(__func__, name);
	rc = git_reference_peel(&obj, ref, GIT_OBJECT_ANY);
	git_reference_free(ref);
	if (rc < 0)
		return git_fail(__func__, name);
	return peel_commit(out, obj, name);
}

void repo_branch_ref(struct strbuf *ref, const char *branch)
{
	if (!strncmp(branch, "refs/", 5))
		strbuf_adds(ref, branch);
	else
		strbuf_addf(ref, "refs/heads/%s", branch);
}

int repo_resolve_branch(git_oid *out, git_repository *repo, const char *branch)
{
	struct strbuf ref = STRBUF_INIT;
	int rc;

	repo_branch_ref(&ref, branch);
	rc = resolve_ref(out, repo, strbuf_str(&ref));
	strbuf_release(&ref);
	return rc;
}

/*
 * The move in the branch's reflog: libgit2 writes it only where git
 * would (not in a bare repository without core.logAllRefUpdates), and a
 * gate move must say which runs justify it wherever it happens.
 */
static void log_move(git_repository *repo, const char *ref, const git_oid *to,
		     const char *message)
{
	git_reflog *log = NULL;
	git_signature *sig = NULL;
	const git_reflog_entry *top;

	if (git_reflog_read(&log, repo, ref) < 0)
		goto out;
	top = git_reflog_entry_byindex(log, 0);
	if (top && git_reflog_entry_message(top) &&
	    !strcmp(git_reflog_entry_message(top), message))
		goto out;	/* libgit2 wrote it */
	if (git_signature_default(&sig, repo) < 0 &&
	    git_signature_now(&sig, "kstage", "kstage@localhost") < 0)
		goto out;
	if (git_reflog_append(log, to, sig, message) < 0 || git_reflog_write(log) < 0)
		warn("%s: the reflog does not record the move: %s", ref,
		     git_error_last() ? git_error_last()->message : "?");
out:
	git_signature_free(sig);
	git_reflog_free(log);
}

int repo_move_branch(git_repository *repo, const char *branch, const git_oid *to,
		     const git_oid *from, const char *message)
{
	struct strbuf ref = STRBUF_INIT;
	git_reference *out = NULL;
	int rc;

	repo_branch_ref(&ref, branch);
	if (from)
		rc = git_reference_create_matching(&out, repo, ref.buf, to, 1, from,
						   message);
	else
		rc = git_reference_create(&out, repo, ref.buf, to, 0, message);
	git_reference_free(out);
	if (rc == 0)
		log_move(repo, ref.buf, to, message);
	strbuf_release(&ref);
	if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS)
		return 1;	/* somebody else moved it first */
	return rc < 0 ? git_fail(__func__, branch) : 0;
}

int repo_restore_branch(git_repository *repo, const char *branch,
			const git_oid *from, const git_oid *to)
{
	struct strbuf ref = STRBUF_INIT;
	git_reference *r = NULL;
	int rc;

	if (from)
		return repo_move_branch(repo, branch, from, to, "kstage: undone");
	repo_branch_ref(&ref, branch);
	rc = git_reference_lookup(&r, repo, ref.buf);
	if (rc == 0 && git_reference_type(r) == GIT_REFERENCE_DIRECT &&
	    git_oid_equal(git_reference_target(r), to))
		rc = git_reference_delete(r);
	else if (rc == 0)
		rc = 1;
	git_reference_free(r);
	if (rc < 0)
		git_fail(__func__, ref.buf);
	strbuf_release(&ref);
	return rc < 0 ? -1 : rc;
}

int repo_resolve_rev(git_oid *out, git_repository *repo, const char *rev)
{
	git_object *obj = NULL;
	int rc;

	rc = git_revparse_single(&obj, repo, rev);
	if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC || rc == GIT_EAMBIGUOUS)
		return 1;
	if (rc < 0)
		return git_fail(__func__, rev);
	return peel_commit(out, obj, rev);
}

int repo_commit_tree(git_oid *tree, git_repository *repo, const git_oid *commit)
{
	git_commit *c = NULL;

	if (git_commit_lookup(&c, repo, commit) < 0)
		return git_fail(__func__, "commit lookup");
	git_oid_cpy(tree, git_commit_tree_id(c));
	git_commit_free(c);
	return 0;
}

static void fill_info(struct commit_info *out, const git_commit *c)
{
	const git_signature *a = git_commit_author(c);
	const char *summary = git_commit_summary((git_commit *)c);
	struct strbuf sb = STRBUF_INIT;

	git_oid_cpy(&out->id, git_commit_id(c));
	out->subject = xstrndup(summary ? summary : "", 1000);
	strbuf_addf(&sb, "%.200s <%.200s>", a->name, a->email);
	out->author = strbuf_detach(&sb);
	out->time = (long long)a->when.time;
}

int repo_has(git_repository *repo, const git_oid *id)
{
	git_odb *odb = NULL;
	int rc = 0;

	if (git_repository_odb(&odb, repo) == 0)
		rc = git_odb_exists(odb, id) ? 1 : 0;
	git_odb_free(odb);
	return rc;
}

int repo_contains(git_repository *repo, const git_oid *commit,
		  const git_oid *ancestor)
{
	int rc;

	if (git_oid_equal(commit, ancestor))
		return 1;
	rc = git_graph_descendant_of(repo, commit, ancestor);
	if (rc < 0)
		return git_fail(__func__, "descendant_of");
	return rc;
}

int repo_range(struct commit_info **out, size_t *nr, int *truncated,
	       git_repository *repo, const git_oid *hide, const git_oid *head,
	       int first_parent, size_t max)
{
	git_revwalk *walk = NULL;
	struct commit_info *v = NULL;
	size_t n = 0, alloc = 0, i;
	git_oid oid;
	int rc, ret = -1;

	*out = NULL;
	*nr = 0;
	*truncated = 0;
	if (git_revwalk_new(&walk, repo) < 0)
		return git_fail(__func__, "revwalk");
	/* Newest first, so that a cap keeps the commits nearest the head. */
	git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
	if (first_parent)
		git_revwalk_simplify_first_parent(walk);
	if (git_revwalk_push(walk, head) < 0 ||
	    (hide && git_revwalk_hide(walk, hide) < 0)) {
		git_fail(__func__, "revwalk push");
		goto out;
	}
	while ((rc = git_revwalk_next(&oid, walk)) == 0) {
		git_commit *c = NULL;

		if (n == max) {
			*truncated = 1;
			break;
		}
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			git_fail(__func__, "commit lookup");
			goto out;
		}
		ALLOC_GROW(v, n + 1, alloc);
		fill_info(&v[n++], c);
		git_commit_free(c);
	}
	if (rc < 0 && rc != GIT_ITEROVER) {
		git_fail(__func__, "revwalk");
		goto out;
	}
	/* Oldest first. */
	for (i = 0; i < n / 2; i++) {
		struct commit_info t = v[i];
		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
	*out = v;
	*nr = n;
	v = NULL;
	ret = 0;
out:
	if (v) {
		for (i = 0; i < n; i++)
			commit_info_release(&v[i]);
		free(v);
	}
	git_revwalk_free(walk);
	return ret;
}

/* --- slot checkouts ----------------------------------------------------- */

/* state file: "<tree-hex> clean|dirty\n" */
static int read_state(git_oid *tree, int *clean, const char *state)
{
	struct strbuf sb = STRBUF_INIT;
	int ret = -1;

	*clean = 0;
	if (strbuf_read_file(&sb, state, 256) < 0)
		return -1;
	if (sb.len >= GIT_OID_HEXSZ + 6 &&
	    git_oid_fromstrn(tree, sb.buf, GIT_OID_HEXSZ) == 0) {
		*clean = !strncmp(sb.buf + GIT_OID_HEXSZ, " clean", 6);
		ret = 0;
	}
	strbuf_release(&sb);
	return ret;
}

static int write_state(const char *state, const git_oid *tree, int clean)
{
	char buf[GIT_OID_HEXSZ + 16];

	git_oid_fmt(buf, tree);
	snprintf(buf + GIT_OID_HEXSZ, sizeof(buf) - GIT_OID_HEXSZ, " %s\n",
		 clean ? "clean" : "dirty");
	if (write_file_atomic(state, buf, strlen(buf)) < 0)
		return error("%s: %s", state, strerror(errno));
	return 0;
}

struct pathlist {
	char **v;
	size_t nr, alloc;
};

static void pathlist_add(struct pathlist *pl, const char *p)
{
	if (pl->nr && !strcmp(pl->v[pl->nr - 1], p))
		return;
	ALLOC_GROW(pl->v, pl->nr + 1, pl->alloc);
	pl->v[pl->nr++] = xstrdup(p);
}

static void pathlist_release(struct pathlist *pl)
{
	size_t i;

	for (i = 0; i < pl->nr; i++)
		free(pl->v[i]);
	free(pl->v);
	pl->v = NULL;
	pl->nr = pl->alloc = 0;
}

/*
 * Submodules are refused, by name, before anything is written: libgit2
 * cannot check one out into a target directory of a bare repository
 * (it fails half-way with "cannot get submodules without a working
 * tree"), and a kernel stage that carries one is a mistake to report.
 */
static int refuse_gitlink(git_tree *tree, const char *path)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), git_tree_id(tree));
	return error("tree %s: submodule at %s: a slot's tree cannot hold "
		     "submodules (gitlinks); remove it from the stage", hex, path);
}

static int find_gitlink(const char *root, const git_tree_entry *e, void *payload)
{
	struct strbuf *path = payload;

	if (git_tree_entry_filemode(e) != GIT_FILEMODE_COMMIT)
		return 0;
	strbuf_addf(path, "%s%s", root, git_tree_entry_name(e));
	return GIT_EUSER;	/* stop the walk */
}

static int check_no_gitlink(git_tree *tree)
{
	struct strbuf path = STRBUF_INIT;
	int rc = git_tree_walk(tree, GIT_TREEWALK_PRE, find_gitlink, &path);

	if (path.len)
		rc = refuse_gitlink(tree, path.buf);
	else if (rc < 0)
		rc = git_fail(__func__, "tree walk");
	strbuf_release(&path);
	return rc;
}

static int changed_paths(struct pathlist *pl, git_repository *repo,
			 git_tree *from, git_tree *to)
{
	git_diff *diff = NULL;
	git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
	size_t i, n;

	/* Type changes must come out as such, not as two entries we miss. */
	opts.flags = GIT_DIFF_INCLUDE_TYPECHANGE | GIT_DIFF_INCLUDE_TYPECHANGE_TREES;
	if (git_diff_tree_to_tree(&diff, repo, from, to, &opts) < 0)
		return git_fail(__func__, "diff");
	n = git_diff_num_deltas(diff);
	for (i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);

		if (d->new_file.mode == GIT_FILEMODE_COMMIT) {
			refuse_gitlink(to, d->new_file.path);
			git_diff_free(diff);
			return -1;
		}
		pathlist_add(pl, d->old_file.path);
		if (strcmp(d->old_file.path, d->new_file.path))
			pathlist_add(pl, d->new_file.path);
	}
	git_diff_free(diff);
	return 0;
}

static int empty_dir(const char *dir)
{
	if (remove_tree(dir) < 0 && errno != ENOENT)
		return error("cannot empty %s: %s", dir, strerror(errno));
	if (mkdir_p(dir, 0755) < 0)
		return error("cannot create %s: %s", dir, strerror(errno));
	return 0;
}

/* Switch dir from tree old to tree: only the paths that differ. */
static int checkout_changed(struct checkout_stats *stats, git_repository *repo,
			    git_tree *old, git_tree *tree, git_checkout_options *opts,
			    const char *state, const git_oid *tree_id)
{
	struct pathlist paths = { NULL, 0, 0 };
	int ret = -1;

	if (changed_paths(&paths, repo, old, tree) < 0)
		goto out;
	opts->baseline = old;
	opts->checkout_strategy |= GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
	opts->paths.strings = paths.v;
	opts->paths.count = paths.nr;
	stats->changed = paths.nr;
	if (write_state(state, tree_id, 0) < 0)
		goto out;
	if (paths.nr && git_checkout_tree(repo, (git_object *)tree, opts) < 0) {
		git_fail(__func__, "checkout");
		goto out;
	}
	ret = 0;
out:
	pathlist_release(&paths);
	return ret;
}

/* First use, or the last checkout did not finish: start over. */
static int checkout_full(struct checkout_stats *stats, git_repository *repo,
			 git_tree *tree, git_checkout_options *opts,
			 const char *dir, const char *state, const git_oid *tree_id)
{
	git_index *empty = NULL;
	int ret = -1;

	stats->full = 1;
	if (check_no_gitlink(tree) < 0 || write_state(state, tree_id, 0) < 0 ||
	    empty_dir(dir) < 0)
		return -1;
	if (git_index_new(&empty) < 0)
		return git_fail(__func__, "index");
	opts->baseline_index = empty;
	if (git_checkout_tree(repo, (git_object *)tree, opts) < 0)
		git_fail(__func__, "checkout");
	else
		ret = 0;
	git_index_free(empty);
	return ret;
}

int repo_checkout_dir(struct checkout_stats *stats, const char *repo_path,
		      const git_oid *tree_id, const char *dir, const char *state)
{
	git_repository *repo = NULL;
	git_index *scratch = NULL;
	git_tree *tree = NULL, *old = NULL;
	git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
	git_oid old_id;
	int clean = 0, ret = -1;
	struct stat st;
	double t0 = now_monotonic();

	memset(stats, 0, sizeof(*stats));
	if (repo_open(&repo, repo_path) < 0)
		return -1;
	/*
	 * A private, empty in-memory index: checkout must neither read nor
	 * write the index of the user's repository.
	 */
	if (git_index_new(&scratch) < 0 ||
	    git_repository_set_index(repo, scratch) < 0) {
		git_fail(__func__, "index");
		goto out;
	}
	if (git_tree_lookup(&tree, repo, tree_id) < 0) {
		git_fail(__func__, "tree lookup");
		goto out;
	}
	opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DONT_UPDATE_INDEX |
				 GIT_CHECKOUT_NO_REFRESH;
	opts.target_directory = dir;
	if (read_state(&old_id, &clean, state) == 0 && clean &&
	    stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    git_tree_lookup(&old, repo, &old_id) == 0) {
		if (git_oid_equal(&old_id, tree_id)) {
			ret = 0;
			goto out;
		}
		if (checkout_changed(stats, repo, old, tree, &opts, state, tree_id) < 0)
			goto out;
	} else if (checkout_full(stats, repo, tree, &opts, dir, state, tree_id) < 0) {
		goto out;
	}
	if (write_state(state, tree_id, 1) < 0)
		goto out;
	ret = 0;
out:
	stats->seconds = now_monotonic() - t0;
	git_tree_free(tree);
	git_tree_free(old);
	git_index_free(scratch);
	git_repository_free(repo);
	return ret;
}
