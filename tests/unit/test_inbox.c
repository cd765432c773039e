/*
 * Unit tests of inbox.c: inbox_fetch_thread() against a tiny HTTP server
 * in a thread on loopback that answers each path with a canned response
 * (a good gzip, a 404, garbage, a truncated gzip, a gzip bomb, redirects,
 * silence), and the Message-ID rules, which fail before any request.
 */
#include "unit.h"

#include <pthread.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <curl/curl.h>
#include <zlib.h>

#include "inbox.h"
#include "strbuf.h"
#include "wrapper.h"

/* --- the canned server ------------------------------------------------------- */

struct canned {
	const char *path;	/* the request path it answers */
	const char *head;	/* status line and extra headers, CRLF-separated */
	const unsigned char *body;
	size_t len;
	int silent;		/* accept, read, then say nothing */
};

struct server {
	int fd;
	int port;
	pthread_t thread;
	const struct canned *routes;
	size_t nroutes;
	int requests;		/* how many requests arrived */
	char last_path[2048];
};

static void send_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;		/* the client hung up: fine */
		p += n;
		len -= (size_t)n;
	}
}

static void answer(struct server *s, int fd)
{
	char req[4096], line[512];
	size_t got = 0, i;
	const struct canned *c = NULL;

	while (got < sizeof(req) - 1 && !memmem(req, got, "\r\n\r\n", 4)) {
		ssize_t n = recv(fd, req + got, sizeof(req) - 1 - got, 0);

		if (n <= 0)
			return;
		got += (size_t)n;
	}
	req[got] = '\0';
	s->requests++;
	if (sscanf(req, "GET %2047s", s->last_path) != 1)
		s->last_path[0] = '\0';
	for (i = 0; i < s->nroutes; i++)
		if (!strcmp(s->routes[i].path, s->last_path))
			c = &s->routes[i];
	if (!c) {
		static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n"
			"Connection: close\r\n\r\nnot found\n";

		send_all(fd, nf, strlen(nf));
		return;
	}
	if (c->silent) {
		sleep(2);
		return;
	}
	snprintf(line, sizeof(line), "%s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		 c->head, c->len);
	send_all(fd, line, strlen(line));
	send_all(fd, c->body, c->len);
}

static void *serve(void *payload)
{
	struct server *s = payload;
	int fd;

	/* Closing the listening socket (server_stop) ends the loop. */
	while ((fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		answer(s, fd);
		close(fd);
	}
	return NULL;
}

static void server_start(struct server *s, const struct canned *routes, size_t n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->routes = routes;
	s->nroutes = n;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static char *base_of(const struct server *s, const char *rest)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "http://127.0.0.1:%d%s", s->port, rest);
	return strbuf_detach(&sb);
}

/* --- gzip for the canned bodies ------------------------------------------------ */

/* gzip "copies" times the len bytes at data (one member). */
static unsigned char *gz(const void *data, size_t len, size_t copies, size_t *outlen)
{
	z_stream zs = { 0 };
	size_t cap = len * copies / 2 + 65536, i;
	unsigned char *out = xmalloc(cap);

	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9,
				      Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_out = out;
	zs.avail_out = cap;
	for (i = 0; i < copies; i++) {
		zs.next_in = (unsigned char *)data;
		zs.avail_in = len;
		assert_int_equal(deflate(&zs, Z_NO_FLUSH), Z_OK);
		assert_int_equal(zs.avail_in, 0);
	}
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return out;
}

static const char MBOX[] =
	"From mboxrd@z Thu Jan  1 00:00:00 1970\n"
	"From: A U Thor <author@example.com>\n"
	"Subject: [PATCH 0/2] mm/hmm: build hmm.o\n"
	"Message-ID: <cover@example.com>\n"
	"\n"
	"cover\n"
	"\n"
	"From mboxrd@z Thu Jan  1 00:00:00 1970\n"
	"From: A U Thor <author@example.com>\n"
	"Subject: [PATCH 1/2] mm/hmm: build hmm.o\n"
	"Message-ID: <p1@example.com>\n"
	"In-Reply-To: <cover@example.com>\n"
	"\n"
	">From the start\n"
	"\n";

static const char OK[] = "HTTP/1.1 200 OK\r\nContent-Type: application/gzip";

/* --- tests --------------------------------------------------------------------- */

static void test_good_gzip(void **state)
{
	size_t n;
	unsigned char *body = gz(MBOX, strlen(MBOX), 1, &n);
	const struct canned routes[] = {
		{ "/inbox/cover@example.com/t.mbox.gz", OK, body, n, 0 },
	};
	struct server s;
	struct strbuf mbox = STRBUF_INIT;
	char *base, *err = (char *)"untouched";

	(void)state;
	server_start(&s, routes, 1);
	base = base_of(&s, "/inbox/");
	strbuf_adds(&mbox, "kept\n");
	/* With angle brackets and a trailing slash on the base. */
	assert_int_equal(inbox_fetch_thread(&mbox, base, "<cover@example.com>",
					    1 << 20, 10, &err), 0);
	assert_null(err);
	assert_int_equal(mbox.len, 5 + strlen(MBOX));
	assert_string_equal(mbox.buf + 5, MBOX);
	assert_memory_equal(mbox.buf, "kept\n", 5);
	assert_int_equal(s.requests, 1);
	assert_string_equal(s.last_path, "/inbox/cover@example.com/t.mbox.gz");
	server_stop(&s);
	strbuf_release(&mbox);
	free(base);
	free(body);
}

/* Two gzip members back to back are still one gzip file. */
static void test_concatenated_members(void **state)
{
	size_t n1, n2;
	unsigned char *a = gz("first\n", 6, 1, &n1), *b = gz("second\n", 7, 1, &n2);
	unsigned char *both = xmalloc(n1 + n2);
	const struct canned routes[] = {
		{ "/i/x@y/t.mbox.gz", OK, both, n1 + n2, 0 },
	};
	struct server s;
	struct strbuf mbox = STRBUF_INIT;
	char *base, *err = NULL;

	(void)state;
	memcpy(both, a, n1);
	memcpy(both + n1, b, n2);
	server_start(&s, routes, 1);
	base = base_of(&s, "/i");
	assert_int_equal(inbox_fetch_thread(&mbox, base, "x@y", 1 << 20, 10, &err), 0);
	assert_string_equal(mbox.buf, "first\nsecond\n");
	server_stop(&s);
	strbuf_release(&mbox);
	free(base);
	free(a);
	free(b);
	free(both);
}

static void test_404(void **state)
{
	struct server s;
	struct strbuf mbox = STRBUF_INIT;
	char *base, *err = NULL;

	(void)state;
	server_start(&s, NULL, 0);
	base = base_of(&s, "/inbox");
	strbuf_adds(&mbox, "kept");
	assert_int_equal(inbox_fetch_thread(&mbox, base, "nosuch@example.com",
					    1 << 20, 10, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err, "HTTP 404"));
	assert_non_null(strstr(err, "no message <nosuch@example.com>"));
	assert_non_null(strstr(err, base));
	assert_string_equal(mbox.buf, "kept");
	server_stop(&s);
	strbuf_release(&mbox);
	free(base);
	free(err);
}

static void expect_error(const struct canned *routes, size_t nroutes, const char *msgid,
			 size_t max, unsigned timeout, const char *want)
{
	struct server s;
	struct strbuf mbox = STRBUF_INIT;
	char *base, *err = NULL;

	server_start(&s, routes, nroutes);
	base = base_of(&s, "/i");
	assert_int_equal(inbox_fetch_thread(&mbox, base, msgid, max, timeout, &err), -1);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not say \"%s\"", err, want);
	assert_null(strchr(err, '\n'));
	/* Nothing of a failed fetch stays in the mbox. */
	assert_int_equal(mbox.len, 0);
	server_stop(&s);
	strbuf_release(&mbox);
	free(base);
	free(err);
}

static void test_garbage(void **state)
{
	static const unsigned char html[] = "<html><body>Welcome</body></html>\n";
	const struct canned routes[] = {
		{ "/i/x@y/t.mbox.gz", "HTTP/1.1 200 OK\r\nContent-Type: text/html",
		  html, sizeof(html) - 1, 0 },
	};

	(void)state;
	expect_error(routes, 1, "x@y", 1 << 20, 10, "not gzip data");
	expect_error(routes, 1, "x@y", 1 << 20, 10, "text/html");
}

static void test_empty_body(void **state)
{
	const struct canned routes[] = {
		{ "/i/x@y/t.mbox.gz", OK, (const unsigned char *)"", 0, 0 },
	};

	(void)state;
	expect_error(routes, 1, "x@y", 1 << 20, 10, "not gzip data");
}

static void test_truncated(void **state)
{
	size_t n;
	unsigned char *body = gz(MBOX, strlen(MBOX), 1, &n);
	const struct canned routes[] = {
		/* Without the 8-byte trailer, and cut into the data. */
		{ "/i/a@b/t.mbox.gz", OK, body, n - 8, 0 },
		{ "/i/c@d/t.mbox.gz", OK, body, n / 2, 0 },
	};

	(void)state;
	expect_error(routes, 2, "a@b", 1 << 20, 10, "truncated gzip data");
	expect_error(routes, 2, "c@d", 1 << 20, 10, "truncated gzip data");
	free(body);
}

static void test_corrupt(void **state)
{
	size_t n;
	unsigned char *body = gz(MBOX, strlen(MBOX), 1, &n);
	const struct canned routes[] = {
		{ "/i/a@b/t.mbox.gz", OK, body, n, 0 },
	};

	(void)state;
	/* A wrong CRC in the trailer. */
	body[n - 8] ^= 0xff;
	expect_error(routes, 1, "a@b", 1 << 20, 10, "corrupt gzip data");
	free(body);
}

/*
 * 50 MB of zeros compress to about 50 kB: with a 1 MB cap the fetch stops
 * at the cap, and the buffer never grew far past it.
 */
static void test_gzip_bomb(void **state)
{
	size_t n, max = 1 << 20;
	unsigned char *zeros = xcalloc(1, 1 << 20);
	unsigned char *body = gz(zeros, 1 << 20, 50, &n);
	const struct canned routes[] = {
		{ "/i/bomb@y/t.mbox.gz", OK, body, n, 0 },
	};
	struct server s;
	struct strbuf mbox = STRBUF_INIT;
	char *base, *err = NULL;

	(void)state;
	assert_true(n < max);
	server_start(&s, routes, 1);
	base = base_of(&s, "/i");
	assert_int_equal(inbox_fetch_thread(&mbox, base, "bomb@y", max, 10, &err), -1);
	assert_non_null(strstr(err, "thread larger than 1048576 bytes"));
	assert_int_equal(mbox.len, 0);
	assert_true(mbox.alloc <= 2 * max + 65536);
	server_stop(&s);
	strbuf_release(&mbox);
	free(base);
	free(err);
	free(body);
	free(zeros);
}

/* The cap holds for what comes over the wire too, not only for the mbox. */
static void test_compressed_too_big(void **state)
{
	size_t n;
	unsigned char *body = gz(MBOX, strlen(MBOX), 1, &n);
	const struct canned routes[] = {
		{ "/i/a@b/t.mbox.gz", OK, body, n, 0 },
	};

	(void)state;
	expect_error(routes, 1, "a@b", n - 1, 10, "thread larger than");
	free(body);
}

/* The caller's own strbuf cap is a limit as well. */
static void test_strbuf_cap(void **state)
{
	size_t n;
	unsigned char *body = gz(MBOX, strlen(MBOX), 1, &n);
	const struct canned routes[] = {
		{ "/i/a@b/t.mbox.gz", OK, body, n, 0 },
	};
	struct server s;
	struct strbuf mbox = STRBUF_INIT_MAX(64);
	char *base, *err = NULL;

	(void)state;
	server_start(&s, routes, 1);
	base = base_of(&s, "/i");
	strbuf_adds(&mbox, "0123456789");
	assert_int_equal(inbox_fetch_thread(&mbox, base, "a@b", 1 << 20, 10, &err), -1);
	assert_non_null(strstr(err, "thread larger than 54 bytes"));
	assert_string_equal(mbox.buf, "0123456789");
	assert_false(mbox.truncated);
	server_stop(&s);
	strbuf_release(&mbox);
	free(base);
	free(err);
	free(body);
}

static void test_http_error(void **state)
{
	const struct canned routes[] = {
		{ "/i/a@b/t.mbox.gz", "HTTP/1.1 503 Service Unavailable",
		  (const unsigned char *)"busy\n", 5, 0 },
		{ "/i/c@d/t.mbox.gz", "HTTP/1.1 300 Multiple Choices\r\nContent-Type: text/html",
		  (const unsigned char *)"<html>\n", 7, 0 },
	};

	(void)state;
	expect_error(routes, 2, "a@b", 1 << 20, 10, "HTTP 503 from GET http://127.0.0.1:");
	expect_error(routes, 2, "c@d", 1 << 20, 10, "HTTP 300 from GET");
}

static void test_redirects(void **state)
{
	size_t n;
	unsigned char *body = gz(MBOX, strlen(MBOX), 1, &n);
	const struct canned routes[] = {
		{ "/i/a@b/t.mbox.gz", "HTTP/1.1 302 Found\r\nLocation: /moved/a@b/t.mbox.gz", NULL, 0, 0 },
		{ "/moved/a@b/t.mbox.gz", OK, body, n, 0 },
		{ "/i/loop@b/t.mbox.gz", "HTTP/1.1 302 Found\r\nLocation: /i/loop@b/t.mbox.gz", NULL, 0, 0 },
		{ "/i/ftp@b/t.mbox.gz", "HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/x", NULL, 0, 0 },
		{ "/i/file@b/t.mbox.gz", "HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd", NULL, 0, 0 },
	};
	struct server s;
	struct strbuf mbox = STRBUF_INIT;
	char *base, *err = NULL;

	(void)state;
	server_start(&s, routes, 5);
	base = base_of(&s, "/i");
	assert_int_equal(inbox_fetch_thread(&mbox, base, "a@b", 1 << 20, 10, &err), 0);
	assert_string_equal(mbox.buf, MBOX);
	assert_int_equal(s.requests, 2);
	server_stop(&s);
	strbuf_release(&mbox);
	free(base);
	expect_error(routes, 5, "loop@b", 1 << 20, 10, "more than 3 redirects");
	expect_error(routes, 5, "ftp@b", 1 << 20, 10, "not an http:// or https:// URL");
	expect_error(routes, 5, "file@b", 1 << 20, 10, "not an http:// or https:// URL");
	free(body);
}

static void test_timeout(void **state)
{
	const struct canned routes[] = {
		{ "/i/slow@b/t.mbox.gz", NULL, NULL, 0, 1 },
	};
	double t0 = now_monotonic();

	(void)state;
	expect_error(routes, 1, "slow@b", 1 << 20, 1, "timed out after 1 s");
	assert_true(now_monotonic() - t0 < 5);
}

static void test_connection_refused(void **state)
{
	struct strbuf mbox = STRBUF_INIT;
	char *err = NULL;
	struct server s;
	char *base;

	(void)state;
	/* A port that was free a moment ago. */
	server_start(&s, NULL, 0);
	base = base_of(&s, "/i");
	server_stop(&s);
	assert_int_equal(inbox_fetch_thread(&mbox, base, "a@b", 1 << 20, 10, &err), -1);
	assert_non_null(strstr(err, "connection refused"));
	free(err);
	err = NULL;
	assert_int_equal(inbox_fetch_thread(&mbox, "ftp://127.0.0.1/i", "a@b", 1 << 20, 10, &err), -1);
	assert_non_null(strstr(err, "not an http:// or https:// URL"));
	free(err);
	free(base);
	strbuf_release(&mbox);
}

static void test_bad_msgid(void **state)
{
	static const char *const bad[] = {
		"", "<>", "a b", "<a b>", "a\tb", "a\nb", "a\rb", "a\177b", "a<b", "a>b",
		"<<a>>", ".", "..", "<..>", " <a@b>",
	};
	char long_id[1001];
	struct server s;
	struct strbuf mbox = STRBUF_INIT;
	char *base, *err = NULL;
	size_t i;

	(void)state;
	server_start(&s, NULL, 0);
	base = base_of(&s, "/i");
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err = NULL;
		if (inbox_fetch_thread(&mbox, base, bad[i], 1 << 20, 10, &err) != -1)
			fail_msg("message-id \"%s\" was accepted", bad[i]);
		assert_non_null(strstr(err, "invalid message-id"));
		free(err);
	}
	memset(long_id, 'a', 999);
	long_id[999] = '\0';
	assert_int_equal(inbox_fetch_thread(&mbox, base, long_id, 1 << 20, 10, &err), -1);
	assert_non_null(strstr(err, "999 bytes"));
	free(err);
	/* No error wanted: still refused. */
	assert_int_equal(inbox_fetch_thread(&mbox, base, "a b", 1 << 20, 10, NULL), -1);
	assert_int_equal(s.requests, 0);
	assert_int_equal(mbox.len, 0);
	server_stop(&s);
	strbuf_release(&mbox);
	free(base);
}

/* Ids are escaped the way public-inbox escapes its own links. */
static void test_url_escaping(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char *err = NULL;
	char long_id[999];

	(void)state;
	assert_int_equal(inbox_thread_url(&sb, "http://h/inbox//", "<a/b+c%d&e=f?g#h@x>", &err), 0);
	assert_string_equal(sb.buf, "http://h/inbox/a%2Fb+c%25d&e=f%3Fg%23h@x/t.mbox.gz");
	strbuf_reset(&sb);
	assert_int_equal(inbox_thread_url(&sb, "http://h/i", "J\xc3\xb6rg.1~!$'()*,;:@x", &err), 0);
	assert_string_equal(sb.buf, "http://h/i/J%C3%B6rg.1~!$'()*,;:@x/t.mbox.gz");
	strbuf_reset(&sb);
	/* Dots inside an id are fine; only a whole "." or ".." is not. */
	assert_int_equal(inbox_thread_url(&sb, "http://h/i", "...", &err), 0);
	strbuf_reset(&sb);
	memset(long_id, 'a', 998);
	long_id[998] = '\0';
	assert_int_equal(inbox_thread_url(&sb, "http://h/i", long_id, &err), 0);
	assert_null(err);
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_gzip),
		cmocka_unit_test(test_concatenated_members),
		cmocka_unit_test(test_404),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_gzip_bomb),
		cmocka_unit_test(test_compressed_too_big),
		cmocka_unit_test(test_strbuf_cap),
		cmocka_unit_test(test_http_error),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_bad_msgid),
		cmocka_unit_test(test_url_escaping),
	};
	int ret;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	ret = cmocka_run_group_tests_name("inbox", tests, NULL, NULL);
	curl_global_cleanup();
	return ret;
}
