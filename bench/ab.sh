#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ab.sh - two nsbridge binaries against each other, interleaved: is a change worth it?
#
#   bench/ab.sh OLD NEW [ROUNDS]
#
# sockperf ping-pong p50, wrk keep-alive and new-connection rates, iperf3's
# one-stream bulk rate both ways and the relay's CPU seconds per GiB through each
# binary in turn, ROUNDS times (3), in a network namespace of the script's
# own. Either binary may be the word "pasta", for Debian's peer,
# "pasta2026", for the pasta that PASTA names run with --splice-only, or
# "floor-64k" or "floor-1m", for bench/floor.c with that pipe size. An
# nsbridge binary may end in "+source", run with --source 127.77.0.5 (the
# container's own address), or "+proxy", with proxy-protocol on the HTTP
# bridge toward an nginx that takes the header (the same nginx, another server; its
# parsing of the header counts in that side's figures): what each costs.
# AB_HELD=N holds N idle connections open through each relay while it is
# measured (bench/holder.py), for the rates with connections open;
# AB_HELD=N,M holds N through OLD and M through NEW: with the same binary
# twice, whether a new connection costs the same with M open as with N.
# For the full comparison with the peers, bench/run.sh.
set -u
[ $# -ge 2 ] || { echo "usage: $0 OLD NEW [ROUNDS]" >&2; exit 2; }
if [ -z "${NSBENCH_INSIDE:-}" ]; then
	export NSBENCH_INSIDE=1
	old=$1 new=$2
	# a path's own name; a +variant stays as written
	case $old in pasta|pasta2026|floor-*) ;; *+*) old=$(readlink -f "${old%%+*}")+${old#*+} ;;
	*) old=$(readlink -f "$old") ;; esac
	case $new in pasta|pasta2026|floor-*) ;; *+*) new=$(readlink -f "${new%%+*}")+${new#*+} ;;
	*) new=$(readlink -f "$new") ;; esac
	case "$old $new" in *pasta2026*) [ -x "${PASTA:-}" ] ||
		{ echo "$0: pasta2026 needs PASTA=path to the 2026 pasta" >&2; exit 2; } ;; esac
	exec unshare --net -- "$0" "$old" "$new" "${3:-3}"
fi
OLD=$1 NEW=$2 ROUNDS=$3
HELD_OLD=${AB_HELD:-0}
HELD_NEW=${HELD_OLD#*,}
HELD_OLD=${HELD_OLD%%,*}
ulimit -n 65536 2>/dev/null
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/bench/lib.sh"
bench_host_net
T=$(mktemp -d /tmp/nsab.XXXXXX)
NS=nsab-$$
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up
trap 'kill $(jobs -p) 2>/dev/null; wait; ip netns del "$NS"; rm -rf "$T"' EXIT
case "$OLD $NEW" in *floor-*)
	gcc -O2 -Wall -o "$T/floor" "$REPO/bench/floor.c" || exit 1 ;;
esac

sockperf server --tcp -i 127.0.0.1 -p 25301 >/dev/null 2>&1 &
iperf3 -s -B 127.0.0.1 -p 25303 >/dev/null 2>&1 &
cat >"$T/nginx.conf" <<NG
daemon off; worker_processes 1; pid $T/nginx.pid; error_log $T/nginx.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
       server { listen 127.0.0.1:25302; location / { return 200 "ok\n"; } }
       server { listen 127.0.0.1:25304 proxy_protocol; location / { return 200 "ok\n"; } } }
NG
nginx -c "$T/nginx.conf" -e "$T/nginx.err" &
cat >"$T/proxy.conf" <<CONF
container = "netns:$NS";
bridges = (
  { service = "host:25301"; expose = "container:25301"; },
  { service = "host:25304"; expose = "container:25302"; proxy-protocol = true; },
  { service = "host:25303"; expose = "container:25303"; }
);
CONF
sleep 0.5

in_ns() { ip netns exec "$NS" "$@"; }

# gbits - iperf3 -J's received rate, in Gbit/s
gbits() {
	python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
}

# cpu_ns PID - nanoseconds on a CPU of all the threads of PID so far
cpu_ns() {
	local sum=0 t
	for t in /proc/"$1"/task/*/schedstat; do sum=$((sum + $(cut -d' ' -f1 "$t"))); done
	echo "$sum"
}

for round in $(seq 1 "$ROUNDS"); do
	for which in old new; do
		bin=$OLD
		[ $which = new ] && bin=$NEW
		if [ "$bin" = pasta2026 ]; then
			"$PASTA" -f --splice-only --runas 0 --netns "/run/netns/$NS" -T 25301 -T 25302 \
				-T 25303 >/dev/null 2>&1 &
		elif [[ $bin == floor-* ]]; then
			size=65536
			[ "$bin" = floor-1m ] && size=1048576
			"$T/floor" -p "$size" "/run/netns/$NS" 25301 25302 25303 &
		elif [ "$bin" = pasta ]; then
			pasta -f --runas 0 --netns "/run/netns/$NS" -T 25301 -T 25302 -T 25303 -t none \
				-u none -U none >/dev/null 2>&1 &
		else
			extra=()
			case $bin in *+source) extra=(--source 127.77.0.5) ;; esac
			case $bin in
			*+proxy)	# the header on the HTTP bridge only: sockperf and
					# iperf3 would read it as data
				"${bin%%+*}" -q --config "$T/proxy.conf" 2>/dev/null & ;;
			*)	"${bin%%+*}" -q -c "netns:$NS" "${extra[@]}" host:25301 container:25301 \
					host:25302 container:25302 host:25303 container:25303 2>/dev/null & ;;
			esac
		fi
		pid=$!
		sleep 0.4
		HELD=$HELD_OLD
		[ $which = new ] && HELD=$HELD_NEW
		if [ "$HELD" -gt 0 ]; then
			rm -f "$T/stop" "$T/held"
			in_ns python3 "$REPO/bench/holder.py" 25302 "$HELD" "$T" >"$T/held" 2>&1 &
			holder=$!
			until grep -q open "$T/held" 2>/dev/null; do
				kill -0 "$holder" 2>/dev/null ||
					{ echo "$0: the holder failed: $(cat "$T/held")" >&2; exit 1; }
				sleep 0.1
			done
		fi
		p50=$(in_ns sockperf ping-pong --tcp -i 127.0.0.1 -p 25301 -t 3 2>&1 |
			sed 's/\x1b\[[0-9;]*m//g' | sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p')
		ka=$(in_ns wrk -t1 -c50 -d3 http://127.0.0.1:25302/ | awk '/Requests\/sec/ { print $2 }')
		nc=$(in_ns wrk -t1 -c50 -d3 -H 'Connection: close' http://127.0.0.1:25302/ |
			awk '/Requests\/sec/ { print $2 }')
		bulk=$(in_ns iperf3 -c 127.0.0.1 -p 25303 -t 3 -J | gbits)
		back=$(in_ns iperf3 -c 127.0.0.1 -p 25303 -t 3 -R -J | gbits)
		t0=$(cpu_ns "$pid")
		in_ns iperf3 -c 127.0.0.1 -p 25303 -n 1G >/dev/null
		cpu=$(python3 -c "print('%.3f' % (($(cpu_ns "$pid") - $t0) / 1e9))")
		echo "round $round $which: p50 ${p50} us, keep-alive ${ka}/s, new connections ${nc}/s," \
			"bulk ${bulk} Gbit/s (host to namespace ${back}), CPU ${cpu} s/GiB"
		if [ "$HELD" -gt 0 ]; then
			touch "$T/stop"
			wait "$holder"
		fi
		kill "$pid"
		wait "$pid" 2>/dev/null
	done
done
