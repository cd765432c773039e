/*
 * fuzz_config: the loaders of the daemon configuration, plans and
 * profiles (config.h) on anything.  They read files, so the input goes
 * to a file in a private directory, with a valid profile.json beside it
 * for plans to name; each loader either returns a structure or an error
 * that names the file.
 */
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static char dir[64], in[96];

static void write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
}

static void setup(void)
{
	static const char profile[] =
		"{ \"name\": \"fake\", \"steps\": [\n"
		"  { \"name\": \"build\", \"run\": [\"true\"], \"timeout\": 60 },\n"
		"  { \"name\": \"boot\", \"run\": [\"./boot\"], \"timeout\": 60, \"console\": true } ],\n"
		"  \"end_marker\": \"KSTAGE-DONE\", \"kill_grace\": 2 }\n";
	char path[128];

	strcpy(dir, "/tmp/kstage-fuzz-config.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(in, sizeof(in), "%s/in.json", dir);
	snprintf(path, sizeof(path), "%s/profile.json", dir);
	write_file(path, profile, sizeof(profile) - 1);
	snprintf(path, sizeof(path), "%s/boot", dir);
	write_file(path, "#!/bin/sh\n", 10);
}

static void cleanup(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/profile.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/boot", dir);
	unlink(path);
	unlink(in);
	rmdir(dir);
}

/* A failure comes with a message (it names a file: in.json, or the
 * profile a plan names, which may be any file). */
static void check_err(char *err)
{
	fuzz_check(err != NULL && err[0] == '/');
	free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kstage_config *cfg;
	struct plan_def *plan;
	struct profile *prof;
	char *err = NULL;

	if (!dir[0]) {
		setup();
		atexit(cleanup);
	}
	write_file(in, data, size);

	cfg = config_load(in, &err);
	if (cfg)
		config_free(cfg);
	else
		check_err(err);
	err = NULL;

	plan = plan_def_load(in, &err);
	if (plan) {
		fuzz_check(plan->name && plan->repo && plan->profile);
		plan_def_free(plan);
	} else {
		check_err(err);
	}
	err = NULL;

	prof = profile_load(in, &err);
	if (prof) {
		fuzz_check(prof->name && prof->nr_steps > 0);
		fuzz_check(strlen(prof->digest) == 40);
		profile_free(prof);
	} else {
		check_err(err);
	}
	return 0;
}
