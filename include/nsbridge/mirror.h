/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mirror.h - every port listening on one side's loopback, bound on the other's */
#ifndef NSBRIDGE_MIRROR_H
#define NSBRIDGE_MIRROR_H

#include "nsbridge/ctx.h"

int mirror_setup(struct ctx *c);
void mirror_side_down(struct ctx *c, enum side side);

#endif /* NSBRIDGE_MIRROR_H */
