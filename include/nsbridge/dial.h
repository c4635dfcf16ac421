/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dial.h - connecting to SERVICE, with fallback and timeout */
#ifndef NSBRIDGE_DIAL_H
#define NSBRIDGE_DIAL_H

#include "nsbridge/ctx.h"
#include "nsbridge/relay.h"

void dial_begin(struct ctx *c, struct relay_conn *conn);
void dial_start(struct ctx *c, struct relay_conn *conn);
void dial_with_socket(struct ctx *c, struct relay_conn *conn, int fd);
void dial_on_event(struct ctx *c, struct relay_conn *conn, uint32_t events);
void dial_failed(struct ctx *c, struct relay_conn *conn, int error);
void dial_expire(struct ctx *c);
uint64_t dial_next_retry(const struct ctx *c);

#endif /* NSBRIDGE_DIAL_H */
