/* SPDX-License-Identifier: GPL-2.0-or-later */
/* selfloop.c - refuse bridges that would relay to themselves
 *
 * Theory of operation
 *
 * A bridge whose SERVICE is its own EXPOSE connects, for its first
 * client, to its own listener, which accepts and connects again, and so
 * on until the process has no descriptor left. pairs.c already refuses the
 * plain case, SERVICE and EXPOSE on one side; what it cannot see is two
 * sides that are one namespace: -c self, --host-netns naming the -c
 * namespace, pid:N of a process in nsbridge's own, two -c naming one
 * container's namespace differently (or two containers of a pod). Those
 * are known only once the sides are open, so the check runs then
 * (compared by nsfs inode, netns_same()), before anything is bound, with
 * each endpoint moved to the first side of its namespace. Which sides are
 * one is kept: a reload and nsbridge add check the whole new set again
 * (selfloop_check_set()) before they bind anything, and are refused
 * with the same line.
 *
 * A SERVICE reaches an EXPOSE when they share transport, a port and an
 * address a connect() to the SERVICE would arrive at - endpoint_overlaps()
 * with the SERVICE written as dial.c and udp.c use it:
 * - no address: 127.0.0.1, then [::1] for TCP; 127.0.0.1 only for UDP;
 * - 0.0.0.0 and [::]: connect() to a wildcard arrives at loopback;
 * - [::ffff:a.b.c.d]: an IPv4 address, reached through an IPv6 socket;
 * and the EXPOSE as listener.c binds it: both loopbacks without an address,
 * every address of its family on a wildcard (IPV6_V6ONLY: one family).
 * Ranges reach when any port is in both, so a range shifted onto itself
 * is refused too.
 *
 * Two bridges that are each other's SERVICE make the same circle in two
 * steps. That is refused when some port really comes back to itself:
 * the shifts of the two ranges (SERVICE port minus EXPOSE port) cancel.
 * A chain that leaves (one bridge's SERVICE the other's EXPOSE, and no
 * way back) is a legitimate, if odd, set-up and is left alone; so are
 * circles of three or more bridges.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nsbridge/netns.h"
#include "nsbridge/selfloop.h"

/* @svc as the address a connect() to it arrives at; see the theory above */
static struct endpoint service_as_dialled(const struct endpoint *svc)
{
	struct endpoint ep = *svc;

	if (!ep.has_addr && ep.proto == PROTO_UDP) {
		ep.has_addr = true;
		ep.family = AF_INET;
		ep.addr.v4.s_addr = htonl(INADDR_LOOPBACK);
	}
	if (ep.has_addr && ep.family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&ep.addr.v6)) {
		struct in_addr v4;

		memcpy(&v4, &ep.addr.v6.s6_addr[12], sizeof(v4));
		ep.family = AF_INET;
		ep.addr.v4 = v4;
	}
	if (ep.has_addr && ep.family == AF_INET && ep.addr.v4.s_addr == htonl(INADDR_ANY))
		ep.addr.v4.s_addr = htonl(INADDR_LOOPBACK);
	if (ep.has_addr && ep.family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&ep.addr.v6))
		ep.addr.v6 = in6addr_loopback;
	return ep;
}

/**
 * selfloop_reaches() - whether connecting to @service could arrive at
 *			@expose's listener
 * @service:	a SERVICE
 * @expose:	an EXPOSE, of the same bridge or another
 * @sides_same:	host and container are one namespace
 *
 * Pure: the unit tests call it with parsed endpoints.
 *
 * Return: true if some port and address of @service is bound by @expose
 */
bool selfloop_reaches(const struct endpoint *service, const struct endpoint *expose,
		      bool sides_same)
{
	struct endpoint svc, exp = *expose;

	if (service->kind != ENDPOINT_INET || expose->kind != ENDPOINT_INET)
		return false;
	svc = service_as_dialled(service);
	if (sides_same)
		exp.side = svc.side;
	return endpoint_overlaps(&svc, &exp);
}

/* SERVICE port minus EXPOSE port: where @svc takes a port of @b's EXPOSE */
static int shift_of(const struct bridge_spec *b, const struct endpoint *svc)
{
	return (int)svc->port_first - (int)b->expose.port_first;
}

/* A SERVICE of @a is @a's own EXPOSE */
static bool find_direct(const struct bridge_spec *a, bool sides_same, struct selfloop *ret)
{
	for (unsigned k = 0; k < a->n_services; k++) {
		if (selfloop_reaches(&a->services[k], &a->expose, sides_same)) {
			*ret = (struct selfloop){ .from = a, .service = &a->services[k], .to = a };
			return true;
		}
	}
	return false;
}

/*
 * A SERVICE of @a is @b's EXPOSE and a SERVICE of @b is @a's, with shifts
 * that bring a port back to itself: port p of @a goes to p + da on @b,
 * and on to p + da + db on @a. Each reaching means the ranges meet, so
 * such a p exists once da + db is 0.
 */
static bool find_pair(const struct bridge_spec *a, const struct bridge_spec *b, bool sides_same,
		      struct selfloop *ret)
{
	for (unsigned i = 0; i < a->n_services; i++) {
		const struct endpoint *sa = &a->services[i];

		if (!selfloop_reaches(sa, &b->expose, sides_same))
			continue;
		for (unsigned k = 0; k < b->n_services; k++) {
			const struct endpoint *sb = &b->services[k];

			if (selfloop_reaches(sb, &a->expose, sides_same) &&
			    shift_of(a, sa) + shift_of(b, sb) == 0) {
				*ret = (struct selfloop){ .from = a, .service = sa, .to = b, .back = sb };
				return true;
			}
		}
	}
	return false;
}

/**
 * selfloop_find() - the first bridge, or pair of bridges, that would
 *		     relay to itself
 * @bridges:	the bridges of a config
 * @n:		how many
 * @sides_same:	host and container are one namespace
 * @ret:	the circle found; written only when one is
 *
 * Pure: the unit tests call it with parsed bridges.
 *
 * Return: true if one was found
 */
bool selfloop_find(const struct bridge_spec *bridges, size_t n, bool sides_same,
		   struct selfloop *ret)
{
	for (size_t i = 0; i < n; i++)
		if (find_direct(&bridges[i], sides_same, ret))
			return true;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (find_pair(&bridges[i], &bridges[j], sides_same, ret))
				return true;
	return false;
}

/*
 * " (container self is the same network namespace as host)" where that is
 * why @a reaches @b, or "" where they are on one side anyway; a container
 * is named first
 */
static void why_same(const struct endpoint *a, const struct endpoint *b,
		     const char *const labels[SIDE_MAX], bool sides_same, char *buf, size_t len)
{
	if (sides_same && a->side != b->side)
		snprintf(buf, len, " (%s is the same network namespace as %s)",
			 labels[a->side > b->side ? a->side : b->side],
			 labels[a->side > b->side ? b->side : a->side]);
	else
		snprintf(buf, len, "%s", "");
}

/**
 * selfloop_describe() - the one line that refuses a circle
 * @loop:	from selfloop_find()
 * @labels:	each side's label for messages: "host", "container self"
 * @sides_same:	as given to selfloop_find()
 * @buf:	where to write
 * @len:	its size
 */
void selfloop_describe(const struct selfloop *loop, const char *const labels[SIDE_MAX],
		       bool sides_same, char *buf, size_t len)
{
	char svc[ENDPOINT_TEXT_MAX], exp[ENDPOINT_TEXT_MAX], back[ENDPOINT_TEXT_MAX];
	char back_exp[ENDPOINT_TEXT_MAX], why[2 * SIDE_LABEL_MAX + 64];
	const struct endpoint *s = loop->service, *e = &loop->to->expose;

	why_same(s, e, labels, sides_same, why, sizeof(why));
	if (loop->back && !*why)
		why_same(loop->back, &loop->from->expose, labels, sides_same, why, sizeof(why));
	endpoint_format(s, svc, sizeof(svc));
	endpoint_format(e, exp, sizeof(exp));
	if (loop->from->mirror) {
		snprintf(buf, len, "--mirror %s %s: each mirrored port would be the same socket as "
			 "its listener%s", side_name(s->side), side_name(e->side), why);
	} else if (loop->to == loop->from) {
		snprintf(buf, len, "SERVICE %s is the same socket as EXPOSE %s%s: the bridge "
			 "would relay to itself", svc, exp, why);
	} else {
		endpoint_format(loop->back, back, sizeof(back));
		endpoint_format(&loop->from->expose, back_exp, sizeof(back_exp));
		snprintf(buf, len, "SERVICE %s is the same socket as EXPOSE %s, and SERVICE %s as "
			 "EXPOSE %s%s: the two bridges would relay to each other",
			 svc, exp, back, back_exp, why);
	}
}

#define SELFLOOP_TEXT_MAX	(4 * ENDPOINT_TEXT_MAX + 2 * SIDE_LABEL_MAX + 256)

/*
 * Each side as the first side that is the same namespace: the host, or a
 * container that two REFs name, or that shares its network with another
 * (a pod). Compared by nsfs inode, while the sides' fds are still held.
 */
static int canonical_sides(const struct ctx *c, enum side canon[SIDE_MAX], struct failure *f)
{
	for (int s = 0; s < SIDE_MAX; s++) {
		canon[s] = (enum side)s;
		for (int t = 0; t < s && c->sides[s].used; t++) {
			int r;

			if (!c->sides[t].used)
				continue;
			r = netns_same(c->sides[t].ns_fd, c->sides[s].ns_fd);
			if (r < 0)
				return failure_errno(f, r, "comparing the namespaces of %s and %s",
						     c->sides[t].label, c->sides[s].label);
			if (r) {
				canon[s] = (enum side)t;
				break;
			}
		}
	}
	return 0;
}

/* @in with every endpoint on its canonical side: what selfloop_find() compares */
static void canonical_bridges(const struct bridge_spec *in, size_t n,
			      const enum side canon[SIDE_MAX], struct bridge_spec *out)
{
	for (size_t i = 0; i < n; i++) {
		struct bridge_spec *b = &out[i];

		*b = in[i];
		b->expose.side = canon[b->expose.side];
		for (unsigned k = 0; k < b->n_services; k++)
			b->services[k].side = canon[b->services[k].side];
		b->service = b->services[0];
	}
}

/* The circle found among @copy, pointing at the user's own bridges, @orig */
static struct selfloop original_loop(const struct bridge_spec *orig,
				     const struct bridge_spec *copy, const struct selfloop *loop)
{
	const struct bridge_spec *from = &orig[loop->from - copy];
	const struct bridge_spec *to = &orig[loop->to - copy];
	struct selfloop o = { .from = from, .to = to };

	o.service = &from->services[loop->service - loop->from->services];
	if (loop->back)
		o.back = &to->services[loop->back - loop->to->services];
	return o;
}

/* Sides as they were at start, for the checks of a running nsbridge */
static enum side start_canon[SIDE_MAX];

/* A circle among @bridges, sides made canonical by @canon: 0, or -ELOOP and @f */
static int find_in(const struct ctx *c, const enum side canon[SIDE_MAX],
		   const struct bridge_spec *bridges, size_t n, struct failure *f)
{
	struct bridge_spec *copy = calloc(n + 1, sizeof(*copy));
	char text[SELFLOOP_TEXT_MAX];
	const char *labels[SIDE_MAX];
	struct selfloop loop;
	bool found;

	if (!copy)
		return failure_errno(f, -ENOMEM, "checking the bridges");
	canonical_bridges(bridges, n, canon, copy);
	found = selfloop_find(copy, n, false, &loop);
	if (found)
		loop = original_loop(bridges, copy, &loop);
	free(copy);
	if (!found)
		return 0;
	for (int s = 0; s < SIDE_MAX; s++)
		labels[s] = c->sides[s].label;
	selfloop_describe(&loop, labels, true, text, sizeof(text));
	return failure_set(f, EXIT_USAGE, -ELOOP, "%s", text);
}

/**
 * selfloop_check() - refuse a set-up whose bridges would relay to
 *		      themselves
 * @c:		context, its sides open and their namespace fds still held
 *		(before the opener takes them)
 * @f:		on failure, the exit status (2 for a circle) and the line
 *
 * Sides that are one namespace - the host and -c self, two REFs of one
 * container, containers of one pod - are compared as one. Which are is
 * kept for selfloop_check_set(), the fds being gone by then.
 *
 * Return: 0, -ELOOP for a circle, or another -errno
 */
int selfloop_check(const struct ctx *c, struct failure *f)
{
	int r = canonical_sides(c, start_canon, f);

	if (r < 0)
		return r;
	return find_in(c, start_canon, c->config->bridges, c->config->n_bridges, f);
}

/**
 * selfloop_check_set() - the check of selfloop_check() for the bridges a
 *			  running nsbridge is to have after a reload or an add
 * @c:		context, running: selfloop_check() passed at start
 * @bridges:	the whole new set, running bridges and new ones, each side
 *		numbered as c->sides
 * @n:		how many
 * @f:		when refused, the line a start would log and its exit status (2)
 *
 * Return: 0, -ELOOP for a circle, or another -errno
 */
int selfloop_check_set(const struct ctx *c, const struct bridge_spec *bridges, size_t n,
		       struct failure *f)
{
	return find_in(c, start_canon, bridges, n, f);
}
