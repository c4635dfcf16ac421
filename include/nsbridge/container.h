/* SPDX-License-Identifier: GPL-2.0-or-later */
/* container.h - a container reference (-c REF) to a network namespace */
#ifndef NSBRIDGE_CONTAINER_H
#define NSBRIDGE_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "nsbridge/engine.h"

enum container_kind {
	CONTAINER_PID,		/* pid:N */
	CONTAINER_NETNS,	/* netns:NAME, made by ip netns add */
	CONTAINER_PATH,		/* any nsfs path */
	CONTAINER_SELF,		/* our own namespace */
	CONTAINER_ENGINE,	/* a name or ID, asked of Docker or Podman */
	CONTAINER_KIND_MAX,
};

/**
 * struct container - what a REF resolved to
 * @kind:	which form the REF had
 * @ns_fd:	nsfs fd of its network namespace, verified
 * @pidfd:	pidfd of the process whose namespace it is, -1 if none
 * @pid:	that process, 0 if none
 * @start:	its start time (netns_pid_start()), 0 if none or not known
 * @engine_sock: the engine socket that knew the REF, "" for other forms
 */
struct container {
	enum container_kind kind;
	int ns_fd;
	int pidfd;
	pid_t pid;
	unsigned long long start;
	char engine_sock[ENGINE_PATH_MAX];
};

enum container_kind container_kind_of(const char *ref);
int container_open(const char *ref, struct container *ret, struct failure *f);
void container_close(struct container *c);

#endif /* NSBRIDGE_CONTAINER_H */
