/* SPDX-License-Identifier: GPL-2.0-or-later */
/* statuscmd.h - nsbridge status: what running nsbridge processes carry */
#ifndef NSBRIDGE_STATUSCMD_H
#define NSBRIDGE_STATUSCMD_H

#include <stddef.h>
#include <sys/types.h>

#include "nsbridge/cli.h"

int statuscmd_run(const struct config *cfg);
int statuscmd_change(const struct config *cfg);
int statuscmd_serves(pid_t pid, unsigned port, char *ret, size_t len);

#endif /* NSBRIDGE_STATUSCMD_H */
