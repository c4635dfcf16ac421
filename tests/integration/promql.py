#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""promql.py - ask a Prometheus server's HTTP API, print what it answers

    promql.py PORT QUERY          each series of an instant query, one a
                                  line: its labels (sorted, name=value,
                                  __name__ left out) then its value
    promql.py PORT --targets      each scrape target: its health and last error

Exit 1 when the API says the query failed, 2 when it cannot be reached.
"""
import json
import sys
import urllib.parse
import urllib.request


def get(port, path, params=None):
    url = f"http://127.0.0.1:{port}{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except (OSError, ValueError) as e:
        print(f"promql.py: {url}: {e}", file=sys.stderr)
        sys.exit(2)


def main():
    port, what = sys.argv[1], sys.argv[2]
    if what == "--targets":
        doc = get(port, "/api/v1/targets")
        for t in doc["data"]["activeTargets"]:
            print(t["health"], t.get("lastError", ""))
        return 0
    doc = get(port, "/api/v1/query", {"query": what})
    if doc.get("status") != "success":
        print(f"promql.py: {what}: {doc.get('error')}", file=sys.stderr)
        return 1
    rows = []
    for s in doc["data"]["result"]:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s["metric"].items())
                          if k != "__name__")
        rows.append(f"{labels} {s['value'][1]}".strip())
    print("\n".join(sorted(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
