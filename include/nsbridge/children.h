/* SPDX-License-Identifier: GPL-2.0-or-later */
/* children.h - the relay's helper processes: watched by pidfd, their end told at once */
#ifndef NSBRIDGE_CHILDREN_H
#define NSBRIDGE_CHILDREN_H

#include <stddef.h>

#include "nsbridge/ctx.h"

const char *children_name(enum helper h);
const char *children_how(const struct helper_proc *p, char *buf, size_t len);
int children_watch(struct ctx *c);

#endif /* NSBRIDGE_CHILDREN_H */
