#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run.sh - nsbridge against its peers, interleaved, in one run (BENCHMARKS.md)
#
#   bench/run.sh [--quick] [--rounds N] [--relays "direct nsbridge pasta socat"] [--out FILE]
#
# Installs what it needs from Debian's packages, builds nsbridge (release),
# and runs the scene of BENCHMARKS.md: the service on the "host's"
# 127.0.0.1, the client inside a namespace, a relay between them - none
# (direct, the limit), nsbridge, pasta, the socat pair - one after the
# other in each round, so that every relay sees the same machine. Medians
# over the rounds and the ratios go to docs/performance.md (or --out).
#
# Everything runs in a network namespace of the script's own, which plays
# the host: no traffic touches the machine's loopback. --quick (CI) runs
# each figure once, briefly, to show the script still works.
set -u

ROUNDS=3
SECS=5
IDLE_COUNTS="10 1000 10000"
BULK_BYTES=2G
QUICK=0
RELAYS="direct nsbridge pasta socat"
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=$REPO/docs/performance.md
ARGS=("$@")
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; ROUNDS=1; SECS=1; IDLE_COUNTS="10 100"; BULK_BYTES=256M ;;
	--rounds) ROUNDS=$2; shift ;;
	--relays) RELAYS=$2; shift ;;
	--out) OUT=$2; shift ;;
	*) echo "usage: $0 [--quick] [--rounds N] [--relays LIST] [--out FILE]" >&2; exit 2 ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || { echo "bench/run.sh: run as root (it makes network namespaces)" >&2; exit 1; }

. "$REPO/bench/lib.sh"
# shellcheck disable=SC2086
bench_enter $BENCH_BUILD_PKGS passt iperf3 sockperf wrk nginx-light socat -- "${ARGS[@]}"
bench_host_net
# 10,000 idle connections are 20,000 descriptors in a relay, more than
# many machines' default hard limit: raise it where we may (CAP_SYS_RESOURCE),
# else measure at the most connections the limit leaves room for
ulimit -Hn "$(cat /proc/sys/fs/nr_open)" 2>/dev/null
ulimit -n "$(ulimit -Hn)"
fit=$(( ($(ulimit -Hn) - 256) / 2 ))
IDLE_COUNTS=$(for n in $IDLE_COUNTS; do echo $(( n < fit ? n : fit )); done)
echo "bench: idle connection counts:" $IDLE_COUNTS "(descriptor limit $(ulimit -Hn))" >&2

NSB=$REPO/build-bench/src/nsbridge
T=$(mktemp -d /tmp/nsbench.XXXXXX)
chmod 755 "$T"
NS=nsbench-$$
RESULTS=$T/results.tsv
PIDS=()
RELAY_PIDS=()

cleanup() {
	stop_relay
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	me=$(readlink /proc/self/ns/net)
	for pid in $(ls /proc | grep -E '^[0-9]+$'); do
		[ "$pid" = $$ ] && continue
		[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$me" ] && kill "$pid" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

wait_port() {	# NS PORT
	for _ in $(seq 1 200); do
		if [ -n "$1" ]; then
			ip netns exec "$1" ss -Htln "sport = :$2" | grep -q . && return 0
		else
			ss -Htln "sport = :$2" | grep -q . && return 0
		fi
		sleep 0.05
	done
	echo "bench: nothing listens on $2 in '${1:-host}'" >&2
	exit 1
}

# -------- the scene: a namespace, three servers on the host's loopback --------
P_IPERF=25201 P_SOCKPERF=25202 P_HTTP=25203
PORTS="$P_IPERF $P_SOCKPERF $P_HTTP"
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up

iperf3 -s -B 127.0.0.1 -p "$P_IPERF" >/dev/null 2>&1 &
PIDS+=($!)
sockperf server --tcp -i 127.0.0.1 -p "$P_SOCKPERF" >/dev/null 2>&1 &
PIDS+=($!)
cat >"$T/nginx.conf" <<EOF
daemon off;
worker_processes 1;
worker_rlimit_nofile 65536;
pid $T/nginx.pid;
error_log $T/nginx.err;
events { worker_connections 32768; }
http {
	access_log off;
	keepalive_requests 1000000;
	keepalive_timeout 600s;
	server { listen 127.0.0.1:$P_HTTP backlog=4096; location / { return 200 "ok\n"; } }
}
EOF
nginx -c "$T/nginx.conf" -e "$T/nginx.err" &
PIDS+=($!)
for p in $PORTS; do wait_port "" "$p"; done

# -------- the relays --------
start_relay() {	# NAME
	RELAY_PIDS=()
	case $1 in
	direct) ;;
	nsbridge)
		local args=()
		for p in $PORTS; do args+=("host:$p" "container:$p"); done
		"$NSB" -q -c "netns:$NS" "${args[@]}" 2>"$T/nsbridge.log" &
		RELAY_PIDS+=($!)
		;;
	pasta)
		local tcp=()
		for p in $PORTS; do tcp+=(-T "$p"); done
		pasta -f --runas 0 --netns "/run/netns/$NS" "${tcp[@]}" -t none -u none -U none \
			>"$T/pasta.log" 2>&1 &
		RELAY_PIDS+=($!)
		;;
	socat)
		for p in $PORTS; do
			socat UNIX-LISTEN:"$T/s$p",fork TCP:127.0.0.1:"$p" 2>/dev/null &
			RELAY_PIDS+=($!)
			ip netns exec "$NS" socat TCP-LISTEN:"$p",bind=127.0.0.1,fork,reuseaddr \
				UNIX-CONNECT:"$T/s$p" 2>/dev/null &
			RELAY_PIDS+=($!)
		done
		;;
	esac
	if [ "$1" != direct ]; then
		for p in $PORTS; do wait_port "$NS" "$p"; done
	fi
}

stop_relay() {
	for pid in "${RELAY_PIDS[@]}"; do
		pkill -TERM -P "$pid" 2>/dev/null
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${RELAY_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	RELAY_PIDS=()
}

# client CMD... - runs where the client of RELAY lives: the namespace, or
# the host's namespace itself for direct
client() {
	if [ "$RELAY" = direct ]; then "$@"; else ip netns exec "$NS" "$@"; fi
}

# relay_tree_pids - the relay's processes (socat forks one per connection)
relay_tree_pids() {
	local pid
	for pid in "${RELAY_PIDS[@]}"; do
		echo "$pid"
		pgrep -P "$pid"
	done
}

record() {	# METRIC VALUE
	printf '%s\t%s\t%s\t%s\n' "$RELAY" "$1" "$2" "$ROUND" >>"$RESULTS"
}

# -------- the figures --------
measure_bulk() {
	local name dir streams v
	for streams in 1 4; do
		for dir in up down; do
			v=$(client iperf3 -c 127.0.0.1 -p "$P_IPERF" -t "$SECS" -P "$streams" \
				$([ $dir = down ] && echo -R) -J 2>/dev/null |
				python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9)' 2>/dev/null)
			record "bulk_${streams}_${dir}_gbps" "${v:-nan}"
		done
	done
}

measure_latency() {
	local out
	out=$(client sockperf ping-pong --tcp -i 127.0.0.1 -p "$P_SOCKPERF" -t "$SECS" 2>&1 |
		sed 's/\x1b\[[0-9;]*m//g')
	record lat_avg_us "$(sed -n 's/.*avg-latency=\([0-9.]*\).*/\1/p' <<<"$out")"
	record lat_p50_us "$(sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p' <<<"$out")"
	record lat_p99_us "$(sed -n 's/.*percentile 99.000 = *\([0-9.]*\).*/\1/p' <<<"$out")"
}

wrk_rps() {	# [wrk args...]
	client wrk -t1 -c50 -d"$SECS" "$@" "http://127.0.0.1:$P_HTTP/" 2>/dev/null |
		awk '/Requests\/sec/ { print $2 }'
}

measure_http() {
	record new_conn_per_s "$(wrk_rps -H 'Connection: close')"
	record keepalive_req_per_s "$(wrk_rps)"
}

relay_fds() {
	local pid fds=0
	for pid in $(relay_tree_pids); do
		fds=$((fds + $(ls "/proc/$pid/fd" 2>/dev/null | wc -l)))
	done
	echo "$fds"
}

# RSS (KiB) and fds of the relay's processes with N idle connections, and
# the rate of new connections while they are open
measure_idle() {
	local n rss fds pid
	[ "$RELAY" = direct ] && return
	record idle_0_fds "$(relay_fds)"
	for n in $IDLE_COUNTS; do
		# two processes per connection: 10,000 would be 20,000 socat processes
		[ "$RELAY" = socat ] && [ "$n" -gt 1000 ] && continue
		# the holder lets go when the stop file appears: killing "client ... &"
		# would kill only the subshell, and its connections would linger
		rm -f "$T/idle.stop"
		client python3 - "$P_HTTP" "$n" "$T/idle.stop" >"$T/idle.out" 2>&1 <<'PY' &
import os, socket, sys, time
port, n, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conns = []
for _ in range(n):
    conns.append(socket.create_connection(("127.0.0.1", port)))
print("open", flush=True)
deadline = time.monotonic() + 120
while not os.path.exists(stop) and time.monotonic() < deadline:
    time.sleep(0.1)
PY
		local holder=$!
		for _ in $(seq 1 600); do grep -q open "$T/idle.out" && break; sleep 0.1; done
		sleep 1
		rss=0
		for pid in $(relay_tree_pids); do
			rss=$((rss + $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)))
		done
		fds=$(relay_fds)
		grep -q open "$T/idle.out" || rss=nan fds=nan
		record "idle_${n}_rss_kib" "$rss"
		record "idle_${n}_fds" "$fds"
		# the cost of a new connection with N open: wrk Connection: close
		record "new_conn_per_s_at_${n}" "$(wrk_rps -H 'Connection: close')"
		touch "$T/idle.stop"
		wait "$holder" 2>/dev/null
		sleep 1
	done
}

cpu_ticks_of_relay() {
	local pid sum=0
	for pid in $(relay_tree_pids); do
		sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	echo "$sum"
}

measure_cpu() {
	local t0 t1 gib
	[ "$RELAY" = direct ] && return
	[ "$RELAY" = socat ] && return	# its forks exit with their connection: not measurable this way
	t0=$(cpu_ticks_of_relay)
	client iperf3 -c 127.0.0.1 -p "$P_IPERF" -n "$BULK_BYTES" >/dev/null 2>&1
	t1=$(cpu_ticks_of_relay)
	gib=$(numfmt --from=iec "$BULK_BYTES")
	record cpu_s_per_gib "$(python3 -c "print(($t1 - $t0) / $(getconf CLK_TCK) / ($gib / 2**30))")"
}

for ROUND in $(seq 1 "$ROUNDS"); do
	for RELAY in $RELAYS; do
		echo "bench: round $ROUND/$ROUNDS: $RELAY" >&2
		start_relay "$RELAY"
		measure_bulk
		measure_latency
		measure_http
		measure_cpu
		measure_idle
		stop_relay
	done
done

python3 "$REPO/bench/report.py" "$RESULTS" "$QUICK" "$ROUNDS" "$SECS" >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
echo "bench: wrote $OUT" >&2
