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
 * That proves the fd is PID's, not that PID is still the process a report
 * meant: a container's init may have died, and its pid gone to another
 * process, before the report was acted on. So a report names a process
 * by its pid and its start time (netns_pid_start()), which no later
 * process of that pid shares, and netns_open_pid() compares the two
 * while its pidfd holds the pid.
 *
 * Entering a namespace (netns_enter()) takes CAP_SYS_ADMIN in the user
 * namespace that owns it. Root has that everywhere. An ordinary user has
 * it in the user namespaces it owns: a rootless container's network
 * namespace belongs to its engine's user namespace (Podman's, or
 * RootlessKit's), one ioctl(NS_GET_USERNS) away from the netns fd, so the
 * way in is to join that user namespace first, as
 * `nsenter -U --preserve-credentials -n` does. The joining thread must be
 * the only one of its process, and it cannot come back: it has no
 * capability in the user namespace it left.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nsbridge/cleanup.h"
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
 * netns_pid_start() - when process @pid started, in clock ticks after boot
 * @pid:	process id
 * @ret:	its start time (proc(5): field 22 of /proc/PID/stat), on success
 *
 * A pid names a process only while it lives; with its start time it
 * names one process for good: a process that takes a freed pid starts
 * after the one that freed it.
 *
 * Return: 0 or -errno (-ESRCH: no such process, -EBADMSG: not understood)
 */
int netns_pid_start(pid_t pid, unsigned long long *ret)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* the end of field 2, a name that may hold blanks and ')' */
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');	/* the blank before field + 1 */
	if (!p || p[1] < '0' || p[1] > '9')
		return -EBADMSG;
	*ret = strtoull(p + 1, NULL, 10);
	return 0;
}

/**
 * netns_open_pid() - open the network namespace of process @pid
 * @pid:	process id
 * @start:	its start time (netns_pid_start()), to be sure it is still the
 *		process a report meant; 0 to take whichever process has @pid
 * @ret_ns_fd:	the verified namespace fd, on success
 * @ret_pidfd:	a pidfd of @pid, on success, to watch it exit
 *
 * Return: 0 or -errno: -ESRCH no such process (or it exited meanwhile),
 * -ESTALE @pid is another process now, -EACCES/-EPERM not allowed to look
 * at it (CAP_SYS_PTRACE)
 */
int netns_open_pid(pid_t pid, unsigned long long start, int *ret_ns_fd, int *ret_pidfd)
{
	_cleanup_close_ int pidfd = -1, fd = -1;
	unsigned long long now_start = 0;
	char path[64];
	int r;

	pidfd = pidfd_open_compat(pid);
	if (pidfd < 0)
		return -errno;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	r = netns_open_path(path, &fd);
	if (r == 0 && start && netns_pid_start(pid, &now_start) == 0 && now_start != start)
		r = -ESTALE;
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;

	/* exited after pidfd_open: /proc/PID may have been another */
	if (pidfd_alive(pidfd) < 0)
		return -ESRCH;

	*ret_ns_fd = TAKE_FD(fd);
	*ret_pidfd = TAKE_FD(pidfd);
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

/**
 * netns_enter() - make @ns_fd the calling thread's network namespace
 * @ns_fd:	a verified network namespace fd
 * @joined:	in: whether a user namespace was joined already; set when
 *		this call joins the one that owns @ns_fd (then there is no
 *		way back to the namespaces the process came from)
 *
 * A plain setns() first, as root does; on EPERM, the user namespace that
 * owns @ns_fd, then the setns() again. The caller must be single-threaded.
 *
 * Return: 0 or -errno: -EPERM when neither way is allowed (also for a
 * namespace of the caller's own user namespace), -EACCES/-EINVAL from
 * joining the user namespace
 */
int netns_enter(int ns_fd, bool *joined)
{
	int userns_fd, r;

	if (setns(ns_fd, CLONE_NEWNET) == 0)
		return 0;
	if (errno != EPERM || *joined)
		return -errno;
	userns_fd = ioctl(ns_fd, NS_GET_USERNS);
	if (userns_fd < 0)
		return -EPERM;	/* owned outside the caller's reach */
	r = netns_same_userns(userns_fd);
	if (r == 0 && setns(userns_fd, CLONE_NEWUSER) < 0)
		r = -errno;
	close(userns_fd);
	if (r)	/* 1: its owner is our own user namespace, where we lack the capability */
		return r > 0 ? -EPERM : r;
	*joined = true;
	return setns(ns_fd, CLONE_NEWNET) < 0 ? -errno : 0;
}

/**
 * netns_same_userns() - whether @userns_fd is the caller's own user namespace
 * @userns_fd:	a user namespace fd
 *
 * Return: 1 if it is, 0 if not, -errno
 */
int netns_same_userns(int userns_fd)
{
	struct stat own, other;

	if (stat("/proc/thread-self/ns/user", &own) < 0 || fstat(userns_fd, &other) < 0)
		return -errno;
	return own.st_dev == other.st_dev && own.st_ino == other.st_ino;
}

/**
 * netns_owner() - the user namespace that owns a network namespace
 * @ns_fd:	a verified network namespace fd
 * @ret:	what is known of it
 *
 * Return: 0 or -errno (-EPERM: owned by a user namespace outside the
 * caller's, which only its ancestors may see)
 */
int netns_owner(int ns_fd, struct netns_owner *ret)
{
	int userns_fd = ioctl(ns_fd, NS_GET_USERNS), r;
	uid_t uid = 0;	/* valgrind does not know that NS_GET_OWNER_UID writes it */

	if (userns_fd < 0)
		return -errno;
	r = netns_same_userns(userns_fd);
	if (r >= 0 && ioctl(userns_fd, NS_GET_OWNER_UID, &uid) < 0)
		r = -errno;
	close(userns_fd);
	if (r < 0)
		return r;
	ret->own_userns = r;
	ret->uid = uid;
	netns_user_name(uid, ret->name, sizeof(ret->name));
	return 0;
}

/**
 * netns_user_name() - a user's name for messages, or its number
 * @uid:	the user
 * @buf:	where the name goes
 * @len:	room in @buf
 */
void netns_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", (unsigned)uid);
}

/**
 * netns_pid_uid() - the real uid of process @pid, from /proc/PID/status
 *		     (readable by everyone, unlike its namespaces)
 * @pid:	process id
 * @ret:	its uid
 *
 * Return: 0 or -errno
 */
int netns_pid_uid(pid_t pid, uid_t *ret)
{
	char path[64], line[256];
	unsigned uid;
	int r = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Uid: %u", &uid) == 1) {
			*ret = uid;
			r = 0;
			break;
		}
	fclose(f);
	return r;
}

/* The number in sysctl file @name under @dir, or -1 without one */
static long sysctl_number(const char *dir, const char *name)
{
	char path[PATH_MAX];
	long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &value) != 1)
		value = -1;
	fclose(f);
	return value;
}

/**
 * netns_userns_restriction() - why an ordinary user may have no rootless
 *				container here, for a refusal's line
 * @sysctl_dir:	where the sysctls are, "/proc/sys" (a test passes its own)
 *
 * User namespaces switched off (user.max_user_namespaces 0), or restricted
 * to programs an AppArmor profile allows (Ubuntu 24.04's
 * kernel.apparmor_restrict_unprivileged_userns 1): a rootless engine then
 * cannot make one, so the container a user expected to own is root's.
 *
 * Return: a parenthesised note naming the setting, or "" when neither holds
 */
const char *netns_userns_restriction(const char *sysctl_dir)
{
	if (sysctl_number(sysctl_dir, "user/max_user_namespaces") == 0)
		return " (user namespaces are disabled here: user.max_user_namespaces is 0, "
		       "so there is no rootless container to enter)";
	if (sysctl_number(sysctl_dir, "kernel/apparmor_restrict_unprivileged_userns") == 1)
		return " (user namespaces are restricted here: "
		       "kernel.apparmor_restrict_unprivileged_userns is 1, so only an engine "
		       "that an AppArmor profile allows can run rootless containers)";
	return "";
}
