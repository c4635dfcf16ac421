#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# json_check.py - what nsbridge's JSON says, as lines a test script compares
#
# FILE is a file of JSON, or "-" for stdin. Values print as JSON does,
# strings without their quotes: true, false, 3, netns:a; a list prints
# its items, space-separated. Exit 1, with a word on stderr, when the
# JSON does not parse or a value is not there.
#
#   json_check.py get FILE PATH...   the value at each PATH, one a line: keys
#                                    and list indexes joined by dots, "*" for
#                                    every item of a list (0.containers.*.running)
#   json_check.py socket FILE PROTO ADDRESS PORT
#                                    "COMMAND PID NSBRIDGE" of that socket in
#                                    nsbridge ports --json
#   json_check.py log FILE TEXT      check every line is a JSON object with a
#                                    time, level and msg; print "LEVEL MSG" of
#                                    those whose msg has TEXT (their time a number)

import json
import sys


def load(name):
    with (sys.stdin if name == "-" else open(name)) as f:
        return f.read()


def text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(text(v) for v in value)
    return json.dumps(value)


def at(doc, path):
    for i, key in enumerate(path):
        if key == "*":
            return [at(item, path[i + 1:]) for item in doc]
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    return doc


def get(doc, paths):
    for path in paths:
        print(text(at(doc, path.split("."))))


def find_socket(doc, proto, address, port):
    for s in doc["sockets"]:
        if (s["proto"], s["address"], s["port"]) == (proto, address, port):
            print(s["command"], s["pid"], text(s["nsbridge"]))
            return
    sys.exit(f"json_check.py: no socket {proto} {address} {port}")


def log(lines, want):
    for line in lines.splitlines():
        o = json.loads(line)
        if not {"time", "level", "msg"} <= o.keys():
            sys.exit(f"json_check.py: not a log line: {line}")
        if want in o["msg"]:
            if not isinstance(o["time"], float):
                sys.exit(f"json_check.py: a time that is not a number: {line}")
            print(o["level"], o["msg"])


def main():
    cmd, name, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    try:
        if cmd == "get":
            get(json.loads(load(name)), args)
        elif cmd == "socket":
            find_socket(json.loads(load(name)), args[0], args[1], int(args[2]))
        elif cmd == "log":
            log(load(name), args[0])
        else:
            sys.exit(f"json_check.py: unknown command {cmd}")
    except (ValueError, KeyError, IndexError, TypeError) as e:
        sys.exit(f"json_check.py {cmd}: {type(e).__name__} {e}")


if __name__ == "__main__":
    main()
