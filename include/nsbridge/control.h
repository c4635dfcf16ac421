/* SPDX-License-Identifier: GPL-2.0-or-later */
/* control.h - the control socket, which nsbridge status reads */
#ifndef NSBRIDGE_CONTROL_H
#define NSBRIDGE_CONTROL_H

#include <stddef.h>

#include "nsbridge/ctx.h"

#define CONTROL_RUN_DIR	"/run/nsbridge"
/* The abstract name nsbridge add and remove bind to: the socket's reader
 * is sent no status, and asked to change */
#define CONTROL_CHANGE_NAME	"nsbridge-change/"

const char *control_dir(int which, char *buf, size_t len);
int control_setup(struct ctx *c);
const char *control_path(const struct ctx *c);
void control_resume(struct ctx *c);

#endif /* NSBRIDGE_CONTROL_H */
