/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sockpool.h - sockets made ahead of time in namespaces the relay cannot enter */
#ifndef NSBRIDGE_SOCKPOOL_H
#define NSBRIDGE_SOCKPOOL_H

#include "nsbridge/ctx.h"
#include "nsbridge/list.h"

/**
 * struct sockpool_ops - how a waiter gets the socket it waited for
 *			 (ctx.sockpool_ops: dial.c's)
 * @ready:	@fd is the waiter's, a socket of the pool it waited on
 * @failed:	the refill failed with -errno @error
 *
 * @waiter is the node given to sockpool_wait(), off the list again.
 */
struct sockpool_ops {
	void (*ready)(struct ctx *c, struct list_node *waiter, int fd);
	void (*failed)(struct ctx *c, struct list_node *waiter, int error);
};

enum pool_kind pool_kind_of(int family, int type);
void sockpool_init(struct ctx *c);
int sockpool_prime(struct ctx *c, enum side side, int family, int type);
int sockpool_take(struct ctx *c, enum side side, int family, int type);
void sockpool_wait(struct ctx *c, enum side side, int family, struct list_node *node);
void sockpool_top_up(struct ctx *c);
void sockpool_on_reply(struct ctx *c);
int sockpool_setup(struct ctx *c);
void sockpool_side_down(struct ctx *c, enum side side, int error);
void sockpool_side_up(struct ctx *c, enum side side);
void sockpool_close(struct ctx *c);

#endif /* NSBRIDGE_SOCKPOOL_H */
