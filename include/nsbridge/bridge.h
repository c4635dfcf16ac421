/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bridge.h - the listeners of each SERVICE EXPOSE pair, and accepting */
#ifndef NSBRIDGE_BRIDGE_H
#define NSBRIDGE_BRIDGE_H

#include "nsbridge/ctx.h"

struct sock_addr;

/* Bridges a running nsbridge may have beyond those it started with */
#define BRIDGES_ADDED_MAX	64
#define BRIDGES_LABELLED_MAX	1024	/* with --labels: LABELLED_MAX containers' */

int bridges_setup(struct ctx *c);
int bridge_listen_why(struct ctx *c, enum side side, const struct sock_addr *a, int err,
		      char *why, size_t len);
int bridge_listen_failed(struct ctx *c, enum side side, const struct sock_addr *a, int err);
void bridges_print_ready(const struct ctx *c);
int bridges_write_port_file(const struct ctx *c);
int bridges_port_file_text(const struct ctx *c, char **ret, size_t *len);
void bridge_on_accept(struct ctx *c, struct listener *l);
uint32_t listener_events(const struct listener *l);
void bridges_resume(struct ctx *c, bool fds_freed);
void bridges_close_listeners(struct ctx *c);
int bridge_listen_port(struct ctx *c, struct bridge *b, unsigned offset);
void bridge_unlisten_port(struct ctx *c, const struct bridge *b, unsigned offset);
bool bridge_uses_side(const struct bridge *b, enum side side);
void bridges_side_down(struct ctx *c, enum side side);
void bridges_side_up(struct ctx *c, enum side side);
int bridge_add(struct ctx *c, const struct bridge_spec *spec, struct bridge *from,
	       struct bridge **ret, char *why, size_t len);
void bridge_discard(struct ctx *c, struct bridge *b);
void bridge_remove(struct ctx *c, struct bridge *b);
size_t bridges_room(const struct ctx *c);
void bridges_init(struct ctx *c);

#endif /* NSBRIDGE_BRIDGE_H */
