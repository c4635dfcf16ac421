/* SPDX-License-Identifier: GPL-2.0-or-later */
/* control_client.h - nsbridge status: what running nsbridge processes carry */
#ifndef NSBRIDGE_STATUSCMD_H
#define NSBRIDGE_STATUSCMD_H

#include <stddef.h>
#include <sys/types.h>

#include "nsbridge/cli.h"

int control_client_status(const struct config *cfg, struct failure *f);
int control_client_watch(const struct config *cfg, struct failure *f);
int control_client_change(const struct config *cfg, struct failure *f);
int control_client_serves(pid_t pid, unsigned port, char *ret, size_t len, char *source,
			  size_t source_len);

#endif /* NSBRIDGE_STATUSCMD_H */
