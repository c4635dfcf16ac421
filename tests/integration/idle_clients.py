#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# idle_clients.py - many TCP clients that connect, send a byte and stay idle:
#                   the load that takes a relay's descriptors
#
#   idle_clients.py PORT N OUT            N clients to 127.0.0.1:PORT, one
#                                         after another; after each connects
#                                         and sends "x", "connected=K" is
#                                         written to OUT. They stay until
#                                         this process is killed.
#   idle_clients.py PORT N OUT HALF GO    the same; once the file GO exists,
#                                         the first HALF close, the others
#                                         each wait for one byte back (an
#                                         echo service), and "answered=K"
#                                         (those that got "x") goes to OUT
#
# A connect completes in the kernel's backlog, so K counts clients the
# relay may not have accepted yet: the test reads the relay's side itself.

import os
import socket
import sys
import time

HOLD = 600	# seconds: without GO, how long the clients stay at the most


def put(out, text):
    with open(out, "w") as f:
        f.write(text + "\n")


def main():
    port, n, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    half, go = (int(sys.argv[4]), sys.argv[5]) if len(sys.argv) > 5 else (None, None)
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.send(b"x")
        socks.append(s)
        put(out, f"connected={len(socks)}")
    if go is None:
        time.sleep(HOLD)
        return
    while not os.path.exists(go):
        time.sleep(0.05)
    for s in socks[:half]:
        s.close()
    answered = 0
    for s in socks[half:]:
        try:
            answered += s.recv(1) == b"x"
        except OSError:
            pass
    put(out, f"answered={answered}")


main()
