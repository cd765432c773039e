#ifndef UNIT_H
#define UNIT_H

/*
 * Common includes for the cmocka unit tests (one file per module:
 * tests/unit/test_MODULE.c).  Each test binary prints cmocka's own
 * summary and exits non-zero when a test failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Directory of the source tree (for fixture files), from the Makefile. */
#ifndef SRCDIR
#define SRCDIR "."
#endif

/* A whole fixture file, NUL-terminated (the caller frees); fails the test
 * when it cannot be read. */
static inline char *unit_load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		fail_msg("cannot open fixture %s (run from the repository root)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

#endif
