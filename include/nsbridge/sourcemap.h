/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sourcemap.h - which container dials the host from which loopback address */
#ifndef NSBRIDGE_SOURCEMAP_H
#define NSBRIDGE_SOURCEMAP_H

#include "nsbridge/ctx.h"
#include "nsbridge/failure.h"

int sourcemap_check(const struct config *cfg, struct failure *f);
int sourcemap_setup(struct ctx *c, struct failure *f);
int sourcemap_assign(struct ctx *c, enum side side, struct failure *f);
void sourcemap_release(struct ctx *c, enum side side);
void sourcemap_changed(struct ctx *c);

#endif /* NSBRIDGE_SOURCEMAP_H */
