#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# report.py - medians and ratios of a bench/run.sh run, as docs/performance.md
#
#   report.py RESULTS.tsv QUICK ROUNDS SECONDS
#
# RESULTS.tsv has one line per measurement: relay, figure, value, round.

import collections
import datetime
import os
import platform
import statistics
import sys

RELAYS = ["direct", "nsbridge", "pasta", "socat"]
# the rootless scene: the same figures, each relay run as an ordinary user
ROOTLESS = ["nsbridge-user", "pasta-user"]

# figure: (label, higher is better, target ratio against pasta or None)
FIGURES = {
    "bulk_1_up_gbps": ("bulk, 1 stream, namespace → host (Gbit/s)", True, 1.15),
    "bulk_1_down_gbps": ("bulk, 1 stream, host → namespace (Gbit/s)", True, 1.15),
    "bulk_4_up_gbps": ("bulk, 4 streams, namespace → host (Gbit/s)", True, 1.15),
    "bulk_4_down_gbps": ("bulk, 4 streams, host → namespace (Gbit/s)", True, 1.15),
    "lat_avg_us": ("ping-pong latency avg (µs)", False, None),
    "lat_p50_us": ("ping-pong latency p50 (µs)", False, 0.8),
    "lat_p99_us": ("ping-pong latency p99 (µs)", False, None),
    "new_conn_per_s": ("new connections/s", True, 1.4),
    "keepalive_req_per_s": ("keep-alive requests/s", True, 1.2),
    "cpu_s_per_gib": ("relay CPU seconds per GiB", False, None),
}


def load(path):
    values = collections.defaultdict(list)
    with open(path) as f:
        for line in f:
            relay, figure, value, _round = line.rstrip("\n").split("\t")
            try:
                values[(relay, figure)].append(float(value))
            except ValueError:
                pass
    return values


def median(values, relay, figure):
    v = values.get((relay, figure))
    return statistics.median(v) if v else None


def fmt(v):
    if v is None:
        return "–"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.2f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def verdict(r, higher, target):
    if target is None or r is None:
        return ""
    ok = r >= target if higher else r <= target
    sign = "≥" if higher else "≤"
    return f"{'met' if ok else 'NOT met'} ({sign} {target})"


def idle_counts(values):
    return sorted({int(f.split("_")[1]) for (_r, f) in values
                   if f.startswith("idle_") and f.endswith("_rss_kib")})


def idle_verdict(values, figure, n, counts, m):
    """The idle targets, judged at the largest count measured"""
    v = m["nsbridge"]
    if v is None or n != counts[-1] or n < 1000:
        return ""
    if figure.endswith("_rss_kib"):
        return "met (≤ 16 MiB)" if v <= 16384 else "NOT met (≤ 16 MiB)"
    if figure.endswith("_fds"):
        rest = median(values, "nsbridge", "idle_0_fds")
        if rest is None:
            return ""
        per_conn = (v - rest) / n
        ok = per_conn <= 2.01
        return f"{'met' if ok else 'NOT met'} ({per_conn:.2f} fds a connection: no pipe held)"
    base = median(values, "nsbridge", f"new_conn_per_s_at_{counts[0]}")
    if base:
        r = v / base
        return (f"{'met' if r >= 0.9 else 'NOT met'} ({r:.2f} × the rate with "
                f"{counts[0]:,} open; flat is ≥ 0.9)")
    return ""


def idle_figures(values):
    counts = idle_counts(values)
    rows = []
    for n in counts:
        rows.append((f"RSS at {n:,} idle connections (KiB)", f"idle_{n}_rss_kib", n))
        rows.append((f"fds at {n:,} idle connections", f"idle_{n}_fds", n))
        rows.append((f"new connections/s with {n:,} open", f"new_conn_per_s_at_{n}", n))
    return counts, rows


def measured(values, relays):
    return any(r in relays for (r, _f) in values)


def root_table(values, out):
    out.append("| figure | direct | nsbridge | pasta | socat pair | nsbridge/pasta | "
               "nsbridge/direct | target |")
    out.append("|---|---|---|---|---|---|---|---|")
    for figure, (label, higher, target) in FIGURES.items():
        m = {r: median(values, r, figure) for r in RELAYS}
        rp = ratio(m["nsbridge"], m["pasta"])
        rd = ratio(m["nsbridge"], m["direct"])
        out.append(f"| {label} | {fmt(m['direct'])} | {fmt(m['nsbridge'])} | {fmt(m['pasta'])} "
                   f"| {fmt(m['socat'])} | {fmt(rp)} | {fmt(rd)} | {verdict(rp, higher, target)} |")


def rootless_table(values, out):
    """BENCHMARKS.md, "Rootless": both relays as an ordinary user, the same targets"""
    out.append("")
    out.append("### Rootless: as an ordinary user, into a namespace that user owns")
    out.append("")
    out.append("An ordinary user the script makes; a user namespace of that user's (the user "
               "mapped to root) owning a network namespace, as a rootless engine makes for a "
               "container. nsbridge as that user: `nsbridge -c pid:PID host:PORT "
               "container:PORT`. pasta as that user the way Podman runs it for a rootless "
               "container: `pasta -f --config-net --userns /proc/PID/ns/user --netns "
               "/proc/PID/ns/net -T PORT -t none -u none -U none`. The client runs in that "
               "namespace; direct is the client on the host, no relay.")
    out.append("")
    out.append("| figure | direct | nsbridge (user) | pasta (user) | nsbridge/pasta | "
               "nsbridge/direct | target |")
    out.append("|---|---|---|---|---|---|---|")
    for figure, (label, higher, target) in FIGURES.items():
        d = median(values, "direct", figure)
        n = median(values, "nsbridge-user", figure)
        p = median(values, "pasta-user", figure)
        rp = ratio(n, p)
        out.append(f"| {label} | {fmt(d)} | {fmt(n)} | {fmt(p)} | {fmt(rp)} "
                   f"| {fmt(ratio(n, d))} | {verdict(rp, higher, target)} |")


def main():
    path, quick, rounds, secs = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4]
    values = load(path)
    out = []
    out.append("# nsbridge performance\n")
    out.append("Written by `bench/run.sh`%s on %s: %s, kernel %s, %d cores. "
               "Medians of %s interleaved round(s) of %s s per figure; the scene, the peers "
               "and the targets are those of `BENCHMARKS.md`.\n" % (
                   " --quick" if quick else "",
                   datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                   platform.node(), platform.release(), os.cpu_count(), rounds, secs))
    if quick:
        out.append("**Quick mode** (CI): one short round, to show the script works. "
                   "These figures are not the ones to quote.\n")
    if measured(values, RELAYS[1:]):
        root_table(values, out)
    else:
        out.append("Only the rootless relays were run (`--relays`).")
    counts, rows = idle_figures(values)
    for label, figure, n in rows:
        m = {r: median(values, r, figure) for r in RELAYS}
        target = idle_verdict(values, figure, n, counts, m)
        out.append(f"| {label} | {fmt(m['direct'])} | {fmt(m['nsbridge'])} | {fmt(m['pasta'])} "
                   f"| {fmt(m['socat'])} | {fmt(ratio(m['nsbridge'], m['pasta']))} | – | {target} |")
    if counts and 1000 <= counts[-1] < 10000:
        out.append("")
        out.append(f"The idle rows stop at {counts[-1]:,} connections, not 10,000: a relay holds "
                   "two descriptors a connection, and this machine's hard descriptor limit, "
                   "which bench/run.sh could not raise (no CAP_SYS_RESOURCE), leaves room for "
                   "no more.")
    if measured(values, ROOTLESS):
        rootless_table(values, out)
    out.append("")
    out.append("Ratios above 1 are better for throughput and rates, below 1 for latency, CPU "
               "and memory. The socat pair forks a process per connection; its RSS and fds are "
               "summed over them. nsbridge's RSS is that of the relay alone plus its opener.")
    changes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "changes.md")
    if os.path.exists(changes):
        out.append("")
        out.append(open(changes).read().rstrip())
    print("\n".join(out))


if __name__ == "__main__":
    main()
