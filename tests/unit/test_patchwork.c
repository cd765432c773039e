/*
 * Unit tests of patchwork.c's request shapes: the lookup URL (the
 * Message-ID without angle brackets, percent-encoded, the project), the
 * patch id in a lookup's answer, and the check's body.
 */
#include "unit.h"

#include <jansson.h>

#include "config.h"
#include "patchwork.h"
#include "strbuf.h"

static void test_lookup_url(void **state)
{
	struct patchwork_def pw = { .url = "https://pw.example.org" };
	struct strbuf sb = STRBUF_INIT;
	json_t *p;

	(void)state;
	p = json_pack("{s:s}", "msgid", "<20240101.1-2+x=y/z@ex ample.org>");
	assert_int_equal(patchwork_lookup_url(&pw, p, &sb), 0);
	assert_string_equal(sb.buf, "https://pw.example.org/api/patches/?msgid="
			    "20240101.1-2%2Bx%3Dy%2Fz%40ex%20ample.org");
	json_decref(p);

	/* Stored without brackets (series.c), with a project: & cannot inject. */
	strbuf_reset(&sb);
	pw.project = "linux-mm";
	p = json_pack("{s:s}", "msgid", "a&project=evil@b");
	assert_int_equal(patchwork_lookup_url(&pw, p, &sb), 0);
	assert_string_equal(sb.buf, "https://pw.example.org/api/patches/?msgid="
			    "a%26project%3Devil%40b&project=linux-mm");
	json_decref(p);

	/* Not one of ours. */
	p = json_pack("{s:i}", "msgid", 3);
	assert_int_equal(patchwork_lookup_url(&pw, p, &sb), -1);
	json_decref(p);
	p = json_pack("{s:s}", "msgid", "");
	assert_int_equal(patchwork_lookup_url(&pw, p, &sb), -1);
	json_decref(p);

	strbuf_reset(&sb);
	patchwork_checks_url(&pw, 12345, &sb);
	assert_string_equal(sb.buf, "https://pw.example.org/api/patches/12345/checks/");
	strbuf_release(&sb);
}

static void test_patch_id(void **state)
{
	static const char *const lists[][2] = {
		{ "[{\"id\": 42, \"msgid\": \"<a@b>\"}, {\"id\": 7}]", "42" },
		{ "[]", "0" },
		{ "{\"detail\": \"Not found.\"}", "-1" },
		{ "[{\"msgid\": \"<a@b>\"}]", "-1" },
		{ "[{\"id\": \"42\"}]", "-1" },
		{ "[{\"id\": -3}]", "-1" },
		{ "[1, 2]", "-1" },
		{ "<html>", "-1" },
		{ "", "-1" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		assert_int_equal(patchwork_patch_id(lists[i][0], strlen(lists[i][0])),
				 atoll(lists[i][1]));
}

static void test_check_body(void **state)
{
	json_t *p, *b;
	char *body;

	(void)state;
	p = json_pack("{s:s,s:i,s:i,s:s,s:s,s:s,s:s}", "msgid", "a@b", "number", 2,
		      "of", 3, "state", "fail", "context", "kstage-fake",
		      "description", "first bad commit: t", "target_url",
		      "https://k.example.org/#/bisection/1");
	body = patchwork_check_body(p);
	assert_non_null(body);
	b = json_loads(body, 0, NULL);
	assert_non_null(b);
	/* Exactly the fields Patchwork's check serializer takes. */
	assert_int_equal(json_object_size(b), 4);
	assert_string_equal(json_string_value(json_object_get(b, "state")), "fail");
	assert_string_equal(json_string_value(json_object_get(b, "context")), "kstage-fake");
	assert_string_equal(json_string_value(json_object_get(b, "target_url")),
			    "https://k.example.org/#/bisection/1");
	json_decref(b);
	free(body);
	json_object_del(p, "target_url");
	body = patchwork_check_body(p);
	b = json_loads(body, 0, NULL);
	assert_int_equal(json_object_size(b), 3);
	json_decref(b);
	free(body);
	json_object_del(p, "state");
	assert_null(patchwork_check_body(p));
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_url),
		cmocka_unit_test(test_patch_id),
		cmocka_unit_test(test_check_body),
	};

	return cmocka_run_group_tests_name("patchwork", tests, NULL, NULL);
}
