/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sock.c - socket addresses and options shared by listeners and dialers */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "nsbridge/sock.h"

/**
 * sock_addr_inet() - an IPv4 or IPv6 address and port
 * @ret:	the address
 * @family:	AF_INET or AF_INET6
 * @addr:	struct in_addr or struct in6_addr, network byte order
 * @port:	port, host byte order
 */
void sock_addr_inet(struct sock_addr *ret, int family, const void *addr, uint16_t port)
{
	memset(ret, 0, sizeof(*ret));
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ret->ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
		ret->len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ret->ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
		ret->len = sizeof(*sin);
	}
}

/**
 * sock_addr_loopback() - 127.0.0.1 or [::1] with @port
 * @ret:	the address
 * @family:	AF_INET or AF_INET6
 * @port:	port, host byte order
 */
void sock_addr_loopback(struct sock_addr *ret, int family, uint16_t port)
{
	struct in_addr v4 = { .s_addr = htonl(INADDR_LOOPBACK) };

	if (family == AF_INET6)
		sock_addr_inet(ret, AF_INET6, &in6addr_loopback, port);
	else
		sock_addr_inet(ret, AF_INET, &v4, port);
}

/**
 * sock_addr_endpoint() - the address of port @offset of an endpoint
 * @ret:	the address
 * @ep:		parsed endpoint
 * @offset:	index into the endpoint's port range
 * @family:	for an endpoint without address, which loopback to use
 *
 * Return: 0, or -EAFNOSUPPORT if @ep has an address of the other family
 */
int sock_addr_endpoint(struct sock_addr *ret, const struct endpoint *ep, unsigned offset, int family)
{
	uint16_t port = (uint16_t)(ep->port_first + offset);

	if (ep->kind == ENDPOINT_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ret->ss;

		memset(ret, 0, sizeof(*ret));
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, ep->path, sizeof(ep->path));
		ret->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(ep->path) + 1);
		return 0;
	}
	if (!ep->has_addr) {
		sock_addr_loopback(ret, family, port);
		return 0;
	}
	if (ep->family != family)
		return -EAFNOSUPPORT;
	sock_addr_inet(ret, family, &ep->addr, port);
	return 0;
}

/**
 * sock_addr_family() - the family of @a
 * @a:		address
 *
 * Return: AF_INET, AF_INET6 or AF_UNIX
 */
int sock_addr_family(const struct sock_addr *a)
{
	return a->ss.ss_family;
}

/**
 * sock_addr_format() - "127.0.0.1:80", "[::1]:80" or "unix:/path"
 * @a:		address
 * @buf:	where to write
 * @len:	its size, SOCK_ADDR_TEXT_MAX fits any
 *
 * Return: @buf
 */
const char *sock_addr_format(const struct sock_addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	switch (a->ss.ss_family) {
	case AF_INET6: {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
		break;
	}
	case AF_INET: {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
		break;
	}
	case AF_UNIX:
		snprintf(buf, len, "unix:%s", ((const struct sockaddr_un *)&a->ss)->sun_path);
		break;
	default:
		snprintf(buf, len, "?");
	}
	return buf;
}

/**
 * sock_listen() - bind @fd to @a and listen
 * @fd:		TCP socket, made in the namespace it should listen in
 * @a:		address
 *
 * SO_REUSEADDR lets a restarted nsbridge bind while old connections sit
 * in TIME_WAIT; IPV6_V6ONLY keeps [::1] from claiming IPv4 too.
 *
 * Return: 0 or -errno
 */
int sock_listen(int fd, const struct sock_addr *a)
{
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	if (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		return -errno;
	if (listen(fd, SOCK_LISTEN_BACKLOG) < 0)
		return -errno;
	return 0;
}

/**
 * sock_bind_dgram() - bind a UDP socket to @a, as an EXPOSE that receives
 * @fd:		UDP socket
 * @a:		address
 *
 * No SO_REUSEADDR: for UDP it would let two sockets share the port, and
 * a port taken must be reported as taken. Each datagram comes with the
 * address it was sent to (IP_PKTINFO), so that replies leave from there.
 *
 * Return: 0 or -errno
 */
int sock_bind_dgram(int fd, const struct sock_addr *a)
{
	int one = 1, r;

	if (a->ss.ss_family == AF_INET6)
		r = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0;
	else
		r = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0;
	if (r)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		return -errno;
	return 0;
}

/**
 * sock_open_bound() - a TCP listener or a bound UDP socket on @a
 * @type:	SOCK_STREAM or SOCK_DGRAM
 * @a:		address
 *
 * Return: the fd, or -errno
 */
int sock_open_bound(int type, const struct sock_addr *a)
{
	int fd, r;

	fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = type == SOCK_DGRAM ? sock_bind_dgram(fd, a) : sock_listen(fd, a);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/**
 * sock_set_nodelay() - turn Nagle off on a TCP socket
 * @fd:		socket; errors (a unix socket) are ignored
 *
 * Without it request/response protocols stall about 40 ms on the delayed
 * ACK of the far end, once per hop.
 */
void sock_set_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/**
 * sock_bind_source() - have a socket's connection come from @addr
 * @fd:		an IPv4 socket, not connected yet
 * @addr:	a local address (a loopback one: all of 127.0.0.0/8 is local)
 *
 * For TCP the port is left to connect(), which picks one unique for the
 * whole 4-tuple (IP_BIND_ADDRESS_NO_PORT): a bind() to port 0 alone would
 * take a port for good and run out after some 28,000 connections.
 *
 * Return: 0 or -errno
 */
int sock_bind_source(int fd, const struct in_addr *addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = *addr };
	int one = 1;

	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	return bind(fd, (const struct sockaddr *)&sin, sizeof(sin)) < 0 ? -errno : 0;
}

/**
 * sock_close_reset() - close @fd so that its peer sees a reset, not EOF
 * @fd:		TCP socket
 */
void sock_close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/**
 * sock_error() - the pending error of a socket
 * @fd:		socket
 *
 * Return: 0 or -errno of SO_ERROR
 */
int sock_error(int fd)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

/**
 * sock_is_self_connected() - whether a TCP socket connected to itself
 * @fd:		a connected socket
 * @dest:	the address it was connected to
 *
 * Connecting to a local port where nothing listens, from an ephemeral port
 * that happens to be that same port, completes a "simultaneous open" with
 * itself: the connection succeeds and echoes every byte. A relay must take
 * that for the refusal it really is. The peer is @dest, so only the local
 * address is asked: one system call a connection, not two.
 *
 * Return: true if its local address is @dest
 */
bool sock_is_self_connected(int fd, const struct sock_addr *dest)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	const struct sockaddr_in *l4 = (const void *)&local, *d4 = (const void *)&dest->ss;
	const struct sockaddr_in6 *l6 = (const void *)&local, *d6 = (const void *)&dest->ss;

	if (getsockname(fd, (struct sockaddr *)&local, &len) < 0 ||
	    local.ss_family != dest->ss.ss_family)
		return false;
	if (local.ss_family == AF_INET)
		return l4->sin_port == d4->sin_port && l4->sin_addr.s_addr == d4->sin_addr.s_addr;
	if (local.ss_family == AF_INET6)
		return l6->sin6_port == d6->sin6_port &&
		       memcmp(&l6->sin6_addr, &d6->sin6_addr, sizeof(l6->sin6_addr)) == 0;
	return false;	/* a unix socket cannot connect to itself */
}

/**
 * sock_unsent() - bytes written to a TCP socket that have not left yet
 * @fd:		socket
 *
 * SIOCOUTQNSD: what waits for the peer's receive window (or congestion
 * window); bytes sent and not yet acknowledged are not counted.
 *
 * Return: bytes, or -errno (-ENOTTY for a unix socket, which has no
 * such queue: what it writes is in its peer's receive queue at once)
 */
int sock_unsent(int fd)
{
	int n = 0;	/* valgrind does not know that SIOCOUTQNSD writes it */

	if (ioctl(fd, SIOCOUTQNSD, &n) < 0)
		return -errno;
	return n;
}

/**
 * sock_queued() - bytes waiting in a socket's queues, either way
 * @fd:		connected socket
 *
 * SIOCINQ: received and not read yet; SIOCOUTQ: written and not yet
 * acknowledged by the peer (TCP) or not yet read by it (unix).
 *
 * Return: bytes, or -errno
 */
int sock_queued(int fd)
{
	int in, out;

	if (ioctl(fd, SIOCINQ, &in) < 0 || ioctl(fd, SIOCOUTQ, &out) < 0)
		return -errno;
	return in + out;
}

/**
 * sock_at_mark() - whether reading @fd has reached its urgent mark
 * @fd:		connected socket
 *
 * Return: true if the next byte to read is where urgent data was sent
 */
bool sock_at_mark(int fd)
{
	int at = 0;

	return ioctl(fd, SIOCATMARK, &at) == 0 && at;
}
