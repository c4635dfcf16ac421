#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""watch_peer.py - the two ends status_watch.sh needs

    watch_peer.py tty OUT CMD...    run CMD on a pseudo-terminal, as a user's
                                    shell would; append all it prints to OUT;
                                    exit with its exit status once it exits
    watch_peer.py trickle PORT STOP send 1 KiB every 20 ms to 127.0.0.1:PORT
                                    and read the echo, until the file STOP exists
"""
import os
import pty
import socket
import sys
import time


def tty(out, cmd):
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    with open(out, "ab", buffering=0) as f:
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child's side is closed
                break
            if not data:
                break
            f.write(data)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def trickle(port, stop):
    s = socket.create_connection(("127.0.0.1", port))
    while not os.path.exists(stop):
        s.sendall(b"x" * 1024)
        got = 0
        while got < 1024:
            chunk = s.recv(1024 - got)
            if not chunk:
                return 1
            got += len(chunk)
        time.sleep(0.02)
    s.close()
    return 0


def main():
    if sys.argv[1] == "tty":
        return tty(sys.argv[2], sys.argv[3:])
    return trickle(int(sys.argv[2]), sys.argv[3])


if __name__ == "__main__":
    sys.exit(main())
