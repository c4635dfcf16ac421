/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lifecycle.c - following the containers: down when one stops, up when it runs again
 *
 * Theory of operation
 *
 * A listener or a socket made in a container's namespace keeps that
 * namespace alive after the container is gone. So the relay watches each
 * container's init through a pidfd (the side's pidfd_source, registered
 * with event.c); when one exits, for that container's side only:
 *
 *   - the listeners bound in the container are closed, every connection
 *     of a bridge with an end there is reset, the pooled sockets made
 *     there are closed, and the opener lets its namespace fd go: nothing
 *     of nsbridge refers to the dead namespace any more;
 *   - without --follow, its bridges are closed for good; once no
 *     container is served or followed any more, nsbridge drains and exits
 *     0, saying why;
 *   - with --follow (the default for a container named to the engine), it
 *     waits for the engine watcher (watcher.c, one for every container)
 *     to report the init process of the container running again (pid and
 *     start time), has the opener take that process's namespace (the
 *     relay holds no capability; the opener does), and binds the
 *     container's listeners anew.
 *
 * A report is a claim about a moment. The one of a process the side
 * serves already (the engine listed its containers again after a restart
 * with --live-restore) changes nothing. One of a new process may come
 * before the old init's exit is seen (the engine restarted the container
 * at once): it is kept in the side and taken at that exit. And by the time
 * a report is acted on, its container may have died and its pid gone to
 * an unrelated process: the opener compares the pid's start time with
 * the report's (netns.c) and refuses, and nothing is bound; the next
 * report brings the right process.
 *
 * A container that --labels opened (labels.c) is not followed: when it
 * stops, labels.c removes its bridges and frees its side; started again,
 * it is reported anew and opened like a new one.
 *
 * The watcher's reports come through a pipe, a source of this module's
 * too. A line for a labelled container ("L ...") is labels.c's, which
 * sets ctx.on_label at its set-up: lifecycle.c is below it and does not
 * call it by name.
 *
 * The other containers' bridges go on meanwhile. While a container is
 * down, bridges whose SERVICE is in it keep their listeners on the host
 * and reset each client at once (dial.c).
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "nsbridge/bridge.h"
#include "nsbridge/container.h"
#include "nsbridge/engine.h"
#include "nsbridge/event.h"
#include "nsbridge/lifecycle.h"
#include "nsbridge/mirror.h"
#include "nsbridge/opener.h"
#include "nsbridge/sdnotify.h"
#include "nsbridge/side.h"
#include "nsbridge/sockpool.h"
#include "nsbridge/watcher.h"

static bool following(const struct ctx *c, const struct side_ns *s)
{
	switch (c->config->follow) {
	case FOLLOW_ON:
		return true;
	case FOLLOW_OFF:
		return false;
	case FOLLOW_DEFAULT:
	case FOLLOW_MAX:
		break;
	}
	return container_kind_of(s->ref) == CONTAINER_ENGINE;
}

/* The watcher reports this side's restarts */
static bool followed(const struct ctx *c, const struct side_ns *s)
{
	return c->watcher_fd >= 0 && following(c, s) && *s->engine_sock;
}

static void on_pidfd(struct ctx *c, struct event_source *s, uint32_t events)
{
	const struct side_ns *sn = container_of(s, struct side_ns, pidfd_source);

	(void)events;
	lifecycle_on_exit(c, (enum side)(sn - c->sides));
}

static int watch_pidfd(struct ctx *c, enum side side)
{
	struct side_ns *s = &c->sides[side];

	return event_add_io(c, &s->pidfd_source, s->pidfd, EPOLLIN, on_pidfd);
}

static void on_watcher(struct ctx *c, struct event_source *s, uint32_t events);

/* The watcher's pipe, at exit */
static void release(struct ctx *c)
{
	event_del_io(c, &c->watcher_source);
	if (c->watcher_fd >= 0)
		close(c->watcher_fd);
	c->watcher_fd = -1;
}

static int start_watcher(struct ctx *c, const struct watch_target *targets, size_t n)
{
	int r;

	if (!n && !c->config->labels)
		return 0;
	event_add_exit(c, release);
	r = watcher_start(targets, n, c->config->labels ? c->config->labels_prefix : NULL,
			  &c->watcher_fd);
	if (r < 0)
		return r;
	return event_add_io(c, &c->watcher_source, c->watcher_fd, EPOLLIN, on_watcher);
}

/**
 * lifecycle_setup() - watch each container's init, and the engine for
 *		       those followed
 * @c:		context, loop set up, still privileged (the watcher forks)
 *
 * Return: 0 or -errno (-ENOTCONN: --follow of a container no engine knows)
 */
int lifecycle_setup(struct ctx *c)
{
	struct watch_target targets[WATCHER_TARGETS_MAX];
	size_t n = 0;

	for (int side = SIDE_CONTAINER; side < SIDE_MAX; side++) {
		const struct side_ns *s = &c->sides[side];
		int r;

		if (!s->used || s->pidfd < 0)
			continue;	/* a path or a netns name: nothing to watch */
		r = watch_pidfd(c, (enum side)side);
		if (r < 0)
			return r;
		if (!following(c, s))
			continue;
		if (!*s->engine_sock || n == WATCHER_TARGETS_MAX)
			return -ENOTCONN;
		targets[n++] = (struct watch_target){
			.sock_path = s->engine_sock, .ref = s->ref,
			.known_pid = s->pid, .side = (unsigned)side,
		};
	}
	return start_watcher(c, targets, n);
}

static void container_up(struct ctx *c, enum side side, pid_t pid, unsigned long long start);

/* Whether some container other than @side is served now, or will be again */
static bool others_remain(const struct ctx *c, enum side side)
{
	for (int i = SIDE_CONTAINER; i < SIDE_MAX; i++) {
		const struct side_ns *s = &c->sides[i];

		if (i != (int)side && s->used && !s->labelled && (!s->down || followed(c, s)))
			return true;
	}
	return false;
}

/*
 * Not followed: its bridges are gone for good; the process with the last
 * one. A container that was to be followed, but whose watcher has exited,
 * is a failure: nsbridge exits 1, for a service manager to start it again
 */
static void side_gone(struct ctx *c, enum side side)
{
	const struct side_ns *s = &c->sides[side];
	bool orphaned = following(c, s) && *s->engine_sock;
	const char *why = orphaned ? "the engine watcher has exited: its start cannot be seen" :
			  c->config->follow == FOLLOW_OFF ? "--no-follow" :
			  "only a container named to the engine is followed";

	if (others_remain(c, side)) {
		log_notice("%s stopped; its bridges are closed for good (%s), the other "
			   "containers' go on", s->label, why);
		return;
	}
	if (orphaned)
		c->exit_status = EXIT_RUNTIME;
	log_notice("%s stopped; exiting%s (%s)", s->label, orphaned ? " with status 1" : "", why);
	event_stop(c);
}

/**
 * lifecycle_on_exit() - a container's init exited
 * @c:		context
 * @side:	its side
 */
void lifecycle_on_exit(struct ctx *c, enum side side)
{
	struct side_ns *s = &c->sides[side];
	struct opener_req forget = { .op = OPENER_FORGET, .side = side };
	char status[SIDE_LABEL_MAX + 64];

	if (side < SIDE_CONTAINER || side >= SIDE_MAX || s->pidfd < 0)
		return;
	event_del_io(c, &s->pidfd_source);
	close(s->pidfd);
	s->pidfd = -1;
	s->down = true;
	s->pid = 0;
	s->start = 0;
	bridges_side_down(c, side);
	mirror_side_down(c, side);
	sockpool_side_down(c, side, -EHOSTDOWN);
	if (!s->local)
		opener_call(&forget, NULL, 0);
	if (s->labelled)
		return;	/* labels.c lets it go */
	if (!followed(c, s)) {
		side_gone(c, side);
		return;
	}
	log_notice("%s stopped: its listeners are closed until it runs again", s->label);
	snprintf(status, sizeof(status), "%s stopped: waiting for it to run again", s->label);
	sdnotify_status(status);
	if (s->next_pid)	/* its new init was reported already */
		container_up(c, side, s->next_pid, s->next_start);
}

/* Bind anew in the namespace of @pid (started at @start), the container's new init */
static void container_up(struct ctx *c, enum side side, pid_t pid, unsigned long long start)
{
	struct side_ns *s = &c->sides[side];
	struct opener_req open = {
		.op = OPENER_OPEN_PID, .side = side, .pid = pid, .start = start,
	};
	struct opener_req lo = { .op = OPENER_LO_UP, .side = side };
	char status[SIDE_LABEL_MAX + 64];
	int pidfd, r;

	s->next_pid = 0;
	r = opener_call(&open, &pidfd, 1);
	if (r == OPENER_EXITED) {
		log_warn("%s runs again, but the opener has exited; restart nsbridge", s->label);
		return;
	}
	if (r == -ESTALE) {
		log_warn("%s: pid %d is no longer the container the engine reported (the pid was "
			 "reused); nothing is bound, the next report brings its new pid", s->label,
			 (int)pid);
		return;
	}
	if (r == -EACCES || r == -EPERM) {
		/* a rootless engine started again made a user namespace of its
		 * own, and the opener cannot leave the one it joined */
		log_error("%s runs again, out of the opener's reach (%s): a rootless engine that "
			  "restarted has a new user namespace; exiting with status 1, for "
			  "nsbridge to be started again", s->label, strerror(-r));
		c->exit_status = EXIT_RUNTIME;
		event_stop(c);
		return;
	}
	if (r < 1) {
		log_errno(LOG_LEVEL_WARNING, r < 0 ? r : -EIO,
			  "%s runs again, but its namespace cannot be opened", s->label);
		return;
	}
	s->pidfd = pidfd;
	r = watch_pidfd(c, side);
	if (r < 0)
		log_errno(LOG_LEVEL_WARNING, r, "cannot watch %s", s->label);
	opener_call(&lo, NULL, 0);
	s->down = false;
	s->pid = pid;
	s->start = start;
	sockpool_side_up(c, side);
	log_info("%s runs again (pid %d)", s->label, (int)pid);
	bridges_side_up(c, side);
	snprintf(status, sizeof(status), "%s runs again: bridges bound anew", s->label);
	sdnotify_status(status);
}

/**
 * lifecycle_init_exited() - whether the init of @s has exited, though its
 *			     pidfd's event may be yet to come
 * @s:		a container's side
 *
 * Return: true if it has, or @s has no init to watch
 */
bool lifecycle_init_exited(const struct side_ns *s)
{
	struct pollfd p = { .fd = s->pidfd, .events = POLLIN };

	return s->pidfd < 0 || poll(&p, 1, 0) == 1;
}

/* "SIDE PID START": a followed container runs as that process */
static void on_report(struct ctx *c, const char *line)
{
	unsigned long long start;
	struct side_ns *s;
	unsigned side;
	int pid;

	if (sscanf(line, "%u %d %llu", &side, &pid, &start) != 3 || side < SIDE_CONTAINER ||
	    side >= SIDE_MAX || pid <= 0)
		return;
	s = &c->sides[side];
	if (!s->used || s->labelled || (pid == s->pid && start == s->start))
		return;		/* served already: bridges and connections stay */
	s->next_pid = pid;	/* at once if the old init is gone, else at its exit */
	s->next_start = start;
	if (s->down)
		container_up(c, (enum side)side, pid, start);
	else if (lifecycle_init_exited(s))
		lifecycle_on_exit(c, (enum side)side);	/* which takes it */
}

/* The watcher reported where containers run; a labelled one's report
 * goes to ctx.on_label */
static void on_watcher(struct ctx *c, struct event_source *s, uint32_t events)
{
	char line[4096];
	int r;

	(void)s;
	(void)events;
	while ((r = watcher_read_line(c->watcher_fd, line, sizeof(line))) > 0) {
		if (line[0] != 'L')
			on_report(c, line);
		else if (c->on_label)
			c->on_label(c, line);
	}
	if (r < 0) {
		/* children.c said it, with how the watcher ended */
		log_debug("the engine watcher's pipe ended");
		event_del_io(c, &c->watcher_source);
		close(c->watcher_fd);
		c->watcher_fd = -1;
	}
}
