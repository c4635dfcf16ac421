/* SPDX-License-Identifier: GPL-2.0-or-later */
/* control.h - the control socket, which nsbridge status reads */
#ifndef NSBRIDGE_CONTROL_H
#define NSBRIDGE_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "nsbridge/ctx.h"

#define CONTROL_RUN_DIR	"/run/nsbridge"
/* The abstract name nsbridge add and remove bind to: the socket's reader
 * is sent no status, and asked to change */
#define CONTROL_CHANGE_NAME	"nsbridge-change/"

const char *control_dir(int which, char *buf, size_t len);
int control_setup(struct ctx *c);
const char *control_path(const struct ctx *c);
void control_on_accept(struct ctx *c);
void control_on_writable(struct ctx *c, unsigned index);
void control_resume(struct ctx *c);
uint64_t control_next_deadline(const struct ctx *c);
void control_tick(struct ctx *c);
void control_release(struct ctx *c);

#endif /* NSBRIDGE_CONTROL_H */
