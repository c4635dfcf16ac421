#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# probe_peer.py - services that cannot answer, and clients that say how they were served
#
# TARGET is a TCP port on 127.0.0.1, or the path of a unix socket (it
# starts with "/"). For a client that only waits for the end of one
# connection, use tcp_peer.py wait-end.
#
#   probe_peer.py ends ROUNDS PORT   ROUNDS clients, one after another: send a
#                                    line, read to the end; print a tally of how
#                                    each ended, "reset=200" (eof, data, reset,
#                                    refused, hang or an error's name)
#   probe_peer.py timed PORT         connect, send nothing, print how it ended and
#                                    when: "reset 1004" (ms from the connect)
#   probe_peer.py crowd N TARGET     N clients at once, each sends "client I" and
#                                    reads to the end; print a tally, "ok=N" when
#                                    each got "ok client I" back (wrong, reset,
#                                    hang, error-ERRNO)
#   probe_peer.py slow PATH          unix service, listen(4), 20 accepts a second,
#                                    answers each line with "ok LINE"; prints
#                                    "listening" once it does
#   probe_peer.py stuck TARGET       a listener that never accepts, its queue of
#                                    one already full; prints "full" once it is
#   probe_peer.py reset PORT         serve: read from each connection, then close
#                                    it with SO_LINGER 0 (a reset, no data before)
#   probe_peer.py hold bind|listen PORT
#                                    hold 127.0.0.1:PORT, bound or listened on;
#                                    prints "holding" once it does

import collections
import errno
import os
import socket
import struct
import sys
import threading
import time

ADDR = "127.0.0.1"
GUARD = 20		# seconds: a failure guard, never a wait for success
LONG = 60		# a client that waits for room in a full queue: the same


def say(text):
    print(text, flush=True)


def tally(ends):
    return " ".join(f"{what}={n}" for what, n in sorted(collections.Counter(ends).items()))


def connect(target, timeout):
    """A blocking connect: a unix one waits for room in the queue"""
    if target.startswith("/"):
        c = socket.socket(socket.AF_UNIX)
        c.connect(target)
        c.settimeout(timeout)
        return c
    return socket.create_connection((ADDR, int(target)), timeout=timeout)


def listener(target, backlog):
    if target.startswith("/"):
        s = socket.socket(socket.AF_UNIX)
        s.bind(target)
        os.chmod(target, 0o777)	# the relay may run as another user
    else:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ADDR, int(target)))
    s.listen(backlog)
    return s


def read_all(c):
    data = b""
    while True:
        d = c.recv(65536)
        if not d:
            return data
        data += d


def end_of(target, line):
    """How one client's connection ended"""
    try:
        c = connect(target, GUARD)
        c.sendall(line)		# a reset may come first: that is the end
        return "data" if read_all(c) else "eof"
    except ConnectionResetError:
        return "reset"
    except ConnectionRefusedError:
        return "refused"
    except socket.timeout:
        return "hang"
    except OSError as e:
        return type(e).__name__


def ends(rounds, target):
    say(tally(end_of(target, b"x\n") for _ in range(rounds)))


def timed(target):
    t0 = time.monotonic()
    try:
        c = connect(target, GUARD)
        end = "data" if read_all(c) else "eof"
    except ConnectionResetError:
        end = "reset"
    except socket.timeout:
        end = "hang"
    say(f"{end} {int((time.monotonic() - t0) * 1000)}")


def served(target, i):
    try:
        c = connect(target, LONG)
        c.sendall(b"client %d\n" % i)
        return "ok" if read_all(c) == b"ok client %d\n" % i else "wrong"
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "hang"
    except OSError as e:
        return f"error-{e.errno}"


def crowd(n, target):
    seen = [None] * n

    def one(i):
        seen[i] = served(target, i)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    say(tally(seen))


def slow(path):
    s = listener(path, 4)
    say("listening")
    while True:
        c, _ = s.accept()
        with c, c.makefile("rb") as f:
            c.sendall(b"ok " + f.readline())
        time.sleep(0.05)


def queue_full(target):
    """One more connection would have to wait: a unix connect says EAGAIN,
    a TCP SYN is dropped (with syncookies off) until the connect times out"""
    if target.startswith("/"):
        probe = socket.socket(socket.AF_UNIX)
        probe.setblocking(False)
        return probe.connect_ex(target) == errno.EAGAIN
    try:
        connect(target, 0.5)
    except socket.timeout:
        return True
    return False


def stuck(target):
    s = listener(target, 0)
    fill = connect(target, 1)
    if queue_full(target):
        say("full")
    time.sleep(600)
    s.close(), fill.close()


def reset(port):
    s = listener(str(port), 128)
    while True:
        c, _ = s.accept()
        c.recv(100)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()


def hold(how, port):
    s = socket.socket()
    s.bind((ADDR, port))
    if how == "listen":
        s.listen()
    say("holding")
    time.sleep(600)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "ends":
        ends(int(args[0]), args[1])
    elif cmd == "timed":
        timed(args[0])
    elif cmd == "crowd":
        crowd(int(args[0]), args[1])
    elif cmd == "slow":
        slow(args[0])
    elif cmd == "stuck":
        stuck(args[0])
    elif cmd == "reset":
        reset(int(args[0]))
    elif cmd == "hold":
        hold(args[0], int(args[1]))
    else:
        sys.exit(f"probe_peer.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
