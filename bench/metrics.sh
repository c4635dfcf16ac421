#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# metrics.sh - what --metrics costs: the size of one scrape, and the relay's
# CPU while Prometheus-like scrapes come once a second
#
#   bench/metrics.sh [SECONDS]
#
# The size of one scrape with 1 bridge, 100 bridges and a 1,000-port range.
# Then, with 10,000 idle connections held open through one bridge (fewer
# where the descriptor limit is lower; bench/holder.py), the relay's CPU over SECONDS (30) without scrapes and
# over SECONDS with one scrape a second, and the time one scrape takes.
# Everything runs in a network namespace of the script's own; the release
# build is bench/lib.sh's.
set -u
SECS=${1:-30}
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/bench/lib.sh"
# shellcheck disable=SC2086
bench_enter $BENCH_BUILD_PKGS nginx-light curl python3 -- "$@"
bench_host_net
NSB=$REPO/build-bench/src/nsbridge
T=$(mktemp -d /tmp/nsmetrics.XXXXXX)
NS=nsmetrics-$$
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up
trap 'touch "$T/idle/stop" 2>/dev/null; kill $(jobs -p) 2>/dev/null; wait; ip netns del "$NS"; rm -rf "$T"' EXIT
ulimit -n "$(ulimit -Hn)"
# two descriptors a connection in the relay, and some to spare: as bench/run.sh
IDLE=$(( ($(ulimit -Hn) - 256) / 2 ))
[ "$IDLE" -gt 10000 ] && IDLE=10000
P_METRICS=25601 P_HTTP=25602 FIRST=26000

# size_with DESCRIPTION PAIRS... - nsbridge with PAIRS: bytes and series of one scrape
size_with() {
	local what=$1 pid
	shift
	"$NSB" -q -c "netns:$NS" --metrics "127.0.0.1:$P_METRICS" "$@" 2>"$T/nsb.log" &
	pid=$!
	until curl -s -o "$T/scrape" "http://127.0.0.1:$P_METRICS/metrics"; do sleep 0.1; done
	printf '| %s | %s | %s |\n' "$what" "$(stat -c %s "$T/scrape")" "$(grep -vc '^#' "$T/scrape")"
	kill "$pid"
	wait "$pid" 2>/dev/null
}

# cpu_ns PID - nanoseconds on a CPU of all the threads of PID so far
cpu_ns() {
	local sum=0 t
	for t in /proc/"$1"/task/*/schedstat; do sum=$((sum + $(cut -d' ' -f1 "$t"))); done
	echo "$sum"
}

# cpu_pct PID [scrape] - PID's CPU over SECS, in % of a core, scraping once a second if asked
cpu_pct() {
	local t0 t1 w0 w1 i
	t0=$(cpu_ns "$1") w0=$(date +%s%N)
	for ((i = 0; i < SECS; i++)); do
		[ -n "${2:-}" ] && curl -s -o /dev/null "http://127.0.0.1:$P_METRICS/metrics"
		sleep 1	# not a wait: the once a second of a scrape interval
	done
	t1=$(cpu_ns "$1") w1=$(date +%s%N)
	python3 -c "print('%.2f' % (100 * ($t1 - $t0) / ($w1 - $w0)))"
}

echo "| bridges | bytes a scrape | samples |"
echo "|---|---|---|"
size_with "1 bridge" "host:$FIRST" "container:$FIRST"
pairs=()
for ((i = 0; i < 100; i++)); do pairs+=("host:$((FIRST + i))" "container:$((FIRST + i))"); done
size_with "100 bridges" "${pairs[@]}"
size_with "a 1,000-port range" "host:$FIRST-$((FIRST + 999))" "container:$FIRST-$((FIRST + 999))"

cat >"$T/nginx.conf" <<NG
daemon off; worker_processes 1; pid $T/nginx.pid; error_log $T/nginx.err;
worker_rlimit_nofile 30000;
events { worker_connections 25000; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 3600s;
       server { listen 127.0.0.1:$P_HTTP backlog=4096; location / { return 200 "ok\n"; } } }
NG
nginx -c "$T/nginx.conf" -e "$T/nginx.err" &
"$NSB" -q -c "netns:$NS" --metrics "127.0.0.1:$P_METRICS" "host:$P_HTTP" "container:$P_HTTP" \
	2>"$T/nsb.log" &
relay=$!
until curl -s -o /dev/null "http://127.0.0.1:$P_METRICS/metrics"; do sleep 0.1; done
mkdir "$T/idle"
ip netns exec "$NS" python3 "$REPO/bench/holder.py" "$P_HTTP" "$IDLE" "$T/idle" >"$T/idle.out" 2>&1 &
until grep -q open "$T/idle.out"; do
	grep -q -i error "$T/idle.out" && { cat "$T/idle.out" >&2; exit 1; }
	sleep 0.5
done
echo
echo "With $IDLE idle connections open through the bridge (the relay holds $(ls /proc/$relay/fd | wc -l) descriptors), over $SECS s:"
echo "- relay CPU without scrapes: $(cpu_pct "$relay") % of a core"
echo "- relay CPU with a scrape a second: $(cpu_pct "$relay" scrape) % of a core"
echo "- one scrape: $(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$P_METRICS/metrics") s," \
	"$(curl -s "http://127.0.0.1:$P_METRICS/metrics" | wc -c) bytes"
