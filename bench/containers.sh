#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# containers.sh - what N containers cost: one nsbridge serving all of them
# against one nsbridge per container
#
#   bench/containers.sh [NSBRIDGE] [N]     (root; N defaults to 5)
#
# The containers are network namespaces (-c netns:NAME: no engine), each
# with two bridges, host:5432 into it and its :9229 onto the host - the
# dev set-up of issue 16, five services that need the host's database.
# For each way, once every bridge is ready: processes (the relays and
# their helpers: opener, keeper), their resident memory (VmRSS summed)
# and their open descriptors. Nothing is connected: this is the cost of
# being there, which is what a developer's idle machine pays.
#
# Everything runs in a network namespace of the script's own, which plays
# the host.
set -u

NSB=$(readlink -f "${1:-build/src/nsbridge}")
N=${2:-5}
[ "$(id -u)" = 0 ] || { echo "containers.sh: needs root (network namespaces)" >&2; exit 1; }
if [ -z "${NSBC_PRIVATE:-}" ]; then
	export NSBC_PRIVATE=1
	exec unshare --net -- "$0" "$NSB" "$N"
fi
ip link set lo up
T=$(mktemp -d /tmp/nsbc.XXXXXX)
PIDS=()
NAMES=()

cleanup() {
	local pid ns
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	for ns in "${NAMES[@]}"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

for i in $(seq 1 "$N"); do
	NAMES+=("nsbc-$$-$i")
	ip netns add "nsbc-$$-$i"
	ip netns exec "nsbc-$$-$i" ip link set lo up
done

# pairs I - the two bridges of container I
pairs() {
	echo "host:5432 container:5432 container:9229 host:$((9300 + $1))"
}

# start LOG ARGS... - an nsbridge, waiting for its ready lines (two per -c)
start() {
	local log=$1 want
	shift
	want=$(($(printf '%s\n' "$@" | grep -c '^-c$') * 2))
	"$NSB" --no-follow "$@" 2>"$log" &
	PIDS+=($!)
	for _ in $(seq 1 200); do
		[ "$(grep -c ' ready$' "$log")" -ge "$want" ] && return 0
		sleep 0.05
	done
	echo "containers.sh: nsbridge $* not ready:" >&2
	cat "$log" >&2
	exit 1
}

# measure WHAT PID... - processes, VmRSS and descriptors of the PIDs and their children
measure() {
	local what=$1 pid all=() rss=0 fds=0
	shift
	for pid in "$@"; do
		all+=("$pid" $(cat "/proc/$pid/task/$pid/children"))
	done
	for pid in "${all[@]}"; do
		rss=$((rss + $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")))
		fds=$((fds + $(ls "/proc/$pid/fd" | wc -l)))
	done
	printf '| %-28s | %9s | %12s | %11s |\n' "$what" "${#all[@]}" "$rss" "$fds"
}

echo "nsbridge $("$NSB" --version | cut -d' ' -f2), $N containers (netns), 2 bridges each, at rest"
echo
printf '| %-28s | %9s | %12s | %11s |\n' "" processes "VmRSS (KiB)" descriptors
echo "|------------------------------|-----------|--------------|-------------|"

args=()
for i in $(seq 1 "$N"); do
	args+=(-c "netns:nsbc-$$-$i" $(pairs "$i"))
done
start "$T/one.log" "${args[@]}"
measure "one nsbridge, $N containers" "${PIDS[0]}"
kill -TERM "${PIDS[0]}"
wait "${PIDS[0]}"
PIDS=()

for i in $(seq 1 "$N"); do
	start "$T/each-$i.log" -c "netns:nsbc-$$-$i" $(pairs "$i")
done
measure "$N nsbridge, one each" "${PIDS[@]}"
