/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sockpool.c - sockets made ahead of time in namespaces the relay cannot enter
 *
 * Theory of operation
 *
 * When SERVICE is in a namespace other than the relay's, every accepted
 * connection needs a fresh socket made in that namespace, and only the
 * opener can make one. Asking for each on the way would put a round trip
 * to another process on every connection, so each (side, family) keeps a
 * small stock, refilled in batches by asynchronous requests as soon as it
 * falls below half.
 *
 * While no connection is open, pools that were used are topped up to
 * full, so that a process at rest always holds the same descriptors.
 *
 * When the stock is empty, a connection waits in the pool's FIFO of
 * waiters (no busy loop, the loop goes on) and is served, oldest first,
 * when the refill arrives. If the refill fails, the waiters fail with
 * its error; once the opener has exited, with OPENER_EXITED, for good. Replies carry the pool's index as tag, and its generation:
 * a side that goes down and comes up again (a container restarted, or a
 * labelled container's side given to the next one) may still have a
 * request on its way, answered with sockets in the namespace that was,
 * or with the error of a namespace already forgotten; such a reply is
 * dropped rather than stocked. A waiter is only a
 * list node here: it is handed its socket, or the error, through
 * ctx.sockpool_ops (dial.c's), so the pool knows nothing of connections.
 */

#include <assert.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsbridge/event.h"
#include "nsbridge/opener.h"
#include "nsbridge/sockpool.h"

#define SOCKPOOL_LOW	(SOCKPOOL_SIZE / 2)

/**
 * pool_kind_of() - pool index of a socket family and type
 * @family:	AF_INET or AF_INET6
 * @type:	SOCK_STREAM or SOCK_DGRAM
 *
 * Return: the pool kind
 */
enum pool_kind pool_kind_of(int family, int type)
{
	if (type == SOCK_DGRAM)
		return family == AF_INET6 ? POOL_UDP6 : POOL_UDP4;
	return family == AF_INET6 ? POOL_TCP6 : POOL_TCP4;
}

#define TAG_INDEX_BITS	16	/* the pool's index below, its generation above */
static_assert(SIDE_MAX * POOL_KIND_MAX <= 1 << TAG_INDEX_BITS, "a pool's index fits its tag");

static uint32_t pool_tag(const struct sockpool *p)
{
	uint32_t index = (uint32_t)(p->side * POOL_KIND_MAX + pool_kind_of(p->family, p->type));

	return (uint32_t)p->generation << TAG_INDEX_BITS | index;
}

static struct sockpool *pool_of(struct ctx *c, enum side side, int family, int type)
{
	return &c->pools[side][pool_kind_of(family, type)];
}

/**
 * sockpool_init() - empty pools
 * @c:		context
 */
void sockpool_init(struct ctx *c)
{
	for (int s = 0; s < SIDE_MAX; s++) {
		for (int k = 0; k < POOL_KIND_MAX; k++) {
			struct sockpool *p = &c->pools[s][k];

			p->side = (enum side)s;
			p->family = k == POOL_TCP6 || k == POOL_UDP6 ? AF_INET6 : AF_INET;
			p->type = k == POOL_UDP4 || k == POOL_UDP6 ? SOCK_DGRAM : SOCK_STREAM;
			p->n = p->requested = 0;
			p->error = 0;
			list_init(&p->waiters);
		}
	}
}

static void request_up_to(struct sockpool *p, unsigned level)
{
	struct opener_req req = {
		.op = OPENER_SOCKET, .side = p->side, .family = p->family,
		.type = p->type, .count = SOCKPOOL_SIZE - p->n - p->requested,
		.tag = pool_tag(p),
	};
	int r;

	if (p->n + p->requested >= level)
		return;
	r = opener_send(&req);
	if (r < 0) {
		p->error = r;
		return;
	}
	p->requested += req.count;
	p->used = true;
}

static void refill(struct sockpool *p)
{
	request_up_to(p, SOCKPOOL_LOW);
}

/**
 * sockpool_top_up() - fill used pools to the brim while nothing else runs
 * @c:		context
 */
void sockpool_top_up(struct ctx *c)
{
	for (int s = 0; s < SIDE_MAX; s++) {
		for (int k = 0; k < POOL_KIND_MAX; k++) {
			struct sockpool *p = &c->pools[s][k];

			if (p->used && !p->error)
				request_up_to(p, SOCKPOOL_SIZE);
		}
	}
}

/**
 * sockpool_prime() - fill a pool synchronously, before the loop runs
 * @c:		context
 * @side:	remote side
 * @family:	AF_INET or AF_INET6
 * @type:	SOCK_STREAM or SOCK_DGRAM
 *
 * Return: 0 or -errno from the opener
 */
int sockpool_prime(struct ctx *c, enum side side, int family, int type)
{
	struct sockpool *p = pool_of(c, side, family, type);
	struct opener_req req = {
		.op = OPENER_SOCKET, .side = side, .family = family,
		.type = type, .count = SOCKPOOL_SIZE - p->n,
	};
	int r;

	p->used = true;
	if (p->n == SOCKPOOL_SIZE)
		return 0;	/* an earlier bridge to the same side filled it */
	r = opener_call(&req, p->fds + p->n, SOCKPOOL_SIZE - p->n);
	if (r < 0)
		return r;
	p->n += (unsigned)r;
	return 0;
}

/**
 * sockpool_take() - a fresh socket made in a remote side
 * @c:		context
 * @side:	remote side
 * @family:	AF_INET or AF_INET6
 * @type:	SOCK_STREAM or SOCK_DGRAM
 *
 * Return: the fd, or -EAGAIN when the pool is empty (a refill is on its
 * way; wait with sockpool_wait()), or the error of the last refill
 */
int sockpool_take(struct ctx *c, enum side side, int family, int type)
{
	struct sockpool *p = pool_of(c, side, family, type);
	int fd;

	if (!p->n) {
		if (p->error && !p->requested) {
			int r = p->error;

			p->error = 0;	/* next time, try again */
			refill(p);
			return r;
		}
		refill(p);
		return -EAGAIN;
	}
	fd = p->fds[--p->n];
	refill(p);
	return fd;
}

/**
 * sockpool_wait() - queue a waiter for the next socket of a pool
 * @c:		context
 * @side:	remote side
 * @family:	AF_INET or AF_INET6
 * @node:	the waiter's node, handed back through ctx.sockpool_ops
 */
void sockpool_wait(struct ctx *c, enum side side, int family, struct list_node *node)
{
	list_add_tail(&pool_of(c, side, family, SOCK_STREAM)->waiters, node);
}

/* The pool a reply is for; NULL for one of an earlier generation */
static struct sockpool *pool_of_tag(struct ctx *c, uint32_t tag)
{
	uint32_t index = tag & ((1u << TAG_INDEX_BITS) - 1);
	struct sockpool *p;

	if (index >= SIDE_MAX * POOL_KIND_MAX)
		return NULL;
	p = &c->pools[index / POOL_KIND_MAX][index % POOL_KIND_MAX];
	return pool_tag(p) == tag ? p : NULL;
}

static void serve_waiters(struct ctx *c, struct sockpool *p)
{
	while (!list_empty(&p->waiters)) {
		struct list_node *waiter = p->waiters.next;

		list_del(waiter);
		if (p->n) {
			c->sockpool_ops->ready(c, waiter, p->fds[--p->n]);
		} else if (p->error) {
			c->sockpool_ops->failed(c, waiter, p->error);
		} else {
			list_add_tail(&p->waiters, waiter);
			break;
		}
	}
	if (!p->error)
		refill(p);	/* after a failure, only the next take asks again */
}

static void fail_all(struct ctx *c, int error)
{
	for (int s = 0; s < SIDE_MAX; s++) {
		for (int k = 0; k < POOL_KIND_MAX; k++) {
			struct sockpool *p = &c->pools[s][k];

			p->requested = 0;
			p->error = error;
			serve_waiters(c, p);
		}
	}
}

/**
 * sockpool_on_reply() - take every reply the opener has sent
 * @c:		context
 */
void sockpool_on_reply(struct ctx *c)
{
	for (;;) {
		struct opener_reply rep;
		int fds[OPENER_MAX_FDS];
		struct sockpool *p;
		int r;

		r = opener_receive(&rep, fds, OPENER_MAX_FDS);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			/* its pidfd tells the user (children.c); waiters are
			 * reset with OPENER_EXITED, which their lines explain */
			log_errno(LOG_LEVEL_DEBUG, r, "the opener's channel ended");
			event_del_io(c, &c->opener_source);
			fail_all(c, r);
			return;
		}
		p = pool_of_tag(c, rep.tag);
		if (!p) {
			while (rep.count)
				close(fds[--rep.count]);
			continue;
		}
		p->requested = 0;
		p->error = rep.error;
		for (unsigned i = 0; i < rep.count; i++) {
			if (p->n < SOCKPOOL_SIZE)
				p->fds[p->n++] = fds[i];
			else
				close(fds[i]);
		}
		serve_waiters(c, p);
	}
}

static void on_reply(struct ctx *c, struct event_source *s, uint32_t events)
{
	(void)s;
	(void)events;
	sockpool_on_reply(c);
}

/**
 * sockpool_setup() - take the opener's replies as they come, if it runs
 * @c:		context, event_open() done
 *
 * Return: 0 or -errno
 */
int sockpool_setup(struct ctx *c)
{
	if (opener_fd() < 0)
		return 0;
	return event_add_io(c, &c->opener_source, opener_fd(), EPOLLIN, on_reply);
}

/**
 * sockpool_side_down() - close a side's pooled sockets, fail its waiters
 * @c:		context
 * @side:	the side whose namespace went away
 * @error:	what waiting and later connections are told, until it is up
 */
void sockpool_side_down(struct ctx *c, enum side side, int error)
{
	for (int k = 0; k < POOL_KIND_MAX; k++) {
		struct sockpool *p = &c->pools[side][k];

		while (p->n)
			close(p->fds[--p->n]);
		p->generation++;	/* what is on its way belongs to the old namespace */
		p->requested = 0;
		p->error = error;
		serve_waiters(c, p);
	}
}

/**
 * sockpool_side_up() - a side has a namespace again: stock its pools
 * @c:		context
 * @side:	the side
 */
void sockpool_side_up(struct ctx *c, enum side side)
{
	for (int k = 0; k < POOL_KIND_MAX; k++) {
		struct sockpool *p = &c->pools[side][k];

		p->error = 0;
		if (p->used)
			request_up_to(p, SOCKPOOL_SIZE);
	}
}

/**
 * sockpool_close() - close every pooled socket
 * @c:		context
 */
void sockpool_close(struct ctx *c)
{
	for (int s = 0; s < SIDE_MAX; s++)
		for (int k = 0; k < POOL_KIND_MAX; k++)
			while (c->pools[s][k].n)
				close(c->pools[s][k].fds[--c->pools[s][k].n]);
}
