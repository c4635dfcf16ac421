#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# report.py - medians and ratios of a bench/run.sh run, as docs/performance.md
#
#   report.py DIR QUICK ROUNDS SECONDS
#
# DIR holds what bench/run.sh wrote: results.tsv (relay, figure, value,
# round: one line a measurement), bad.tsv (relay, round, what went wrong),
# skipped.tsv (relay pattern, why) and meta.tsv (key, value).

import collections
import datetime
import os
import statistics
import sys

# column: (heading, the relays whose best figure it shows)
COLUMNS = {
    "direct": ("direct", ["direct"]),
    "nsbridge": ("nsbridge", ["nsbridge"]),
    "floor": ("floor", ["floor-64k", "floor-1m"]),
    "pasta2026-splice": ("pasta 2026 `--splice-only`", ["pasta2026-splice"]),
    "pasta2026": ("pasta 2026", ["pasta2026"]),
    "pasta": ("pasta 2023 (Debian 12)", ["pasta"]),
    "socat": ("socat pair", ["socat"]),
}
PEER = "pasta2026-splice"       # the one to beat
FLOOR_RATE, FLOOR_LATENCY = 0.95, 1.05
# the rootless scene: the same figures, each relay run as an ordinary user
ROOTLESS = ["nsbridge-user", "pasta-user"]

# figure: (label, higher is better, target ratio against PEER, judged against the floor)
FIGURES = {
    "bulk_1_up_gbps": ("bulk, 1 stream, namespace → host (Gbit/s)", True, 1.15, True),
    "bulk_1_down_gbps": ("bulk, 1 stream, host → namespace (Gbit/s)", True, 1.15, True),
    "bulk_4_up_gbps": ("bulk, 4 streams, namespace → host (Gbit/s)", True, 1.15, True),
    "bulk_4_down_gbps": ("bulk, 4 streams, host → namespace (Gbit/s)", True, 1.15, True),
    "lat_avg_us": ("ping-pong latency avg (µs)", False, None, False),
    "lat_p50_us": ("ping-pong latency p50 (µs)", False, 0.9, True),
    "lat_p99_us": ("ping-pong latency p99 (µs)", False, None, False),
    "new_conn_per_s": ("new connections/s", True, 1.5, True),
    "keepalive_req_per_s": ("keep-alive requests/s", True, 1.3, True),
    "pgbench_tps": ("pgbench -S -c 8, PostgreSQL (tps)", True, 1.05, True),
    "cpu_s_per_gib": ("relay CPU seconds per GiB", False, 0.8, False),
    "machine_cpu_s_per_gib": ("machine CPU seconds per GiB (every process and softirq)", False,
                              None, False),
}


def read_tsv(path, fields):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n").split("\t", fields - 1) for line in f if line.strip()]


def load(path):
    values = collections.defaultdict(list)
    for relay, figure, value, _round in read_tsv(path, 4):
        try:
            values[(relay, figure)].append(float(value))
        except ValueError:
            pass
    return values


def median(values, relay, figure):
    v = [x for x in values.get((relay, figure), []) if x == x]     # no NaN
    return statistics.median(v) if v else None


def best(values, relays, figure, higher):
    """(median, relay) of the relay of @relays that did best on @figure"""
    found = [(median(values, r, figure), r) for r in relays]
    found = [(v, r) for v, r in found if v is not None]
    if not found:
        return None, None
    return (max if higher else min)(found)


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


def judge(r, higher, target, against):
    if target is None or r is None:
        return ""
    ok = r >= target if higher else r <= target
    return f"{'met' if ok else 'NOT met'} ({'≥' if higher else '≤'} {target} × {against})"


class Run:
    def __init__(self, where):
        self.values = load(os.path.join(where, "results.tsv"))
        self.rounds = {rnd for _r, _f, _v, rnd in read_tsv(os.path.join(where, "results.tsv"), 4)}
        self.bad = read_tsv(os.path.join(where, "bad.tsv"), 3)
        self.skipped = read_tsv(os.path.join(where, "skipped.tsv"), 2)
        self.meta = dict(read_tsv(os.path.join(where, "meta.tsv"), 2))

    def ran(self, relay):
        return any(r == relay for (r, _f) in self.values)

    def lost_bytes(self, relay):
        return any(r == relay for r, _round, line in self.bad if "BAD" in line)

    def cell(self, column, figure, higher):
        v, relay = best(self.values, COLUMNS[column][1], figure, higher)
        if column == "floor" and relay:
            return v, f"{fmt(v)} ({relay[len('floor-'):]})"
        return v, fmt(v)


def heading(run, column):
    name = COLUMNS[column][0]
    if any(run.lost_bytes(r) for r in COLUMNS[column][1]):
        name += " ✗"
    return name


def root_table(run, out):
    cols = [c for c in COLUMNS if any(run.ran(r) for r in COLUMNS[c][1])]
    peer_ok = run.ran(PEER) and not run.lost_bytes(PEER)
    out.append("| figure | " + " | ".join(heading(run, c) for c in cols) +
               " | nsbridge/pasta 2026 splice | nsbridge/floor | nsbridge/direct | target |")
    out.append("|---" * (len(cols) + 5) + "|")
    for figure, (label, higher, target, by_floor) in FIGURES.items():
        cells = {c: run.cell(c, figure, higher) for c in cols}
        m = {c: cells[c][0] for c in cols}
        rp = ratio(m.get("nsbridge"), m.get(PEER))
        rf = ratio(m.get("nsbridge"), m.get("floor"))
        rd = ratio(m.get("nsbridge"), m.get("direct"))
        verdicts = [judge(rp, higher, target, "pasta 2026" if peer_ok else
                          "pasta 2026, which lost bytes")]
        if by_floor:
            verdicts.append(judge(rf, higher, FLOOR_RATE if higher else FLOOR_LATENCY, "floor"))
        out.append(f"| {label} | " + " | ".join(cells[c][1] for c in cols) +
                   f" | {fmt(rp)} | {fmt(rf)} | {fmt(rd)} | "
                   + "; ".join(v for v in verdicts if v) + " |")
    idle_rows(run, cols, out)


def idle_counts(values):
    return sorted({int(f.split("_")[1]) for (_r, f) in values
                   if f.startswith("idle_") and f.endswith("_rss_kib")})


def idle_verdict(run, figure, n, counts, v):
    if v is None or n != counts[-1] or n < 1000:
        return ""
    if figure.endswith("_rss_kib"):
        return "met (≤ 16 MiB)" if v <= 16384 else "NOT met (≤ 16 MiB)"
    if figure.endswith("_fds"):
        rest = median(run.values, "nsbridge", "idle_0_fds")
        if rest is None:
            return ""
        per_conn = (v - rest) / n
        return (f"{'met' if per_conn <= 2.01 else 'NOT met'} ({per_conn:.2f} fds a "
                "connection: no pipe held)")
    if figure.endswith("_cpu_pct") and figure.startswith("idle_"):
        return "met (≤ 1 % of a core)" if v <= 1 else "NOT met (≤ 1 % of a core)"
    if figure.endswith("_cpu_pct"):
        return ""
    base = median(run.values, "nsbridge", f"new_conn_per_s_at_{counts[0]}")
    if base:
        r = v / base
        return (f"{'met' if r >= 0.9 else 'NOT met'} ({r:.2f} × the rate with "
                f"{counts[0]:,} open; flat is ≥ 0.9)")
    return ""


def idle_rows(run, cols, out):
    counts = idle_counts(run.values)
    rows = []
    for n in counts:
        rows.append((f"RSS at {n:,} idle connections (KiB)", f"idle_{n}_rss_kib", n, False))
        rows.append((f"fds at {n:,} idle connections", f"idle_{n}_fds", n, False))
        rows.append((f"new connections/s with {n:,} open", f"new_conn_per_s_at_{n}", n, True))
    if counts:
        n = counts[-1]
        t = min(n, 1000)
        rows.append((f"relay CPU with {n:,} idle connections (% of a core)",
                     f"idle_{n}_cpu_pct", n, False))
        rows.append((f"relay CPU with {n:,} open, {t:,} sending a request a second (% of a "
                     "core)", f"talk_{t}_of_{n}_cpu_pct", n, False))
    for label, figure, n, higher in rows:
        cells = {c: run.cell(c, figure, higher) for c in cols}
        v = cells["nsbridge"][0] if "nsbridge" in cells else None
        rp = ratio(v, cells[PEER][0]) if PEER in cells else None
        rf = ratio(v, cells["floor"][0]) if "floor" in cells else None
        out.append(f"| {label} | " + " | ".join(cells[c][1] for c in cols) +
                   f" | {fmt(rp)} | {fmt(rf)} | – | {idle_verdict(run, figure, n, counts, v)} |")
    if counts and 1000 <= counts[-1] < 10000:
        out.append("")
        out.append(f"The idle rows stop at {counts[-1]:,} connections, not 10,000: a relay holds "
                   "two descriptors a connection, and this machine's hard descriptor limit, "
                   "which bench/run.sh could not raise (no CAP_SYS_RESOURCE), leaves room for "
                   "no more.")


def delivery_table(run, out, relays):
    """Correctness first: did each relay deliver the bytes it was timed on?"""
    out.append("")
    out.append("### Bytes delivered")
    out.append("")
    out.append("Each round, through each relay, `bench/verify.py`: an upload, and a download "
               "that follows the client's half-close, each hashed at the receiver. A relay "
               "marked ✗ lost or changed bytes: its figures are no target.")
    out.append("")
    out.append("| relay | upload | download after a half-close | what went wrong |")
    out.append("|---|---|---|---|")
    for relay in relays:
        if not run.ran(relay) and not any(r == relay for r, _x, _y in run.bad):
            continue
        up = run.values.get((relay, "verify_upload"), [])
        down = run.values.get((relay, "verify_download"), [])
        lines = sorted({line for r, _round, line in run.bad if r == relay})
        out.append(f"| {relay} | {int(sum(up))}/{len(up)} | {int(sum(down))}/{len(down)} "
                   f"| {'; '.join(lines)} |")
    for pattern, why in run.skipped:
        out.append(f"| {pattern} | not run | not run | {why} |")


def rootless_table(run, out):
    """BENCHMARKS.md, "Rootless": both relays as an ordinary user, the same targets"""
    out.append("")
    out.append("### Rootless: as an ordinary user, into a namespace that user owns")
    out.append("")
    out.append("An ordinary user the script makes; a user namespace of that user's (the user "
               "mapped to root) owning a network namespace, as a rootless engine makes for a "
               "container. nsbridge as that user: `nsbridge -c pid:PID host:PORT "
               "container:PORT`. pasta (Debian's) as that user the way Podman runs it for a "
               "rootless container: `pasta -f --config-net --userns /proc/PID/ns/user --netns "
               "/proc/PID/ns/net -T PORT -t none -u none -U none`. The client runs in that "
               "namespace; direct is the client on the host, no relay.")
    out.append("")
    out.append("| figure | direct | nsbridge (user) | pasta (user) | nsbridge/pasta | "
               "nsbridge/direct | target |")
    out.append("|---|---|---|---|---|---|---|")
    for figure, (label, higher, target, _floor) in FIGURES.items():
        d = median(run.values, "direct", figure)
        n = median(run.values, "nsbridge-user", figure)
        p = median(run.values, "pasta-user", figure)
        rp = ratio(n, p)
        out.append(f"| {label} | {fmt(d)} | {fmt(n)} | {fmt(p)} | {fmt(rp)} "
                   f"| {fmt(ratio(n, d))} | {judge(rp, higher, target, 'pasta (user)')} |")


def rounds_done(run, asked):
    """How many rounds the results hold, said against how many were asked"""
    done = len({r for r in run.rounds})
    if str(done) == str(asked):
        return f"{done} interleaved round(s)"
    return (f"{done} interleaved round(s), of {asked} asked (the run stopped early; "
            "a relay's column holds the rounds it got to)")


def header(run, quick, rounds, secs, out):
    m = run.meta
    out.append("# nsbridge performance\n")
    out.append("Written by `bench/run.sh`%s on %s. Machine: %s; kernel %s; load average at "
               "the start %s. Medians of %s of %s s per figure; the "
               "scene, the peers and the targets are those of `BENCHMARKS.md`.\n" % (
                   " --quick" if quick else "",
                   datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                   m.get("machine", "?"), m.get("kernel", "?"), m.get("load", "?"),
                   rounds_done(run, rounds), secs))
    out.append(f"The peers: pasta 2023 is {m.get('pasta', '?')}; pasta 2026 is "
               f"{m.get('pasta2026', '?')}, run as Debian's is and again with `--splice-only`. "
               "The floor is `bench/floor.c`, the smallest correct splice relay, with 64 KiB "
               "and with 1 MiB pipes; its column is the better of the two on each figure "
               "(which, in brackets): the limit of the design on this machine.\n")
    if quick:
        out.append("**Quick mode** (CI): one short round, to show the script works. "
                   "These figures are not the ones to quote.\n")


def main():
    where, quick, rounds, secs = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4]
    run = Run(where)
    out = []
    header(run, quick, rounds, secs, out)
    if any(run.ran(r) for c in list(COLUMNS)[1:] for r in COLUMNS[c][1]):
        root_table(run, out)
    else:
        out.append("Only the rootless relays were run (`--relays`).")
    relays = [r for c in COLUMNS for r in COLUMNS[c][1]] + ROOTLESS
    delivery_table(run, out, relays)
    if any(run.ran(r) for r in ROOTLESS):
        rootless_table(run, out)
    out.append("")
    out.append("Ratios above 1 are better for throughput and rates, below 1 for latency, CPU "
               "and memory. The socat pair forks a process per connection; its RSS and fds are "
               "summed over them. nsbridge's RSS is summed over the relay and its helpers (the "
               "opener and the keeper of uid 0). Relay CPU is the relay's own processes; "
               "machine CPU is every core's busy time during the transfer, client, server, "
               "relay and the softirq work loopback TCP does wherever the kernel runs it.")
    changes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "changes.md")
    if os.path.exists(changes):
        out.append("")
        out.append(open(changes).read().rstrip())
    print("\n".join(out))


if __name__ == "__main__":
    main()
