#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# holder.py - N connections held open through a relay, some of them talking
#
#   holder.py PORT N DIR
#
# Opens N connections to an HTTP server at 127.0.0.1:PORT and prints
# "open". While the file DIR/talk exists, 1,000 of them (or N, if fewer)
# send one request a second each, spread over the second, and read the
# answers ("talking" is printed once the first second has gone round).
# Lets go when DIR/stop appears, or after 10 minutes. bench/run.sh measures
# the relay's memory and CPU meanwhile; the holder is the same for every
# relay.

import os
import selectors
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
TALKERS = 1000


def main():
    port, n, where = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    print("open", flush=True)
    talkers = conns[:TALKERS]
    sel = selectors.DefaultSelector()
    for c in talkers:
        c.setblocking(False)
        sel.register(c, selectors.EVENT_READ)
    deadline = time.monotonic() + 600
    next_send, turn, said = time.monotonic(), 0, False
    while not os.path.exists(os.path.join(where, "stop")) and time.monotonic() < deadline:
        if not os.path.exists(os.path.join(where, "talk")):
            time.sleep(0.1)
            next_send = time.monotonic()
            continue
        now = time.monotonic()
        # one talker in every slot of 1/len(talkers) s: a steady rate
        while talkers and next_send <= now:
            talkers[turn].send(REQUEST)
            turn = (turn + 1) % len(talkers)
            next_send += 1 / len(talkers)
            if turn == 0 and not said:
                print("talking", flush=True)
                said = True
        for key, _ in sel.select(timeout=max(0.0, next_send - time.monotonic())):
            key.fileobj.recv(65536)


if __name__ == "__main__":
    main()
