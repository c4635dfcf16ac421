/* SPDX-License-Identifier: GPL-2.0-or-later */
/* loop.h - the epoll loop: dispatch, the drain, signals */
#ifndef NSBRIDGE_LOOP_H
#define NSBRIDGE_LOOP_H

#include "nsbridge/ctx.h"

void loop_init(struct ctx *c, const struct config *config);
void loop_release(struct ctx *c);
int loop_setup(struct ctx *c);
int loop_run_once(struct ctx *c, int timeout_ms);
int loop_run(struct ctx *c);

#endif /* NSBRIDGE_LOOP_H */
