/* SPDX-License-Identifier: GPL-2.0-or-later */
/* event.c - the event layer: registered sources and deadlines, the clock, the timer, stop
 *
 * Theory of operation
 *
 * The bottom of the running core, after systemd's sd-event: the loop
 * (loop.c) owns the epoll set, the timer and the order of things, and
 * knows none of the modules that use them. A module registers what it
 * needs here at its set-up, and is called back; none calls the loop.
 *
 * Descriptors are of two kinds. The relay's own - listeners, relayed
 * connections, UDP flows - carry a tagged reference (ctx.h: kind, slot,
 * end) that the loop dispatches with a switch, so that the path every
 * byte takes has no indirect call and no lookup (event_epoll_add()).
 * Every other descriptor is a source: a struct event_source that the
 * module keeps in its own state, registered with the function to call
 * (event_add_io()). Its reference is of the one kind EPOLL_TYPE_SOURCE and
 * names a slot of ctx.sources, where event_dispatch() finds the source;
 * the callback finds the module's state with container_of(). A slot freed
 * by event_del_io() is given to the next registration, maybe within the
 * same batch, so the reference carries the registration's number too:
 * an event still queued for the old source is dropped, not delivered to
 * the new one (a pidfd's "exited" to the wrong process).
 *
 * Every deadline is served by one timerfd, armed by the loop before each
 * wait for the earliest of all (event_arm_timer(): absolute, on the
 * monotonic clock of event_clock_ms(), which is never 0 so that 0 can
 * mean none). A module with deadlines registers a struct event_deadline:
 * event_next_deadline() asks each for its earliest, and event_expire(),
 * after every batch, has each act on what is due. Whatever acts on a
 * deadline moves it on: one left in the past would fire the timer again
 * at once. Both go through the modules in the order they registered.
 *
 * What a module must undo at exit (free its state, unlink its socket,
 * end CMD's group) it registers with event_add_exit(); event_release()
 * does it, in the order registered, before the loop frees the core.
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

#include <assert.h>
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
 * event_clock_us() - the monotonic clock, finer: for durations that are
 *		      measured, not waited for
 *
 * Return: microseconds
 */
uint64_t event_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/**
 * event_epoll_add() - watch @fd with the tagged reference @ref
 * @c:		context
 * @fd:		file descriptor
 * @events:	epoll event bits
 * @ref:	what the fd is: a listener, a connection's socket, a UDP flow
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

/* Change what @fd, watched already, is watched for: 0 or -errno */
static int event_epoll_mod(struct ctx *c, int fd, uint32_t events, union epoll_ref ref)
{
	struct epoll_event ev = { .events = events, .data.u64 = ref.u64 };

	if (epoll_ctl(c->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

/**
 * event_add_io() - watch @fd, and have @on_event called when it is ready
 * @c:		context, event_open() done
 * @s:		the source, in the caller's state; not registered
 * @fd:		file descriptor
 * @events:	epoll event bits
 * @on_event:	what to call, with @s and the events
 *
 * Return: 0 or -errno; @s is left unregistered on failure
 */
int event_add_io(struct ctx *c, struct event_source *s, int fd, uint32_t events,
		 event_io_fn *on_event)
{
	union epoll_ref ref = { .type = EPOLL_TYPE_SOURCE };
	unsigned slot;
	int r;

	assert(!s->added);
	r = slots_alloc(&c->sources, s, &slot);
	if (r < 0)
		return r;
	*s = (struct event_source){
		.fd = fd, .on_event = on_event, .gen = ++c->source_gen, .slot = slot,
	};
	ref.gen = s->gen;
	ref.index = slot;
	r = event_epoll_add(c, fd, events, ref);
	if (r < 0) {
		slots_put(&c->sources, slot);
		return r;
	}
	s->added = true;
	return 0;
}

/**
 * event_mod_io() - change what a source is watched for
 * @c:		context
 * @s:		a registered source
 * @events:	epoll event bits, 0 to leave it unwatched for now
 *
 * Return: 0 or -errno
 */
int event_mod_io(struct ctx *c, struct event_source *s, uint32_t events)
{
	union epoll_ref ref = { .type = EPOLL_TYPE_SOURCE, .gen = s->gen, .index = s->slot };

	if (!s->added)
		return -ENOENT;
	return event_epoll_mod(c, s->fd, events, ref);
}

/**
 * event_del_io() - stop watching a source
 * @c:		context
 * @s:		the source; nothing is done if it is not registered
 *
 * To be called before its fd is closed: the number may be another
 * descriptor's once it is.
 */
void event_del_io(struct ctx *c, struct event_source *s)
{
	if (!s->added)
		return;
	epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
	if (slots_get(&c->sources, s->slot) == s)	/* not after event_close() */
		slots_put(&c->sources, s->slot);
	s->added = false;
}

/**
 * event_dispatch() - an event of a registered source: call it
 * @c:		context
 * @ref:	its reference, EPOLL_TYPE_SOURCE
 * @events:	epoll event bits
 */
void event_dispatch(struct ctx *c, union epoll_ref ref, uint32_t events)
{
	struct event_source *s = slots_get(&c->sources, ref.index);

	if (s && s->gen == ref.gen)	/* else removed earlier in this batch */
		s->on_event(c, s, events);
}

/**
 * event_add_deadline() - have the loop ask a module for its deadlines
 * @c:		context; event_open() need not be done yet
 * @d:		the module's, for the life of @c
 *
 * One registration per module, so EVENT_DEADLINES_MAX is never reached.
 */
void event_add_deadline(struct ctx *c, const struct event_deadline *d)
{
	assert(c->n_deadlines < EVENT_DEADLINES_MAX);
	c->deadlines[c->n_deadlines++] = d;
}

/**
 * event_next_deadline() - the earliest deadline of every module registered
 * @c:		context
 *
 * Return: monotonic ms (event_clock_ms()), 0 for none
 */
uint64_t event_next_deadline(const struct ctx *c)
{
	uint64_t next = 0;

	for (unsigned i = 0; i < c->n_deadlines; i++) {
		uint64_t when = c->deadlines[i]->next(c);

		if (when && (!next || when < next))
			next = when;
	}
	return next;
}

/**
 * event_expire() - have every module act on its deadlines that are due
 * @c:		context, ctx.now_ms read
 */
void event_expire(struct ctx *c)
{
	for (unsigned i = 0; i < c->n_deadlines; i++)
		c->deadlines[i]->expire(c);
}

/**
 * event_add_exit() - have @on_exit called when the process ends
 * @c:		context
 * @on_exit:	what frees a module's state, by event_release()
 *
 * One registration per module, so EVENT_EXITS_MAX is never reached.
 */
void event_add_exit(struct ctx *c, void (*on_exit)(struct ctx *c))
{
	assert(c->n_exits < EVENT_EXITS_MAX);
	c->exits[c->n_exits++] = on_exit;
}

/**
 * event_release() - call what the modules registered with event_add_exit(),
 *		     in that order, once
 * @c:		context
 */
void event_release(struct ctx *c)
{
	for (unsigned i = 0; i < c->n_exits; i++)
		c->exits[i](c);
	c->n_exits = 0;
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
	c->starved_retry_ms = c->now_ms + STARVED_RETRY_MS;
}

/* The timer fired: whatever is due is acted on after the batch, and the
 * timer armed again then */
static void on_timer(struct ctx *c, struct event_source *s, uint32_t events)
{
	uint64_t expirations;

	(void)events;
	if (read(s->fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_errno(LOG_LEVEL_WARNING, -errno, "timerfd");
	c->timer_ms = 0;
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
	if (!c->starved || (!freed && c->now_ms < c->starved_retry_ms))
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
	c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epoll_fd < 0)
		return -errno;
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->timer_fd < 0)
		return -errno;
	return event_add_io(c, &c->timer_source, c->timer_fd, EPOLLIN, on_timer);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/**
 * event_close() - close the epoll instance and the timer, forget the sources
 * @c:		context, in any state; event_release() done
 */
void event_close(struct ctx *c)
{
	close_fd(&c->epoll_fd);
	close_fd(&c->timer_fd);
	slots_release(&c->sources);
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
