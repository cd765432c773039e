#ifndef WRAPPER_H
#define WRAPPER_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Small wrappers around the C library and system calls.
 *
 * x*alloc() and xstrdup() never return NULL: out of memory aborts (there
 * is nothing sensible a CI daemon can do without memory).  The I/O
 * wrappers retry on EINTR; every descriptor they create is close-on-exec.
 */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xstrdup() of NULL is NULL. */
char *xstrdup_or_null(const char *s);

/* open() with O_CLOEXEC added, retried on EINTR. */
int xopen(const char *path, int flags, ...);
ssize_t xread(int fd, void *buf, size_t len);
ssize_t xwrite(int fd, const void *buf, size_t len);
/* Write all of buf; -1 on error. */
int write_all(int fd, const void *buf, size_t len);

/*
 * Write "len" bytes to "path" atomically: a temporary file beside it,
 * fsync, rename.  Returns 0 or -1 with errno set.
 */
int write_file_atomic(const char *path, const void *data, size_t len);

/* mkdir -p; 0 if the directory exists afterwards. */
int mkdir_p(const char *path, mode_t mode);
/* rm -rf, without following symlinks; 0 if nothing is left. */
int remove_tree(const char *path);

/* Monotonic and wall clocks. */
double now_monotonic(void);
long long now_wall_ms(void);

/*
 * Join dir and rel into a fresh string: rel if absolute, else dir/rel.
 * dir may be NULL or "" (rel is returned as is).
 */
char *path_join(const char *dir, const char *rel);
/* The directory part of path, as a fresh string ("." if none). */
char *path_dirname(const char *path);
/* path made absolute against the current directory (not canonical). */
char *path_absolute(const char *path);
/* An absolute, canonical version of an existing path, or NULL. */
char *path_real(const char *path);

/* Does the newline-separated list hold item as one of its lines? */
int lines_contain(const char *list, const char *item);

/* Is s a safe single path component (no '/', not "." or "..", no NUL)? */
int is_safe_component(const char *s);

/*
 * The kstage binary that runs, for helpers it starts as itself (the step
 * guard): set once by main() (the real path of /proc/self/exe); NULL in
 * other programs (the unit tests), which then start no such helper.
 */
void set_self_exe(const char *path);
const char *self_exe(void);

/*
 * Make room for at least n entries in array x of alloc entries (git's
 * ALLOC_GROW): grows by half again as much, at least to 16.
 */
#define ALLOC_GROW(x, n, alloc)						\
	do {								\
		if ((size_t)(n) > (size_t)(alloc)) {			\
			(alloc) = (alloc) * 3 / 2 < 16 ? 16 : (alloc) * 3 / 2; \
			if ((size_t)(alloc) < (size_t)(n))		\
				(alloc) = (n);				\
			(x) = xrealloc((x), (alloc) * sizeof(*(x)));	\
		}							\
	} while (0)

#endif
