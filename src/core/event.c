/* SPDX-License-Identifier: GPL-2.0-or-later */
/* event.c - the event primitives: epoll registration, the clock, the timer, stop
 *
 * Theory of operation
 *
 * The bottom of the running core. Every module registers its descriptors
 * here, reads the clock here, and asks for a stop here; none of them
 * calls the loop (loop.c), which sits at the top and only dispatches
 * what epoll reports to the module a reference names.
 *
 * One epoll instance and one timerfd serve the process. The timer is
 * armed for an absolute deadline on the monotonic clock (event_clock_ms(),
 * which is never 0, so that 0 can mean "none"); the loop works out which
 * deadline is the earliest, since only it knows every module.
 *
 * A stop (event_stop()) is asked by modules below the loop: the end of
 * -- CMD, a container gone for good. What a stop does (closing the
 * listeners, starting the drain) belongs to the loop, so it is reached
 * through the hook ctx.on_stop that the loop sets, and the call still
 * goes downward.
 *
 * The shortage of descriptors is owned here, with its one retry time.
 * Whatever cannot get a descriptor - a listener's accept (listener.c), a
 * connection's socket or pipe (relay.c), the control socket, --metrics -
 * calls event_starve() and waits. It tries again when connections closed
 * and gave some back, or at the retry time, never in a busy loop; a
 * retry (event_starve_retry()) forgets the shortage, and what is still
 * short calls event_starve() again, which sets the next retry time: one
 * left in the past would fire the timer at once, again and again.
 */

#include <errno.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "nsbridge/event.h"

/* Out of descriptors, what waits for one tries again after this at the latest */
#define STARVED_RETRY_MS	100

/**
 * event_clock_ms() - the monotonic clock
 *
 * Return: milliseconds, never 0
 */
uint64_t event_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
}

/**
 * event_epoll_add() - watch @fd with reference @ref
 * @c:		context
 * @fd:		file descriptor
 * @events:	epoll event bits
 * @ref:	what the fd is
 *
 * Return: 0 or -errno
 */
int event_epoll_add(struct ctx *c, int fd, uint32_t events, union epoll_ref ref)
{
	struct epoll_event ev = { .events = events, .data.u64 = ref.u64 };

	if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

/**
 * event_epoll_mod() - change what @fd is watched for
 * @c:		context
 * @fd:		file descriptor, watched already
 * @events:	epoll event bits, 0 to leave it unwatched for now
 * @ref:	what the fd is
 *
 * Return: 0 or -errno
 */
int event_epoll_mod(struct ctx *c, int fd, uint32_t events, union epoll_ref ref)
{
	struct epoll_event ev = { .events = events, .data.u64 = ref.u64 };

	if (epoll_ctl(c->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

/**
 * event_starve() - something could not get a descriptor: try again when
 *		  connections free some, or after STARVED_RETRY_MS
 * @c:		context
 *
 * A shortage already known keeps its retry time.
 */
void event_starve(struct ctx *c)
{
	if (c->starved)
		return;
	c->starved = true;
	c->retry_accept_ms = c->now_ms + STARVED_RETRY_MS;
}

/**
 * event_starve_retry() - whether what is short of descriptors tries again now
 * @c:		context
 * @freed:	connections were closed since the last look, giving some back
 *
 * When it does, the shortage is forgotten: whatever is still short says
 * so again with event_starve(), for a retry time ahead.
 *
 * Return: true if it is time to try again
 */
bool event_starve_retry(struct ctx *c, bool freed)
{
	if (!c->starved || (!freed && c->now_ms < c->retry_accept_ms))
		return false;
	c->starved = false;
	return true;
}

/**
 * event_open() - the epoll instance and the timerfd, the timer registered
 * @c:		context, with neither open
 *
 * Return: 0 or -errno
 */
int event_open(struct ctx *c)
{
	union epoll_ref ref = { .type = EPOLL_TYPE_TIMER };

	c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epoll_fd < 0)
		return -errno;
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->timer_fd < 0)
		return -errno;
	return event_epoll_add(c, c->timer_fd, EPOLLIN, ref);
}

/**
 * event_arm_timer() - have the timer fire at @next
 * @c:		context
 * @next:	monotonic ms (event_clock_ms()), 0 to disarm it
 *
 * Nothing is asked of the kernel when the timer is armed for @next
 * already, as it is after most batches.
 */
void event_arm_timer(struct ctx *c, uint64_t next)
{
	struct itimerspec its = { 0 };

	if (next == c->timer_ms)
		return;
	if (next) {
		/* event_clock_ms() is CLOCK_MONOTONIC in ms plus one */
		its.it_value.tv_sec = (time_t)((next - 1) / 1000);
		its.it_value.tv_nsec = (long)((next - 1) % 1000) * 1000000;
	}
	if (timerfd_settime(c->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		c->timer_ms = next;
}

/**
 * event_on_timer() - the timer fired: whatever is due is acted on after
 *		      the batch, and the timer re-armed then
 * @c:		context
 */
void event_on_timer(struct ctx *c)
{
	uint64_t expirations;

	if (read(c->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_errno(LOG_LEVEL_WARNING, -errno, "timerfd");
	c->timer_ms = 0;
}

/**
 * event_stop() - stop accepting and let open connections finish, as on SIGTERM
 * @c:		context
 *
 * A stop asked while one is under way changes nothing.
 */
void event_stop(struct ctx *c)
{
	if (!c->draining && c->on_stop)
		c->on_stop(c);
}
