#ifndef STEPLOG_H
#define STEPLOG_H

#include <stddef.h>

/*
 * steplog: a step's log file, capped (executor.h): the head up to max
 * bytes is written as it comes; past it the bytes are counted and only
 * the last STEPLOG_TAIL of them kept in a ring, written after a
 * "[kstage: log cut at ...]" line when the log is closed.
 *
 *	struct steplog l = STEPLOG_INIT;
 *
 *	if (steplog_open(&l, path, max) < 0) ...	(errno set)
 *	steplog_add(&l, buf, n);			(as output comes)
 *	steplog_close(&l);				(l.bytes, l.dropped stay)
 *	steplog_release(&l);				(frees the ring)
 */

#define STEPLOG_TAIL ((size_t)64 << 10)

struct steplog {
	int fd;			/* -1 when closed */
	size_t max;		/* bytes of the head written */
	size_t bytes;		/* written of the head */
	size_t dropped;		/* past the head (the tail kept of them too) */
	char *tail;		/* the ring, once needed */
	size_t tail_len, tail_pos;
};

#define STEPLOG_INIT { -1, 0, 0, 0, NULL, 0, 0 }

/* Create (truncate) path for a new step's log: 0, or -1 with errno set. */
int steplog_open(struct steplog *l, const char *path, size_t max);

/* n more bytes of output.  -1 (errno set) if the file write failed. */
int steplog_add(struct steplog *l, const char *buf, size_t n);

/* The kept tail, if any, and close.  Nothing if closed already. */
void steplog_close(struct steplog *l);

/* Close without the tail and free the ring: l is as new. */
void steplog_release(struct steplog *l);

#endif
