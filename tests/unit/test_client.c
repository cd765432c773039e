/*
 * Unit tests of the command line's API client (client.c) that need no
 * server: where a listen address is reached, URL escaping, and that a
 * database that is not there is not created by a read.
 */
#include "unit.h"

#include <unistd.h>

#include "client.h"
#include "strbuf.h"

static void check_listen(const char *listen, const char *want)
{
	struct client cl = CLIENT_INIT;

	client_init_listen(&cl, listen, "kst_x");
	assert_string_equal(cl.base, want);
	assert_string_equal(cl.token, "kst_x");
	client_release(&cl);
	assert_null(cl.base);
}

static void test_listen(void **state)
{
	(void)state;
	check_listen("127.0.0.1:8080", "http://127.0.0.1:8080");
	/* A wildcard address is reached through loopback. */
	check_listen("0.0.0.0:9000", "http://127.0.0.1:9000");
	check_listen(":9000", "http://127.0.0.1:9000");
	check_listen("[::]:80", "http://[::1]:80");
	check_listen("[::1]:80", "http://[::1]:80");
	check_listen("example.org:8080", "http://example.org:8080");
}

static void test_url(void **state)
{
	struct client cl = CLIENT_INIT;
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	client_init_url(&cl, "http://h:1//", NULL);
	assert_string_equal(cl.base, "http://h:1");
	client_release(&cl);
	client_url_escape(&sb, "a b/c?d&e=%~._-");
	assert_string_equal(strbuf_str(&sb), "a%20b%2Fc%3Fd%26e%3D%25~._-");
	strbuf_release(&sb);
}

static void test_no_such_db(void **state)
{
	struct client cl = CLIENT_INIT;
	char dir[] = "/tmp/kstage-unit-client.XXXXXX", path[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nosuch.db", dir);
	assert_int_equal(client_open_db(&cl, path), -1);
	assert_int_equal(access(path, F_OK), -1);
	client_release(&cl);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_no_such_db),
	};

	return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
