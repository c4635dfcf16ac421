/* SPDX-License-Identifier: GPL-2.0-or-later */
/* child.c - the relay's children: forked with their channels, and the helpers' common start
 *
 * Theory of operation
 *
 * Five children are forked, all before the capability drop and the
 * seccomp filter, which forbid it: the opener (opener.c), the engine
 * watcher (watcher.c), the keeper (runas.c), the child that tries the
 * unix: SERVICEs as USER (runas.c) and the one that runs -- CMD
 * (command.c). Each talks to the relay over one or two channels made
 * before the fork: a pipe one way or the other, or a socket pair. After
 * the fork each process closes the end that is the other's, so that an
 * end of file means the other has gone. child_fork() does that much for
 * all five; what each child keeps beyond its ends (close_range() of the
 * rest), which signals it ignores and when it checks its parent are
 * its own, for they differ, and stay at each site.
 *
 * The opener and the engine watcher must never outlive the relay:
 * child_setup() has PR_SET_PDEATHSIG kill them when it dies, and checks
 * the parent afterwards in case it died before the request took effect.
 * (The watcher keeps uid 0 where the relay leaves it, and a parent-death
 * signal is sent with the dying relay's credentials: the keeper of
 * runas.c kills it instead.) The other way round, the relay watches each
 * of them by pidfd (children.c) and says at once when one has died.
 * SIGINT and SIGTERM sent to the process group are the relay's to handle
 * (it drains in order), so the helpers ignore them.
 */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsbridge/child.h"

/* Which end of @link's pair the child keeps: a pipe's read end if it reads */
static int child_end(enum child_link link)
{
	return link == CHILD_PIPE_TO ? 0 : 1;
}

static int link_open(enum child_link link, int pair[2])
{
	int type = link == CHILD_SEQPACKET ? SOCK_SEQPACKET : SOCK_STREAM;

	if (link == CHILD_PIPE_TO || link == CHILD_PIPE_FROM)
		return pipe2(pair, O_CLOEXEC) < 0 ? -errno : 0;
	return socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, pair) < 0 ? -errno : 0;
}

static void close_pairs(int pairs[][2], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		close(pairs[i][0]);
		close(pairs[i][1]);
	}
}

/**
 * child_fork() - make the channels to a child, fork, and leave each
 *		  process its own ends
 * @links:	what each channel is, made in this order
 * @n:		how many, at most CHILD_LINKS_MAX
 * @ret_fds:	each channel's end, close-on-exec: the parent's in the
 *		parent, the child's in the child; written on success only
 *
 * Buffered output is flushed first, so that it is not written twice.
 *
 * Return: the child's pid in the parent, 0 in the child, or -errno with
 * no child and nothing left open
 */
pid_t child_fork(const enum child_link *links, size_t n, int *ret_fds)
{
	int pairs[CHILD_LINKS_MAX][2];
	pid_t pid;
	int r;

	assert(n <= CHILD_LINKS_MAX);
	for (size_t i = 0; i < n; i++) {
		r = link_open(links[i], pairs[i]);
		if (r < 0) {
			close_pairs(pairs, i);
			return r;
		}
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close_pairs(pairs, n);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		int keep = pid == 0 ? child_end(links[i]) : !child_end(links[i]);

		close(pairs[i][!keep]);
		ret_fds[i] = pairs[i][keep];
	}
	return pid;
}

/**
 * child_setup() - first steps of a helper process, right after fork()
 * @name:	process name, as ps shows it
 * @parent:	the relay's pid, from before the fork
 */
void child_setup(const char *name, pid_t parent)
{
	sigset_t none;

	prctl(PR_SET_NAME, name, 0, 0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(EXIT_FAILURE);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}
