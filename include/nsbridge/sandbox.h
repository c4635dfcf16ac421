/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sandbox.h - the relay's system call filter */
#ifndef NSBRIDGE_SANDBOX_H
#define NSBRIDGE_SANDBOX_H

int sandbox_enter(void);

#endif /* NSBRIDGE_SANDBOX_H */
