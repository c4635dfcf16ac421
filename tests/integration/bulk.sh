#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bulk.sh - 256 MiB each way byte for byte, iperf3 both ways, half-close
. "$(dirname "$0")/lib.sh"

mkns ns bulk
pick_port port "$ns"
pick_port hc "$ns"
pick_port ip3 "$ns"
random_file "$T/data" 256
want=$(sha256sum <"$T/data" | cut -d' ' -f1)

start_nsb -c "netns:$ns" "host:$port" "container:$port" "host:$hc" "container:$hc" \
	"host:$ip3" "container:$ip3"

# download: the host's server sends the file, the client in the namespace keeps it
bg socat -u OPEN:"$T/data",rdonly TCP-LISTEN:"$port",bind=127.0.0.1,reuseaddr
wait_listen "" "$port"
timeout 120 ip netns exec "$ns" socat -u TCP:127.0.0.1:"$port" CREATE:"$T/down" ||
	fail "download through the bridge"
assert_eq "sha256 of 256 MiB downloaded" "$want" "$(sha256sum <"$T/down" | cut -d' ' -f1)"
pass "256 MiB host -> namespace arrived intact"
rm -f "$T/down"

# upload: the client in the namespace sends, the host's server keeps it
bg socat -u TCP-LISTEN:"$port",bind=127.0.0.1,reuseaddr CREATE:"$T/up"
server=$BG_PID
wait_listen "" "$port"
timeout 120 ip netns exec "$ns" socat -u OPEN:"$T/data",rdonly TCP:127.0.0.1:"$port" ||
	fail "upload through the bridge"
wait_exit "$server" 30
assert_eq "sha256 of 256 MiB uploaded" "$want" "$(sha256sum <"$T/up" | cut -d' ' -f1)"
pass "256 MiB namespace -> host arrived intact"
rm -f "$T/up"

# half-close: the client shuts down writing after 16 MiB and still gets the
# server's answer, which the server can only compute after that FIN
head -c 16M "$T/data" >"$T/part"
bg socat TCP-LISTEN:"$hc",bind=127.0.0.1,reuseaddr SYSTEM:"sha256sum"
wait_listen "" "$hc"
reply=$(timeout 60 ip netns exec "$ns" socat -t 30 - TCP:127.0.0.1:"$hc" <"$T/part") ||
	fail "half-close client"
assert_eq "reply after half-close" "$(sha256sum <"$T/part")" "$reply"
pass "FIN passed on after the data; the reply came back on the half-open connection"

# iperf3, both directions, a real benchmark client
bg iperf3 -s -B 127.0.0.1 -p "$ip3" -1 >/dev/null
wait_listen "" "$ip3"
out=$(timeout 60 ip netns exec "$ns" iperf3 -c 127.0.0.1 -p "$ip3" -t 2 -J) || fail "iperf3 upload"
bps=$(python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))' <<<"$out")
[ "$bps" -gt 0 ] || fail "iperf3 upload moved nothing"
bg iperf3 -s -B 127.0.0.1 -p "$ip3" -1 >/dev/null
wait_listen "" "$ip3"
out=$(timeout 60 ip netns exec "$ns" iperf3 -c 127.0.0.1 -p "$ip3" -t 2 -R -J) || fail "iperf3 download"
rbps=$(python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))' <<<"$out")
[ "$rbps" -gt 0 ] || fail "iperf3 download moved nothing"
pass "iperf3 through the bridge: $((bps / 1000000)) Mbit/s up, $((rbps / 1000000)) Mbit/s down"

stop_nsb TERM
assert_eq "exit status" 0 "$NSB_STATUS"
