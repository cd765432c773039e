#ifndef OPTIONS_H
#define OPTIONS_H

#include <getopt.h>

/*
 * options: how every kstage command reads its command line: getopt_long(3)
 * over the command's own table of options, with the same rules for all.
 *
 *   - options and arguments come in any order ("log 7 --tail 30" as well
 *     as "log --tail 30 7"), unless in_order is set (the global options
 *     before the command); "--" ends the options;
 *   - "--opt=value" and "--opt value" both work;
 *   - -h, --help prints the usage on stdout: exit 0;
 *   - an unknown option or a missing value: getopt's message and the
 *     usage on stderr, exit 2;
 *   - -v and -q (more or less logging) are taken anywhere, by everyone.
 *
 *   static const struct option log_options[] = {
 *           OPTION_HELP,
 *           { "tail", required_argument, NULL, OPT_TAIL },
 *           OPTION_END
 *   };
 *   struct options o = OPTIONS_INIT(log_options, log_usage);
 *   int opt;
 *
 *   while ((opt = options_next(&o, argc, argv)) > 0)
 *           switch (opt) { ... }
 *   if (opt < 0)
 *           return o.status;
 *   the arguments are argv[optind] .. argv[argc - 1]
 *
 * argv[0] names the command in the messages ("kstage log: unknown option
 * --frob").  An entry of the table whose val is a letter is also that
 * short option ("-c").
 */

#define OPTION_HELP { "help", no_argument, NULL, 'h' }
#define OPTION_END { NULL, 0, NULL, 0 }

struct options {
	const struct option *table;	/* the command's; ends with OPTION_END */
	const char *usage;		/* printed by --help and on errors */
	int in_order;			/* stop at the first argument */
	int status;			/* the exit status when options_next() is -1 */
	int started;
	const char *name;		/* argv[0], once started */
	char shortopts[64];
};

#define OPTIONS_INIT(table, usage) { (table), (usage), 0, 0, 0, NULL, "" }

/*
 * The next option: its val (> 0; optarg holds its value, if any), 0 when
 * the options are done (optind is the first argument), or -1 when the
 * command is to exit now with o->status: 0 after --help, 2 after a usage
 * error (both printed).  The first call starts getopt afresh on argv, so
 * one process may parse several command lines (the global options, then
 * the command's).
 */
int options_next(struct options *o, int argc, char **argv);

/*
 * A usage error the caller found (a bad value, a wrong number of
 * arguments): "<argv[0]>: <message>", a blank line and the usage on
 * stderr.
 * Sets o->status to 2 and returns -1, so that it reads
 * "return options_error(&o, ...)" where -1 means "exit with o.status".
 */
int options_error(struct options *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
