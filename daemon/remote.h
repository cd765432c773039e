#ifndef REMOTE_H
#define REMOTE_H

#include <stdatomic.h>

#include "config.h"
#include "strbuf.h"

/*
 * remote: a plan that follows a remote (config.h, struct remote_def).
 *
 * The plan's "repo" is the mirror: created as a bare repository when it
 * does not exist, then fetched into with libgit2 (git_remote_fetch; the
 * daemon never runs git) by a thread of its own, one per plan with a
 * remote, so that a slow or silent server holds up nothing but that
 * plan's next fetch.  A thread fetches at start, then every
 * poll_interval, and at once when kicked (POST /api/v1/refresh, SIGHUP);
 * after a failure it retries with backoff (remote_backoff()).  The
 * outcome of each fetch is stored through stages.h (stages_fetch_done());
 * when refs moved, the thread says so through its callback (the loop
 * then re-reads that plan's branches).
 *
 * What a fetch writes: the remote's refs that match the plan's refspecs
 * (by default every branch, forced, to the same name: the stage branches
 * and whatever the base names follow the remote), each listed explicitly,
 * except the plan's integration branch: kstage's gate moves that one,
 * never a fetch, even when a pattern covers it.  Nothing is pruned (a
 * branch deleted upstream stays), FETCH_HEAD is not written, tags that
 * point into what was fetched come along (libgit2's auto-follow).
 *
 * Timeouts: every connection libgit2 opens (git://, http://, https://,
 * ssh://) goes through this module's socket stream (git_stream_register),
 * which gives up after "fetch_timeout" seconds of silence while it
 * connects, reads or writes, and at once when the threads stop.  Over
 * ssh, libssh2 reads the socket itself: there only the connection has the
 * timeout (and TCP keepalive finds a dead peer).  A fetch also ends after
 * REMOTE_FETCH_MAX seconds in all (from libgit2's progress callbacks).
 *
 * Credentials come from the files the plan names, read at each fetch
 * (a token that is rotated is picked up), never logged nor stored: an
 * https token as the password of "username" (default: the URL's user,
 * else "git"), an ssh key pair.  An ssh server must show the host key
 * the plan pins ("ssh_host_key"); the error says which key it showed.
 * An https certificate is checked by libgit2 against the system's CAs.
 */

#define REMOTE_BACKOFF_MAX 1800		/* seconds: the longest wait after failures */
#define REMOTE_RETRY_BASE 60		/* seconds: the first retry when poll_interval is 0 */
#define REMOTE_FETCH_MAX (3 * 3600)	/* seconds: the longest a fetch may take */

/*
 * Seconds from the end of a fetch to the next one: poll_interval after a
 * success (0 when poll_interval is 0: only on request); after "failures"
 * failures in a row, poll_interval (or REMOTE_RETRY_BASE) doubled for
 * each failure after the first, up to REMOTE_BACKOFF_MAX (or
 * poll_interval when that is longer).
 */
unsigned remote_backoff(unsigned poll_interval, unsigned failures);

/*
 * Once per process, before any fetch: register the socket stream with
 * its timeout (seconds).  Not thread-safe (call it from main's thread).
 */
int remote_global_init(unsigned timeout);

/*
 * Create the plan's repository as a bare repository (and its parent
 * directories) when nothing is at that path.  *created says whether it
 * was.  0, or -1 (logged).
 */
int remote_mirror_init(const struct plan_def *plan, int *created);

/*
 * One fetch of plan's remote into its repository, in the calling thread
 * (see above).  stop (may be NULL) ends it early once set.  0 with
 * *moved set when refs changed, or -1 with the reason in *why (one line,
 * no secret in it: fit for the log and the API).
 */
int remote_fetch(const struct plan_def *plan, const atomic_int *stop,
		 int *moved, struct strbuf *why);

/* The fetch threads of a daemon. */
struct remotes;

struct remote_target {
	const struct plan_def *plan;	/* with a remote; outlives the threads */
	long long plan_id;
};

/* Called from a fetch thread after a fetch that moved refs of plan_id. */
typedef void remote_fetched_fn(void *payload, long long plan_id);

/*
 * Start one thread per target.  Each has its own database connection
 * (db_path) and fetches at once, then as above.  NULL on failure
 * (logged; the threads that started are stopped).
 */
struct remotes *remotes_start(const char *db_path, unsigned poll_interval,
			      const struct remote_target *targets, size_t nr,
			      remote_fetched_fn *fetched, void *payload);

/* From any thread: every remote is fetched now (a fetch under way ends first). */
void remotes_kick(struct remotes *r);

/*
 * Stop the threads (a fetch under way is cut short) and free r.  NULL
 * is a no-op.
 */
void remotes_stop(struct remotes *r);

#endif
