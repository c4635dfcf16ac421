/* SPDX-License-Identifier: GPL-2.0-or-later */
/* portowner.c - who holds a listening TCP address
 *
 * When an EXPOSE address is taken, the user wants to know by whom. Socket
 * diagnostics (libnl-idiag, NETLINK_SOCK_DIAG) list the listening sockets
 * of a namespace with their inodes; the process that holds the inode is
 * the one with a /proc/PID/fd link to "socket:[INODE]". The diag socket
 * must come from the namespace in question: sockets are per namespace.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/idiag/idiagnl.h>
#include <netlink/idiag/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsbridge/cleanup.h"
#include "nsbridge/portowner.h"

/* Whether a listener bound to @src (family @family) would take @sa's address */
static bool addr_conflicts(struct nl_addr *src, const struct sockaddr *sa, bool exact)
{
	const void *want;
	size_t len;

	if (sa->sa_family == AF_INET6) {
		want = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		len = sizeof(struct in6_addr);
	} else {
		want = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		len = sizeof(struct in_addr);
	}
	/* idiag hands IPv4 addresses over in a 16-byte field: compare the prefix */
	if (exact)
		return nl_addr_get_family(src) == sa->sa_family && nl_addr_get_len(src) >= len &&
		       !memcmp(nl_addr_get_binary_addr(src), want, len);
	/* a wildcard listener of either family (a dual-stack [::]) */
	return nl_addr_iszero(src);
}

static int find_inode(struct nl_cache *cache, const struct sockaddr *sa, uint16_t port,
		      bool exact, uint32_t *ret_inode)
{
	for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct idiagnl_msg *m = (struct idiagnl_msg *)o;

		if (idiagnl_msg_get_sport(m) != port)
			continue;
		if (!addr_conflicts(idiagnl_msg_get_src(m), sa, exact))
			continue;
		*ret_inode = idiagnl_msg_get_inode(m);
		return 0;
	}
	return -ENOENT;
}

static int listener_inode(struct nl_sock *sk, const struct sockaddr *sa, uint32_t *ret_inode)
{
	static const int families[] = { AF_INET, AF_INET6 };
	/* libnl-idiag gives ports as the kernel does, in network byte order */
	uint16_t port = ((const struct sockaddr_in *)(const void *)sa)->sin_port;
	int r = -ENOENT;

	for (int pass = 0; pass < 2 && r == -ENOENT; pass++) {
		for (size_t i = 0; i < 2 && r == -ENOENT; i++) {
			struct nl_cache *cache = NULL;

			if (idiagnl_msg_alloc_cache(sk, families[i], 1 << TCP_LISTEN, &cache) < 0)
				return -EIO;
			r = find_inode(cache, sa, port, pass == 0, ret_inode);
			nl_cache_free(cache);
		}
	}
	return r;
}

static bool fd_dir_holds(const char *pid, const char *want)
{
	char dir_path[sizeof("/proc//fd") + NAME_MAX], target[64];
	struct dirent *de;
	bool found = false;
	DIR *dir;

	snprintf(dir_path, sizeof(dir_path), "/proc/%s/fd", pid);
	dir = opendir(dir_path);
	if (!dir)
		return false;
	while (!found && (de = readdir(dir))) {
		ssize_t n;

		n = readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		found = !strcmp(target, want);
	}
	closedir(dir);
	return found;
}

/**
 * portowner_comm() - the command name of a process
 * @pid:	process
 * @comm:	its name from /proc/PID/comm, "?" if unknown
 * @len:	room in @comm
 */
void portowner_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(comm, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, len - 1);
	close(fd);
	if (n <= 0)
		return;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/**
 * portowner_of_inode() - the process that holds socket @inode
 * @inode:	socket inode, as socket diagnostics report it
 * @ret:	the holder, on success
 *
 * Return: 0, or -ENOENT if no process visible here holds it
 */
int portowner_of_inode(uint32_t inode, struct port_owner *ret)
{
	_cleanup_closedir_ DIR *proc = NULL;
	char want[48];
	struct dirent *de;

	snprintf(want, sizeof(want), "socket:[%u]", inode);
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((de = readdir(proc))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (!fd_dir_holds(de->d_name, want))
			continue;
		ret->pid = (pid_t)atoi(de->d_name);
		portowner_comm(ret->pid, ret->comm, sizeof(ret->comm));
		return 0;
	}
	return -ENOENT;
}

/**
 * portowner_find() - find the process listening on @sa's address and port
 * @diag_fd:	NETLINK_SOCK_DIAG socket made in the namespace; always consumed
 * @sa:		the address that was in use
 * @ret:	the holder, on success
 *
 * Return: 0, -ENOENT if no holder is visible (another namespace's process,
 * or /proc hidden from us), other -errno on failure
 */
int portowner_find(int diag_fd, const struct sockaddr *sa, struct port_owner *ret)
{
	_cleanup_close_ int fd = diag_fd;
	struct nl_sock *sk;
	uint32_t inode;
	int r;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	if (nl_socket_set_fd(sk, NETLINK_SOCK_DIAG, fd) < 0) {
		nl_socket_free(sk);
		return -EIO;
	}
	(void)TAKE_FD(fd);	/* libnl's now: nl_socket_free() closes it */
	r = listener_inode(sk, sa, &inode);
	nl_socket_free(sk);
	if (r < 0)
		return r;
	return portowner_of_inode(inode, ret);
}
