#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# listen_fail.sh - a listen that fails is a failure, never a ready line:
# only the default EXPOSE's [::1], where the namespace has no IPv6, may be
# left out. At start: exit 1 and one line naming the address and the
# error. An add or a reload that cannot listen (the opener gone) is
# refused whole, and what was bound before serves on.
. "$(dirname "$0")/lib.sh"

mkns ns lfail
lo_up "$ns"
mkns nov6 lfnov6
lo_up "$nov6"
nsx "$nov6" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || skip "cannot turn IPv6 off in a namespace"
pick_port web "$ns" "$nov6"
pick_port exp "$ns" "$nov6"
pick_port added "$ns"
mkdir -p "$T/www" && echo "host service $web" >"$T/www/index.html"
start_nginx "" "$web" "$T/www" 127.0.0.1

# refused_at_start NS EXPOSE ADDR - nsbridge -c NS host:$web EXPOSE exits 1
# with one line that names ADDR and the kernel's error; nothing listens
refused_at_start() {
	local rc
	# the guard: a binary that took the failure for a skip would serve on
	timeout 30 "$NSB" --allow-nonlocal -c "netns:$1" "host:$web" "$2" >"$T/out" 2>"$T/err"
	rc=$?
	assert_eq "exit status of $2 ($(cat "$T/err"))" 1 "$rc"
	assert_eq "stderr lines ($(cat "$T/err"))" 1 "$(wc -l <"$T/err")"
	assert_match "the line" "^nsbridge: cannot listen on container netns:$1 $3: Cannot assign requested address$" \
		"$(cat "$T/err")"
	port_free "$1" "$exp" || fail "something listens on $exp in $1 after the refusal"
	pass "EXPOSE $2: exit 1, '$(cat "$T/err")'"
}

missing_address() {
	refused_at_start "$ns" "container:192.0.2.1:$exp" "192.0.2.1:$exp"
}

named_ipv6_without_ipv6() {
	refused_at_start "$nov6" "container:[::1]:$exp" "\[::1\]:$exp"
}

# the one address that may be left out: [::1] of a default EXPOSE
default_without_ipv6() {
	own_nsb -c "netns:$nov6" "host:$web" "container:$exp"
	assert_match "ready line" "container netns:$nov6 127\.0\.0\.1:$exp ready$" "$(cat "$NSB_LOG")"
	assert_eq "the page inside" "host service $web" \
		"$(nsx "$nov6" curl -sS --max-time 5 "http://127.0.0.1:$exp/")"
	pass "a default EXPOSE where the namespace has no IPv6: ready on 127.0.0.1 alone, and serves"
}

# opener_gone ARGS... - inside a check: nsbridge ARGS, its opener killed
opener_gone() {
	local opener
	own_nsb "$@"
	opener=$(pgrep -P "$NSB_PID" -x nsbridge-opener) || fail "no opener child of nsbridge $NSB_PID"
	kill -KILL "$opener"
	wait_until "end of the opener" 30 gone "$opener"
}

# still_serves - the bridge bound before the opener died answers inside
still_serves() {
	assert_eq "the bridge bound before, inside" "host service $web" \
		"$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$exp/")"
}

add_without_opener() {
	local out rc
	opener_gone -c "netns:$ns" "host:$web" "container:$exp"
	out=$("$NSB" add "$NSB_PID" "host:$web" "container:$added" 2>&1)
	rc=$?
	[ "$rc" != 0 ] || fail "nsbridge add without the opener: exit 0 ($out)"
	[ "$(wc -l <<<"$out")" = 1 ] || fail "nsbridge add without the opener: more than one line: $out"
	[[ "$out" != *ready* ]] || fail "nsbridge add without the opener says ready: $out"
	port_free "$ns" "$added" || fail "something listens on $added after the refused add"
	alive "$NSB_PID" || fail "nsbridge exited"
	still_serves
	pass "nsbridge add once the opener is gone: exit $rc, '$out'; the bridge bound before serves on"
}

reload_lines() {
	grep -Ec 'reloaded|reload of .* refused' "$NSB_LOG"
}
more_reload_lines() {
	[ "$(reload_lines)" -gt "$1" ]
}

reload_without_opener() {
	local before
	cat >"$T/c.conf" <<-EOF
	container = "netns:$ns";
	bridges = ( { service = "host:$web"; expose = "container:$exp"; } );
	EOF
	NSB_READY=1 opener_gone --config "$T/c.conf"
	cat >"$T/c.conf" <<-EOF
	container = "netns:$ns";
	bridges = ( { service = "host:$web"; expose = "container:$exp"; },
	            { service = "host:$web"; expose = "container:$added"; } );
	EOF
	before=$(reload_lines)
	kill -HUP "$NSB_PID"
	# (the count is read again at each try: a $(...) here would be read once)
	wait_until "the reload's line" 30 more_reload_lines "$before"
	grep -q "reload of .* refused" "$NSB_LOG" ||
		fail "a reload that cannot listen is not refused: $(tail -n 2 "$NSB_LOG")"
	port_free "$ns" "$added" || fail "something listens on $added after the refused reload"
	still_serves
	pass "a reload that adds a bridge once the opener is gone: refused whole, '$(grep -o "reload of .* refused.*" "$NSB_LOG" | tail -n 1)'"
}

check missing_address
check named_ipv6_without_ipv6
check default_without_ipv6
check add_without_opener
check reload_without_opener
