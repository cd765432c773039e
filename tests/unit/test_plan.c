/*
 * Unit tests of the stack logic (plan.c) and slot checkouts (repo.c) on
 * real temporary repositories made with libgit2.
 */
#include "unit.h"

#include <git2.h>
#include <git2/sys/repository.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "plan.h"
#include "repo.h"
#include "strbuf.h"
#include "wrapper.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct fixture {
	char dir[128];
	git_repository *repo;
	git_signature *sig;
	int clock;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/kstage-unit-plan.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(git_repository_init(&f->repo, f->dir, 1), 0);
	f->clock = 1700000000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	git_repository_free(f->repo);
	remove_tree(f->dir);
	free(f);
	return 0;
}

/*
 * Commit on top of parents: the tree of the first parent with path set to
 * content (content NULL removes path; path NULL changes nothing).
 */
static git_oid commit(struct fixture *f, const char *msg, const git_oid *p1,
		      const git_oid *p2, const char *path, const char *content)
{
	git_treebuilder *tb = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_commit *parents[2] = { NULL, NULL };
	git_signature *sig = NULL;
	git_oid blob, tree_id, id;
	size_t n = 0;

	if (p1) {
		assert_int_equal(git_commit_lookup(&parents[n++], f->repo, p1), 0);
		assert_int_equal(git_commit_tree(&base, parents[0]), 0);
	}
	if (p2)
		assert_int_equal(git_commit_lookup(&parents[n++], f->repo, p2), 0);
	assert_int_equal(git_treebuilder_new(&tb, f->repo, base), 0);
	if (path && content) {
		assert_int_equal(git_blob_create_from_buffer(&blob, f->repo, content,
							     strlen(content)), 0);
		assert_int_equal(git_treebuilder_insert(NULL, tb, path, &blob,
							GIT_FILEMODE_BLOB), 0);
	} else if (path) {
		assert_int_equal(git_treebuilder_remove(tb, path), 0);
	}
	assert_int_equal(git_treebuilder_write(&tree_id, tb), 0);
	assert_int_equal(git_tree_lookup(&tree, f->repo, &tree_id), 0);
	assert_int_equal(git_signature_new(&sig, "A U Thor", "a@example.com",
					   f->clock++, 0), 0);
	assert_int_equal(git_commit_create(&id, f->repo, NULL, sig, sig, NULL, msg,
					   tree, n, (const git_commit **)parents), 0);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base);
	git_treebuilder_free(tb);
	if (parents[0])
		git_commit_free(parents[0]);
	if (parents[1])
		git_commit_free(parents[1]);
	return id;
}

static void branch(struct fixture *f, const char *name, const git_oid *at)
{
	git_commit *c = NULL;
	git_reference *ref = NULL;

	assert_int_equal(git_commit_lookup(&c, f->repo, at), 0);
	assert_int_equal(git_branch_create(&ref, f->repo, name, c, 1), 0);
	git_reference_free(ref);
	git_commit_free(c);
}

/* A plan over f's repository with stage i on branch s<i>. */
static struct plan_def *make_plan(struct fixture *f, size_t nr)
{
	struct plan_def *p = xcalloc(1, sizeof(*p));
	size_t i;

	p->name = xstrdup("t");
	p->repo = xstrdup(f->dir);
	p->base = xstrdup("base");
	p->stages = xcalloc(nr, sizeof(*p->stages));
	p->nr_stages = nr;
	for (i = 0; i < nr; i++) {
		char b[32], n[32];	/* room for any size_t */

		snprintf(b, sizeof(b), "s%zu", i + 1);
		snprintf(n, sizeof(n), "stage%zu", i + 1);
		p->stages[i].branch = xstrdup(b);
		p->stages[i].name = xstrdup(n);
	}
	return p;
}

/* base <- s1 (2 commits) <- s2 (1) <- s3 (3) */
static void make_stack(struct fixture *f, git_oid *ids)
{
	ids[0] = commit(f, "base", NULL, NULL, "README", "linux\n");
	ids[1] = commit(f, "one a", &ids[0], NULL, "a.c", "a\n");
	ids[2] = commit(f, "one b", &ids[1], NULL, "b.c", "b\n");
	ids[3] = commit(f, "two", &ids[2], NULL, "c.c", "c\n");
	ids[4] = commit(f, "three a", &ids[3], NULL, "d.c", "d\n");
	ids[5] = commit(f, "three b", &ids[4], NULL, "e.c", "e\n");
	ids[6] = commit(f, "three c", &ids[5], NULL, "f.c", "f\n");
	branch(f, "base", &ids[0]);
	branch(f, "s1", &ids[2]);
	branch(f, "s2", &ids[3]);
	branch(f, "s3", &ids[6]);
}

static void test_consistent_stack(void **state)
{
	struct fixture *f = *state;
	struct plan_def *p = make_plan(f, 3);
	struct stack st = STACK_INIT;
	git_oid ids[7];
	char *err = NULL;

	make_stack(f, ids);
	assert_int_equal(plan_resolve(&st, f->repo, p, &err), 0);
	assert_null(err);
	assert_int_equal(st.nr, 4);
	assert_true(stack_consistent(&st));
	assert_true(git_oid_equal(&st.v[0].head, &ids[0]));
	assert_true(git_oid_equal(&st.v[3].head, &ids[6]));
	assert_int_equal(st.v[1].nr_commits, 2);
	assert_int_equal(st.v[2].nr_commits, 1);
	assert_int_equal(st.v[3].nr_commits, 3);
	/* oldest first */
	assert_string_equal(st.v[3].commits[0].subject, "three a");
	assert_string_equal(st.v[3].commits[2].subject, "three c");
	assert_string_equal(st.v[1].commits[0].author, "A U Thor <a@example.com>");
	assert_int_equal(st.v[2].below, 1);
	assert_string_equal(stack_state_name(st.v[2].state), "ok");
	stack_release(&st);
	plan_def_free(p);
}

static void test_needs_rebase(void **state)
{
	struct fixture *f = *state;
	struct plan_def *p = make_plan(f, 3);
	struct stack st = STACK_INIT;
	git_oid ids[7], fix1, fix2;
	char *err = NULL;
	char hex[GIT_OID_HEXSZ + 1];

	make_stack(f, ids);
	/* stage 1 gets two more commits; stage 2 does not have them */
	fix1 = commit(f, "one: fix the fix", &ids[2], NULL, "a.c", "a2\n");
	fix2 = commit(f, "one: fix again", &fix1, NULL, "a.c", "a3\n");
	branch(f, "s1", &fix2);
	assert_int_equal(plan_resolve(&st, f->repo, p, &err), 0);
	assert_false(stack_consistent(&st));
	assert_int_equal(st.v[1].state, STACK_OK);
	assert_int_equal(st.v[2].state, STACK_NEEDS_REBASE);
	assert_true(git_oid_equal(&st.v[2].missing, &fix1));
	assert_int_equal(st.v[2].nr_missing, 2);
	git_oid_tostr(hex, 13, &fix2);
	assert_non_null(strstr(st.v[2].detail, hex));
	assert_non_null(strstr(st.v[2].detail, "one: fix the fix"));
	assert_non_null(strstr(st.v[2].detail, "missing 2 commits"));
	/* stage 3 still sits on stage 2 */
	assert_int_equal(st.v[3].state, STACK_OK);
	/* a stale stage still lists its own commits since the fork */
	assert_int_equal(st.v[2].nr_commits, 1);
	stack_release(&st);
	plan_def_free(p);
}

static void test_missing_branch(void **state)
{
	struct fixture *f = *state;
	struct plan_def *p = make_plan(f, 3);
	struct stack st = STACK_INIT;
	git_reference *ref = NULL;
	git_oid ids[7];
	char *err = NULL;

	make_stack(f, ids);
	assert_int_equal(git_branch_lookup(&ref, f->repo, "s2", GIT_BRANCH_LOCAL), 0);
	assert_int_equal(git_branch_delete(ref), 0);
	git_reference_free(ref);
	assert_int_equal(plan_resolve(&st, f->repo, p, &err), 0);
	assert_int_equal(st.v[2].state, STACK_MISSING);
	assert_false(st.v[2].resolved);
	assert_non_null(strstr(st.v[2].detail, "s2 does not exist"));
	/* stage 3 is judged against stage 1 and owns stage 2's commit too */
	assert_int_equal(st.v[3].below, 1);
	assert_int_equal(st.v[3].state, STACK_OK);
	assert_int_equal(st.v[3].nr_commits, 4);
	stack_release(&st);
	plan_def_free(p);
}

static void test_missing_base(void **state)
{
	struct fixture *f = *state;
	struct plan_def *p = make_plan(f, 1);
	struct stack st = STACK_INIT;
	char *err = NULL;

	commit(f, "lonely", NULL, NULL, "x", "x\n");
	assert_int_equal(plan_resolve(&st, f->repo, p, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err, "base \"base\" does not resolve"));
	free(err);
	plan_def_free(p);
}

static void test_first_parent(void **state)
{
	struct fixture *f = *state;
	struct plan_def *p = make_plan(f, 1);
	struct stack st = STACK_INIT;
	git_oid base, side1, side2, mine, merge;
	char *err = NULL;

	base = commit(f, "base", NULL, NULL, "README", "r\n");
	side1 = commit(f, "side 1", &base, NULL, "s1", "1\n");
	side2 = commit(f, "side 2", &side1, NULL, "s2", "2\n");
	mine = commit(f, "mine", &base, NULL, "m", "m\n");
	merge = commit(f, "merge side", &mine, &side2, "s2", "2\n");
	branch(f, "base", &base);
	branch(f, "s1", &merge);
	assert_int_equal(plan_resolve(&st, f->repo, p, &err), 0);
	assert_int_equal(st.v[1].nr_commits, 2);
	assert_string_equal(st.v[1].commits[0].subject, "mine");
	assert_string_equal(st.v[1].commits[1].subject, "merge side");
	stack_release(&st);
	plan_def_free(p);
}

static void test_branch_is_the_base(void **state)
{
	struct fixture *f = *state;
	struct plan_def *p = make_plan(f, 1);
	struct stack st = STACK_INIT;
	git_oid base;
	char *err = NULL;

	base = commit(f, "base", NULL, NULL, "README", "r\n");
	branch(f, "base", &base);
	branch(f, "s1", &base);
	assert_int_equal(plan_resolve(&st, f->repo, p, &err), 0);
	assert_int_equal(st.v[1].state, STACK_OK);
	assert_int_equal(st.v[1].nr_commits, 0);
	stack_release(&st);
	plan_def_free(p);
}

/* --- checkouts ------------------------------------------------------------ */

static struct timespec mtime_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mtim;
}

static void test_checkout_incremental(void **state)
{
	struct fixture *f = *state;
	struct checkout_stats stats;
	git_oid c1, c2, c3, t1, t2, t3;
	struct strbuf dir = STRBUF_INIT, statef = STRBUF_INIT, p = STRBUF_INIT;
	struct strbuf content = STRBUF_INIT;
	struct timespec before, after;

	c1 = commit(f, "one", NULL, NULL, "keep.c", "keep\n");
	c1 = commit(f, "two", &c1, NULL, "change.c", "v1\n");
	c1 = commit(f, "three", &c1, NULL, "gone.c", "bye\n");
	c2 = commit(f, "change", &c1, NULL, "change.c", "v2\n");
	c2 = commit(f, "remove", &c2, NULL, "gone.c", NULL);
	c3 = commit(f, "add", &c2, NULL, "new.c", "new\n");
	repo_commit_tree(&t1, f->repo, &c1);
	repo_commit_tree(&t2, f->repo, &c2);
	repo_commit_tree(&t3, f->repo, &c3);
	strbuf_addf(&dir, "%s/slot/tree", f->dir);
	strbuf_addf(&statef, "%s/slot/state", f->dir);
	mkdir_p(dir.buf, 0755);

	assert_int_equal(repo_checkout_dir(&stats, f->dir, &t1, dir.buf, statef.buf), 0);
	assert_true(stats.full);
	strbuf_addf(&p, "%s/keep.c", dir.buf);
	before = mtime_of(p.buf);
	usleep(20000);

	assert_int_equal(repo_checkout_dir(&stats, f->dir, &t2, dir.buf, statef.buf), 0);
	assert_false(stats.full);
	assert_int_equal(stats.changed, 2);
	after = mtime_of(p.buf);
	assert_int_equal(before.tv_sec, after.tv_sec);
	assert_int_equal(before.tv_nsec, after.tv_nsec);
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/gone.c", dir.buf);
	assert_int_not_equal(access(p.buf, F_OK), 0);
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/change.c", dir.buf);
	assert_int_equal(strbuf_read_file(&content, p.buf, 0), 0);
	assert_string_equal(content.buf, "v2\n");

	/* the same tree again: nothing to do */
	assert_int_equal(repo_checkout_dir(&stats, f->dir, &t2, dir.buf, statef.buf), 0);
	assert_int_equal(stats.changed, 0);
	assert_false(stats.full);

	/* a checkout that never finished is redone in full */
	assert_int_equal(write_file_atomic(statef.buf, "garbage dirty\n", 14), 0);
	assert_int_equal(repo_checkout_dir(&stats, f->dir, &t3, dir.buf, statef.buf), 0);
	assert_true(stats.full);
	strbuf_reset(&content);
	assert_int_equal(strbuf_read_file(&content, statef.buf, 0), 0);
	assert_non_null(strstr(content.buf, " clean"));

	strbuf_release(&dir);
	strbuf_release(&statef);
	strbuf_release(&p);
	strbuf_release(&content);
}

/*
 * Trees with any modes, written straight from a list: a path with
 * slashes lands in subdirectories.  A gitlink (GIT_FILEMODE_COMMIT) gets
 * a made-up commit id, as a submodule's commit is not in the superproject.
 */
struct entry {
	const char *path;
	git_filemode_t mode;
	const char *content;	/* blob content, symlink target */
};

static git_oid tree_of(struct fixture *f, const struct entry *e, size_t n)
{
	git_index *idx = NULL;
	git_oid id;
	size_t i;

	assert_int_equal(git_index_new(&idx), 0);
	for (i = 0; i < n; i++) {
		git_index_entry ie;

		memset(&ie, 0, sizeof(ie));
		ie.path = e[i].path;
		ie.mode = e[i].mode;
		if (e[i].mode == GIT_FILEMODE_COMMIT)
			assert_int_equal(git_oid_fromstr(&ie.id,
				"0123456789abcdef0123456789abcdef01234567"), 0);
		else
			assert_int_equal(git_blob_create_from_buffer(&ie.id, f->repo,
				e[i].content, strlen(e[i].content)), 0);
		assert_int_equal(git_index_add(idx, &ie), 0);
	}
	assert_int_equal(git_index_write_tree_to(&id, idx, f->repo), 0);
	git_index_free(idx);
	return id;
}

/*
 * dir holds exactly tree_id: libgit2 compares every file with the tree
 * (content, executable bit, symlink targets) and finds nothing to
 * report, not even an untracked file; submodules are not looked into.
 */
static void assert_tree_clean(struct fixture *f, const git_oid *tree_id,
			      const char *dir)
{
	git_repository *r = NULL;
	git_index *idx = NULL;
	git_tree *t = NULL;
	git_diff *d = NULL;
	git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
	size_t i, n;

	assert_int_equal(repo_open(&r, f->dir), 0);
	assert_int_equal(git_repository_set_workdir(r, dir, 0), 0);
	assert_int_equal(git_index_new(&idx), 0);
	assert_int_equal(git_repository_set_index(r, idx), 0);
	assert_int_equal(git_tree_lookup(&t, r, tree_id), 0);
	opts.flags = GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS |
		     GIT_DIFF_INCLUDE_TYPECHANGE;
	opts.ignore_submodules = GIT_SUBMODULE_IGNORE_ALL;
	assert_int_equal(git_diff_tree_to_workdir(&d, r, t, &opts), 0);
	n = git_diff_num_deltas(d);
	for (i = 0; i < n; i++)
		print_message("not clean: %s\n", git_diff_get_delta(d, i)->new_file.path);
	assert_int_equal(n, 0);
	git_diff_free(d);
	git_tree_free(t);
	git_index_free(idx);
	git_repository_free(r);
}

static void assert_state(const char *statef, const git_oid *tree, const char *word)
{
	struct strbuf sb = STRBUF_INIT;
	char hex[GIT_OID_HEXSZ + 1];

	assert_int_equal(strbuf_read_file(&sb, statef, 0), 0);
	git_oid_tostr(hex, sizeof(hex), tree);
	assert_memory_equal(sb.buf, hex, GIT_OID_HEXSZ);
	assert_non_null(strstr(sb.buf, word));
	strbuf_release(&sb);
}

static struct stat stat_in(const char *dir, const char *path)
{
	struct strbuf p = STRBUF_INIT;
	struct stat st;

	strbuf_addf(&p, "%s/%s", dir, path);
	assert_int_equal(lstat(p.buf, &st), 0);
	strbuf_release(&p);
	return st;
}

static int exists_in(const char *dir, const char *path)
{
	struct strbuf p = STRBUF_INIT;
	struct stat st;
	int rc;

	strbuf_addf(&p, "%s/%s", dir, path);
	rc = lstat(p.buf, &st) == 0;
	strbuf_release(&p);
	return rc;
}

static const struct entry stage1[] = {
	{ "Makefile", GIT_FILEMODE_BLOB, "all:\n" },
	{ "mm/memremap.c", GIT_FILEMODE_BLOB, "memremap v1\n" },
	{ "mm/gup.c", GIT_FILEMODE_BLOB, "gup\n" },
	{ "lib/test_hmm.c", GIT_FILEMODE_BLOB, "hmm v1\n" },
	{ "scripts/config", GIT_FILEMODE_BLOB_EXECUTABLE, "#!/bin/sh\n" },
	{ "scripts/mode.sh", GIT_FILEMODE_BLOB, "echo mode\n" },
	{ "tools/testing/selftests/mm/run_vmtests.sh", GIT_FILEMODE_BLOB_EXECUTABLE,
	  "#!/bin/sh\nexit 0\n" },
	{ "arch/x86/boot/dts", GIT_FILEMODE_LINK, "../../../scripts/dtc/include-prefixes" },
	{ "include/link-to-gup.c", GIT_FILEMODE_LINK, "../mm/gup.c" },
	{ "old/gone.c", GIT_FILEMODE_BLOB, "gone\n" },
};

/* stage 2 changes one file, flips two modes, retargets a symlink,
 * removes a directory's only file and adds a file in a new directory. */
static const struct entry stage2[] = {
	{ "Makefile", GIT_FILEMODE_BLOB, "all:\n" },
	{ "mm/memremap.c", GIT_FILEMODE_BLOB, "memremap v2\n" },
	{ "mm/gup.c", GIT_FILEMODE_BLOB, "gup\n" },
	{ "lib/test_hmm.c", GIT_FILEMODE_BLOB, "hmm v1\n" },
	{ "scripts/config", GIT_FILEMODE_BLOB, "#!/bin/sh\n" },
	{ "scripts/mode.sh", GIT_FILEMODE_BLOB_EXECUTABLE, "echo mode\n" },
	{ "tools/testing/selftests/mm/run_vmtests.sh", GIT_FILEMODE_BLOB_EXECUTABLE,
	  "#!/bin/sh\nexit 0\n" },
	{ "arch/x86/boot/dts", GIT_FILEMODE_LINK, "../../../scripts/dtc/include-prefixes" },
	{ "include/link-to-gup.c", GIT_FILEMODE_LINK, "../lib/test_hmm.c" },
	{ "new/dir/added.c", GIT_FILEMODE_BLOB, "added\n" },
};

/* The first checkout into a directory that does not exist yet. */
static void test_checkout_first(void **state)
{
	struct fixture *f = *state;
	struct checkout_stats stats;
	struct strbuf dir = STRBUF_INIT, statef = STRBUF_INIT, p = STRBUF_INIT;
	struct strbuf content = STRBUF_INIT;
	git_oid t1 = tree_of(f, stage1, ARRAY_SIZE(stage1));
	char target[256];
	ssize_t len;

	strbuf_addf(&dir, "%s/slots/0/tree", f->dir);
	strbuf_addf(&statef, "%s/slots/0/state", f->dir);
	mkdir_p(dir.buf, 0755);
	rmdir(dir.buf);
	assert_int_equal(repo_checkout_dir(&stats, f->dir, &t1, dir.buf, statef.buf), 0);
	assert_true(stats.full);
	assert_state(statef.buf, &t1, " clean");
	assert_tree_clean(f, &t1, dir.buf);

	strbuf_addf(&p, "%s/mm/memremap.c", dir.buf);
	assert_int_equal(strbuf_read_file(&content, p.buf, 0), 0);
	assert_string_equal(content.buf, "memremap v1\n");
	assert_true(stat_in(dir.buf, "scripts/config").st_mode & S_IXUSR);
	assert_true(stat_in(dir.buf, "tools/testing/selftests/mm/run_vmtests.sh").st_mode & S_IXUSR);
	assert_false(stat_in(dir.buf, "scripts/mode.sh").st_mode & S_IXUSR);
	assert_false(stat_in(dir.buf, "mm/gup.c").st_mode & S_IXUSR);
	assert_true(S_ISLNK(stat_in(dir.buf, "include/link-to-gup.c").st_mode));
	strbuf_reset(&p);
	strbuf_addf(&p, "%s/include/link-to-gup.c", dir.buf);
	len = readlink(p.buf, target, sizeof(target) - 1);
	assert_true(len > 0);
	target[len] = '\0';
	assert_string_equal(target, "../mm/gup.c");
	/* a dangling symlink is written as it is, not followed */
	assert_true(S_ISLNK(stat_in(dir.buf, "arch/x86/boot/dts").st_mode));

	strbuf_release(&dir);
	strbuf_release(&statef);
	strbuf_release(&p);
	strbuf_release(&content);
}

/*
 * After a first checkout, switching to the adjacent stage writes only the
 * paths that differ: every other file keeps its inode and its mtime (so
 * make rebuilds only what changed), and the tree is clean.
 */
static void test_checkout_first_then_switch(void **state)
{
	static const char *const unchanged[] = {
		"Makefile", "mm/gup.c", "lib/test_hmm.c",
		"tools/testing/selftests/mm/run_vmtests.sh", "arch/x86/boot/dts",
	};
	struct fixture *f = *state;
	struct checkout_stats stats;
	struct strbuf dir = STRBUF_INIT, statef = STRBUF_INIT;
	git_oid t1 = tree_of(f, stage1, ARRAY_SIZE(stage1));
	git_oid t2 = tree_of(f, stage2, ARRAY_SIZE(stage2));
	struct stat before[ARRAY_SIZE(unchanged)], after;
	size_t i;

	strbuf_addf(&dir, "%s/slot/tree", f->dir);
	strbuf_addf(&statef, "%s/slot/state", f->dir);
	mkdir_p(dir.buf, 0755);
	assert_int_equal(repo_checkout_dir(&stats, f->dir, &t1, dir.buf, statef.buf), 0);
	assert_true(stats.full);
	for (i = 0; i < ARRAY_SIZE(unchanged); i++)
		before[i] = stat_in(dir.buf, unchanged[i]);
	usleep(20000);

	assert_int_equal(repo_checkout_dir(&stats, f->dir, &t2, dir.buf, statef.buf), 0);
	assert_false(stats.full);
	/* memremap.c, two modes, one symlink, gone.c, added.c */
	assert_int_equal(stats.changed, 6);
	assert_state(statef.buf, &t2, " clean");
	assert_tree_clean(f, &t2, dir.buf);
	for (i = 0; i < ARRAY_SIZE(unchanged); i++) {
		after = stat_in(dir.buf, unchanged[i]);
		assert_int_equal(before[i].st_ino, after.st_ino);
		assert_int_equal(before[i].st_mtim.tv_sec, after.st_mtim.tv_sec);
		assert_int_equal(before[i].st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	}
	assert_false(stat_in(dir.buf, "scripts/config").st_mode & S_IXUSR);
	assert_true(stat_in(dir.buf, "scripts/mode.sh").st_mode & S_IXUSR);
	assert_false(exists_in(dir.buf, "old/gone.c"));

	/* and back */
	assert_int_equal(repo_checkout_dir(&stats, f->dir, &t1, dir.buf, statef.buf), 0);
	assert_false(stats.full);
	assert_int_equal(stats.changed, 6);
	assert_tree_clean(f, &t1, dir.buf);

	strbuf_release(&dir);
	strbuf_release(&statef);
}

/* Remove the loose object id from the fixture's repository. */
static void lose_object(struct fixture *f, const git_oid *id)
{
	struct strbuf p = STRBUF_INIT;
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), id);
	strbuf_addf(&p, "%s/objects/%.2s/%s", f->dir, hex, hex + 2);
	assert_int_equal(unlink(p.buf), 0);
	strbuf_release(&p);
}

/*
 * A first checkout that fails half-way (here: a blob is missing, as with
 * a damaged repository) reports the error and leaves the slot marked
 * dirty; the next checkout starts over and leaves exactly its own tree,
 * none of the half-written one.
 */
static void test_checkout_failure_repaired(void **state)
{
	static const struct entry broken[] = {
		{ "a/first.c", GIT_FILEMODE_BLOB, "written before the failure\n" },
		{ "m/missing.c", GIT_FILEMODE_BLOB, "this blob is lost\n" },
		{ "z/last.c", GIT_FILEMODE_BLOB, "never reached\n" },
	};
	struct fixture *f = *state;
	struct checkout_stats stats;
	struct strbuf dir = STRBUF_INIT, statef = STRBUF_INIT;
	git_oid tb = tree_of(f, broken, ARRAY_SIZE(broken));
	git_oid t1 = tree_of(f, stage1, ARRAY_SIZE(stage1));
	git_oid lost;

	assert_int_equal(git_blob_create_from_buffer(&lost, f->repo, broken[1].content,
						     strlen(broken[1].content)), 0);
	lose_object(f, &lost);
	strbuf_addf(&dir, "%s/slot/tree", f->dir);
	strbuf_addf(&statef, "%s/slot/state", f->dir);
	mkdir_p(dir.buf, 0755);

	assert_int_equal(repo_checkout_dir(&stats, f->dir, &tb, dir.buf, statef.buf), -1);
	assert_true(stats.full);
	assert_state(statef.buf, &tb, " dirty");
	assert_true(exists_in(dir.buf, "a/first.c"));

	assert_int_equal(repo_checkout_dir(&stats, f->dir, &t1, dir.buf, statef.buf), 0);
	assert_true(stats.full);
	assert_state(statef.buf, &t1, " clean");
	assert_false(exists_in(dir.buf, "a/first.c"));
	assert_tree_clean(f, &t1, dir.buf);

	/* the same failure on a switch: the next checkout is a full one */
	assert_int_equal(repo_checkout_dir(&stats, f->dir, &tb, dir.buf, statef.buf), -1);
	assert_false(stats.full);
	assert_state(statef.buf, &tb, " dirty");
	assert_int_equal(repo_checkout_dir(&stats, f->dir, &t1, dir.buf, statef.buf), 0);
	assert_true(stats.full);
	assert_tree_clean(f, &t1, dir.buf);

	strbuf_release(&dir);
	strbuf_release(&statef);
}

/*
 * A submodule (gitlink) is refused by name before anything is written,
 * on a first checkout and on a switch: the slot keeps what it had.
 */
static void test_checkout_gitlink(void **state)
{
	static const struct entry with_sub[] = {
		{ "Makefile", GIT_FILEMODE_BLOB, "all:\n" },
		{ "sub/module", GIT_FILEMODE_COMMIT, NULL },
		{ "tools/x.c", GIT_FILEMODE_BLOB, "x\n" },
	};
	struct fixture *f = *state;
	struct checkout_stats stats;
	struct strbuf dir = STRBUF_INIT, statef = STRBUF_INIT;
	git_oid ts = tree_of(f, with_sub, ARRAY_SIZE(with_sub));
	git_oid t1 = tree_of(f, stage1, ARRAY_SIZE(stage1));

	strbuf_addf(&dir, "%s/slot/tree", f->dir);
	strbuf_addf(&statef, "%s/slot/state", f->dir);
	mkdir_p(dir.buf, 0755);
	assert_int_equal(repo_checkout_dir(&stats, f->dir, &ts, dir.buf, statef.buf), -1);
	assert_false(exists_in(dir.buf, "Makefile"));
	assert_false(exists_in(f->dir, "slot/state"));

	assert_int_equal(repo_checkout_dir(&stats, f->dir, &t1, dir.buf, statef.buf), 0);
	assert_int_equal(repo_checkout_dir(&stats, f->dir, &ts, dir.buf, statef.buf), -1);
	assert_false(exists_in(dir.buf, "sub"));
	assert_state(statef.buf, &t1, " clean");
	assert_tree_clean(f, &t1, dir.buf);

	strbuf_release(&dir);
	strbuf_release(&statef);
}

/* A raw tree object: entries as "<mode> <name>\0<id>", as git stores them. */
static git_oid raw_tree(struct fixture *f, const char *mode, const char *name,
			const git_oid *id)
{
	git_odb *odb = NULL;
	struct strbuf sb = STRBUF_INIT;
	git_oid out;

	strbuf_addf(&sb, "%s %s", mode, name);
	strbuf_addch(&sb, '\0');
	strbuf_add(&sb, id->id, GIT_OID_RAWSZ);
	assert_int_equal(git_repository_odb(&odb, f->repo), 0);
	assert_int_equal(git_odb_write(&out, odb, sb.buf, sb.len, GIT_OBJECT_TREE), 0);
	git_odb_free(odb);
	strbuf_release(&sb);
	return out;
}

/*
 * A tree whose entries would lead out of the slot (a directory named
 * "..", as a hostile push could carry) is refused: nothing is written
 * beside the slot, and the slot is not marked clean.
 */
static void test_checkout_no_escape(void **state)
{
	static const char *const names[] = { "..", ".git", "." };
	struct fixture *f = *state;
	struct checkout_stats stats;
	struct strbuf dir = STRBUF_INIT, statef = STRBUF_INIT;
	git_oid t1 = tree_of(f, stage1, ARRAY_SIZE(stage1));
	git_oid blob, inner, outer;
	size_t i;

	strbuf_addf(&dir, "%s/slot/tree", f->dir);
	strbuf_addf(&statef, "%s/slot/state", f->dir);
	mkdir_p(dir.buf, 0755);
	assert_int_equal(git_blob_create_from_buffer(&blob, f->repo, "x\n", 2), 0);
	inner = raw_tree(f, "100644", "escaped.c", &blob);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		outer = raw_tree(f, "40000", names[i], &inner);
		assert_int_equal(repo_checkout_dir(&stats, f->dir, &outer, dir.buf,
						   statef.buf), -1);
		assert_false(exists_in(f->dir, "slot/escaped.c"));
		assert_false(exists_in(f->dir, "slot/tree/escaped.c"));
		assert_false(exists_in(f->dir, "slot/tree/.git/escaped.c"));
		assert_state(statef.buf, &outer, " dirty");

		/* and as a switch from a clean slot */
		assert_int_equal(repo_checkout_dir(&stats, f->dir, &t1, dir.buf,
						   statef.buf), 0);
		assert_int_equal(repo_checkout_dir(&stats, f->dir, &outer, dir.buf,
						   statef.buf), -1);
		assert_false(stats.full);
		assert_false(exists_in(f->dir, "slot/escaped.c"));
		assert_false(exists_in(f->dir, "slot/tree/.git/escaped.c"));
	}
	strbuf_release(&dir);
	strbuf_release(&statef);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_consistent_stack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needs_rebase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_branch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_branch_is_the_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_incremental, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_first_then_switch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_failure_repaired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_gitlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkout_no_escape, setup, teardown),
	};
	int rc;

	if (repo_global_init() < 0)
		return 1;
	rc = cmocka_run_group_tests_name("plan", tests, NULL, NULL);
	git_libgit2_shutdown();
	return rc;
}
