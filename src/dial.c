/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dial.c - connecting to SERVICE, with fallback and timeout
 *
 * Theory of operation
 *
 * A SERVICE without address is tried at 127.0.0.1 and then, if that is
 * refused or unreachable, at [::1], so a service that listens on only one
 * family is found either way. The socket comes from where SERVICE lives:
 * made directly in the relay's own namespace, from the socket pool of a
 * namespace the relay cannot enter (sockpool.c), or, for unix:PATH, from
 * the relay's filesystem.
 *
 * connect() is non-blocking. The socket is added to epoll only after
 * connect() has been called: an unconnected TCP socket polls as EPOLLHUP
 * and would be taken for a failed connection.
 *
 * Every connection being dialled sits in ctx.connecting, in order of its
 * deadline (the timeout is the same for all, so order of arrival is
 * order of deadline); the timer cuts those that pass --connect-timeout.
 *
 * When SERVICE cannot be reached the client is reset at once, so it sees
 * ECONNRESET rather than a hang or an empty reply, and one rate-limited
 * line says which service in which namespace refused.
 */

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsbridge/bridge.h"
#include "nsbridge/dial.h"
#include "nsbridge/sock.h"
#include "nsbridge/sockpool.h"


/* The family of SERVICE address number @step, 0 when none is left */
static int dial_family(const struct endpoint *svc, unsigned step)
{
	if (svc->kind == ENDPOINT_UNIX)
		return step == 0 ? AF_UNIX : 0;
	if (svc->has_addr)
		return step == 0 ? svc->family : 0;
	if (step == 0)
		return AF_INET;
	return step == 1 ? AF_INET6 : 0;
}

/* Errors after which the next address of SERVICE is worth a try */
static bool try_next_address(int error)
{
	return error == -ECONNREFUSED || error == -EADDRNOTAVAIL || error == -ENETUNREACH ||
	       error == -EAFNOSUPPORT || error == -EHOSTUNREACH;
}

static void log_unreachable(struct ctx *c, struct relay_conn *conn, int error)
{
	struct bridge *b = conn->bridge;
	const char *line;
	unsigned missed;

	b->stats.refused++;
	if (error == -EHOSTDOWN)
		line = bridge_note_error(b, "%s: the container is not running; the client was reset",
					 b->service_text);
	else
		line = bridge_note_error(b, "%s %s: %s; the client was reset", b->service_text,
					 error == -ETIMEDOUT ? "did not answer in time" :
							       "refused the connection",
					 strerror(-error));
	if (!ratelimit_pass(&b->refused_rl, c->now_ms, &missed))
		return;
	if (missed)
		log_warn("%s: %u more connections failed like the next one", b->service_text, missed);
	log_warn("%s", line);
}

/**
 * dial_failed() - the current address of SERVICE failed: try the next
 *		   or reset the client
 * @c:		context
 * @conn:	connection being dialled
 * @error:	-errno of the failure
 */
void dial_failed(struct ctx *c, struct relay_conn *conn, int error)
{
	const struct endpoint *svc = &conn->bridge->spec->service;

	if (conn->fd[CONN_SERVICE] >= 0) {
		close(conn->fd[CONN_SERVICE]);
		conn->fd[CONN_SERVICE] = -1;
	}
	if (!conn->dial_error)
		conn->dial_error = error;
	if (try_next_address(error) && dial_family(svc, conn->dial_step + 1)) {
		conn->dial_step++;
		dial_start(c, conn);
		return;
	}
	/* the first address's error is the one that explains */
	log_unreachable(c, conn, conn->dial_error);
	relay_conn_close(c, conn, true, false);
}

/**
 * dial_with_socket() - connect a fresh socket to SERVICE
 * @c:		context
 * @conn:	connection being dialled
 * @fd:		socket of the current address's family, in SERVICE's side
 */
void dial_with_socket(struct ctx *c, struct relay_conn *conn, int fd)
{
	const struct endpoint *svc = &conn->bridge->spec->service;
	union epoll_ref ref = {
		.type = EPOLL_TYPE_CONN, .end = CONN_SERVICE, .index = conn->slot,
	};
	int family = dial_family(svc, conn->dial_step);
	struct sock_addr a;
	int r;

	conn->fd[CONN_SERVICE] = fd;
	sock_addr_endpoint(&a, svc, conn->port_offset, family);
	if (family != AF_UNIX)
		sock_set_nodelay(fd);

	r = connect(fd, (const struct sockaddr *)&a.ss, a.len);
	if (r < 0 && errno != EINPROGRESS) {
		dial_failed(c, conn, -errno);
		return;
	}
	r = ctx_epoll_add(c, fd, CONN_EVENTS, ref);
	if (r < 0) {
		dial_failed(c, conn, r);
		return;
	}
	conn->state = CONN_CONNECTING;
}

/**
 * dial_start() - get a socket for the current address of SERVICE and
 *		  connect it, or wait for one
 * @c:		context
 * @conn:	connection being dialled
 */
void dial_start(struct ctx *c, struct relay_conn *conn)
{
	const struct endpoint *svc = &conn->bridge->spec->service;
	int family = dial_family(svc, conn->dial_step);
	enum side side = svc->side;
	int fd;

	if (side == SIDE_CONTAINER && c->container_down && family != AF_UNIX) {
		dial_failed(c, conn, -EHOSTDOWN);
		return;
	}
	if (family == AF_UNIX || c->sides[side].local) {
		fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			fd = -errno;
	} else {
		fd = sockpool_take(c, side, family, SOCK_STREAM);
	}
	if (fd == -EAGAIN) {
		conn->state = CONN_WAIT_SOCKET;
		sockpool_wait(c, side, family, &conn->wait_node);
		return;
	}
	if (fd == -EMFILE || fd == -ENFILE) {
		conn->state = CONN_WAIT_SOCKET;
		relay_wait_fd(c, conn, fd);
		return;
	}
	if (fd < 0) {
		dial_failed(c, conn, fd);
		return;
	}
	dial_with_socket(c, conn, fd);
}

/**
 * dial_on_event() - an event on the socket being connected
 * @c:		context
 * @conn:	connection being dialled
 * @events:	epoll event bits
 */
void dial_on_event(struct ctx *c, struct relay_conn *conn, uint32_t events)
{
	int err = sock_error(conn->fd[CONN_SERVICE]);

	if (err < 0) {
		dial_failed(c, conn, err);
		return;
	}
	if (!(events & EPOLLOUT))
		return;
	if (sock_is_self_connected(conn->fd[CONN_SERVICE])) {
		dial_failed(c, conn, -ECONNREFUSED);
		return;
	}
	relay_conn_established(c, conn);
}

/**
 * dial_expire() - reset the clients whose SERVICE did not answer in time
 * @c:		context
 */
void dial_expire(struct ctx *c)
{
	while (!list_empty(&c->connecting)) {
		struct relay_conn *conn = relay_conn_of_node(c->connecting.next);

		if (conn->deadline_ms > c->now_ms)
			return;
		conn->dial_error = -ETIMEDOUT;
		dial_failed(c, conn, -ETIMEDOUT);
	}
}
