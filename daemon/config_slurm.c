/*
 * config_slurm: the Slurm executor's part of the daemon configuration
 * (config.h, exec_slurm.h):
 *
 *	"executor": "slurm",
 *	"slurm": {
 *		"partition": "kernel", "account": "mm", "qos": "normal",
 *		"work": "/var/lib/kstage/work",	(node-local; default "work")
 *		"cache": "/var/cache/kstage",	(node-local; default "cache")
 *		"kstage": "/usr/local/bin/kstage",	(default: this binary)
 *		"bin_dir": "/usr/bin",		(sbatch & co; default: PATH)
 *		"poll": 2, "prefer_wait": 60, "command_timeout": 30,
 *		"placement": "nodelist" | "feature" | "any",
 *		"profiles": {
 *			"kernel-hmm": { "cpus": 8, "mem": "16G", "time": 90,
 *					"sbatch": ["--exclusive"] },
 *			"*": { "cpus": 2 }
 *		}
 *	}
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_slurm.h"
#include "jfile.h"
#include "wrapper.h"
#include "banned.h"

/* --mem: digits and an optional unit, as sbatch takes it. */
static int valid_mem(const char *s)
{
	size_t n = strspn(s, "0123456789");

	if (!n || n > 12)
		return 0;
	return !s[n] || (strchr("KMGT", s[n]) && !s[n + 1]);
}

/*
 * One extra sbatch option: an option ("-..."), never the script or its
 * arguments, and not one that kstage sets itself or that turns the job
 * into something else.
 */
static int check_sbatch_option(struct jfile *c, const char *path, const char *o)
{
	static const char *const ours[] = {
		"--wrap", "--parsable", "--output", "--error", "--chdir", "-D",
		"-o", "-e", "--job-name", "-J", "--requeue", "--no-requeue",
		"--array", "-a", "--wait", "-W", "--export", "--test-only", NULL
	};
	size_t i, n;

	if (o[0] != '-' || !o[1])
		return jfile_fail(c, path, "\"%s\": expected an sbatch option"
				  " (\"--exclusive\", \"--gres=gpu:0\")", o);
	for (i = 0; ours[i]; i++) {
		n = strlen(ours[i]);
		if (!strncmp(o, ours[i], n) && (!o[n] || o[n] == '=' ||
						 (ours[i][1] != '-' && o[n])))
			return jfile_fail(c, path, "\"%s\": kstage sets %s itself",
					  o, ours[i]);
	}
	return 0;
}

static int parse_profile(struct jfile *c, json_t *v, const char *path,
			 struct slurm_profile *p)
{
	static const char *const keys[] = { "cpus", "mem", "time", "sbatch", NULL };
	json_t *arr = NULL, *e;
	size_t i;

	if (!json_is_object(v))
		return jfile_fail(c, path, "expected an object {\"cpus\": ...,"
				  " \"mem\": ..., \"time\": ..., \"sbatch\": [...]}");
	if (jfile_check_keys(c, v, path, keys) < 0 ||
	    jfile_uint(c, v, path, "cpus", 1, 4096, &p->cpus) < 0 ||
	    jfile_string(c, v, path, "mem", 0, &p->mem) < 0 ||
	    jfile_uint(c, v, path, "time", 1, 525600, &p->time) < 0 ||
	    jfile_array(c, v, path, "sbatch", 64, &arr) < 0)
		return -1;
	if (p->mem && !valid_mem(p->mem)) {
		char *mp = jfile_sub(path, "mem");
		int ret = jfile_fail(c, mp, "\"%s\": expected a size as sbatch --mem"
				     " takes it (\"4G\", \"8000M\")", p->mem);
		free(mp);
		return ret;
	}
	if (!arr)
		return 0;
	p->sbatch = xcalloc(json_array_size(arr) + 1, sizeof(char *));
	json_array_foreach(arr, i, e) {
		char *ep = jfile_subi(path, i);
		int bad;

		if (!json_is_string(e) || strlen(json_string_value(e)) > 1024 ||
		    strchr(json_string_value(e), '\n'))
			bad = jfile_fail(c, ep, "expected an sbatch option as a string");
		else
			bad = check_sbatch_option(c, ep, json_string_value(e));
		free(ep);
		if (bad)
			return -1;
		p->sbatch[p->nr_sbatch++] = xstrdup(json_string_value(e));
	}
	return 0;
}

static int parse_profiles(struct jfile *c, json_t *s, struct slurm_def *sd)
{
	json_t *obj = json_object_get(s, "profiles"), *v;
	const char *name;

	if (!obj)
		return 0;
	if (!json_is_object(obj) || json_object_size(obj) > 256)
		return jfile_fail(c, "slurm.profiles", "expected an object of at most"
				  " 256 profiles: {\"PROFILE\": {\"cpus\": ...}, \"*\": {...}}");
	sd->profiles = xcalloc(json_object_size(obj), sizeof(*sd->profiles));
	json_object_foreach(obj, name, v) {
		struct slurm_profile *p = &sd->profiles[sd->nr_profiles++];
		char *pp = jfile_sub("slurm.profiles", name);
		int ret;

		p->name = xstrdup(name);
		if (strcmp(name, "*") && !config_valid_name(name))
			ret = jfile_fail(c, pp, "\"%s\" is not a profile name", name);
		else
			ret = parse_profile(c, v, pp, p);
		free(pp);
		if (ret < 0)
			return -1;
	}
	return 0;
}

static int parse_placement(struct jfile *c, json_t *s, struct slurm_def *sd)
{
	char *v = NULL;
	int ret = 0;

	if (jfile_string(c, s, "slurm", "placement", 0, &v) < 0)
		return -1;
	if (!v || !strcmp(v, "nodelist"))
		sd->placement = PLACE_NODELIST;
	else if (!strcmp(v, "feature"))
		sd->placement = PLACE_FEATURE;
	else if (!strcmp(v, "any"))
		sd->placement = PLACE_ANY;
	else
		ret = jfile_fail(c, "slurm.placement", "\"%s\": expected \"nodelist\","
				 " \"feature\" or \"any\"", v);
	free(v);
	return ret;
}

/* Partition, account, QOS: a Slurm name, nothing sbatch could misread. */
static int slurm_name(struct jfile *c, json_t *s, const char *key, char **out)
{
	char *path;
	int ret = 0;

	if (jfile_string(c, s, "slurm", key, 0, out) < 0)
		return -1;
	if (!*out)
		return 0;
	if (!**out || strlen(*out) > 128 || **out == '-' ||
	    strspn(*out, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789._-,") != strlen(*out)) {
		path = jfile_sub("slurm", key);
		ret = jfile_fail(c, path, "\"%s\": expected a Slurm %s name", *out, key);
		free(path);
	}
	return ret;
}

int config_parse_slurm(struct jfile *c, json_t *root, const char *dir,
		       struct kstage_config *cfg)
{
	static const char *const keys[] = {
		"partition", "account", "qos", "work", "cache", "kstage", "bin_dir",
		"poll", "prefer_wait", "command_timeout", "placement", "profiles",
		NULL
	};
	json_t *s = json_object_get(root, "slurm");
	char *executor = NULL;
	struct slurm_def *sd;
	int slurm;

	if (jfile_string(c, root, "", "executor", 0, &executor) < 0)
		return -1;
	if (executor && strcmp(executor, "local") && strcmp(executor, "slurm")) {
		jfile_fail(c, "executor", "\"%s\": expected \"local\" (the default)"
			   " or \"slurm\"", executor);
		free(executor);
		return -1;
	}
	slurm = executor && !strcmp(executor, "slurm");
	free(executor);
	if (!slurm && s)
		return jfile_fail(c, "slurm", "\"slurm\" is read with \"executor\":"
				  " \"slurm\" only");
	if (!slurm)
		return 0;
	if (s && !json_is_object(s))
		return jfile_fail(c, "slurm", "expected an object {\"partition\": ...}");
	if (!s)
		s = json_object();
	else
		json_incref(s);
	sd = cfg->slurm = xcalloc(1, sizeof(*sd));
	sd->work = xstrdup(cfg->work);
	sd->cache = xstrdup(cfg->cache);
	sd->kstage = xstrdup_or_null(self_exe());
	sd->poll = 2;
	sd->prefer_wait = 60;
	sd->command_timeout = 30;
	if (jfile_check_keys(c, s, "slurm", keys) < 0 ||
	    slurm_name(c, s, "partition", &sd->partition) < 0 ||
	    slurm_name(c, s, "account", &sd->account) < 0 ||
	    slurm_name(c, s, "qos", &sd->qos) < 0 ||
	    jfile_path_member(c, s, "slurm", "work", dir, &sd->work) < 0 ||
	    jfile_path_member(c, s, "slurm", "cache", dir, &sd->cache) < 0 ||
	    jfile_path_member(c, s, "slurm", "kstage", dir, &sd->kstage) < 0 ||
	    jfile_path_member(c, s, "slurm", "bin_dir", dir, &sd->bin_dir) < 0 ||
	    jfile_uint(c, s, "slurm", "poll", 1, 3600, &sd->poll) < 0 ||
	    jfile_uint(c, s, "slurm", "prefer_wait", 0, 86400, &sd->prefer_wait) < 0 ||
	    jfile_uint(c, s, "slurm", "command_timeout", 1, 600,
		       &sd->command_timeout) < 0 ||
	    parse_placement(c, s, sd) < 0 ||
	    parse_profiles(c, s, sd) < 0) {
		json_decref(s);
		return -1;
	}
	json_decref(s);
	if (!sd->kstage)
		return jfile_fail(c, "slurm.kstage", "expected the path of the kstage"
				  " binary on the nodes");
	return 0;
}

void config_slurm_free(struct kstage_config *cfg)
{
	struct slurm_def *sd = cfg->slurm;
	size_t i, j;

	if (!sd)
		return;
	for (i = 0; i < sd->nr_profiles; i++) {
		for (j = 0; j < sd->profiles[i].nr_sbatch; j++)
			free(sd->profiles[i].sbatch[j]);
		free(sd->profiles[i].sbatch);
		free(sd->profiles[i].name);
		free(sd->profiles[i].mem);
	}
	free(sd->profiles);
	free(sd->partition);
	free(sd->account);
	free(sd->qos);
	free(sd->work);
	free(sd->cache);
	free(sd->kstage);
	free(sd->bin_dir);
	free(sd);
	cfg->slurm = NULL;
}

const struct slurm_profile *config_slurm_profile(const struct slurm_def *s,
						 const char *profile)
{
	const struct slurm_profile *any = NULL;
	size_t i;

	for (i = 0; i < s->nr_profiles; i++) {
		if (!strcmp(s->profiles[i].name, profile))
			return &s->profiles[i];
		if (!strcmp(s->profiles[i].name, "*"))
			any = &s->profiles[i];
	}
	return any;
}
