/* SPDX-License-Identifier: GPL-2.0-or-later */
/* access.c - --allow-uid: which users' clients an EXPOSE on the host takes
 *
 * A connection accepted on an EXPOSE in the host's namespace comes from a
 * socket in that same namespace, and socket diagnostics know who owns it:
 * one exact-match SOCK_DIAG_BY_FAMILY request names the client socket by
 * its four addresses and answers with its uid. A client of a user not in
 * --allow-uid is reset and logged (rate-limited). When the owner cannot be
 * told - the client left before the question - the connection is refused
 * too: the check fails closed.
 *
 * The diag socket is made before the capability drop; the question needs
 * no privilege. It costs one netlink round trip per accepted connection,
 * and only with --allow-uid.
 */

#include <errno.h>
#include <linux/netlink.h>
#include <netlink/socket.h>
#include <string.h>
#include <sys/socket.h>

#include "nsbridge/access.h"
#include "nsbridge/note.h"
#include "nsbridge/side.h"
#include "nsbridge/sockdiag.h"

#define ACCESS_LOG_INTERVAL_MS	10000
#define ACCESS_LOG_BURST	5

static struct nl_sock *host_diag;
static struct ratelimit refused_rl = RATELIMIT_INIT(ACCESS_LOG_INTERVAL_MS, ACCESS_LOG_BURST);

/**
 * access_setup() - open the host's diag socket when --allow-uid asks
 * @c:		context, sides open; also while running, before a reload
 *		sets --allow-uid (reload.c)
 *
 * Return: 0 or -errno
 */
int access_setup(struct ctx *c)
{
	int fd;

	if ((!c->config->n_allow_uids && !c->config->labels) || host_diag)
		return 0;
	fd = side_socket(c, SIDE_HOST, AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG);
	return fd < 0 ? fd : sockdiag_open(fd, &host_diag);
}

static void log_refused(struct ctx *c, const struct listener *l, int r, uint32_t uid)
{
	struct bridge *b = l->bridge;
	const char *line;
	unsigned missed;

	if (r < 0)
		line = note_error(b, "%s: a client whose user cannot be told (%s) was reset "
					 "(--allow-uid)", b->expose_text, strerror(-r));
	else
		line = note_error(b, "%s: a client of uid %u was reset: not in --allow-uid",
					 b->expose_text, uid);
	if (!ratelimit_pass(&refused_rl, c->now_ms, &missed))
		return;
	if (missed)
		log_warn("%u more clients were refused by --allow-uid", missed);
	log_warn("%s", line);
}

/**
 * access_allows() - whether --allow-uid lets a just-accepted client in
 * @c:		context
 * @l:		the listener it came to
 * @fd:		the accepted socket
 *
 * Return: true if it may go on; false if the caller must reset it
 */
bool access_allows(struct ctx *c, const struct listener *l, int fd)
{
	uint32_t uid = 0;
	int r;

	if (!host_diag || l->bridge->spec->expose.side != SIDE_HOST ||
	    !l->bridge->options->n_allow_uids)
		return true;
	r = sockdiag_peer_uid(host_diag, fd, &uid);
	if (r == 0 && config_allows_uid(l->bridge->options, uid))
		return true;
	log_refused(c, l, r, uid);
	return false;
}

/**
 * access_release() - close the diag socket
 * @c:		context
 */
void access_release(struct ctx *c)
{
	(void)c;
	nl_socket_free(host_diag);
	host_diag = NULL;
}
