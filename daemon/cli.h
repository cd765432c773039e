#ifndef CLI_H
#define CLI_H

/*
 * cli: the commands around the HTTP API.
 *
 *   status, trigger, retry, cancel, log, bisect
 *            clients of the API (libcurl); the server's URL comes from
 *            --url, else from the configuration's "listen"; the token
 *            from --token, else $KSTAGE_TOKEN
 *   token    create, list and revoke API tokens, on the database itself
 *            (no server needed)
 *   kcidb    export the finished runs as KCIDB JSON (kcidb.h), from the
 *            database itself (no server needed)
 *
 * Each takes its command line as main() does, argv[0] being the command
 * ("kstage status"), reads its own options (options.h: --help prints its
 * usage) and returns its exit status: 0 done, 1 the request failed (the
 * API's message is printed), 2 usage error or bad configuration.
 */

int cmd_status(int argc, char **argv);
int cmd_trigger(int argc, char **argv);
int cmd_retry(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_ack(int argc, char **argv);
int cmd_bisect(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_kcidb(int argc, char **argv);

#endif
