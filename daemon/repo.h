#ifndef REPO_H
#define REPO_H

#include <stddef.h>
#include <git2.h>

#include "strbuf.h"

/*
 * repo: everything kstage does with git, through libgit2 (the daemon never
 * runs the git command).
 *
 * A git_repository is used by one thread at a time: the event loop opens
 * its own, and each checkout thread opens another.  Errors are logged with
 * libgit2's message (thread-local) and returned as -1.
 */

struct commit_info {
	git_oid id;
	char *subject;		/* first line of the message, owned */
	char *author;		/* "Name <email>", owned */
	long long time;		/* author time, seconds */
};

void commit_info_release(struct commit_info *c);

/*
 * git_libgit2_init() and the process-wide libgit2 options kstage runs
 * with.  Call it once, before any thread starts (the options are plain
 * globals inside libgit2), and balance it with git_libgit2_shutdown().
 *
 * Objects read back from the object database are not re-hashed
 * (GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION off), as git itself does not:
 * for the first checkout of a slot that hashing (SHA-1 with collision
 * detection over every blob of a kernel tree) was half of the CPU time.
 * Objects are still checked where they enter: a fetch indexes and hashes
 * every object it receives, and zlib checks what it inflates.
 */
int repo_global_init(void);

/* Open the repository at path (bare or not). */
int repo_open(git_repository **out, const char *path);

/*
 * Resolve a branch of a plan: "name" means refs/heads/name, a name that
 * starts with "refs/" is used as is.  Returns 0 and sets *out, 1 if the
 * branch does not exist, -1 on error.
 */
int repo_resolve_branch(git_oid *out, git_repository *repo, const char *branch);

/* The full ref of a plan's branch, by the rule above, appended to ref. */
void repo_branch_ref(struct strbuf *ref, const char *branch);

/* Resolve any revision (branch, tag, commit id) to a commit. 0, 1 (not
 * found) or -1. */
int repo_resolve_rev(git_oid *out, git_repository *repo, const char *rev);

/*
 * Move branch to commit "to", as a compare-and-swap: only if it is still
 * at "from" (NULL: only if it does not exist yet), with a reflog message.
 * 0 moved, 1 somebody else moved it first (nothing changed), -1 error.
 */
int repo_move_branch(git_repository *repo, const char *branch, const git_oid *to,
		     const git_oid *from, const char *message);

/*
 * Undo a repo_move_branch() from "from" to "to": back to "from", or
 * deleted when from is NULL, only if the branch is still at "to".  0,
 * 1 (it moved on; left alone) or -1.
 */
int repo_restore_branch(git_repository *repo, const char *branch,
			const git_oid *from, const git_oid *to);

/* The tree of a commit. */
int repo_commit_tree(git_oid *tree, git_repository *repo, const git_oid *commit);

/* Does the repository have object id?  1 or 0. */
int repo_has(git_repository *repo, const git_oid *id);

/* Is "commit" equal to or a descendant of "ancestor"?  1, 0, or -1. */
int repo_contains(git_repository *repo, const git_oid *commit,
		  const git_oid *ancestor);

/*
 * The commits reachable from "head" but not from "hide" (hide may be
 * NULL), following first parents only, oldest first: "git log
 * --first-parent --reverse hide..head".  At most "max" commits are
 * returned (the newest ones); *truncated says whether there were more.
 * The caller frees the array and releases each entry.
 */
int repo_range(struct commit_info **out, size_t *nr, int *truncated,
	       git_repository *repo, const git_oid *hide, const git_oid *head,
	       int first_parent, size_t max);

/*
 * The slot's checkout: a plain directory (no .git) that holds the files
 * of one tree.  "state" is a small file beside it that records which tree
 * is there and whether the last checkout finished.
 */
struct checkout_stats {
	int full;		/* 1 if the whole tree was written */
	size_t changed;		/* paths written or removed */
	double seconds;
};

/*
 * Make dir hold exactly the files of tree "tree" of repository repo_path.
 *
 * If state records a clean checkout of another tree of this repository,
 * only the paths that differ between the two trees are rewritten (unchanged
 * files keep their mtime, so make stays incremental).  Otherwise (first
 * use, or a checkout that did not finish, e.g. after a crash) the
 * directory is emptied and written in full (dir and its parents are
 * created when missing; state's directory must exist).  The repository's
 * own index and work tree are never touched.
 *
 * Executable bits and symlinks are written as the tree says (a symlink's
 * target is not followed).  A tree with a submodule (gitlink) is refused
 * by name before anything is written; a path that would lead out of dir
 * ("..", ".git", ".") is refused by libgit2.  A failure once writing
 * has begun leaves state "dirty", so the next call starts over in full: a
 * half-written tree is never taken for a clean one.
 */
int repo_checkout_dir(struct checkout_stats *stats, const char *repo_path,
		      const git_oid *tree, const char *dir, const char *state);

#endif
