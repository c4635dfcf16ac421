/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sandbox.h - the relay's system call filter */
#ifndef NSBRIDGE_SANDBOX_H
#define NSBRIDGE_SANDBOX_H

#include <stdbool.h>

int sandbox_enter(bool port_file);

#endif /* NSBRIDGE_SANDBOX_H */
