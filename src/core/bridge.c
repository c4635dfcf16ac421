/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bridge.c - the bridges: each SERVICE EXPOSE pair at run time
 *
 * Theory of operation
 *
 * A bridge is made from its pair: the texts that name it in log lines
 * and nsbridge status, its rate limits, and its listeners, which
 * listener.c binds and accepts on. Its ready line says that every
 * listener is bound; scripts and tests wait for it, so it is spelled in
 * one place (bridge_ready_line()).
 *
 * A side's namespace comes and goes with its container (lifecycle.c):
 * when it goes, the listeners bound in it close and every connection
 * that uses it is reset; when it is back, they are bound anew and the
 * bridges whose listeners are all bound say they are ready again.
 *
 * Bridges come and go while running too (reload.c: SIGHUP, nsbridge add
 * and remove): bridge_add() binds a bridge whole or not at all, into a
 * slot of ctx.bridges, which never moves because connections point into
 * it; bridge_remove() closes its listeners at once and gives its
 * connections --drain-timeout, after which bridges_expire_removed()
 * resets what is left. Its slot is reused once none is left.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsbridge/bridge.h"
#include "nsbridge/event.h"
#include "nsbridge/listener.h"
#include "nsbridge/note.h"
#include "nsbridge/relay.h"
#include "nsbridge/sock.h"
#include "nsbridge/udp.h"

#define REFUSED_LOG_INTERVAL_MS	10000
#define REFUSED_LOG_BURST	3

/* Every SERVICE, ", " between them */
static void describe_service(struct ctx *c, struct bridge *b)
{
	size_t off = 0;

	b->service_text[0] = '\0';
	for (unsigned i = 0; i < b->spec->n_services && off < sizeof(b->service_text); i++) {
		char one[SIDE_LABEL_MAX + SOCK_ADDR_TEXT_MAX + 16];
		int n = snprintf(b->service_text + off, sizeof(b->service_text) - off, "%s%s",
				 i ? ", " : "",
				 note_service_text(c, &b->spec->services[i], one, sizeof(one)));

		off += n > 0 ? (size_t)n : 0;
	}
}

/* A --mirror bridge binds its ports as they are found (mirror.c) */
static void describe_mirror(struct ctx *c, struct bridge *b)
{
	const struct bridge_spec *spec = b->spec;
	const char *proto = spec->service.proto == PROTO_UDP ? "UDP" : "TCP";

	snprintf(b->service_text, sizeof(b->service_text), "%s (every %s port on its loopback)",
		 c->sides[spec->service.side].label, proto);
	snprintf(b->expose_text, sizeof(b->expose_text), "%s 127.0.0.1 and [::1], mirrored",
		 c->sides[spec->expose.side].label);
}

/* What a bridge is before it listens: its texts, rate limits and flow lists */
static void bridge_init(struct ctx *c, struct bridge *b)
{
	b->expose = b->spec->expose;
	if (b->spec->mirror)
		describe_mirror(c, b);
	else
		describe_service(c, b);
	b->refused_rl = (struct ratelimit)RATELIMIT_INIT(REFUSED_LOG_INTERVAL_MS, REFUSED_LOG_BURST);
	b->drop_rl = (struct ratelimit)RATELIMIT_INIT(REFUSED_LOG_INTERVAL_MS, 1);
	list_init(&b->udp_fresh);
	list_init(&b->udp_steady);
}

/* Describe a bridge and bind its listeners; on failure, -errno and @f */
static int bridge_setup(struct ctx *c, struct bridge *b, struct failure *f)
{
	bridge_init(c, b);
	if (b->spec->mirror)
		return 0;	/* it binds its ports as they are found (mirror.c) */
	return listener_bind_bridge(c, b, f);
}

/**
 * bridges_setup() - make the bridges of the config and bind their listeners
 * @c:		context, sides open
 * @f:		on failure, the exit status to leave with and the line
 *
 * Return: 0, or -errno with @f set
 */
int bridges_setup(struct ctx *c, struct failure *f)
{
	c->n_bridges = c->config->n_bridges;
	c->bridges_cap = c->n_bridges + (c->config->labels ? BRIDGES_LABELLED_MAX :
							   BRIDGES_ADDED_MAX);
	c->bridges = calloc(c->bridges_cap, sizeof(*c->bridges));
	if (!c->bridges)	/* said nothing, as ever */
		return failure_status(f, EXIT_RUNTIME, -ENOMEM);
	for (size_t i = 0; i < c->n_bridges; i++) {
		struct bridge *b = &c->bridges[i];
		int r;

		b->spec = &c->config->bridges[i];
		b->options = c->config;
		b->index = (unsigned)i;
		r = bridge_setup(c, b, f);
		if (r < 0)
			return r;
	}
	return 0;
}

/**
 * bridge_ready_line() - the line that says a bridge is ready:
 *			 "SERVICE -> EXPOSE ready"
 * @b:		bridge, every listener bound
 * @buf:	where to write; BRIDGE_READY_MAX holds the whole line
 * @len:	its size
 *
 * Scripts and tests wait for a line that ends in " ready": its words are
 * a contract, and every ready line is made here.
 *
 * Return: @buf
 */
const char *bridge_ready_line(const struct bridge *b, char *buf, size_t len)
{
	snprintf(buf, len, "%s -> %s ready", b->service_text, b->expose_text);
	return buf;
}

/**
 * bridges_print_ready() - one line per bridge, once every listener is bound
 * @c:		context
 */
void bridges_print_ready(const struct ctx *c)
{
	char line[BRIDGE_READY_MAX];

	for (size_t i = 0; i < c->n_bridges; i++)
		if (!c->bridges[i].removed)
			log_notice("%s", bridge_ready_line(&c->bridges[i], line, sizeof(line)));
}

/**
 * bridge_container_side() - the container side a bridge has an end in
 * @b:		bridge
 *
 * Return: EXPOSE's side if it is a container's, else the first SERVICE's
 * that is; SIDE_HOST if none
 */
enum side bridge_container_side(const struct bridge *b)
{
	const struct bridge_spec *spec = b->spec;

	if (spec->expose.side != SIDE_HOST)
		return spec->expose.side;
	for (unsigned i = 0; i < spec->n_services; i++)
		if (spec->services[i].kind == ENDPOINT_INET && spec->services[i].side != SIDE_HOST)
			return spec->services[i].side;
	return SIDE_HOST;
}

/**
 * bridge_uses_side() - whether a bridge has an end in a side's namespace
 * @b:		bridge
 * @side:	side
 *
 * Return: true if its EXPOSE or its SERVICE is there
 */
bool bridge_uses_side(const struct bridge *b, enum side side)
{
	return bridge_spec_uses_side(b->spec, side);
}

/**
 * bridges_side_down() - a side's namespace went away: close the listeners
 *			 bound in it and reset the connections that use it
 * @c:		context
 * @side:	the side
 *
 * Listeners on the other side stay: their clients are reset while the
 * side is down (dial.c), and their ports stay reserved.
 */
void bridges_side_down(struct ctx *c, enum side side)
{
	listener_close_side(c, side);
	for (size_t i = 0; i < c->n_bridges; i++) {
		if (!bridge_uses_side(&c->bridges[i], side))
			continue;
		relay_close_bridge(c, &c->bridges[i]);
		udp_close_bridge(c, &c->bridges[i]);
	}
}

/**
 * bridges_side_up() - a side has a namespace again: bind its listeners
 *		       anew and say which bridges are ready
 * @c:		context
 * @side:	the side
 */
void bridges_side_up(struct ctx *c, enum side side)
{
	char line[BRIDGE_READY_MAX];

	listener_bind_side(c, side);
	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct bridge *b = &c->bridges[i];

		if (bridge_uses_side(b, side) && !b->removed && listener_bridge_bound(c, b))
			log_notice("%s", bridge_ready_line(b, line, sizeof(line)));
	}
}

/* -------- bridges added and removed while running (reload.c) -------- */

/* The listeners of @from become @to's, bound as they are: same EXPOSE */
static void take_listeners(struct ctx *c, const struct bridge *from, struct bridge *to)
{
	listener_take(c, from, to);
	to->expose = from->expose;
	memcpy(to->expose_text, from->expose_text, sizeof(to->expose_text));
}

/* A slot for one more bridge: a removed one with nothing left, or a new one */
static struct bridge *free_slot(struct ctx *c)
{
	for (size_t i = 0; i < c->n_bridges; i++) {
		struct bridge *b = &c->bridges[i];

		if (b->removed && !b->n_conns && !b->n_flows)
			return b;
	}
	return c->n_bridges < c->bridges_cap ? &c->bridges[c->n_bridges] : NULL;
}

/**
 * bridges_room() - how many bridges may still be added
 * @c:		context
 *
 * Return: free slots
 */
size_t bridges_room(const struct ctx *c)
{
	size_t n = c->bridges_cap - c->n_bridges;

	for (size_t i = 0; i < c->n_bridges; i++)
		if (c->bridges[i].removed && !c->bridges[i].n_conns && !c->bridges[i].n_flows)
			n++;
	return n;
}

/**
 * bridge_add() - one more bridge while the loop runs, bound whole or not at all
 * @c:		context, running
 * @spec:	the pair; copied
 * @from:	a bridge being removed with the same EXPOSE, whose listeners
 *		the new one takes as they are (no port is ever unbound), or
 *		NULL to bind new ones
 * @ret:	the bridge, on success
 * @f:		on failure, the one line a start would print and its exit status
 *
 * A bridge added here is numbered by its slot, which may be that of a
 * removed bridge whose connections have all ended.
 *
 * Return: 0, or -errno with @f set
 */
int bridge_add(struct ctx *c, const struct bridge_spec *spec, struct bridge *from,
	       struct bridge **ret, struct failure *f)
{
	struct bridge *b = free_slot(c);
	size_t index;
	int r;

	if (!b)
		return failure_set(f, EXIT_USAGE, -ENOSPC, "no room for another bridge: at most %d "
				   "can be added to those nsbridge started with",
				   (int)(c->bridges_cap - c->config->n_bridges));
	index = (size_t)(b - c->bridges);
	memset(b, 0, sizeof(*b));
	b->own_spec = *spec;
	b->own_spec.container = NULL;	/* a string of a config that is not kept */
	b->spec = &b->own_spec;
	b->options = c->config;
	b->index = (unsigned)index;
	if (from) {
		bridge_init(c, b);
		take_listeners(c, from, b);
		r = 0;
	} else {
		r = bridge_setup(c, b, f);
		if (!r && listener_watch_bridge(c, b) < 0)
			r = failure_errno(f, -ENOMEM, "watching %s", b->expose_text);
	}
	if (r < 0) {
		listener_unbind_bridge(c, b);	/* closing takes them out of epoll too */
		b->removed = true;
		return r;
	}
	if (index == c->n_bridges)
		c->n_bridges++;
	*ret = b;
	return 0;
}

/**
 * bridge_discard() - undo bridge_add() of a bridge bound but never announced
 * @c:		context
 * @b:		the bridge, without connections
 */
void bridge_discard(struct ctx *c, struct bridge *b)
{
	listener_unbind_bridge(c, b);
	b->removed = true;
}

/**
 * bridge_remove() - stop accepting on a bridge at once; its connections
 *		     drain as on SIGTERM, for --drain-timeout
 * @c:		context
 * @b:		the bridge
 *
 * Listeners a bridge of the same EXPOSE took (bridge_add()) are no
 * longer its own, and stay. UDP flows end at once, as they do on SIGTERM.
 */
void bridge_remove(struct ctx *c, struct bridge *b)
{
	listener_retire_bridge(c, b);
	udp_close_bridge(c, b);
	b->removed = true;
	b->drain_deadline_ms = c->now_ms + b->options->drain_timeout_ms;
	if (b->n_conns)
		log_info("%s -> %s removed: %u connections may finish within %u ms",
			 b->service_text, b->expose_text, b->n_conns, b->options->drain_timeout_ms);
	else
		log_info("%s -> %s removed", b->service_text, b->expose_text);
}

/* Reset what is left of removed bridges whose drain time is over */
static void bridges_expire_removed(struct ctx *c)
{
	for (size_t i = 0; i < c->n_bridges; i++) {
		struct bridge *b = &c->bridges[i];

		if (!b->removed || !b->n_conns || c->now_ms < b->drain_deadline_ms)
			continue;
		log_info("%s removed: drain time is over: resetting %u connections",
			 b->expose_text, b->n_conns);
		relay_close_bridge(c, b);
	}
}

/* The earliest drain deadline of a removed bridge, 0 if none */
static uint64_t bridges_next_drain(const struct ctx *c)
{
	uint64_t next = 0;

	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct bridge *b = &c->bridges[i];

		if (b->removed && b->n_conns && (!next || b->drain_deadline_ms < next))
			next = b->drain_deadline_ms;
	}
	return next;
}

static const struct event_deadline deadlines = {
	.next = bridges_next_drain,
	.expire = bridges_expire_removed,
};

/**
 * bridges_init() - register the drain deadlines of removed bridges
 * @c:		context
 */
void bridges_init(struct ctx *c)
{
	event_add_deadline(c, &deadlines);
}
