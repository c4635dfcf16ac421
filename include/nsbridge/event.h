/* SPDX-License-Identifier: GPL-2.0-or-later */
/* event.h - the event layer: registered sources and deadlines, the clock, the timer, stop */
#ifndef NSBRIDGE_EVENT_H
#define NSBRIDGE_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "nsbridge/ctx.h"

/**
 * struct event_deadline - the deadlines of one module, as the loop sees them
 * @next:	the earliest, in event_clock_ms(); 0 for none
 * @expire:	act on those that are due and move them on; called after
 *		every batch of events, whether one is due or not
 */
struct event_deadline {
	uint64_t (*next)(const struct ctx *c);
	void (*expire)(struct ctx *c);
};

uint64_t event_clock_ms(void);
uint64_t event_clock_us(void);
int event_open(struct ctx *c);
void event_close(struct ctx *c);
int event_add_io(struct ctx *c, struct event_source *s, int fd, uint32_t events,
		 event_io_fn *on_event);
int event_mod_io(struct ctx *c, struct event_source *s, uint32_t events);
void event_del_io(struct ctx *c, struct event_source *s);
void event_dispatch(struct ctx *c, union epoll_ref ref, uint32_t events);
void event_add_deadline(struct ctx *c, const struct event_deadline *d);
uint64_t event_next_deadline(const struct ctx *c);
void event_expire(struct ctx *c);
void event_add_exit(struct ctx *c, void (*on_exit)(struct ctx *c));
void event_release(struct ctx *c);
int event_epoll_add(struct ctx *c, int fd, uint32_t events, union epoll_ref ref);
void event_starve(struct ctx *c);
bool event_starve_retry(struct ctx *c, bool freed);
void event_arm_timer(struct ctx *c, uint64_t next);
void event_stop(struct ctx *c);

#endif /* NSBRIDGE_EVENT_H */
