/*
 * profile: a profile from its JSON file (config.h): the steps and their
 * contract, environment, known failures, expected suites, the per-commit
 * checks, and the digest that keys the reuse of results.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <git2.h>

#include "config.h"
#include "jfile.h"
#include "strbuf.h"
#include "verdict.h"
#include "wrapper.h"
#include "banned.h"

static int valid_env_key(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > 64 || (k[0] >= '0' && k[0] <= '9'))
		return 0;
	return strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Feed the contents of a file, or of the regular files in a directory
 * (sorted, not recursive), into sb for hashing. */
static void hash_input(struct strbuf *sb, const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t nr = 0, alloc = 0, i;

	if (stat(path, &st) < 0)
		return;
	if (S_ISREG(st.st_mode)) {
		strbuf_addf(sb, "\nfile %s\n", path);
		strbuf_read_file(sb, path, (size_t)4 << 20);
		return;
	}
	if (!S_ISDIR(st.st_mode) || !(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (nr == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			names = xrealloc(names, alloc * sizeof(*names));
		}
		names[nr++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (nr)
		qsort(names, nr, sizeof(*names), cmp_str);
	for (i = 0; i < nr; i++) {
		char *p = path_join(path, names[i]);

		if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			strbuf_addf(sb, "\nfile %s\n", names[i]);
			strbuf_read_file(sb, p, (size_t)4 << 20);
		}
		free(p);
		free(names[i]);
	}
	free(names);
}

static void profile_digest(struct profile *p, json_t *root, char **inputs,
			   size_t nr_inputs)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *copy = json_deep_copy(root);
	char *dump;
	git_oid oid;
	size_t i;

	/* Descriptions and known failures do not change what a run does. */
	json_object_del(copy, "description");
	json_object_del(copy, "known_failures");
	/* Checks of every commit add runs; the runs themselves stay. */
	json_object_del(copy, "each_commit");
	json_object_del(copy, "each_commit_max");
	dump = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
	strbuf_adds(&sb, dump ? dump : "");
	free(dump);
	json_decref(copy);
	/* The step programs themselves; what they read is listed in "inputs". */
	for (i = 0; i < p->nr_steps; i++)
		if (strchr(p->steps[i].argv[0], '/'))
			hash_input(&sb, p->steps[i].argv[0]);
	for (i = 0; i < nr_inputs; i++)
		hash_input(&sb, inputs[i]);
	/*
	 * How results are read from a console: stored results are reused
	 * only under the reading that named them (2: [RUN] lines name the
	 * result after them, ktap.h).
	 */
	strbuf_adds(&sb, "\nresults-reading 2\n");
	git_odb_hash(&oid, sb.buf ? sb.buf : "", sb.len, GIT_OBJECT_BLOB);
	git_oid_tostr(p->digest, sizeof(p->digest), &oid);
	strbuf_release(&sb);
}

static int parse_step(struct jfile *c, json_t *v, const char *path,
		      const char *dir, struct step_def *s)
{
	static const char *const keys[] = { "name", "run", "timeout", "console", NULL };
	json_t *run;
	size_t i;
	char *p;

	if (jfile_check_keys(c, v, path, keys) < 0 ||
	    jfile_string(c, v, path, "name", 1, &s->name) < 0)
		return -1;
	if (!config_valid_name(s->name)) {
		p = jfile_sub(path, "name");
		jfile_fail(c, p, "\"%s\" is not a valid step name ([A-Za-z0-9._-], 1-64)",
		      s->name);
		free(p);
		return -1;
	}
	s->timeout = 3600;
	if (jfile_uint(c, v, path, "timeout", 1, 7 * 24 * 3600, &s->timeout) < 0 ||
	    jfile_bool(c, v, path, "console", &s->console) < 0)
		return -1;
	run = json_object_get(v, "run");
	p = jfile_sub(path, "run");
	if (!run || !json_is_array(run) || json_array_size(run) == 0 ||
	    json_array_size(run) > 64) {
		jfile_fail(c, run ? p : path, run ? "expected a non-empty array of strings (argv)"
				  : "missing required field \"run\"");
		free(p);
		return -1;
	}
	s->argv = xcalloc(json_array_size(run) + 1, sizeof(char *));
	for (i = 0; i < json_array_size(run); i++) {
		json_t *a = json_array_get(run, i);

		if (!json_is_string(a) || strlen(json_string_value(a)) !=
		    json_string_length(a)) {
			char *q = jfile_subi(p, i);
			jfile_fail(c, q, "expected a string");
			free(q);
			free(p);
			return -1;
		}
		if (i == 0 && strchr(json_string_value(a), '/'))
			s->argv[i] = jfile_path(dir, json_string_value(a));
		else
			s->argv[i] = xstrdup(json_string_value(a));
	}
	free(p);
	return 0;
}

static int parse_known(struct jfile *c, json_t *v, const char *path,
		       struct known_failure *k)
{
	static const char *const keys[] = { "test", "reason", "until", NULL };

	if (jfile_check_keys(c, v, path, keys) < 0 ||
	    jfile_string(c, v, path, "test", 1, &k->test) < 0 ||
	    jfile_string(c, v, path, "reason", 1, &k->reason) < 0 ||
	    jfile_string(c, v, path, "until", 0, &k->until) < 0)
		return -1;
	if (k->until && !config_valid_name(k->until)) {
		char *p = jfile_sub(path, "until");
		jfile_fail(c, p, "\"%s\" is not a valid stage name", k->until);
		free(p);
		return -1;
	}
	return 0;
}

/*
 * "steps": 1 to 32 steps with distinct names.  p->steps grows one entry
 * at a time: profile_free() also frees a step that failed halfway.
 */
static int parse_steps(struct jfile *c, json_t *root, const char *dir,
		       struct profile *p)
{
	json_t *steps;
	size_t i, j;

	if (jfile_array(c, root, "", "steps", 32, &steps) < 0)
		return -1;
	if (!steps || json_array_size(steps) == 0)
		return jfile_fail(c, steps ? "steps" : "",
			     "a profile needs at least one step");
	p->steps = xcalloc(json_array_size(steps), sizeof(*p->steps));
	for (i = 0; i < json_array_size(steps); i++) {
		char *sp = jfile_subi("steps", i);
		int r = parse_step(c, json_array_get(steps, i), sp, dir,
				   &p->steps[i]);

		p->nr_steps = i + 1;
		for (j = 0; r == 0 && j < i; j++)
			if (!strcmp(p->steps[j].name, p->steps[i].name))
				r = jfile_fail(c, sp, "duplicate step name \"%s\"",
					  p->steps[i].name);
		free(sp);
		if (r < 0)
			return -1;
	}
	return 0;
}

/*
 * "env": up to 128 variables for the steps, kept as "KEY=VALUE".  The
 * KSTAGE_RUN* names are the daemon's own: the executor sets them.
 */
static int parse_env(struct jfile *c, json_t *root, struct profile *p)
{
	json_t *env = json_object_get(root, "env");
	const char *key;
	json_t *v;

	if (!env)
		return 0;
	if (!json_is_object(env) || json_object_size(env) > 128)
		return jfile_fail(c, "env",
			     "expected an object of at most 128 strings");
	p->env = xcalloc(json_object_size(env) + 1, sizeof(char *));
	json_object_foreach(env, key, v) {
		struct strbuf kv = STRBUF_INIT;
		char *ep = jfile_sub("env", key);

		if (!valid_env_key(key) || !strncmp(key, "KSTAGE_RUN", 10)) {
			jfile_fail(c, ep, "not a valid variable name ([A-Z0-9_], not KSTAGE_RUN*)");
			free(ep);
			return -1;
		}
		if (!json_is_string(v) || strlen(json_string_value(v)) !=
		    json_string_length(v)) {
			jfile_fail(c, ep, "expected a string");
			free(ep);
			return -1;
		}
		free(ep);
		strbuf_addf(&kv, "%s=%s", key, json_string_value(v));
		p->env[p->nr_env++] = strbuf_detach(&kv);
	}
	return 0;
}

/*
 * "known_failures": up to 1024 entries.  Their "until" stage names are
 * checked by the plan, which knows the stages.
 */
static int parse_known_failures(struct jfile *c, json_t *root,
				struct profile *p)
{
	json_t *known;
	size_t i;

	if (jfile_array(c, root, "", "known_failures", 1024, &known) < 0)
		return -1;
	if (!known)
		return 0;
	p->known = xcalloc(json_array_size(known) + 1, sizeof(*p->known));
	for (i = 0; i < json_array_size(known); i++) {
		char *kp = jfile_subi("known_failures", i);
		int r = parse_known(c, json_array_get(known, i), kp,
				    &p->known[i]);

		p->nr_known = i + 1;
		free(kp);
		if (r < 0)
			return -1;
	}
	return 0;
}

/*
 * A suite name as result names start with it (ktap.h): not empty, no '/'
 * (that ends the suite), no control character, no space at either end
 * (result names have none), shorter than a result name may be, and not
 * "boot" (the boot verdict's own result).  NULL, or what is wrong.
 */
static const char *suite_problem(const char *s, size_t len)
{
	const unsigned char *u;

	if (!len)
		return "expected a non-empty suite name";
	if (strlen(s) != len)
		return "a NUL in the name";
	if (strchr(s, '/'))
		return "'/' ends a suite: name only the first component of the"
		       " results (\"hmm-tests\", not \"hmm-tests/hmm.x\")";
	for (u = (const unsigned char *)s; *u; u++)
		if (*u < ' ' || *u == 0x7f)
			return "a control character in the name";
	if (s[0] == ' ' || s[len - 1] == ' ')
		return "a space at the start or the end of the name";
	if (len >= KTAP_MAX_NAME)
		return "longer than a result name may be";
	if (!strcmp(s, "boot"))
		return "\"boot\" is the boot verdict's result, not a suite";
	return NULL;
}

/*
 * "expect" (up to 64 distinct suites) and "boot_only".  Both are about
 * the console: refused in a profile without a console step, and together
 * (a boot-only profile expects no suite).  They count in the digest: they
 * change what a run records.
 */
static int parse_expect(struct jfile *c, json_t *root, struct profile *p)
{
	json_t *expect;
	size_t i, j;
	int console = 0;

	if (jfile_bool(c, root, "", "boot_only", &p->boot_only) < 0 ||
	    jfile_array(c, root, "", "expect", 64, &expect) < 0)
		return -1;
	if (p->boot_only && expect)
		return jfile_fail(c, "expect", "a profile with \"boot_only\": true"
				  " expects no suites: drop one of the two");
	for (i = 0; i < p->nr_steps; i++)
		console |= p->steps[i].console;
	if ((p->boot_only || expect) && !console)
		return jfile_fail(c, expect ? "expect" : "boot_only", "no step has"
				  " \"console\": true, so no console is read");
	if (!expect)
		return 0;
	p->expect = xcalloc(json_array_size(expect) + 1, sizeof(char *));
	for (i = 0; i < json_array_size(expect); i++) {
		json_t *v = json_array_get(expect, i);
		const char *problem = json_is_string(v) ?
			suite_problem(json_string_value(v), json_string_length(v)) :
			"expected a suite name (a string)";
		char *ep = jfile_subi("expect", i);

		for (j = 0; !problem && j < i; j++)
			if (!strcmp(p->expect[j], json_string_value(v)))
				problem = "named twice";
		if (problem) {
			jfile_fail(c, ep, "%s%s%s%s", json_is_string(v) ? "\"" : "",
				   json_is_string(v) ? json_string_value(v) : "",
				   json_is_string(v) ? "\": " : "", problem);
			free(ep);
			return -1;
		}
		free(ep);
		p->expect[p->nr_expect++] = xstrdup(json_string_value(v));
	}
	return 0;
}

/*
 * "inputs": up to 64 files or directories, relative to dir, that count in
 * the digest.  *paths and *nr grow as they are read; the caller frees
 * them, after an error too.
 */
static int parse_inputs(struct jfile *c, json_t *root, const char *dir,
			char ***paths, size_t *nr)
{
	json_t *inputs;
	size_t i;

	if (jfile_array(c, root, "", "inputs", 64, &inputs) < 0)
		return -1;
	if (!inputs)
		return 0;
	*paths = xcalloc(json_array_size(inputs) + 1, sizeof(char *));
	for (i = 0; i < json_array_size(inputs); i++) {
		json_t *a = json_array_get(inputs, i);

		if (!json_is_string(a)) {
			char *ip = jfile_subi("inputs", i);
			jfile_fail(c, ip, "expected a path");
			free(ip);
			return -1;
		}
		(*paths)[(*nr)++] = jfile_path(dir, json_string_value(a));
	}
	return 0;
}

static void step_release(struct step_def *s)
{
	size_t j;

	free(s->name);
	for (j = 0; s->argv && s->argv[j]; j++)
		free(s->argv[j]);
	free(s->argv);
}

static void step_copy(struct step_def *to, const struct step_def *from)
{
	size_t n = 0, j;

	while (from->argv[n])
		n++;
	to->name = xstrdup(from->name);
	to->argv = xcalloc(n + 1, sizeof(char *));
	for (j = 0; j < n; j++)
		to->argv[j] = xstrdup(from->argv[j]);
	to->timeout = from->timeout;
	to->console = 0;
}

/*
 * "each_commit": "build" and/or "checkpatch", each once, and
 * "each_commit_max" (1-1000, default 50).  "build" needs a step named
 * "build"; "checkpatch" needs the program checkpatch beside that step's
 * program (the commit run's steps are in p->each_steps, config.h).
 */
static int parse_each_commit(struct jfile *c, json_t *root, struct profile *p)
{
	static const char *const names[] = { "build", "checkpatch" };
	json_t *each;
	const struct step_def *build = NULL;
	int want[2] = { 0, 0 };
	size_t i, k;

	p->each_max = 50;
	if (jfile_uint(c, root, "", "each_commit_max", 1, 1000, &p->each_max) < 0 ||
	    jfile_array(c, root, "", "each_commit", 2, &each) < 0)
		return -1;
	if (!each)
		return 0;
	if (json_array_size(each) == 0)
		return jfile_fail(c, "each_commit", "name the checks to run on every"
				  " commit (\"build\", \"checkpatch\"), or leave the key out");
	for (i = 0; i < p->nr_steps; i++)
		if (!strcmp(p->steps[i].name, "build"))
			build = &p->steps[i];
	for (i = 0; i < json_array_size(each); i++) {
		json_t *v = json_array_get(each, i);
		char *ep = jfile_subi("each_commit", i);
		int r = 0;

		for (k = 0; k < 2; k++)
			if (json_is_string(v) && !strcmp(json_string_value(v), names[k]))
				break;
		if (k == 2)
			r = jfile_fail(c, ep, "%s%s%s is not a check: \"build\" or"
				       " \"checkpatch\"", json_is_string(v) ? "\"" : "",
				       json_is_string(v) ? json_string_value(v) : "this",
				       json_is_string(v) ? "\"" : "");
		else if (want[k])
			r = jfile_fail(c, ep, "\"%s\" is named twice", names[k]);
		else if (!build)
			r = jfile_fail(c, ep, "\"%s\" needs a step named \"build\"%s",
				       names[k], k ? " (checkpatch runs beside its"
				       " program)" : "");
		free(ep);
		if (r < 0)
			return -1;
		want[k] = 1;
	}
	p->each_steps = xcalloc(2, sizeof(*p->each_steps));
	if (want[0])
		step_copy(&p->each_steps[p->nr_each_steps++], build);
	if (want[1]) {
		struct step_def *s = &p->each_steps[p->nr_each_steps];
		char *dir = path_dirname(build->argv[0]);
		char *prog = strchr(build->argv[0], '/') ? path_join(dir, "checkpatch")
							  : NULL;

		free(dir);
		if (!prog || access(prog, X_OK) < 0) {
			jfile_fail(c, "each_commit", "\"checkpatch\" runs the program"
				   " checkpatch beside the build step's program, and"
				   " %s%s", prog ? prog : "that is not given as a path",
				   prog ? " is not an executable file" : "");
			free(prog);
			return -1;
		}
		s->name = xstrdup("checkpatch");
		s->argv = xcalloc(2, sizeof(char *));
		s->argv[0] = prog;
		s->timeout = EACH_CHECKPATCH_TIMEOUT;
		p->nr_each_steps++;
	}
	return 0;
}

struct profile *profile_load(const char *path, char **err)
{
	static const char *const keys[] = {
		"name", "description", "steps", "env", "end_marker",
		"known_failures", "kill_grace", "log_max", "inputs", "expect",
		"boot_only", "each_commit", "each_commit_max", NULL
	};
	struct strbuf text = STRBUF_INIT;
	struct jfile c = { .err = err };
	struct profile *p = xcalloc(1, sizeof(*p));
	json_t *root;
	char **input_paths = NULL;
	size_t nr_inputs = 0;
	char *dir = path_dirname(path);
	unsigned log_mb = 64;
	size_t i;

	*err = NULL;
	p->path = xstrdup(path);
	root = jfile_load(&c, &text, path);
	if (!root)
		goto fail;
	if (jfile_check_keys(&c, root, "", keys) < 0 ||
	    jfile_string(&c, root, "", "name", 1, &p->name) < 0 ||
	    jfile_string(&c, root, "", "description", 0, &p->description) < 0 ||
	    jfile_string(&c, root, "", "end_marker", 0, &p->end_marker) < 0)
		goto fail;
	if (!config_valid_name(p->name)) {
		jfile_fail(&c, "name", "\"%s\" is not a valid profile name", p->name);
		goto fail;
	}
	p->kill_grace = 10;
	if (jfile_uint(&c, root, "", "kill_grace", 0, 3600, &p->kill_grace) < 0 ||
	    jfile_uint(&c, root, "", "log_max", 1, 4096, &log_mb) < 0)
		goto fail;
	p->log_max = (size_t)log_mb << 20;
	if (parse_steps(&c, root, dir, p) < 0 ||
	    parse_env(&c, root, p) < 0 ||
	    parse_known_failures(&c, root, p) < 0 ||
	    parse_expect(&c, root, p) < 0 ||
	    parse_each_commit(&c, root, p) < 0 ||
	    parse_inputs(&c, root, dir, &input_paths, &nr_inputs) < 0)
		goto fail;
	profile_digest(p, root, input_paths, nr_inputs);
	for (i = 0; i < nr_inputs; i++)
		free(input_paths[i]);
	free(input_paths);
	json_decref(root);
	strbuf_release(&text);
	free(dir);
	return p;

fail:
	for (i = 0; i < nr_inputs; i++)
		free(input_paths[i]);
	free(input_paths);
	json_decref(root);
	strbuf_release(&text);
	free(dir);
	profile_free(p);
	return NULL;
}

void profile_free(struct profile *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nr_steps; i++)
		step_release(&p->steps[i]);
	free(p->steps);
	for (i = 0; i < p->nr_each_steps; i++)
		step_release(&p->each_steps[i]);
	free(p->each_steps);
	for (i = 0; i < p->nr_env; i++)
		free(p->env[i]);
	free(p->env);
	for (i = 0; i < p->nr_known; i++) {
		free(p->known[i].test);
		free(p->known[i].reason);
		free(p->known[i].until);
	}
	free(p->known);
	for (i = 0; i < p->nr_expect; i++)
		free(p->expect[i]);
	free(p->expect);
	free(p->path);
	free(p->name);
	free(p->description);
	free(p->end_marker);
	free(p);
}

const struct known_failure *profile_known_failure(const struct profile *p,
						  const struct plan_def *plan,
						  size_t stage_idx,
						  const char *test)
{
	size_t i, j;

	for (i = 0; i < p->nr_known; i++) {
		const struct known_failure *k = &p->known[i];
		size_t until_pos = 0;

		/* Stage positions are 1-based; 0 is the base. */
		for (j = 0; k->until && plan && j < plan->nr_stages; j++)
			if (!strcmp(plan->stages[j].name, k->until))
				until_pos = j + 1;
		if (verdict_covers(k->test, until_pos, stage_idx, test))
			return k;
	}
	return NULL;
}
