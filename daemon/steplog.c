/*
 * steplog: a step's capped log file (steplog.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "steplog.h"
#include "strbuf.h"
#include "wrapper.h"
#include "banned.h"

int steplog_open(struct steplog *l, const char *path, size_t max)
{
	steplog_close(l);
	l->fd = xopen(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	l->max = max;
	l->bytes = l->dropped = 0;
	l->tail_len = l->tail_pos = 0;
	return l->fd < 0 ? -1 : 0;
}

int steplog_add(struct steplog *l, const char *buf, size_t n)
{
	size_t room = l->bytes < l->max ? l->max - l->bytes : 0;
	size_t head = n < room ? n : room;
	int ret = 0;

	if (head) {
		ret = write_all(l->fd, buf, head);
		l->bytes += head;
	}
	buf += head;
	n -= head;
	if (!n)
		return ret;
	/* Past the cap: count it, keep only the last STEPLOG_TAIL bytes. */
	if (!l->tail)
		l->tail = xmalloc(STEPLOG_TAIL);
	l->dropped += n;
	if (n >= STEPLOG_TAIL) {
		memcpy(l->tail, buf + n - STEPLOG_TAIL, STEPLOG_TAIL);
		l->tail_pos = 0;
		l->tail_len = STEPLOG_TAIL;
		return ret;
	}
	while (n) {
		size_t chunk = STEPLOG_TAIL - l->tail_pos;

		if (chunk > n)
			chunk = n;
		memcpy(l->tail + l->tail_pos, buf, chunk);
		l->tail_pos = (l->tail_pos + chunk) % STEPLOG_TAIL;
		if (l->tail_len < STEPLOG_TAIL)
			l->tail_len = l->tail_len + chunk > STEPLOG_TAIL ? STEPLOG_TAIL
									 : l->tail_len + chunk;
		buf += chunk;
		n -= chunk;
	}
	return ret;
}

void steplog_close(struct steplog *l)
{
	if (l->fd < 0)
		return;
	if (l->dropped) {
		struct strbuf sb = STRBUF_INIT;
		size_t kept = l->tail_len;
		size_t start = kept < STEPLOG_TAIL ? 0 : l->tail_pos;

		strbuf_addf(&sb, "\n[kstage: log cut at %zu bytes; %zu bytes dropped,"
			    " the last %zu follow]\n", l->bytes,
			    l->dropped - (kept <= l->dropped ? kept : 0), kept);
		write_all(l->fd, sb.buf, sb.len);
		/* The ring in order: from start to the end, then the beginning. */
		write_all(l->fd, l->tail + start, kept - start);
		if (start)
			write_all(l->fd, l->tail, start);
		strbuf_release(&sb);
	}
	close(l->fd);
	l->fd = -1;
}

void steplog_release(struct steplog *l)
{
	if (l->fd >= 0)
		close(l->fd);
	free(l->tail);
	*l = (struct steplog)STEPLOG_INIT;
}
