/* SPDX-License-Identifier: GPL-2.0-or-later */
/* event.h - the event primitives: epoll registration, the clock, the timer, stop */
#ifndef NSBRIDGE_EVENT_H
#define NSBRIDGE_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "nsbridge/ctx.h"

uint64_t event_clock_ms(void);
int event_epoll_add(struct ctx *c, int fd, uint32_t events, union epoll_ref ref);
int event_epoll_mod(struct ctx *c, int fd, uint32_t events, union epoll_ref ref);
void event_starve(struct ctx *c);
bool event_starve_retry(struct ctx *c, bool freed);
int event_open(struct ctx *c);
void event_arm_timer(struct ctx *c, uint64_t next);
void event_on_timer(struct ctx *c);
void event_stop(struct ctx *c);

#endif /* NSBRIDGE_EVENT_H */
