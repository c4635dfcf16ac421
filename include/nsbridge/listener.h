/* SPDX-License-Identifier: GPL-2.0-or-later */
/* listener.h - the listening sockets of the bridges: binding, accepting,
 * and waiting for room */
#ifndef NSBRIDGE_LISTENER_H
#define NSBRIDGE_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsbridge/ctx.h"

struct sock_addr;

uint32_t listener_events(const struct listener *l);
int listener_why(struct ctx *c, enum side side, const struct sock_addr *a, int err,
		 struct failure *f);
int listener_bind_bridge(struct ctx *c, struct bridge *b, struct failure *f);
void listener_unbind_bridge(struct ctx *c, const struct bridge *b);
int listener_watch_bridge(struct ctx *c, const struct bridge *b);
int listener_watch_all(struct ctx *c);
void listener_take(struct ctx *c, const struct bridge *from, struct bridge *to);
void listener_retire_bridge(struct ctx *c, const struct bridge *b);
int listener_bind_port(struct ctx *c, struct bridge *b, unsigned offset);
void listener_unbind_port(struct ctx *c, const struct bridge *b, unsigned offset);
void listener_close_side(struct ctx *c, enum side side);
void listener_bind_side(struct ctx *c, enum side side);
bool listener_bridge_bound(const struct ctx *c, const struct bridge *b);
void listener_on_accept(struct ctx *c, struct listener *l);
void listener_resume(struct ctx *c, bool retry);
void listener_close_all(struct ctx *c);
void listener_release(struct ctx *c);

#endif /* NSBRIDGE_LISTENER_H */
