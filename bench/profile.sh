#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# profile.sh - where a relay's CPU goes under wrk keep-alive load
#
#   bench/profile.sh [SECONDS]
#
# The keep-alive scene of BENCHMARKS.md (wrk -t1 -c50 against nginx, the
# client in a namespace, nginx on the "host's" loopback) through nsbridge
# and through pasta in turn: requests per second, the relay's CPU share
# and CPU microseconds per request, the machine's idle share, and, for
# nsbridge, a perf profile of the relay split by the kernel paths that
# matter (splice in, splice out and the loopback delivery it runs,
# epoll). Like run.sh, everything runs in a namespace of the script's own.
set -u
SECS=${1:-5}
REPO=$(cd "$(dirname "$0")/.." && pwd)
NSB=$REPO/build-bench/src/nsbridge

[ "$(id -u)" = 0 ] || { echo "bench/profile.sh: run as root" >&2; exit 1; }
. "$REPO/bench/lib.sh"
# shellcheck disable=SC2086
bench_enter $BENCH_BUILD_PKGS passt wrk nginx-light linux-perf -- "$@"
bench_host_net
T=$(mktemp -d /tmp/nsprof.XXXXXX)
chmod 755 "$T"
NS=nsprof-$$
PORT=25401
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up
trap 'kill $(jobs -p) 2>/dev/null; wait; ip netns del "$NS"; rm -rf "$T"' EXIT

cat >"$T/nginx.conf" <<NG
daemon off; worker_processes 1; pid $T/nginx.pid; error_log $T/nginx.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
       server { listen 127.0.0.1:$PORT; location / { return 200 "ok\n"; } } }
NG
nginx -c "$T/nginx.conf" -e "$T/nginx.err" &
sleep 0.5

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
idle() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

for relay in nsbridge pasta; do
	if [ $relay = nsbridge ]; then
		"$NSB" -q -c "netns:$NS" "host:$PORT" "container:$PORT" 2>/dev/null &
	else
		pasta -f --runas 0 --netns "/run/netns/$NS" -T "$PORT" -t none -u none -U none \
			>/dev/null 2>&1 &
	fi
	pid=$!
	sleep 0.5
	[ $relay = nsbridge ] && command -v perf >/dev/null &&
		perf record -q -o "$T/perf.data" -F 2000 -g -p "$pid" -- sleep "$((SECS - 1))" \
			>/dev/null 2>&1 &
	t0=$(ticks "$pid")
	read -r i0 a0 <<<"$(idle)"
	rps=$(ip netns exec "$NS" wrk -t1 -c50 -d"$SECS" "http://127.0.0.1:$PORT/" |
		awk '/Requests\/sec/ { print $2 }')
	t1=$(ticks "$pid")
	read -r i1 a1 <<<"$(idle)"
	wait %?perf 2>/dev/null
	python3 - "$relay" "$rps" "$t0" "$t1" "$SECS" "$(getconf CLK_TCK)" "$i0" "$a0" "$i1" "$a1" <<'PY'
import sys
relay, rps, t0, t1, secs, hz, i0, a0, i1, a1 = sys.argv[1:]
rps, cpu = float(rps), (int(t1) - int(t0)) / int(hz)
print(f"{relay}: {rps:,.0f} requests/s; relay CPU {100 * cpu / int(secs):.0f}% of a core, "
      f"{1e6 * cpu / (rps * int(secs)):.1f} µs a request; machine idle "
      f"{100 * (int(i1) - int(i0)) / (int(a1) - int(a0)):.0f}%")
PY
	kill "$pid"
	wait "$pid" 2>/dev/null
done

if [ -s "$T/perf.data" ]; then
	echo "nsbridge's CPU by kernel path (perf, children included):"
	perf report -i "$T/perf.data" --children --sort sym --stdio -g none 2>/dev/null |
		awk '$NF ~ /^(__x64_sys_splice|splice_to_socket|tcp_splice_read|net_rx_action|__x64_sys_epoll_wait|__x64_sys_epoll_ctl)$/ {
			printf "  %-22s %s\n", $NF, $1 }'
fi
