/* SPDX-License-Identifier: GPL-2.0-or-later */
/* audit.h - nsbridge ports: who listens in a namespace */
#ifndef NSBRIDGE_AUDIT_H
#define NSBRIDGE_AUDIT_H

#include "nsbridge/cli.h"

int audit_run(const struct config *cfg);

#endif /* NSBRIDGE_AUDIT_H */
