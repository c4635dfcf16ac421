#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""proxy_peer.py - a TCP service that reads the PROXY v2 header a connection
starts with, as a service that speaks the protocol would, and writes one
line per connection to OUT:

  peer=ADDR:PORT proxy=v2 family=0x11 src=ADDR:PORT dst=ADDR:PORT netns=NAME id=ID data=TEXT

or "peer=ADDR:PORT proxy=none data=TEXT" for a connection without one. It
answers each with "ok\\n". With "greet", it speaks first, as SMTP or
MySQL do: "hello\\n" once the header is read, before the client says a
word. A driver: the test that starts it asserts on the lines. Decoding
follows haproxy.org's proxy-protocol.txt, 2.2.

  proxy_peer.py ADDR PORT OUT [greet]
"""
import ipaddress
import socket
import struct
import sys
import threading

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
TLV_NAMES = {0x30: "netns", 0x05: "id"}


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("short header")
        buf += chunk
    return buf


def addresses(family, body):
    if family == 0x11:
        src, dst, sport, dport = struct.unpack("!4s4sHH", body[:12])
        return body[12:], "src=%s:%d dst=%s:%d" % (
            ipaddress.IPv4Address(src), sport, ipaddress.IPv4Address(dst), dport)
    if family == 0x21:
        src, dst, sport, dport = struct.unpack("!16s16sHH", body[:36])
        return body[36:], "src=[%s]:%d dst=[%s]:%d" % (
            ipaddress.IPv6Address(src), sport, ipaddress.IPv6Address(dst), dport)
    return b"", "src=? dst=?"


def tlvs(rest):
    fields = {"netns": "-", "id": "-"}
    while rest:
        kind, length = struct.unpack("!BH", rest[:3])
        value = rest[3:3 + length]
        if len(value) != length:
            return "tlv=truncated"
        fields[TLV_NAMES.get(kind, "tlv%#x" % kind)] = value.decode("ascii", "replace")
        rest = rest[3 + length:]
    return " ".join("%s=%s" % kv for kv in fields.items())


def header(conn):
    """The header's text and the first bytes after it, or (None, bytes)"""
    first = conn.recv(len(SIGNATURE), socket.MSG_PEEK | socket.MSG_WAITALL)
    if first != SIGNATURE:
        return None
    head = recv_exact(conn, 16)
    ver_cmd, family, length = head[12], head[13], struct.unpack("!H", head[14:16])[0]
    rest, addrs = addresses(family, recv_exact(conn, length))
    return "proxy=v%d cmd=%d family=%#04x %s %s" % (
        ver_cmd >> 4, ver_cmd & 0xF, family, addrs, tlvs(rest))


def serve(conn, peer, out, lock, greet):
    with conn:
        try:
            text = header(conn) or "proxy=none"
            if greet:
                conn.sendall(b"hello\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            line = "peer=%s:%d %s data=%s\n" % (peer[0], peer[1], text,
                                                 data.decode("ascii", "replace").strip())
            conn.sendall(b"ok\n")
        except (EOFError, OSError) as e:
            line = "peer=%s:%d error=%s\n" % (peer[0], peer[1], e)
        with lock, open(out, "a") as f:
            f.write(line)


def main():
    addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    greet = sys.argv[4:] == ["greet"]
    lock = threading.Lock()
    srv = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(64)
    while True:
        conn, peer = srv.accept()
        threading.Thread(target=serve, args=(conn, peer, out, lock, greet), daemon=True).start()


if __name__ == "__main__":
    main()
