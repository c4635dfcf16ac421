/* SPDX-License-Identifier: GPL-2.0-or-later */
/* failure.c - an exit status and one line, carried beside a -errno
 *
 * Theory of operation: a fallible function returns -errno. Where the failure
 * must reach the user, it also fills a struct failure its caller passed down:
 * the exit status and the one line, as systemd's sd_bus_error_setf() fills a
 * name and a message and returns the matching -errno. Only two places read
 * the status: main.c at the start, and the answer to nsbridge add/remove.
 * Everything between passes the structure up, untouched.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "nsbridge/failure.h"

static int failure_vset(struct failure *f, size_t size, enum exit_status status, int r,
			const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static int failure_vset(struct failure *f, size_t size, enum exit_status status, int r,
			const char *fmt, va_list ap)
{
	if (!f)
		return r;
	f->status = status;
	vsnprintf(f->line, size < sizeof(f->line) ? size : sizeof(f->line), fmt, ap);
	return r;
}

/**
 * failure_set() - fill @f with an exit status and a line, return @r
 * @f:		where the failure goes; NULL to only return @r
 * @status:	exit status for the user
 * @r:		negative errno value the caller returns
 * @fmt:	printf format of the line
 *
 * Return: @r, so that callers fill and return in one statement
 */
int failure_set(struct failure *f, enum exit_status status, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	failure_vset(f, sizeof(f->line), status, r, fmt, ap);
	va_end(ap);
	return r;
}

/**
 * failure_setn() - failure_set() with a line of at most @size - 1 characters
 * @f:		where the failure goes; NULL to only return @r
 * @size:	the line's room, its terminating NUL included (at most
 *		FAILURE_LINE_MAX)
 * @status:	exit status for the user
 * @r:		negative errno value the caller returns
 * @fmt:	printf format of the line
 *
 * For the modules whose lines were always clipped shorter than
 * FAILURE_LINE_MAX: a long path or name is clipped where it always was.
 *
 * Return: @r
 */
int failure_setn(struct failure *f, size_t size, enum exit_status status, int r,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	failure_vset(f, size, status, r, fmt, ap);
	va_end(ap);
	return r;
}

static int failure_verrno(struct failure *f, enum exit_status status, int r, const char *fmt,
			  va_list ap) __attribute__((format(printf, 4, 0)));

static int failure_verrno(struct failure *f, enum exit_status status, int r, const char *fmt,
			  va_list ap)
{
	char what[768];

	vsnprintf(what, sizeof(what), fmt, ap);
	return failure_set(f, status, r, "%s: %s", what, strerror(r < 0 ? -r : r));
}

/**
 * failure_errno() - a runtime failure: "WHAT: strerror", exit status 1
 * @f:		where the failure goes; NULL to only return @r
 * @r:		negative errno value
 * @fmt:	printf format of what failed
 *
 * Return: @r
 */
int failure_errno(struct failure *f, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	failure_verrno(f, EXIT_RUNTIME, r, fmt, ap);
	va_end(ap);
	return r;
}

/**
 * failure_errno_refused() - failure_errno(), but exit status 5 where the
 *			     kernel refused (-EACCES, -EPERM)
 * @f:		where the failure goes; NULL to only return @r
 * @r:		negative errno value
 * @fmt:	printf format of what failed
 *
 * Return: @r
 */
int failure_errno_refused(struct failure *f, int r, const char *fmt, ...)
{
	bool refused = r == -EACCES || r == -EPERM;
	va_list ap;

	va_start(ap, fmt);
	failure_verrno(f, refused ? EXIT_PRIVILEGE : EXIT_RUNTIME, r, fmt, ap);
	va_end(ap);
	return r;
}

/**
 * failure_status() - an exit status whose line was already logged
 * @f:		where the failure goes; NULL to only return @r
 * @status:	exit status for the user
 * @r:		negative errno value
 *
 * For the few failures a helper must log itself (several lines, or a
 * warning first): the line stays empty, and the reader logs nothing more.
 *
 * Return: @r
 */
int failure_status(struct failure *f, enum exit_status status, int r)
{
	if (f) {
		f->status = status;
		f->line[0] = '\0';
	}
	return r;
}
