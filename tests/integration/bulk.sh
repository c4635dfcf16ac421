#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bulk.sh - 256 MiB each way byte for byte, iperf3 both ways, half-close
. "$(dirname "$0")/lib.sh"

mkns ns bulk
pick_port down "$ns"
pick_port up "$ns"
pick_port hc "$ns"
pick_port ip3 "$ns"
random_file "$T/data" 256
want=$(sha256sum <"$T/data" | cut -d' ' -f1)

start_nsb -c "netns:$ns" "host:$down" "container:$down" "host:$up" "container:$up" \
	"host:$hc" "container:$hc" "host:$ip3" "container:$ip3"

# download: the host's server sends the file, the client in the namespace keeps it
download() {
	bg socat -u OPEN:"$T/data",rdonly TCP-LISTEN:"$down",bind=127.0.0.1,reuseaddr
	wait_listen "" "$down"
	timeout 120 ip netns exec "$ns" socat -u TCP:127.0.0.1:"$down" CREATE:"$T/down" ||
		fail "download through the bridge"
	assert_eq "sha256 of 256 MiB downloaded" "$want" "$(sha256sum <"$T/down" | cut -d' ' -f1)"
	rm -f "$T/down"
	pass "256 MiB host -> namespace arrived intact"
}

# upload: the client in the namespace sends, the host's server keeps it
upload() {
	local server
	bg socat -u TCP-LISTEN:"$up",bind=127.0.0.1,reuseaddr CREATE:"$T/up"
	server=$BG_PID
	wait_listen "" "$up"
	timeout 120 ip netns exec "$ns" socat -u OPEN:"$T/data",rdonly TCP:127.0.0.1:"$up" ||
		fail "upload through the bridge"
	wait_exit "$server" 30
	assert_eq "sha256 of 256 MiB uploaded" "$want" "$(sha256sum <"$T/up" | cut -d' ' -f1)"
	rm -f "$T/up"
	pass "256 MiB namespace -> host arrived intact"
}

# half-close: the client shuts down writing after 16 MiB and still gets the
# server's answer, which the server can only compute after that FIN
half_close() {
	local reply
	head -c 16M "$T/data" >"$T/part"
	bg socat TCP-LISTEN:"$hc",bind=127.0.0.1,reuseaddr SYSTEM:"sha256sum"
	wait_listen "" "$hc"
	reply=$(timeout 60 ip netns exec "$ns" socat -t 30 - TCP:127.0.0.1:"$hc" <"$T/part") ||
		fail "half-close client"
	assert_eq "reply after half-close" "$(sha256sum <"$T/part")" "$reply"
	pass "FIN passed on after the data; the reply came back on the half-open connection"
}

# iperf_bps - the bits per second received, from iperf3 -J on stdin
iperf_bps() {
	python3 -c 'import json, sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))'
}

# iperf3, both directions, a real benchmark client
iperf3_both_ways() {
	local out bps rbps
	bg iperf3 -s -B 127.0.0.1 -p "$ip3" -1 >/dev/null
	wait_listen "" "$ip3"
	out=$(timeout 60 ip netns exec "$ns" iperf3 -c 127.0.0.1 -p "$ip3" -t 2 -J) || fail "iperf3 upload"
	bps=$(iperf_bps <<<"$out")
	[ "$bps" -gt 0 ] || fail "iperf3 upload moved nothing"
	bg iperf3 -s -B 127.0.0.1 -p "$ip3" -1 >/dev/null
	wait_listen "" "$ip3"
	out=$(timeout 60 ip netns exec "$ns" iperf3 -c 127.0.0.1 -p "$ip3" -t 2 -R -J) ||
		fail "iperf3 download"
	rbps=$(iperf_bps <<<"$out")
	[ "$rbps" -gt 0 ] || fail "iperf3 download moved nothing"
	pass "iperf3 through the bridge: $((bps / 1000000)) Mbit/s up, $((rbps / 1000000)) Mbit/s down"
}

# after the SIGTERM below, which ends the nsbridge of all the checks above
stopped_by_sigterm() {
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "SIGTERM after the transfers: exit 0"
}

check download
check upload
check half_close
check iperf3_both_ways
stop_nsb TERM
check stopped_by_sigterm
