#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# demo.sh - install, build, and bridge a host web server into a throwaway namespace
#
# The namespace stands in for a container: its 127.0.0.1 is its own, so
# the host's server is out of reach until nsbridge makes it appear there.
set -eu
cd "$(dirname "$0")/.."

tests/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

ns=nsbridge-demo-$$
dir=$(mktemp -d)
cleanup() {
	kill "$server" "$bridge" 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

show() {
	echo "\$ $*"
	"$@"
}

port=62893
echo "hello from the host's loopback" >"$dir/index.html"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >/dev/null 2>&1 &
server=$!
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.1; done
show ip netns add "$ns"
echo "\$ ip netns exec $ns curl -sS http://127.0.0.1:$port/    # before: nothing there"
ip netns exec "$ns" curl -sS --max-time 2 "http://127.0.0.1:$port/" 2>&1 || true

echo "\$ build/src/nsbridge -c netns:$ns host:$port container:$port &"
build/src/nsbridge -c "netns:$ns" "host:$port" "container:$port" 2>"$dir/log" &
bridge=$!
for _ in $(seq 1 100); do
	grep -q ' ready$' "$dir/log" && break
	sleep 0.05
done
cat "$dir/log"
show ip netns exec "$ns" curl -sS "http://127.0.0.1:$port/"
show ip netns exec "$ns" curl -sS "http://[::1]:$port/"
