/* SPDX-License-Identifier: GPL-2.0-or-later */
/* watcher.h - a child that tells the relay when a container runs again */
#ifndef NSBRIDGE_WATCHER_H
#define NSBRIDGE_WATCHER_H

#include <stddef.h>
#include <sys/types.h>

#define WATCHER_TARGETS_MAX	16	/* CONTAINERS_MAX */

/**
 * struct watch_target - one container the watcher follows
 * @sock_path:	its engine's socket
 * @ref:	REF as the user gave it
 * @known_pid:	the init pid served now, not to be reported
 * @side:	its side, which the reports name
 */
struct watch_target {
	const char *sock_path;
	const char *ref;
	pid_t known_pid;
	unsigned side;
};

int watcher_start(const struct watch_target *targets, size_t n, const char *labels, int *ret_fd);
int watcher_read_line(int fd, char *line, size_t len);
int watcher_pidfd(void);

#endif /* NSBRIDGE_WATCHER_H */
