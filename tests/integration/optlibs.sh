#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# optlibs.sh - libcurl and libmicrohttpd are loaded only by the runs that
# use them (src/sys/optlibs.c), and a run that needs one it cannot load
# says so in one line and exits 1
#
# What is loaded is read from /proc/PID/maps of nsbridge and its helpers.
# A library that cannot be loaded is made by a mount namespace of the
# check's own, where /dev/null is bound over the library's file.
. "$(dirname "$0")/lib.sh"

mkns ns optl
pick_port web "$ns"
pick_port metrics "$ns"
mkdir -p "$T/www" && echo "host service $web" >"$T/www/index.html"
start_nginx "" "$web" "$T/www" 127.0.0.1

# maps_of LIB - how many of nsbridge's processes map LIB (a file name part)
maps_of() {
	local n=0 pid
	for pid in "$NSB_PID" $(pgrep -P "$NSB_PID"); do
		grep -q "/$1" "/proc/$pid/maps" 2>/dev/null && n=$((n + 1))
	done
	echo "$n"
}

# lib_file SONAME - the file the dynamic loader opens for SONAME
lib_file() {
	readlink -f "$(ldconfig -p | awk -v s="$1" '$1 == s { print $NF; exit }')"
}

fetch_through_bridge() {
	local got
	got=$(nsx "$ns" curl -sS --max-time 10 "http://127.0.0.1:$web/") || fail "curl through the bridge: exit $?"
	assert_eq "page through the bridge" "host service $web" "$got"
}

netns_bridge_loads_neither() {
	own_nsb -c "netns:$ns" "host:$web" "container:$web"
	fetch_through_bridge
	assert_eq "processes of nsbridge that map libcurl" 0 "$(maps_of libcurl.so)"
	assert_eq "processes of nsbridge that map libmicrohttpd" 0 "$(maps_of libmicrohttpd.so)"
	assert_eq "processes of nsbridge that map a TLS library" 0 \
		"$(( $(maps_of libssl.so) + $(maps_of libgnutls.so) ))"
	pass "a netns: bridge relays with neither library, nor a TLS library, mapped"
}

metrics_loads_microhttpd() {
	own_nsb --metrics "127.0.0.1:$metrics" -c "netns:$ns" "host:$web" "container:$web"
	fetch_through_bridge
	curl -sS --max-time 10 "http://127.0.0.1:$metrics/metrics" >"$T/metrics.txt" ||
		fail "scraping --metrics: curl exit $?"
	grep -q '^nsbridge_' "$T/metrics.txt" || fail "no nsbridge_ series in the scrape"
	grep -q "/libmicrohttpd.so" "/proc/$NSB_PID/maps" || fail "the relay does not map libmicrohttpd"
	assert_eq "processes of nsbridge that map libcurl" 0 "$(maps_of libcurl.so)"
	pass "--metrics loads libmicrohttpd, and serves the scrape"
}

# without SONAME EXPECTED ARGS... - nsbridge ARGS where SONAME cannot be
# loaded: exit 1, the one line EXPECTED, and nothing left listening
without() {
	local soname=$1 want=$2 file rc
	shift 2
	file=$(lib_file "$soname")
	[ -f "$file" ] || fail "no file for $soname in ldconfig's cache"
	timeout 30 unshare -m -- sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' \
		sh "$file" "$NSB" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	grep -v ': brought lo up in ' "$T/err" >"$T/lines"
	assert_eq "exit status ($(cat "$T/err"))" 1 "$rc"
	assert_eq "lines on stderr ($(cat "$T/lines"))" 1 "$(wc -l <"$T/lines")"
	assert_match "the line" "$want" "$(cat "$T/lines")"
	port_free "" "$metrics" || fail "something listens on $metrics after the refusal"
	port_free "$ns" "$web" || fail "something listens on $web in $ns after the refusal"
}

metrics_without_microhttpd() {
	without libmicrohttpd.so.12 \
		'^nsbridge: cannot load libmicrohttpd\.so\.12 \(install package libmicrohttpd12\): .+$' \
		--metrics "127.0.0.1:$metrics" -c "netns:$ns" "host:$web" "container:$web"
	pass "--metrics without libmicrohttpd: exit 1, '$(cat "$T/lines")'"
}

container_name_without_curl() {
	# an engine socket that answers nothing: the library is needed before it
	bg python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); time.sleep(3600)' "$T/engine.sock"
	wait_until "the stand-in engine socket" 30 test -S "$T/engine.sock"
	DOCKER_HOST=unix://$T/engine.sock without libcurl.so.4 \
		'^nsbridge: container web: cannot load libcurl\.so\.4 \(install package libcurl4\): .+$' \
		-c web "host:$web" "container:$web"
	pass "a container by name without libcurl: exit 1, '$(cat "$T/lines")'"
}

check netns_bridge_loads_neither
check metrics_loads_microhttpd
check metrics_without_microhttpd
check container_name_without_curl
