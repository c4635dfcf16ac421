/* SPDX-License-Identifier: GPL-2.0-or-later */
/* opener.c - the privileged helper that makes sockets inside namespaces
 *
 * Theory of operation
 *
 * A socket belongs for life to the network namespace of the thread that
 * made it, and works from any other. So the relay never enters another
 * namespace: it asks for sockets made there. Making one needs setns(),
 * and setns() needs CAP_SYS_ADMIN, which the relay gives up after set-up
 * (caps.c). Privilege separation, as OpenSSH does it:
 *
 *   relay (parent, no capability)  <-- SOCK_SEQPACKET -->  opener (child)
 *
 * At start the relay forks the opener, which keeps only SYS_ADMIN,
 * SYS_PTRACE, NET_ADMIN and NET_BIND_SERVICE, holds the namespace fds,
 * and does nothing but answer requests: make N sockets in side S, make a
 * listener on address A in side S (the relay's own namespace too, for a
 * port below ip_unprivileged_port_start that a reload, nsbridge add or a
 * label asks for after the relay dropped CAP_NET_BIND_SERVICE), bring lo
 * up in side S, take the
 * namespace of pid P as side S's (a restarted container), let side S's
 * namespace go (a container that stopped). Sockets and pidfds travel back
 * as SCM_RIGHTS. It never sees a byte of traffic.
 *
 * Requests are small fixed-size datagrams on two channels. On the call
 * channel the relay waits for each answer (opener_call): set-up, and the
 * rare rebinding after a restart. On the asynchronous channel it only
 * sends (opener_send) and handles replies as they come (opener_receive),
 * each echoing its request's tag, so a new connection never blocks the
 * loop on the opener.
 *
 * Started by an ordinary user, the opener has no capability at all: it
 * enters a rootless container's namespace by joining the user namespace
 * that owns it first (netns_enter()), where it holds the four again,
 * bounded there and nowhere else. It stays in that user namespace and
 * its container's network namespace from then on: nothing lets it go
 * back, and it needs nothing of the host's (the relay makes the host's
 * sockets itself). The relay never joins anything.
 *
 * The opener dies with the relay: PR_SET_PDEATHSIG, and EOF on its
 * socket. It ignores SIGINT and SIGTERM, so that a signal to the process
 * group leaves the relay to drain in order.
 *
 * The relay watches it by pidfd (children.c). Once it has exited (killed,
 * or out of memory), nothing can start it again: forking one that may
 * enter namespaces needs the capabilities the relay dropped. From then on
 * every request answers OPENER_EXITED at once, whether the relay learnt
 * it from the pidfd, from end of file on a channel or from a failed send:
 * what is bound serves on, and what needs a new socket or namespace is
 * refused with a line that says the opener has exited.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsbridge/caps.h"
#include "nsbridge/child.h"
#include "nsbridge/log.h"
#include "nsbridge/netns.h"
#include "nsbridge/nl.h"
#include "nsbridge/opener.h"
#include "nsbridge/portowner.h"

static int ctl_fd = -1;		/* CHANNEL_ASYNC, the relay's end */
static int call_fd = -1;	/* CHANNEL_CALL, the relay's end */
static pid_t opener_pid_;	/* the opener, 0 if none was started */
static bool gone;		/* it has exited: every request answers OPENER_EXITED */

/* -------- the opener process -------- */

/* The two channels: requests answered in order of arrival, each on its own */
enum channel {
	CHANNEL_ASYNC,		/* pool refills, sent while the loop runs */
	CHANNEL_CALL,		/* set-up and rebinding, the relay waits */
	CHANNEL_MAX,
};

struct opener_state {
	int ctl_fds[CHANNEL_MAX];
	int home_fd;
	int ns_fds[SIDE_MAX];
	bool joined;		/* in the user namespace of a container's engine */
};

/* What the opener keeps, in whichever user namespace it is */
static const cap_value_t opener_caps[] = {
	CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_NET_ADMIN, CAP_NET_BIND_SERVICE,
};

#define N_OPENER_CAPS	(sizeof(opener_caps) / sizeof(opener_caps[0]))

static bool socket_allowed(const struct opener_req *req)
{
	int type = req->type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (req->family == AF_NETLINK)
		return type == SOCK_RAW && req->protocol == NETLINK_SOCK_DIAG;
	if (req->family != AF_INET && req->family != AF_INET6)
		return false;
	return type == SOCK_STREAM || type == SOCK_DGRAM;
}

static int make_sockets(const struct opener_req *req, int *fds)
{
	int type = req->type | SOCK_NONBLOCK | SOCK_CLOEXEC;
	unsigned n;

	for (n = 0; n < req->count; n++) {
		fds[n] = socket(req->family, type, req->protocol);
		if (fds[n] < 0) {
			int r = -errno;

			while (n--)
				close(fds[n]);
			return r;
		}
	}
	return (int)n;
}

static int make_listener(const struct opener_req *req, int *fds)
{
	int fd = sock_open_bound(req->type == SOCK_DGRAM ? SOCK_DGRAM : SOCK_STREAM, &req->addr);

	if (fd < 0)
		return fd;
	fds[0] = fd;
	return 1;
}

static int validate(const struct opener_state *st, const struct opener_req *req)
{
	if (req->side >= SIDE_MAX)
		return -EBADF;
	if (req->op == OPENER_OPEN_PID)
		return req->pid > 0 ? 0 : -EINVAL;
	if (req->op == OPENER_SOCKET_OWNER)
		return 0;	/* /proc is the same from every network namespace */
	if (st->ns_fds[req->side] < 0)
		return -EBADF;
	switch ((enum opener_op)req->op) {
	case OPENER_SOCKET:
		if (req->count < 1 || req->count > OPENER_MAX_FDS || !socket_allowed(req))
			return -EINVAL;
		return 0;
	case OPENER_LISTEN:
		if (req->addr.ss.ss_family != AF_INET && req->addr.ss.ss_family != AF_INET6)
			return -EINVAL;
		if (req->type != 0 && req->type != SOCK_STREAM && req->type != SOCK_DGRAM)
			return -EINVAL;
		return 0;
	case OPENER_LO_UP:
	case OPENER_FORGET:
		return 0;
	case OPENER_SOCKET_OWNER:
	case OPENER_OPEN_PID:
	case OPENER_OP_MAX:
		break;
	}
	return -EINVAL;
}

/* Run one request inside its namespace; returns fds made or -errno */
static int handle_in_ns(struct opener_state *st, const struct opener_req *req, int *fds,
			int32_t *ret_result)
{
	bool was_joined = st->joined;
	int r;

	r = netns_enter(st->ns_fds[req->side], &st->joined);
	/* joining gave every capability there, and a full bounding set */
	if (st->joined && !was_joined && caps_keep_only(opener_caps, N_OPENER_CAPS) < 0)
		_exit(EXIT_FAILURE);
	if (r < 0)
		return r;

	switch ((enum opener_op)req->op) {
	case OPENER_SOCKET:
		r = make_sockets(req, fds);
		break;
	case OPENER_LISTEN:
		r = make_listener(req, fds);
		break;
	case OPENER_LO_UP:
		r = nl_lo_up();
		if (r >= 0) {
			*ret_result = r;
			r = 0;
		}
		break;
	case OPENER_OPEN_PID:
	case OPENER_FORGET:
	case OPENER_SOCKET_OWNER:
	case OPENER_OP_MAX:
	default:
		r = -EINVAL;
	}

	/* staying in a container's namespace would misplace every later socket;
	 * after a join there is no way back, and every request enters anew */
	if (!st->joined && setns(st->home_fd, CLONE_NEWNET) < 0)
		_exit(EXIT_FAILURE);
	return r;
}

static int send_with_fds(int fd, const void *msg, size_t len, const int *fds, unsigned n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * OPENER_MAX_FDS)];
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	}
	while (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/*
 * A side's namespace is replaced or let go: a restarted container has a
 * new one, and the old one must not be kept alive by an fd held here.
 * The pidfd goes to the relay, which watches it for the next exit.
 */
static int change_namespace(struct opener_state *st, const struct opener_req *req, int *fds)
{
	int ns_fd, pidfd, r;

	if (req->op == OPENER_FORGET) {
		if (st->ns_fds[req->side] >= 0)
			close(st->ns_fds[req->side]);
		st->ns_fds[req->side] = -1;
		return 0;
	}
	r = netns_open_pid(req->pid, req->start, &ns_fd, &pidfd);
	if (r < 0)
		return r;
	if (st->ns_fds[req->side] >= 0)
		close(st->ns_fds[req->side]);
	st->ns_fds[req->side] = ns_fd;
	fds[0] = pidfd;
	return 1;
}

/*
 * Which process holds a socket: its /proc/PID/fd links say, and reading
 * them takes CAP_SYS_PTRACE, which the relay no longer has (--mirror
 * asks, to leave nsbridge's own listeners alone).
 */
static int socket_owner(const struct opener_req *req, int32_t *ret_pid)
{
	struct port_owner owner;
	int r = portowner_of_inode(req->inode, &owner);

	if (r == 0)
		*ret_pid = owner.pid;
	return r;
}

static void serve_one(struct opener_state *st, int fd, const struct opener_req *req)
{
	struct opener_reply rep = { .tag = req->tag };
	int fds[OPENER_MAX_FDS];
	int r;

	r = validate(st, req);
	if (r == 0 && (req->op == OPENER_OPEN_PID || req->op == OPENER_FORGET))
		r = change_namespace(st, req, fds);
	else if (r == 0 && req->op == OPENER_SOCKET_OWNER)
		r = socket_owner(req, &rep.result);
	else if (r == 0)
		r = handle_in_ns(st, req, fds, &rep.result);
	rep.error = r < 0 ? r : 0;
	rep.count = r > 0 ? (uint32_t)r : 0;
	if (send_with_fds(fd, &rep, sizeof(rep), fds, rep.count) < 0)
		_exit(EXIT_FAILURE);
	for (unsigned i = 0; i < rep.count; i++)
		close(fds[i]);
}

/* Take one request from @fd and answer it there */
static void serve_channel(struct opener_state *st, int fd)
{
	struct opener_req req;
	ssize_t n = recv(fd, &req, sizeof(req), MSG_DONTWAIT);

	if (n == 0)
		_exit(EXIT_SUCCESS);	/* the relay is gone */
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		_exit(EXIT_FAILURE);
	}
	if ((size_t)n != sizeof(req)) {
		struct opener_reply rep = { .error = -EINVAL };

		send_with_fds(fd, &rep, sizeof(rep), NULL, 0);
		return;
	}
	serve_one(st, fd, &req);
}

static __attribute__((noreturn)) void serve(struct opener_state *st)
{
	for (;;) {
		struct pollfd pfd[CHANNEL_MAX];

		for (int i = 0; i < CHANNEL_MAX; i++)
			pfd[i] = (struct pollfd){ .fd = st->ctl_fds[i], .events = POLLIN };
		if (poll(pfd, CHANNEL_MAX, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(EXIT_FAILURE);
		}
		for (int i = 0; i < CHANNEL_MAX; i++)
			if (pfd[i].revents)
				serve_channel(st, st->ctl_fds[i]);
	}
}

static bool fd_kept(int fd, const struct opener_state *st)
{
	if (fd <= STDERR_FILENO || fd == st->home_fd)
		return true;
	for (int i = 0; i < CHANNEL_MAX; i++)
		if (fd == st->ctl_fds[i])
			return true;
	for (int s = 0; s < SIDE_MAX; s++)
		if (fd == st->ns_fds[s])
			return true;
	return false;
}

/* Inherit nothing but what it needs: no listener, no pidfd, no pipe */
static void close_other_fds(const struct opener_state *st)
{
	int max = (int)sysconf(_SC_OPEN_MAX);

	for (int fd = STDERR_FILENO + 1; fd < max && fd < 65536; fd++)
		if (!fd_kept(fd, st))
			close(fd);
}

static __attribute__((noreturn)) void opener_main(struct opener_state *st, pid_t parent)
{
	child_setup("nsbridge-opener", parent);
	close_other_fds(st);
	if (netns_open_self(&st->home_fd) < 0)
		_exit(EXIT_FAILURE);
	if (caps_keep_only(opener_caps, N_OPENER_CAPS) < 0)
		_exit(EXIT_FAILURE);
	serve(st);
}

/* -------- the relay's side -------- */

/**
 * opener_start() - fork the opener, holding the namespaces in @ns_fds
 * @ns_fds:	namespace fd per side, -1 for a side not used; the caller
 *		may close its copies afterwards
 *
 * Return: 0 or -errno
 */
int opener_start(const int ns_fds[SIDE_MAX])
{
	static const enum child_link links[CHANNEL_MAX] = {
		[CHANNEL_ASYNC] = CHILD_SEQPACKET,
		[CHANNEL_CALL] = CHILD_SEQPACKET,
	};
	struct opener_state st = { .home_fd = -1 };
	pid_t parent = getpid(), pid;
	int fds[CHANNEL_MAX];

	pid = child_fork(links, CHANNEL_MAX, fds);
	if (pid < 0)
		return pid;
	if (pid == 0) {
		memcpy(st.ctl_fds, fds, sizeof(st.ctl_fds));
		memcpy(st.ns_fds, ns_fds, sizeof(st.ns_fds));
		opener_main(&st, parent);
	}
	ctl_fd = fds[CHANNEL_ASYNC];
	call_fd = fds[CHANNEL_CALL];
	opener_pid_ = pid;
	return 0;
}

/**
 * opener_pid() - the opener's pid, for the relay to watch it (children.c)
 *
 * Return: the pid, 0 when no opener was started
 */
pid_t opener_pid(void)
{
	return opener_pid_;
}

/**
 * opener_exited() - the opener has exited: answer OPENER_EXITED from now on
 *
 * The channels stay open (the relay's epoll set holds one), so that
 * nothing of the loop changes under it.
 */
void opener_exited(void)
{
	gone = true;
}

/**
 * opener_gone() - whether the opener has exited (opener_exited(), or a
 *		   channel's end seen)
 *
 * Return: true once it has
 */
bool opener_gone(void)
{
	return gone;
}

/* What a failed send or receive means: the opener's end closed, or another error */
static int transport_error(int r)
{
	if (r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN)
		gone = true;
	return gone ? OPENER_EXITED : r;
}

/**
 * opener_fd() - the relay's end of the opener socket, for epoll
 *
 * Return: the fd, or -1 when no opener runs
 */
int opener_fd(void)
{
	return ctl_fd;
}

/**
 * opener_send() - send a request without waiting for the reply
 * @req:	request
 *
 * Return: 0 or -errno (-EAGAIN if the socket is full, -ENOTCONN if no
 * opener runs)
 */
int opener_send(const struct opener_req *req)
{
	if (ctl_fd < 0)
		return -ENOTCONN;
	if (gone)
		return OPENER_EXITED;
	if (send(ctl_fd, req, sizeof(*req), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return errno == EAGAIN ? -EAGAIN : transport_error(-errno);
	return 0;
}

static int receive(int fd, int flags, struct opener_reply *ret, int *ret_fds, unsigned max_fds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * OPENER_MAX_FDS)];
	struct opener_reply rep;
	struct iovec iov = { .iov_base = &rep, .iov_len = sizeof(rep) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	unsigned n = 0;
	ssize_t len;

	do
		len = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
	while (len < 0 && errno == EINTR);
	if (len < 0)
		return -errno;
	if (len == 0)
		return transport_error(-ECONNRESET);	/* the opener died */

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (max_fds)
			memcpy(ret_fds, CMSG_DATA(cm), sizeof(int) * (n < max_fds ? n : max_fds));
		for (unsigned i = max_fds; i < n; i++)
			close(((int *)(void *)CMSG_DATA(cm))[i]);
		n = n < max_fds ? n : max_fds;
	}
	if ((size_t)len != sizeof(rep) || (mh.msg_flags & MSG_CTRUNC)) {
		while (n--)
			close(ret_fds[n]);
		return -EBADMSG;
	}
	rep.count = n;
	*ret = rep;
	return 0;
}

/**
 * opener_receive() - take one reply, if one is waiting
 * @ret:	the reply; its count says how many fds were stored
 * @ret_fds:	where its fds go
 * @max_fds:	room in @ret_fds; fds beyond it are closed
 *
 * Return: 0, -EAGAIN if none is waiting, OPENER_EXITED if the opener died
 */
int opener_receive(struct opener_reply *ret, int *ret_fds, unsigned max_fds)
{
	if (ctl_fd < 0)
		return -ENOTCONN;
	return receive(ctl_fd, MSG_DONTWAIT, ret, ret_fds, max_fds);
}

/**
 * opener_call() - send a request and wait for its reply
 * @req:	request
 * @ret_fds:	where the fds go
 * @max_fds:	room in @ret_fds
 *
 * Calls have a channel of their own, so asynchronous requests may be
 * outstanding meanwhile. The loop waits, so it calls only for what is
 * rare and short: the set-up, binding anew after a container restart, a
 * labelled container's bridges, a reload or nsbridge add, nsbridge ports,
 * a port that --mirror found, and the pools' first sockets in a side.
 *
 * Return: number of fds received (for OPENER_LO_UP: 1 if lo was brought
 * up, 0 if it was up; for OPENER_SOCKET_OWNER: the pid), OPENER_EXITED
 * once the opener has exited, or -errno from the opener or transport
 */
int opener_call(const struct opener_req *req, int *ret_fds, unsigned max_fds)
{
	struct opener_reply rep;
	int r;

	if (call_fd < 0)
		return -ENOTCONN;
	if (gone)
		return OPENER_EXITED;
	if (send(call_fd, req, sizeof(*req), MSG_NOSIGNAL) < 0)
		return transport_error(-errno);
	r = receive(call_fd, 0, &rep, ret_fds, max_fds);
	if (r < 0)
		return r;
	if (rep.error < 0)
		return rep.error;
	if (req->op == OPENER_LO_UP || req->op == OPENER_SOCKET_OWNER)
		return rep.result;
	return (int)rep.count;
}
