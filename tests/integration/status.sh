#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# status.sh - the control socket with nsbridge status, --metrics, and the
# per-connection lines of --log-format json: the same figures three ways
. "$(dirname "$0")/lib.sh"

SIZE=100000

mkns ns status
pick_port web "$ns"
pick_port dead "$ns"
pick_port mport
pick_port udp "$ns"
bg python3 "$(dirname "$0")/udp_peer.py" echo "$udp"
mkdir -p "$T/www" && head -c "$SIZE" /dev/urandom >"$T/www/index.html"
start_nginx "" "$web" "$T/www" 127.0.0.1

# a socket left by a killed nsbridge: pid 4194303 is above any pid_max default
mkdir -p /run/nsbridge
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
	/run/nsbridge/4194303.sock

start_nsb -v --log-format json --metrics "127.0.0.1:$mport" -c "netns:$ns" \
	"host:$web" "container:$web" "host:$dead" "container:$dead" \
	"host:$udp/udp" "container:$udp/udp"

# --- the control socket: path in the log, 0600, the stale one gone
sock=$(grep -o '"msg":"control socket [^ ]*' "$NSB_LOG" | sed 's/.*control socket //')
assert_eq "control socket path" "/run/nsbridge/$NSB_PID.sock" "$sock"
[ -S "$sock" ] || fail "$sock is not a socket"
assert_eq "control socket mode" 600 "$(stat -c %a "$sock")"
[ -e /run/nsbridge/4194303.sock ] && fail "the stale socket of a dead pid is still there"
pass "control socket $sock, mode 0600, printed at start; a dead process's socket removed"

# --- traffic: three downloads, two refused, one connection held open
for _ in 1 2 3; do
	n=$(nsx "$ns" curl -sS --max-time 5 -o /dev/null -w '%{size_download}' "http://127.0.0.1:$web/") ||
		fail "download through the bridge"
	assert_eq "bytes downloaded" "$SIZE" "$n"
done
for _ in 1 2; do
	nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$dead/" >/dev/null 2>&1 &&
		fail "a connection to a port nothing listens on succeeded"
done
out=$(nsx "$ns" python3 "$(dirname "$0")/udp_peer.py" ask "$udp" aaaa bbbbbb) || fail "UDP through the bridge"
assert_eq "UDP answers" "aaaa bbbbbb" "$(echo $out)"
bg ip netns exec "$ns" python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(60)' "$web"
holder=$BG_PID
# held_open - the relay has accepted the held connection and counts it open
held_open() {
	"$NSB" status --json "$NSB_PID" |
		python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)[0]["bridges"][0]["open"] != 1)'
}
wait_until "the held connection open in nsbridge status" 10 held_open

# --- nsbridge status --json: read it once, then the metrics, with no traffic between
"$NSB" status --json "$NSB_PID" >"$T/status.json" || fail "nsbridge status --json exit $?"
curl -sS --max-time 5 "http://127.0.0.1:$mport/metrics" >"$T/metrics.txt" || fail "GET /metrics"
python3 - "$T/status.json" "$NSB_PID" "$SIZE" <<'EOF' || fail "status --json: see above"
import json, sys
docs = json.load(open(sys.argv[1]))
pid, size = int(sys.argv[2]), int(sys.argv[3])
assert len(docs) == 1 and docs[0]["pid"] == pid, docs
doc = docs[0]
assert doc["container_running"] is True, doc
web, dead, udp = doc["bridges"]
want = {"open": 1, "accepted": 4, "refused": 0, "last_error": None}
for k, v in want.items():
    assert web[k] == v, f"web bridge {k}: {web[k]!r}, expected {v!r}"
assert 3 * size < web["bytes_to_client"] < 3 * size + 3 * 1024, web
assert 3 * 50 < web["bytes_to_service"] < 3 * 1024, web
want = {"open": 0, "accepted": 2, "refused": 2, "bytes_to_service": 0, "bytes_to_client": 0}
for k, v in want.items():
    assert dead[k] == v, f"dead bridge {k}: {dead[k]!r}, expected {v!r}"
assert "refused the connection" in dead["last_error"]["message"], dead

want = {"proto": "udp", "open": 1, "accepted": 1, "refused": 0, "dropped": 0,
        "bytes_to_service": 10, "bytes_to_client": 10}
for k, v in want.items():
    assert udp[k] == v, f"udp bridge {k}: {udp[k]!r}, expected {v!r}"
EOF
pass "status --json: 4 accepted and 1 open, 3 x $SIZE bytes to the client, 2 refused with the error, a UDP flow's 10 bytes each way"

# --- the same figures in the Prometheus text
metric() {	# NAME BRIDGE [DIRECTION]: the sample's value
	local sel="bridge=\"$2\""
	awk -v n="$1" -v sel="$sel" -v dir="${3:+direction=\"$3\"}" \
		'index($0, n "{") == 1 && index($0, sel) && (dir == "" || index($0, dir)) { print $NF }' \
		"$T/metrics.txt"
}
json_of() {	# BRIDGE KEY: the figure from status --json
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["bridges"][int(sys.argv[2])][sys.argv[3]])' \
		"$T/status.json" "$1" "$2"
}
assert_eq "nsbridge_open web" 1 "$(metric nsbridge_open 0)"
assert_eq "nsbridge_accepted_total web" 4 "$(metric nsbridge_accepted_total 0)"
assert_eq "nsbridge_refused_total dead" 2 "$(metric nsbridge_refused_total 1)"
assert_eq "bytes to the client, metrics and status" "$(json_of 0 bytes_to_client)" \
	"$(metric nsbridge_bytes_total 0 to_client)"
assert_eq "bytes to the service, metrics and status" "$(json_of 0 bytes_to_service)" \
	"$(metric nsbridge_bytes_total 0 to_service)"
[ "$(metric nsbridge_last_error_timestamp_seconds 1)" -gt 0 ] || fail "no time of the last error"
assert_eq "UDP datagrams dropped" 0 "$(metric nsbridge_dropped_total 2)"
assert_eq "no dropped datagrams metric for TCP" "" "$(metric nsbridge_dropped_total 0)"
grep -q '^# TYPE nsbridge_bytes_total counter$' "$T/metrics.txt" || fail "no TYPE line"
assert_eq "GET /other" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/other")"
assert_eq "POST /metrics" 405 \
	"$(curl -sS -o /dev/null -w '%{http_code}' -d x "http://127.0.0.1:$mport/metrics")"
pass "--metrics: the same counts and bytes as status; 404 elsewhere, 405 for POST"

# --- the text form, for people; and every nsbridge when no PID is given
out=$("$NSB" status) || fail "nsbridge status exit $?"
assert_match "status: the process" "nsbridge $NSB_PID \\(/run/nsbridge/$NSB_PID.sock\\), up [0-9]+s, container netns:$ns running" "$out"
assert_match "status: the web bridge" "host 127.0.0.1:$web -> container netns:$ns 127.0.0.1:$web" "$out"
assert_match "status: its counts" "open 1, accepted 4, refused 0; [0-9.]+ [B-]+ to service, 29[0-9.]+ KiB to client" "$out"
assert_match "status: the refused bridge" "open 0, accepted 2, refused 2; 0 B to service, 0 B to client" "$out"
assert_match "status: the last error" "last error [0-9]+s ago: host 127.0.0.1:$dead refused the connection" "$out"
pass "nsbridge status: one line per process, counts and last error per bridge"

# --- JSON log lines: every line an object; one close line per download, with its figures
kill "$holder"
web_open() {	# true once the web bridge has no connection open
	"$NSB" status --json "$NSB_PID" | python3 -c \
		'import json, sys; sys.exit(json.load(sys.stdin)[0]["bridges"][0]["open"] != 0)'
}
wait_until "end of the holder's connection" 30 web_open
python3 - "$NSB_LOG" "$web" "$dead" "$SIZE" "$(json_of 0 bytes_to_client)" <<'EOF' || fail "JSON log: see above"
import json, re, sys
log, web, dead, size, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
lines = []
for l in open(log):                         # every line must parse
    if l.startswith("=="):
        continue                                # valgrind's own notes, in the valgrind suite
    try:
        lines.append(json.loads(l))
    except ValueError:
        raise AssertionError(f"not JSON: {l!r}")
lines = [l for l in lines if "conn" in l]       # TCP connections; UDP flows have "flow"
ends = [l for l in lines if l.get("event") in ("close", "reset")]
web_ends = [l for l in ends if l["service"] == f"host 127.0.0.1:{web}"]
dead_ends = [l for l in ends if l["service"] == f"host 127.0.0.1:{dead}"]
assert len(web_ends) == 4, web_ends         # three downloads and the holder
assert len(dead_ends) == 2 and all(l["event"] == "reset" for l in dead_ends), dead_ends
for l in web_ends + dead_ends:
    for key in ("conn", "client", "expose", "service", "bytes_to_service",
                "bytes_to_client", "duration_ms"):
        assert key in l, (key, l)
    assert re.fullmatch(r"127\.0\.0\.1:\d+", l["client"]), l
    assert l["level"] == "debug" and str(l["conn"]) in l["msg"], l
downloads = [l for l in web_ends if l["bytes_to_client"] > 0]
assert len(downloads) == 3 and all(size < l["bytes_to_client"] for l in downloads), downloads
assert sum(l["bytes_to_client"] for l in web_ends) == total, (web_ends, total)
ids = [l["conn"] for l in ends]
assert len(set(ids)) == len(ids), ids
opens = {l["conn"] for l in lines if l.get("event") == "open"}
assert opens == set(ids), (opens, ids)
EOF
pass "JSON log: one open and one close object per connection, with id, endpoints, bytes and duration"

# --- stop: the socket goes, and status says nothing runs
stop_nsb TERM
assert_eq "exit status" 0 "$NSB_STATUS"
[ -e "$sock" ] && fail "$sock left behind after exit"
python3 - "$NSB_LOG" <<'EOF' || fail "JSON log of the UDP flow: see above"
import json, sys
flows = [json.loads(l) for l in open(sys.argv[1]) if '"flow":' in l]
assert [f["event"] for f in flows] == ["open", "close"], flows
assert flows[1]["bytes_to_service"] == flows[1]["bytes_to_client"] == 10, flows
assert flows[0]["client"] == flows[1]["client"] and "duration_ms" in flows[1], flows
EOF
out=$("$NSB" status "$NSB_PID" 2>&1)
assert_eq "status of a stopped nsbridge: exit" 1 "$?"
assert_match "status of a stopped nsbridge: message" "no answer from nsbridge $NSB_PID" "$out"
pass "after SIGTERM: socket removed, nsbridge status $NSB_PID exits 1 with a message"

# --- --metrics off loopback only with --allow-nonlocal; made in --host-netns through the opener
out=$("$NSB" --metrics "0.0.0.0:$mport" -c "netns:$ns" "host:$web" "container:$web" 2>&1)
assert_eq "--metrics 0.0.0.0: exit" 2 "$?"
assert_match "--metrics 0.0.0.0: message" "not a loopback address; --allow-nonlocal" "$out"
mkns outer status-outer
lo_up "$outer"
nsx "$outer" ip addr add 192.0.2.1/32 dev lo	# an address that is not 127/8 or ::1
start_nginx "$outer" "$web" "$T/www" 127.0.0.1
start_nsb --host-netns "/run/netns/$outer" --allow-nonlocal --metrics "192.0.2.1:$mport" \
	-c "netns:$ns" "host:$web" "container:$web"
nsx "$ns" curl -sS --max-time 5 -o /dev/null "http://127.0.0.1:$web/" || fail "download"
out=$(nsx "$outer" curl -sS --max-time 5 "http://192.0.2.1:$mport/metrics") || fail "GET /metrics in $outer"
assert_match "metrics on 192.0.2.1" "nsbridge_accepted_total\\{bridge=\"0\"[^}]*\\} 1" "$out"
stop_nsb TERM
pass "--metrics 0.0.0.0 refused with exit 2; 192.0.2.1 with --allow-nonlocal, inside --host-netns"
