/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mirror.h - every port listening on one side's loopback, bound on the other's */
#ifndef NSBRIDGE_MIRROR_H
#define NSBRIDGE_MIRROR_H

#include <stdint.h>

#include "nsbridge/ctx.h"

int mirror_setup(struct ctx *c);
uint64_t mirror_next_deadline(const struct ctx *c);
void mirror_tick(struct ctx *c);
void mirror_side_down(struct ctx *c, enum side side);
void mirror_release(struct ctx *c);

#endif /* NSBRIDGE_MIRROR_H */
