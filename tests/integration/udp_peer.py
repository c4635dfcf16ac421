#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# udp_peer.py - UDP servers and clients for udp.sh: plain sockets, one datagram each
#
#   udp_peer.py echo PORT            echo every datagram back, byte for byte
#   udp_peer.py whoami PORT          answer "PORT-OF-SENDER PAYLOAD"
#   udp_peer.py named PORT           answer "port PORT PAYLOAD": which service answered
#   udp_peer.py newport PORT         answer "new port PAYLOAD" from a fresh socket, a
#                                    port of its own, as a TFTP server does
#   udp_peer.py stranger PORT        send "stranger" from 127.0.0.2, then answer
#                                    "port PORT PAYLOAD": a client takes the answer only
#   udp_peer.py stream PORT COUNT    send COUNT datagrams of varied sizes, a window
#                                    at a time; check each comes back whole, alone
#   udp_peer.py ask [OPTIONS] PORT TEXT...
#                                    one socket: send each TEXT, print each answer;
#                                    --from PORT binds the client's port, --tries N
#                                    sends again after each second without an answer
#                                    (as a resolver does), --unconnected takes answers
#                                    from any port (a TFTP client); exit 1 if one of
#                                    the TEXTs got no answer
#   udp_peer.py steady PORT STOPFILE ask every 50 ms from one socket; "steady" once
#                                    answered twice, then on until STOPFILE exists and
#                                    one last answer came (3 tries); print the source
#                                    ports the server saw, the misses, the last port
#   udp_peer.py flood PORT COUNT     COUNT new sockets, one datagram each

import os
import random
import socket
import sys
import time

ADDR = "127.0.0.1"


def serve(port, answer, reply_socket=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((ADDR, port))
    while True:
        data, peer = s.recvfrom(65536)
        out = reply_socket() if reply_socket else s
        out.sendto(answer(data, peer), peer)
        if out is not s:
            out.close()


def stranger(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ADDR, port))
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.2", 0))
    while True:
        data, peer = s.recvfrom(65536)
        other.sendto(b"stranger", peer)
        s.sendto(b"port %d %s" % (port, data), peer)


def fresh_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ADDR, 0))
    return s


def stream(port, count):
    """Send COUNT datagrams; every one must come back intact and on its own"""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.connect((ADDR, port))
    s.settimeout(5)
    rng = random.Random(4)
    sizes = [0, 1, 8, 65507] + [rng.choice((rng.randint(1, 64), rng.randint(64, 1500),
                                            rng.randint(1500, 9000))) for _ in range(count - 4)]
    sent, window, bytes_back = {}, 16, 0
    for i, size in enumerate(sizes):
        payload = i.to_bytes(4, "big") + os.urandom(max(size - 4, 0)) if size >= 4 else bytes(size)
        sent[i] = payload
        s.send(payload)
        if len(sent) >= window or i == len(sizes) - 1:
            while sent:
                data = s.recv(65536)
                key = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
                if key is None:	# the datagrams shorter than a sequence number
                    key = next((k for k, v in sent.items() if v == data), None)
                if key not in sent or sent[key] != data:
                    print(f"datagram {key}: {len(data)} bytes that were not sent that way")
                    return 1
                bytes_back += len(data)
                del sent[key]
    print(f"{count} datagrams back intact, {bytes_back} bytes")
    return 0


def ask(args):
    opts = {"--from": 0, "--tries": 1, "--unconnected": False}
    while args[0].startswith("--"):
        if args[0] == "--unconnected":
            opts[args.pop(0)] = True
        else:
            opts[args[0]] = int(args[1])
            del args[:2]
    port, texts = int(args[0]), args[1:]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ADDR, opts["--from"]))
    if not opts["--unconnected"]:
        s.connect((ADDR, port))
    s.settimeout(1 if opts["--tries"] > 1 else 3)
    for t in texts:
        for _ in range(opts["--tries"]):
            s.sendto(t.encode(), (ADDR, port))
            try:
                print(s.recv(65536).decode(), flush=True)
                break
            except socket.timeout:
                pass
        else:
            print(f"no answer to {t}", file=sys.stderr)
            return 1
    return 0


def steady(port, stopfile):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    s.connect((ADDR, port))
    ports, misses, answers, last = set(), 0, 0, None
    while not os.path.exists(stopfile):
        s.send(b"steady")
        try:
            ports.add(s.recv(65536).split()[0].decode())
            answers += 1
            if answers == 2:	# a reply and a second datagram: a steady flow
                print("steady", flush=True)
        except (socket.timeout, ConnectionRefusedError):	# lost, or nsbridge gone
            misses += 1
        time.sleep(0.05)
    s.settimeout(1)
    for _ in range(3):
        s.send(b"steady")
        try:
            last = s.recv(65536).split()[0].decode()
            ports.add(last)
            break
        except (socket.timeout, ConnectionRefusedError):
            pass
    print(f"ports {' '.join(sorted(ports))} misses {misses} last {last}")
    return 0


def flood(port, count):
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"flood", (ADDR, port))
        s.close()
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "ask":
        return ask(sys.argv[2:])
    port = int(sys.argv[2])
    if cmd == "echo":
        serve(port, lambda data, peer: data)
    if cmd == "whoami":
        serve(port, lambda data, peer: str(peer[1]).encode() + b" " + data)
    if cmd == "named":
        serve(port, lambda data, peer: b"port %d %s" % (port, data))
    if cmd == "stranger":
        stranger(port)
    if cmd == "newport":
        serve(port, lambda data, peer: b"new port " + data, fresh_socket)
    if cmd == "stream":
        return stream(port, int(sys.argv[3]))
    if cmd == "steady":
        return steady(port, sys.argv[3])
    if cmd == "flood":
        return flood(port, int(sys.argv[3]))
    return 2


if __name__ == "__main__":
    sys.exit(main())
