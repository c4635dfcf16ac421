/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sdnotify.c - readiness and status for systemd (sd_notify)
 *
 * Under a unit of Type=notify, systemd starts what comes after nsbridge
 * only once it says READY=1, which it does when every listener is bound -
 * the moment the ready lines are printed. Outside systemd ($NOTIFY_SOCKET
 * unset) every call here does nothing. The notify socket is written after
 * the capability drop: systemd's is writable by the unit's user as such.
 */

#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "nsbridge/sdnotify.h"

/**
 * sdnotify_ready() - every bridge is ready: READY=1, and how many
 * @c:		context
 */
void sdnotify_ready(const struct ctx *c)
{
	sd_notifyf(0, "READY=1\nSTATUS=%zu bridge%s ready", c->n_bridges,
		   c->n_bridges == 1 ? "" : "s");
}

/**
 * sdnotify_status() - a line for "systemctl status"
 * @status:	what is going on, one line
 */
void sdnotify_status(const char *status)
{
	sd_notifyf(0, "STATUS=%s", status);
}

/**
 * sdnotify_stopping() - a stop was asked: STOPPING=1
 */
void sdnotify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping: open connections may finish");
}
