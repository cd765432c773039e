/*
 * Unit tests of remote.c's pure parts and its mirror: the backoff after
 * failed fetches, and the bare repository made for a plan whose "repo"
 * does not exist (a fetch itself is tested end to end, t0220-remote.sh).
 */
#include "unit.h"

#include <git2.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "remote.h"
#include "wrapper.h"

static void test_backoff(void **state)
{
	(void)state;
	/* a success: the poll interval, or only on request */
	assert_int_equal(remote_backoff(60, 0), 60);
	assert_int_equal(remote_backoff(0, 0), 0);
	/* failures: doubled from the poll interval, capped at 30 minutes */
	assert_int_equal(remote_backoff(60, 1), 60);
	assert_int_equal(remote_backoff(60, 2), 120);
	assert_int_equal(remote_backoff(60, 3), 240);
	assert_int_equal(remote_backoff(60, 5), 960);
	assert_int_equal(remote_backoff(60, 6), REMOTE_BACKOFF_MAX);
	assert_int_equal(remote_backoff(60, 1000000), REMOTE_BACKOFF_MAX);
	assert_int_equal(remote_backoff(1, 3), 4);
	/* no poll interval: retries still back off */
	assert_int_equal(remote_backoff(0, 1), REMOTE_RETRY_BASE);
	assert_int_equal(remote_backoff(0, 2), 2 * REMOTE_RETRY_BASE);
	/* a poll interval longer than the cap is the cap */
	assert_int_equal(remote_backoff(7200, 1), 7200);
	assert_int_equal(remote_backoff(7200, 4), 7200);
}

static void test_mirror_init(void **state)
{
	char dir[] = "/tmp/kstage-unit-remote.XXXXXX";
	struct plan_def plan = { 0 };
	git_repository *repo = NULL;
	int created = -1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	plan.name = "demo";
	plan.repo = path_join(dir, "deep/er/linux.git");
	assert_int_equal(remote_mirror_init(&plan, &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(git_repository_open(&repo, plan.repo), 0);
	assert_true(git_repository_is_bare(repo));
	assert_int_equal(git_repository_is_empty(repo), 1);
	git_repository_free(repo);
	/* there already: left alone */
	assert_int_equal(remote_mirror_init(&plan, &created), 0);
	assert_int_equal(created, 0);
	free(plan.repo);
	remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_mirror_init),
	};
	int rc;

	git_libgit2_init();
	rc = cmocka_run_group_tests_name("remote", tests, NULL, NULL);
	git_libgit2_shutdown();
	return rc;
}
