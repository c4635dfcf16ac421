/* SPDX-License-Identifier: GPL-2.0-or-later */
/* proxy.h - the PROXY protocol v2 header a connection to SERVICE starts with */
#ifndef NSBRIDGE_PROXY_H
#define NSBRIDGE_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* What a header may hold: the TLVs' values are cut to these */
#define PROXY_NETNS_MAX		255
#define PROXY_UNIQUE_ID_MAX	128	/* the specification's limit */

/* Signature, command, family, length; IPv6 addresses; two TLVs */
#define PROXY_HEADER_MAX	(16 + 36 + 3 + PROXY_NETNS_MAX + 3 + PROXY_UNIQUE_ID_MAX)

/* The specification's names for what nsbridge writes */
#define PP2_VERSION_PROXY	0x21
#define PP2_TCP4		0x11
#define PP2_TCP6		0x21
#define PP2_TYPE_UNIQUE_ID	0x05
#define PP2_TYPE_NETNS		0x30

ssize_t proxy_header(const struct sockaddr_storage *client, const struct sockaddr_storage *dest,
		     const char *netns, const char *unique_id, uint8_t *buf, size_t len);

#endif /* NSBRIDGE_PROXY_H */
