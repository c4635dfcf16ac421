/* SPDX-License-Identifier: GPL-2.0-or-later */
/* side.c - the host and container namespaces, and sockets made in them
 *
 * The sides are a table (struct ctx's sides, enum side): the host, then
 * one entry per container -c names; everything per side - namespace,
 * socket pools, the opener's namespace fd, the lifecycle - is indexed by
 * it. One opener holds every remote side's namespace fd.
 *
 * A side is "local" when it is the namespace the relay runs in; its
 * sockets are made with a plain socket(). Any other side's sockets come
 * from the opener (opener.c), synchronously here during set-up and from
 * the socket pools (sockpool.c) once the loop runs.
 *
 * Whether the opener can enter a side is checked before it starts
 * (sides_check_entry()), so that a refusal is one line and nothing was
 * started: root and a holder of CAP_SYS_ADMIN enter anything; an ordinary
 * user enters a namespace owned by a user namespace of its own (a
 * rootless container's), through that user namespace (netns.c).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsbridge/caps.h"
#include "nsbridge/container.h"
#include "nsbridge/netns.h"
#include "nsbridge/nl.h"
#include "nsbridge/opener.h"
#include "nsbridge/side.h"

static int mark_local(struct side_ns *s)
{
	int self_fd, r;

	r = netns_open_self(&self_fd);
	if (r < 0)
		return r;
	r = netns_same(self_fd, s->ns_fd);
	close(self_fd);
	if (r < 0)
		return r;
	s->local = r;
	return 0;
}

/**
 * side_open_host() - open the host side
 * @s:		side to fill
 * @host_netns:	--host-netns PATH, or NULL for the relay's own namespace
 *
 * Return: 0 or -errno from netns_open_path()
 */
int side_open_host(struct side_ns *s, const char *host_netns)
{
	int r;

	snprintf(s->label, sizeof(s->label), "host");
	r = host_netns ? netns_open_path(host_netns, &s->ns_fd) : netns_open_self(&s->ns_fd);
	if (r < 0)
		return r;
	return mark_local(s);
}

/**
 * side_open_container() - open the container side named by -c REF
 * @s:		side to fill
 * @ref:	the reference
 * @f:		on failure, one line for the user where one helps, else ""
 *
 * Return: 0 or -errno from container_open()
 */
int side_open_container(struct side_ns *s, const char *ref, struct failure *f)
{
	struct container ct;
	int r;

	snprintf(s->label, sizeof(s->label), "container %s", ref);
	s->ref = ref;
	r = container_open(ref, &ct, f);
	if (r < 0)
		return r;
	s->ns_fd = ct.ns_fd;
	s->pidfd = ct.pidfd;
	s->pid = ct.pid;
	s->start = ct.start;
	snprintf(s->engine_sock, sizeof(s->engine_sock), "%s", ct.engine_sock);
	return mark_local(s);
}

/**
 * sides_need_opener() - whether some used side is not the relay's own
 * @c:		context
 *
 * Return: true if an opener must run
 */
bool sides_need_opener(const struct ctx *c)
{
	if (c->config->labels)
		return true;	/* for the containers that will ask */
	for (int s = 0; s < SIDE_MAX; s++)
		if (c->sides[s].used && !c->sides[s].local)
			return true;
	return false;
}

/* Whether an ordinary user's opener can enter @s: a user namespace of its own owns it */
static int check_owner(const struct side_ns *s, uid_t *userns_uid, struct failure *f)
{
	struct netns_owner o;
	int r = netns_owner(s->ns_fd, &o);

	if (r == -EPERM)
		return failure_set(f, EXIT_PRIVILEGE, -EPERM, "entering %s is not allowed: its "
				   "network namespace belongs to a user namespace outside this "
				   "one; run nsbridge as root%s", s->label,
				   netns_userns_restriction("/proc/sys"));
	if (r < 0)
		return r;
	if (o.own_userns)	/* the host's: only a capability enters it */
		return failure_set(f, EXIT_PRIVILEGE, -EPERM, "entering %s needs CAP_SYS_ADMIN; "
				   "%s%s", s->label, caps_grant_hint(),
				   netns_userns_restriction("/proc/sys"));
	if (o.uid != geteuid())
		return failure_set(f, EXIT_PRIVILEGE, -EPERM, "entering %s is not allowed: its "
				   "network namespace belongs to user %s (uid %u); run nsbridge "
				   "as that user, or as root", s->label, o.name, (unsigned)o.uid);
	if (*userns_uid != (uid_t)-1 && *userns_uid != o.uid)
		return failure_set(f, EXIT_PRIVILEGE, -EPERM, "entering %s too would take a "
				   "second user namespace; run nsbridge as root", s->label);
	*userns_uid = o.uid;
	return 0;
}

/**
 * sides_check_entry() - whether the opener will be able to enter the
 *			 remote sides
 * @c:		context, sides open
 * @f:		on refusal, exit status 5 and one line for the user
 *
 * Return: 0, -EPERM with @f set, or another -errno, @f not set
 */
int sides_check_entry(const struct ctx *c, struct failure *f)
{
	uid_t userns_uid = (uid_t)-1;

	if (caps_have(CAP_SYS_ADMIN))
		return 0;
	for (int s = 0; s < SIDE_MAX; s++) {
		int r;

		if (!c->sides[s].used || c->sides[s].local)
			continue;
		r = check_owner(&c->sides[s], &userns_uid, f);
		if (r < 0)
			return r;
	}
	return 0;
}

/**
 * sides_start_opener() - hand the remote namespaces to a new opener
 * @c:		context; the relay keeps no namespace fd afterwards, so that
 *		only the opener and the sockets pin a container's namespace
 *
 * Return: 0 or -errno
 */
int sides_start_opener(struct ctx *c)
{
	int ns_fds[SIDE_MAX];
	int r;

	/* the relay's own namespace too: side_listen() may need it there */
	for (int s = 0; s < SIDE_MAX; s++)
		ns_fds[s] = c->sides[s].used ? c->sides[s].ns_fd : -1;
	r = opener_start(ns_fds);
	if (r < 0)
		return r;
	for (int s = 0; s < SIDE_MAX; s++) {
		if (c->sides[s].ns_fd >= 0)
			close(c->sides[s].ns_fd);
		c->sides[s].ns_fd = -1;
	}
	return 0;
}

/**
 * side_socket() - a socket made in @side's namespace (set-up, or local)
 * @c:		context
 * @side:	which namespace
 * @family:	socket family
 * @type:	socket type; non-blocking and close-on-exec are added
 * @protocol:	socket protocol
 *
 * Return: the fd, or -errno
 */
int side_socket(struct ctx *c, enum side side, int family, int type, int protocol)
{
	struct opener_req req = {
		.op = OPENER_SOCKET, .side = side, .family = family,
		.type = type, .protocol = protocol, .count = 1,
	};
	int fd, r;

	if (c->sides[side].local) {
		fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
		return fd < 0 ? -errno : fd;
	}
	r = opener_call(&req, &fd, 1);
	if (r < 0)
		return r;
	return r == 1 ? fd : -EIO;
}

/**
 * side_listen() - a TCP listener, or a bound UDP socket, on @a in @side's
 *		   namespace
 * @c:		context
 * @side:	which namespace
 * @type:	SOCK_STREAM or SOCK_DGRAM
 * @a:		address
 *
 * Return: the fd, or -errno (-EADDRINUSE, -EADDRNOTAVAIL, -EACCES ...)
 */
int side_listen(struct ctx *c, enum side side, int type, const struct sock_addr *a)
{
	struct opener_req req = { .op = OPENER_LISTEN, .side = side, .type = type, .addr = *a };
	int fd, own = 0, r;

	if (c->sides[side].local) {
		own = sock_open_bound(type, a);
		/* a port below ip_unprivileged_port_start, after set-up (a reload,
		 * nsbridge add, a label): the relay has no CAP_NET_BIND_SERVICE
		 * any more, and the opener, which keeps it, holds this namespace
		 * too. Without an opener, or one that cannot come back here (an
		 * ordinary user's), the relay's own error stands */
		if ((own != -EACCES && own != -EPERM) || opener_fd() < 0)
			return own;
	}
	r = opener_call(&req, &fd, 1);
	if (r < 0)
		return own ? own : r;
	return r == 1 ? fd : -EIO;
}

/**
 * side_lo_up() - bring lo up in @side's namespace if it is down
 * @c:		context
 * @side:	which namespace
 *
 * Return: 1 if brought up, 0 if it was up, or -errno (-EPERM without
 * CAP_NET_ADMIN)
 */
int side_lo_up(struct ctx *c, enum side side)
{
	struct opener_req req = { .op = OPENER_LO_UP, .side = side };

	if (c->sides[side].local)
		return nl_lo_up();
	return opener_call(&req, NULL, 0);
}

/**
 * sides_close() - release the sides' fds, and the options of labelled containers
 * @c:		context
 */
void sides_close(struct ctx *c)
{
	for (int s = 0; s < SIDE_MAX; s++) {
		if (c->sides[s].ns_fd >= 0)
			close(c->sides[s].ns_fd);
		if (c->sides[s].pidfd >= 0)
			close(c->sides[s].pidfd);
		c->sides[s].ns_fd = c->sides[s].pidfd = -1;
		free(c->sides[s].options);	/* a labelled container's (labels.c) */
		free(c->sides[s].options_text);
		c->sides[s].options = NULL;
		c->sides[s].options_text = NULL;
	}
}

/**
 * side_source_toward() - the address a bridge's connection to one of its
 *			  SERVICEs comes from, when not the kernel's choice
 * @c:		context
 * @b:		the bridge
 * @svc:	the SERVICE dialled
 *
 * A container's own address (--source, --labels-sources) is for its
 * clients' connections to a network SERVICE on the host: the host's
 * 127.0.0.0/8 is where the address is local.
 *
 * Return: the address, or NULL for the kernel's choice
 */
const struct in_addr *side_source_toward(const struct ctx *c, const struct bridge *b,
					 const struct endpoint *svc)
{
	const struct side_ns *client = &c->sides[b->spec->expose.side];

	if (svc->kind != ENDPOINT_INET || svc->side != SIDE_HOST || !client->source.s_addr)
		return NULL;
	return &client->source;
}
