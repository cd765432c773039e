/*
 * log: one line per message on stderr, with the function it came from.
 * Lines are written with a single write() so concurrent threads do not
 * interleave within a line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "banned.h"

enum log_level log_verbosity = LOG_INFO;

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warning",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

static void vlog(enum log_level level, const char *func, const char *fmt,
		 va_list ap)
{
	char line[2048];
	int n, m;

	if (level > log_verbosity)
		return;
	n = snprintf(line, sizeof(line), "kstage: %s %s: ", level_names[level],
		     func);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void log_msg(enum log_level level, const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, func, fmt, ap);
	va_end(ap);
}

int error_at(const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERROR, func, fmt, ap);
	va_end(ap);
	return -1;
}

void die_at(const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERROR, func, fmt, ap);
	va_end(ap);
	exit(2);
}
