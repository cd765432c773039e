#ifndef STRBUF_H
#define STRBUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * strbuf: a growable, always NUL-terminated byte buffer.
 *
 * Every strbuf has a hard cap ("max", 0 = the global default of 64 MiB).
 * Appending beyond it keeps the buffer at the cap, sets "truncated" and
 * returns -1, so a buffer filled from outside (a log, an HTTP body, a
 * mail) can never grow without bound.  The buffer owns "buf"; release it
 * with strbuf_release(), or take it with strbuf_detach().
 */
struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t max;
	unsigned truncated : 1;
};

#define STRBUF_DEFAULT_MAX ((size_t)64 << 20)
#define STRBUF_INIT { NULL, 0, 0, 0, 0 }
#define STRBUF_INIT_MAX(m) { NULL, 0, 0, (m), 0 }

int strbuf_add(struct strbuf *sb, const void *data, size_t len);
int strbuf_adds(struct strbuf *sb, const char *s);
int strbuf_addch(struct strbuf *sb, int c);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
void strbuf_reset(struct strbuf *sb);
/* "" rather than NULL for an empty buffer. */
const char *strbuf_str(const struct strbuf *sb);
char *strbuf_detach(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);

/*
 * Read a whole file into sb, at most "max" bytes (0 = sb's cap).  A file
 * larger than that is read up to the limit and sb->truncated is set; this
 * is not an error.  Returns -1 (errno set) if the file cannot be read.
 */
int strbuf_read_file(struct strbuf *sb, const char *path, size_t max);

#endif
