#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# sock_netns.py - which network namespaces the sockets of processes are in
#
#   sock_netns.py PID...   one line per socket of each PID: "PID FD NETNS",
#                          NETNS as readlink /proc/X/ns/net prints it,
#                          e.g. "4242 7 net:[4026532288]"
#
# A socket belongs for life to the namespace it was made in, and nothing
# in /proc/PID/fd says which: each socket descriptor is copied into this
# process with pidfd_getfd(2) (root), and SIOCGSKNS opens the namespace
# it belongs to. Nothing is changed on it.

import fcntl
import os
import sys

# pidfd.py beside this script, whatever the cwd (and no __pycache__ in the tree)
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
sys.dont_write_bytecode = True
from pidfd import pidfd_getfd  # noqa: E402

SIOCGSKNS = 0x894C


def sockets(pid):
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            try:
                if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
                    continue
                fd = pidfd_getfd(pidfd, int(name))
            except OSError:
                continue	# closed meanwhile
            try:
                ns = fcntl.ioctl(fd, SIOCGSKNS)
                print(pid, name, f"net:[{os.fstat(ns).st_ino}]")
                os.close(ns)
            except OSError:
                pass	# not an inet socket of a namespace (unix pairs have one too)
            finally:
                os.close(fd)
    finally:
        os.close(pidfd)


for arg in sys.argv[1:]:
    sockets(int(arg))
