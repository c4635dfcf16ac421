/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dial.c - connecting to SERVICE, with fallback and timeout
 *
 * Theory of operation
 *
 * A SERVICE without address is tried at 127.0.0.1 and then, if that is
 * refused or unreachable, at [::1], so a service that listens on only one
 * family is found either way. A container with an address of its own
 * (--source) dials from it, and so only 127.0.0.1: the socket is bound
 * to that address before connect() (side_source_toward()). The socket comes from where SERVICE lives:
 * made directly in the relay's own namespace, from the socket pool of a
 * namespace the relay cannot enter (sockpool.c), or, for unix:PATH, from
 * the relay's filesystem.
 *
 * connect() is non-blocking. The socket is added to epoll only after
 * connect() has been called: an unconnected TCP socket polls as EPOLLHUP
 * and would be taken for a failed connection.
 *
 * A unix SERVICE whose accept queue is full makes connect() fail with
 * EAGAIN at once, where a blocking client would wait. That is no refusal:
 * the connection waits in ctx.dial_retry and the same socket connects
 * again after 10 ms, doubling to 200 ms, until --connect-timeout (the
 * kernel gives no wake-up for it; see wait_for_queue()).
 *
 * Every connection being dialled sits in ctx.connecting, in order of its
 * deadline (the timeout is the same for all, so order of arrival is
 * order of deadline); the timer cuts those that pass --connect-timeout.
 *
 * When SERVICE cannot be reached the client is reset at once, so it sees
 * ECONNRESET rather than a hang or an empty reply, and one rate-limited
 * line says which service in which namespace refused.
 *
 * Several SERVICEs ("host:8081,host:8082") take new connections in turn.
 * One that refuses is marked down and skipped for a back-off - 1 s,
 * doubling with each refusal in a row up to 30 s - and the connection
 * goes on to the next. Only when every SERVICE was tried is the client
 * reset; while all are down each connection still tries them all, so the
 * first to come back is found at once.
 *
 * dial.c is below relay.c (docs/design.md): relay.c calls it, and it
 * tells how a dial ended through ctx.dial_ops (relay.c's, set by relay_init()):
 * established, unreachable (the client is to be reset), or short of
 * descriptors. A pool hands it a socket through ctx.sockpool_ops, which
 * dial_init() points here, as it registers the deadlines with event.c.
 */

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsbridge/dial.h"
#include "nsbridge/event.h"
#include "nsbridge/note.h"
#include "nsbridge/opener.h"
#include "nsbridge/side.h"
#include "nsbridge/sock.h"
#include "nsbridge/sockpool.h"

#define BACKOFF_FIRST_MS	1000
#define BACKOFF_MAX_MS		30000
#define RETRY_FIRST_MS		10	/* a unix SERVICE's accept queue was full */
#define RETRY_MAX_MS		200

static_assert(SERVICES_MAX <= 8, "relay_conn.tried has a bit per SERVICE");

/* The SERVICE @conn is being dialled to */
static const struct endpoint *conn_service(const struct relay_conn *conn)
{
	return &conn->bridge->spec->services[conn->service];
}

/*
 * The family of SERVICE address number @step for @conn, 0 when none is
 * left. A connection that must come from its container's own address
 * has no [::1] to fall back to: IPv6 has one loopback address.
 */
static int dial_family(const struct ctx *c, const struct relay_conn *conn, unsigned step)
{
	const struct endpoint *svc = conn_service(conn);

	if (svc->kind == ENDPOINT_UNIX)
		return step == 0 ? AF_UNIX : 0;
	if (svc->has_addr)
		return step == 0 ? svc->family : 0;
	if (step == 0)
		return AF_INET;
	if (side_source_toward(c, conn->bridge, svc))
		return 0;
	return step == 1 ? AF_INET6 : 0;
}

/* Errors after which the next address of SERVICE is worth a try */
static bool try_next_address(int error)
{
	return error == -ECONNREFUSED || error == -EADDRNOTAVAIL || error == -ENETUNREACH ||
	       error == -EAFNOSUPPORT || error == -EHOSTUNREACH;
}

/* ... and the next SERVICE: also when its container is not running */
static bool try_next_service(int error)
{
	return try_next_address(error) || error == -EHOSTDOWN;
}

/*
 * The next SERVICE to try for @conn, round the ring from @first: the
 * first not tried yet that is up, else the first not tried yet at all;
 * -1 when every one was tried.
 */
static int pick_service(const struct ctx *c, const struct relay_conn *conn, unsigned first)
{
	const struct bridge *b = conn->bridge;
	unsigned n = b->spec->n_services;
	int fallback = -1;

	for (unsigned i = 0; i < n; i++) {
		unsigned k = (first + i) % n;

		if (conn->tried & (1u << k))
			continue;
		if (b->health[k].down_until_ms <= c->now_ms)
			return (int)k;
		if (fallback < 0)
			fallback = (int)k;
	}
	return fallback;
}

/* One of several SERVICEs refused: skip it for a while, longer each time */
static void service_down(struct ctx *c, struct bridge *b, unsigned k, int error)
{
	struct service_health *h = &b->health[k];
	uint64_t backoff = (uint64_t)BACKOFF_FIRST_MS << (h->failures < 5 ? h->failures : 5);
	char text[SIDE_LABEL_MAX + SOCK_ADDR_TEXT_MAX + 16];

	if (b->spec->n_services == 1)
		return;
	if (backoff > BACKOFF_MAX_MS)
		backoff = BACKOFF_MAX_MS;
	h->down_until_ms = c->now_ms + backoff;
	if (h->failures++ == 0)
		log_warn("%s", note_error(b, "%s: %s; new connections go to the others, "
						 "and it is tried again in %llu ms",
						 note_service_text(c, &b->spec->services[k], text,
								     sizeof(text)),
						 strerror(-error), (unsigned long long)backoff));
}

/* A SERVICE that was down answered */
static void service_up(struct ctx *c, struct bridge *b, unsigned k)
{
	char text[SIDE_LABEL_MAX + SOCK_ADDR_TEXT_MAX + 16];

	if (!b->health[k].failures)
		return;
	b->health[k] = (struct service_health){ 0 };
	log_info("%s answers again", note_service_text(c, &b->spec->services[k], text,
							 sizeof(text)));
}

/* Why a client is reset, for --metrics: by the error its dial ended on */
static enum refusal refusal_of(int error)
{
	switch (error) {
	case -ETIMEDOUT:
		return REFUSAL_TIMEOUT;
	case -EHOSTDOWN:
	case OPENER_EXITED:
		return REFUSAL_GONE;
	case -EACCES:
	case -EPERM:
		return REFUSAL_ACCESS;
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -ENOENT:		/* a unix SERVICE's path: nothing listens */
	case -EADDRNOTAVAIL:
	case -ENETUNREACH:
	case -EHOSTUNREACH:
	case -EAFNOSUPPORT:
		return REFUSAL_REFUSED;
	default:
		return REFUSAL_ERROR;
	}
}

static void log_unreachable(struct ctx *c, struct relay_conn *conn, int error)
{
	struct bridge *b = conn->bridge;
	const char *line;
	unsigned missed;

	b->stats.refused[refusal_of(error)]++;
	if (b->spec->n_services > 1)
		line = note_error(b, "%s: all %u refused or were unreachable (the last: "
					 "%s); the client was reset", b->service_text,
					 b->spec->n_services, strerror(-error));
	else if (error == -EHOSTDOWN)
		line = note_error(b, "%s: the container is not running; the client was reset",
					 b->service_text);
	else if (error == OPENER_EXITED)	/* SERVICE refused nothing */
		line = note_error(b, "%s: the opener has exited, so no socket can be made "
					 "there for a new connection; the client was reset "
					 "(restart nsbridge)", b->service_text);
	else
		line = note_error(b, "%s %s: %s; the client was reset", b->service_text,
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
static void dial_failed(struct ctx *c, struct relay_conn *conn, int error)
{
	int next;

	list_del(&conn->wait_node);	/* no longer waiting for a full queue */
	if (conn->fd[CONN_SERVICE] >= 0) {
		close(conn->fd[CONN_SERVICE]);
		conn->fd[CONN_SERVICE] = -1;
	}
	if (!conn->dial_error)
		conn->dial_error = error;
	if (try_next_address(error) && dial_family(c, conn, conn->dial_step + 1)) {
		conn->dial_step++;
		dial_start(c, conn);
		return;
	}
	/* the first address's error is the one that explains */
	service_down(c, conn->bridge, conn->service, conn->dial_error);
	next = try_next_service(error) ? pick_service(c, conn, conn->service + 1u) : -1;
	if (next >= 0) {
		conn->service = (uint8_t)next;
		conn->tried |= (uint8_t)(1u << next);
		conn->dial_step = 0;
		conn->dial_error = 0;
		dial_start(c, conn);
		return;
	}
	log_unreachable(c, conn, conn->dial_error);
	c->dial_ops->unreachable(c, conn);
}

/**
 * dial_begin() - choose a SERVICE for a new connection and dial it
 * @c:		context
 * @conn:	connection just accepted
 *
 * With several SERVICEs, in turn, passing over those marked down.
 */
void dial_begin(struct ctx *c, struct relay_conn *conn)
{
	struct bridge *b = conn->bridge;
	int k = pick_service(c, conn, b->next_service);

	conn->service = (uint8_t)k;
	conn->tried = (uint8_t)(1u << k);
	b->next_service = ((unsigned)k + 1) % b->spec->n_services;
	dial_start(c, conn);
}

/*
 * A unix SERVICE's accept queue is full. Its connect() said EAGAIN and,
 * unlike a TCP connect, does not go on in the background; nor would
 * epoll say when the queue has room (an unconnected unix socket polls as
 * writable and hung up at once). So the client waits, as it would in a
 * blocking connect(), and the same socket tries again on the timer:
 * after 10 ms, doubling to 200 ms, until the connect deadline resets it.
 * ctx.dial_retry is kept in order of retry time; a new entry goes after
 * every one due no later, so that those waiting longest go first.
 */
static void wait_for_queue(struct ctx *c, struct relay_conn *conn)
{
	struct list_node *pos = c->dial_retry.prev;

	conn->retry_delay_ms = conn->retry_delay_ms ? conn->retry_delay_ms * 2 : RETRY_FIRST_MS;
	if (conn->retry_delay_ms > RETRY_MAX_MS)
		conn->retry_delay_ms = RETRY_MAX_MS;
	conn->retry_ms = c->now_ms + conn->retry_delay_ms;
	while (pos != &c->dial_retry && relay_conn_of_wait_node(pos)->retry_ms > conn->retry_ms)
		pos = pos->prev;
	list_add_tail(pos->next, &conn->wait_node);	/* that is, just after pos */
	conn->state = CONN_CONNECTING;
	conn_dbg(conn, "the accept queue of %s is full; trying again in %u ms",
		 conn->bridge->service_text, conn->retry_delay_ms);
}

/*
 * connect() fd[CONN_SERVICE] to the current address. The socket joins
 * epoll only then: an unconnected socket polls as EPOLLHUP and would be
 * taken for a failed connection.
 */
static void dial_connect(struct ctx *c, struct relay_conn *conn)
{
	const struct endpoint *svc = conn_service(conn);
	union epoll_ref ref = {
		.type = EPOLL_TYPE_CONN, .end = CONN_SERVICE, .index = conn->slot,
	};
	int family = dial_family(c, conn, conn->dial_step);
	int fd = conn->fd[CONN_SERVICE];
	struct sock_addr a;
	int r;

	sock_addr_endpoint(&a, svc, conn->port_offset, family);
	r = connect(fd, (const struct sockaddr *)&a.ss, a.len);
	if (r < 0 && errno == EAGAIN && family == AF_UNIX) {
		wait_for_queue(c, conn);
		return;
	}
	if (r < 0 && errno != EINPROGRESS) {
		dial_failed(c, conn, -errno);
		return;
	}
	r = event_epoll_add(c, fd, CONN_EVENTS, ref);
	if (r < 0) {
		dial_failed(c, conn, r);
		return;
	}
	conn->state = CONN_CONNECTING;
}

/**
 * dial_with_socket() - connect a fresh socket to SERVICE
 * @c:		context
 * @conn:	connection being dialled
 * @fd:		socket of the current address's family, in SERVICE's side
 */
static void dial_with_socket(struct ctx *c, struct relay_conn *conn, int fd)
{
	const struct in_addr *source = side_source_toward(c, conn->bridge, conn_service(conn));
	int family = dial_family(c, conn, conn->dial_step), r;

	conn->fd[CONN_SERVICE] = fd;
	conn->retry_delay_ms = 0;
	if (family != AF_UNIX)
		sock_set_nodelay(fd);
	if (source && family == AF_INET && (r = sock_bind_source(fd, source)) < 0) {
		dial_failed(c, conn, r);
		return;
	}
	dial_connect(c, conn);
}

/**
 * dial_start() - get a socket for the current address of SERVICE and
 *		  connect it, or wait for one
 * @c:		context
 * @conn:	connection being dialled
 */
void dial_start(struct ctx *c, struct relay_conn *conn)
{
	const struct endpoint *svc = conn_service(conn);
	int family = dial_family(c, conn, conn->dial_step);
	enum side side = svc->side;
	int fd;

	if (c->sides[side].down && family != AF_UNIX) {
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
		c->dial_ops->wait_fd(c, conn, fd);
		return;
	}
	if (fd < 0) {
		dial_failed(c, conn, fd);
		return;
	}
	dial_with_socket(c, conn, fd);
}

/* Whether the socket to SERVICE connected to itself (sock_is_self_connected()) */
static bool dialled_self(const struct ctx *c, const struct relay_conn *conn)
{
	const struct endpoint *svc = conn_service(conn);
	int family = dial_family(c, conn, conn->dial_step);
	struct sock_addr dest;

	if (family == AF_UNIX ||
	    sock_addr_endpoint(&dest, svc, conn->port_offset, family) < 0)
		return false;
	return sock_is_self_connected(conn->fd[CONN_SERVICE], &dest);
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
	if (dialled_self(c, conn)) {
		dial_failed(c, conn, -ECONNREFUSED);
		return;
	}
	service_up(c, conn->bridge, conn->service);
	c->dial_ops->established(c, conn);
}

static void pool_ready(struct ctx *c, struct list_node *waiter, int fd)
{
	dial_with_socket(c, relay_conn_of_wait_node(waiter), fd);
}

static void pool_failed(struct ctx *c, struct list_node *waiter, int error)
{
	dial_failed(c, relay_conn_of_wait_node(waiter), error);
}

/* What a socket pool tells of a connection that waited for a socket
 * (ctx.sockpool_ops) */
static const struct sockpool_ops pool_ops = {
	.ready = pool_ready,
	.failed = pool_failed,
};

/* Connect again those whose unix SERVICE's queue was full, when due */
static void retry_due(struct ctx *c)
{
	while (!list_empty(&c->dial_retry)) {
		struct relay_conn *conn = relay_conn_of_wait_node(c->dial_retry.next);

		if (conn->retry_ms > c->now_ms)
			return;
		list_del(&conn->wait_node);
		dial_connect(c, conn);	/* a full queue again puts it back, later */
	}
}

/* Connect again where a unix SERVICE's queue was full, and reset the
 * clients whose SERVICE did not answer in time */
static void expire(struct ctx *c)
{
	retry_due(c);
	while (!list_empty(&c->connecting)) {
		struct relay_conn *conn = relay_conn_of_node(c->connecting.next);

		if (conn->deadline_ms > c->now_ms)
			return;
		conn->dial_error = -ETIMEDOUT;
		dial_failed(c, conn, -ETIMEDOUT);
	}
}

/* The first connect deadline or retry: both lists are in time order */
static uint64_t next_deadline(const struct ctx *c)
{
	uint64_t next = 0, retry;

	if (!list_empty(&c->connecting))
		next = relay_conn_of_node(c->connecting.next)->deadline_ms;
	if (!list_empty(&c->dial_retry)) {
		retry = relay_conn_of_wait_node(c->dial_retry.next)->retry_ms;
		if (retry && (!next || retry < next))
			next = retry;
	}
	return next;
}

static const struct event_deadline deadlines = { .next = next_deadline, .expire = expire };

/**
 * dial_init() - register the connect deadlines and retries, and take the
 *		 sockets that pools hand to connections that waited
 * @c:		context
 */
void dial_init(struct ctx *c)
{
	c->sockpool_ops = &pool_ops;
	event_add_deadline(c, &deadlines);
}
