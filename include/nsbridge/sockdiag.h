/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sockdiag.h - the listening sockets of a namespace, through netlink socket diagnostics */
#ifndef NSBRIDGE_SOCKDIAG_H
#define NSBRIDGE_SOCKDIAG_H

#include <stdbool.h>
#include <stdint.h>

struct nl_sock;

/**
 * struct sockdiag_entry - one listening socket
 * @family:	AF_INET or AF_INET6
 * @protocol:	IPPROTO_TCP or IPPROTO_UDP
 * @addr:	bound address, network byte order (IPv4 in addr[0])
 * @port:	bound port, host byte order
 * @inode:	socket inode, to find the process that holds it
 * @uid:	owner of the socket
 */
struct sockdiag_entry {
	int family;
	int protocol;
	uint32_t addr[4];
	uint16_t port;
	uint32_t inode;
	uint32_t uid;
};

typedef void (*sockdiag_fn)(const struct sockdiag_entry *e, void *arg);

int sockdiag_open(int fd, struct nl_sock **ret);
int sockdiag_listening(struct nl_sock *sk, int protocol, sockdiag_fn fn, void *arg);
int sockdiag_peer_uid(struct nl_sock *sk, int fd, uint32_t *ret_uid);
bool sockdiag_on_loopback(const struct sockdiag_entry *e);
const char *sockdiag_addr_text(const struct sockdiag_entry *e, char *buf, unsigned len);

#endif /* NSBRIDGE_SOCKDIAG_H */
