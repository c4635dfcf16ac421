#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# verify.py - did a relay deliver the bytes? The correctness column of bench/run.sh
#
#   verify.py serve PORT         on the host's 127.0.0.1, until killed
#   verify.py check PORT BYTES   from the client's side, through the relay
#
# Two checks, each its own connection, each hashed at the receiver:
#   upload    the client sends BYTES and half-closes; the service answers
#             with the count and SHA-256 of what arrived, and closes.
#   download  the client asks for BYTES and half-closes at once; the service
#             reads to that EOF (so the half-close must pass), sends BYTES
#             and closes. The client hashes what arrives before the EOF.
# The bytes are 1 MiB blocks, each numbered, so a lost, repeated or swapped
# block changes the hash. check prints one line a check ("upload ok
# 268435456", "download BAD: 267386880 bytes of 268435456") and exits 1 if
# either is bad.

import hashlib
import random
import socket
import socketserver
import sys

BLOCK = 1 << 20
BASE = random.Random(7).randbytes(BLOCK)
TIMEOUT = 120


def blocks(count):
    """The pattern: COUNT bytes in numbered blocks"""
    i = 0
    while count > 0:
        b = (i.to_bytes(8, "little") + BASE[8:])[:count]
        yield b
        count -= len(b)
        i += 1


def digest_of(count):
    h = hashlib.sha256()
    for b in blocks(count):
        h.update(b)
    return h.hexdigest()


def receive(sock):
    """(count, hex digest, error or None) of what arrives until EOF or an error"""
    h, n = hashlib.sha256(), 0
    while True:
        try:
            b = sock.recv(BLOCK)
        except OSError as e:
            return n, h.hexdigest(), e.strerror or str(e)
        if not b:
            return n, h.hexdigest(), None
        h.update(b)
        n += len(b)


def read_line(sock):
    line = b""
    while not line.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            break
        line += b
    return line.decode()


class Service(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        what, count = read_line(s).split()
        if what == "up":
            n, hexd, _ = receive(s)
            s.sendall(f"{n} {hexd}\n".encode())
        else:
            receive(s)    # to the client's half-close
            for b in blocks(int(count)):
                s.sendall(b)


def serve(port):
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    with socketserver.ThreadingTCPServer(("127.0.0.1", port), Service) as server:
        server.serve_forever()


def upload(port, count):
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(f"up {count}\n".encode())
        for b in blocks(count):
            s.sendall(b)
        s.shutdown(socket.SHUT_WR)
        answer = read_line(s).split()
    if answer == [str(count), digest_of(count)]:
        return f"upload ok {count}"
    if len(answer) == 2:
        return f"upload BAD: {answer[0]} bytes of {count} arrived" + (
            ", not the ones sent" if answer[0] == str(count) else "")
    return "upload BAD: no answer from the service"


def download(port, count):
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(f"down {count}\n".encode())
        s.shutdown(socket.SHUT_WR)
        n, hexd, error = receive(s)
    if n == count and hexd == digest_of(count) and not error:
        return f"download ok {count}"
    return f"download BAD: {n} bytes of {count}" + (
        f", then {error}" if error else ", then EOF") + (
        ", not the ones sent" if n == count else "")


def check(port, count):
    bad = False
    for test in (upload, download):
        try:
            line = test(port, count)
        except OSError as e:
            line = f"{test.__name__} BAD: {e}"
        print(line, flush=True)
        bad |= " BAD" in line
    return 1 if bad else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(int(sys.argv[2]), int(sys.argv[3])))
    else:
        sys.exit("usage: verify.py serve PORT | verify.py check PORT BYTES")


if __name__ == "__main__":
    main()
