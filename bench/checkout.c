/*
 * bench/checkout: time repo_checkout_dir() switching a slot tree between
 * two trees, alternately, and check that files the switch does not touch
 * keep their mtime.
 *
 *   checkout REPO TREE_A TREE_B DIR ITERATIONS PROBE_PATH
 *
 * Prints "full S", then one "switch S" line per switch, then
 * "mtime-kept yes|no" for PROBE_PATH (a file both trees share).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <git2.h>

#include "repo.h"
#include "strbuf.h"
#include "wrapper.h"

int main(int argc, char **argv)
{
	struct checkout_stats st;
	struct strbuf state = STRBUF_INIT, probe = STRBUF_INIT;
	struct stat before, after;
	git_oid a, b;
	int i, n;

	if (argc != 7) {
		fprintf(stderr, "usage: checkout REPO TREE_A TREE_B DIR N PROBE\n");
		return 2;
	}
	if (repo_global_init() < 0)
		return 1;
	if (git_oid_fromstr(&a, argv[2]) < 0 || git_oid_fromstr(&b, argv[3]) < 0)
		return 2;
	n = atoi(argv[5]);
	strbuf_addf(&state, "%s.state", argv[4]);
	strbuf_addf(&probe, "%s/%s", argv[4], argv[6]);
	if (repo_checkout_dir(&st, argv[1], &a, argv[4], state.buf) < 0)
		return 1;
	printf("full %.3f\n", st.seconds);
	if (stat(probe.buf, &before) < 0)
		return 1;
	for (i = 0; i < n; i++) {
		if (repo_checkout_dir(&st, argv[1], i % 2 ? &a : &b, argv[4],
				      state.buf) < 0)
			return 1;
		printf("switch %.4f %zu\n", st.seconds, st.changed);
	}
	if (stat(probe.buf, &after) < 0)
		return 1;
	printf("mtime-kept %s\n", before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
	       before.st_mtim.tv_nsec == after.st_mtim.tv_nsec ? "yes" : "no");
	strbuf_release(&state);
	strbuf_release(&probe);
	git_libgit2_shutdown();
	return 0;
}
