/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fdcount.h - how many descriptors the test process holds, to catch leaks */
#ifndef NSBRIDGE_TEST_FDCOUNT_H
#define NSBRIDGE_TEST_FDCOUNT_H

#include <dirent.h>

/* After cmocka.h. Not counted: ".", ".." and the directory's own fd. */
static inline int open_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3;
}

#endif /* NSBRIDGE_TEST_FDCOUNT_H */
