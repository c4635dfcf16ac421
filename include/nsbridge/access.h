/* SPDX-License-Identifier: GPL-2.0-or-later */
/* access.h - --allow-uid: which users' clients an EXPOSE on the host takes */
#ifndef NSBRIDGE_ACCESS_H
#define NSBRIDGE_ACCESS_H

#include "nsbridge/ctx.h"

int access_setup(struct ctx *c);
bool access_allows(struct ctx *c, const struct listener *l, int fd);
void access_release(struct ctx *c);

#endif /* NSBRIDGE_ACCESS_H */
