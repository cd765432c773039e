#ifndef CONFIG_SLURM_H
#define CONFIG_SLURM_H

#include <jansson.h>

#include "config.h"
#include "jfile.h"

/*
 * config_slurm: "executor" and "slurm" of the daemon configuration
 * (config.h, exec_slurm.h).  cfg->slurm stays NULL for the local
 * executor; "slurm" without "executor": "slurm" is an error, as is the
 * reverse.  Paths relative to dir.  0, or -1 with the error in c.
 */
int config_parse_slurm(struct jfile *c, json_t *root, const char *dir,
		       struct kstage_config *cfg);

/* Free what config_parse_slurm() filled in (config_free() calls it). */
void config_slurm_free(struct kstage_config *cfg);

/* The job settings for a profile: its own, else "*", else NULL. */
const struct slurm_profile *config_slurm_profile(const struct slurm_def *s,
						 const char *profile);

#endif
