/* SPDX-License-Identifier: GPL-2.0-or-later */
/* command.h - nsbridge ... -- CMD: run a command while the bridges stand */
#ifndef NSBRIDGE_COMMAND_H
#define NSBRIDGE_COMMAND_H

#include <stdbool.h>

#include "nsbridge/ctx.h"

int command_start(struct ctx *c);
void command_go(struct ctx *c);
bool command_forward(struct ctx *c, int signo, bool from_tty);

#endif /* NSBRIDGE_COMMAND_H */
