/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netns.h - open and verify network namespaces */
#ifndef NSBRIDGE_NETNS_H
#define NSBRIDGE_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

int netns_verify(int fd);
int netns_open_path(const char *path, int *ret_fd);
int netns_pid_start(pid_t pid, unsigned long long *ret);
int netns_open_pid(pid_t pid, unsigned long long start, int *ret_ns_fd, int *ret_pidfd);
int netns_open_self(int *ret_fd);
int netns_same(int fd_a, int fd_b);

/**
 * struct netns_owner - the user namespace that owns a network namespace
 * @own_userns:	it is the caller's own user namespace
 * @uid:	the user who made it
 * @name:	that user's name, or the number
 */
struct netns_owner {
	bool own_userns;
	uid_t uid;
	char name[64];
};

int netns_enter(int ns_fd, bool *joined);
int netns_same_userns(int userns_fd);
int netns_owner(int ns_fd, struct netns_owner *ret);
void netns_user_name(uid_t uid, char *buf, size_t len);
int netns_pid_uid(pid_t pid, uid_t *ret);
const char *netns_userns_restriction(const char *sysctl_dir);

#endif /* NSBRIDGE_NETNS_H */
