/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sockdiag.c - the listening sockets of a namespace, through netlink socket diagnostics
 *
 * A NETLINK_SOCK_DIAG socket answers for the namespace it was made in, and
 * a dump needs no privilege. One SOCK_DIAG_BY_FAMILY request per family
 * and protocol lists TCP sockets in LISTEN and UDP sockets that are bound
 * and not connected - the servers; a connected UDP socket is a client.
 * libnl carries the requests and parses the replies; its idiag module
 * only speaks the older TCP-only request, so the v2 one is built here.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/errno.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nsbridge/sockdiag.h"

/**
 * sockdiag_open() - put a NETLINK_SOCK_DIAG socket under libnl
 * @fd:		the socket, made in the namespace to list; always consumed
 * @ret:	the libnl socket, on success; nl_socket_free() closes it
 *
 * Return: 0 or -errno
 */
int sockdiag_open(int fd, struct nl_sock **ret)
{
	struct nl_sock *sk = nl_socket_alloc();

	/* dumps are answered at once; a blocking socket keeps libnl simple */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (!sk || nl_socket_set_fd(sk, NETLINK_SOCK_DIAG, fd) < 0) {
		nl_socket_free(sk);
		close(fd);
		return -EIO;
	}
	nl_socket_disable_auto_ack(sk);
	*ret = sk;
	return 0;
}

struct dump {
	int protocol;
	sockdiag_fn fn;
	void *arg;
};

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	const struct inet_diag_msg *m = nlmsg_data(h);
	const struct dump *d = arg;
	struct sockdiag_entry e;

	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || nlmsg_datalen(h) < (int)sizeof(*m))
		return NL_SKIP;
	if (m->id.idiag_dport != 0)	/* a connected UDP socket: a client */
		return NL_SKIP;
	e = (struct sockdiag_entry){
		.family = m->idiag_family, .protocol = d->protocol,
		.port = ntohs(m->id.idiag_sport), .inode = m->idiag_inode, .uid = m->idiag_uid,
	};
	memcpy(e.addr, m->id.idiag_src, sizeof(e.addr));
	d->fn(&e, d->arg);
	return NL_OK;
}

/**
 * sockdiag_listening() - call @fn for every server socket of @protocol
 * @sk:		from sockdiag_open()
 * @protocol:	IPPROTO_TCP (LISTEN) or IPPROTO_UDP (bound, not connected)
 * @fn:		called once a socket, IPv4 then IPv6
 * @arg:	for @fn
 *
 * Return: 0 or -EIO
 */
int sockdiag_listening(struct nl_sock *sk, int protocol, sockdiag_fn fn, void *arg)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct dump d = { .protocol = protocol, .fn = fn, .arg = arg };

	if (nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, &d) < 0)
		return -EIO;
	for (size_t i = 0; i < 2; i++) {
		struct inet_diag_req_v2 req = {
			.sdiag_family = (uint8_t)families[i],
			.sdiag_protocol = (uint8_t)protocol,
			.idiag_states = protocol == IPPROTO_TCP ? 1u << TCP_LISTEN : 1u << TCP_CLOSE,
		};

		if (nl_send_simple(sk, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, &req, sizeof(req)) < 0 ||
		    nl_recvmsgs_default(sk) < 0)
			return -EIO;
	}
	return 0;
}

static int on_peer(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	const struct inet_diag_msg *m = nlmsg_data(h);
	int64_t *uid = arg;

	if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && nlmsg_datalen(h) >= (int)sizeof(*m))
		*uid = m->idiag_uid;
	return NL_OK;
}

/* The inet_diag id of the socket at the far end of @fd: its ends swapped */
static int peer_id(int fd, struct inet_diag_req_v2 *req)
{
	struct sockaddr_storage local, peer;
	socklen_t llen = sizeof(local), plen = sizeof(peer);

	if (getsockname(fd, (struct sockaddr *)&local, &llen) < 0 ||
	    getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
		return -errno;
	req->sdiag_family = (uint8_t)local.ss_family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = ~0u;
	req->id.idiag_cookie[0] = req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (local.ss_family == AF_INET6) {
		const struct sockaddr_in6 *l6 = (const void *)&local, *p6 = (const void *)&peer;

		req->id.idiag_sport = p6->sin6_port;
		req->id.idiag_dport = l6->sin6_port;
		memcpy(req->id.idiag_src, &p6->sin6_addr, 16);
		memcpy(req->id.idiag_dst, &l6->sin6_addr, 16);
	} else {
		const struct sockaddr_in *l4 = (const void *)&local, *p4 = (const void *)&peer;

		req->id.idiag_sport = p4->sin_port;
		req->id.idiag_dport = l4->sin_port;
		req->id.idiag_src[0] = p4->sin_addr.s_addr;
		req->id.idiag_dst[0] = l4->sin_addr.s_addr;
	}
	return 0;
}

/**
 * sockdiag_peer_uid() - the user who owns the far end of a TCP connection
 *			 made inside the namespace of @sk
 * @sk:		from sockdiag_open(), in the connection's namespace
 * @fd:		our end, an accepted socket
 * @ret_uid:	the owner of the client's socket, on success
 *
 * Return: 0, -ENOENT if the client's socket is gone (or elsewhere), -EIO
 */
int sockdiag_peer_uid(struct nl_sock *sk, int fd, uint32_t *ret_uid)
{
	struct inet_diag_req_v2 req = { 0 };
	int64_t uid = -1;
	int r = peer_id(fd, &req);

	if (r < 0)
		return r;
	if (nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_peer, &uid) < 0 ||
	    nl_send_simple(sk, SOCK_DIAG_BY_FAMILY, 0, &req, sizeof(req)) < 0)
		return -EIO;
	r = nl_recvmsgs_default(sk);
	if (uid < 0)
		return r < 0 && r != -NLE_OBJ_NOTFOUND ? -EIO : -ENOENT;
	*ret_uid = (uint32_t)uid;
	return 0;
}

/**
 * sockdiag_on_loopback() - whether a loopback client reaches the socket:
 *			    bound to 127.0.0.0/8, ::1, a wildcard, or v4-mapped
 *			    127.0.0.0/8
 * @e:		the socket
 *
 * Return: true if it does
 */
bool sockdiag_on_loopback(const struct sockdiag_entry *e)
{
	const uint32_t *a = e->addr;

	if (e->family == AF_INET)
		return a[0] == 0 || (ntohl(a[0]) >> 24) == 127;
	if (a[0] == 0 && a[1] == 0 && a[2] == 0)
		return a[3] == 0 || a[3] == htonl(1);
	return a[0] == 0 && a[1] == 0 && a[2] == htonl(0xffff) && (ntohl(a[3]) >> 24) == 127;
}

/**
 * sockdiag_addr_text() - the bound address as text: "127.0.0.1", "[::1]", "*"
 * @e:		the socket
 * @buf:	room for it
 * @len:	size of @buf, at least INET6_ADDRSTRLEN + 2
 *
 * Return: @buf
 */
const char *sockdiag_addr_text(const struct sockdiag_entry *e, char *buf, unsigned len)
{
	static const uint32_t zero[4];
	char a[INET6_ADDRSTRLEN];

	if (!memcmp(e->addr, zero, e->family == AF_INET ? 4 : 16))
		snprintf(buf, len, "*");
	else if (e->family == AF_INET)
		snprintf(buf, len, "%s", inet_ntop(AF_INET, e->addr, a, sizeof(a)));
	else
		snprintf(buf, len, "[%s]", inet_ntop(AF_INET6, e->addr, a, sizeof(a)));
	return buf;
}
