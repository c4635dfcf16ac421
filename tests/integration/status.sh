#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# status.sh - the control socket with nsbridge status, --metrics, and the
# per-connection lines of --log-format json: the same figures three ways
. "$(dirname "$0")/lib.sh"

SIZE=100000
HERE=$(dirname "$(readlink -f "$0")")
JSON="python3 $HERE/status_json.py"

mkns ns status
mkns outer status-outer
pick_port web "$ns"
pick_port dead "$ns"
pick_port mport
pick_port udp "$ns"
bg python3 "$HERE/udp_peer.py" echo "$udp"
mkdir -p "$T/www" && head -c "$SIZE" /dev/urandom >"$T/www/index.html"
start_nginx "" "$web" "$T/www" 127.0.0.1

# a socket left by a killed nsbridge: pid 4194303 is above any pid_max default
mkdir -p /run/nsbridge
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
	/run/nsbridge/4194303.sock

start_nsb -v --log-format json --metrics "127.0.0.1:$mport" -c "netns:$ns" \
	"host:$web" "container:$web" "host:$dead" "container:$dead" \
	"host:$udp/udp" "container:$udp/udp"
sock=$(grep -o '"msg":"control socket [^ ]*' "$NSB_LOG" | sed 's/.*control socket //')

# --- traffic, what every figure below counts: three downloads, two
# refused, a UDP flow, one connection held open
for _ in 1 2 3; do
	n=$(nsx "$ns" curl -sS --max-time 5 -o /dev/null -w '%{size_download}' "http://127.0.0.1:$web/") ||
		fail "download through the bridge"
	assert_eq "bytes downloaded" "$SIZE" "$n"
done
for _ in 1 2; do
	nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$dead/" >/dev/null 2>&1 &&
		fail "a connection to a port nothing listens on succeeded"
done
out=$(nsx "$ns" python3 "$HERE/udp_peer.py" ask "$udp" aaaa bbbbbb) || fail "UDP through the bridge"
assert_eq "UDP answers" "aaaa bbbbbb" "$(echo $out)"
bg ip netns exec "$ns" python3 "$HERE/hold_peer.py" open 1 "$web"
holder=$BG_PID
# web_open N - nsbridge status counts N connections open on the web bridge
web_open() {
	[ "$("$NSB" status --json "$NSB_PID" | $JSON bridge - 0 open)" = "$1" ]
}
wait_until "the held connection open in nsbridge status" 30 web_open 1

# --- nsbridge status --json: read it once, then the metrics, with no traffic between
"$NSB" status --json "$NSB_PID" >"$T/status.json" || fail "nsbridge status --json exit $?"
curl -sS --max-time 5 "http://127.0.0.1:$mport/metrics" >"$T/metrics.txt" || fail "GET /metrics"

# --- the control socket: path in the log, 0600, the stale one gone
control_socket() {
	assert_eq "control socket path" "/run/nsbridge/$NSB_PID.sock" "$sock"
	[ -S "$sock" ] || fail "$sock is not a socket"
	assert_eq "control socket mode" 600 "$(stat -c %a "$sock")"
	[ -e /run/nsbridge/4194303.sock ] && fail "the stale socket of a dead pid is still there"
	pass "control socket $sock, mode 0600, printed at start; a dead process's socket removed"
}

status_figures() {
	$JSON figures "$T/status.json" "$NSB_PID" "$SIZE" || fail "status --json: see above"
	pass "status --json: 4 accepted and 1 open, 3 x $SIZE bytes to the client, 2 refused with the error, a UDP flow's 10 bytes each way"
}

# --- the same figures in the Prometheus text
metric() {	# NAME BRIDGE [LABEL=VALUE]: the sample's value
	local sel="bridge=\"$2\""
	awk -v n="$1" -v sel="$sel" -v l="${3:+${3%%=*}=\"${3#*=}\"}" \
		'index($0, n "{") == 1 && index($0, sel) && (l == "" || index($0, l)) { print $NF }' \
		"$T/metrics.txt"
}
json_of() {	# BRIDGE KEY: the figure from status --json
	$JSON bridge "$T/status.json" "$1" "$2"
}
metrics() {
	assert_eq "nsbridge_connections_open web" 1 "$(metric nsbridge_connections_open 0)"
	assert_eq "nsbridge_connections_accepted_total web" 4 \
		"$(metric nsbridge_connections_accepted_total 0)"
	assert_eq "nsbridge_connections_refused_total dead, refused" 2 \
		"$(metric nsbridge_connections_refused_total 1 reason=refused)"
	assert_eq "nsbridge_connections_refused_total dead, timeout" 0 \
		"$(metric nsbridge_connections_refused_total 1 reason=timeout)"
	assert_eq "bytes to the client, metrics and status" "$(json_of 0 bytes_to_client)" \
		"$(metric nsbridge_bytes_total 0 direction=to_client)"
	assert_eq "bytes to the service, metrics and status" "$(json_of 0 bytes_to_service)" \
		"$(metric nsbridge_bytes_total 0 direction=to_service)"
	[ "$(metric nsbridge_last_error_timestamp_seconds 1)" -gt 0 ] || fail "no time of the last error"
	assert_eq "UDP datagrams dropped" 0 "$(metric nsbridge_udp_datagrams_dropped_total 2)"
	assert_eq "UDP datagrams to SERVICE" 2 \
		"$(metric nsbridge_udp_datagrams_total 2 direction=to_service)"
	assert_eq "no dropped datagrams metric for TCP" "" \
		"$(metric nsbridge_udp_datagrams_dropped_total 0)"
	grep -q '^# TYPE nsbridge_bytes_total counter$' "$T/metrics.txt" || fail "no TYPE line"
	assert_eq "GET /other" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/other")"
	assert_eq "POST /metrics" 405 \
		"$(curl -sS -o /dev/null -w '%{http_code}' -d x "http://127.0.0.1:$mport/metrics")"
	pass "--metrics: the same counts and bytes as status; 404 elsewhere, 405 for POST"
}

# --- the text form, for people; and every nsbridge when no PID is given
status_text() {
	local out
	out=$("$NSB" status) || fail "nsbridge status exit $?"
	assert_match "status: the process" "nsbridge $NSB_PID \\(/run/nsbridge/$NSB_PID.sock\\), up [0-9]+s, container netns:$ns running" "$out"
	assert_match "status: the web bridge" "host 127.0.0.1:$web -> container netns:$ns 127.0.0.1:$web" "$out"
	assert_match "status: its counts" "open 1, accepted 4, refused 0; [0-9.]+ [B-]+ to service, 29[0-9.]+ KiB to client" "$out"
	assert_match "status: the refused bridge" "open 0, accepted 2, refused 2; 0 B to service, 0 B to client" "$out"
	assert_match "status: the last error" "last error [0-9]+s ago: host 127.0.0.1:$dead refused the connection" "$out"
	pass "nsbridge status: one line per process, counts and last error per bridge"
}

# --- JSON log lines: every line an object; one close line per download, with its figures
log_lines() {
	kill "$holder"
	wait_until "end of the holder's connection" 30 web_open 0
	$JSON log-conns "$NSB_LOG" "$web" "$dead" "$SIZE" "$(json_of 0 bytes_to_client)" ||
		fail "JSON log: see above"
	pass "JSON log: one open and one close object per connection, with id, endpoints, bytes and duration"
}

# --- stop (the SIGTERM below): the socket goes, and status says nothing runs
stopped() {
	local out
	assert_eq "exit status" 0 "$NSB_STATUS"
	[ -e "$sock" ] && fail "$sock left behind after exit"
	$JSON log-flow "$NSB_LOG" || fail "JSON log of the UDP flow: see above"
	out=$("$NSB" status "$NSB_PID" 2>&1)
	assert_eq "status of a stopped nsbridge: exit" 1 "$?"
	assert_match "status of a stopped nsbridge: message" "no answer from nsbridge $NSB_PID" "$out"
	pass "after SIGTERM: socket removed, nsbridge status $NSB_PID exits 1 with a message"
}

# --- --metrics off loopback only with --allow-nonlocal; made in --host-netns through the opener
metrics_nonlocal() {
	local out
	out=$("$NSB" --metrics "0.0.0.0:$mport" -c "netns:$ns" "host:$web" "container:$web" 2>&1)
	assert_eq "--metrics 0.0.0.0: exit" 2 "$?"
	assert_match "--metrics 0.0.0.0: message" "not a loopback address; --allow-nonlocal" "$out"
	lo_up "$outer"
	nsx "$outer" ip addr add 192.0.2.1/32 dev lo	# an address that is not 127/8 or ::1
	start_nginx "$outer" "$web" "$T/www" 127.0.0.1
	start_nsb --host-netns "/run/netns/$outer" --allow-nonlocal --metrics "192.0.2.1:$mport" \
		-c "netns:$ns" "host:$web" "container:$web"
	nsx "$ns" curl -sS --max-time 5 -o /dev/null "http://127.0.0.1:$web/" || fail "download"
	out=$(nsx "$outer" curl -sS --max-time 5 "http://192.0.2.1:$mport/metrics") || fail "GET /metrics in $outer"
	assert_match "metrics on 192.0.2.1" "nsbridge_connections_accepted_total\\{bridge=\"0\"\\} 1" "$out"
	stop_nsb TERM
	pass "--metrics 0.0.0.0 refused with exit 2; 192.0.2.1 with --allow-nonlocal, inside --host-netns"
}

check control_socket
check status_figures
check metrics
check status_text
check log_lines
stop_nsb TERM
check stopped
check metrics_nonlocal
