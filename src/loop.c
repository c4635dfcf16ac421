/* SPDX-License-Identifier: GPL-2.0-or-later */
/* loop.c - the epoll loop: dispatch, deadlines, signals, drain
 *
 * Theory of operation
 *
 * One thread, one epoll instance. The loop is the top of the layers
 * (docs/design.md): it calls every module and none calls it, but
 * main.c. The modules register their fds, read the clock and ask for a
 * stop through event.c, at the bottom; a stop reaches the drain here
 * through ctx.on_stop. loop_init() wires the other hooks by which a lower
 * module tells one above (struct dial_ops, struct sockpool_ops).
 *
 * Every fd is registered with a tagged reference (ctx.h) that says
 * what it is, and the loop dispatches on it. Signals arrive through a
 * signalfd and every deadline through event.c's one timerfd, armed
 * for the earliest of: the oldest connect deadline, the next connect
 * retry to a unix SERVICE whose queue was full, the least recently
 * active connection's idle deadline, the deadline of a reset being
 * passed on (relay.c), the end of a drain, the next retry while out
 * of descriptors, the oldest UDP flow's timeout, the next --mirror
 * scan, libmicrohttpd's timeouts and the oldest control socket
 * reader's. Most are the head of a list kept in deadline order, so
 * arming is cheap. Each is acted on after every batch, and whatever
 * acts on a deadline moves it on: one left in the past would fire the
 * timer at once, again and again.
 *
 * After each batch of events: connections closed in it are freed,
 * listeners that stopped accepting are resumed where possible. The timer
 * is re-armed before every wait, the first one included, so a deadline
 * holds whoever set it and whenever: the set-up's (the first --mirror
 * scan) as much as a batch's. A quiet start has no batch to arm it.
 *
 * SIGINT or SIGTERM starts a drain: listeners close (new clients are
 * refused by the kernel), open connections go on until they end or until
 * --drain-timeout, then the rest are reset and nsbridge exits 0. A second
 * signal ends the drain at once. SIGHUP reads --config again and applies
 * the difference (reload.c): it must not drop a connection of a bridge
 * that stays; those of a removed bridge drain as above, on a deadline of
 * their own. During a scoped run (-- CMD) all three, and SIGUSR1 and
 * SIGUSR2, are CMD's: they are passed on, and the drain starts when CMD
 * ends (command.c).
 */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "nsbridge/access.h"
#include "nsbridge/bridge.h"
#include "nsbridge/children.h"
#include "nsbridge/command.h"
#include "nsbridge/control.h"
#include "nsbridge/dial.h"
#include "nsbridge/event.h"
#include "nsbridge/fdreserve.h"
#include "nsbridge/labels.h"
#include "nsbridge/lifecycle.h"
#include "nsbridge/listener.h"
#include "nsbridge/loop.h"
#include "nsbridge/metrics.h"
#include "nsbridge/mirror.h"
#include "nsbridge/opener.h"
#include "nsbridge/pipepool.h"
#include "nsbridge/relay.h"
#include "nsbridge/reload.h"
#include "nsbridge/sdnotify.h"
#include "nsbridge/side.h"
#include "nsbridge/sockpool.h"
#include "nsbridge/udp.h"

#define EVENTS_PER_BATCH	256
#define STARVED_LOG_INTERVAL_MS	10000

/**
 * loop_init() - a context with nothing open
 * @c:		context
 * @config:	the parsed configuration
 */
void loop_init(struct ctx *c, const struct config *config)
{
	memset(c, 0, sizeof(*c));
	c->config = config;
	for (int s = 0; s < SIDE_MAX; s++)
		c->sides[s].ns_fd = c->sides[s].pidfd = -1;
	for (int h = 0; h < HELPER_MAX; h++)
		c->helpers[h].pidfd = -1;
	c->epoll_fd = c->timer_fd = c->signal_fd = c->watcher_fd = -1;
	c->command_go_fd = c->command_pidfd = -1;
	list_init(&c->connecting);
	list_init(&c->dial_retry);
	list_init(&c->active);
	list_init(&c->flushing);
	list_init(&c->closed);
	list_init(&c->fd_waiters);
	list_init(&c->listener_queue);
	c->starved_rl = (struct ratelimit)RATELIMIT_INIT(STARVED_LOG_INTERVAL_MS, 1);
	c->started = (int64_t)time(NULL);
	/* how a lower module tells the one above it (docs/design.md) */
	c->dial_ops = &relay_dial_ops;
	c->sockpool_ops = &dial_sockpool_ops;
	sockpool_init(c);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/**
 * loop_release() - close and free everything a context holds
 * @c:		context, in any state loop_init() and the set-up left it
 *
 * The process is about to exit, so this is for the leak checkers, and
 * so that every connection still open ends with a reset, not a FIN that
 * would pass a truncated stream off as complete.
 */
void loop_release(struct ctx *c)
{
	relay_close_all(c);
	relay_free_closed(c);
	udp_release(c);
	mirror_release(c);
	access_release(c);
	control_release(c);
	metrics_release(c);
	command_release(c);
	listener_close_all(c);
	sockpool_close(c);
	sides_close(c);
	pipepool_release();
	fdreserve_release();
	close_fd(&c->epoll_fd);
	close_fd(&c->timer_fd);
	close_fd(&c->signal_fd);
	close_fd(&c->watcher_fd);
	listener_release(c);
	free(c->bridges);
	slots_release(&c->conns);
	c->bridges = NULL;
	c->n_bridges = 0;
}

static int setup_signals(struct ctx *c)
{
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (c->config->command) {	/* CMD's to act on, passed on (command.c) */
		sigaddset(&mask, SIGUSR1);
		sigaddset(&mask, SIGUSR2);
	}
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	c->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	return c->signal_fd < 0 ? -errno : 0;
}

/* What a stop does; ctx.on_stop, so that modules below reach it through
 * event_stop() (event.c) without calling up into the loop */
static void drain_start(struct ctx *c)
{
	sdnotify_stopping();
	c->draining = true;
	c->drain_deadline_ms = c->now_ms + c->config->drain_timeout_ms;
	listener_close_all(c);
	udp_close_all(c);
	if (c->n_conns)
		log_info("stopping: %u connections may finish within %u ms",
			 c->n_conns, c->config->drain_timeout_ms);
	else
		log_info("stopping");
}

/**
 * loop_setup() - epoll, signalfd, timerfd, and every listener registered
 * @c:		context with listeners bound
 *
 * Return: 0 or -errno
 */
int loop_setup(struct ctx *c)
{
	union epoll_ref ref = { .type = EPOLL_TYPE_SIGNAL };
	int r;

	c->on_stop = drain_start;
	c->on_change = reload_change;	/* nsbridge add and remove */
	r = event_open(c);
	if (r < 0)
		return r;
	r = setup_signals(c);
	if (r < 0 || (r = event_epoll_add(c, c->signal_fd, EPOLLIN, ref)) < 0)
		return r;
	r = fdreserve_init();
	if (r < 0)
		return r;

	if (opener_fd() >= 0) {
		ref.type = EPOLL_TYPE_OPENER;
		r = event_epoll_add(c, opener_fd(), EPOLLIN, ref);
		if (r < 0)
			return r;
	}

	return listener_watch_all(c);
}

static void on_signal(struct ctx *c)
{
	struct signalfd_siginfo si;

	while (read(c->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		/* a scoped run stops when CMD does: the signal is CMD's to act on */
		if (command_forward(c, (int)si.ssi_signo, si.ssi_code == SI_KERNEL))
			continue;
		if (si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2)
			continue;	/* CMD has ended: nobody to pass them to */
		if (si.ssi_signo == SIGHUP) {
			if (!c->draining) {
				reload_on_signal(c);
				labels_on_reload(c);
			}
			continue;
		}
		if (c->draining) {
			log_info("second stop signal: closing %u connections now", c->n_conns);
			c->drain_deadline_ms = c->now_ms;
			continue;
		}
		drain_start(c);
	}
}

static void dispatch(struct ctx *c, const struct epoll_event *ev)
{
	union epoll_ref ref = { .u64 = ev->data.u64 };

	switch ((enum epoll_type)ref.type) {
	case EPOLL_TYPE_LISTENER:
		if (c->listeners[ref.index]->bridge->spec->expose.proto == PROTO_UDP)
			udp_on_clients(c, ref.index);
		else
			listener_on_accept(c, c->listeners[ref.index]);
		break;
	case EPOLL_TYPE_UDP_FLOW:
		udp_on_event(c, ref, ev->events);
		break;
	case EPOLL_TYPE_CONN:
		relay_on_event(c, ref, ev->events);
		break;
	case EPOLL_TYPE_SIGNAL:
		on_signal(c);
		break;
	case EPOLL_TYPE_TIMER:
		event_on_timer(c);	/* re-armed after the batch */
		break;
	case EPOLL_TYPE_OPENER:
		sockpool_on_reply(c);
		break;
	case EPOLL_TYPE_PIDFD:
		lifecycle_on_exit(c, (enum side)ref.index);
		labels_on_exit(c, (enum side)ref.index);
		break;
	case EPOLL_TYPE_WATCHER:
		lifecycle_on_watcher(c, labels_on_report);
		break;
	case EPOLL_TYPE_CONTROL:
		control_on_accept(c);
		break;
	case EPOLL_TYPE_CONTROL_CLIENT:
		control_on_writable(c, ref.index);
		break;
	case EPOLL_TYPE_METRICS:
		metrics_on_event(c);
		break;
	case EPOLL_TYPE_COMMAND:
		command_on_exit(c);
		break;
	case EPOLL_TYPE_HELPER:
		children_on_exit(c, (enum helper)ref.index);
		break;
	case EPOLL_TYPE_NONE:
	case EPOLL_TYPE_MAX:
		break;
	}
}

static void consider(uint64_t *next, uint64_t when)
{
	if (when && (!*next || when < *next))
		*next = when;
}

static uint64_t next_deadline(const struct ctx *c)
{
	uint64_t next = 0;

	if (!list_empty(&c->connecting))
		consider(&next, relay_conn_of_node(c->connecting.next)->deadline_ms);
	consider(&next, dial_next_retry(c));
	consider(&next, relay_next_deadline(c));
	if (c->draining)
		consider(&next, c->drain_deadline_ms);
	consider(&next, bridges_next_drain(c));
	if (c->starved)
		consider(&next, c->retry_accept_ms);
	consider(&next, udp_next_deadline(c));
	consider(&next, metrics_next_deadline(c));
	consider(&next, control_next_deadline(c));
	if (!c->draining)
		consider(&next, mirror_next_deadline(c));
	return next;
}

/*
 * Out of descriptors, the reserve for nsbridge status and --metrics is
 * taken back first (fdreserve.c), and the two are watched again if a
 * shortage had them put aside; then the connections already taken on
 * that wait for a descriptor (fd_waiters) go, then the listeners waiting
 * for room (listener.c). They try again when connections were freed, or
 * at the retry time that event.c keeps (event_starve_retry()); what is
 * still short says so again. While draining, the listeners are closed.
 */
static void retry_starved(struct ctx *c, bool freed)
{
	bool retry = event_starve_retry(c, freed);

	fdreserve_refill();
	if (retry) {
		control_resume(c);
		metrics_resume(c);
	}
	if (!list_empty(&c->fd_waiters) && (retry || pipepool_idle()))
		relay_retry_fd_waiters(c);
	if (!c->draining)
		listener_resume(c, retry);
}

static void after_batch(struct ctx *c)
{
	bool freed;

	c->now_ms = event_clock_ms();
	dial_expire(c);
	relay_expire(c);
	udp_expire_idle(c);
	mirror_tick(c);
	metrics_tick(c);
	control_tick(c);
	bridges_expire_removed(c);
	if (c->draining && (c->now_ms >= c->drain_deadline_ms || !c->n_conns)) {
		if (c->n_conns)
			log_info("drain time is over: resetting %u connections", c->n_conns);
		relay_close_all(c);
		c->quit = true;
	}
	freed = relay_free_closed(c);
	retry_starved(c, freed);
	relay_free_closed(c);
	if (!c->n_conns && !c->draining) {
		sockpool_top_up(c);
		pipepool_top_up();
	}
}

/**
 * loop_run() - handle events until stopped
 * @c:		context, set up
 *
 * Return: exit status
 */
int loop_run(struct ctx *c)
{
	struct epoll_event events[EVENTS_PER_BATCH];

	while (!c->quit) {
		int n;

		event_arm_timer(c, next_deadline(c));
		n = epoll_wait(c->epoll_fd, events, EVENTS_PER_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_errno(LOG_LEVEL_ERROR, -errno, "epoll_wait");
			return EXIT_RUNTIME;
		}
		c->now_ms = event_clock_ms();
		for (int i = 0; i < n; i++)
			dispatch(c, &events[i]);
		after_batch(c);
	}
	return c->exit_status;
}
