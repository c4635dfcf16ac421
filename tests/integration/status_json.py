#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# status_json.py - reads the JSON nsbridge writes: `nsbridge status --json` and
#                  the lines of --log-format json
#
# FILE is a path, or - for stdin. A check exits 1 naming what differs.
#
# nsbridge status --json:
#   status_json.py get FILE KEY         print the first process's KEY, as JSON
#                                       (true, 3, "text")
#   status_json.py bridge FILE N KEY    print KEY of its bridge N, as JSON
#   status_json.py figures FILE PID SIZE
#                                       check status.sh's three bridges (web,
#                                       refused, UDP) after its traffic: three
#                                       downloads of SIZE and one held open, two
#                                       refused, one UDP flow of 10 bytes each way
# --log-format json:
#   status_json.py log-objects MIN FILE every line an object with time, level and
#                                       msg; at least MIN lines
#   status_json.py log-ready FILE       print "LEVEL nsbridge: MSG" of each ready
#                                       message
#   status_json.py log-errors FILE      print "LEVEL MSG" of each line, the
#                                       message cut before " ("
#   status_json.py log-conns FILE WEB DEAD SIZE TOTAL
#                                       check the open and close lines of
#                                       status.sh's connections: WEB and DEAD
#                                       ports, SIZE each download, TOTAL bytes
#                                       to WEB's clients in all
#   status_json.py log-flow FILE        check the open and close lines of
#                                       status.sh's one UDP flow

import json
import re
import sys


def text(path):
    return sys.stdin.read() if path == "-" else open(path).read()


def status(path):
    return json.loads(text(path))[0]


VALGRIND_NOTE = re.compile(r"^(==|--)[0-9]+(==|--)")


def lines(path):
    """Every line as an object; valgrind's own notes ("==PID==" and
    "--PID--", such as a syscall it does not know) are skipped"""
    objs = []
    for line in text(path).splitlines():
        if VALGRIND_NOTE.match(line):
            continue
        try:
            objs.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not JSON: {line!r}")
    return objs


def expect(what, got, want):
    for k, v in want.items():
        assert got[k] == v, f"{what} {k}: {got[k]!r}, expected {v!r}"


def figures(path, pid, size):
    docs = json.loads(text(path))
    assert len(docs) == 1 and docs[0]["pid"] == pid, docs
    doc = docs[0]
    assert doc["container_running"] is True, doc
    web, dead, udp = doc["bridges"]
    expect("web bridge", web, {"open": 1, "accepted": 4, "refused": 0, "last_error": None})
    assert 3 * size < web["bytes_to_client"] < 3 * size + 3 * 1024, web
    assert 3 * 50 < web["bytes_to_service"] < 3 * 1024, web
    expect("dead bridge", dead, {"open": 0, "accepted": 2, "refused": 2,
                                 "bytes_to_service": 0, "bytes_to_client": 0})
    assert "refused the connection" in dead["last_error"]["message"], dead
    expect("udp bridge", udp, {"proto": "udp", "open": 1, "accepted": 1, "refused": 0,
                               "dropped": 0, "bytes_to_service": 10, "bytes_to_client": 10})


def log_objects(least, path):
    objs = lines(path)
    for o in objs:
        assert isinstance(o, dict), o
        assert {"time", "level", "msg"} <= o.keys(), o
    assert len(objs) >= least, f"{len(objs)} lines, expected at least {least}"


def log_conns(path, web, dead, size, total):
    conns = [o for o in lines(path) if "conn" in o]	# TCP; UDP flows have "flow"
    ends = [o for o in conns if o.get("event") in ("close", "reset")]
    web_ends = [o for o in ends if o["service"] == f"host 127.0.0.1:{web}"]
    dead_ends = [o for o in ends if o["service"] == f"host 127.0.0.1:{dead}"]
    assert len(web_ends) == 4, web_ends		# three downloads and the holder
    assert len(dead_ends) == 2 and all(o["event"] == "reset" for o in dead_ends), dead_ends
    for o in web_ends + dead_ends:
        for key in ("conn", "client", "expose", "service", "bytes_to_service",
                    "bytes_to_client", "duration_ms"):
            assert key in o, (key, o)
        assert re.fullmatch(r"127\.0\.0\.1:\d+", o["client"]), o
        assert o["level"] == "debug" and str(o["conn"]) in o["msg"], o
    downloads = [o for o in web_ends if o["bytes_to_client"] > 0]
    assert len(downloads) == 3 and all(size < o["bytes_to_client"] for o in downloads), downloads
    assert sum(o["bytes_to_client"] for o in web_ends) == total, (web_ends, total)
    ids = [o["conn"] for o in ends]
    assert len(set(ids)) == len(ids), ids
    opens = {o["conn"] for o in conns if o.get("event") == "open"}
    assert opens == set(ids), (opens, ids)


def log_flow(path):
    flows = [o for o in lines(path) if "flow" in o]
    assert [f["event"] for f in flows] == ["open", "close"], flows
    assert flows[1]["bytes_to_service"] == flows[1]["bytes_to_client"] == 10, flows
    assert flows[0]["client"] == flows[1]["client"] and "duration_ms" in flows[1], flows


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "get":
        print(json.dumps(status(a[0])[a[1]]))
    elif cmd == "bridge":
        print(json.dumps(status(a[0])["bridges"][int(a[1])][a[2]]))
    elif cmd == "figures":
        figures(a[0], int(a[1]), int(a[2]))
    elif cmd == "log-objects":
        log_objects(int(a[0]), a[1])
    elif cmd == "log-ready":
        for o in lines(a[0]):
            if o["msg"].endswith(" ready"):
                print(o["level"], "nsbridge: " + o["msg"])
    elif cmd == "log-errors":
        for o in lines(a[0]):
            print(o["level"], o["msg"].split(" (")[0])
    elif cmd == "log-conns":
        log_conns(a[0], a[1], a[2], int(a[3]), int(a[4]))
    elif cmd == "log-flow":
        log_flow(a[0])
    else:
        sys.exit(f"status_json.py: unknown command {cmd}")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        sys.exit(f"status_json.py {sys.argv[1]}: {e}")
