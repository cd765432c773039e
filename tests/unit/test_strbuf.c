/* Unit tests of the capped string buffer (strbuf.c) and path helpers. */
#include "unit.h"

#include <fcntl.h>
#include <unistd.h>

#include "strbuf.h"
#include "wrapper.h"

static void test_grow_and_format(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	int i;

	(void)state;
	assert_string_equal(strbuf_str(&sb), "");
	for (i = 0; i < 1000; i++)
		assert_int_equal(strbuf_addf(&sb, "%d,", i), 0);
	assert_int_equal(strncmp(sb.buf, "0,1,2,", 6), 0);
	assert_int_equal(sb.len, strlen(sb.buf));
	assert_int_equal(strbuf_addf(&sb, "%0300d", 7), 0);
	assert_int_equal(sb.buf[sb.len - 1], '7');
	strbuf_release(&sb);
	assert_null(sb.buf);
}

static void test_cap(void **state)
{
	struct strbuf sb = STRBUF_INIT_MAX(10);

	(void)state;
	assert_int_equal(strbuf_adds(&sb, "12345"), 0);
	assert_int_equal(strbuf_adds(&sb, "67890abc"), -1);
	assert_int_equal(sb.len, 10);
	assert_true(sb.truncated);
	assert_string_equal(sb.buf, "1234567890");
	assert_int_equal(strbuf_addch(&sb, 'x'), -1);
	assert_int_equal(sb.len, 10);
	strbuf_reset(&sb);
	assert_false(sb.truncated);
	assert_int_equal(sb.len, 0);
	strbuf_release(&sb);
}

static void test_read_file_cap(void **state)
{
	char path[] = "/tmp/kstage-unit-strbuf.XXXXXX";
	struct strbuf sb = STRBUF_INIT;
	char buf[100000];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	memset(buf, 'a', sizeof(buf));
	assert_int_equal(write_all(fd, buf, sizeof(buf)), 0);
	close(fd);
	assert_int_equal(strbuf_read_file(&sb, path, 1000), 0);
	assert_int_equal(sb.len, 1000);
	assert_true(sb.truncated);
	strbuf_release(&sb);
	assert_int_equal(strbuf_read_file(&sb, path, 0), 0);
	assert_int_equal(sb.len, sizeof(buf));
	assert_false(sb.truncated);
	strbuf_release(&sb);
	unlink(path);
	assert_int_equal(strbuf_read_file(&sb, path, 0), -1);
}

static void test_paths(void **state)
{
	char *p;

	(void)state;
	p = path_join("/a/b/", "c");
	assert_string_equal(p, "/a/b/c");
	free(p);
	p = path_join("/a", "/abs");
	assert_string_equal(p, "/abs");
	free(p);
	p = path_dirname("x/y/z.json");
	assert_string_equal(p, "x/y");
	free(p);
	p = path_dirname("z.json");
	assert_string_equal(p, ".");
	free(p);
	assert_true(is_safe_component("01-build.log"));
	assert_false(is_safe_component(".."));
	assert_false(is_safe_component("a/b"));
	assert_false(is_safe_component(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_and_format),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_read_file_cap),
		cmocka_unit_test(test_paths),
	};

	return cmocka_run_group_tests_name("strbuf", tests, NULL, NULL);
}
