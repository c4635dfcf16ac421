/* SPDX-License-Identifier: GPL-2.0-or-later */
/* scratchns.h - a fresh network namespace for a test, without entering it */
#ifndef NSBRIDGE_TEST_SCRATCHNS_H
#define NSBRIDGE_TEST_SCRATCHNS_H

#include <sched.h>
#include <unistd.h>

#include "nsbridge/netns.h"

/* After cmocka.h. Needs root; the calling thread stays where it was. */
static inline int make_namespace(void)
{
	int home_fd, fd;

	assert_int_equal(netns_open_self(&home_fd), 0);
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	assert_int_equal(netns_open_self(&fd), 0);
	assert_int_equal(setns(home_fd, CLONE_NEWNET), 0);
	close(home_fd);
	return fd;
}

#endif /* NSBRIDGE_TEST_SCRATCHNS_H */
