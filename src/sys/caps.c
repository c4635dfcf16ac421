/* SPDX-License-Identifier: GPL-2.0-or-later */
/* caps.c - capability checks and the staged drop
 *
 * Theory of operation
 *
 * nsbridge needs privilege only to set up: to open another process's
 * namespace (CAP_SYS_PTRACE), to enter one (CAP_SYS_ADMIN), to bring its
 * loopback up (CAP_NET_ADMIN) and to bind a port below 1024
 * (CAP_NET_BIND_SERVICE). An ordinary user needs none of them for its own
 * rootless containers: the opener holds them in the container engine's
 * user namespace, which it joins (netns.c). It drops in two stages:
 *
 * 1. At fork, the opener (opener.c) keeps just those four and drops the
 *    rest, forever: it only ever makes sockets on request.
 * 2. Once every listener is bound, the relay drops everything: the
 *    bounding set (so no exec can regain a capability), the effective,
 *    permitted, inheritable and ambient sets, and then sets
 *    no_new_privs. From then on /proc/PID/status shows CapEff 0 and the
 *    relay can only move bytes between sockets it already holds or is
 *    handed by the opener. sandbox.c then narrows it to the system calls
 *    that takes; no_new_privs is what lets an unprivileged process
 *    install that filter.
 *
 * Started as root, the relay also stops being uid 0 in stage 2
 * (caps_drop_all_as(), runas.c picks the user): without capabilities uid
 * 0 still owns every root-owned file and socket - the Docker API socket
 * among them, which is root on the host. The order matters:
 *
 *   bounding set     needs CAP_SETPCAP, which leaving uid 0 takes away
 *   setgroups(0)     root's supplementary groups go first: it needs
 *                    CAP_SETGID, as does
 *   setresgid        real, effective and saved gid
 *   setresuid        last; with all three uids non-zero the kernel
 *                    clears the permitted and effective sets (no
 *                    PR_SET_KEEPCAPS: nothing after needs one), and
 *                    the process becomes non-dumpable, so processes of
 *                    the same user cannot ptrace it
 *   the rest         ambient and process sets, no_new_privs; then the
 *                    seccomp filter, which has no setresuid to undo it.
 */

#include <errno.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "nsbridge/caps.h"

/**
 * caps_have() - whether the process has @cap in its effective set
 * @cap:	capability
 *
 * Return: true if it has it
 */
bool caps_have(cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (!caps)
		return false;
	if (cap_get_flag(caps, cap, CAP_EFFECTIVE, &v) < 0)
		v = CAP_CLEAR;
	cap_free(caps);
	return v == CAP_SET;
}

static bool cap_listed(cap_value_t cap, const cap_value_t *keep, size_t n_keep)
{
	for (size_t i = 0; i < n_keep; i++)
		if (keep[i] == cap)
			return true;
	return false;
}

/* Without CAP_SETPCAP the bounding set cannot shrink; no_new_privs still
 * guarantees that no exec gains anything, so that is not an error. */
static int drop_bounding(const cap_value_t *keep, size_t n_keep)
{
	int last = (int)cap_max_bits() - 1;

	if (!caps_have(CAP_SETPCAP))
		return 0;
	for (cap_value_t cap = 0; cap <= last; cap++) {
		if (cap_listed(cap, keep, n_keep))
			continue;
		if (cap_drop_bound(cap) < 0 && errno != EINVAL)
			return -errno;
	}
	return 0;
}

static int set_proc(const cap_value_t *keep, size_t n_keep)
{
	cap_t caps = cap_init();
	int r = 0;

	if (!caps)
		return -errno;
	if (n_keep &&
	    (cap_set_flag(caps, CAP_EFFECTIVE, (int)n_keep, keep, CAP_SET) < 0 ||
	     cap_set_flag(caps, CAP_PERMITTED, (int)n_keep, keep, CAP_SET) < 0))
		r = -errno;
	if (!r && cap_set_proc(caps) < 0)
		r = -errno;
	cap_free(caps);
	return r;
}

/* Everything but @keep out of the process's sets, then no_new_privs */
static int finish(const cap_value_t *keep, size_t n_keep)
{
	int r;

	if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() < 0)
		return -errno;
	r = set_proc(keep, n_keep);
	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

/**
 * caps_keep_only() - drop every capability not in @keep, set no_new_privs
 * @keep:	capabilities to keep effective and permitted
 * @n_keep:	their number
 *
 * Capabilities in @keep that the process does not have stay absent.
 *
 * Return: 0 or -errno
 */
int caps_keep_only(const cap_value_t *keep, size_t n_keep)
{
	cap_value_t held[CAP_LAST_CAP + 1];
	size_t n_held = 0;
	int r;

	for (size_t i = 0; i < n_keep && n_held <= CAP_LAST_CAP; i++)
		if (caps_have(keep[i]))
			held[n_held++] = keep[i];

	r = drop_bounding(held, n_held);
	if (r < 0)
		return r;
	return finish(held, n_held);
}

/* Become @uid:@gid with no supplementary group, for good */
static int become(uid_t uid, gid_t gid)
{
	uid_t ruid, euid, suid;

	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -errno;
	if (getresuid(&ruid, &euid, &suid) < 0 || ruid != uid || euid != uid || suid != uid)
		return -EPERM;
	if (uid != 0 && setresuid(0, 0, 0) == 0)
		return -EPERM;	/* a way back to uid 0 is left: never run like that */
	return 0;
}

/**
 * caps_drop_all_as() - drop every capability as caps_drop_all() does,
 *			becoming @uid:@gid, with no supplementary group, on
 *			the way
 * @uid:	the user to run as from now on
 * @gid:	its group
 *
 * Needs uid 0 (or CAP_SETUID, CAP_SETGID): the caller switches only then.
 *
 * Return: 0 or -errno
 */
int caps_drop_all_as(uid_t uid, gid_t gid)
{
	int r = drop_bounding(NULL, 0);

	if (r < 0)
		return r;
	r = become(uid, gid);
	if (r < 0)
		return r;
	return finish(NULL, 0);
}

/**
 * caps_drop_all() - drop every capability and set no_new_privs
 *
 * Return: 0 or -errno
 */
int caps_drop_all(void)
{
	return caps_keep_only(NULL, 0);
}

/**
 * caps_grant_hint() - how a user grants what nsbridge needs
 *
 * Return: a static sentence
 */
const char *caps_grant_hint(void)
{
	return "run it as root, or grant it with: setcap "
	       "cap_sys_admin,cap_sys_ptrace,cap_net_admin,cap_net_bind_service+ep "
	       "$(command -v nsbridge)";
}
