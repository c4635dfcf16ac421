/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sock.h - socket addresses and options shared by listeners and dialers */
#ifndef NSBRIDGE_SOCK_H
#define NSBRIDGE_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "nsbridge/endpoint.h"

#define SOCK_ADDR_TEXT_MAX	(ENDPOINT_PATH_MAX + 8)
#define SOCK_LISTEN_BACKLOG	4096

/**
 * struct sock_addr - an address to bind or connect to
 * @ss:		the address
 * @len:	its length
 */
struct sock_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

void sock_addr_inet(struct sock_addr *ret, int family, const void *addr, uint16_t port);
void sock_addr_loopback(struct sock_addr *ret, int family, uint16_t port);
int sock_addr_endpoint(struct sock_addr *ret, const struct endpoint *ep, unsigned offset, int family);
const char *sock_addr_format(const struct sock_addr *a, char *buf, size_t len);
int sock_addr_family(const struct sock_addr *a);
int sock_listen(int fd, const struct sock_addr *a);
int sock_bind_dgram(int fd, const struct sock_addr *a);
int sock_open_bound(int type, const struct sock_addr *a);
void sock_set_nodelay(int fd);
int sock_bind_source(int fd, const struct in_addr *addr);
void sock_close_reset(int fd);
int sock_error(int fd);
bool sock_is_self_connected(int fd, const struct sock_addr *dest);
int sock_unsent(int fd);
int sock_queued(int fd);
bool sock_at_mark(int fd);

#endif /* NSBRIDGE_SOCK_H */
