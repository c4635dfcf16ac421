/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mirror.c - every port listening on one side's loopback, bound on the other's
 *
 * Theory of operation
 *
 * --mirror FROM TO is a bridge of the whole port range, FROM:1-65535 to
 * TO:1-65535 (one for TCP, one more with --mirror-udp), of which only the
 * ports that listen in FROM have listeners in TO; connections and flows
 * then work as on any bridge, port N to port N.
 *
 * Every MIRROR_SCAN_MS the sockets of FROM are dumped through netlink
 * socket diagnostics (sockdiag.c, on a NETLINK_SOCK_DIAG socket made in
 * FROM before the capability drop; a dump needs no privilege). A port is
 * wanted when a socket reachable on loopback holds it - bound to
 * 127.0.0.0/8, ::1, or a wildcard - in TCP's LISTEN state, or for UDP
 * unconnected, and seen in two scans in a row, so that a client's
 * passing socket is not taken for a server. --mirror-exclude ports are
 * never wanted. Then the difference is applied: a wanted port not bound
 * yet is bound on 127.0.0.1 and [::1] in TO (one taken there is said
 * once and tried again only after it stopped listening in FROM), a bound
 * port no longer wanted is unbound; its open connections go on.
 *
 * A port held by nsbridge itself - a listener of this process, or of
 * another nsbridge, say one mirroring the other way - is never mirrored
 * back: two mirrors facing each other would otherwise keep each other's
 * ports alive after the service is gone. Who holds a socket is asked of
 * the opener (reading other processes' fds takes CAP_SYS_PTRACE), once,
 * when its port is first seen; as an ordinary user, whose opener has
 * capabilities only in a rootless engine's user namespace, the relay
 * looks in /proc itself, where it sees its user's processes. A holder
 * not visible either way (another user's, to a user) is said once and
 * taken for a service.
 *
 * A FROM in a container that stops takes its ports with it: all are
 * unbound and its diag socket closed, so that nothing keeps the dead
 * namespace alive; the next scan after it runs again binds anew.
 */

#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsbridge/cleanup.h"
#include "nsbridge/event.h"
#include "nsbridge/listener.h"
#include "nsbridge/mirror.h"
#include "nsbridge/opener.h"
#include "nsbridge/portowner.h"
#include "nsbridge/side.h"
#include "nsbridge/sockdiag.h"

#define MIRROR_SCAN_MS	400
#define PORT_WORDS	(65536 / 64)

/* A set of ports */
struct portset {
	uint64_t w[PORT_WORDS];
};

/**
 * struct mirror - the state of --mirror
 * @from:	the side whose ports are mirrored
 * @to:		where they appear
 * @sk:		libnl socket on a NETLINK_SOCK_DIAG socket in @from, NULL
 *		while @from is down
 * @bridges:	the TCP and UDP mirror bridges, NULL where not mirrored
 * @next_scan_ms: when to scan again
 * @seen:	ports found in the last scan
 * @bound:	ports with listeners in @to
 * @taken:	ports that could not be bound in @to, said once
 * @relayed:	ports held by nsbridge itself (this or another process):
 *		never mirrored back
 */
struct mirror {
	enum side from;
	enum side to;
	struct nl_sock *sk;
	struct bridge *bridges[PROTO_MAX];
	uint64_t next_scan_ms;
	struct portset seen[PROTO_MAX];
	struct portset bound[PROTO_MAX];
	struct portset taken[PROTO_MAX];
	struct portset relayed[PROTO_MAX];
};

#define MIRROR_FRESH_MAX	256

/**
 * struct scan - what a dump collects
 * @ports:	ports held by a socket reachable on loopback
 * @known:	ports already bound, taken or skipped
 * @fresh:	the first socket seen of each port not in @known, whose owner
 *		is asked before binding; @n_fresh of them
 */
struct scan {
	struct portset ports;
	struct portset known;
	struct {
		uint16_t port;
		uint32_t inode;
	} fresh[MIRROR_FRESH_MAX];
	size_t n_fresh;
};

static bool port_in(const struct portset *s, unsigned port)
{
	return s->w[port / 64] >> (port % 64) & 1;
}

static void port_set(struct portset *s, unsigned port, bool on)
{
	if (on)
		s->w[port / 64] |= 1ull << (port % 64);
	else
		s->w[port / 64] &= ~(1ull << (port % 64));
}

static void on_socket(const struct sockdiag_entry *e, void *arg)
{
	struct scan *s = arg;

	if (!sockdiag_on_loopback(e))
		return;
	if (!port_in(&s->known, e->port) && !port_in(&s->ports, e->port) &&
	    s->n_fresh < MIRROR_FRESH_MAX) {
		s->fresh[s->n_fresh].port = e->port;
		s->fresh[s->n_fresh++].inode = e->inode;
	}
	port_set(&s->ports, e->port, true);
}

/* Dump FROM's sockets of @protocol into @s */
static int scan_ports(struct ctx *c, int protocol, struct scan *s)
{
	return sockdiag_listening(c->mirror->sk, protocol, on_socket, s);
}

/*
 * Whether nsbridge holds the socket: a port this or another nsbridge
 * relays must not be mirrored back, or two mirrors facing each other
 * would keep each other's ports alive after the service is gone. The
 * opener is asked first: reading other processes' fds takes
 * CAP_SYS_PTRACE, which the relay no longer has. As an ordinary user the
 * opener has it only in a rootless engine's user namespace, which gives
 * no right over processes out here, the user's own nsbridge included;
 * the relay itself sees its user's processes in /proc, so it looks when
 * the opener could not, or when there is no opener. A holder neither
 * sees (another user's process, to a user) is said once and taken for a
 * service.
 */
static bool held_by_nsbridge(struct ctx *c, enum proto p, unsigned port, uint32_t inode)
{
	struct opener_req req = {
		.op = OPENER_SOCKET_OWNER, .side = c->mirror->from, .inode = inode,
	};
	struct port_owner owner;
	int pid = -ENOENT;

	if (opener_fd() >= 0)
		pid = opener_call(&req, NULL, 0);
	if (pid <= 0 && portowner_of_inode(inode, &owner) == 0)
		pid = owner.pid;
	if (pid <= 0) {
		log_info("%s port %u of %s is held by a process not visible to nsbridge "
			 "(another user's?): mirrored as a service",
			 proto_name(p), port, c->sides[c->mirror->from].label);
		return false;
	}
	if (pid == getpid())
		return true;
	portowner_comm(pid, owner.comm, sizeof(owner.comm));
	return strcmp(owner.comm, "nsbridge") == 0;
}

static void bind_port(struct ctx *c, enum proto p, unsigned port)
{
	struct mirror *m = c->mirror;
	struct bridge *b = m->bridges[p];
	int r = listener_bind_port(c, b, port - 1);

	if (r == 0) {
		port_set(&m->bound[p], port, true);
		log_info("mirroring %s port %u of %s on %s", proto_name(p), port,
			 c->sides[m->from].label, c->sides[m->to].label);
		return;
	}
	port_set(&m->taken[p], port, true);
	if (r == -EADDRINUSE)
		log_warn("%s port %u of %s is not mirrored: %s has that port in use",
			 proto_name(p), port, c->sides[m->from].label, c->sides[m->to].label);
	else
		log_errno(LOG_LEVEL_WARNING, r, "%s port %u of %s is not mirrored",
			  proto_name(p), port, c->sides[m->from].label);
}

static void unbind_port(struct ctx *c, enum proto p, unsigned port)
{
	struct mirror *m = c->mirror;

	listener_unbind_port(c, m->bridges[p], port - 1);
	port_set(&m->bound[p], port, false);
	log_info("%s port %u stopped listening in %s: unbound in %s", proto_name(p), port,
		 c->sides[m->from].label, c->sides[m->to].label);
}

static bool is_relayed(struct ctx *c, enum proto p, const struct scan *s, unsigned port)
{
	for (size_t i = 0; s && i < s->n_fresh; i++)
		if (s->fresh[i].port == port)
			return held_by_nsbridge(c, p, port, s->fresh[i].inode);
	return false;
}

/*
 * Bind what @want has and is not bound, unbind what is bound and @want
 * lacks; @s, from the scan that made @want, names the sockets of ports
 * seen for the first time.
 */
static void apply(struct ctx *c, enum proto p, const struct portset *want, const struct scan *s)
{
	struct mirror *m = c->mirror;

	for (unsigned port = 1; port < 65536; port++) {
		bool wanted = port_in(want, port) && !config_mirror_excludes(c->config, (uint16_t)port);

		if (!wanted) {	/* gone: try it afresh once it returns */
			port_set(&m->taken[p], port, false);
			port_set(&m->relayed[p], port, false);
		}
		if (wanted && !port_in(&m->bound[p], port) && !port_in(&m->taken[p], port) &&
		    !port_in(&m->relayed[p], port)) {
			if (!is_relayed(c, p, s, port)) {
				bind_port(c, p, port);
				continue;
			}
			port_set(&m->relayed[p], port, true);
			log_debug("%s port %u of %s is nsbridge's own: not mirrored back",
				  proto_name(p), port, c->sides[m->from].label);
		} else if (!wanted && port_in(&m->bound[p], port)) {
			unbind_port(c, p, port);
		}
	}
}

static bool side_down(const struct ctx *c, enum side side)
{
	return c->sides[side].down;
}

static void scan_proto(struct ctx *c, enum proto p)
{
	_cleanup_free_ struct scan *s = calloc(1, sizeof(*s));
	struct mirror *m = c->mirror;
	struct portset want;

	if (!s)
		return;
	for (size_t i = 0; i < PORT_WORDS; i++)
		s->known.w[i] = m->bound[p].w[i] | m->taken[p].w[i] | m->relayed[p].w[i];
	if (scan_ports(c, p == PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP, s) < 0) {
		log_warn("cannot list the ports of %s; trying again", c->sides[m->from].label);
		return;
	}
	want = s->ports;
	if (p == PROTO_UDP)	/* seen twice in a row: a server, not a passing client */
		for (size_t i = 0; i < PORT_WORDS; i++)
			want.w[i] &= m->seen[p].w[i];
	m->seen[p] = s->ports;
	apply(c, p, &want, s);
}

static void scan(struct ctx *c)
{
	struct mirror *m = c->mirror;

	if (!m->sk || side_down(c, m->to))
		return;
	for (int p = 0; p < PROTO_MAX; p++)
		if (m->bridges[p])
			scan_proto(c, (enum proto)p);
}

static void close_diag(struct mirror *m)
{
	nl_socket_free(m->sk);	/* closes its fd */
	m->sk = NULL;
}

/* A NETLINK_SOCK_DIAG socket in FROM, under libnl */
static int open_diag(struct ctx *c)
{
	struct mirror *m = c->mirror;
	int fd = side_socket(c, m->from, AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);

	return fd < 0 ? fd : sockdiag_open(fd, &m->sk);
}

static uint64_t next_scan(const struct ctx *c);
static void tick(struct ctx *c);
static void release(struct ctx *c);

static const struct event_deadline deadlines = { .next = next_scan, .expire = tick };

/**
 * mirror_setup() - start --mirror: open FROM's diag socket and bind what
 *		    listens there now, before the ready line
 * @c:		context with the mirror bridges set up
 *
 * Return: 0 (also when there is nothing to mirror), or -errno
 */
int mirror_setup(struct ctx *c)
{
	struct mirror *m;
	int r;

	if (!c->config->mirror)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	c->mirror = m;
	event_add_exit(c, release);
	event_add_deadline(c, &deadlines);
	for (size_t i = 0; i < c->n_bridges; i++) {
		struct bridge *b = &c->bridges[i];

		m->from = b->spec->service.side;
		m->to = b->spec->expose.side;
		m->bridges[b->spec->service.proto] = b;
	}
	r = open_diag(c);
	if (r < 0)
		return r;
	scan(c);
	if (m->bridges[PROTO_UDP])
		scan_proto(c, PROTO_UDP);	/* the second sighting, for UDP */
	m->next_scan_ms = event_clock_ms() + MIRROR_SCAN_MS;
	return 0;
}

/* When the next scan is due; none while draining, when none is made */
static uint64_t next_scan(const struct ctx *c)
{
	return c->mirror && !c->draining ? c->mirror->next_scan_ms : 0;
}

/* Scan FROM if it is time, and follow what changed */
static void tick(struct ctx *c)
{
	struct mirror *m = c->mirror;

	if (!m || c->draining || c->now_ms < m->next_scan_ms)
		return;
	m->next_scan_ms = c->now_ms + MIRROR_SCAN_MS;
	if (!m->sk && !side_down(c, m->from) && open_diag(c) < 0)
		return;
	scan(c);
}

/**
 * mirror_side_down() - a side's namespace went away
 * @c:		context
 * @side:	the side
 *
 * When it is FROM, every mirrored port is unbound (its services are gone)
 * and the diag socket closed, so that nothing keeps the namespace alive.
 */
void mirror_side_down(struct ctx *c, enum side side)
{
	struct mirror *m = c->mirror;

	if (!m || side != m->from)
		return;
	close_diag(m);
	for (int p = 0; p < PROTO_MAX; p++) {
		struct portset none = { 0 };

		if (!m->bridges[p])
			continue;
		apply(c, (enum proto)p, &none, NULL);
		m->seen[p] = none;
	}
}

/* Free --mirror's state, at exit */
static void release(struct ctx *c)
{
	if (!c->mirror)
		return;
	close_diag(c->mirror);
	free(c->mirror);
	c->mirror = NULL;
}
