/*
 * remote: the mirror of a plan's remote, its fetch (libgit2), the socket
 * stream that gives every connection a timeout, and the fetch threads
 * (see remote.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <git2.h>
#include <git2/sys/stream.h>

#include "db.h"
#include "log.h"
#include "remote.h"
#include "repo.h"
#include "stages.h"
#include "wrapper.h"
#include "banned.h"

#define TOKEN_MAX 4096			/* bytes of a token file */
#define REFS_MAX 100000			/* refs a fetch may write */
#define CREDENTIAL_TRIES 3		/* a server that refuses them keeps asking */

unsigned remote_backoff(unsigned poll_interval, unsigned failures)
{
	unsigned base = poll_interval ? poll_interval : REMOTE_RETRY_BASE;
	unsigned cap = poll_interval > REMOTE_BACKOFF_MAX ? poll_interval
							   : REMOTE_BACKOFF_MAX;
	unsigned long long d;

	if (!failures)
		return poll_interval;
	d = (unsigned long long)base << (failures - 1 < 20 ? failures - 1 : 20);
	return d > cap ? cap : (unsigned)d;
}

/* --- the socket stream --------------------------------------------------------- */

/*
 * libgit2 opens every connection through the registered standard stream
 * (git_socket_stream_new() asks the registry).  The layout of the first
 * four members is libgit2's own git_socket_stream: its ssh transport
 * reaches through the stream for the socket (GIT_CONTAINER_OF(io,
 * git_socket_stream, parent)->s) and hands it to libssh2.
 */
struct kstream {
	git_stream parent;
	char *host;
	char *port;
	int s;
};

static int io_timeout_ms = 60 * 1000;
/* The read end of the fetch threads' stop pipe, in a fetch thread. */
static __thread int cancel_fd = -1;

/*
 * Wait for events on fd, at most the timeout, or until the threads stop:
 * 1 ready, 0 timed out, -1 stopped or failed (errno).
 */
static int wait_fd(int fd, short events)
{
	struct pollfd p[2];
	double end = now_monotonic() + io_timeout_ms / 1000.0;
	int rc, left;

	p[0].fd = fd;
	p[0].events = events;
	p[1].fd = cancel_fd;
	p[1].events = POLLIN;
	for (;;) {
		left = (int)((end - now_monotonic()) * 1000);
		if (left < 0)
			left = 0;
		p[0].revents = p[1].revents = 0;
		rc = poll(p, cancel_fd >= 0 ? 2 : 1, left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		if (rc > 0 && cancel_fd >= 0 && p[1].revents) {
			errno = ECANCELED;
			return -1;
		}
		return rc > 0 ? 1 : 0;
	}
}

static void keepalive(int fd)
{
	int on = 1, idle = io_timeout_ms / 1000 ? io_timeout_ms / 1000 : 1, cnt = 3;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* One address: a connected non-blocking socket, or -1 with errno. */
static int connect_one(const struct addrinfo *a)
{
	int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			a->ai_protocol);
	int err = 0, rc;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -1;
	if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		err = errno;
	} else if ((rc = wait_fd(fd, POLLOUT)) <= 0) {
		err = rc == 0 ? ETIMEDOUT : errno;
	} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
		err = errno;
	}
	if (!err)
		return fd;
	close(fd);
	errno = err;
	return -1;
}

static int kstream_connect(git_stream *stream)
{
	struct kstream *st = (struct kstream *)stream;
	struct addrinfo hints, *info = NULL, *a;
	int rc, err = ECONNREFUSED;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(st->host, st->port, &hints, &info);
	if (rc) {
		git_error_set(GIT_ERROR_NET, "cannot resolve %s: %s", st->host,
			      gai_strerror(rc));
		return -1;
	}
	for (a = info; a && st->s < 0; a = a->ai_next) {
		st->s = connect_one(a);
		if (st->s < 0)
			err = errno;
		if (err == ECANCELED)
			break;
	}
	freeaddrinfo(info);
	if (st->s < 0) {
		if (err == ETIMEDOUT)
			git_error_set(GIT_ERROR_NET, "cannot connect to %s port %s: "
				      "no answer in %d s", st->host, st->port,
				      io_timeout_ms / 1000);
		else
			git_error_set(GIT_ERROR_NET, "cannot connect to %s port %s: %s",
				      st->host, st->port, strerror(err));
		return -1;
	}
	keepalive(st->s);
	return 0;
}

/* The error of a wait that did not end ready (rc 0 or -1). */
static int io_failed(struct kstream *st, int rc, const char *what)
{
	if (rc == 0)
		git_error_set(GIT_ERROR_NET, "%s %s: nothing for %d s, gave up",
			      what, st->host, io_timeout_ms / 1000);
	else if (errno == ECANCELED)
		git_error_set(GIT_ERROR_NET, "%s %s: the daemon is stopping", what,
			      st->host);
	else
		git_error_set(GIT_ERROR_NET, "%s %s: %s", what, st->host, strerror(errno));
	return -1;
}

static ssize_t kstream_read(git_stream *stream, void *data, size_t len)
{
	struct kstream *st = (struct kstream *)stream;
	ssize_t n;
	int rc;

	for (;;) {
		n = recv(st->s, data, len, 0);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return io_failed(st, -1, "reading from");
		if ((rc = wait_fd(st->s, POLLIN)) <= 0)
			return io_failed(st, rc, "reading from");
	}
}

static ssize_t kstream_write(git_stream *stream, const char *data, size_t len,
			     int flags)
{
	struct kstream *st = (struct kstream *)stream;
	size_t done = 0;
	ssize_t n;
	int rc;

	while (done < len) {
		n = send(st->s, data + done, len - done, MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return io_failed(st, -1, "writing to");
		if ((rc = wait_fd(st->s, POLLOUT)) <= 0)
			return io_failed(st, rc, "writing to");
	}
	return (ssize_t)len;
}

static int kstream_close(git_stream *stream)
{
	struct kstream *st = (struct kstream *)stream;

	if (st->s >= 0)
		close(st->s);
	st->s = -1;
	return 0;
}

static void kstream_free(git_stream *stream)
{
	struct kstream *st = (struct kstream *)stream;

	kstream_close(stream);
	free(st->host);
	free(st->port);
	free(st);
}

static int kstream_new(git_stream **out, const char *host, const char *port)
{
	struct kstream *st = xcalloc(1, sizeof(*st));

	st->parent.version = GIT_STREAM_VERSION;
	st->parent.connect = kstream_connect;
	st->parent.read = kstream_read;
	st->parent.write = kstream_write;
	st->parent.close = kstream_close;
	st->parent.free = kstream_free;
	st->host = xstrdup(host);
	st->port = xstrdup(port ? port : "");
	st->s = -1;
	*out = &st->parent;
	return 0;
}

int remote_global_init(unsigned timeout)
{
	git_stream_registration reg = { GIT_STREAM_VERSION, kstream_new, NULL };

	io_timeout_ms = (int)(timeout ? timeout : 1) * 1000;
	if (git_stream_register(GIT_STREAM_STANDARD, &reg) < 0)
		return error("cannot register the socket stream: %s",
			     git_error_last() ? git_error_last()->message : "?");
	return 0;
}

/* --- the mirror ------------------------------------------------------------------ */

int remote_mirror_init(const struct plan_def *plan, int *created)
{
	git_repository *repo = NULL;
	struct stat st;

	*created = 0;
	if (lstat(plan->repo, &st) == 0 || errno != ENOENT)
		return 0;
	/* git_repository_init() makes the missing parent directories too. */
	if (git_repository_init(&repo, plan->repo, 1) < 0)
		return error("plan %s: cannot create the mirror %s: %s", plan->name,
			     plan->repo, git_error_last() ? git_error_last()->message : "?");
	git_repository_free(repo);
	*created = 1;
	return 0;
}

/* --- one fetch ----------------------------------------------------------------------- */

struct fetch_ctx {
	const struct plan_def *plan;
	const atomic_int *stop;
	double deadline;		/* monotonic */
	unsigned tries;			/* credentials handed out */
	int moved;			/* refs updated */
};

/* A callback's reason to end the fetch now: -1 with libgit2's error set. */
static int cut_short(struct fetch_ctx *c)
{
	if (c->stop && atomic_load(c->stop)) {
		git_error_set_str(GIT_ERROR_NET, "the daemon is stopping");
		return -1;
	}
	if (now_monotonic() > c->deadline) {
		git_error_set(GIT_ERROR_NET, "the fetch took more than %d s",
			      REMOTE_FETCH_MAX);
		return -1;
	}
	return 0;
}

static int on_transfer(const git_indexer_progress *stats, void *payload)
{
	return cut_short(payload);
}

static int on_sideband(const char *str, int len, void *payload)
{
	return cut_short(payload);
}

static int on_update_tips(const char *refname, const git_oid *a, const git_oid *b,
			  void *payload)
{
	struct fetch_ctx *c = payload;

	c->moved++;
	debug("plan %s: %s moved", c->plan->name, refname);
	return 0;
}

/*
 * The token file's first line, at most TOKEN_MAX bytes, into buf.  0 or
 * -1 (libgit2's error set, without the content).
 */
static int read_token(char *buf, size_t size, const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n;
	int ret = 0;

	if (strbuf_read_file(&sb, path, size - 1) < 0 || sb.truncated) {
		git_error_set(GIT_ERROR_NET, "cannot read the token file %s: %s", path,
			      sb.truncated ? "too large" : strerror(errno));
		ret = -1;
	} else {
		n = strcspn(strbuf_str(&sb), "\r\n");
		memcpy(buf, strbuf_str(&sb), n);
		buf[n] = '\0';
		if (!n) {
			git_error_set(GIT_ERROR_NET, "the token file %s is empty", path);
			ret = -1;
		}
	}
	if (sb.buf)
		explicit_bzero(sb.buf, sb.alloc);
	strbuf_release(&sb);
	return ret;
}

static int on_credentials(git_credential **out, const char *url,
			  const char *user_from_url, unsigned int allowed,
			  void *payload)
{
	struct fetch_ctx *c = payload;
	const struct remote_def *r = c->plan->remote;
	const char *user = r->username ? r->username
				       : user_from_url ? user_from_url : "git";
	char token[TOKEN_MAX + 1];
	int rc;

	if (++c->tries > CREDENTIAL_TRIES) {
		git_error_set_str(GIT_ERROR_NET, "authentication failed: the remote"
				  " refused the plan's credentials");
		return GIT_EAUTH;
	}
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && r->ssh_key)
		return git_credential_ssh_key_new(out, user, r->ssh_public_key,
						  r->ssh_key, NULL);
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && r->token_file) {
		if (read_token(token, sizeof(token), r->token_file) < 0)
			return -1;
		rc = git_credential_userpass_plaintext_new(out, user, token);
		explicit_bzero(token, sizeof(token));
		return rc;
	}
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	git_error_set_str(GIT_ERROR_NET, "the remote asks for credentials the plan"
			  " does not give (remote.credentials: token_file for https,"
			  " ssh_key for ssh)");
	return GIT_EAUTH;
}

/* The unpadded base64 of n bytes (as ssh-keygen prints fingerprints). */
static void base64(char *out, const unsigned char *in, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				  "0123456789+/";
	size_t i;
	unsigned v;

	for (i = 0; i < n; i += 3) {
		v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
		    (i + 2 < n ? in[i + 2] : 0);
		*out++ = abc[v >> 18 & 63];
		*out++ = abc[v >> 12 & 63];
		if (i + 1 < n)
			*out++ = abc[v >> 6 & 63];
		if (i + 2 < n)
			*out++ = abc[v & 63];
	}
	*out = '\0';
}

/*
 * An ssh server must show the host key the plan pins; an https
 * certificate is libgit2's to judge (against the system's CAs).
 */
static int on_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
	struct fetch_ctx *c = payload;
	const char *pin = c->plan->remote->ssh_host_key;
	const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
	char seen[7 + 45] = "SHA256:";

	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return GIT_PASSTHROUGH;
	if (!(hk->type & GIT_CERT_SSH_SHA256)) {
		git_error_set(GIT_ERROR_NET, "ssh host %s: no SHA-256 host key"
			      " fingerprint to check", host);
		return -1;
	}
	base64(seen + 7, hk->hash_sha256, sizeof(hk->hash_sha256));
	if (pin && !strcmp(pin, seen))
		return 0;
	git_error_set(GIT_ERROR_NET, "ssh host %s shows host key %s; %s", host, seen,
		      pin ? "the plan pins another one (remote.ssh_host_key)"
			  : "pin it as remote.ssh_host_key if it is the right one");
	return -1;
}

static void init_callbacks(git_remote_callbacks *cb, struct fetch_ctx *c)
{
	cb->credentials = on_credentials;
	cb->certificate_check = on_certificate;
	cb->transfer_progress = on_transfer;
	cb->sideband_progress = on_sideband;
	cb->update_tips = on_update_tips;
	cb->payload = c;
}

struct refspecs {
	char **v;
	size_t nr, alloc;
};

static void refspecs_release(struct refspecs *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Does the list write dst already (the first refspec that does wins)? */
static int refspecs_writes(const struct refspecs *l, const char *dst)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		if (!strcmp(strchr(l->v[i], ':') + 1, dst))
			return 1;
	return 0;
}

/*
 * The plan's refspecs made explicit against what the remote advertises,
 * one "[+]SRC:DST" per ref, without the one whose DST is the plan's
 * integration branch (libgit2 1.5 knows no negative refspecs).
 */
static int expand_refspecs(struct refspecs *out, git_remote *remote,
			   const struct plan_def *plan)
{
	const git_remote_head **heads;
	struct strbuf integ = STRBUF_INIT, one = STRBUF_INIT;
	size_t nr_heads, i, j;
	int ret = -1;

	if (git_remote_ls(&heads, &nr_heads, remote) < 0)
		return -1;
	if (plan->integration)
		repo_branch_ref(&integ, plan->integration);
	for (i = 0; i < plan->remote->nr_fetch; i++) {
		git_refspec *spec = NULL;

		if (git_refspec_parse(&spec, plan->remote->fetch[i], 1) < 0)
			goto out;
		for (j = 0; j < nr_heads; j++) {
			const char *name = heads[j]->name;
			git_buf dst = { 0 };

			if (!git_refspec_src_matches(spec, name) ||
			    strstr(name, "^{}") ||
			    git_refspec_transform(&dst, spec, name) < 0)
				continue;
			if (integ.len && !strcmp(dst.ptr, strbuf_str(&integ))) {
				debug("plan %s: %s is the integration branch: not fetched",
				      plan->name, dst.ptr);
			} else if (!refspecs_writes(out, dst.ptr) && out->nr < REFS_MAX) {
				strbuf_reset(&one);
				strbuf_addf(&one, "%s%s:%s", git_refspec_force(spec) ? "+" : "",
					    name, dst.ptr);
				ALLOC_GROW(out->v, out->nr + 1, out->alloc);
				out->v[out->nr++] = strbuf_detach(&one);
			}
			git_buf_dispose(&dst);
		}
		git_refspec_free(spec);
	}
	ret = 0;
out:
	strbuf_release(&integ);
	strbuf_release(&one);
	return ret;
}

int remote_fetch(const struct plan_def *plan, const atomic_int *stop,
		 int *moved, struct strbuf *why)
{
	struct fetch_ctx c = { plan, stop, now_monotonic() + REMOTE_FETCH_MAX, 0, 0 };
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	git_proxy_options proxy = GIT_PROXY_OPTIONS_INIT;
	struct refspecs specs = { NULL, 0, 0 };
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	struct strbuf msg = STRBUF_INIT;
	git_strarray arr;
	size_t i;
	int ret = -1;

	*moved = 0;
	git_error_clear();
	init_callbacks(&fo.callbacks, &c);
	fo.prune = GIT_FETCH_NO_PRUNE;
	fo.update_fetchhead = 0;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_AUTO;
	if (git_repository_open(&repo, plan->repo) < 0 ||
	    git_remote_create_anonymous(&remote, repo, plan->remote->url) < 0 ||
	    git_remote_connect(remote, GIT_DIRECTION_FETCH, &fo.callbacks, &proxy,
			       NULL) < 0 ||
	    expand_refspecs(&specs, remote, plan) < 0)
		goto out;
	if (specs.nr) {
		arr.strings = specs.v;
		arr.count = specs.nr;
		strbuf_addf(&msg, "kstage: fetch %s", plan->remote->url);
		if (git_remote_fetch(remote, &arr, &fo, strbuf_str(&msg)) < 0)
			goto out;
	}
	*moved = c.moved;
	ret = 0;
out:
	if (ret < 0) {
		const git_error *e = git_error_last();

		strbuf_reset(why);
		strbuf_adds(why, e && e->message ? e->message : "the fetch failed");
		/* One line: libgit2's texts may carry a server's lines. */
		for (i = 0; i < why->len; i++)
			if ((unsigned char)why->buf[i] < ' ')
				why->buf[i] = ' ';
	}
	if (remote)
		git_remote_disconnect(remote);
	git_remote_free(remote);
	git_repository_free(repo);
	refspecs_release(&specs);
	strbuf_release(&msg);
	return ret;
}

/* --- the fetch threads ------------------------------------------------------------ */

struct remote_job {
	struct remotes *owner;
	const struct plan_def *plan;
	long long plan_id;
	pthread_t thread;
	int started;
	int kick;			/* under owner->lock */
};

struct remotes {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* on CLOCK_MONOTONIC */
	int stop;			/* under lock */
	atomic_int stopping;		/* the same, for the fetch's callbacks */
	int stop_pipe[2];		/* written once at stop: cuts streams short */
	char *db_path;
	unsigned poll_interval;
	remote_fetched_fn *fetched;
	void *payload;
	struct remote_job *jobs;
	size_t nr;
};

/*
 * Wait until the job's next fetch is due (next, monotonic; INFINITY: on
 * request only), it is kicked, or the threads stop.  1 to fetch, 0 to
 * stop.
 */
static int wait_turn(struct remote_job *j, double next)
{
	struct remotes *r = j->owner;
	struct timespec ts;
	int go;

	pthread_mutex_lock(&r->lock);
	while (!r->stop && !j->kick) {
		double now = now_monotonic(), at;
		struct timespec mono;

		if (next <= now)
			break;
		if (isinf(next)) {
			pthread_cond_wait(&r->cond, &r->lock);
			continue;
		}
		/* now_monotonic() is CLOCK_MONOTONIC: so is the condition's clock. */
		clock_gettime(CLOCK_MONOTONIC, &mono);
		at = (double)mono.tv_sec + mono.tv_nsec / 1e9 + (next - now);
		ts.tv_sec = (time_t)at;
		ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
		pthread_cond_timedwait(&r->cond, &r->lock, &ts);
	}
	go = !r->stop;
	j->kick = 0;
	pthread_mutex_unlock(&r->lock);
	return go;
}

static void *fetch_thread(void *arg)
{
	struct remote_job *j = arg;
	struct remotes *r = j->owner;
	const struct plan_def *plan = j->plan;
	struct strbuf why = STRBUF_INIT;
	struct db *db = db_open(r->db_path);
	unsigned failures, delay;
	double next = 0;
	int moved, rc;

	if (!db) {
		error("plan %s: no database connection: the remote is not followed",
		      plan->name);
		return NULL;
	}
	cancel_fd = r->stop_pipe[0];
	failures = stages_fetch_failures(db, j->plan_id);
	while (wait_turn(j, next)) {
		rc = remote_fetch(plan, &r->stopping, &moved, &why);
		if (atomic_load(&r->stopping))
			break;	/* cut short by the stop: not the remote's fault */
		failures = rc < 0 ? failures + 1 : 0;
		delay = remote_backoff(r->poll_interval, failures);
		next = delay ? now_monotonic() + delay : INFINITY;
		if (rc < 0)
			warn("plan %s: fetch of %s failed (%u in a row), next in %u s: %s",
			     plan->name, plan->remote->url, failures, delay,
			     strbuf_str(&why));
		else
			debug("plan %s: fetched %s, %d ref(s) moved", plan->name,
			      plan->remote->url, moved);
		if (stages_fetch_done(db, j->plan_id, rc < 0 ? strbuf_str(&why) : NULL,
				      failures, delay ? now_wall_ms() + delay * 1000LL
						      : 0) < 0)
			warn("plan %s: the outcome of a fetch is not stored", plan->name);
		if (rc == 0 && moved && r->fetched)
			r->fetched(r->payload, j->plan_id);
	}
	strbuf_release(&why);
	db_close(db);
	return NULL;
}

struct remotes *remotes_start(const char *db_path, unsigned poll_interval,
			      const struct remote_target *targets, size_t nr,
			      remote_fetched_fn *fetched, void *payload)
{
	struct remotes *r = xcalloc(1, sizeof(*r));
	pthread_condattr_t ca;
	size_t i;

	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	r->stop_pipe[0] = r->stop_pipe[1] = -1;
	r->db_path = xstrdup(db_path);
	r->poll_interval = poll_interval;
	r->fetched = fetched;
	r->payload = payload;
	r->jobs = xcalloc(nr ? nr : 1, sizeof(*r->jobs));
	r->nr = nr;
	if (pipe2(r->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		error("pipe: %s", strerror(errno));
		remotes_stop(r);
		return NULL;
	}
	for (i = 0; i < nr; i++) {
		struct remote_job *j = &r->jobs[i];

		j->owner = r;
		j->plan = targets[i].plan;
		j->plan_id = targets[i].plan_id;
		if (pthread_create(&j->thread, NULL, fetch_thread, j)) {
			error("plan %s: cannot start its fetch thread", j->plan->name);
			remotes_stop(r);
			return NULL;
		}
		j->started = 1;
		info("plan %s: following %s into %s", j->plan->name,
		     j->plan->remote->url, j->plan->repo);
	}
	return r;
}

void remotes_kick(struct remotes *r)
{
	size_t i;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nr; i++)
		r->jobs[i].kick = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void remotes_stop(struct remotes *r)
{
	struct timespec ts;
	size_t i;
	int stuck = 0;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	atomic_store(&r->stopping, 1);
	if (r->stop_pipe[1] >= 0 && write(r->stop_pipe[1], "x", 1) < 0)
		warn("stop pipe: %s", strerror(errno));
	for (i = 0; i < r->nr; i++) {
		if (!r->jobs[i].started)
			continue;
		/*
		 * Our streams end at once; libssh2 reads its socket itself and
		 * may not: such a thread is left behind (the process is ending).
		 */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 10;
		if (pthread_timedjoin_np(r->jobs[i].thread, NULL, &ts)) {
			warn("plan %s: its fetch did not stop; left behind",
			     r->jobs[i].plan->name);
			pthread_detach(r->jobs[i].thread);
			stuck = 1;
		}
	}
	if (stuck)
		return;		/* what the threads use stays */
	if (r->stop_pipe[0] >= 0)
		close(r->stop_pipe[0]);
	if (r->stop_pipe[1] >= 0)
		close(r->stop_pipe[1]);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->jobs);
	free(r->db_path);
	free(r);
}
