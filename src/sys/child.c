/* SPDX-License-Identifier: GPL-2.0-or-later */
/* child.c - the helper processes' common start: die with the relay, leave signals to it
 *
 * The opener and the engine watcher are forked by the relay and must never
 * outlive it: PR_SET_PDEATHSIG kills them when it dies, and the parent is
 * checked afterwards in case it died before the request took effect. (The
 * watcher keeps uid 0 where the relay leaves it, and a parent-death signal
 * is sent with the dying relay's credentials: the keeper of runas.c kills
 * it instead.) The other way round, the relay watches each of them by
 * pidfd (children.c) and says at once when one has died.
 * SIGINT and SIGTERM sent to the process group are the relay's to handle
 * (it drains in order), so the helpers ignore them.
 */

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "nsbridge/child.h"

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
