/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ports.h - nsbridge ports: who listens in a namespace */
#ifndef NSBRIDGE_AUDIT_H
#define NSBRIDGE_AUDIT_H

#include "nsbridge/cli.h"

#include <stddef.h>
#include <sys/types.h>

/* Which container a listener of nsbridge @pid on @port serves, and the
 * address that container dials the host from (control_client.c's) */
typedef int (*ports_serves_fn)(pid_t pid, unsigned port, char *ret, size_t len, char *source,
			       size_t source_len);

int ports_run(const struct config *cfg, ports_serves_fn serves, struct failure *f);

#endif /* NSBRIDGE_AUDIT_H */
