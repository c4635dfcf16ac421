/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lifecycle.c - following the container: down when it stops, up when it runs again
 *
 * Theory of operation
 *
 * A listener or a socket made in a container's namespace keeps that
 * namespace alive after the container is gone. So the relay watches the
 * container's init through a pidfd (EPOLL_TYPE_PIDFD); when it exits:
 *
 *   - the listeners bound in the container are closed, every connection
 *     of a bridge with an end there is reset, the pooled sockets made
 *     there are closed, and the opener lets its namespace fd go: nothing
 *     of nsbridge refers to the dead namespace any more;
 *   - without --follow, nsbridge then drains and exits 0, saying why;
 *   - with --follow (the default for a container named to the engine), it
 *     waits for the engine watcher (watcher.c) to report the init pid of
 *     the container running again, has the opener take that pid's
 *     namespace (the relay holds no capability; the opener does), and
 *     binds the container's listeners anew.
 *
 * While the container is down, bridges whose SERVICE is in it keep their
 * listeners on the host and reset each client at once (dial.c).
 */

#include <errno.h>
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

static bool following(const struct ctx *c)
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
	return container_kind_of(c->config->container) == CONTAINER_ENGINE;
}

static int watch_pidfd(struct ctx *c)
{
	union epoll_ref ref = { .type = EPOLL_TYPE_PIDFD };

	return ctx_epoll_add(c, c->sides[SIDE_CONTAINER].pidfd, EPOLLIN, ref);
}

static int start_watcher(struct ctx *c, pid_t known_pid)
{
	union epoll_ref ref = { .type = EPOLL_TYPE_WATCHER };
	const char *sock_path = c->sides[SIDE_CONTAINER].engine_sock;
	int r;

	if (!*sock_path)
		return -ENOTCONN;
	r = watcher_start(sock_path, c->config->container, known_pid, &c->watcher_fd);
	if (r < 0)
		return r;
	return ctx_epoll_add(c, c->watcher_fd, EPOLLIN, ref);
}

/**
 * lifecycle_setup() - watch the container's init, and the engine if following
 * @c:		context, loop set up, still privileged (the watcher forks)
 *
 * Return: 0 or -errno
 */
int lifecycle_setup(struct ctx *c)
{
	const struct side_ns *s = &c->sides[SIDE_CONTAINER];
	int r;

	if (!s->used || s->pidfd < 0)
		return 0;	/* a path or a netns name: nothing to watch */
	r = watch_pidfd(c);
	if (r < 0 || !following(c))
		return r;
	return start_watcher(c, s->pid);
}

/**
 * lifecycle_on_exit() - the container's init exited
 * @c:		context
 */
void lifecycle_on_exit(struct ctx *c)
{
	struct side_ns *s = &c->sides[SIDE_CONTAINER];
	struct opener_req forget = { .op = OPENER_FORGET, .side = SIDE_CONTAINER };

	close(s->pidfd);	/* also leaves the epoll set */
	s->pidfd = -1;
	c->container_down = true;
	s->pid = 0;
	bridges_side_down(c, SIDE_CONTAINER);
	mirror_side_down(c, SIDE_CONTAINER);
	sockpool_side_down(c, SIDE_CONTAINER, -EHOSTDOWN);
	if (!s->local)
		opener_call(&forget, NULL, 0);
	if (c->watcher_fd >= 0) {
		log_notice("%s stopped: its listeners are closed until it runs again",
			   s->label);
		sdnotify_status("the container stopped: waiting for it to run again");
		return;
	}
	if (c->config->follow == FOLLOW_OFF)
		log_notice("%s stopped; exiting (--no-follow)", s->label);
	else
		log_notice("%s stopped; exiting (only a container named to the engine is "
			   "followed)", s->label);
	loop_stop(c);
}

/* Bind anew in the namespace of @pid, the container's new init */
static void container_up(struct ctx *c, pid_t pid)
{
	struct side_ns *s = &c->sides[SIDE_CONTAINER];
	struct opener_req open = { .op = OPENER_OPEN_PID, .side = SIDE_CONTAINER, .pid = pid };
	struct opener_req lo = { .op = OPENER_LO_UP, .side = SIDE_CONTAINER };
	int pidfd, r;

	r = opener_call(&open, &pidfd, 1);
	if (r < 1) {
		log_errno(LOG_LEVEL_WARNING, r < 0 ? r : -EIO,
			  "%s runs again, but its namespace cannot be opened", s->label);
		return;
	}
	s->pidfd = pidfd;
	r = watch_pidfd(c);
	if (r < 0)
		log_errno(LOG_LEVEL_WARNING, r, "cannot watch %s", s->label);
	opener_call(&lo, NULL, 0);
	c->container_down = false;
	s->pid = pid;
	sockpool_side_up(c, SIDE_CONTAINER);
	log_info("%s runs again (pid %d)", s->label, (int)pid);
	bridges_side_up(c, SIDE_CONTAINER);
	sdnotify_status("the container runs again: bridges bound anew");
}

/**
 * lifecycle_on_watcher() - the watcher reported where the container runs
 * @c:		context
 */
void lifecycle_on_watcher(struct ctx *c)
{
	pid_t pid = 0;
	int r = watcher_read_pid(c->watcher_fd, &pid);

	if (r < 0) {
		log_warn("the engine watcher is gone; %s will not be followed any more",
			 c->sides[SIDE_CONTAINER].label);
		close(c->watcher_fd);
		c->watcher_fd = -1;
		return;
	}
	if (r == 0 || !c->container_down || pid == c->sides[SIDE_CONTAINER].pid)
		return;
	container_up(c, pid);
}
