/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bridge.h - the bridges: each SERVICE EXPOSE pair at run time */
#ifndef NSBRIDGE_BRIDGE_H
#define NSBRIDGE_BRIDGE_H

#include <stddef.h>

#include "nsbridge/ctx.h"

/* Bridges a running nsbridge may have beyond those it started with */
#define BRIDGES_ADDED_MAX	64
#define BRIDGES_LABELLED_MAX	1024	/* with --labels: LABELLED_MAX containers' */

/* Room for a whole ready line (bridge_ready_line()) */
#define BRIDGE_READY_MAX	(sizeof(((struct bridge *)NULL)->service_text) + \
				 sizeof(((struct bridge *)NULL)->expose_text) + 16)

int bridges_setup(struct ctx *c, struct failure *f);
const char *bridge_ready_line(const struct bridge *b, char *buf, size_t len);
void bridges_print_ready(const struct ctx *c);
bool bridge_uses_side(const struct bridge *b, enum side side);
enum side bridge_container_side(const struct bridge *b);
void bridges_side_down(struct ctx *c, enum side side);
void bridges_side_up(struct ctx *c, enum side side);
int bridge_add(struct ctx *c, const struct bridge_spec *spec, struct bridge *from,
	       struct bridge **ret, struct failure *f);
void bridge_discard(struct ctx *c, struct bridge *b);
void bridge_remove(struct ctx *c, struct bridge *b);
size_t bridges_room(const struct ctx *c);
void bridges_init(struct ctx *c);

#endif /* NSBRIDGE_BRIDGE_H */
