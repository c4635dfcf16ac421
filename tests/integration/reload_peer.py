#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# reload_peer.py - clients and servers that keep bytes moving across a reload
#
#   echo PORT                      echo every byte back, any number of clients
#   sha PORT                       read each client to EOF, answer the sha256 of it
#   many PORT N READY GO [ROUNDS]  N connections to an echo server, each sending a
#                                  chunk and reading it back over and over; READY is
#                                  created once every connection made a round trip,
#                                  and after GO appears each makes ROUNDS more. Every
#                                  byte read back is compared with the byte sent.
#                                  Prints "ok N ROUNDS-TOTAL BYTES", or what went wrong
#   send PORT MIB HALF GO          send MIB MiB, half of it, create HALF, wait for GO,
#                                  send the rest and print "SENT-SHA RECEIVED-SHA";
#                                  on a failure, one line: how far it got, and why
#   wait-one PORT LOG              two connections to an echo server at
#                                  --max-connections 1: the first makes a round
#                                  trip; once LOG says new connections wait, the
#                                  second, which has sent "y", must not be
#                                  answered until the first closes. Prints what
#                                  it is answered then, or what went wrong
import hashlib
import os
import selectors
import socket
import sys
import threading
import time

CHUNK = 16 * 1024


def listen(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(4096)
    return s


def echo(port):
    sel = selectors.DefaultSelector()
    srv = listen(port)
    srv.setblocking(False)
    sel.register(srv, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is srv:
                try:
                    c, _ = srv.accept()
                except BlockingIOError:
                    continue
                c.setblocking(True)
                sel.register(c, selectors.EVENT_READ)
                continue
            c = key.fileobj
            try:
                data = c.recv(CHUNK)
            except ConnectionError:
                data = b""
            if data:
                c.sendall(data)	# at most one chunk in flight per client
            else:
                sel.unregister(c)
                c.close()


def sha_one(c):
    h = hashlib.sha256()
    while True:
        data = c.recv(65536)
        if not data:
            break
        h.update(data)
    c.sendall((h.hexdigest() + "\n").encode())
    c.close()


def sha(port):
    srv = listen(port)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=sha_one, args=(c,), daemon=True).start()


def wait_file(path):
    while not os.path.exists(path):
        time.sleep(0.02)


def send(port, mib, half, go):
    total = mib * 1024 * 1024
    sent = 0
    h = hashlib.sha256()
    try:
        s = socket.create_connection(("127.0.0.1", port))
        while sent < total:
            if sent == total // 2:
                open(half, "w").close()
                wait_file(go)
            limit = total // 2 if sent < total // 2 else total
            block = os.urandom(min(65536, limit - sent))
            s.sendall(block)
            h.update(block)
            sent += len(block)
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while True:
            data = s.recv(4096)
            if not data:
                break
            answer += data
    except OSError as e:	# one line for the test to show, not a traceback
        print(f"failed after {sent} of {total} bytes sent: {type(e).__name__}: {e}")
        sys.exit(1)
    print(h.hexdigest(), answer.decode().strip())


def wait_one(port, log):
    a = socket.create_connection(("127.0.0.1", port))
    a.sendall(b"x")
    a.recv(1)
    b = socket.create_connection(("127.0.0.1", port))
    b.sendall(b"y")
    for _ in range(200):	# the state: nsbridge left the second one in the backlog
        if "connections (--max-connections); new ones wait" in open(log).read():
            break
        time.sleep(0.05)
    else:
        sys.exit("no line says the second connection waits")
    b.setblocking(False)
    try:
        b.recv(1)
        sys.exit("a second connection was served at --max-connections 1")
    except BlockingIOError:
        pass
    b.setblocking(True)
    b.settimeout(10)
    a.close()
    print(b.recv(1).decode())


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.expect = b""
        self.rounds = 0
        self.after_go = 0
        self.bytes = 0

    def start_round(self):
        self.expect = os.urandom(1024)
        self.sock.sendall(self.expect)


def many(port, n, ready, go, rounds):
    sel = selectors.DefaultSelector()
    conns = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(True)
        c = Conn(s)
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)
        c.start_round()
    open_ = n
    said_ready = False
    went = False
    failures = []
    while open_:
        if not went and os.path.exists(go):
            went = True
        for key, _ in sel.select(timeout=0.05):
            c = key.data
            try:
                data = c.sock.recv(len(c.expect))
            except ConnectionError as e:
                failures.append(f"{type(e).__name__} after {c.rounds} rounds")
                sel.unregister(c.sock)
                open_ -= 1
                continue
            if not data or not c.expect.startswith(data):
                failures.append("end of file" if not data else "wrong bytes")
                sel.unregister(c.sock)
                open_ -= 1
                continue
            c.expect = c.expect[len(data):]
            c.bytes += len(data)
            if c.expect:
                continue
            c.rounds += 1
            if went:
                c.after_go += 1
            if went and c.after_go >= rounds:
                sel.unregister(c.sock)
                c.sock.shutdown(socket.SHUT_WR)
                if c.sock.recv(1) != b"":
                    failures.append("bytes after the last round")
                c.sock.close()
                open_ -= 1
                continue
            c.start_round()
        if not said_ready and all(c.rounds for c in conns):
            open(ready, "w").close()
            said_ready = True
    if failures:
        print(f"{len(failures)} connections failed, first: {failures[0]}")
        sys.exit(1)
    print("ok", n, sum(c.rounds for c in conns), sum(c.bytes for c in conns))


def main():
    mode = sys.argv[1]
    if mode == "echo":
        echo(int(sys.argv[2]))
    elif mode == "sha":
        sha(int(sys.argv[2]))
    elif mode == "send":
        send(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif mode == "wait-one":
        wait_one(int(sys.argv[2]), sys.argv[3])
    elif mode == "many":
        many(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5],
             int(sys.argv[6]) if len(sys.argv) > 6 else 5)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
