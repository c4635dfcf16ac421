/* SPDX-License-Identifier: GPL-2.0-or-later */
/* child.h - the helper processes' common start: die with the relay, leave signals to it */
#ifndef NSBRIDGE_CHILD_H
#define NSBRIDGE_CHILD_H

#include <sys/types.h>

void child_setup(const char *name, pid_t parent);

#endif /* NSBRIDGE_CHILD_H */
