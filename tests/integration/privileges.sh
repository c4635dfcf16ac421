#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# privileges.sh - no capability after set-up; exit 5 without CAP_SYS_ADMIN; the opener child
. "$(dirname "$0")/lib.sh"

# the options are those on the command lines below, not the caller's
# shellcheck disable=SC2046
unset $(compgen -v NSBRIDGE_)

command -v capsh >/dev/null || skip "capsh (libcap2-bin) is not installed"
command -v setpriv >/dev/null || skip "setpriv is not installed"

# status_field PID NAME - a field of /proc/PID/status
status_field() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# opener_of PID - the pid of the nsbridge-opener child of PID
opener_of() {
	pgrep -P "$1" -x nsbridge-opener
}

# wait_gone PID - until PID no longer runs (gone, or a zombie awaiting its reaper)
wait_gone() {
	wait_until "end of process $1 ($(cat "/proc/$1/comm" 2>/dev/null)) after nsbridge's" 30 gone "$1"
}

# (a) a SERVICE inside the namespace, EXPOSE here: every connection needs a
# socket made in the namespace, long after the relay dropped everything
mkns ns priv
mkns bare privbare
lo_up "$ns"
pick_port svc "$ns"
pick_port exp "$ns"
pick_port exp2 "$ns"	# for the checks that stop their own nsbridge
pick_port p "$bare"
mkdir -p "$T/www" && echo "served inside $ns" >"$T/www/index.html"
start_nginx "$ns" "$svc" "$T/www" 127.0.0.1
start_nsb -c "netns:$ns" "container:$svc" "host:$exp"
my_caps=$((16#$(status_field $$ CapEff)))
mkdir -p "$T/bin" && cp "$NSB" "$T/bin/nsbridge" && chmod 755 "$T/bin" "$T/bin/nsbridge"
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all)

relay_caps() {
	assert_eq "relay CapEff" 0000000000000000 "$(status_field "$NSB_PID" CapEff)"
	assert_eq "relay CapPrm" 0000000000000000 "$(status_field "$NSB_PID" CapPrm)"
	assert_eq "relay CapInh" 0000000000000000 "$(status_field "$NSB_PID" CapInh)"
	assert_eq "relay CapAmb" 0000000000000000 "$(status_field "$NSB_PID" CapAmb)"
	# the bounding set can only shrink with CAP_SETPCAP (bit 8), which root has here
	if ((my_caps & (1 << 8))); then
		assert_eq "relay CapBnd" 0000000000000000 "$(status_field "$NSB_PID" CapBnd)"
	fi
	assert_eq "relay NoNewPrivs" 1 "$(status_field "$NSB_PID" NoNewPrivs)"
	pass "relay after set-up: CapEff, CapPrm, CapInh, CapAmb and CapBnd 0, NoNewPrivs 1"
}

# 150 requests, each on a new connection (Connection: close), one after
# the other: several times the 32 sockets made before the drop
sequential_connections() {
	local size out body
	size=$(stat -c %s "$T/www/index.html")
	out=$(curl -s --max-time 60 -H 'Connection: close' -o /dev/null \
		-w '%{http_code} %{num_connects} %{size_download}\n' "http://127.0.0.1:$exp/?n=[1-150]")
	assert_eq "150 sequential requests (code, new connection, bytes)" 150 \
		"$(grep -cx "200 1 $size" <<<"$out")"
	body=$(curl -sS --max-time 5 "http://127.0.0.1:$exp/") || fail "request 151"
	assert_eq "body of request 151" "served inside $ns" "$body"
	assert_eq "relay CapEff after 151 connections" 0000000000000000 "$(status_field "$NSB_PID" CapEff)"
	pass "151 sequential connections into the namespace, all served, relay still without capabilities"
}

# (d) the opener: a child named nsbridge-opener, keeping only what making
# sockets in a namespace needs (SYS_ADMIN, SYS_PTRACE, NET_ADMIN, NET_BIND_SERVICE)
# start_with_opener - inside a check: an nsbridge of its own (its log too:
# the setup's nsbridge still writes to its own), and its opener in $opener
start_with_opener() {
	NSB_LOG=$T/${FUNCNAME[1]}.log
	own_nsb -c "netns:$ns" "container:$svc" "host:$exp2"
	opener=$(opener_of "$NSB_PID")
	[ -n "$opener" ] || fail "no nsbridge-opener child of nsbridge $NSB_PID"
}

opener_child() {
	local opener
	start_with_opener
	assert_eq "opener children" 1 "$(wc -w <<<"$opener")"
	assert_eq "opener CapEff" "$(printf %016x $((my_caps & 0x281400)))" "$(status_field "$opener" CapEff)"
	assert_eq "opener NoNewPrivs" 1 "$(status_field "$opener" NoNewPrivs)"
	stop_nsb TERM
	assert_eq "exit status" 0 "$NSB_STATUS"
	wait_gone "$opener"
	pass "opener $opener ran as a child with 4 capabilities; gone after nsbridge exited 0"
}

opener_after_sigkill() {
	local opener
	start_with_opener
	kill -KILL "$NSB_PID"
	wait "$NSB_PID" 2>/dev/null
	wait_gone "$opener"
	port_free "" "$exp2" || fail "listener left after nsbridge was killed"
	pass "opener gone after nsbridge was killed with SIGKILL"
}

# (b) without CAP_SYS_ADMIN: exit 5, naming it and how to grant it
without_sys_admin() {
	local rc
	capsh --drop=cap_sys_admin -- -c "exec $NSB -c netns:$bare host:$p container:$p" \
		>"$T/out" 2>"$T/err"
	rc=$?
	assert_eq "exit status without CAP_SYS_ADMIN ($(cat "$T/err"))" 5 "$rc"
	assert_eq "stderr lines ($(cat "$T/err"))" 1 "$(wc -l <"$T/err")"
	assert_match "message" "^nsbridge: entering container netns:$bare needs CAP_SYS_ADMIN; .*setcap cap_sys_admin[a-z_,]*\+ep" \
		"$(cat "$T/err")"
	assert_eq "stdout" "" "$(cat "$T/out")"
	assert_match "lo untouched" "state DOWN" "$(nsx "$bare" ip -o link show lo)"
	pass "capsh --drop=cap_sys_admin: exit 5, '$(cat "$T/err")'"
}

# (c) a user without any capability
as_nobody() {
	local args rc
	for args in "host:$p container:$p" "container:$p host:$p"; do
		# shellcheck disable=SC2086
		"${nobody[@]}" "$T/bin/nsbridge" -c "netns:$bare" $args >"$T/out" 2>"$T/err"
		rc=$?
		assert_eq "exit status as uid 65534, $args ($(cat "$T/err"))" 5 "$rc"
		assert_eq "stderr lines ($(cat "$T/err"))" 1 "$(wc -l <"$T/err")"
		assert_match "message" "^nsbridge: .*CAP_SYS_ADMIN.*setcap" "$(cat "$T/err")"
		assert_match "lo untouched" "state DOWN" "$(nsx "$bare" ip -o link show lo)"
		port_free "" "$p" || fail "something listens on $p after the refusal"
	done
	pass "uid 65534 without capabilities: exit 5 for both directions"
}

# ... and granted what the message says, the same user can run it
granted() {
	local grant body
	mkdir -p "$T/gbin" && cp "$NSB" "$T/gbin/nsbridge" && chmod 755 "$T/gbin" "$T/gbin/nsbridge"
	"${nobody[@]}" "$T/gbin/nsbridge" -c "netns:$bare" "host:$p" "container:$p" 2>"$T/gerr"
	grant=$(sed -n 's/.*grant it with: \(setcap [^ ]*\) .*/\1/p' "$T/gerr")
	[ -n "$grant" ] || fail "no setcap command in the message: $(cat "$T/gerr")"
	$grant "$T/gbin/nsbridge" 2>/dev/null && getcap "$T/gbin/nsbridge" | grep -q cap_sys_admin ||
		skip "$T is on a filesystem without file capabilities; '$grant' not tried"
	mkdir -p "$T/www2" && echo "host side $p" >"$T/www2/index.html"
	start_nginx "" "$p" "$T/www2" 127.0.0.1
	NSB_WRAP=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
	NSB=$T/gbin/nsbridge
	own_nsb -c "netns:$bare" "host:$p" "container:$p"
	assert_eq "nsbridge uid" 65534 "$(awk '/^Uid:/ { print $2 }' "/proc/$NSB_PID/status")"
	body=$(nsx "$bare" curl -sS --max-time 5 "http://127.0.0.1:$p/") || fail "curl through the granted nsbridge"
	assert_eq "body through the granted nsbridge" "host side $p" "$body"
	assert_eq "granted relay CapEff" 0000000000000000 "$(status_field "$NSB_PID" CapEff)"
	stop_nsb TERM
	assert_eq "exit status of the granted nsbridge" 0 "$NSB_STATUS"
	pass "uid 65534 after '$grant': relays, with no capability left, exit 0"
}

check relay_caps
check sequential_connections
check opener_child
check opener_after_sigkill
check without_sys_admin
check as_nobody
check granted
