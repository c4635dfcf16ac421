/* SPDX-License-Identifier: GPL-2.0-or-later */
/* portfile.h - --port-file: the bridges that run, one "SERVICE EXPOSE" line each */
#ifndef NSBRIDGE_PORTFILE_H
#define NSBRIDGE_PORTFILE_H

#include <stddef.h>

#include "nsbridge/ctx.h"

int portfile_write(const struct ctx *c);
int portfile_text(const struct ctx *c, char **ret, size_t *len);

#endif /* NSBRIDGE_PORTFILE_H */
