/* SPDX-License-Identifier: GPL-2.0-or-later */
/* proxy.c - the PROXY protocol v2 header (--proxy-protocol)
 *
 * Theory of operation
 *
 * Through a relay every client reaches SERVICE from the relay's own
 * address. A service that speaks the PROXY protocol (nginx, HAProxy,
 * Envoy, Traefik, Caddy) reads, before the first byte of the client's, a
 * header saying who the client was; with --proxy-protocol each connection
 * to SERVICE begins with one, in version 2, the binary form
 * (haproxy.org's proxy-protocol.txt, section 2.2):
 *
 *   12 bytes  \r\n\r\n\0\r\nQUIT\n, the signature
 *   1 byte    0x21: version 2, command PROXY
 *   1 byte    0x11 TCP over IPv4, or 0x21 TCP over IPv6
 *   2 bytes   the length of what follows, network order
 *   12 or 36  the client's address, the address it connected to, then
 *             both ports, network order
 *   TLVs      type, length (2 bytes, network order), value:
 *             PP2_TYPE_NETNS, the client's container's name, and
 *             PP2_TYPE_UNIQUE_ID, its engine ID, where it has them
 *
 * The addresses are those the client saw: its own and the EXPOSE it
 * connected to, in its container's namespace. This file only makes the
 * bytes; relay.c sends them, before anything else, once SERVICE answers.
 */

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "nsbridge/proxy.h"

static const uint8_t signature[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A TLV of @text, cut to @max bytes, at @p; its length, 0 for no text */
static size_t put_tlv(uint8_t *p, uint8_t type, const char *text, size_t max)
{
	size_t n = text ? strnlen(text, max) : 0;

	if (!n)
		return 0;
	p[0] = type;
	put16(p + 1, (uint16_t)n);
	memcpy(p + 3, text, n);
	return 3 + n;
}

/* Both addresses, then both ports, at @p; their length, 0 for another family */
static size_t put_addresses(uint8_t *p, const struct sockaddr_storage *src,
			    const struct sockaddr_storage *dst)
{
	if (src->ss_family == AF_INET && dst->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)src;
		const struct sockaddr_in *d = (const struct sockaddr_in *)dst;

		memcpy(p, &s->sin_addr, 4);
		memcpy(p + 4, &d->sin_addr, 4);
		memcpy(p + 8, &s->sin_port, 2);
		memcpy(p + 10, &d->sin_port, 2);
		return 12;
	}
	if (src->ss_family == AF_INET6 && dst->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)src;
		const struct sockaddr_in6 *d = (const struct sockaddr_in6 *)dst;

		memcpy(p, &s->sin6_addr, 16);
		memcpy(p + 16, &d->sin6_addr, 16);
		memcpy(p + 32, &s->sin6_port, 2);
		memcpy(p + 34, &d->sin6_port, 2);
		return 36;
	}
	return 0;
}

/**
 * proxy_header() - the PROXY v2 header of one TCP connection
 * @client:	the client's address, as SERVICE is to learn it
 * @dest:	the address the client connected to, of the same family
 * @netns:	the client's container's name for PP2_TYPE_NETNS; NULL or ""
 *		for none (a client on the host)
 * @unique_id:	its engine ID for PP2_TYPE_UNIQUE_ID; NULL or "" for none
 * @buf:	where the header goes
 * @len:	room in @buf, PROXY_HEADER_MAX for any header
 *
 * Return: the header's length, or -EAFNOSUPPORT for addresses that are
 * not both IPv4 or both IPv6, -ENOBUFS when @len is too short
 */
ssize_t proxy_header(const struct sockaddr_storage *client, const struct sockaddr_storage *dest,
		     const char *netns, const char *unique_id, uint8_t *buf, size_t len)
{
	uint8_t tmp[PROXY_HEADER_MAX];
	size_t n = 16, addresses;

	memcpy(tmp, signature, sizeof(signature));
	tmp[12] = PP2_VERSION_PROXY;
	tmp[13] = client->ss_family == AF_INET6 ? PP2_TCP6 : PP2_TCP4;
	addresses = put_addresses(tmp + n, client, dest);
	if (!addresses)
		return -EAFNOSUPPORT;
	n += addresses;
	n += put_tlv(tmp + n, PP2_TYPE_NETNS, netns, PROXY_NETNS_MAX);
	n += put_tlv(tmp + n, PP2_TYPE_UNIQUE_ID, unique_id, PROXY_UNIQUE_ID_MAX);
	put16(tmp + 14, (uint16_t)(n - 16));
	if (n > len)
		return -ENOBUFS;
	memcpy(buf, tmp, n);
	return (ssize_t)n;
}
