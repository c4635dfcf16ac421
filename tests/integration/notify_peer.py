#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# notify_peer.py - a stand-in for systemd's notify socket (sd_notify(3))
#
#   notify_peer.py SOCKET NOTES [NS PORT]
#
# Binds the datagram socket SOCKET and appends to NOTES "listening", then
# each datagram as one line (its repr). With NS and PORT, a READY=1 line
# also says what a client inside namespace NS got from 127.0.0.1:PORT at
# that moment, after " | ": ready must mean that the bridge answers.

import socket
import subprocess
import sys


def answer_in(ns, port):
    """What curl gets from the bridge in NS, right now"""
    return subprocess.run(["ip", "netns", "exec", ns, "curl", "-sS", "--max-time", "2",
                           f"http://127.0.0.1:{port}/"],
                          capture_output=True, text=True).stdout.strip()


def main():
    path, notes = sys.argv[1:3]
    probe = sys.argv[3:5]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    with open(notes, "a") as f:
        print("listening", file=f, flush=True)
        while True:
            msg = s.recv(4096).decode()
            line = repr(msg)
            if probe:
                line += " | " + (answer_in(*probe) if "READY=1" in msg else "")
            print(line, file=f, flush=True)


main()
