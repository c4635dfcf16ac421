/* SPDX-License-Identifier: GPL-2.0-or-later */
/* endpoint.c - parse "container:[::1]:8080/tcp" into a struct endpoint
 *
 * Pure functions, no allocation, no side effects: the unit tests and the
 * fuzz target call them directly. The grammar is that of SPEC.md:
 *
 *	ENDPOINT := SIDE ':' [ADDR ':'] PORTS ['/' PROTO]
 *		  | 'unix:' PATH
 *	ADDR     := IPv4 literal | '[' IPv6 literal ']'
 *	PORTS    := PORT | FIRST '-' LAST
 *
 * Each error returns -EINVAL and a short phrase saying what was expected;
 * the caller names the argument around it.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "nsbridge/endpoint.h"

#define PORT_DIGITS_MAX	5

/* What the grammar names: every container side is written "container" */
static const char *const side_names[SIDE_CONTAINER + 1] = {
	[SIDE_HOST] = "host",
	[SIDE_CONTAINER] = "container",
};

static const char *const proto_names[PROTO_MAX] = {
	[PROTO_TCP] = "tcp",
	[PROTO_UDP] = "udp",
};

/**
 * side_name() - the word a user writes for a side
 * @side:	SIDE_HOST or a container's side
 *
 * Return: "host" or "container"
 */
const char *side_name(enum side side)
{
	if (side >= SIDE_MAX)
		return "?";
	return side_names[side < SIDE_CONTAINER ? side : SIDE_CONTAINER];
}

/**
 * proto_name() - the word a user writes for a transport
 * @proto:	PROTO_TCP or PROTO_UDP
 *
 * Return: "tcp" or "udp"
 */
const char *proto_name(enum proto proto)
{
	return proto < PROTO_MAX ? proto_names[proto] : "?";
}

/* A port: 0..65535 written as plain decimal digits, no sign, no spaces */
static int parse_port(const char *s, size_t len, uint16_t *ret)
{
	unsigned long v = 0;

	if (len == 0 || len > PORT_DIGITS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

static int parse_ports(const char *s, size_t len, struct endpoint *ep, const char **why)
{
	const char *dash = memchr(s, '-', len);
	uint16_t first, last;

	if (len == 0)
		return *why = "a port after the colon", -EINVAL;
	if (!dash) {	/* 0: any free port, which only an EXPOSE may ask for (pairs.c) */
		if (parse_port(s, len, &first) < 0)
			return *why = "a port from 1 to 65535, or 0 for any free one", -EINVAL;
		ep->port_first = ep->port_last = first;
		return 0;
	}
	if (parse_port(s, (size_t)(dash - s), &first) < 0 || first == 0 ||
	    parse_port(dash + 1, len - (size_t)(dash - s) - 1, &last) < 0)
		return *why = "a port range FIRST-LAST of ports from 1 to 65535", -EINVAL;
	if (first > last)
		return *why = "a port range whose first port is not above its last", -EINVAL;
	ep->port_first = first;
	ep->port_last = last;
	return 0;
}

/* An address literal of @family, @len bytes at @s (not NUL-terminated) */
static int parse_addr(int family, const char *s, size_t len, struct endpoint *ep,
		      const char **why)
{
	char buf[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(buf))
		goto bad;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(family, buf, family == AF_INET ? (void *)&ep->addr.v4 :
						       (void *)&ep->addr.v6) != 1)
		goto bad;
	ep->has_addr = true;
	ep->family = family;
	return 0;
bad:
	*why = family == AF_INET ? "an IPv4 address like 127.0.0.1" :
				   "an IPv6 address inside the brackets";
	return -EINVAL;
}

/*
 * "ADDR:PORTS" or "PORTS", the part between the side and the protocol.
 * Brackets announce IPv6; otherwise a colon separates an IPv4 address,
 * and more than one colon is an IPv6 address someone forgot to bracket.
 */
static int parse_addr_ports(const char *s, size_t len, struct endpoint *ep, const char **why)
{
	const char *colon;
	size_t alen;
	int r;

	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close)
			return *why = "a ']' closing the IPv6 address", -EINVAL;
		r = parse_addr(AF_INET6, s + 1, (size_t)(close - s - 1), ep, why);
		if (r < 0)
			return r;
		alen = (size_t)(close - s) + 1;
		if (alen == len || s[alen] != ':')
			return *why = "':PORT' after the IPv6 address", -EINVAL;
		return parse_ports(s + alen + 1, len - alen - 1, ep, why);
	}
	colon = memchr(s, ':', len);
	if (!colon)
		return parse_ports(s, len, ep, why);
	if (memchr(colon + 1, ':', len - (size_t)(colon - s) - 1))
		return *why = "an IPv6 address in brackets, like [::1]:8080", -EINVAL;
	r = parse_addr(AF_INET, s, (size_t)(colon - s), ep, why);
	if (r < 0)
		return r;
	return parse_ports(colon + 1, len - (size_t)(colon - s) - 1, ep, why);
}

static int parse_unix(const char *path, struct endpoint *ep, const char **why)
{
	size_t len = strlen(path);

	if (path[0] != '/')
		return *why = "an absolute path after 'unix:'", -EINVAL;
	if (len >= sizeof(ep->path))
		return *why = "a unix socket path shorter than 108 bytes", -EINVAL;
	memcpy(ep->path, path, len + 1);
	ep->kind = ENDPOINT_UNIX;
	ep->side = SIDE_HOST;
	ep->proto = PROTO_TCP;
	return 0;
}

static int parse_side(const char *text, enum side *ret, size_t *ret_len)
{
	for (int s = 0; s <= SIDE_CONTAINER; s++) {
		size_t n = strlen(side_names[s]);

		if (strncmp(text, side_names[s], n) == 0 && text[n] == ':') {
			*ret = (enum side)s;
			*ret_len = n + 1;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_proto(const char *s, enum proto *ret)
{
	for (int p = 0; p < PROTO_MAX; p++)
		if (strcmp(s, proto_names[p]) == 0) {
			*ret = (enum proto)p;
			return 0;
		}
	return -EINVAL;
}

/**
 * endpoint_parse() - parse one endpoint of the command line
 * @text:	what the user wrote
 * @ret:	the endpoint, written only on success
 * @ret_why:	on failure, what was expected (a static phrase)
 *
 * Return: 0, or -EINVAL with @ret_why set
 */
int endpoint_parse(const char *text, struct endpoint *ret, const char **ret_why)
{
	struct endpoint ep = { .kind = ENDPOINT_INET, .proto = PROTO_TCP };
	const char *rest, *slash;
	size_t side_len;
	int r;

	if (strncmp(text, "unix:", 5) == 0) {
		r = parse_unix(text + 5, &ep, ret_why);
		goto out;
	}
	if (parse_side(text, &ep.side, &side_len) < 0) {
		*ret_why = "SIDE:PORT where SIDE is 'host' or 'container', like host:5432";
		return -EINVAL;
	}
	rest = text + side_len;
	slash = strchr(rest, '/');
	if (slash && parse_proto(slash + 1, &ep.proto) < 0) {
		*ret_why = "'/tcp' or '/udp' after the port";
		return -EINVAL;
	}
	r = parse_addr_ports(rest, slash ? (size_t)(slash - rest) : strlen(rest), &ep, ret_why);
out:
	if (r == 0)
		*ret = ep;
	return r;
}

/**
 * endpoint_port_count() - how many ports an endpoint covers
 * @ep:		the endpoint
 *
 * Return: 1 for a single port or a unix socket, the size of a range otherwise
 */
unsigned endpoint_port_count(const struct endpoint *ep)
{
	if (ep->kind != ENDPOINT_INET)
		return 1;
	return (unsigned)ep->port_last - ep->port_first + 1;
}

/**
 * endpoint_format() - an endpoint written back in the grammar it was parsed
 *		       from: "container:5432", "host:[::1]:53/udp", "unix:/p"
 * @ep:		the endpoint
 * @buf:	where to write
 * @len:	its size; ENDPOINT_TEXT_MAX fits any
 *
 * Return: @buf
 */
const char *endpoint_format(const struct endpoint *ep, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN + 3] = "", range[8] = "";

	if (ep->kind == ENDPOINT_UNIX) {
		snprintf(buf, len, "unix:%s", ep->path);
		return buf;
	}
	if (ep->has_addr && ep->family == AF_INET6) {
		addr[0] = '[';
		inet_ntop(AF_INET6, &ep->addr.v6, addr + 1, INET6_ADDRSTRLEN);
		strcat(addr, "]:");
	} else if (ep->has_addr) {
		inet_ntop(AF_INET, &ep->addr.v4, addr, INET6_ADDRSTRLEN);
		strcat(addr, ":");
	}
	if (ep->port_last != ep->port_first)
		snprintf(range, sizeof(range), "-%u", ep->port_last);
	snprintf(buf, len, "%s:%s%u%s%s", side_name(ep->side), addr, ep->port_first, range,
		 ep->proto == PROTO_UDP ? "/udp" : "");
	return buf;
}

/**
 * endpoint_addr_is_loopback() - whether an EXPOSE stays on loopback
 * @ep:		the endpoint
 *
 * Return: true with no address (loopback is the default), 127/8 or ::1
 */
bool endpoint_addr_is_loopback(const struct endpoint *ep)
{
	if (ep->kind != ENDPOINT_INET || !ep->has_addr)
		return true;
	if (ep->family == AF_INET)
		return (ntohl(ep->addr.v4.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&ep->addr.v6) ||
	       (IN6_IS_ADDR_V4MAPPED(&ep->addr.v6) && ep->addr.v6.s6_addr[12] == 127);
}

/* An explicit address that an endpoint without one would also use */
static bool addr_is_default(const struct endpoint *ep)
{
	if (ep->family == AF_INET)
		return ep->addr.v4.s_addr == htonl(INADDR_LOOPBACK) ||
		       ep->addr.v4.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_LOOPBACK(&ep->addr.v6) || IN6_IS_ADDR_UNSPECIFIED(&ep->addr.v6);
}

/*
 * Both endpoints can be reached at the same address. No address stands
 * for 127.0.0.1 and [::1]; a wildcard (0.0.0.0, [::]) binds and answers
 * every address of its family.
 */
static bool addrs_meet(const struct endpoint *a, const struct endpoint *b)
{
	if (!a->has_addr && !b->has_addr)
		return true;
	if (!a->has_addr || !b->has_addr)
		return addr_is_default(a->has_addr ? a : b);
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->addr.v4.s_addr == b->addr.v4.s_addr ||
		       a->addr.v4.s_addr == htonl(INADDR_ANY) ||
		       b->addr.v4.s_addr == htonl(INADDR_ANY);
	return memcmp(&a->addr.v6, &b->addr.v6, sizeof(a->addr.v6)) == 0 ||
	       IN6_IS_ADDR_UNSPECIFIED(&a->addr.v6) || IN6_IS_ADDR_UNSPECIFIED(&b->addr.v6);
}

/**
 * endpoint_overlaps() - whether two endpoints could name the same socket
 * @a:		one endpoint
 * @b:		another
 *
 * Used to refuse a bridge that would relay to itself and two EXPOSEs that
 * would bind the same port. An endpoint without an address stands for
 * both loopback addresses, so it meets those and the wildcards.
 *
 * Return: true if they share side, transport, a port and an address
 */
bool endpoint_overlaps(const struct endpoint *a, const struct endpoint *b)
{
	if (a->kind != ENDPOINT_INET || b->kind != ENDPOINT_INET)
		return false;
	if (a->side != b->side || a->proto != b->proto)
		return false;
	if (a->port_first == 0 || b->port_first == 0)
		return false;	/* any free port: the kernel picks one not in use */
	if (a->port_last < b->port_first || b->port_last < a->port_first)
		return false;
	return addrs_meet(a, b);
}
