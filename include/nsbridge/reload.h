/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reload.h - SIGHUP: read --config again and apply the difference */
#ifndef NSBRIDGE_RELOAD_H
#define NSBRIDGE_RELOAD_H

#include <stddef.h>

#include "nsbridge/ctx.h"

void reload_setup(struct config *config, int argc, char *argv[]);
void reload_on_signal(struct ctx *c);
int reload_change(struct ctx *c, const char *request, char *answer, size_t len);

#endif /* NSBRIDGE_RELOAD_H */
