/* SPDX-License-Identifier: GPL-2.0-or-later */
/* children.c - the relay's helper processes: watched by pidfd, their end told at once
 *
 * Theory of operation
 *
 * The relay forks up to three helpers before it drops its capabilities:
 * the opener (opener.c: sockets and namespaces), the engine watcher
 * (watcher.c: followed containers, --labels) and the keeper (runas.c:
 * uid 0 for the files the relay made). Each is the relay's child, so the
 * relay opens a pidfd of each before the drop and watches it in its loop
 * (each its pidfd_source, registered with event.c). A helper's
 * end is read with waitid(), which also reaps it, and told in one line
 * at once: which helper, its pid, how it ended, and what that means.
 *
 * None is started again: a new opener needs the capabilities the relay
 * gave up, a new watcher or keeper the fork and the uid its filter and
 * its user no longer allow. What is bound serves on, and what needs the
 * dead helper is refused, each where it is asked for:
 *
 *   opener   OPENER_EXITED from every request (opener.c): a connection
 *            that needs a new socket in a container is reset, and
 *            nsbridge add, a reload that needs a listener or a SERVICE
 *            in a container (reload.c), a labelled container and a
 *            followed container's restart are refused
 *   watcher  its pipe ends (lifecycle.c): no container is followed any
 *            more; one that stops ends nsbridge with status 1, so that
 *            a service manager starts it again
 *   keeper   KEEPER_EXITED from a --port-file rewrite (runas.c); at exit
 *            the relay removes its files itself, and says which it
 *            could not
 *
 * nsbridge status shows each helper: running with its pid, exited and
 * how, or not needed when nothing asked for it (status.c).
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nsbridge/children.h"
#include "nsbridge/event.h"
#include "nsbridge/opener.h"
#include "nsbridge/runas.h"
#include "nsbridge/watcher.h"

/* What each helper's end means for the user, after "... has exited:" */
static const char *const consequence[HELPER_MAX] = {
	/* each a string of several literals: in parentheses, for clang's
	 * -Wstring-concatenation, which takes it for a missing comma */
	[HELPER_OPENER] = ("what is bound serves on; a connection that needs a new socket in a "
			   "container is reset, and nsbridge add, a reload that needs a new "
			   "listener or a SERVICE in a container, a labelled container and a "
			   "followed container's restart are refused; restart nsbridge to have "
			   "them again"),
	[HELPER_WATCHER] = ("what is bound serves on; no container is followed any more: one "
			    "that stops ends nsbridge with status 1, and a labelled container "
			    "that starts is not served; restart nsbridge to have them again"),
	[HELPER_KEEPER] = ("what is bound serves on; --port-file is not rewritten after a "
			   "reload, and at exit nsbridge removes its files itself where it may"),
};

/**
 * children_name() - a helper as log lines and nsbridge status name it
 * @h:		the helper
 *
 * Return: "opener", "engine watcher" or "keeper"
 */
const char *children_name(enum helper h)
{
	static const char *const names[HELPER_MAX] = {
		[HELPER_OPENER] = "opener",
		[HELPER_WATCHER] = "engine watcher",
		[HELPER_KEEPER] = "keeper",
	};

	return h < HELPER_MAX ? names[h] : "helper";
}

/**
 * children_how() - how an exited helper ended, for a line
 * @p:		the helper, HELPER_EXITED
 * @buf:	where the text goes: "exited with status 1", "was killed by
 *		signal 9 (Killed)"
 * @len:	size of @buf
 *
 * Return: @buf
 */
const char *children_how(const struct helper_proc *p, char *buf, size_t len)
{
	if (p->code == CLD_EXITED)
		snprintf(buf, len, "exited with status %d", p->status);
	else if (p->code == CLD_KILLED || p->code == CLD_DUMPED)
		snprintf(buf, len, "was killed by signal %d (%s)", p->status, strsignal(p->status));
	else
		snprintf(buf, len, "has ended");
	return buf;
}

static void on_helper_exit(struct ctx *c, struct event_source *s, uint32_t events);

/* Watch helper @h, of pid @pid (0: not started) */
static int watch(struct ctx *c, enum helper h, pid_t pid)
{
	struct helper_proc *p = &c->helpers[h];

	if (pid <= 0)
		return 0;
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p->pidfd < 0)
		return -errno;
	p->pid = pid;
	p->state = HELPER_RUNNING;
	return event_add_io(c, &p->pidfd_source, p->pidfd, EPOLLIN, on_helper_exit);
}

/* The watcher's pid, from the pidfd watcher.c keeps (its fdinfo says) */
static pid_t watcher_pid(void)
{
	char path[64], line[128];
	int pid = 0;
	FILE *f;

	if (watcher_pidfd() < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", watcher_pidfd());
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(f);
	return pid;
}

/**
 * children_watch() - watch every helper that was started
 * @c:		context, loop set up, the helpers forked; before the system
 *		call filter (pidfd_open is not in it)
 *
 * Return: 0 or -errno
 */
int children_watch(struct ctx *c)
{
	int r;

	if ((r = watch(c, HELPER_OPENER, opener_pid())) < 0 ||
	    (r = watch(c, HELPER_WATCHER, watcher_pid())) < 0 ||
	    (r = watch(c, HELPER_KEEPER, runas_keeper_pid())) < 0)
		return r;
	return 0;
}

/* A helper's pidfd is readable: it has ended */
static void on_helper_exit(struct ctx *c, struct event_source *s, uint32_t events)
{
	struct helper_proc *p = container_of(s, struct helper_proc, pidfd_source);
	enum helper h = (enum helper)(p - c->helpers);
	siginfo_t info = { 0 };
	char how[96];

	(void)events;
	if (p->pidfd < 0)
		return;
	/* readable means ended; an error (not ours to reap?) must not leave a
	 * level-triggered pidfd in the set, so it ends the watch too */
	if (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &info, WEXITED | WNOHANG) == 0 &&
	    info.si_pid == 0)
		return;
	event_del_io(c, &p->pidfd_source);
	close(p->pidfd);
	p->pidfd = -1;
	p->state = HELPER_EXITED;
	p->code = info.si_code;
	p->status = info.si_status;
	if (h == HELPER_OPENER)
		opener_exited();
	else if (h == HELPER_KEEPER)
		runas_keeper_exited();
	log_warn("the %s (pid %d) %s: %s", children_name(h), (int)p->pid,
		 children_how(p, how, sizeof(how)), consequence[h]);
}
