#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

/*
 * config: the daemon configuration, plans and profiles, read from JSON
 * files with jansson.
 *
 * Every error names the file, the line and column, and the field, e.g.
 *
 *   configs/plans/demo.json:12:17: stages[2].branch: "a b" is not a valid
 *   branch name (letters, digits and . _ - / + only)
 *
 * Unknown fields are errors (a typo must not silently fall back to a
 * default).  Relative paths inside a file are relative to the directory of
 * that file.  All loaded structures own their strings; free them with the
 * matching *_free().
 */

struct step_def {
	char *name;		/* [A-Za-z0-9_-]+ */
	char **argv;		/* NULL-terminated; argv[0] resolved (absolute if it had a '/') */
	unsigned timeout;	/* seconds */
	int console;		/* the log is a console log: parse tests + boot verdict */
};

struct known_failure {
	char *test;		/* fnmatch(3) pattern on result names */
	char *reason;
	char *until;		/* stage name from which on it is counted again, or NULL */
};

struct profile {
	char *path;		/* the file */
	char *name;
	char *description;
	struct step_def *steps;
	size_t nr_steps;
	char **env;		/* "KEY=VALUE" strings */
	size_t nr_env;
	char *end_marker;	/* may be NULL: no marker expected */
	struct known_failure *known;
	size_t nr_known;
	/*
	 * What the console must report (executor.h).  expect: the suites
	 * (first components of result names, "hmm-tests", "gup_test-u")
	 * that must each have a result, else one is recorded as an error
	 * under the suite's name; NULL-terminated, or NULL when the profile
	 * names none.  Without boot_only, a clean boot that reported no
	 * result at all is a run error ("no test results"), never a pass;
	 * a boot_only profile names no suites.
	 */
	char **expect;
	size_t nr_expect;
	int boot_only;
	/*
	 * "each_commit" (each.h): what is checked on every commit of a
	 * stage, as the steps of a commit run, in order: "build" (the
	 * profile's step of that name, never read as a console) and
	 * "checkpatch" (the program "checkpatch" in the directory of the
	 * profile's "build" step program: jobs/checkpatch for jobs/build;
	 * timeout EACH_CHECKPATCH_TIMEOUT).  NULL and 0 when the profile
	 * has none.  each_max: how many of a stage's commits, the newest,
	 * are checked ("each_commit_max", default 50).  Neither counts in
	 * the digest: they add runs, they do not change what a run does.
	 */
	struct step_def *each_steps;
	size_t nr_each_steps;
	unsigned each_max;
	unsigned kill_grace;	/* seconds between TERM and KILL */
	size_t log_max;		/* bytes kept of each step's log head */
	/*
	 * Hex SHA-1 over the canonical JSON of the profile (without its
	 * description and known failures), the contents of every step program
	 * given as a path, and of every file named in "inputs" (a directory
	 * counts with the regular files in it): a result is only reused for
	 * the same tree under the same digest.
	 */
	char digest[41];
};

#define EACH_CHECKPATCH_TIMEOUT 600

struct stage_def {
	char *name;		/* [A-Za-z0-9._-]+, unique in the plan */
	char *branch;		/* a branch name (refs/heads/ is implied) */
	char *title;		/* may be NULL */
};

/* Who moves a plan's integration branch to the tested stages (gate.h). */
enum gate_policy {
	GATE_MANUAL = 0,	/* on request (kstage gate advance, the API) */
	GATE_AUTO,		/* the daemon, whenever the gate can advance */
	GATE_OFF,		/* never */
};

/* "manual", "auto", "off" (and back: 0, or -1 if not a policy). */
const char *gate_policy_name(enum gate_policy p);
int gate_policy_parse(enum gate_policy *out, const char *s);

/*
 * A plan's "remote": the repository its branches come from.  The daemon
 * fetches it with libgit2 into the plan's "repo" (created bare when it
 * does not exist: the mirror) every poll_interval (remote.h).  Secrets
 * are never in the plan: it names the files that hold them, read at each
 * fetch and never logged.
 */
struct remote_def {
	char *url;		/* git://, http(s)://, ssh://, file://, user@host:path or /path */
	char **fetch;		/* refspecs, NULL-terminated (see the README for the default) */
	size_t nr_fetch;
	char *username;		/* may be NULL: the URL's, else "git" */
	char *token_file;	/* https: the password or token, resolved; may be NULL */
	char *ssh_key;		/* ssh: private key file, resolved; may be NULL */
	char *ssh_public_key;	/* its public half, resolved; may be NULL */
	char *ssh_host_key;	/* "SHA256:<base64>" the ssh server must show; may be NULL */
};

struct plan_def {
	char *path;
	char *name;
	char *repo;		/* resolved path of the git repository */
	char *base;		/* revision of the plan base */
	char *integration;	/* branch the gate moves; may be NULL */
	enum gate_policy gate;	/* "gate": "auto" | "manual" (default) | "off" */
	struct profile *profile;
	struct stage_def *stages;
	size_t nr_stages;
	/*
	 * NULL: the branches are in "repo" already (pushed, or moved by
	 * someone else).  A fetch never moves the integration branch: a
	 * pattern refspec skips it, an exact one that names it is an error.
	 */
	struct remote_def *remote;
};

/*
 * Notifications (outbox.h, notify.h): where the daemon tells the world.
 * Both are global to the daemon (every plan); an event names its plan.
 * "events" lists notification kinds (outbox.h, OUTBOX_KINDS); absent:
 * every kind for a webhook, bisection-found and bisection-inconclusive
 * for mail.  Secrets stay in their files (read at each delivery).
 */
struct webhook_def {
	char *url;		/* http:// or https:// */
	char *secret_file;	/* resolved; NULL: the calls are not signed */
	char *ca_file;		/* resolved; NULL: the system's CAs */
	char **events;		/* NULL-terminated, or NULL: all kinds */
	size_t nr_events;
};

struct mail_def {
	char *url;		/* smtp:// or smtps:// */
	char *from;		/* an address */
	char **to;		/* addresses, NULL-terminated (at least one) */
	size_t nr_to;
	char *username;		/* may be NULL: no AUTH */
	char *password_file;	/* resolved; may be NULL */
	int starttls;		/* smtp://: require STARTTLS */
	char *ca_file;		/* resolved; NULL: the system's CAs */
	char **events;		/* as for webhooks; NULL: the default above */
	size_t nr_events;
};

/*
 * Patchwork: a check on every patch of a series from mail, found by its
 * Message-ID, for each verdict on the stage that holds the series and
 * each bisection of it (outbox.h).
 */
struct patchwork_def {
	char *url;		/* the instance, http(s)://, without "/api" */
	char *token_file;	/* resolved: the API token (required) */
	char *project;		/* linkname or id; NULL: any project */
	char *context;		/* NULL: "kstage-" and the plan's profile name */
	char *ca_file;		/* resolved; NULL: the system's CAs */
};

/* The batch job of a run of one profile on Slurm (exec_slurm.h). */
struct slurm_profile {
	char *name;		/* a profile name, or "*": any other */
	unsigned cpus;		/* --cpus-per-task; 0: not given */
	char *mem;		/* --mem ("4G", "8000M"); NULL: not given */
	unsigned time;		/* --time in minutes; 0: from the step timeouts */
	char **sbatch;		/* more sbatch options, NULL-terminated; may be NULL */
	size_t nr_sbatch;
};

enum slurm_placement {
	PLACE_NODELIST = 0,	/* --nodelist=NODE, then any node after prefer_wait */
	PLACE_FEATURE,		/* --prefer=NODE: each node has its name as a feature */
	PLACE_ANY,		/* no preference */
};

struct slurm_def {
	char *partition, *account, *qos;	/* NULL: the cluster's default */
	char *work;		/* the slots' trees on a node (node-local) */
	char *cache;		/* KSTAGE_CACHE on a node (node-local) */
	char *kstage;		/* the kstage binary on the nodes */
	char *bin_dir;		/* where sbatch, squeue, scancel are; NULL: PATH */
	unsigned poll;		/* seconds between looks at the jobs */
	unsigned prefer_wait;	/* seconds a job waits for its preferred node */
	unsigned command_timeout; /* seconds for one sbatch, squeue, scancel */
	enum slurm_placement placement;
	struct slurm_profile *profiles;
	size_t nr_profiles;
};

struct kstage_config {
	char *path;		/* NULL when built from defaults */
	char *db;
	char *artifacts;
	char *work;		/* per-slot trees and build outputs */
	char *cache;		/* shared cache (ccache, probes) */
	char *web_root;
	char *listen;		/* "127.0.0.1:8080" */
	unsigned slots;
	unsigned jobs;		/* KSTAGE_JOBS for steps; 0 = number of CPUs */
	unsigned poll_interval;	/* seconds between plan passes in serve; 0 = off */
	unsigned fetch_timeout;	/* seconds of silence before a fetch fails */
	int read_auth;		/* reads need a token too */
	unsigned confirm_runs;	/* reruns to confirm a regression */
	unsigned bisect_runs;	/* runs per bisection step (flaky tests) */
	int auto_bisect;
	size_t max_body;	/* HTTP request body cap */
	/* HTTP under load (see http.h): connections per client address (0 =
	 * no limit), open event streams, seconds to send a request's headers. */
	unsigned max_conns_per_ip;
	unsigned max_streams;
	unsigned header_timeout;
	char *inbox;		/* public-inbox URL series are fetched from, or NULL */
	char *kcidb_origin;	/* KCIDB origin of exported ids ([a-z0-9_]+; "kstage") */
	char *public_url;	/* http(s) URL the API is reached at, or NULL (kcidb.h) */
	char **plans;		/* plan file paths (resolved) */
	size_t nr_plans;
	struct webhook_def *webhooks;
	size_t nr_webhooks;
	struct mail_def *mail;	/* NULL: no mail */
	unsigned notify_tries;	/* attempts per notification (default 8) */
	unsigned notify_backoff; /* seconds before the first retry, doubled after (5) */
	unsigned notify_timeout; /* seconds for one attempt (30) */
	struct patchwork_def *patchwork; /* NULL: no checks */
	struct slurm_def *slurm; /* "executor": "slurm"; NULL: local slots */
};

/*
 * Load the daemon configuration from path (NULL: defaults with paths
 * under "var/").  On error, *err gets a message as above (caller frees)
 * and the return is NULL.
 */
struct kstage_config *config_load(const char *path, char **err);
void config_free(struct kstage_config *cfg);

/*
 * What the command line overrides.  A NULL or 0 field keeps the value of
 * the file (or of the defaults); paths given here are made absolute
 * against the current directory, as a user typing them expects.
 */
struct config_overrides {
	const char *path;	/* -c; NULL: ./configs/kstage.json if it exists */
	const char *db;
	const char *artifacts;
	const char *work;
	const char *cache;
	const char *listen;	/* "ADDRESS:PORT", taken as given */
	unsigned slots;		/* 1..64 (the caller checks the range) */
};

#define CONFIG_OVERRIDES_INIT { NULL }

/*
 * config_load() of o->path, or of configs/kstage.json in the current
 * directory when o->path is NULL and that file exists, or the defaults;
 * then the overrides.  NULL and *err (caller frees) as config_load().
 */
struct kstage_config *config_load_with(const struct config_overrides *o, char **err);

struct plan_def *plan_def_load(const char *path, char **err);
void plan_def_free(struct plan_def *plan);

/* A profile (daemon/profile.c). */
struct profile *profile_load(const char *path, char **err);
void profile_free(struct profile *p);

/* Known failure entry that covers test on the stage at position stage_idx
 * of plan (NULL if none).  "until" names the first stage where the test
 * counts again. */
const struct known_failure *profile_known_failure(const struct profile *p,
						  const struct plan_def *plan,
						  size_t stage_idx,
						  const char *test);

/* Is s a branch name we accept (git-valid and no shell metacharacters)? */
int config_valid_branch(const char *s);
/* Is s a valid stage/step/profile name ([A-Za-z0-9._-]{1,64})? */
int config_valid_name(const char *s);

#endif
