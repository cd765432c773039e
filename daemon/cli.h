#ifndef CLI_H
#define CLI_H

#include <stddef.h>

#include "config.h"

/*
 * cli: the commands around the HTTP API.
 *
 *   status, trigger, retry, cancel, log, bisect
 *            clients of the API (libcurl); the server's URL comes from
 *            --url, else from the configuration's "listen"; the token
 *            from --token, else $KSTAGE_TOKEN
 *   token    create, list and revoke API tokens, on the database itself
 *            (no server needed)
 *
 * Every command returns its exit status: 0 done, 1 the request failed
 * (the API's message is printed), 2 usage error or bad configuration.
 */

/* The options every command shares, parsed by main.c. */
struct common {
	struct config_overrides cfg;	/* -c, --db, --listen, --slots, ... */
	const char **plans;
	size_t nr_plans;
	const char *url, *token;
	int json;
};

/*
 * main.c: the configuration with the command-line overrides, or NULL
 * after printing why it is invalid (the command then exits with 2).
 */
struct kstage_config *load_config(const struct common *c);

extern const char status_usage[];
extern const char trigger_usage[];
extern const char retry_usage[];
extern const char cancel_usage[];
extern const char log_usage[];
extern const char bisect_usage[];
extern const char token_usage[];

int cmd_status(struct common *c, int argc, char **argv);
int cmd_trigger(struct common *c, int argc, char **argv);
int cmd_retry(struct common *c, int argc, char **argv);
int cmd_cancel(struct common *c, int argc, char **argv);
int cmd_log(struct common *c, int argc, char **argv);
int cmd_bisect(struct common *c, int argc, char **argv);
int cmd_token(struct common *c, int argc, char **argv);

#endif
