/*
 * jfile: strict JSON files, with every error at its file, line, column
 * and field (see jfile.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jfile.h"
#include "wrapper.h"
#include "banned.h"

/* --- locating a field in the raw text ------------------------------------ */

static size_t skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' ||
			   t[i] == '\r'))
		i++;
	return i;
}

static size_t skip_string(const char *t, size_t len, size_t i)
{
	/* t[i] == '"' */
	for (i++; i < len && t[i] != '"'; i++)
		if (t[i] == '\\')
			i++;
	return i < len ? i + 1 : len;
}

static size_t skip_value(const char *t, size_t len, size_t i)
{
	int depth = 0;

	i = skip_ws(t, len, i);
	if (i >= len)
		return len;
	if (t[i] == '"')
		return skip_string(t, len, i);
	if (t[i] != '{' && t[i] != '[') {
		while (i < len && !strchr(",}] \t\r\n", t[i]))
			i++;
		return i;
	}
	for (; i < len; i++) {
		if (t[i] == '"') {
			i = skip_string(t, len, i) - 1;
		} else if (t[i] == '{' || t[i] == '[') {
			depth++;
		} else if (t[i] == '}' || t[i] == ']') {
			if (--depth == 0)
				return i + 1;
		}
	}
	return len;
}

/*
 * Offset of the element at "path" (components "key" or "[N]" separated by
 * '.'), starting at the value at offset i.  For an object member the
 * offset of its key is returned.  -1 if not found.
 */
static long locate_at(const char *t, size_t len, size_t i, const char *path)
{
	char comp[128];
	const char *rest;
	size_t clen;
	long index = -1;

	i = skip_ws(t, len, i);
	if (!*path)
		return (long)i;
	if (*path == '.')
		path++;
	if (*path == '[') {
		index = strtol(path + 1, NULL, 10);
		rest = strchr(path, ']');
		rest = rest ? rest + 1 : path + strlen(path);
	} else {
		rest = path + strcspn(path, ".[");
		clen = rest - path;
		if (clen >= sizeof(comp))
			return -1;
		memcpy(comp, path, clen);
		comp[clen] = '\0';
	}
	if (i >= len)
		return -1;
	if (index >= 0) {
		long k = 0;

		if (t[i] != '[')
			return -1;
		i = skip_ws(t, len, i + 1);
		while (i < len && t[i] != ']') {
			if (k == index)
				return locate_at(t, len, i, rest);
			i = skip_ws(t, len, skip_value(t, len, i));
			if (i < len && t[i] == ',')
				i = skip_ws(t, len, i + 1);
			k++;
		}
		return -1;
	}
	if (t[i] != '{')
		return -1;
	i = skip_ws(t, len, i + 1);
	while (i < len && t[i] == '"') {
		size_t kstart = i, kend = skip_string(t, len, i);
		int match = kend - kstart - 2 == strlen(comp) &&
			    !memcmp(t + kstart + 1, comp, strlen(comp));

		i = skip_ws(t, len, kend);
		if (i < len && t[i] == ':')
			i = skip_ws(t, len, i + 1);
		if (match)
			return *rest ? locate_at(t, len, i, rest) : (long)kstart;
		i = skip_ws(t, len, skip_value(t, len, i));
		if (i < len && t[i] == ',')
			i = skip_ws(t, len, i + 1);
	}
	return -1;
}

static void line_col(const struct jfile *c, long off, int *line, int *col)
{
	long k;

	*line = 1;
	*col = 1;
	for (k = 0; k < off && (size_t)k < c->len; k++) {
		if (c->text[k] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Record an error about the field at path; returns -1. */
int jfile_where(const struct jfile *c, const char *path, int *line, int *col)
{
	long off = c->text ? locate_at(c->text, c->len, 0, path) : -1;

	*line = *col = 0;
	if (off < 0)
		return -1;
	line_col(c, off, line, col);
	return 0;
}

int jfile_fail(struct jfile *c, const char *path, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	long off = c->text ? locate_at(c->text, c->len, 0, path) : -1;
	int line = 0, col = 0;
	va_list ap;

	if (*c->err)
		return -1;	/* keep the first error */
	if (off >= 0) {
		line_col(c, off, &line, &col);
		strbuf_addf(&sb, "%s:%d:%d: ", c->file, line, col);
	} else {
		strbuf_addf(&sb, "%s: ", c->file);
	}
	if (*path)
		strbuf_addf(&sb, "%s: ", path);
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	*c->err = strbuf_detach(&sb);
	return -1;
}

char *jfile_sub(const char *path, const char *key)
{
	struct strbuf sb = STRBUF_INIT;

	if (*path)
		strbuf_addf(&sb, "%s.%s", path, key);
	else
		strbuf_adds(&sb, key);
	return strbuf_detach(&sb);
}

char *jfile_subi(const char *path, size_t i)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s[%zu]", path, i);
	return strbuf_detach(&sb);
}

int jfile_check_keys(struct jfile *c, json_t *obj, const char *path,
		     const char *const *allowed)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return jfile_fail(c, path, "expected an object");
	json_object_foreach(obj, key, v) {
		const char *const *a;
		struct strbuf known = STRBUF_INIT;
		char *p;
		int ret;

		for (a = allowed; *a; a++)
			if (!strcmp(*a, key))
				break;
		if (*a)
			continue;
		for (a = allowed; *a; a++)
			strbuf_addf(&known, "%s%s", a == allowed ? "" : ", ", *a);
		p = jfile_sub(path, key);
		ret = jfile_fail(c, p, "unknown field (known: %s)", strbuf_str(&known));
		free(p);
		strbuf_release(&known);
		return ret;
	}
	return 0;
}

int jfile_string(struct jfile *c, json_t *obj, const char *path,
		 const char *key, int required, char **out)
{
	json_t *v = json_object_get(obj, key);
	char *p;
	int ret = 0;

	if (!v) {
		if (!required)
			return 0;
		return jfile_fail(c, path, "missing required field \"%s\"", key);
	}
	p = jfile_sub(path, key);
	if (!json_is_string(v))
		ret = jfile_fail(c, p, "expected a string");
	else if (strlen(json_string_value(v)) != json_string_length(v))
		ret = jfile_fail(c, p, "string contains a NUL byte");
	else
		*out = xstrdup(json_string_value(v));
	free(p);
	return ret;
}

int jfile_uint(struct jfile *c, json_t *obj, const char *path,
	       const char *key, unsigned min, unsigned max, unsigned *out)
{
	json_t *v = json_object_get(obj, key);
	char *p;
	int ret = 0;

	if (!v)
		return 0;
	p = jfile_sub(path, key);
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		ret = jfile_fail(c, p, "expected an integer between %u and %u", min, max);
	else
		*out = (unsigned)json_integer_value(v);
	free(p);
	return ret;
}

int jfile_bool(struct jfile *c, json_t *obj, const char *path,
	       const char *key, int *out)
{
	json_t *v = json_object_get(obj, key);
	char *p;
	int ret = 0;

	if (!v)
		return 0;
	p = jfile_sub(path, key);
	if (!json_is_boolean(v))
		ret = jfile_fail(c, p, "expected true or false");
	else
		*out = json_is_true(v);
	free(p);
	return ret;
}

/* Read and parse a JSON file; on error fill *err. */
json_t *jfile_load(struct jfile *c, struct strbuf *text, const char *path)
{
	json_error_t je;
	json_t *root;

	c->file = path;
	c->text = NULL;
	c->len = 0;
	if (strbuf_read_file(text, path, JFILE_MAX) < 0) {
		jfile_fail(c, "", "cannot read: %s", strerror(errno));
		return NULL;
	}
	if (text->truncated) {
		jfile_fail(c, "", "file is larger than %zu bytes", JFILE_MAX);
		return NULL;
	}
	c->text = text->buf;
	c->len = text->len;
	root = json_loadb(strbuf_str(text), text->len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "%s:%d:%d: invalid JSON: %s", path, je.line,
			    je.column, je.text);
		*c->err = strbuf_detach(&sb);
		return NULL;
	}
	if (!json_is_object(root)) {
		jfile_fail(c, "", "the top level must be an object");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* dir/rel, made absolute: children run elsewhere, libgit2 too. */
char *jfile_path(const char *dir, const char *rel)
{
	char *j = path_join(dir, rel);
	char *a = path_real(j);		/* canonical if it exists */

	if (!a)
		a = path_absolute(j);
	free(j);
	return a;
}

int jfile_array(struct jfile *c, json_t *obj, const char *path,
		const char *key, size_t max, json_t **out)
{
	json_t *v = json_object_get(obj, key);
	char *p;

	*out = NULL;
	if (!v)
		return 0;
	if (json_is_array(v) && json_array_size(v) <= max) {
		*out = v;
		return 0;
	}
	p = jfile_sub(path, key);
	jfile_fail(c, p, "expected an array of at most %zu entries", max);
	free(p);
	return -1;
}

int jfile_path_member(struct jfile *c, json_t *obj, const char *path,
		      const char *key, const char *dir, char **field)
{
	char *v = NULL;

	if (jfile_string(c, obj, path, key, 0, &v) < 0)
		return -1;
	if (v) {
		free(*field);
		*field = jfile_path(dir, v);
		free(v);
	}
	return 0;
}

int jfile_readable(struct jfile *c, json_t *obj, const char *path,
		   const char *key, const char *dir, char **out)
{
	char *v = NULL, *p;
	int ret = 0;

	if (jfile_string(c, obj, path, key, 0, &v) < 0)
		return -1;
	if (!v)
		return 0;
	*out = jfile_path(dir, v);
	if (!*v || access(*out, R_OK) < 0) {
		p = jfile_sub(path, key);
		ret = jfile_fail(c, p, "cannot read \"%s\": %s", *out,
				 *v ? strerror(errno) : "empty path");
		free(p);
	}
	free(v);
	return ret;
}
