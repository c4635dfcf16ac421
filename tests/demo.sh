#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# demo.sh - install, build, and bridge a host web server into a throwaway namespace
#
#   tests/demo.sh                     install what the demo needs, build, show
#   tests/demo.sh PATH-TO-NSBRIDGE    show with that binary: no install, no build
#   tests/demo.sh --dry-run           print the packages it would install (deps.sh
#                                     --dry-run build demo) and stop
#
# The namespace stands in for a container: its 127.0.0.1 is its own, so
# the host's server is out of reach until nsbridge makes it appear there.
# Only what building nsbridge and the demo need is installed (deps.sh
# build demo), not the test suite's servers and engines. Every wait is on
# a state, with a bound: a web server or an nsbridge that cannot start is
# said and ends the demo with status 1, never a hang.
set -eu
cd "$(dirname "$0")/.."

if [ "${1:-}" = --dry-run ]; then
	exec tests/deps.sh --dry-run build demo
fi
nsbridge=${1:-}
if [ -z "$nsbridge" ]; then
	tests/deps.sh build demo
	# the demo needs nsbridge only: no unit tests (cmocka), page if scdoc is there
	[ -d build ] || meson setup build -Dtests=false >/dev/null
	ninja -C build >/dev/null
	nsbridge=build/src/nsbridge
fi

ns=nsbridge-demo-$$
dir=$(mktemp -d)
server=
bridge=
cleanup() {
	for pid in $server $bridge; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show() {
	echo "\$ $*"
	"$@"
}

# die WHY [LOG] - say why the demo cannot go on, show LOG, exit 1
die() {
	echo "demo.sh: $1" >&2
	[ -z "${2:-}" ] || sed 's/^/    /' "$2" >&2
	exit 1
}

port=62893
if [ -n "$(ss -Htln "sport = :$port")" ]; then
	die "port $port is in use here, so the demo's web server cannot listen on it; stop what \
holds it (ss -tlnp 'sport = :$port') and run the demo again"
fi
echo "hello from the host's loopback" >"$dir/index.html"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >"$dir/server.log" 2>&1 &
server=$!
deadline=$(($(date +%s) + 10))
until curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; do
	kill -0 "$server" 2>/dev/null ||
		die "the web server on 127.0.0.1:$port could not start: $(tail -n 1 "$dir/server.log")"
	[ "$(date +%s)" -lt "$deadline" ] ||
		die "the web server on 127.0.0.1:$port did not answer in 10 s"
	sleep 0.1
done
show ip netns add "$ns"
echo "\$ ip netns exec $ns curl -sS http://127.0.0.1:$port/    # before: nothing there"
ip netns exec "$ns" curl -sS --max-time 2 "http://127.0.0.1:$port/" 2>&1 || true

echo "\$ $nsbridge -c netns:$ns host:$port container:$port &"
"$nsbridge" -c "netns:$ns" "host:$port" "container:$port" 2>"$dir/log" &
bridge=$!
deadline=$(($(date +%s) + 10))
until grep -q ' ready$' "$dir/log"; do
	kill -0 "$bridge" 2>/dev/null || die "nsbridge did not start:" "$dir/log"
	[ "$(date +%s)" -lt "$deadline" ] || die "nsbridge was not ready in 10 s:" "$dir/log"
	sleep 0.1
done
cat "$dir/log"
show ip netns exec "$ns" curl -sS "http://127.0.0.1:$port/"
show ip netns exec "$ns" curl -sS "http://[::1]:$port/"
