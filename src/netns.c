/* SPDX-License-Identifier: GPL-2.0-or-later */
/* netns.c - open and verify network namespaces
 *
 * Theory of operation
 *
 * A network namespace is held by an open nsfs file: /proc/PID/ns/net,
 * /run/netns/NAME (a bind mount of one), or any other bind mount of one.
 * nsbridge never runs inside another namespace; it keeps such an fd so
 * that the opener (opener.c) can make sockets there.
 *
 * Trust nothing a path claims: every fd is checked with fstatfs() for the
 * nsfs magic and with NS_GET_NSTYPE for CLONE_NEWNET before it is used.
 *
 * A pid can be reused between reading it and opening /proc/PID. So a
 * process's namespace is opened through a pidfd: take the pidfd first,
 * open /proc/PID/ns/net, then check that the pidfd's process is still
 * alive. If it is, /proc/PID named that same process when we opened it,
 * because a pid is not reused while its process lives (crun, systemd).
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nsbridge/netns.h"

/**
 * netns_verify() - check that @fd is a network namespace
 * @fd:		an open file
 *
 * Return: 0 if it is, -ENOTTY if it is not a namespace at all, -EINVAL if
 * it is a namespace of another type, other -errno on failure
 */
int netns_verify(int fd)
{
	struct statfs sfs;
	int type;

	if (fstatfs(fd, &sfs) < 0)
		return -errno;
	if (sfs.f_type != NSFS_MAGIC)
		return -ENOTTY;
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type < 0)
		return -errno;
	if (type != CLONE_NEWNET)
		return -EINVAL;
	return 0;
}

/**
 * netns_open_path() - open and verify a namespace by nsfs path
 * @path:	/proc/N/ns/net, /run/netns/NAME, or another bind mount
 * @ret_fd:	the verified fd, on success
 *
 * Return: 0 or -errno (-ENOENT missing, -ENOTTY/-EINVAL not a netns)
 */
int netns_open_path(const char *path, int *ret_fd)
{
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	r = netns_verify(fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

static int pidfd_open_compat(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/*
 * Signal 0 through the pidfd. The kernel looks the process up before it
 * checks permission, so EPERM says it lives: a process of another uid,
 * asked by the opener or a setcap'd nsbridge, neither of which has
 * CAP_KILL. Only ESRCH means it exited.
 */
static int pidfd_alive(int pidfd)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 && errno != EPERM)
		return -errno;
	return 0;
}

/**
 * netns_open_pid() - open the network namespace of process @pid
 * @pid:	process id
 * @ret_ns_fd:	the verified namespace fd, on success
 * @ret_pidfd:	a pidfd of @pid, on success, to watch it exit
 *
 * Return: 0 or -errno: -ESRCH no such process (or it exited meanwhile),
 * -EACCES/-EPERM not allowed to look at it (CAP_SYS_PTRACE)
 */
int netns_open_pid(pid_t pid, int *ret_ns_fd, int *ret_pidfd)
{
	char path[64];
	int pidfd, fd, r;

	pidfd = pidfd_open_compat(pid);
	if (pidfd < 0)
		return -errno;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	r = netns_open_path(path, &fd);
	if (r < 0) {
		close(pidfd);
		return r == -ENOENT ? -ESRCH : r;
	}

	r = pidfd_alive(pidfd);
	if (r < 0) {
		/* exited after pidfd_open: /proc/PID may have been another */
		close(fd);
		close(pidfd);
		return -ESRCH;
	}

	*ret_ns_fd = fd;
	*ret_pidfd = pidfd;
	return 0;
}

/**
 * netns_open_self() - open the network namespace of the calling thread
 * @ret_fd:	the fd, on success
 *
 * Return: 0 or -errno
 */
int netns_open_self(int *ret_fd)
{
	return netns_open_path("/proc/thread-self/ns/net", ret_fd);
}

/**
 * netns_same() - whether two namespace fds refer to one namespace
 * @fd_a:	namespace fd
 * @fd_b:	namespace fd
 *
 * Return: 1 if the same, 0 if not, -errno if either cannot be examined
 */
int netns_same(int fd_a, int fd_b)
{
	struct stat a, b;

	if (fstat(fd_a, &a) < 0 || fstat(fd_b, &b) < 0)
		return -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
