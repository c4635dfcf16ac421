#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# port_file_reader.py - read a --port-file by its path in a tight loop, as a script would
#
#   port_file_reader.py PATH STOP X Y
#
# Creates STOP.ready, then opens, reads whole and closes PATH until STOP
# exists. Each read must be one of the sets the changes go through: X, Y,
# "X\nY" or "Y\nX" (blank lines at the end are nothing). Prints "ok READS
# reads, SETS sets seen", or "mix after READS reads: TEXT" and exits 1.

import os
import sys


def read(path):
    with open(path, "rb") as f:
        return f.read().decode()


def main():
    path, stop, x, y = sys.argv[1:]
    valid = {x, y, x + "\n" + y, y + "\n" + x}
    reads, seen = 0, set()
    open(stop + ".ready", "w").close()
    while not os.path.exists(stop):
        for _ in range(200):
            text = read(path)
            reads += 1
            lines = text.rstrip("\n")
            if lines not in valid:
                sys.exit(f"mix after {reads} reads: {text!r}")
            seen.add(lines)
    print(f"ok {reads} reads, {len(seen)} sets seen")


main()
