/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netns.h - open and verify network namespaces */
#ifndef NSBRIDGE_NETNS_H
#define NSBRIDGE_NETNS_H

#include <stdbool.h>
#include <sys/types.h>

int netns_verify(int fd);
int netns_open_path(const char *path, int *ret_fd);
int netns_open_pid(pid_t pid, int *ret_ns_fd, int *ret_pidfd);
int netns_open_self(int *ret_fd);
int netns_same(int fd_a, int fd_b);

#endif /* NSBRIDGE_NETNS_H */
