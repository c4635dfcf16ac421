/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nl.c - rtnetlink through libnl-route: the loopback link
 *
 * A namespace made by 'ip netns add' or 'unshare --net' starts with lo
 * down, and then nothing can bind 127.0.0.1 in it. nsbridge brings lo up
 * in each namespace it binds in. A netlink socket belongs to the
 * namespace it was made in, so the caller runs this in the target
 * namespace (the opener, right after setns()).
 */

#include <errno.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "nsbridge/nl.h"

static int nl_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_PERM:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return -ENODEV;
	case NLE_AGAIN:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

static int link_set_up(struct nl_sock *sk, struct rtnl_link *lo)
{
	struct rtnl_link *change;
	int r;

	change = rtnl_link_alloc();
	if (!change)
		return -ENOMEM;
	rtnl_link_set_flags(change, IFF_UP);
	r = rtnl_link_change(sk, lo, change, 0);
	rtnl_link_put(change);
	return r < 0 ? nl_errno(r) : 1;
}

/**
 * nl_lo_up() - bring lo up in the calling thread's network namespace
 *
 * Return: 1 if it was down and is now up, 0 if it was up already, or
 * -errno: -EPERM without CAP_NET_ADMIN, -ENODEV if there is no lo
 */
int nl_lo_up(void)
{
	struct rtnl_link *lo = NULL;
	struct nl_sock *sk;
	int r;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		r = nl_errno(r);
		goto out;
	}
	r = rtnl_link_get_kernel(sk, 0, "lo", &lo);
	if (r < 0) {
		r = nl_errno(r);
		goto out;
	}
	r = (rtnl_link_get_flags(lo) & IFF_UP) ? 0 : link_set_up(sk, lo);
	rtnl_link_put(lo);
out:
	nl_socket_free(sk);
	return r;
}
