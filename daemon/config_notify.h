#ifndef CONFIG_NOTIFY_H
#define CONFIG_NOTIFY_H

#include <jansson.h>

#include "config.h"
#include "jfile.h"

/*
 * config_notify: the notification part of the daemon configuration
 * (config.h): "webhooks", "mail" and "patchwork" of root, paths relative
 * to dir; their links use "public_url".  0, or -1 with the error in c.
 */
int config_parse_notify(struct jfile *c, json_t *root, const char *dir,
			struct kstage_config *cfg);

/* Free what config_parse_notify() filled in (config_free() calls it). */
void config_notify_free(struct kstage_config *cfg);

#endif
