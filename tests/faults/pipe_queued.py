#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# pipe_queued.py - how many bytes wait in a pipe that another process reads
#
#   pipe_queued.py READER WRITER FD   the pipe whose write end is WRITER's FD:
#                                     bytes not yet read by READER (FIONREAD on
#                                     the reader's end, opened anew through /proc)
#
# A test that stopped READER waits on this for a report to be in flight.

import fcntl
import os
import struct
import sys
import termios


def main():
    reader, writer, fd = sys.argv[1], sys.argv[2], sys.argv[3]
    pipe = os.readlink(f"/proc/{writer}/fd/{fd}")
    for name in os.listdir(f"/proc/{reader}/fd"):
        path = f"/proc/{reader}/fd/{name}"
        try:
            if os.readlink(path) != pipe:
                continue
            end = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
        queued = fcntl.ioctl(end, termios.FIONREAD, struct.pack("i", 0))
        os.close(end)
        print(struct.unpack("i", queued)[0])
        return 0
    print(f"no end of {pipe} in process {reader}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
