/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sdnotify.c - readiness and status for systemd (sd_notify)
 *
 * Under a unit of Type=notify, systemd starts what comes after nsbridge
 * only once it says READY=1, which it does when every listener is bound -
 * the moment the ready lines are printed. Outside systemd ($NOTIFY_SOCKET
 * unset) every call here does nothing. The notify socket is written after
 * the capability drop, and after the relay left uid 0 (runas.c), which the
 * socket's mode may not let in: so a socket connected to it before is
 * kept, and a datagram on a connected socket is not checked again.
 * systemd's own (mode 0777) would take it either way; another supervisor's
 * may be root's.
 *
 * A reload (SIGHUP, reload.c) says RELOADING=1 with the monotonic time,
 * as Type=notify-reload asks, and READY=1 again once it is over, applied
 * or refused: systemctl reload waits for the second.
 */

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "nsbridge/sdnotify.h"

static int notify_fd = -1;	/* connected to $NOTIFY_SOCKET, or -1 */

/**
 * sdnotify_setup() - connect to $NOTIFY_SOCKET while still root
 *
 * A path or an abstract name ('@'); any other kind is left to libsystemd
 * at each message.
 *
 * Return: 0 (also without $NOTIFY_SOCKET), or -errno
 */
int sdnotify_setup(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return 0;
	len = strlen(path);
	if (len >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	notify_fd = fd;
	return 0;
}

/* One message, on the socket connected before if there is one; never blocks */
static void notify(const char *text)
{
	if (notify_fd < 0)
		sd_notify(0, text);
	else
		send(notify_fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/**
 * sdnotify_ready() - every bridge is ready: READY=1, and how many
 * @c:		context
 */
void sdnotify_ready(const struct ctx *c)
{
	char text[64];
	size_t n = 0;

	for (size_t i = 0; i < c->n_bridges; i++)
		n += !c->bridges[i].removed;
	snprintf(text, sizeof(text), "READY=1\nSTATUS=%zu bridge%s ready", n, n == 1 ? "" : "s");
	notify(text);
}

/**
 * sdnotify_reloading() - a reload starts: RELOADING=1 and MONOTONIC_USEC,
 *			  READY=1 (sdnotify_ready()) follows when it is over
 */
void sdnotify_reloading(void)
{
	struct timespec ts;
	char text[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(text, sizeof(text), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	notify(text);
}

/**
 * sdnotify_status() - a line for "systemctl status"
 * @status:	what is going on, one line
 */
void sdnotify_status(const char *status)
{
	char text[256];

	snprintf(text, sizeof(text), "STATUS=%s", status);
	notify(text);
}

/**
 * sdnotify_stopping() - a stop was asked: STOPPING=1
 */
void sdnotify_stopping(void)
{
	notify("STOPPING=1\nSTATUS=stopping: open connections may finish");
}
