#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# containers_json.py - what `nsbridge status --json` says of one container,
#                      found by its name (the container tests' -c NAME and
#                      --labels containers)
#
# FILE is a file of nsbridge status --json, or "-" for stdin; the first
# process's document is read. Values print as json_check.py prints them:
# true, false, 3, text without its quotes.
#
#   containers_json.py field FILE NAME KEY   KEY of NAME's entry in "containers";
#                                            "absent" when no entry is NAME's,
#                                            or it has no KEY (a "source")
#   containers_json.py bridges FILE NAME     how many bridges, not removed, have
#                                            NAME as their container
#   containers_json.py options FILE NAME     "MAX_CONNECTIONS CONNECT_TIMEOUT_MS
#                                            ALLOW_UID..." of NAME's first bridge
#   containers_json.py running FILE          how many containers run (served)
#
# Exit 1, with a word on stderr, when the JSON does not parse or a value is
# not there.

import json
import sys


def text(value):
    if isinstance(value, str):
        return value
    return json.dumps(value)


def field(doc, name, key):
    found = [c for c in doc["containers"] if c["container"] == name]
    print(text(found[0][key]) if found and key in found[0] else "absent")


def bridges(doc, name):
    print(sum(1 for b in doc["bridges"] if b["container"] == name and not b.get("removed")))


def options(doc, name):
    o = [b for b in doc["bridges"] if b["container"] == name][0]["options"]
    print(o["max_connections"], o["connect_timeout_ms"], *o["allow_uid"])


def running(doc):
    print(sum(1 for c in doc["containers"] if c["running"]))


def main():
    cmd, name, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    try:
        with (sys.stdin if name == "-" else open(name)) as f:
            doc = json.load(f)[0]
        if cmd == "field":
            field(doc, args[0], args[1])
        elif cmd == "bridges":
            bridges(doc, args[0])
        elif cmd == "options":
            options(doc, args[0])
        elif cmd == "running":
            running(doc)
        else:
            sys.exit(f"containers_json.py: unknown command {cmd}")
    except (ValueError, KeyError, IndexError, TypeError) as e:
        sys.exit(f"containers_json.py {cmd}: {type(e).__name__} {e}")


if __name__ == "__main__":
    main()
