#ifndef JFILE_H
#define JFILE_H

#include <stddef.h>
#include <jansson.h>

#include "strbuf.h"

/*
 * jfile: strict JSON files for the configuration, plans and profiles.
 *
 * A file is read with a size cap (JFILE_MAX bytes) and parsed with
 * jansson (duplicate keys refused).  The readers below refuse unknown
 * keys, wrong types and values out of range, and say where: jansson keeps
 * no positions for values, so an error about a field ("stages[2].branch")
 * is located afterwards by walking the raw text along the field's path
 * with a minimal JSON scanner, and reads "FILE:LINE:COLUMN: FIELD: what".
 *
 * Only the first error of a file is kept (*err, the caller frees it);
 * every function returns 0, or -1 once an error is recorded.
 */

#define JFILE_MAX ((size_t)1 << 20)

struct jfile {
	const char *file;
	const char *text;		/* the raw text, for positions */
	size_t len;
	char **err;			/* where the first error goes */
};

/* Read and parse path (an object at the top level), or NULL (an error). */
json_t *jfile_load(struct jfile *c, struct strbuf *text, const char *path);

/* Where the field at path is in the text: 0, or -1 (*line, *col 0). */
int jfile_where(const struct jfile *c, const char *path, int *line, int *col);

/* Record an error about the field at path; returns -1. */
int jfile_fail(struct jfile *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The paths of a member and of an element: "a.key", "a[3]" (caller frees). */
char *jfile_sub(const char *path, const char *key);
char *jfile_subi(const char *path, size_t i);

/* obj (at path) has no keys but those of the NULL-terminated list. */
int jfile_check_keys(struct jfile *c, json_t *obj, const char *path,
		     const char *const *keys);

/*
 * Members of obj: a string (copied into *out; required or NULL when
 * absent), an unsigned in [min, max] (*out unchanged when absent), a
 * boolean, an array of at most max entries (*out borrowed, NULL when
 * absent).
 */
int jfile_string(struct jfile *c, json_t *obj, const char *path,
		 const char *key, int required, char **out);
int jfile_uint(struct jfile *c, json_t *obj, const char *path,
	       const char *key, unsigned min, unsigned max, unsigned *out);
int jfile_bool(struct jfile *c, json_t *obj, const char *path,
	       const char *key, int *out);
int jfile_array(struct jfile *c, json_t *obj, const char *path,
		const char *key, size_t max, json_t **out);

/* dir/rel, made absolute (canonical if it exists); caller frees. */
char *jfile_path(const char *dir, const char *rel);

/*
 * A member naming a path, relative to dir: when present, *field (freed
 * first) gets it made absolute (jfile_path()); unchanged when absent.
 */
int jfile_path_member(struct jfile *c, json_t *obj, const char *path,
		      const char *key, const char *dir, char **field);

/*
 * A member naming a file that must be readable (a secret: a token, a
 * password, a key), relative to dir: *out gets its absolute path (NULL
 * when absent).
 */
int jfile_readable(struct jfile *c, json_t *obj, const char *path,
		   const char *key, const char *dir, char **out);

#endif
