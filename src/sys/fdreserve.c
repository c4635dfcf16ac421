/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fdreserve.c - descriptors held back for nsbridge status and --metrics
 *
 * Theory of operation
 *
 * Client connections can take every descriptor the process may have:
 * accept() then fails with EMFILE and new clients wait in the kernel's
 * backlog (listener.c). That is when an operator asks nsbridge status or
 * scrapes --metrics, and each answer needs a descriptor of its own. So a
 * few are held back from the start: FDRESERVE_SPARES duplicates of one
 * /dev/null descriptor, the anchor. Connections, sockets to SERVICE and
 * pipes run out while the spares are still held, and wait as they would
 * at any limit.
 *
 * The control socket and the metrics server lend the spares around the
 * accepts they make: fdreserve_lend() closes them, fdreserve_refill()
 * takes back what is still free. The loop is one thread, so nothing else
 * can take a lent descriptor in between. A spare that a reader took comes
 * back after the reader is closed: the loop refills after every batch,
 * and listener.c before it accepts, so a descriptor freed goes to the
 * reserve first. The refill duplicates the anchor (F_DUPFD_CLOEXEC), so
 * it needs no path and no open() once the relay is sandboxed.
 *
 * Lending is the simplest way to be exact: the kernel has no "accept
 * unless fewer than N descriptors are left", and counting descriptors in
 * user space would miss those libmicrohttpd opens and closes itself.
 */

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "nsbridge/fdreserve.h"

/* status readers and scrapes that can be answered at once at the limit */
#define FDRESERVE_SPARES	4

static int anchor_fd = -1;
static int spare_fds[FDRESERVE_SPARES] = { -1, -1, -1, -1 };
static unsigned n_spares;

/**
 * fdreserve_init() - open the anchor and take the spares
 *
 * Called before the sandbox, which allows the duplicates but not the
 * anchor's open().
 *
 * Return: 0 or -errno
 */
int fdreserve_init(void)
{
	anchor_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (anchor_fd < 0)
		return -errno;
	fdreserve_refill();
	return n_spares == FDRESERVE_SPARES ? 0 : -EMFILE;
}

/**
 * fdreserve_lend() - free the spares for the accepts about to be made
 */
void fdreserve_lend(void)
{
	while (n_spares)
		close(spare_fds[--n_spares]);
}

/**
 * fdreserve_refill() - take back as many spares as descriptors are free
 */
void fdreserve_refill(void)
{
	while (anchor_fd >= 0 && n_spares < FDRESERVE_SPARES) {
		int fd = fcntl(anchor_fd, F_DUPFD_CLOEXEC, 0);

		if (fd < 0)
			return;		/* EMFILE: taken back when one is freed */
		spare_fds[n_spares++] = fd;
	}
}

/**
 * fdreserve_placeholder() - a descriptor that keeps a place for one the
 *			     caller needs next, to close() just before
 *
 * Return: the descriptor, or -errno (-EMFILE: no place to keep)
 */
int fdreserve_placeholder(void)
{
	int fd = fcntl(anchor_fd, F_DUPFD_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

/**
 * fdreserve_spares() - spares held now
 *
 * Return: how many; 0 means that whoever borrowed the last ones may have
 * been refused a descriptor
 */
unsigned fdreserve_spares(void)
{
	return n_spares;
}

/**
 * fdreserve_release() - close the anchor and the spares
 */
void fdreserve_release(void)
{
	fdreserve_lend();
	if (anchor_fd >= 0)
		close(anchor_fd);
	anchor_fd = -1;
}
