/* SPDX-License-Identifier: GPL-2.0-or-later */
/* endpoint.h - the SERVICE and EXPOSE endpoint grammar of SPEC.md */
#ifndef NSBRIDGE_ENDPOINT_H
#define NSBRIDGE_ENDPOINT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Containers one process serves: -c REF scopes the pairs after it (pair_container.c) */
#define CONTAINERS_MAX	16
/* More that --labels may serve at once; a stopped one's side is reused (labels.c) */
#define LABELLED_MAX	128

/*
 * The namespaces bridges join, an index of the side table (struct ctx's
 * sides, pools; the opener's namespace fds): the host, then one entry per
 * container. The grammar says only "container"; the -c REF in force for
 * the pair picks which one (pair_container.c), SIDE_CONTAINER + its rank.
 */
enum side {
	SIDE_HOST,
	SIDE_CONTAINER,		/* the first container; the k-th is SIDE_CONTAINER + k */
	SIDE_MAX = SIDE_CONTAINER + CONTAINERS_MAX + LABELLED_MAX,
};

enum proto {
	PROTO_TCP,
	PROTO_UDP,
	PROTO_MAX,
};

enum endpoint_kind {
	ENDPOINT_INET,		/* SIDE ':' [ADDR ':'] PORTS ['/' PROTO] */
	ENDPOINT_UNIX,		/* 'unix:' PATH, in the host's filesystem */
	ENDPOINT_KIND_MAX,
};

#define ENDPOINT_PATH_MAX	108	/* sizeof(sun_path) */
#define ENDPOINT_TEXT_MAX	(ENDPOINT_PATH_MAX + 16)	/* also "container:[v6]:P-L/udp" */

/**
 * struct endpoint - one parsed endpoint
 * @kind:	inet or unix
 * @side:	namespace the endpoint lives in (SIDE_HOST for unix)
 * @proto:	transport
 * @has_addr:	an address was given; otherwise loopback of both families
 * @family:	AF_INET or AF_INET6 when @has_addr
 * @addr:	the address when @has_addr, network byte order
 * @port_first:	first port of the range, host byte order
 * @port_last:	last port, equal to @port_first for a single port
 * @path:	socket path for ENDPOINT_UNIX
 */
struct endpoint {
	enum endpoint_kind kind;
	enum side side;
	enum proto proto;
	bool has_addr;
	int family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	uint16_t port_first;
	uint16_t port_last;
	char path[ENDPOINT_PATH_MAX];
};

int endpoint_parse(const char *text, struct endpoint *ret, const char **ret_why);
unsigned endpoint_port_count(const struct endpoint *ep);
const char *endpoint_format(const struct endpoint *ep, char *buf, size_t len);
bool endpoint_addr_is_loopback(const struct endpoint *ep);
bool endpoint_overlaps(const struct endpoint *a, const struct endpoint *b);
const char *side_name(enum side side);
const char *proto_name(enum proto proto);

#endif /* NSBRIDGE_ENDPOINT_H */
