/* SPDX-License-Identifier: GPL-2.0-or-later */
/* listener.c - the listening sockets of the bridges: binding, accepting,
 * and waiting for room
 *
 * Theory of operation
 *
 * Every listening socket of every bridge is a struct listener in
 * ctx.listeners, known by its index there: epoll references and UDP flows
 * carry it. Each is allocated once and never moves, so it can sit in a
 * queue. One retired for good (a port --mirror unbinds, a removed
 * bridge's) keeps its place, which the next one bound takes.
 *
 * Binding. An EXPOSE without address listens on 127.0.0.1 and on [::1],
 * the latter only where the namespace has IPv6: binding [::1] fails with
 * EADDRNOTAVAIL (or the socket with EAFNOSUPPORT) where it has none, and
 * then the bridge is IPv4 only. An EXPOSE port 0 binds 127.0.0.1 on a
 * port the kernel picks and [::1] on the same one; where something holds
 * that port on [::1], the whole bridge picks again. A failure is one line
 * that says why, naming the process that holds an address in use
 * (portowner.c).
 *
 * Accepting is edge-triggered, so a TCP listener is drained to EAGAIN: no
 * other edge comes for the clients left in its backlog. A listener is
 * accepting, or waiting for room when a drain stops early:
 *   - its bridge has --max-connections open (other bridges go on);
 *   - the process is out of descriptors (EMFILE and the like), a shortage
 *     that event.c owns with its one retry time (event_starve());
 *   - connections already taken on wait for descriptors (ctx.fd_waiters):
 *     they go before new clients.
 * A waiting listener (LISTENER_WAITING) is on ctx.listener_queue, as
 * HAProxy's limit_listener() puts one in LI_LIMITED on a queue. After
 * each batch, listener_resume() drains again every one whose bridge has
 * room, as dequeue_all_listeners() does: at once while descriptors are
 * not short, else when connections have closed and given some back, or
 * at the retry time - never in a busy loop. A new client's edge on a
 * waiting listener drains it too, should there be room. The few
 * descriptors held back for nsbridge status and --metrics (fdreserve.c)
 * are never theirs.
 */

#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsbridge/access.h"
#include "nsbridge/caps.h"
#include "nsbridge/event.h"
#include "nsbridge/fdreserve.h"
#include "nsbridge/listener.h"
#include "nsbridge/note.h"
#include "nsbridge/opener.h"
#include "nsbridge/portowner.h"
#include "nsbridge/relay.h"
#include "nsbridge/side.h"
#include "nsbridge/sock.h"
#include "nsbridge/udp.h"

#define AUTO_PORT_ATTEMPTS	16	/* EXPOSE port 0 whose pick [::1] has taken */

static const int loopback_families[] = { AF_INET, AF_INET6 };

static int sock_type_of(const struct endpoint *ep)
{
	return ep->proto == PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
}

/**
 * listener_events() - what a listener is registered for in epoll
 * @l:		listener
 *
 * A TCP listener is drained to EAGAIN on each edge. A UDP socket is
 * level-triggered, so that a flood on one can be cut short for fairness
 * without stranding datagrams until the next one arrives.
 *
 * Return: epoll event bits
 */
uint32_t listener_events(const struct listener *l)
{
	return l->bridge->spec->expose.proto == PROTO_UDP ? EPOLLIN : EPOLLIN | EPOLLET;
}

/* -------- the table -------- */

/* A retired listener's place, or a new one at the end; NULL without memory */
static struct listener *free_place(struct ctx *c, size_t *ret_index)
{
	struct listener **table, *l;

	for (size_t i = 0; i < c->n_listeners; i++) {
		if (c->listeners[i]->state == LISTENER_RETIRED) {
			*ret_index = i;
			return c->listeners[i];
		}
	}
	if (c->n_listeners == c->listeners_cap) {
		size_t cap = c->listeners_cap ? c->listeners_cap * 2 : 8;

		table = realloc(c->listeners, sizeof(*table) * cap);
		if (!table)
			return NULL;
		c->listeners = table;
		c->listeners_cap = cap;
	}
	l = malloc(sizeof(*l));
	if (!l)
		return NULL;
	c->listeners[c->n_listeners] = l;
	*ret_index = c->n_listeners++;
	return l;
}

/* A listener for @fd, accepting; returns its index, or -ENOMEM */
static int add_listener(struct ctx *c, struct bridge *b, unsigned offset, int family, int fd)
{
	size_t index;
	struct listener *l = free_place(c, &index);

	if (!l)
		return -ENOMEM;
	*l = (struct listener){
		.fd = fd, .bridge = b, .port_offset = offset, .family = family,
		.state = LISTENER_ACCEPTING,
	};
	list_init(&l->wait_node);
	return (int)index;
}

static struct listener *listener_of_wait_node(struct list_node *node)
{
	return container_of(node, struct listener, wait_node);
}

/* Clients wait in @l's backlog until listener_resume() finds it room */
static void wait_for_room(struct ctx *c, struct listener *l)
{
	l->state = LISTENER_WAITING;
	list_move_tail(&c->listener_queue, &l->wait_node);
}

/* Out of the queue: accepting again, or closed */
static void stop_waiting(struct listener *l)
{
	list_del(&l->wait_node);
	if (l->state == LISTENER_WAITING)
		l->state = LISTENER_ACCEPTING;
}

/* Close @l's socket, which also takes it out of epoll; it stays in the table */
static void close_listener(struct listener *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	stop_waiting(l);
}

/* Its place is given to the next port bound: nothing of this one may stay on it */
static void retire_listener(struct ctx *c, size_t index)
{
	struct listener *l = c->listeners[index];

	close_listener(l);
	l->state = LISTENER_RETIRED;
	if (l->bridge->spec->expose.proto == PROTO_UDP)
		udp_close_listener(c, (unsigned)index);
}

/* Register listener @index in epoll, its index in the reference */
static int watch(struct ctx *c, size_t index)
{
	union epoll_ref ref = { .type = EPOLL_TYPE_LISTENER, .index = (uint32_t)index };
	struct listener *l = c->listeners[index];

	return event_epoll_add(c, l->fd, listener_events(l), ref);
}

/* -------- why listening failed -------- */

/* The line a start says, at most BRIDGE_ERROR_MAX - 1 characters as ever, and @r */
#define listen_fail(f, status, r, ...) \
	failure_setn(f, BRIDGE_ERROR_MAX, status, r, __VA_ARGS__)

/* "host 127.0.0.1:80 is already in use by pid 42 (nginx)": exit status 3 */
static int in_use_why(struct ctx *c, enum side side, const struct sock_addr *a,
		      struct failure *f)
{
	char addr[SOCK_ADDR_TEXT_MAX];
	struct port_owner owner;
	int diag_fd, r;

	sock_addr_format(a, addr, sizeof(addr));
	diag_fd = side_socket(c, side, AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
	r = diag_fd < 0 ? diag_fd : portowner_find(diag_fd, (const struct sockaddr *)&a->ss, &owner);
	if (r < 0)
		return listen_fail(f, EXIT_ADDR_IN_USE, -EADDRINUSE, "%s %s is already in use "
				   "(by a process not visible from here)", c->sides[side].label,
				   addr);
	return listen_fail(f, EXIT_ADDR_IN_USE, -EADDRINUSE, "%s %s is already in use by pid "
			   "%d (%s)", c->sides[side].label, addr, (int)owner.pid, owner.comm);
}

/*
 * An ordinary user's own side refused a low port: the sysctl says where
 * "low" ends (in the relay's namespace: /proc/sys/net is per namespace).
 * Inside a rootless container the opener is root of its user namespace
 * and binds any port, so only the relay's own side can get here.
 */
static bool below_unprivileged(const struct ctx *c, enum side side, const struct sock_addr *a,
			       int *ret_start)
{
	FILE *f;
	int start = -1;
	uint16_t port;

	if (!c->sides[side].local || geteuid() == 0)
		return false;
	f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
	if (!f)
		return false;
	if (fscanf(f, "%d", &start) != 1)
		start = -1;
	fclose(f);
	port = ntohs(a->ss.ss_family == AF_INET6 ?
		     ((const struct sockaddr_in6 *)(const void *)&a->ss)->sin6_port :
		     ((const struct sockaddr_in *)(const void *)&a->ss)->sin_port);
	*ret_start = start;
	return start > 0 && port < start;
}

/**
 * listener_why() - the line that says why listening on an address failed
 * @c:		context
 * @side:	namespace of the address
 * @a:		the address
 * @err:	-errno from side_listen()
 * @f:		gets the line and the exit status a start would leave with
 *
 * Return: @err
 */
int listener_why(struct ctx *c, enum side side, const struct sock_addr *a, int err,
		 struct failure *f)
{
	const char *label = c->sides[side].label;
	char addr[SOCK_ADDR_TEXT_MAX];
	int start;

	if (err == -EADDRINUSE)
		return in_use_why(c, side, a, f);
	sock_addr_format(a, addr, sizeof(addr));
	if (err == OPENER_EXITED)
		return listen_fail(f, EXIT_RUNTIME, err, "cannot listen on %s %s: the opener has "
				   "exited; restart nsbridge", label, addr);
	if ((err == -EACCES || err == -EPERM) && below_unprivileged(c, side, a, &start))
		return listen_fail(f, EXIT_PRIVILEGE, err, "listening on %s %s as an ordinary "
				   "user: ports below %d need root (net.ipv4.ip_unprivileged_port"
				   "_start is %d); pick a port from %d up", label, addr, start, start,
				   start);
	if (err == -EACCES || err == -EPERM)
		return listen_fail(f, EXIT_PRIVILEGE, err, "listening on %s %s needs "
				   "CAP_NET_BIND_SERVICE: %s", label, addr, caps_grant_hint());
	return listen_fail(f, EXIT_RUNTIME, err, "cannot listen on %s %s: %s", label, addr,
			   strerror(-err));
}

/* -------- binding a bridge's listeners -------- */

/* Port 0 asked the kernel for a free port: the port it gave, for the other address too */
static int learn_port(struct bridge *b, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uint16_t port;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
						((struct sockaddr_in *)&ss)->sin_port);
	b->expose.port_first = b->expose.port_last = port;
	return 0;
}

/*
 * Listen on one address; returns 0, or -errno with @f set. Only an
 * @optional address (the default EXPOSE's [::1]) that the namespace lacks
 * is skipped, with *@ret_skipped set: every other failure is one, whatever
 * its errno. With @retry_in_use, an address in use returns -EAGAIN, @f
 * not set: a picked port to pick again.
 */
static int listen_one(struct ctx *c, struct bridge *b, unsigned offset, int family, bool optional,
		      bool retry_in_use, bool *ret_skipped, struct failure *f)
{
	const struct endpoint *ep = &b->expose;
	struct sock_addr a;
	int fd;

	sock_addr_endpoint(&a, ep, offset, family);
	fd = side_listen(c, ep->side, sock_type_of(ep), &a);
	if (fd >= 0 && ep->port_first == 0 && learn_port(b, fd) < 0) {
		close(fd);
		fd = -EIO;
	}
	if (fd >= 0 && add_listener(c, b, offset, family, fd) < 0) {
		close(fd);
		return listen_fail(f, EXIT_RUNTIME, -ENOMEM, "%s: out of memory",
				   b->spec == &b->own_spec ? "adding a bridge" :
				   "binding the listeners");
	}
	if (fd >= 0)
		return 0;

	if (optional && (fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT)) {
		*ret_skipped = true;
		return 0;
	}
	if (retry_in_use && fd == -EADDRINUSE)
		return -EAGAIN;
	return listener_why(c, ep->side, &a, fd, f);
}

/* Every address and port of EXPOSE; returns 0, -errno and @f, or -EAGAIN (retry_in_use) */
static int listen_all(struct ctx *c, struct bridge *b, bool bound[2], bool retry_in_use,
		      struct failure *f)
{
	const struct endpoint *ep = &b->expose;
	unsigned ports = endpoint_port_count(ep);

	for (int i = 0; i < 2; i++) {
		int family = loopback_families[i];

		if (ep->has_addr && ep->family != family)
			continue;
		for (unsigned off = 0; off < ports; off++) {
			/* [::1] is optional for a default EXPOSE; decided on the first port */
			bool skipped = false;
			int r = listen_one(c, b, off, family,
					   !ep->has_addr && family == AF_INET6 && off == 0,
					   retry_in_use, &skipped, f);

			if (r < 0)
				return r;
			if (skipped)
				break;
			bound[i] = true;
		}
	}
	return 0;
}

/*
 * EXPOSE port 0: the kernel picks a free port on the first address, and
 * [::1] must take the same one. Where something holds it there, the
 * whole bridge picks again.
 */
static int listen_any_port(struct ctx *c, struct bridge *b, bool bound[2], struct failure *f)
{
	for (int attempt = 1;; attempt++) {
		int r;

		b->expose.port_first = b->expose.port_last = 0;
		bound[0] = bound[1] = false;
		r = listen_all(c, b, bound, attempt < AUTO_PORT_ATTEMPTS, f);
		if (r != -EAGAIN)
			return r;
		listener_unbind_bridge(c, b);
	}
}

/* EXPOSE as bound, for messages and the ready line: "host 127.0.0.1:80, [::1]:80" */
static void describe_expose(struct ctx *c, struct bridge *b, const bool bound[2])
{
	const struct endpoint *ep = &b->expose;
	char text[2][SOCK_ADDR_TEXT_MAX + 16];
	int n = 0;

	for (int i = 0; i < 2; i++)
		if (bound[i])
			note_endpoint_text(ep, loopback_families[i], text[n++],
					   sizeof(text[0]));
	snprintf(b->expose_text, sizeof(b->expose_text), "%s %s%s%s",
		 c->sides[ep->side].label, text[0], n > 1 ? ", " : "", n > 1 ? text[1] : "");
}

/**
 * listener_bind_bridge() - bind every address and port of a bridge's EXPOSE
 * @c:		context
 * @b:		bridge, not yet listening; b->expose is its EXPOSE as given
 * @f:		on failure, the one line a start would print and its exit status
 *
 * On success b->expose has the port picked for a port 0, and
 * b->expose_text says what was bound. The listeners are not watched yet.
 *
 * Return: 0, or -errno with @f set
 */
int listener_bind_bridge(struct ctx *c, struct bridge *b, struct failure *f)
{
	bool bound[2] = { false, false };
	int r;

	if (b->expose.port_first == 0)
		r = listen_any_port(c, b, bound, f);
	else
		r = listen_all(c, b, bound, false, f);
	if (r < 0)
		return r;
	describe_expose(c, b, bound);
	return 0;
}

/**
 * listener_unbind_bridge() - close the listeners of a bridge being set up
 * @c:		context
 * @b:		bridge
 *
 * A picked port that [::1] had taken, a bridge added while running that
 * could not be bound whole, or one bound but never announced. Closing
 * takes them out of epoll too; their places go to the next listeners made.
 */
void listener_unbind_bridge(struct ctx *c, const struct bridge *b)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		struct listener *l = c->listeners[i];

		if (l->bridge != b || l->state == LISTENER_RETIRED)
			continue;
		close_listener(l);
		l->state = LISTENER_RETIRED;
	}
}

/**
 * listener_watch_bridge() - watch the listeners of a bridge just bound
 * @c:		context, running
 * @b:		bridge
 *
 * Return: 0 or -errno
 */
int listener_watch_bridge(struct ctx *c, const struct bridge *b)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		int r;

		if (c->listeners[i]->bridge != b || c->listeners[i]->state == LISTENER_RETIRED)
			continue;
		r = watch(c, i);
		if (r < 0)
			return r;
	}
	return 0;
}

/**
 * listener_watch_all() - watch every listener bound at the start
 * @c:		context, its epoll instance open
 *
 * Return: 0 or -errno
 */
int listener_watch_all(struct ctx *c)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		int r;

		if (c->listeners[i]->state == LISTENER_RETIRED)	/* a port 0 picked again */
			continue;
		r = watch(c, i);
		if (r < 0)
			return r;
	}
	return 0;
}

/**
 * listener_take() - the listeners of a bridge become another's, bound as
 *		     they are (a reload that keeps an EXPOSE)
 * @c:		context
 * @from:	bridge being removed
 * @to:		bridge being added, with the same EXPOSE
 *
 * One waiting for room stays in the queue: listener_resume() finds that
 * @to has room.
 */
void listener_take(struct ctx *c, const struct bridge *from, struct bridge *to)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		struct listener *l = c->listeners[i];

		if (l->bridge == from && l->state != LISTENER_RETIRED)
			l->bridge = to;
	}
}

/**
 * listener_retire_bridge() - close the listeners of a bridge for good
 * @c:		context
 * @b:		bridge being removed
 *
 * Listeners another bridge took (listener_take()) are no longer its own,
 * and stay.
 */
void listener_retire_bridge(struct ctx *c, const struct bridge *b)
{
	for (size_t i = 0; i < c->n_listeners; i++)
		if (c->listeners[i]->bridge == b && c->listeners[i]->state != LISTENER_RETIRED)
			retire_listener(c, i);
}

/* -------- one port at a time: --mirror -------- */

/* Bind and watch @b's port @offset on one address; -errno on failure */
static int listen_port_on(struct ctx *c, struct bridge *b, unsigned offset, int family)
{
	const struct endpoint *ep = &b->expose;
	struct sock_addr a;
	size_t index;
	int fd, r;

	sock_addr_endpoint(&a, ep, offset, family);
	fd = side_listen(c, ep->side, sock_type_of(ep), &a);
	if (fd < 0)
		return fd;
	r = add_listener(c, b, offset, family, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	index = (size_t)r;
	r = watch(c, index);
	if (r < 0)
		retire_listener(c, index);
	return r;
}

/**
 * listener_bind_port() - bind one port of a bridge's range on 127.0.0.1 and
 *			  [::1] while the loop runs (--mirror)
 * @c:		context
 * @b:		bridge
 * @offset:	which port of its range
 *
 * [::1] is left out where the namespace has no IPv6. If either address is
 * taken, nothing of the port stays bound: half a port would answer
 * "localhost" with another program's service.
 *
 * Return: 0, or -errno (-EADDRINUSE: taken in the EXPOSE namespace)
 */
int listener_bind_port(struct ctx *c, struct bridge *b, unsigned offset)
{
	for (int i = 0; i < 2; i++) {
		int family = loopback_families[i];
		int r = listen_port_on(c, b, offset, family);

		if (family == AF_INET6 && (r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT))
			return 0;
		if (r < 0) {
			listener_unbind_port(c, b, offset);
			return r;
		}
	}
	return 0;
}

/**
 * listener_unbind_port() - close the listeners of one port of a bridge for good
 * @c:		context
 * @b:		bridge
 * @offset:	which port of its range
 *
 * Connections already accepted on them go on.
 */
void listener_unbind_port(struct ctx *c, const struct bridge *b, unsigned offset)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		struct listener *l = c->listeners[i];

		if (l->bridge == b && l->port_offset == offset && l->state != LISTENER_RETIRED)
			retire_listener(c, i);
	}
}

/* -------- a side's namespace gone and back -------- */

/**
 * listener_close_side() - close the listeners bound in a side's namespace,
 *			   which went away
 * @c:		context
 * @side:	the side
 *
 * They keep their places, to be bound anew by listener_bind_side().
 */
void listener_close_side(struct ctx *c, enum side side)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		struct listener *l = c->listeners[i];

		if (l->bridge->spec->expose.side == side && l->fd >= 0)
			close_listener(l);
	}
}

/* "host 127.0.0.1:80 is already in use by ..." for a listener bound anew */
static void report_in_use(struct ctx *c, enum side side, const struct sock_addr *a)
{
	struct failure f;

	in_use_why(c, side, a, &f);
	log_error("%s", f.line);
}

/* Bind one listener anew in its side's (new) namespace */
static int relisten(struct ctx *c, size_t index)
{
	struct listener *l = c->listeners[index];
	const struct endpoint *ep = &l->bridge->expose;
	struct sock_addr a;
	int fd, r;

	sock_addr_endpoint(&a, ep, l->port_offset, l->family);
	fd = side_listen(c, ep->side, sock_type_of(ep), &a);
	if (fd == -EADDRINUSE)
		report_in_use(c, ep->side, &a);		/* says who holds it */
	if (fd < 0)
		return fd;
	l->fd = fd;
	r = watch(c, index);
	if (r < 0) {
		close_listener(l);
		return r;
	}
	if (ep->proto == PROTO_TCP)
		listener_on_accept(c, l);	/* clients may have come in between */
	return 0;
}

/**
 * listener_bind_side() - bind anew the listeners of a side that has a
 *			  namespace again
 * @c:		context
 * @side:	the side
 *
 * One that cannot be bound is noted in its bridge, for nsbridge status.
 */
void listener_bind_side(struct ctx *c, enum side side)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		struct listener *l = c->listeners[i];
		int r;

		if (l->bridge->spec->expose.side != side || l->fd >= 0 ||
		    l->state == LISTENER_RETIRED)
			continue;
		r = relisten(c, i);
		if (r == -EADDRINUSE)
			note_error(l->bridge, "cannot listen on %s again: in use",
				   l->bridge->expose_text);
		else if (r < 0)
			log_error("%s", note_error(l->bridge, "cannot listen on %s again: %s",
						   l->bridge->expose_text, strerror(-r)));
	}
}

/**
 * listener_bridge_bound() - whether every listener of a bridge is bound
 * @c:		context
 * @b:		bridge
 *
 * Return: true if none waits for its side to come back
 */
bool listener_bridge_bound(const struct ctx *c, const struct bridge *b)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct listener *l = c->listeners[i];

		if (l->bridge == b && l->fd < 0 && l->state != LISTENER_RETIRED)
			return false;
	}
	return true;
}

/* -------- accepting -------- */

/* Whether a listener of @b waits in the queue: then the bridge has said it is full */
static bool bridge_waits(struct ctx *c, const struct bridge *b)
{
	for (struct list_node *n = c->listener_queue.next; n != &c->listener_queue; n = n->next)
		if (listener_of_wait_node(n)->bridge == b)
			return true;
	return false;
}

/*
 * Whether @l must stop before its next accept, and if so it waits for
 * room. A full bridge says so when the first of its listeners starts to
 * wait, not at each client that comes meanwhile: @l itself is still in
 * the queue when a new client wakes it while it waits.
 */
static bool must_wait(struct ctx *c, struct listener *l)
{
	struct bridge *b = l->bridge;

	if (!list_empty(&c->fd_waiters)) {
		wait_for_room(c, l);	/* those taken on already go first */
		return true;
	}
	if (b->n_conns < b->options->max_connections)
		return false;
	if (!bridge_waits(c, b))
		log_warn("%s has %u connections (--max-connections); new ones wait",
			 b->expose_text, b->n_conns);
	wait_for_room(c, l);
	return true;
}

/* Out of descriptors: wait, and have event.c say when to try again */
static void starve(struct ctx *c, struct listener *l, int err)
{
	unsigned missed;
	const char *line;

	wait_for_room(c, l);
	event_starve(c);
	line = note_error(l->bridge, "cannot accept on %s: %s; new connections wait "
				 "until descriptors free up", l->bridge->expose_text,
				 strerror(err));
	if (ratelimit_pass(&c->starved_rl, c->now_ms, &missed))
		log_warn("%s", line);
}

/*
 * accept4() with a descriptor to spare for the client's socket to
 * SERVICE. A client taken on without one would wait for it with its
 * connect deadline running, and be reset when that passed; left in the
 * backlog, it waits for as long as it is willing to. Returns the fd, or
 * -1 with errno set.
 */
static int accept_with_room(struct listener *l, struct sock_addr *peer)
{
	int room_fd = fdreserve_placeholder(), fd, err;

	if (room_fd < 0) {
		errno = -room_fd;
		return -1;
	}
	peer->len = sizeof(peer->ss);
	fd = accept4(l->fd, (struct sockaddr *)&peer->ss, &peer->len,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	err = errno;
	close(room_fd);
	errno = err;
	return fd;
}

/* After accept4() failed with @err: true to go on to the next client */
static bool accept_failed(struct ctx *c, struct listener *l, int err)
{
	switch (err) {
	case EAGAIN:
		stop_waiting(l);	/* the backlog is empty */
		return false;
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case EPERM:
		return true;	/* that client is gone; the next one may not be */
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		starve(c, l, err);
		return false;
	default:
		log_warn("%s", note_error(l->bridge, "accept on %s: %s", l->bridge->expose_text,
					  strerror(err)));
		return false;
	}
}

/**
 * listener_on_accept() - accept every client waiting on a TCP listener,
 *			  until none is left or there is no room
 * @c:		context
 * @l:		listener that is readable, or has room again
 *
 * It leaves the queue when its backlog is empty, and joins it when there
 * is no room.
 */
void listener_on_accept(struct ctx *c, struct listener *l)
{
	fdreserve_refill();	/* a descriptor freed goes to the reserve first */
	while (!c->draining && l->fd >= 0 && !must_wait(c, l)) {
		struct sock_addr peer;
		int fd = accept_with_room(l, &peer);

		if (fd < 0) {
			if (accept_failed(c, l, errno))
				continue;
			return;
		}
		if (!access_allows(c, l, fd)) {
			l->bridge->stats.refused[REFUSAL_ACCESS]++;
			sock_close_reset(fd);
			continue;
		}
		relay_conn_new(c, l, fd, &peer);
	}
}

/* Every waiting listener, taken off the queue in order onto @into */
static void take_queue(struct ctx *c, struct list_node *into)
{
	list_init(into);
	while (!list_empty(&c->listener_queue))
		list_move_tail(into, c->listener_queue.next);
}

/**
 * listener_resume() - accept again on the waiting listeners that have room
 * @c:		context, not draining
 * @retry:	descriptors may have freed up (event_starve_retry())
 *
 * A listener whose bridge has room drains its backlog, and waits again
 * if it runs out of room; one whose bridge is full stays in the queue.
 * While descriptors are short, only a retry or connections closed since
 * the last look (ctx.closed: they gave back their descriptors) make it
 * worth trying.
 */
void listener_resume(struct ctx *c, bool retry)
{
	struct list_node waiting;

	if (list_empty(&c->listener_queue) || (c->starved && !retry && list_empty(&c->closed)))
		return;
	take_queue(c, &waiting);
	while (!list_empty(&waiting)) {
		struct listener *l = listener_of_wait_node(waiting.next);
		struct bridge *b = l->bridge;

		if (b->n_conns >= b->options->max_connections) {
			list_move_tail(&c->listener_queue, &l->wait_node);
			continue;
		}
		stop_waiting(l);
		listener_on_accept(c, l);
	}
}

/**
 * listener_close_all() - stop accepting: close every listener
 * @c:		context
 */
void listener_close_all(struct ctx *c)
{
	for (size_t i = 0; i < c->n_listeners; i++)
		close_listener(c->listeners[i]);
}

/**
 * listener_release() - close every listener and free the table
 * @c:		context
 */
void listener_release(struct ctx *c)
{
	listener_close_all(c);
	for (size_t i = 0; i < c->n_listeners; i++)
		free(c->listeners[i]);
	free(c->listeners);
	c->listeners = NULL;
	c->n_listeners = c->listeners_cap = 0;
}
