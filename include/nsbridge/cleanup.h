/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cleanup.h - descriptors and memory released on every way out of a scope
 *
 * A function that holds several resources and can fail at several points
 * otherwise repeats the same close() and free() before each return, and
 * the one it forgets is a leak. A variable declared _cleanup_close_,
 * _cleanup_free_ or _cleanup_closedir_ is released by the compiler
 * whenever it goes out of scope, so each error path is a plain return;
 * _cleanup_(fn##p) does the same for a library's own type, with a cleanup
 * that DEFINE_CLEANUP_FUNC() makes.
 * Where the resource outlives the function (stored in a struct, an
 * out-parameter, returned), TAKE_FD() or TAKE_PTR() hands it over and
 * leaves -1 or NULL behind, so that the hand-over reads at the call site
 * (systemd's fd-util.h and alloc-util.h).
 *
 * A descriptor variable starts at -1 and a pointer at NULL, which the
 * cleanups skip. Not in the splice and datagram loops: there a connection
 * or a flow owns its descriptors for its life, and a test at each scope's
 * exit would be paid per event for nothing.
 */
#ifndef NSBRIDGE_CLEANUP_H
#define NSBRIDGE_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Call @fn with the variable's address when it goes out of scope */
#define _cleanup_(fn)		__attribute__((cleanup(fn)))
#define _cleanup_close_		_cleanup_(cleanup_closep)
#define _cleanup_free_		_cleanup_(cleanup_freep)
#define _cleanup_closedir_	_cleanup_(cleanup_closedirp)

/* errno is kept: the cleanup runs after a "return -errno" read it, but a
 * caller that logs with %m after the return must not see close()'s */
static inline void cleanup_closep(const int *fd)
{
	int saved = errno;

	if (*fd >= 0)
		close(*fd);
	errno = saved;
}

/* @p is the address of a pointer of any type; copied, not cast, to read it */
static inline void cleanup_freep(void *p)
{
	void *mem;

	memcpy(&mem, p, sizeof(mem));
	free(mem);
}

static inline void cleanup_closedirp(DIR **d)
{
	int saved = errno;

	if (*d)
		closedir(*d);
	errno = saved;
}

/*
 * A cleanup named @fn##p for variables of @type that a library releases
 * with @fn (json_object_put(), say); NULL is skipped. At file scope,
 * without a semicolon after it.
 */
#define DEFINE_CLEANUP_FUNC(type, fn)				\
	static inline void fn##p(type *p)			\
	{							\
		if (*p)						\
			fn(*p);					\
	}

/* The descriptor in @fd, which is left -1: its cleanup no longer closes it */
#define TAKE_FD(fd) __extension__ ({			\
		int *take_fd_p_ = &(fd);		\
		int take_fd_ = *take_fd_p_;		\
							\
		*take_fd_p_ = -1;			\
		take_fd_;				\
	})

/* The pointer in @ptr, which is left NULL: its cleanup no longer frees it */
#define TAKE_PTR(ptr) __extension__ ({			\
		__typeof__(ptr) *take_ptr_p_ = &(ptr);	\
		__typeof__(ptr) take_ptr_ = *take_ptr_p_; \
							\
		*take_ptr_p_ = NULL;			\
		take_ptr_;				\
	})

#endif /* NSBRIDGE_CLEANUP_H */
