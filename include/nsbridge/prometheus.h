/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prometheus.h - the figures of a running nsbridge in Prometheus's text format */
#ifndef NSBRIDGE_PROMETHEUS_H
#define NSBRIDGE_PROMETHEUS_H

#include <stddef.h>

#include "nsbridge/ctx.h"

int prometheus_text(const struct ctx *c, char **ret_text, size_t *ret_len);

#endif /* NSBRIDGE_PROMETHEUS_H */
