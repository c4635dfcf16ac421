/* SPDX-License-Identifier: GPL-2.0-or-later */
/* container.c - a container reference (-c REF) to a network namespace
 *
 * Each form of REF has a resolver; container_open() picks one by the
 * REF's shape. Names and IDs go to the container engine, which is its own
 * resolver: it finds the container's init pid and then opens that pid's
 * namespace like pid:N does.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsbridge/container.h"
#include "nsbridge/failure.h"
#include "nsbridge/engine.h"
#include "nsbridge/netns.h"

#define NETNS_RUN_DIR	"/run/netns"

/**
 * container_kind_of() - which form of REF @ref is
 * @ref:	the -c argument
 *
 * Return: the kind; anything not pid:, netns:, a path or "self" is a name
 */
enum container_kind container_kind_of(const char *ref)
{
	if (!strncmp(ref, "pid:", 4))
		return CONTAINER_PID;
	if (!strncmp(ref, "netns:", 6))
		return CONTAINER_NETNS;
	if (ref[0] == '/' || ref[0] == '.')
		return CONTAINER_PATH;
	if (!strcmp(ref, "self"))
		return CONTAINER_SELF;
	return CONTAINER_ENGINE;
}

static int parse_pid(const char *text, pid_t *ret)
{
	char *end;
	long v;

	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v <= 0 || v > INT_MAX)
		return -EINVAL;
	*ret = (pid_t)v;
	return 0;
}

/*
 * Another user's process, to an ordinary user: the kernel refuses the
 * namespace, /proc/PID/status still says whose it is.
 */
static int open_pid_as_user(pid_t pid, unsigned long long start, struct container *c,
			    struct failure *f)
{
	char name[64];
	uid_t uid;
	int r = netns_open_pid(pid, start, &c->ns_fd, &c->pidfd);

	if ((r != -EACCES && r != -EPERM) || geteuid() == 0 || netns_pid_uid(pid, &uid) < 0 ||
	    uid == geteuid())
		return r;
	netns_user_name(uid, name, sizeof(name));
	return failure_set(f, EXIT_RUNTIME, r, "process %d belongs to user %s (uid %u); run "
			   "nsbridge as that user, or as root", (int)pid, name, (unsigned)uid);
}

static int open_by_pid(const char *ref, struct container *c, struct failure *f)
{
	int r;

	r = parse_pid(ref + 4, &c->pid);
	if (r < 0)
		return failure_set(f, EXIT_RUNTIME, r, "expected pid:N with N a process id");
	return open_pid_as_user(c->pid, 0, c, f);
}

static int open_by_netns_name(const char *ref, struct container *c, struct failure *f)
{
	const char *name = ref + 6;
	char path[PATH_MAX];

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return failure_set(f, EXIT_RUNTIME, -EINVAL, "expected netns:NAME with NAME as "
				   "'ip netns list' shows it");
	snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, name);
	return netns_open_path(path, &c->ns_fd);
}

static int open_by_engine(const char *ref, struct container *c, struct failure *f)
{
	struct engine_container ct;
	int r;

	r = engine_locate(ref, &ct, c->engine_sock, f);
	if (r < 0)
		return r;
	c->pid = ct.pid;
	c->start = ct.start;
	r = open_pid_as_user(ct.pid, ct.start, c, f);
	if (r == -ESRCH || r == -ESTALE)
		return failure_set(f, EXIT_RUNTIME, -ESRCH, "container %s stopped while it was "
				   "being opened", ct.name);
	return r;
}

static int open_by_path(const char *ref, struct container *c, struct failure *f)
{
	return netns_open_path(ref, &c->ns_fd);
}

static int open_self(const char *ref, struct container *c, struct failure *f)
{
	return netns_open_self(&c->ns_fd);
}

typedef int (*container_resolver)(const char *ref, struct container *c, struct failure *f);

static const container_resolver resolvers[CONTAINER_KIND_MAX] = {
	[CONTAINER_PID] = open_by_pid,
	[CONTAINER_NETNS] = open_by_netns_name,
	[CONTAINER_PATH] = open_by_path,
	[CONTAINER_SELF] = open_self,
	[CONTAINER_ENGINE] = open_by_engine,
};

/**
 * container_open() - resolve REF to a verified network namespace fd
 * @ref:	the -c argument
 * @ret:	what it resolved to, on success
 * @f:		on failure, one line for the user where one helps, else ""; its
 *		exit status is the caller's to choose by the -errno
 *
 * Return: 0, or -errno: -ENOENT/-ESRCH not found or not running,
 * -EACCES/-EPERM not allowed, -ENOTTY/-EINVAL not a network namespace or
 * malformed REF, and from the engine -ENOTUNIQ ambiguous, -ENOTCONN no
 * engine socket, -EPROTO/-EBADMSG an engine error
 */
int container_open(const char *ref, struct container *ret, struct failure *f)
{
	struct container c = { .ns_fd = -1, .pidfd = -1 };
	int r;

	f->line[0] = '\0';
	c.kind = container_kind_of(ref);
	r = resolvers[c.kind](ref, &c, f);
	if (r < 0) {
		container_close(&c);
		return r;
	}
	*ret = c;
	return 0;
}

/**
 * container_close() - release what container_open() holds
 * @c:		resolved container, fds reset to -1
 */
void container_close(struct container *c)
{
	if (c->ns_fd >= 0)
		close(c->ns_fd);
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->ns_fd = -1;
	c->pidfd = -1;
}
