# SPDX-License-Identifier: GPL-2.0-or-later
# pidfd.py - pidfd_getfd(2) for the test scripts that read another
#            process's sockets from outside (sock_netns.py, sockopt.py)
#
# Python's os module has pidfd_open but not pidfd_getfd: it is called
# through libc's syscall(2). Copying a descriptor needs
# PTRACE_MODE_ATTACH_REALCREDS over the process (root here); the copy is
# this process's own, to close when done. Nothing is changed on the
# original.

import ctypes
import os

SYS_PIDFD_GETFD = 438	# x86_64 and the generic table alike

_libc = ctypes.CDLL(None, use_errno=True)


def pidfd_getfd(pidfd, fd):
    """A copy of descriptor FD of the process PIDFD refers to; OSError on failure."""
    r = _libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r
