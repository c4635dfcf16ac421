/* SPDX-License-Identifier: GPL-2.0-or-later */
/* child.h - the relay's children: forked with their channels, and the helpers' common start */
#ifndef NSBRIDGE_CHILD_H
#define NSBRIDGE_CHILD_H

#include <stddef.h>
#include <sys/types.h>

/* A channel between the relay and a child, made before the fork */
enum child_link {
	CHILD_PIPE_TO,		/* a pipe the parent writes and the child reads */
	CHILD_PIPE_FROM,	/* a pipe the child writes and the parent reads */
	CHILD_SEQPACKET,	/* an AF_UNIX SOCK_SEQPACKET pair */
	CHILD_STREAM,		/* an AF_UNIX SOCK_STREAM pair */
	CHILD_LINK_MAX,
};

#define CHILD_LINKS_MAX	2	/* channels to one child: the opener's two */

pid_t child_fork(const enum child_link *links, size_t n, int *ret_fds);
void child_setup(const char *name, pid_t parent);

#endif /* NSBRIDGE_CHILD_H */
