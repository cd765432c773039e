/*
 * strbuf: growable strings with a hard size cap (see strbuf.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

static size_t cap_of(const struct strbuf *sb)
{
	return sb->max ? sb->max : STRBUF_DEFAULT_MAX;
}

static int grow(struct strbuf *sb, size_t extra)
{
	size_t want = sb->len + extra + 1;

	if (want <= sb->alloc)
		return 0;
	if (sb->alloc * 2 > want)
		want = sb->alloc * 2;
	if (want < 64)
		want = 64;
	if (want > cap_of(sb) + 1)
		want = cap_of(sb) + 1;
	sb->buf = xrealloc(sb->buf, want);
	sb->alloc = want;
	return 0;
}

int strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	size_t room = cap_of(sb) - sb->len;
	int ret = 0;

	if (len > room) {
		len = room;
		sb->truncated = 1;
		ret = -1;
	}
	grow(sb, len);
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return ret;
}

int strbuf_adds(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}

int strbuf_addch(struct strbuf *sb, int c)
{
	char ch = (char)c;

	return strbuf_add(sb, &ch, 1);
}

int strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	char small[256];
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return strbuf_add(sb, small, n);
	{
		char *big = xmalloc((size_t)n + 1);
		int ret;

		vsnprintf(big, (size_t)n + 1, fmt, ap);
		ret = strbuf_add(sb, big, n);
		free(big);
		return ret;
	}
}

int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return ret;
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->truncated = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

const char *strbuf_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

char *strbuf_detach(struct strbuf *sb)
{
	char *s = sb->buf ? sb->buf : xstrdup("");

	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	sb->truncated = 0;
	return s;
}

void strbuf_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	sb->truncated = 0;
}

int strbuf_read_file(struct strbuf *sb, const char *path, size_t max)
{
	char chunk[65536];
	size_t limit = max ? max : cap_of(sb);
	size_t got = 0;
	int fd = xopen(path, O_RDONLY);

	if (fd < 0)
		return -1;
	for (;;) {
		size_t want = sizeof(chunk);
		ssize_t n;

		if (got >= limit) {
			/* Is there more?  Then say the buffer is cut short. */
			if (xread(fd, chunk, 1) > 0)
				sb->truncated = 1;
			break;
		}
		if (want > limit - got)
			want = limit - got;
		n = xread(fd, chunk, want);
		if (n < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		strbuf_add(sb, chunk, n);
		got += n;
	}
	close(fd);
	return 0;
}
