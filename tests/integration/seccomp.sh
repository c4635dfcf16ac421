#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# seccomp.sh - the relay runs under a system call filter; a forbidden call kills it, logged
#
# The forbidden call is made by the running relay itself: gdb attaches and
# calls mount(2) from wherever the loop waits, as a bug in nsbridge would.
# Were it let through, it would fail (the relay holds no capability) and
# the relay would run on: wait_exit would fail.
. "$(dirname "$0")/lib.sh"

command -v gdb >/dev/null || skip "gdb is not installed (it makes the relay call mount)"
ulimit -c 0	# SIGSYS dumps core by default: not here
SIGSYS_STATUS=$((128 + $(kill -l SYS)))
LINE_RE='seccomp: forbidden system call mount \([0-9]+\); this is a bug in nsbridge, please report it'

# status_field PID FIELD - a field of /proc/PID/status
status_field() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# call_mount PID - have process PID call mount(2), through gdb
call_mount() {
	gdb -p "$1" -batch -nx -iex 'set debuginfod enabled off' \
		-ex 'handle SIGSYS nostop noprint pass' \
		-ex 'set $mount = (int (*)(char *, char *, char *, unsigned long, void *))mount' \
		-ex 'call $mount(0, 0, 0, 0, 0)' >"$T/gdb.out" 2>&1
}

mkns ns filter
pick_port port "$ns"
mkdir -p "$T/www" && echo "hello through the filter $port" >"$T/www/index.html"
random_file "$T/www/big" 8
start_nginx "" "$port" "$T/www"

start_nsb -c "netns:$ns" "host:$port" "container:$port"
assert_eq "Seccomp of the relay" 2 "$(status_field "$NSB_PID" Seccomp)"
assert_eq "NoNewPrivs of the relay" 1 "$(status_field "$NSB_PID" NoNewPrivs)"
assert_eq "CapEff of the relay" 0000000000000000 "$(cap_eff "$NSB_PID")"
opener=$(for pid in $(cat "/proc/$NSB_PID/task/$NSB_PID/children"); do
	[ "$(cat "/proc/$pid/comm")" = nsbridge-opener ] && echo "$pid"; done)
assert_match "one opener among the children" '^[0-9]+$' "$opener"
assert_eq "Seccomp of the opener" 0 "$(status_field "$opener" Seccomp)"
pass "the relay runs filtered (Seccomp: 2) with no_new_privs and no capability; the opener unfiltered"

body=$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$port/") || fail "curl through the bridge"
assert_eq "body" "hello through the filter $port" "$body"
nsx "$ns" curl -sS --max-time 20 -o "$T/got" "http://[::1]:$port/big" || fail "curl of 8 MiB"
cmp -s "$T/www/big" "$T/got" || fail "8 MiB through the bridge differ"
assert_eq "Seccomp after traffic" 2 "$(status_field "$NSB_PID" Seccomp)"
pass "traffic relays under the filter: a page, and 8 MiB byte for byte"

call_mount "$NSB_PID"
wait_exit "$NSB_PID" 10
assert_eq "exit status: killed by SIGSYS" "$SIGSYS_STATUS" "$EXIT_STATUS"
assert_match "the log line" "^nsbridge: $LINE_RE\$" "$(grep "forbidden system call" "$NSB_LOG")"
for _ in $(seq 1 100); do
	kill -0 "$opener" 2>/dev/null || break
	sleep 0.05
done
kill -0 "$opener" 2>/dev/null && fail "the opener outlived the relay"
port_free "$ns" "$port" || fail "a listener left in the namespace"
pass "mount(2) in the running relay: killed by SIGSYS, the call named in the log, opener gone"

# --log-format json: the same line as a JSON object, like every other
: >"$NSB_LOG"
bg "$NSB" --log-format json -c "netns:$ns" "host:$port" "container:$port" 2>>"$NSB_LOG"
NSB_PID=$BG_PID
for _ in $(seq 1 200); do
	grep -q ' ready"' "$NSB_LOG" && break
	sleep 0.05
done
grep -q ' ready"' "$NSB_LOG" || fail "no JSON ready message in 10 s"
call_mount "$NSB_PID"
wait_exit "$NSB_PID" 10
assert_eq "exit status with JSON logs" "$SIGSYS_STATUS" "$EXIT_STATUS"
msg=$(python3 -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    assert {"time", "level", "msg"} <= o.keys(), line
    if "forbidden system call" in o["msg"]:
        assert isinstance(o["time"], float), line
        print(o["level"], o["msg"])
' <"$NSB_LOG") || fail "stderr is not one JSON object per line: $(cat "$NSB_LOG")"
assert_match "the JSON message" "^error $LINE_RE\$" "$msg"
pass "with --log-format json the line is a JSON object at level error"
