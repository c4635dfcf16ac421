/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dial.h - connecting to SERVICE, with fallback and timeout */
#ifndef NSBRIDGE_DIAL_H
#define NSBRIDGE_DIAL_H

#include <stdint.h>

#include "nsbridge/conn.h"
#include "nsbridge/ctx.h"
#include "nsbridge/sockpool.h"

/**
 * struct dial_ops - how dialling a connection's SERVICE ended, told to the
 *		     module that relays it (ctx.dial_ops: relay.c's)
 * @established: connected; the connection is the relay's from here
 * @unreachable: every SERVICE failed, the line is logged: reset the client
 * @wait_fd:	 no descriptor for the socket (-EMFILE, -ENFILE): call
 *		 dial_start() again when there may be one
 */
struct dial_ops {
	void (*established)(struct ctx *c, struct relay_conn *conn);
	void (*unreachable)(struct ctx *c, struct relay_conn *conn);
	void (*wait_fd)(struct ctx *c, struct relay_conn *conn, int err);
};

void dial_begin(struct ctx *c, struct relay_conn *conn);
void dial_start(struct ctx *c, struct relay_conn *conn);
void dial_on_event(struct ctx *c, struct relay_conn *conn, uint32_t events);
void dial_init(struct ctx *c);

#endif /* NSBRIDGE_DIAL_H */
