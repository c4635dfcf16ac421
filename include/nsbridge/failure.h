/* SPDX-License-Identifier: GPL-2.0-or-later */
/* failure.h - what the user is told when something fails: an exit status and one line */
#ifndef NSBRIDGE_FAILURE_H
#define NSBRIDGE_FAILURE_H

#include <stddef.h>

/* Exit statuses of SPEC.md */
enum exit_status {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
	EXIT_ADDR_IN_USE = 3,
	EXIT_NO_CONTAINER = 4,
	EXIT_PRIVILEGE = 5,
};

#define FAILURE_LINE_MAX	1024

/**
 * struct failure - a failure that must reach the user, beside the -errno
 *		    the function returns (as sd_bus_error beside its -errno)
 * @status:	the exit status a start ends with, and nsbridge add answers
 * @line:	the one line the user is told, without "nsbridge: " or a newline
 */
struct failure {
	enum exit_status status;
	char line[FAILURE_LINE_MAX];
};

#define FAILURE_INIT	{ .status = EXIT_OK, .line = "" }

int failure_set(struct failure *f, enum exit_status status, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int failure_setn(struct failure *f, size_t size, enum exit_status status, int r,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int failure_errno(struct failure *f, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int failure_errno_refused(struct failure *f, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int failure_status(struct failure *f, enum exit_status status, int r);

#endif /* NSBRIDGE_FAILURE_H */
