/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bridge.c - the listeners of each SERVICE EXPOSE pair, and accepting
 *
 * An EXPOSE without address listens on 127.0.0.1 and on [::1], the
 * latter only where the namespace has IPv6: binding [::1] fails with
 * EADDRNOTAVAIL (or the socket with EAFNOSUPPORT) where it has none, and
 * then the bridge is IPv4 only.
 *
 * Accepting is edge-triggered, so each listener is drained to EAGAIN.
 * Two things stop a drain early, and each resumes by itself:
 * - the bridge has --max-connections open: its listeners are left alone
 *   (clients wait in the backlog) until one of its connections closes;
 *   other bridges are not affected;
 * - the process is out of descriptors (EMFILE): the listener is marked
 *   starved and retried when a connection frees some, or after a short
 *   delay - never in a busy loop. The few descriptors held back for
 *   nsbridge status and --metrics (fdreserve.c) are never theirs.
 *
 * Bridges come and go while running too (reload.c: SIGHUP, nsbridge add
 * and remove): bridge_add() binds a bridge whole or not at all, into a
 * slot of ctx.bridges, which never moves because connections point into
 * it; bridge_remove() closes its listeners at once and gives its
 * connections --drain-timeout, after which bridges_expire_removed()
 * resets what is left. Its slot is reused once none is left.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/epoll.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nsbridge/access.h"
#include "nsbridge/bridge.h"
#include "nsbridge/caps.h"
#include "nsbridge/event.h"
#include "nsbridge/fdreserve.h"
#include "nsbridge/note.h"
#include "nsbridge/opener.h"
#include "nsbridge/portowner.h"
#include "nsbridge/relay.h"
#include "nsbridge/side.h"
#include "nsbridge/sock.h"
#include "nsbridge/udp.h"

#define ACCEPT_RETRY_MS		100
#define REFUSED_LOG_INTERVAL_MS	10000
#define REFUSED_LOG_BURST	3
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

static int add_listener(struct ctx *c, struct bridge *b, unsigned offset, int family, int fd)
{
	struct listener *l;

	for (size_t i = 0; i < c->n_listeners; i++) {
		if (c->listeners[i].retired) {
			c->listeners[i] = (struct listener){
				.fd = fd, .bridge = b, .port_offset = offset, .family = family,
			};
			return (int)i;
		}
	}
	if (c->n_listeners == c->listeners_cap) {
		size_t cap = c->listeners_cap ? c->listeners_cap * 2 : 8;

		l = realloc(c->listeners, sizeof(*l) * cap);
		if (!l)
			return -ENOMEM;
		c->listeners = l;
		c->listeners_cap = cap;
	}
	l = &c->listeners[c->n_listeners++];
	*l = (struct listener){ .fd = fd, .bridge = b, .port_offset = offset, .family = family };
	return (int)(c->n_listeners - 1);
}

/* "host 127.0.0.1:80 is already in use by pid 42 (nginx)" into @why */
static int in_use_why(struct ctx *c, enum side side, const struct sock_addr *a, char *why,
		      size_t len)
{
	char addr[SOCK_ADDR_TEXT_MAX];
	struct port_owner owner;
	int diag_fd, r;

	sock_addr_format(a, addr, sizeof(addr));
	diag_fd = side_socket(c, side, AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
	r = diag_fd < 0 ? diag_fd : portowner_find(diag_fd, (const struct sockaddr *)&a->ss, &owner);
	if (r < 0)
		snprintf(why, len, "%s %s is already in use (by a process not visible from here)",
			 c->sides[side].label, addr);
	else
		snprintf(why, len, "%s %s is already in use by pid %d (%s)",
			 c->sides[side].label, addr, (int)owner.pid, owner.comm);
	return EXIT_ADDR_IN_USE;
}

static int report_in_use(struct ctx *c, enum side side, const struct sock_addr *a)
{
	char why[BRIDGE_ERROR_MAX];
	int r = in_use_why(c, side, a, why, sizeof(why));

	log_error("%s", why);
	return r;
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
 * bridge_listen_why() - the line that says why listening on an address failed
 * @c:		context
 * @side:	namespace of the address
 * @a:		the address
 * @err:	-errno from side_listen()
 * @why:	where the line goes
 * @len:	size of @why
 *
 * Return: the exit status a start would leave with
 */
int bridge_listen_why(struct ctx *c, enum side side, const struct sock_addr *a, int err,
		      char *why, size_t len)
{
	char addr[SOCK_ADDR_TEXT_MAX];
	int start;

	if (err == -EADDRINUSE)
		return in_use_why(c, side, a, why, len);
	sock_addr_format(a, addr, sizeof(addr));
	if (err == OPENER_EXITED) {
		snprintf(why, len, "cannot listen on %s %s: the opener has exited; restart nsbridge",
			 c->sides[side].label, addr);
		return EXIT_RUNTIME;
	}
	if ((err == -EACCES || err == -EPERM) && below_unprivileged(c, side, a, &start)) {
		snprintf(why, len, "listening on %s %s as an ordinary user: ports below %d need "
			 "root (net.ipv4.ip_unprivileged_port_start is %d); pick a port from %d up",
			 c->sides[side].label, addr, start, start, start);
		return EXIT_PRIVILEGE;
	}
	if (err == -EACCES || err == -EPERM) {
		snprintf(why, len, "listening on %s %s needs CAP_NET_BIND_SERVICE: %s",
			 c->sides[side].label, addr, caps_grant_hint());
		return EXIT_PRIVILEGE;
	}
	snprintf(why, len, "cannot listen on %s %s: %s", c->sides[side].label, addr,
		 strerror(-err));
	return EXIT_RUNTIME;
}

/**
 * bridge_listen_failed() - say why listening on an address failed
 * @c:		context
 * @side:	namespace of the address
 * @a:		the address
 * @err:	-errno from side_listen()
 *
 * Return: the exit status to leave with
 */
int bridge_listen_failed(struct ctx *c, enum side side, const struct sock_addr *a, int err)
{
	char why[BRIDGE_ERROR_MAX];
	int r = bridge_listen_why(c, side, a, err, why, sizeof(why));

	log_error("%s", why);
	return r;
}

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
 * Listen on one address; returns 0, or an exit status. Only an @optional
 * address (the default EXPOSE's [::1]) that the namespace lacks is
 * skipped, with *@ret_skipped set: every other failure is one, whatever
 * its errno. With @retry_in_use, an address in use returns -EADDRINUSE
 * unreported: a picked port to pick again.
 */
static int listen_one(struct ctx *c, struct bridge *b, unsigned offset, int family, bool optional,
		      bool retry_in_use, bool *ret_skipped, char *why, size_t len)
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
		snprintf(why, len, "%s: out of memory", b->spec == &b->own_spec ? "adding a bridge" :
			 "binding the listeners");
		return EXIT_RUNTIME;
	}
	if (fd >= 0)
		return 0;

	if (optional && (fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT)) {
		*ret_skipped = true;
		return 0;
	}
	if (retry_in_use && fd == -EADDRINUSE)
		return fd;
	return bridge_listen_why(c, ep->side, &a, fd, why, len);
}

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

/* Every address and port of EXPOSE; returns 0, an exit status, or -EADDRINUSE (retry_in_use) */
static int listen_all(struct ctx *c, struct bridge *b, bool bound[2], bool retry_in_use,
		      char *why, size_t len)
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
					   retry_in_use, &skipped, why, len);

			if (r)
				return r;
			if (skipped)
				break;
			bound[i] = true;
		}
	}
	return 0;
}

/*
 * Close the listeners of a bridge being set up, not yet watched: a picked
 * port that [::1] had taken, or a bridge added while running that could
 * not be bound whole. Their slots go to the next listeners made.
 */
static void unlisten_bridge(struct ctx *c, const struct bridge *b)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		struct listener *l = &c->listeners[i];

		if (l->bridge != b || l->retired)
			continue;
		if (l->fd >= 0)
			close(l->fd);
		l->fd = -1;
		l->retired = true;
	}
}

/*
 * EXPOSE port 0: the kernel picks a free port on the first address, and
 * [::1] must take the same one. Where something holds it there, the
 * whole bridge picks again.
 */
static int listen_any_port(struct ctx *c, struct bridge *b, bool bound[2], char *why, size_t len)
{
	for (int attempt = 1;; attempt++) {
		int r;

		b->expose.port_first = b->expose.port_last = 0;
		bound[0] = bound[1] = false;
		r = listen_all(c, b, bound, attempt < AUTO_PORT_ATTEMPTS, why, len);
		if (r != -EADDRINUSE)
			return r;
		unlisten_bridge(c, b);
	}
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

/* Describe a bridge and bind its listeners; on failure, the line in @why */
static int bridge_setup(struct ctx *c, struct bridge *b, char *why, size_t len)
{
	bool bound[2] = { false, false };
	int r;

	bridge_init(c, b);
	if (b->spec->mirror)
		return 0;
	if (b->expose.port_first == 0)
		r = listen_any_port(c, b, bound, why, len);
	else
		r = listen_all(c, b, bound, false, why, len);
	if (r)
		return r;
	describe_expose(c, b, bound);
	return 0;
}

/**
 * bridges_setup() - make the bridges of the config and bind their listeners
 * @c:		context, sides open
 *
 * Messages are printed here, once, for whatever fails.
 *
 * Return: 0, or the exit status to leave with
 */
int bridges_setup(struct ctx *c)
{
	char why[BRIDGE_ERROR_MAX];

	c->n_bridges = c->config->n_bridges;
	c->bridges_cap = c->n_bridges + (c->config->labels ? BRIDGES_LABELLED_MAX :
							   BRIDGES_ADDED_MAX);
	c->bridges = calloc(c->bridges_cap, sizeof(*c->bridges));
	if (!c->bridges)
		return EXIT_RUNTIME;
	for (size_t i = 0; i < c->n_bridges; i++) {
		struct bridge *b = &c->bridges[i];
		int r;

		b->spec = &c->config->bridges[i];
		b->options = c->config;
		b->index = (unsigned)i;
		r = bridge_setup(c, b, why, sizeof(why));
		if (r) {
			log_error("%s", why);
			return r;
		}
	}
	return 0;
}

/**
 * bridges_print_ready() - one line per bridge, once every listener is bound
 * @c:		context
 */
void bridges_print_ready(const struct ctx *c)
{
	for (size_t i = 0; i < c->n_bridges; i++)
		if (!c->bridges[i].removed)
			log_notice("%s -> %s ready", c->bridges[i].service_text, c->bridges[i].expose_text);
}

/* One "SERVICE EXPOSE" line per bridge that runs */
static void print_ports(const struct ctx *c, FILE *f)
{
	for (size_t i = 0; i < c->n_bridges; i++) {
		char svc[ENDPOINT_TEXT_MAX], exp[ENDPOINT_TEXT_MAX];
		const struct bridge *b = &c->bridges[i];

		if (!b->spec->mirror && !b->removed)
			fprintf(f, "%s %s\n", endpoint_format(&b->spec->service, svc, sizeof(svc)),
				endpoint_format(&b->expose, exp, sizeof(exp)));
	}
}

/**
 * bridges_write_port_file() - --port-file: one "SERVICE EXPOSE" line per
 *			       bridge, with the port bound for an EXPOSE port 0
 * @c:		context, listeners bound, before the drop
 *
 * The file appears whole (written aside, then renamed), so a script that
 * waits for it never reads half of it. After a change, the keeper of
 * runas.c puts bridges_port_file_text() in place the same way: the relay
 * may no longer create files in the directory, and its filter opens
 * nothing for writing.
 *
 * Return: 0 or -errno
 */
int bridges_write_port_file(const struct ctx *c)
{
	const char *path = c->config->port_file;
	char tmp[PATH_MAX];
	FILE *f;
	int r = 0;

	if (!path)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	print_ports(c, f);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/**
 * bridges_port_file_text() - what --port-file holds for the bridges that run
 * @c:		context
 * @ret:	the text, allocated, for the caller to free
 * @len:	its length
 *
 * Return: 0 or -ENOMEM
 */
int bridges_port_file_text(const struct ctx *c, char **ret, size_t *len)
{
	FILE *f = open_memstream(ret, len);

	if (!f)
		return -ENOMEM;
	print_ports(c, f);
	if (fclose(f) != 0) {
		free(*ret);
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void starve(struct ctx *c, struct listener *l, int err)
{
	unsigned missed;
	const char *line;

	l->pending = true;
	c->starved = true;
	c->retry_accept_ms = c->now_ms + ACCEPT_RETRY_MS;
	line = note_error(l->bridge, "cannot accept on %s: %s; new connections wait "
				 "until descriptors free up", l->bridge->expose_text,
				 strerror(-err));
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

/**
 * bridge_on_accept() - accept every pending connection of a listener
 * @c:		context
 * @l:		listener that is readable
 */
void bridge_on_accept(struct ctx *c, struct listener *l)
{
	struct bridge *b = l->bridge;

	fdreserve_refill();	/* a descriptor freed goes to the reserve first */
	while (!c->draining && l->fd >= 0) {
		struct sock_addr peer;
		int fd;

		if (!list_empty(&c->fd_waiters)) {
			l->pending = true;	/* those taken on already go first */
			return;
		}
		if (b->n_conns >= b->options->max_connections) {
			if (!b->paused)
				log_warn("%s has %u connections (--max-connections); new ones wait",
					 b->expose_text, b->n_conns);
			b->paused = true;
			l->pending = true;
			return;
		}
		fd = accept_with_room(l, &peer);
		if (fd >= 0 && !access_allows(c, l, fd)) {
			b->stats.refused++;
			sock_close_reset(fd);
			continue;
		}
		if (fd >= 0) {
			relay_conn_new(c, l, fd, &peer);
			continue;
		}
		switch (errno) {
		case EAGAIN:
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
		case EPERM:
			continue;	/* that client is gone; the next one may not be */
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			starve(c, l, -errno);
			return;
		default:
			log_warn("%s", note_error(b, "accept on %s: %s", b->expose_text,
							 strerror(errno)));
			return;
		}
	}
}

/**
 * bridges_resume() - accept again on listeners left with clients waiting
 * @c:		context
 * @fds_freed:	connections were closed in this batch
 */
void bridges_resume(struct ctx *c, bool fds_freed)
{
	bool retry_starved = c->starved && (fds_freed || c->now_ms >= c->retry_accept_ms);

	if (!retry_starved && !c->resume_pending)
		return;
	c->resume_pending = false;
	c->starved = false;	/* set again by any listener still short of fds */
	for (size_t i = 0; i < c->n_listeners; i++) {
		struct listener *l = &c->listeners[i];

		if (!l->pending || l->bridge->n_conns >= l->bridge->options->max_connections)
			continue;
		l->bridge->paused = false;
		l->pending = false;
		bridge_on_accept(c, l);
	}
	if (!list_empty(&c->fd_waiters) && !c->starved) {
		c->starved = true;
		c->retry_accept_ms = c->now_ms + ACCEPT_RETRY_MS;
	}
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
	const struct bridge_spec *spec = b->spec;

	if (spec->expose.side == side)
		return true;
	for (unsigned i = 0; i < spec->n_services; i++)
		if (spec->services[i].kind == ENDPOINT_INET && spec->services[i].side == side)
			return true;
	return false;
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
	for (size_t i = 0; i < c->n_listeners; i++) {
		struct listener *l = &c->listeners[i];

		if (l->bridge->spec->expose.side != side || l->fd < 0)
			continue;
		close(l->fd);
		l->fd = -1;
		l->pending = false;
	}
	for (size_t i = 0; i < c->n_bridges; i++) {
		if (!bridge_uses_side(&c->bridges[i], side))
			continue;
		relay_close_bridge(c, &c->bridges[i]);
		udp_close_bridge(c, &c->bridges[i]);
	}
}

/* Bind one listener anew in its side's (new) namespace */
static int relisten(struct ctx *c, size_t index)
{
	struct listener *l = &c->listeners[index];
	const struct endpoint *ep = &l->bridge->expose;
	union epoll_ref ref = { .type = EPOLL_TYPE_LISTENER, .index = (uint32_t)index };
	struct sock_addr a;
	int fd, r;

	sock_addr_endpoint(&a, ep, l->port_offset, l->family);
	fd = side_listen(c, ep->side, sock_type_of(ep), &a);
	if (fd == -EADDRINUSE)
		report_in_use(c, ep->side, &a);		/* says who holds it */
	if (fd < 0)
		return fd;
	r = event_epoll_add(c, fd, listener_events(l), ref);
	if (r < 0) {
		close(fd);
		return r;
	}
	l->fd = fd;
	if (ep->proto == PROTO_TCP)
		bridge_on_accept(c, l);	/* clients may have come in between */
	return 0;
}

/**
 * bridges_side_up() - a side has a namespace again: bind its listeners
 *		       anew and say which bridges are ready
 * @c:		context
 * @side:	the side
 */
void bridges_side_up(struct ctx *c, enum side side)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		struct listener *l = &c->listeners[i];
		int r;

		if (l->bridge->spec->expose.side != side || l->fd >= 0 || l->retired)
			continue;
		r = relisten(c, i);
		if (r == -EADDRINUSE)
			note_error(l->bridge, "cannot listen on %s again: in use",
					  l->bridge->expose_text);
		else if (r < 0)
			log_error("%s", note_error(l->bridge, "cannot listen on %s again: %s",
							  l->bridge->expose_text, strerror(-r)));
	}
	for (size_t i = 0; i < c->n_bridges; i++) {
		bool bound = true;

		if (!bridge_uses_side(&c->bridges[i], side) || c->bridges[i].removed)
			continue;
		for (size_t j = 0; j < c->n_listeners; j++)
			if (c->listeners[j].bridge == &c->bridges[i] && c->listeners[j].fd < 0 &&
			    !c->listeners[j].retired)
				bound = false;
		if (bound)
			log_notice("%s -> %s ready", c->bridges[i].service_text,
				   c->bridges[i].expose_text);
	}
}

/* Its slot is given to the next port bound: nothing of this one may stay on it */
static void retire_listener(struct ctx *c, size_t index)
{
	struct listener *l = &c->listeners[index];

	if (l->fd >= 0)
		close(l->fd);	/* also takes it out of epoll */
	l->fd = -1;
	l->pending = false;
	l->retired = true;
	if (l->bridge->spec->expose.proto == PROTO_UDP)
		udp_close_listener(c, (unsigned)index);
}

/**
 * bridge_unlisten_port() - close the listeners of one port of a bridge for good
 * @c:		context
 * @b:		bridge
 * @offset:	which port of its range
 *
 * Connections already accepted on them go on.
 */
void bridge_unlisten_port(struct ctx *c, const struct bridge *b, unsigned offset)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		struct listener *l = &c->listeners[i];

		if (l->bridge == b && l->port_offset == offset && !l->retired)
			retire_listener(c, i);
	}
}

/**
 * bridge_listen_port() - bind one port of a bridge's range on 127.0.0.1 and
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
int bridge_listen_port(struct ctx *c, struct bridge *b, unsigned offset)
{
	const struct endpoint *ep = &b->expose;

	for (int i = 0; i < 2; i++) {
		union epoll_ref ref = { .type = EPOLL_TYPE_LISTENER };
		int family = loopback_families[i];
		struct sock_addr a;
		int fd, r;

		sock_addr_endpoint(&a, ep, offset, family);
		fd = side_listen(c, ep->side, sock_type_of(ep), &a);
		if (family == AF_INET6 && (fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT))
			return 0;
		r = fd < 0 ? fd : add_listener(c, b, offset, family, fd);
		if (r >= 0) {
			ref.index = (uint32_t)r;
			r = event_epoll_add(c, fd, listener_events(&c->listeners[r]), ref);
			if (r < 0)
				retire_listener(c, ref.index);
		} else if (fd >= 0) {
			close(fd);
		}
		if (r < 0) {
			bridge_unlisten_port(c, b, offset);
			return r;
		}
	}
	return 0;
}

/**
 * bridges_close_listeners() - stop accepting: close every listener
 * @c:		context
 */
void bridges_close_listeners(struct ctx *c)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		if (c->listeners[i].fd >= 0)
			close(c->listeners[i].fd);
		c->listeners[i].fd = -1;
	}
}

/* -------- bridges added and removed while running (reload.c) -------- */

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

/* Watch the listeners of a bridge just bound */
static int watch_bridge(struct ctx *c, struct bridge *b)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		union epoll_ref ref = { .type = EPOLL_TYPE_LISTENER, .index = (uint32_t)i };
		struct listener *l = &c->listeners[i];
		int r;

		if (l->bridge != b || l->retired)
			continue;
		r = event_epoll_add(c, l->fd, listener_events(l), ref);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The listeners of @from become @to's, bound as they are: same EXPOSE */
static void take_listeners(struct ctx *c, struct bridge *from, struct bridge *to)
{
	for (size_t i = 0; i < c->n_listeners; i++) {
		struct listener *l = &c->listeners[i];

		if (l->bridge != from || l->retired)
			continue;
		l->bridge = to;
		if (l->pending)
			c->resume_pending = true;
	}
	to->expose = from->expose;
	memcpy(to->expose_text, from->expose_text, sizeof(to->expose_text));
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
 * @why:	on failure, the one line a start would print
 * @len:	size of @why
 *
 * A bridge added here is numbered by its slot, which may be that of a
 * removed bridge whose connections have all ended.
 *
 * Return: 0, or the exit status a start would leave with
 */
int bridge_add(struct ctx *c, const struct bridge_spec *spec, struct bridge *from,
	       struct bridge **ret, char *why, size_t len)
{
	struct bridge *b = free_slot(c);
	size_t index;
	int r;

	if (!b) {
		snprintf(why, len, "no room for another bridge: at most %d can be added to "
			 "those nsbridge started with", (int)(c->bridges_cap - c->config->n_bridges));
		return EXIT_USAGE;
	}
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
		r = bridge_setup(c, b, why, len);
		if (!r && watch_bridge(c, b) < 0) {
			snprintf(why, len, "watching %s: %s", b->expose_text, strerror(ENOMEM));
			r = EXIT_RUNTIME;
		}
	}
	if (r) {
		unlisten_bridge(c, b);	/* closing takes them out of epoll too */
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
	unlisten_bridge(c, b);
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
	for (size_t i = 0; i < c->n_listeners; i++)
		if (c->listeners[i].bridge == b && !c->listeners[i].retired)
			retire_listener(c, i);
	udp_close_bridge(c, b);
	b->removed = true;
	b->paused = false;
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
