/*
 * options: getopt_long(3) with each command's own table and one set of
 * rules for help, usage errors and logging (see options.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "options.h"
#include "banned.h"

/*
 * getopt_long() wants the short options as a string as well: "+" when
 * the options stop at the first argument, ":" so that a missing value is
 * told apart from an unknown option, then the letters of the table.
 */
static void build_shortopts(struct options *o)
{
	const struct option *opt;
	size_t n = 0;

	if (o->in_order)
		o->shortopts[n++] = '+';
	o->shortopts[n++] = ':';
	o->shortopts[n++] = 'v';
	o->shortopts[n++] = 'q';
	for (opt = o->table; opt->name; opt++) {
		int letter = (opt->val >= 'a' && opt->val <= 'z') ||
			     (opt->val >= 'A' && opt->val <= 'Z');

		if (!letter)
			continue;
		if (n + 3 > sizeof(o->shortopts))
			break;
		o->shortopts[n++] = (char)opt->val;
		if (opt->has_arg == required_argument)
			o->shortopts[n++] = ':';
	}
	o->shortopts[n] = '\0';
}

/* The option as the user wrote it, for messages. */
static const char *spelled(int argc, char **argv)
{
	return optind > 0 && optind <= argc ? argv[optind - 1] : "?";
}

int options_next(struct options *o, int argc, char **argv)
{
	int opt;

	if (!o->started) {
		build_shortopts(o);
		o->started = 1;
		o->name = argc > 0 ? argv[0] : NULL;
		optind = 0;	/* glibc: start afresh, also on a new argv */
	}
	opterr = 0;	/* the messages below name the command */
	for (;;) {
		opt = getopt_long(argc, argv, o->shortopts, o->table, NULL);
		if (opt == 'v')
			log_verbosity = LOG_DEBUG;
		else if (opt == 'q')
			log_verbosity = LOG_WARN;
		else
			break;
	}
	switch (opt) {
	case -1:
		return 0;
	case 'h':
		fputs(o->usage, stdout);
		o->status = 0;
		return -1;
	case ':':
		return options_error(o, "%s needs a value", spelled(argc, argv));
	case '?':
		if (optopt > 0 && optopt < 128)
			return options_error(o, "unknown option -%c", optopt);
		return options_error(o, "unknown option %s", spelled(argc, argv));
	default:
		return opt;
	}
}

int options_error(struct options *o, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", o->name ? o->name : "kstage");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n%s", o->usage);
	o->status = 2;
	return -1;
}
