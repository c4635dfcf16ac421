/* SPDX-License-Identifier: GPL-2.0-or-later */
/* statuscmd.h - nsbridge status: what running nsbridge processes carry */
#ifndef NSBRIDGE_STATUSCMD_H
#define NSBRIDGE_STATUSCMD_H

#include "nsbridge/cli.h"

int statuscmd_run(const struct config *cfg);
int statuscmd_change(const struct config *cfg);

#endif /* NSBRIDGE_STATUSCMD_H */
