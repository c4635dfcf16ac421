/* SPDX-License-Identifier: GPL-2.0-or-later */
/* udp.h - UDP bridges: a flow, and a socket toward SERVICE, per client */
#ifndef NSBRIDGE_UDP_H
#define NSBRIDGE_UDP_H

#include <stdint.h>

#include "nsbridge/ctx.h"

void udp_on_clients(struct ctx *c, unsigned listener);
void udp_on_event(struct ctx *c, union epoll_ref ref, uint32_t events);
void udp_init(struct ctx *c);
void udp_close_listener(struct ctx *c, unsigned listener);
void udp_close_bridge(struct ctx *c, struct bridge *b);
void udp_close_all(struct ctx *c);
void udp_release(struct ctx *c);

#endif /* NSBRIDGE_UDP_H */
