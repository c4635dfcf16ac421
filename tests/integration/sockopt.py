#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# sockopt.py - the TCP sockets of another process, read from outside
#
#   sockopt.py PID     one line per connected TCP socket of process PID:
#                      "INODE LOCAL PEER NODELAY", e.g.
#                      "123456 127.0.0.1:40000 127.0.0.1:5432 1"
#
# Each socket descriptor in /proc/PID/fd is copied into this process with
# pidfd_getfd(2) (root: PTRACE_MODE_ATTACH_REALCREDS), so getsockopt reads
# the option the process set on its own socket. Nothing is changed on it.

import os
import socket
import sys

# pidfd.py beside this script, whatever the cwd (and no __pycache__ in the tree)
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
sys.dont_write_bytecode = True
from pidfd import pidfd_getfd  # noqa: E402


def text(addr):
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def main():
    pid = int(sys.argv[1])
    pidfd = os.pidfd_open(pid)
    for name in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue	# closed meanwhile
        if not link.startswith("socket:["):
            continue
        try:
            fd = pidfd_getfd(pidfd, int(name))
        except OSError:
            continue	# closed meanwhile
        s = socket.socket(fileno=fd)
        try:
            if s.family not in (socket.AF_INET, socket.AF_INET6) or s.type != socket.SOCK_STREAM:
                continue
            try:
                peer = s.getpeername()
            except OSError:
                continue	# a listener, or not connected
            nodelay = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            print(os.fstat(fd).st_ino, text(s.getsockname()), text(peer),
                  1 if nodelay else 0)
        finally:
            s.close()


main()
