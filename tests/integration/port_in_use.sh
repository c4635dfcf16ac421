#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# port_in_use.sh - EXPOSE taken: exit 3 naming address, namespace and holder
. "$(dirname "$0")/lib.sh"

mkns ns inuse
lo_up "$ns"
pick_port port "$ns"
pick_port free "$ns"

# the holder: socat listening inside the namespace on the port nsbridge wants
bg ip netns exec "$ns" socat TCP-LISTEN:"$port",bind=127.0.0.1,reuseaddr,fork SYSTEM:true
wait_listen "$ns" "$port"
holder=$(ip netns pids "$ns" | head -1)
assert_eq "holder's command" socat "$(cat "/proc/$holder/comm")"

container_side() {
	"$NSB" -c "netns:$ns" "host:$free" "container:$free" "host:$port" "container:$port" 2>"$T/err"
	assert_eq "exit status" 3 "$?"
	assert_match "message" "container netns:$ns 127\.0\.0\.1:$port is already in use by pid $holder \(socat\)" "$(cat "$T/err")"
	assert_eq "lines on stderr" 1 "$(wc -l <"$T/err")"
	port_free "$ns" "$free" || fail "the first bridge's listener outlived the failed start"
	pass "exit 3: $(cat "$T/err")"
}

# the same on the host side of a reverse bridge
host_side() {
	bg socat TCP-LISTEN:"$free",bind=127.0.0.1,reuseaddr,fork SYSTEM:true
	wait_listen "" "$free"
	"$NSB" -c "netns:$ns" "container:$port" "host:$free" 2>"$T/err"
	assert_eq "exit status (host side)" 3 "$?"
	assert_match "message (host side)" "host 127\.0\.0\.1:$free is already in use by pid $BG_PID \(socat\)" \
		"$(cat "$T/err")"
	pass "exit 3: $(cat "$T/err")"
}

check container_side
check host_side
