/*
 * notify: the thread that delivers the outbox (see notify.h).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "db.h"
#include "log.h"
#include "notify.h"
#include "notify_mail.h"
#include "outbox.h"
#include "patchwork.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

#define CONNECT_TIMEOUT 10	/* seconds, at most the attempt's */
#define BACKOFF_MAX 3600	/* seconds */
#define POLL_MS 1000		/* look at least this often */
#define KICK_MS 50		/* after a kick, look this often ... */
#define KICK_LOOKS 20		/* ... this many times */
#define SECRET_MAX 4096
#define PATCHWORK_ANSWER_MAX (1 << 20)	/* bytes of a patch lookup kept */
#define ERROR_MAX 400

struct notify {
	const struct kstage_config *cfg;
	struct db *db;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int kicked;			/* under lock */
	atomic_int stop;
};

unsigned notify_backoff(unsigned base, unsigned tries)
{
	unsigned long long s = base ? base : 1;

	while (tries-- > 1 && s < BACKOFF_MAX)
		s *= 2;
	return s > BACKOFF_MAX ? BACKOFF_MAX : (unsigned)s;
}

/* outbox_event()'s kick: from any thread, inside its transaction. */
static void kick(void *arg)
{
	struct notify *n = arg;

	pthread_mutex_lock(&n->lock);
	n->kicked = 1;
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
}

static int progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct notify *n = arg;

	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&n->stop) ? 1 : 0;
}

/* An answer, kept up to its cap (the rest is read and dropped). */
struct answer {
	struct strbuf sb;
	size_t max;
};

static size_t sink(char *p, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t len = size * nmemb;

	if (a->sb.len < a->max)
		strbuf_add(&a->sb, p, len < a->max - a->sb.len ? len : a->max - a->sb.len);
	return len;
}

static void common_opts(struct notify *n, CURL *c, char *errbuf, const char *ca_file)
{
	long t = (long)n->cfg->notify_timeout;

	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, t);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, t < CONNECT_TIMEOUT ? t : CONNECT_TIMEOUT);
	if (ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, n);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	errbuf[0] = '\0';
}

/* A secret file's contents without trailing newlines; -1 if unreadable. */
static int read_secret(struct strbuf *out, const char *path)
{
	if (strbuf_read_file(out, path, SECRET_MAX) < 0)
		return -1;
	while (out->len && (out->buf[out->len - 1] == '\n' || out->buf[out->len - 1] == '\r'))
		out->buf[--out->len] = '\0';
	return 0;
}

/*
 * One HTTP call (a POST of body, or a GET when body is NULL), its answer
 * in a (capped): 0 a 2xx, -1 otherwise (*code, why set).
 */
static int http_call(struct notify *n, const char *url, struct curl_slist *headers,
		     const char *body, const char *ca_file, struct answer *a,
		     long *code, struct strbuf *why)
{
	char errbuf[CURL_ERROR_SIZE];
	CURL *c = curl_easy_init();
	CURLcode rc;
	size_t i;
	int ret = -1;

	*code = 0;
	if (!c) {
		strbuf_adds(why, "curl_easy_init failed");
		return -1;
	}
	common_opts(n, c, errbuf, ca_file);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kstage");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		strbuf_adds(why, *errbuf ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	if (*code < 200 || *code > 299) {
		strbuf_addf(why, "HTTP %ld", *code);
		if (a->sb.len) {
			strbuf_adds(why, ": ");
			for (i = 0; i < a->sb.len && i < 200; i++)
				strbuf_addch(why, (unsigned char)a->sb.buf[i] < 0x20 ?
					     ' ' : a->sb.buf[i]);
		}
		goto out;
	}
	ret = 0;
out:
	curl_easy_cleanup(c);
	return ret;
}

/* One webhook call: 0 delivered, -1 failed (*code, why set). */
static int send_webhook(struct notify *n, const struct outbox_item *it, long *code,
			struct strbuf *why)
{
	const struct webhook_def *w = NULL;
	struct strbuf h = STRBUF_INIT, secret = STRBUF_INIT;
	struct answer a = { STRBUF_INIT, 1024 };
	struct curl_slist *headers = NULL;
	size_t i;
	int ret = -1;

	*code = 0;
	for (i = 0; i < n->cfg->nr_webhooks && !w; i++)
		if (!strcmp(n->cfg->webhooks[i].url, it->target))
			w = &n->cfg->webhooks[i];
	if (!w) {
		strbuf_adds(why, "this webhook is no longer configured");
		goto out;
	}
	strbuf_addf(&h, "X-Kstage-Event: %s", it->kind);
	headers = curl_slist_append(headers, h.buf);
	strbuf_reset(&h);
	strbuf_addf(&h, "X-Kstage-Delivery: %lld", it->id);
	headers = curl_slist_append(headers, h.buf);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	if (w->secret_file) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;

		if (read_secret(&secret, w->secret_file) < 0) {
			strbuf_addf(why, "cannot read the secret file %s: %s",
				    w->secret_file, strerror(errno));
			goto out;
		}
		if (!HMAC(EVP_sha256(), secret.buf ? secret.buf : "", (int)secret.len,
			  (const unsigned char *)it->payload, strlen(it->payload), md,
			  &mdlen)) {
			strbuf_adds(why, "HMAC-SHA256 failed");
			goto out;
		}
		strbuf_reset(&h);
		strbuf_adds(&h, "X-Kstage-Signature: sha256=");
		for (i = 0; i < mdlen; i++)
			strbuf_addf(&h, "%02x", md[i]);
		headers = curl_slist_append(headers, h.buf);
	}
	ret = http_call(n, it->target, headers, it->payload, w->ca_file, &a, code, why);
out:
	curl_slist_free_all(headers);
	strbuf_release(&h);
	strbuf_release(&secret);
	strbuf_release(&a.sb);
	return ret;
}

/*
 * One Patchwork check (patchwork.h): find the patch by its Message-ID,
 * then post the check on it.  A patch Patchwork does not know (yet: it
 * may still be reading the list) is a failed attempt, retried.
 */
static int send_patchwork(struct notify *n, const struct outbox_item *it, long *code,
			  struct strbuf *why)
{
	const struct patchwork_def *pw = n->cfg->patchwork;
	struct strbuf url = STRBUF_INIT, h = STRBUF_INIT, token = STRBUF_INIT;
	struct strbuf e = STRBUF_INIT;
	struct answer a = { STRBUF_INIT, PATCHWORK_ANSWER_MAX };
	struct curl_slist *headers = NULL;
	json_t *o = NULL;
	char *body = NULL;
	long long patch_id;
	int ret = -1;

	*code = 0;
	if (!pw || strcmp(pw->url, it->target)) {
		strbuf_adds(why, "this Patchwork is no longer configured");
		goto out;
	}
	o = json_loads(it->payload ? it->payload : "", 0, NULL);
	body = o ? patchwork_check_body(o) : NULL;
	if (!body || patchwork_lookup_url(pw, o, &url) < 0) {
		strbuf_adds(why, "the stored check is not readable");
		goto out;
	}
	if (read_secret(&token, pw->token_file) < 0) {
		strbuf_addf(why, "cannot read the token file %s: %s", pw->token_file,
			    strerror(errno));
		goto out;
	}
	headers = curl_slist_append(headers, "Accept: application/json");
	if (http_call(n, url.buf, headers, NULL, pw->ca_file, &a, code, &e) < 0) {
		strbuf_addf(why, "looking the patch up: %s", strbuf_str(&e));
		goto out;
	}
	patch_id = patchwork_patch_id(a.sb.buf ? a.sb.buf : "", a.sb.len);
	if (patch_id <= 0) {
		strbuf_addf(why, patch_id == 0 ? "Patchwork does not know <%s> (yet)" :
			    "looking <%s> up: not a patch list", json_string_value(
				    json_object_get(o, "msgid")));
		goto out;
	}
	strbuf_addf(&h, "Authorization: Token %s", token.buf ? token.buf : "");
	headers = curl_slist_append(headers, h.buf);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	strbuf_reset(&url);
	patchwork_checks_url(pw, patch_id, &url);
	strbuf_reset(&a.sb);
	a.max = 1024;
	if (http_call(n, url.buf, headers, body, pw->ca_file, &a, code, &e) < 0) {
		strbuf_addf(why, "posting the check on patch %lld: %s", patch_id,
			    strbuf_str(&e));
		goto out;
	}
	ret = 0;
out:
	/* The token is in a header: wipe both. */
	memset(h.buf ? h.buf : "", 0, h.buf ? h.len : 0);
	memset(token.buf ? token.buf : "", 0, token.buf ? token.len : 0);
	curl_slist_free_all(headers);
	json_decref(o);
	free(body);
	strbuf_release(&url);
	strbuf_release(&h);
	strbuf_release(&token);
	strbuf_release(&e);
	strbuf_release(&a.sb);
	return ret;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t feed(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb;

	if (n > u->left)
		n = u->left;
	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

/* One SMTP transaction: 0 delivered, -1 failed (*code, why set). */
static int send_mail(struct notify *n, const struct outbox_item *it, long *code,
		     struct strbuf *why)
{
	const struct mail_def *md = n->cfg->mail;
	struct strbuf from = STRBUF_INIT, pw = STRBUF_INIT;
	struct curl_slist *rcpt = NULL;
	char errbuf[CURL_ERROR_SIZE];
	json_t *o = NULL, *v;
	struct upload u;
	CURL *c = NULL;
	CURLcode rc;
	size_t i;
	int ret = -1;

	*code = 0;
	if (!md || strcmp(md->url, it->target)) {
		strbuf_adds(why, "this mail server is no longer configured");
		goto out;
	}
	o = json_loads(it->payload, 0, NULL);
	if (!o || !json_is_string(json_object_get(o, "message"))) {
		strbuf_adds(why, "the stored mail is not readable");
		goto out;
	}
	json_array_foreach(json_object_get(o, "rcpt"), i, v) {
		struct strbuf a = STRBUF_INIT;

		strbuf_addf(&a, "<%s>", json_string_value(v));
		rcpt = curl_slist_append(rcpt, a.buf);
		strbuf_release(&a);
	}
	strbuf_addf(&from, "<%s>", md->from);
	if (md->password_file && read_secret(&pw, md->password_file) < 0) {
		strbuf_addf(why, "cannot read the password file %s: %s",
			    md->password_file, strerror(errno));
		goto out;
	}
	u.p = json_string_value(json_object_get(o, "message"));
	u.left = strlen(u.p);
	c = curl_easy_init();
	if (!c) {
		strbuf_adds(why, "curl_easy_init failed");
		goto out;
	}
	common_opts(n, c, errbuf, md->ca_file);
	curl_easy_setopt(c, CURLOPT_URL, md->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.buf);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, feed);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	if (md->starttls)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (md->username)
		curl_easy_setopt(c, CURLOPT_USERNAME, md->username);
	if (md->password_file)
		curl_easy_setopt(c, CURLOPT_PASSWORD, strbuf_str(&pw));
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	if (rc != CURLE_OK) {
		strbuf_adds(why, *errbuf ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	ret = 0;
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	json_decref(o);
	strbuf_release(&from);
	strbuf_release(&pw);
	return ret;
}

static void deliver(struct notify *n, struct outbox_item *it)
{
	struct strbuf why = STRBUF_INIT;
	unsigned tries = (unsigned)it->tries + 1;
	long long retry_at = 0;
	long code = 0;
	int rc;

	if (!strcmp(it->channel, "mail") && !it->payload) {
		char *p = NULL;

		/* Composed once, then the same text at every attempt. */
		if (!n->cfg->mail || notify_mail_compose(n->db, n->cfg, it, &p) < 0 ||
		    outbox_set_payload(n->db, it->id, p) < 0) {
			free(p);
			strbuf_adds(&why, "cannot compose the mail");
			goto failed;
		}
		it->payload = p;
	}
	if (!strcmp(it->channel, "mail"))
		rc = send_mail(n, it, &code, &why);
	else if (!strcmp(it->channel, "patchwork"))
		rc = send_patchwork(n, it, &code, &why);
	else
		rc = send_webhook(n, it, &code, &why);
	if (atomic_load(&n->stop) && rc < 0) {
		strbuf_release(&why);
		return;		/* abandoned: still pending, tried at the next start */
	}
	if (rc == 0) {
		if (outbox_record(n->db, it->id, 1, code, NULL, 0) < 0)
			error("outbox %lld: delivered to %s but not recorded", it->id,
			      it->target);
		else
			info("outbox %lld: %s %s delivered to %s (attempt %u)", it->id,
			     it->channel, it->kind, it->target, tries);
		strbuf_release(&why);
		return;
	}
failed:
	if (why.len > ERROR_MAX)
		why.buf[why.len = ERROR_MAX] = '\0';
	if (tries < n->cfg->notify_tries)
		retry_at = now_wall_ms() +
			1000LL * notify_backoff(n->cfg->notify_backoff, tries);
	warn("outbox %lld: %s %s to %s, attempt %u of %u: %s%s", it->id, it->channel,
	     it->kind, it->target, tries, n->cfg->notify_tries, why.buf,
	     retry_at ? "" : "; giving up");
	outbox_record(n->db, it->id, 0, code, why.buf, retry_at);
	strbuf_release(&why);
}

static void *run(void *arg)
{
	struct notify *n = arg;
	int looks = 0;

	while (!atomic_load(&n->stop)) {
		struct outbox_item it = OUTBOX_ITEM_INIT;
		long long now = now_wall_ms(), next_at = 0, wait_ms;
		struct timespec ts;
		int rc = outbox_next(n->db, now, &it, &next_at);

		if (rc == 1) {
			deliver(n, &it);
			outbox_item_release(&it);
			continue;
		}
		wait_ms = looks > 0 ? KICK_MS : POLL_MS;
		if (looks > 0)
			looks--;
		if (next_at && next_at - now < wait_ms)
			wait_ms = next_at - now;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&n->lock);
		while (!n->kicked && !atomic_load(&n->stop) &&
		       pthread_cond_timedwait(&n->cond, &n->lock, &ts) != ETIMEDOUT)
			;
		if (n->kicked) {
			n->kicked = 0;
			looks = KICK_LOOKS;
		}
		pthread_mutex_unlock(&n->lock);
	}
	return NULL;
}

struct notify *notify_start(const struct kstage_config *cfg)
{
	struct notify *n;
	sigset_t all, old;
	int rc;

	if (!cfg->nr_webhooks && !cfg->mail && !cfg->patchwork)
		return NULL;
	n = xcalloc(1, sizeof(*n));
	n->cfg = cfg;
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->cond, NULL);
	n->db = db_open(cfg->db);
	if (!n->db)
		goto fail;
	/*
	 * The thread takes no signal (the loop reads them from a signalfd,
	 * which needs them blocked in every thread): block all around the
	 * create, the thread inherits the mask.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&n->thread, NULL, run, n);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		error("cannot start the notification sender");
		goto fail;
	}
	outbox_configure(cfg, kick, n);
	info("notifications: %zu webhook(s)%s%s", cfg->nr_webhooks,
	     cfg->mail ? ", mail" : "", cfg->patchwork ? ", Patchwork checks" : "");
	return n;
fail:
	db_close(n->db);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->cond);
	free(n);
	return NULL;
}

void notify_stop(struct notify *n)
{
	if (!n)
		return;
	outbox_configure(NULL, NULL, NULL);
	atomic_store(&n->stop, 1);
	pthread_mutex_lock(&n->lock);
	pthread_cond_signal(&n->cond);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	db_close(n->db);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->cond);
	free(n);
}
