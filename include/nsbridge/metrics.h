/* SPDX-License-Identifier: GPL-2.0-or-later */
/* metrics.h - --metrics ADDR:PORT: the status figures for Prometheus */
#ifndef NSBRIDGE_METRICS_H
#define NSBRIDGE_METRICS_H

#include "nsbridge/ctx.h"

int metrics_setup(struct ctx *c, struct failure *f);
void metrics_resume(struct ctx *c);

#endif /* NSBRIDGE_METRICS_H */
