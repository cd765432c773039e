/*
 * Unit tests of the command-line rules (options.c): options and arguments
 * in any order, both spellings of a value, help, unknown options and
 * missing values, -v/-q anywhere, parsing twice in one process.
 */
#include "unit.h"

#include "log.h"
#include "options.h"

enum { OPT_URL = 256, OPT_JSON };

static const struct option table[] = {
	OPTION_HELP,
	{ "config", required_argument, NULL, 'c' },
	{ "url", required_argument, NULL, OPT_URL },
	{ "json", no_argument, NULL, OPT_JSON },
	OPTION_END
};

static const char usage[] = "usage: kstage test [-c FILE] [--url URL] [--json] ARG...\n";

struct seen {
	const char *config, *url;
	int json;
	int end;		/* options_next()'s last return: 0 or -1 */
	int status;
	char **args;
	int nr_args;
};

/* Parse argv (NULL-terminated) with the table above. */
static struct seen parse(char **argv)
{
	struct options o = OPTIONS_INIT(table, usage);
	struct seen s = { NULL, NULL, 0, 0, 0, NULL, 0 };
	int argc = 0, opt;

	while (argv[argc])
		argc++;
	while ((opt = options_next(&o, argc, argv)) > 0) {
		if (opt == 'c')
			s.config = optarg;
		else if (opt == OPT_URL)
			s.url = optarg;
		else if (opt == OPT_JSON)
			s.json = 1;
	}
	s.end = opt;
	s.status = o.status;
	s.args = argv + optind;
	s.nr_args = argc - optind;
	return s;
}

static void test_any_order(void **state)
{
	char *argv[] = { "kstage test", "one", "--url=http://x", "two", "-c", "k.json",
			 "--json", "three", NULL };
	struct seen s = parse(argv);

	(void)state;
	assert_int_equal(s.end, 0);
	assert_string_equal(s.url, "http://x");
	assert_string_equal(s.config, "k.json");
	assert_true(s.json);
	assert_int_equal(s.nr_args, 3);
	assert_string_equal(s.args[0], "one");
	assert_string_equal(s.args[1], "two");
	assert_string_equal(s.args[2], "three");
}

static void test_spellings(void **state)
{
	char *a[] = { "kstage test", "--url", "http://y", "--config=c.json", NULL };
	char *b[] = { "kstage test", "-cc.json", "--", "--json", NULL };
	struct seen s;

	(void)state;
	s = parse(a);
	assert_int_equal(s.end, 0);
	assert_string_equal(s.url, "http://y");
	assert_string_equal(s.config, "c.json");
	assert_int_equal(s.nr_args, 0);
	/* "--" ends the options: what follows is an argument. */
	s = parse(b);
	assert_int_equal(s.end, 0);
	assert_string_equal(s.config, "c.json");
	assert_false(s.json);
	assert_int_equal(s.nr_args, 1);
	assert_string_equal(s.args[0], "--json");
}

static void test_help_and_errors(void **state)
{
	char *help[] = { "kstage test", "x", "--help", NULL };
	char *unknown[] = { "kstage test", "--frob", NULL };
	char *missing[] = { "kstage test", "x", "--url", NULL };
	char *missing_short[] = { "kstage test", "-c", NULL };
	struct seen s;

	(void)state;
	s = parse(help);
	assert_int_equal(s.end, -1);
	assert_int_equal(s.status, 0);
	s = parse(unknown);
	assert_int_equal(s.end, -1);
	assert_int_equal(s.status, 2);
	s = parse(missing);
	assert_int_equal(s.end, -1);
	assert_int_equal(s.status, 2);
	s = parse(missing_short);
	assert_int_equal(s.end, -1);
	assert_int_equal(s.status, 2);
}

static void test_verbosity_anywhere(void **state)
{
	char *argv[] = { "kstage test", "x", "-q", NULL };
	char *again[] = { "kstage test", "-v", "y", NULL };
	enum log_level saved = log_verbosity;
	struct seen s;

	(void)state;
	s = parse(argv);
	assert_int_equal(s.end, 0);
	assert_int_equal(log_verbosity, LOG_WARN);
	assert_int_equal(s.nr_args, 1);
	/* A second command line in the same process starts afresh. */
	s = parse(again);
	assert_int_equal(s.end, 0);
	assert_int_equal(log_verbosity, LOG_DEBUG);
	assert_int_equal(s.nr_args, 1);
	assert_string_equal(s.args[0], "y");
	log_verbosity = saved;
}

static void test_in_order(void **state)
{
	char *argv[] = { "kstage", "-q", "status", "--json", NULL };
	struct options o = OPTIONS_INIT(table, usage);
	enum log_level saved = log_verbosity;

	(void)state;
	o.in_order = 1;
	assert_int_equal(options_next(&o, 4, argv), 0);
	assert_int_equal(optind, 2);
	assert_string_equal(argv[optind], "status");
	log_verbosity = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_any_order),
		cmocka_unit_test(test_spellings),
		cmocka_unit_test(test_help_and_errors),
		cmocka_unit_test(test_verbosity_anywhere),
		cmocka_unit_test(test_in_order),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
