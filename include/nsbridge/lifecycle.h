/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lifecycle.h - following the containers: down when one stops, up when it runs again */
#ifndef NSBRIDGE_LIFECYCLE_H
#define NSBRIDGE_LIFECYCLE_H

#include "nsbridge/ctx.h"

int lifecycle_setup(struct ctx *c);
bool lifecycle_init_exited(const struct side_ns *s);
void lifecycle_on_exit(struct ctx *c, enum side side);

#endif /* NSBRIDGE_LIFECYCLE_H */
