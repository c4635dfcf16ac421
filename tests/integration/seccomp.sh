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

# opener_of PID - the nsbridge-opener children of nsbridge PID
opener_of() {
	local pid
	for pid in $(cat "/proc/$1/task/$1/children"); do
		[ "$(cat "/proc/$pid/comm")" = nsbridge-opener ] && echo "$pid"
	done
}

# call_mount PID - have process PID call mount(2), through gdb
call_mount() {
	gdb -p "$1" -batch -nx -iex 'set debuginfod enabled off' \
		-ex 'handle SIGSYS nostop noprint pass' \
		-ex 'set $mount = (int (*)(char *, char *, char *, unsigned long, void *))mount' \
		-ex 'call $mount(0, 0, 0, 0, 0)' >"$T/gdb.out" 2>&1
}

# the bridge the first behaviours look at; those that kill a relay start their own
mkns ns filter
pick_port port "$ns"
pick_port killed "$ns"
pick_port json "$ns"
mkdir -p "$T/www" && echo "hello through the filter $port" >"$T/www/index.html"
random_file "$T/www/big" 8
start_nginx "" "$port" "$T/www"
start_nsb -c "netns:$ns" "host:$port" "container:$port"

runs_filtered() {
	local opener
	assert_eq "Seccomp of the relay" 2 "$(status_field "$NSB_PID" Seccomp)"
	assert_eq "NoNewPrivs of the relay" 1 "$(status_field "$NSB_PID" NoNewPrivs)"
	assert_eq "CapEff of the relay" 0000000000000000 "$(cap_eff "$NSB_PID")"
	opener=$(opener_of "$NSB_PID")
	assert_match "one opener among the children" '^[0-9]+$' "$opener"
	assert_eq "Seccomp of the opener" 0 "$(status_field "$opener" Seccomp)"
	pass "the relay runs filtered (Seccomp: 2) with no_new_privs and no capability; the opener unfiltered"
}

relays_filtered() {
	local body
	body=$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$port/") || fail "curl through the bridge"
	assert_eq "body" "hello through the filter $port" "$body"
	nsx "$ns" curl -sS --max-time 20 -o "$T/got" "http://[::1]:$port/big" || fail "curl of 8 MiB"
	cmp -s "$T/www/big" "$T/got" || fail "8 MiB through the bridge differ"
	assert_eq "Seccomp after traffic" 2 "$(status_field "$NSB_PID" Seccomp)"
	pass "traffic relays under the filter: a page, and 8 MiB byte for byte"
}

mount_kills() {
	local opener
	NSB_LOG=$T/killed.log
	start_nsb -c "netns:$ns" "host:$killed" "container:$killed"
	opener=$(opener_of "$NSB_PID")
	assert_match "one opener among the children" '^[0-9]+$' "$opener"
	call_mount "$NSB_PID"
	wait_exit "$NSB_PID" 10
	assert_eq "exit status: killed by SIGSYS" "$SIGSYS_STATUS" "$EXIT_STATUS"
	assert_match "the log line" "^nsbridge: $LINE_RE\$" "$(grep "forbidden system call" "$NSB_LOG")"
	wait_until "the opener's end after the relay's" 30 gone "$opener"
	port_free "$ns" "$killed" || fail "a listener left in the namespace"
	pass "mount(2) in the running relay: killed by SIGSYS, the call named in the log, opener gone"
}

json_line() {
	local msg
	NSB_LOG=$T/json.log
	start_nsb --log-format json -c "netns:$ns" "host:$json" "container:$json"
	call_mount "$NSB_PID"
	wait_exit "$NSB_PID" 10
	assert_eq "exit status with JSON logs" "$SIGSYS_STATUS" "$EXIT_STATUS"
	msg=$(python3 "$(dirname "$0")/json_check.py" log "$NSB_LOG" "forbidden system call") ||
		fail "stderr is not one JSON object per line: $(cat "$NSB_LOG")"
	assert_match "the JSON message" "^error $LINE_RE\$" "$msg"
	pass "with --log-format json the line is a JSON object at level error"
}

check runs_filtered
check relays_filtered
check mount_kills
check json_line
