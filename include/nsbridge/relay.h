/* SPDX-License-Identifier: GPL-2.0-or-later */
/* relay.h - TCP connections relayed with splice() */
#ifndef NSBRIDGE_RELAY_H
#define NSBRIDGE_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "nsbridge/conn.h"
#include "nsbridge/ctx.h"

struct sock_addr;

int relay_conn_new(struct ctx *c, struct listener *l, int client_fd,
		   const struct sock_addr *peer);
void relay_wait_fd(struct ctx *c, struct relay_conn *conn, int err);
void relay_retry_fd_waiters(struct ctx *c);
void relay_conn_established(struct ctx *c, struct relay_conn *conn);
void relay_conn_close(struct ctx *c, struct relay_conn *conn, bool reset_client, bool reset_service);
void relay_on_event(struct ctx *c, union epoll_ref ref, uint32_t events);
bool relay_free_closed(struct ctx *c);
uint64_t relay_next_deadline(const struct ctx *c);
void relay_expire(struct ctx *c);
void relay_init(struct ctx *c);
void relay_close_bridge(struct ctx *c, const struct bridge *b);
void relay_close_all(struct ctx *c);

#endif /* NSBRIDGE_RELAY_H */
