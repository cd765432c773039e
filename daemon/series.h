#ifndef SERIES_H
#define SERIES_H

#include <stddef.h>
#include <jansson.h>

#include "db.h"
#include "mbox.h"
#include "strbuf.h"

/*
 * series: a patch series from mail becomes a stage's branch; the one
 * writer of the series and series_patches tables.
 *
 *  1. pick (pure): of the mails read by mbox_read(), the patches of the
 *     newest complete version, in m/n order (unnumbered patches in the
 *     order they came).  Replies ("Re:") and mails without a diff are
 *     left out; a cover letter (0/n) gives the series its title and,
 *     with the patches, its "base-commit:".
 *  2. apply (libgit2, in memory): onto the head of the stage below (or
 *     the series' base-commit when the repository has it), each patch
 *     with git_diff_from_buffer() + git_apply_to_tree(), committed with
 *     the mail's author and date and a Link: (mails from an archive) or
 *     Message-ID: trailer.
 *  3. record: the stage branch moves in one compare-and-swap reference
 *     update, the series and its commits are stored and an event
 *     ("series-applied") is written.
 *
 * All or nothing: a patch that does not apply is refused with its number,
 * subject, file and hunk, and no branch moves.  A newer version of the
 * series that a stage holds replaces it; an older one is refused unless
 * forced.
 */

struct series {
	unsigned version;
	unsigned total;		/* n of m/n; 0 for unnumbered patches */
	const struct patch_mail **patches;	/* in order; point into the mails */
	size_t nr;
	const struct patch_mail *cover;		/* 0/n, or NULL */
	const char *title;	/* the cover's title, else the first patch's */
	const char *message_id;	/* the cover's, else the first patch's; may be NULL */
	const char *base_commit;	/* may be NULL */
	char *note;		/* why newer versions were passed over, or NULL */
};

/*
 * Pick the series from mails (see 1.).  0, or -1 with the reason in err
 * ("v2: patch 3/5 is missing", "no patch in the input").  Free with
 * series_release().
 */
int series_pick(struct series *s, const struct patch_mail *mails, size_t nr,
		struct strbuf *err);
void series_release(struct series *s);

struct series_opts {
	const char *plan;		/* by name */
	const char *stage;
	const char *link_base;	/* "URL" of the archive: Link: URL/MSGID; NULL: Message-ID: */
	int force;		/* replace a newer version too */
	int committer_date_is_author_date;	/* as git am's option */
	int dry_run;		/* make the commits, move and record nothing */
	const char *source;	/* "file", "api", "inbox": stored with the series */
	const char *by;		/* the token or user that asked */
};

struct series_outcome {
	long long series_id;
	char head[41];		/* the stage's new head */
	char old_head[41];	/* before ("" if the branch did not exist) */
	char onto[41];		/* what the first patch was applied to */
	unsigned version;
	char *title;		/* the series' */
	size_t nr;		/* commits made */
	char **commits;		/* hex ids, in order */
	char **subjects;	/* their titles */
	long long plan_id, stage_id;
	int unchanged;		/* the branch already held these commits */
	int bad_input;		/* refused because the mails hold no usable series */
	int fetch_failed;	/* refused because the archive gave no thread (intake) */
	char *note;		/* for people: a version passed over, a base not found */
};

void series_outcome_release(struct series_outcome *o);

/* The outcome as JSON (the API's reply, "kstage series apply --json"). */
json_t *series_outcome_json(const struct series_outcome *o, const char *plan,
			    const char *stage);

/*
 * Apply mails (all of them read from one or more inputs) to stage
 * o->stage of plan o->plan, which must be in the database (synced from
 * its plan file).  Returns 0 (applied; *out filled), 1 (refused: the
 * reason, for people, in err; nothing moved) or -1 (an error of the
 * database or the repository, also in err).
 *
 * When the branch already holds exactly these commits, nothing moves
 * (out->unchanged); the series is still recorded unless the stage's
 * latest record is this very head, so that a new database learns where
 * its stages came from.
 */
int series_apply(struct series_outcome *out, struct db *db,
		 const struct patch_mail *mails, size_t nr,
		 const struct series_opts *o, struct strbuf *err);

#endif
