#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# status_watch.sh - nsbridge status --watch: on a terminal, a frame every
# INTERVAL over the last, the second with the rates of a transfer that
# runs and a mark on the bridge that moved; plain frames under a time
# stamp when stdout is a file; a clean exit on Ctrl-C, and when the
# watched nsbridge exits
#
# The terminal is a pseudo-terminal (watch_peer.py tty), as a shell's.
# The transfer is a trickle of 1 KiB every 20 ms through the bridge to an
# echo service, running for as long as the frames are read.
. "$(dirname "$0")/lib.sh"

HERE=$(dirname "$(readlink -f "$0")")
PEER="python3 $HERE/watch_peer.py"
CLEAR=$'\e[H\e[2J'

mkns ns watch
pick_port echo "$ns"
bg socat "TCP-LISTEN:$echo,bind=127.0.0.1,fork,reuseaddr" EXEC:cat
wait_listen "" "$echo"
start_nsb -c "netns:$ns" "host:$echo" "container:$echo"
bg ip netns exec "$ns" $PEER trickle "$echo" "$T/stop"
trickle=$BG_PID

# frames FILE - how many frames a terminal run has drawn
frames() {
	grep -oF "$CLEAR" "$1" 2>/dev/null | wc -l
}
# frame FILE N - the Nth frame of a terminal run, without the escapes and
# the terminal's carriage returns
frame() {
	awk -v RS='\033\\[H\033\\[2J' -v n="$2" 'NR == n + 1' "$1" | tr -d '\r'
}

_has_frames() {	# FILE N: a terminal run has drawn N frames or more
	[ "$(frames "$1")" -ge "$2" ]
}
_has_stamps() {	# FILE N: a plain run has written N frames or more
	[ "$(grep -c '^--- ' "$1" 2>/dev/null)" -ge "$2" ]
}

on_a_terminal() {
	local second
	second=$(frame "$T/tty.out" 2)
	printf '%s\n' "$second" >&2
	assert_match "the title" "^every 1s, Ctrl-C to stop" "$second"
	assert_match "the process line" "nsbridge $NSB_PID \\(/run/nsbridge/$NSB_PID.sock\\), up " "$second"
	assert_match "the bridge, marked as moved" $'\n\\* host 127.0.0.1:'"$echo -> container" "$second"
	assert_match "a rate of bytes each way" \
		"now: [0-9.]+ connections/s, 0.0 refused/s; [1-9][0-9.]* (B|KiB|MiB)/s to service, [1-9][0-9.]* (B|KiB|MiB)/s to client" \
		"$second"
	pass "--watch 1s on a terminal: frames over each other, the second with bytes/s each way and the bridge marked"
}

exits_with_nsbridge() {
	assert_eq "exit status of --watch" 0 "$watch_status"
	assert_match "its last line" "nsbridge $watched has exited" "$(tail -n 1 "$T/tty.out" | tr -d '\r')"
	pass "--watch exits 0 when the nsbridge it watches exits, and says so"
}

into_a_file() {
	local out=$T/plain.out
	assert_eq "exit status after SIGINT" 0 "$watch_status"
	grep -q $'\e' "$out" && fail "escape sequences in a file: $(cat -v "$out")"
	assert_match "a time stamp" '^--- [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{4}$' \
		"$(head -n 1 "$out")"
	grep -q "^  host 127.0.0.1:$echo -> container" "$out" || fail "no bridge line: $(cat "$out")"
	pass "--watch into a file: plain frames under a time stamp, exit 0 on SIGINT"
}

# on a terminal, while the trickle runs; then nsbridge stops under it
bg $PEER tty "$T/tty.out" "$NSB" status --watch 1s "$NSB_PID"
watch=$BG_PID
watched=$NSB_PID
wait_until "two frames on the terminal" 30 _has_frames "$T/tty.out" 2
check on_a_terminal
touch "$T/stop"
wait "$trickle"
stop_nsb
wait_exit "$watch" 30
watch_status=$EXIT_STATUS
check exits_with_nsbridge

# into a file, stopped by Ctrl-C's signal
start_nsb -c "netns:$ns" "host:$echo" "container:$echo"
bg "$NSB" status --watch 1s "$NSB_PID" >"$T/plain.out"
watch=$BG_PID
wait_until "two frames in the file" 30 _has_stamps "$T/plain.out" 2
kill -INT "$watch"
wait_exit "$watch" 30
watch_status=$EXIT_STATUS
check into_a_file
