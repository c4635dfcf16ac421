/* SPDX-License-Identifier: GPL-2.0-or-later */
/* note.h - a bridge's last error and its endpoints as log lines name them */
#ifndef NSBRIDGE_NOTE_H
#define NSBRIDGE_NOTE_H

#include <stddef.h>

#include "nsbridge/ctx.h"

void note_endpoint_text(const struct endpoint *ep, int family, char *buf, size_t len);
const char *note_service_text(const struct ctx *c, const struct endpoint *svc, char *buf,
				size_t len);
const char *note_error(struct bridge *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* NSBRIDGE_NOTE_H */
