/*
 * inbox-get: a test-only program (built by "make unit", not part of
 * kstage) that fetches one thread with inbox_fetch_thread() so the shell
 * tests can drive it against a real public-inbox-httpd.
 *
 *   inbox-get BASE_URL MESSAGE-ID [MAX_BYTES [TIMEOUT_SECONDS]]
 *
 * The mbox goes to stdout; on failure the one-line reason goes to stderr
 * as "inbox-get: REASON" and the exit status is 1 (2 for bad usage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <curl/curl.h>

#include "inbox.h"
#include "strbuf.h"
#include "wrapper.h"

int main(int argc, char **argv)
{
	struct strbuf mbox = STRBUF_INIT;
	size_t max = (size_t)64 << 20;
	unsigned timeout = 30;
	char *err = NULL;
	int ret = 0;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: inbox-get BASE_URL MESSAGE-ID [MAX_BYTES [TIMEOUT]]\n");
		return 2;
	}
	if (argc > 3)
		max = strtoull(argv[3], NULL, 10);
	if (argc > 4)
		timeout = (unsigned)strtoul(argv[4], NULL, 10);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (inbox_fetch_thread(&mbox, argv[1], argv[2], max, timeout, &err) < 0) {
		fprintf(stderr, "inbox-get: %s\n", err);
		ret = 1;
	} else if (write_all(1, mbox.buf, mbox.len) < 0) {
		perror("inbox-get: stdout");
		ret = 1;
	}
	free(err);
	strbuf_release(&mbox);
	curl_global_cleanup();
	return ret;
}
