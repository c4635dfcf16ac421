/* SPDX-License-Identifier: GPL-2.0-or-later */
/* metrics.h - --metrics ADDR:PORT: the status figures for Prometheus */
#ifndef NSBRIDGE_METRICS_H
#define NSBRIDGE_METRICS_H

#include <stdint.h>

#include "nsbridge/ctx.h"

int metrics_setup(struct ctx *c);
void metrics_on_event(struct ctx *c);
uint64_t metrics_next_deadline(const struct ctx *c);
void metrics_tick(struct ctx *c);
void metrics_resume(struct ctx *c);
void metrics_release(struct ctx *c);

#endif /* NSBRIDGE_METRICS_H */
