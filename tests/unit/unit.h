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

#endif
