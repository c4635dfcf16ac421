#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# multi.sh - several pairs, both directions and a port range in one process
. "$(dirname "$0")/lib.sh"

mkns ns multi
lo_up "$ns"
pick_port a "$ns"
pick_port b "$ns"
pick_port b_exp "$ns"
pick_range svc 5 "$ns"
pick_range exp 5 "$ns"

# answer(NS, PORT): a server that says which port it is
answer() {
	if [ -n "$1" ]; then
		bg ip netns exec "$1" socat TCP-LISTEN:"$2",bind=127.0.0.1,reuseaddr,fork SYSTEM:"echo port $2"
	else
		bg socat TCP-LISTEN:"$2",bind=127.0.0.1,reuseaddr,fork SYSTEM:"echo port $2"
	fi
	wait_listen "$1" "$2"
}

answer "" "$a"
answer "$ns" "$b"
for i in 0 1 2 3 4; do
	answer "" $((svc + i))
done

start_nsb -c "netns:$ns" "host:$a" "container:$a" "container:$b" "host:$b_exp" \
	"host:$svc-$((svc + 4))" "container:$exp-$((exp + 4))"

# ask(NS, PORT): what the server behind PORT says
ask() {
	if [ -n "$1" ]; then
		ip netns exec "$1" socat -T 5 - TCP:127.0.0.1:"$2" </dev/null
	else
		socat -T 5 - TCP:127.0.0.1:"$2" </dev/null
	fi
}

# every bridge, each port of the range to its counterpart, three times over
each_to_its_counterpart() {
	local i
	assert_eq "ready lines" 3 "$(grep -c ' ready$' "$NSB_LOG")"
	assert_match "range ready line" \
		"host 127.0.0.1:$svc-$((svc + 4)) -> container netns:$ns 127.0.0.1:$exp-$((exp + 4))" \
		"$(cat "$NSB_LOG")"
	for _ in 1 2 3; do
		assert_eq "host -> container pair" "port $a" "$(ask "$ns" "$a")"
		assert_eq "container -> host pair" "port $b" "$(ask "" "$b_exp")"
		for i in 0 1 2 3 4; do
			assert_eq "range port $((exp + i))" "port $((svc + i))" "$(ask "$ns" $((exp + i)))"
		done
	done
	pass "3 bridges (one a 5-port range) in one process, both directions, each port to its counterpart"
}

one_thread() {
	assert_eq "threads of nsbridge" 1 "$(awk '/^Threads:/ { print $2 }' "/proc/$NSB_PID/status")"
	pass "one thread, $(fd_count "$NSB_PID") fds"
}

check each_to_its_counterpart
check one_thread
