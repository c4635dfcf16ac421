/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sdnotify.h - readiness and status for systemd (sd_notify) */
#ifndef NSBRIDGE_SDNOTIFY_H
#define NSBRIDGE_SDNOTIFY_H

#include "nsbridge/ctx.h"

int sdnotify_setup(void);
void sdnotify_ready(const struct ctx *c);
void sdnotify_status(const char *status);
void sdnotify_stopping(void);
void sdnotify_reloading(void);

#endif /* NSBRIDGE_SDNOTIFY_H */
