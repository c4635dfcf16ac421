#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# user.sh - started as root, the relay leaves uid 0 after set-up (--user):
# a root-only unix socket, standing in for the Docker API, is out of its
# reach, while a scoped CMD keeps the starting user and reaches it
. "$(dirname "$0")/lib.sh"

command -v socat >/dev/null || skip "socat is not installed"
command -v setpriv >/dev/null || skip "setpriv is not installed"

# status_ids PID - "Uid Gid Groups" lines of /proc/PID/status, tabs squeezed
status_ids() {
	awk '/^(Uid|Gid|Groups):/ { $1 = $1; print }' "/proc/$1/status"
}

mkns ns user
pick_port web "$ns"
pick_port api "$ns"
pick_port p "$ns"
pick_port q "$ns"
bg_to "$T/web.log" socat TCP-LISTEN:"$web",bind=127.0.0.1,reuseaddr,fork SYSTEM:'echo web'
wait_listen "" "$web"

# api_socket PATH MODE - a stand-in for the Docker API at PATH: root's,
# each connection a line in PATH.hits
api_socket() {
	: >"$1.hits"
	bg_to "$1.log" socat UNIX-LISTEN:"$1",fork,mode="$2" \
		SYSTEM:"echo hit >>$1.hits; echo docker-api"
	wait_until "socat's socket $1 ($(cat "$1.log"))" 30 test -S "$1"
}

mkdir -m 755 "$T/api"
# root-only, as the Docker API socket is
sock=$T/api/docker.sock
api_socket "$sock" 700

# the default user: nsbridge where it exists, else nobody
want=nobody
id -u nsbridge >/dev/null 2>&1 && want=nsbridge
uid=$(id -u "$want")
gid=$(id -g "$want")

# (a) the relay leaves uid 0 for the default user
default_user() {
	api_socket "$T/api/open.sock" 666
	own_nsb -c "netns:$ns" "host:$web" "container:$web" "unix:$T/api/open.sock" "container:$api"
	assert_eq "relay ids" "Uid: $uid $uid $uid $uid
Gid: $gid $gid $gid $gid
Groups:" "$(status_ids "$NSB_PID")"
	assert_eq "relay CapEff" 0000000000000000 "$(cap_eff "$NSB_PID")"
	assert_eq "through the relay" web "$(nsx "$ns" socat -T 5 - TCP:127.0.0.1:"$web")"
	assert_eq "the socket while it is open to all" docker-api \
		"$(nsx "$ns" socat -T 5 - TCP:127.0.0.1:"$api")"
	pass "the relay runs as $want ($uid:$gid), no groups, no capability, and relays"
}

# (b) made root-only, as the Docker API socket is, once the relay runs:
# root reaches it, the relay not
made_private() {
	local closing=$T/api/closing.sock hits out
	api_socket "$closing" 666
	own_nsb -c "netns:$ns" "unix:$closing" "container:$api"
	chmod 700 "$closing"
	hits=$(wc -l <"$closing.hits")
	assert_eq "root, directly, to the 0700 socket" docker-api "$(socat -T 5 - UNIX-CONNECT:"$closing")"
	hits=$((hits + 1))
	out=$(nsx "$ns" socat -T 5 - TCP:127.0.0.1:"$api" 2>&1)
	assert_eq "through the relay to the 0700 socket" "" "$(grep -v 'Connection reset' <<<"$out")"
	assert_eq "connections the socket saw" "$hits" "$(wc -l <"$closing.hits")"
	wait_until "the relay's line about EACCES" 30 grep -q "Permission denied" "$NSB_LOG"
	assert_match "the relay's line" "unix:$closing.*Permission denied" "$(cat "$NSB_LOG")"
	pass "a 0700 root-owned unix socket: root connects, the relay gets EACCES and resets"
}

# the files of root's relay go with it
files_go() {
	local control
	start_nsb -c "netns:$ns" --port-file "$T/ports" "host:$web" "container:$web"
	[ -e "$T/ports" ] || fail "no --port-file $T/ports"
	control=/run/nsbridge/$NSB_PID.sock
	[ -S "$control" ] || control=
	stop_nsb TERM
	assert_eq "exit status" 0 "$NSB_STATUS"
	[ ! -e "$T/ports" ] || fail "--port-file $T/ports left after exit"
	[ -z "$control" ] || [ ! -e "$control" ] || fail "control socket $control left after exit"
	pass "exit 0; the --port-file and the control socket in root's /run/nsbridge are gone"
}

# (c) a unix: SERVICE that the user cannot open is refused at start
refused_at_start() {
	local rc
	timeout 20 "$NSB" -c "netns:$ns" "unix:$sock" "container:$p" >"$T/out" 2>"$T/err"
	rc=$?
	assert_eq "exit status for a 0700 unix: SERVICE ($(cat "$T/err"))" 5 "$rc"
	assert_eq "stderr lines" 1 "$(wc -l <"$T/err")"
	assert_match "message" "^nsbridge: unix:$sock \(srwx------ root:root\): user $want cannot connect" \
		"$(cat "$T/err")"
	port_free "$ns" "$p" || fail "something listens on $p after the refusal"
	pass "unix: SERVICE out of $want's reach: exit 5, '$(cat "$T/err")'"
}

# (d) a scoped CMD keeps the starting user and reaches the 0700 socket
scoped_cmd() {
	local out rc
	out=$(timeout 20 "$NSB" -c "netns:$ns" "host:$web" "container:$web" -- \
		sh -c "id -u; socat -T 5 - UNIX-CONNECT:$sock" 2>"$T/err")
	rc=$?
	assert_eq "scoped run exit status ($(cat "$T/err"))" 0 "$rc"
	assert_eq "CMD's uid and what the 0700 socket said" "0
docker-api" "$out"
	pass "-- CMD runs as root without capabilities and reaches the 0700 socket"
}

# ... and when the relay dies, CMD still gets SIGTERM: the kernel no longer
# sends its PR_SET_PDEATHSIG (a parent that left uid 0 may not signal root)
cmd_term() {
	cat >"$T/cmd.sh" <<-EOF
		#!/bin/sh
		trap 'echo term >"$T/cmd.term"; exit 0' TERM
		echo \$\$ >"$T/cmd.pid"
		while :; do sleep 0.05; done
	EOF
	chmod 755 "$T/cmd.sh"
	start_nsb -c "netns:$ns" "host:$web" "container:$web" -- "$T/cmd.sh"
	wait_until "CMD's start" 30 test -s "$T/cmd.pid"
	kill -KILL "$NSB_PID"
	wait "$NSB_PID" 2>/dev/null
	wait_until "CMD's TERM trap after the relay was killed" 30 test -s "$T/cmd.term"
	assert_eq "CMD's TERM trap after the relay was killed" term "$(cat "$T/cmd.term" 2>/dev/null)"
	pass "the relay killed (SIGKILL): CMD, still root, got SIGTERM"
}

# (e) --user by number, from the environment; a name that does not exist
named_user() {
	local rc
	NSB_WRAP=(env NSBRIDGE_USER=4242)
	start_nsb -c "netns:$ns" "host:$web" "container:$web"
	NSB_WRAP=()
	assert_eq "relay ids with NSBRIDGE_USER=4242" "Uid: 4242 4242 4242 4242
Gid: 4242 4242 4242 4242
Groups:" "$(status_ids "$NSB_PID")"
	assert_eq "through the relay" web "$(nsx "$ns" socat -T 5 - TCP:127.0.0.1:"$web")"
	stop_nsb TERM
	assert_eq "exit status" 0 "$NSB_STATUS"
	printf 'user = "4244";\n' >"$T/user.conf"
	start_nsb --config "$T/user.conf" -c "netns:$ns" "host:$web" "container:$web"
	assert_eq "relay uid with user = \"4244\" in --config" "Uid: 4244 4244 4244 4244" \
		"$(status_ids "$NSB_PID" | head -n 1)"
	stop_nsb TERM
	timeout 20 "$NSB" --user nsbt-no-such-user -c "netns:$ns" "host:$web" "container:$web" \
		>"$T/out" 2>"$T/err"
	rc=$?
	assert_eq "exit status for an unknown --user" 2 "$rc"
	assert_eq "message" "nsbridge: --user nsbt-no-such-user: no such user" "$(cat "$T/err")"
	pass "NSBRIDGE_USER=4242: uid and gid 4242; user in --config; an unknown user: exit 2"
}

# (f) started as an ordinary user, nsbridge keeps that user, without a word
ordinary_user() {
	mkdir -p "$T/bin" && cp "$NSB" "$T/bin/nsbridge" && chmod 755 "$T/bin" "$T/bin/nsbridge"
	NSB_WRAP=(setpriv --reuid=4243 --regid=4243 --clear-groups --inh-caps=-all env -u XDG_RUNTIME_DIR)
	NSB=$T/bin/nsbridge start_nsb -c self "host:$web" "container:$q"
	NSB_WRAP=()
	assert_eq "ordinary user's relay ids" "Uid: 4243 4243 4243 4243
Gid: 4243 4243 4243 4243
Groups:" "$(status_ids "$NSB_PID")"
	assert_eq "through the relay" web "$(socat -T 5 - TCP:127.0.0.1:"$q")"
	stop_nsb TERM
	assert_eq "exit status" 0 "$NSB_STATUS"
	assert_eq "errors" "" "$(grep -Ev ' ready$|no control socket|^nsbridge: stopping$' "$NSB_LOG")"
	pass "uid 4243: keeps its uid, relays, exit 0, no error"
}

check default_user
check made_private
check files_go
check refused_at_start
check scoped_cmd
check cmd_term
check named_user
check ordinary_user
