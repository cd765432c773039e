/* Unit tests of SHA-256 (sha256.c) against the FIPS 180-2 test vectors. */
#include "unit.h"

#include "sha256.h"

static void check(const char *data, size_t len, const char *want)
{
	char hex[SHA256_HEX_SIZE];

	sha256_hex(hex, data, len);
	assert_string_equal(hex, want);
}

/* FIPS 180-2, appendix B.1: one block. */
static void test_abc(void **state)
{
	(void)state;
	check("abc", 3, "ba7816bf8f01cfea414140de5dae2223"
			"b00361a396177a9cb410ff61f20015ad");
}

/* FIPS 180-2, appendix B.2: two blocks (the padding spills over). */
static void test_two_blocks(void **state)
{
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	(void)state;
	check(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039"
			    "a33ce45964ff2167f6ecedd419db06c1");
}

/* FIPS 180-2, appendix B.3: one million "a", fed in uneven pieces. */
static void test_million_a(void **state)
{
	static const char want[] = "cdc76e5c9914fb9281a1c7e284d73e67"
				   "f1809a48a497200e046d39ccc7112cd0";
	struct sha256 c = SHA256_INIT;
	unsigned char d[SHA256_DIGEST_SIZE];
	char buf[1000], hex[SHA256_HEX_SIZE];
	size_t done = 0, step = 1;
	int i;

	(void)state;
	memset(buf, 'a', sizeof(buf));
	while (done < 1000000) {
		size_t n = step < 1000000 - done ? step : 1000000 - done;

		sha256_update(&c, buf, n);
		done += n;
		step = step % 900 + 13;	/* 1, 14, 27, ... (< sizeof(buf)) */
	}
	sha256_final(&c, d);
	for (i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	assert_string_equal(hex, want);
}

static void test_empty_and_boundaries(void **state)
{
	char buf[200];

	(void)state;
	check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* 55, 56 and 64 bytes: where the length does or does not fit. */
	memset(buf, 'a', sizeof(buf));
	check(buf, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	check(buf, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	check(buf, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abc),
		cmocka_unit_test(test_two_blocks),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_empty_and_boundaries),
	};

	return cmocka_run_group_tests_name("sha256", tests, NULL, NULL);
}
