/* SPDX-License-Identifier: GPL-2.0-or-later */
/* status.h - a running nsbridge's figures, as JSON and as Prometheus text */
#ifndef NSBRIDGE_STATUS_H
#define NSBRIDGE_STATUS_H

#include <json-c/json.h>
#include <stddef.h>

#include "nsbridge/ctx.h"

json_object *status_json(const struct ctx *c);

#endif /* NSBRIDGE_STATUS_H */
