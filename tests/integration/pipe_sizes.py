#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# pipe_sizes.py - the splice pipes of another process, read from outside
#
#   pipe_sizes.py PID PATTERN   "pipes=N held=M sizes=S,...": N pipes (each
#                               counted once, by its write end or its read
#                               end), M of them holding bytes, and their
#                               sizes (F_GETPIPE_SZ), each size once, in
#                               order. Printed once it matches the regular
#                               expression PATTERN ("" matches at once), or
#                               as it is after 30 s, a failure guard; exits
#                               0 if it matched. "watching" comes first, once
#                               the process is open.
#
# A splice pipe is one the process made non-blocking (O_NONBLOCK in
# /proc/PID/fdinfo): not its stdin or stdout. Each is copied into this
# process with pidfd_getfd(2) (root), where FIONREAD says what it holds.
# Nothing is changed on it.

import array
import fcntl
import os
import re
import sys
import termios
import time

# pidfd.py beside this script, whatever the cwd (and no __pycache__ in the tree)
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
sys.dont_write_bytecode = True
from pidfd import pidfd_getfd  # noqa: E402

F_GETPIPE_SZ = 1032
GUARD = 30	# seconds: a failure guard, never a wait for success


def summary(pid, pidfd):
    pipes = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{name}")
            with open(f"/proc/{pid}/fdinfo/{name}") as f:
                info = f.read()
        except OSError:
            continue	# closed meanwhile
        if not link.startswith("pipe:") or link in pipes:
            continue
        if not int(re.search(r"flags:\s*(\d+)", info).group(1), 8) & os.O_NONBLOCK:
            continue	# stdin or stdout, not a splice pipe
        try:
            fd = pidfd_getfd(pidfd, int(name))
        except OSError:
            continue	# closed meanwhile
        queued = array.array("i", [0])
        fcntl.ioctl(fd, termios.FIONREAD, queued)
        pipes[link] = (fcntl.fcntl(fd, F_GETPIPE_SZ), queued[0])
        os.close(fd)
    sizes = sorted({size for size, _ in pipes.values()})
    return "pipes=%d held=%d sizes=%s" % (
        len(pipes), sum(1 for _, q in pipes.values() if q), ",".join(map(str, sizes)))


def main():
    pid, pattern = int(sys.argv[1]), sys.argv[2]
    pidfd = os.pidfd_open(pid)
    print("watching", flush=True)
    deadline = time.monotonic() + GUARD
    while not re.search(pattern, now := summary(pid, pidfd)) and time.monotonic() < deadline:
        time.sleep(0.02)
    print(now)
    sys.exit(0 if re.search(pattern, now) else 1)


main()
