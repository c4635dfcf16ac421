/* SPDX-License-Identifier: GPL-2.0-or-later */
/* watcher.h - a child that tells the relay when the container runs again */
#ifndef NSBRIDGE_WATCHER_H
#define NSBRIDGE_WATCHER_H

#include <sys/types.h>

int watcher_start(const char *sock_path, const char *ref, pid_t known_pid, int *ret_fd);
int watcher_read_pid(int fd, pid_t *ret_pid);
int watcher_pidfd(void);

#endif /* NSBRIDGE_WATCHER_H */
