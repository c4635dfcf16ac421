#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# pipe_pages.sh - past the per-user pipe page limit the relay's pipes fall
# back to a smaller size, and grow back once pages are free: new pipes,
# and small ones kept for reuse, whether a connection takes them again or
# the relay finds them at rest; one log line each way, and bytes pass
# unchanged throughout
#
# fs.pipe-user-pages-soft is one setting for the whole machine, so it is
# lowered only for the moment it takes to make the relay need a new pipe
# or two, and restored however the test ends. Only processes without
# CAP_SYS_RESOURCE and CAP_SYS_ADMIN feel it; whichever user the relay
# runs as, a limit of one page is past.
. "$(dirname "$0")/lib.sh"

limit=/proc/sys/fs/pipe-user-pages-soft
[ -w "$limit" ] || skip "cannot set $limit"
old_limit=$(cat "$limit")
restore_limit() {
	[ -n "$old_limit" ] && echo "$old_limit" >"$limit"
}
at_exit restore_limit
trap 'exit 143' TERM INT HUP	# runs cleanup, and with it restore_limit

HERE=$(dirname "$(readlink -f "$0")")
PEER="python3 $HERE/tcp_peer.py"
mkns ns pipes
pick_port sport
pick_port port "$ns"
random_file "$T/blob" 32

# wait_pipes PATTERN - until the relay's pipes match PATTERN (pipe_sizes.py);
# sets pipes
wait_pipes() {
	pipes=$(python3 "$HERE/pipe_sizes.py" "$NSB_PID" "$1" | tail -n 1)
	[[ "$pipes" =~ $1 ]]
}

# wait_line FILE TEXT - until a line of FILE is TEXT (bounded)
wait_line() {
	for _ in $(seq 1 600); do
		grep -qx "$2" "$1" && return 0
		sleep 0.05
	done
	fail "no line '$2' in $1 after 30 s: $(cat "$1")"
}

# hold_kept NAME - as many clients as the relay keeps pipes, each holding
# one with bytes it does not read; their process in $holders
hold_kept() {
	bg_to "$T/holders.$1" ip netns exec "$ns" $PEER sleepers "$kept" "$port"
	holders=$BG_PID
	wait_pipes "held=$kept " || fail "the relay's pipes after $kept sleepers: $pipes"
}

bg $PEER flood "$T/blob" "$sport"
wait_listen "" "$sport"
want=$(md5sum <"$T/blob" | cut -d' ' -f1)
short=$(head -c 4096 "$T/blob" | md5sum | cut -d' ' -f1)
assert_eq "the blob, directly" "$want" "$($PEER fetch file "$sport")"

start_nsb -c "netns:$ns" "host:$sport" "container:$port"
[ "$(cap_eff "$NSB_PID")" = 0000000000000000 ] ||
	skip "the relay keeps capabilities: the pipe page limit does not apply to it"
wait_pipes "" || fail "the relay's pipes at start: $pipes"
start=$pipes
[[ "$start" =~ ^pipes=([0-9]+)\ held=0\ sizes=([0-9]+)$ ]] ||
	fail "the relay's pipes at start: $start"
kept=${BASH_REMATCH[1]}
size=${BASH_REMATCH[2]}
# a pipe its connection fills (a client that does not read) grows to
# main.c's PIPE_BULK_SIZE while the page limit allows it (pipepool.c)
bulk=1048576
[ "$kept" -gt 0 ] || fail "the relay keeps no pipes at start: $start"

# The burst, which four behaviours look at: every pipe kept is taken and
# holds bytes for a client that does not read; then, past the limit for as
# long as it takes the relay to need two new pipes, two more such clients
# (they and the watcher are started first, and the limit is restored as
# soon as the relay holds the two new pipes); then every client leaves:
# their connections are reset, their pipes closed
hold_kept burst
bg_to "$T/sleepers2.out" ip netns exec "$ns" $PEER sleepers 2 "$T/go" "$port"
sleepers2=$BG_PID
bg_to "$T/watch.out" python3 "$HERE/pipe_sizes.py" "$NSB_PID" "held=$((kept + 2)) "
watcher=$BG_PID
wait_line "$T/sleepers2.out" ready
wait_line "$T/watch.out" watching
echo 1 >"$limit"
touch "$T/go"
wait "$watcher"
held=$?
restore_limit
burst=$(tail -n 1 "$T/watch.out")
kill "$holders" "$sleepers2"
wait_pipes "^pipes=$kept held=0 sizes=$size\$"
at_rest=$pipes
cp "$NSB_LOG" "$T/burst.log"	# the log of the burst alone

falls_back() {
	[ $held = 0 ] || fail "the relay's pipes past the limit: $burst"
	[[ "$burst" =~ sizes=([0-9]+), ]] && [ "${BASH_REMATCH[1]}" -lt "$size" ] ||
		fail "new pipes past the limit are not smaller: $burst"
	pass "past the per-user page limit, new pipes fall back to a smaller size: $burst"
}

grows_back() {
	assert_eq "the relay's pipes after the burst (before it: $start)" \
		"pipes=$kept held=0 sizes=$size" "$at_rest"
	pass "pipes grow back to $size bytes after the burst: $at_rest, as at start"
}

one_line_each_way() {
	assert_eq "fall-back lines" 1 "$(grep -c "pipes cannot grow to $size bytes" "$T/burst.log")"
	assert_eq "recovery lines" 1 "$(grep -c "pipes hold $size bytes again" "$T/burst.log")"
	pass "one log line when pipes fall back, one when they grow back"
}

blob_unchanged() {
	assert_eq "the blob through nsbridge" "$want" "$(ip netns exec "$ns" $PEER fetch file "$port")"
	pass "after the burst, 32 MB through the bridge byte for byte"
}

# short_past_limit NAME - with every kept pipe held ($holders), one client
# fetches a short answer while the page limit is lowered: the relay makes
# one pipe, small, and keeps it, empty, once the client is done. The limit
# stays lowered: the caller restores it. For a check, which ends with
# past_limit_end.
short_past_limit() {
	local one
	trap past_limit_end EXIT
	hold_kept "$1"
	bg_to "$T/one.$1" ip netns exec "$ns" $PEER fetch short "$T/go.$1" "$port"
	one=$BG_PID
	wait_line "$T/one.$1" ready
	echo 1 >"$limit"
	touch "$T/go.$1"
	wait "$one"
	assert_eq "the short answer past the limit" "$short" "$(tail -n 1 "$T/one.$1")"
}
past_limit_end() {
	restore_limit
	kill "$holders" 2>/dev/null
}

# The holders stay, so the relay is never without connections and does
# not top its pool up: only a connection that takes the small pipe again
# can grow it
small_pipe_grows_on_reuse() {
	short_past_limit reuse
	restore_limit
	wait_pipes "^pipes=$((kept + 1)) held=$kept sizes=[0-9]+,$bulk\$" ||
		fail "no small pipe kept beside the $kept held, grown for bulk: $pipes"
	assert_eq "a short answer that reuses the small pipe" "$short" \
		"$(ip netns exec "$ns" $PEER fetch short "$port")"
	wait_pipes "^pipes=$((kept + 1)) held=$kept sizes=$size,$bulk\$" ||
		fail "the small pipe kept, taken again, did not grow: $pipes"
	kill "$holders"
	wait_pipes "^pipes=$kept held=0 sizes=$size\$" ||
		fail "the relay's pipes once the holders left: $pipes"
	pass "a small pipe kept for reuse grows back to $size bytes when a connection takes it again"
}

# The holders leave while the limit is still lowered: the relay, at rest,
# tops its pool up with small pipes. Once the limit is restored, nothing
# takes them: only the relay's own round at rest (a status request makes
# one) can grow them
small_pipes_grow_at_rest() {
	local watcher
	# at rest, every pipe smaller than $size (a Python pattern)
	bg_to "$T/watch.rest" python3 "$HERE/pipe_sizes.py" "$NSB_PID" \
		"^pipes=$kept held=0 sizes=(?!$size\$)[0-9]+\$"
	watcher=$BG_PID
	wait_line "$T/watch.rest" watching
	short_past_limit rest
	kill "$holders"
	wait "$watcher" ||
		fail "the relay's pipes at rest past the limit, not all small: $(tail -n 1 "$T/watch.rest")"
	restore_limit
	"$NSB" status "$NSB_PID" >/dev/null || fail "nsbridge status: exit $?"
	wait_pipes "^pipes=$kept held=0 sizes=$size\$" ||
		fail "the small pipes kept, at rest, did not grow: $pipes"
	pass "small pipes kept at rest grow back to $size bytes once pages are free"
}

check falls_back
check grows_back
check one_line_each_way
check blob_unchanged
check small_pipe_grows_on_reuse
check small_pipes_grow_at_rest

stop_nsb
assert_eq "exit status" 0 "$NSB_STATUS"
