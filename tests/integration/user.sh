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
bg_to "$T/web.log" socat TCP-LISTEN:"$web",bind=127.0.0.1,reuseaddr,fork SYSTEM:'echo web'
wait_listen "" "$web"

# the stand-in for the Docker API: root's, each connection logged
mkdir -m 755 "$T/api"
sock=$T/api/docker.sock
: >"$T/hits"
bg_to "$T/api.log" socat UNIX-LISTEN:"$sock",fork,mode=666 \
	SYSTEM:"echo hit >>$T/hits; echo docker-api"
for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || fail "socat did not make $sock: $(cat "$T/api.log")"

# (a) the default user: nsbridge where it exists, else nobody
want=nobody
id -u nsbridge >/dev/null 2>&1 && want=nsbridge
uid=$(id -u "$want")
gid=$(id -g "$want")
start_nsb -c "netns:$ns" --port-file "$T/ports" "host:$web" "container:$web" \
	"unix:$sock" "container:$api"
assert_eq "relay ids" "Uid: $uid $uid $uid $uid
Gid: $gid $gid $gid $gid
Groups:" "$(status_ids "$NSB_PID")"
assert_eq "relay CapEff" 0000000000000000 "$(cap_eff "$NSB_PID")"
assert_eq "through the relay" web "$(nsx "$ns" socat -T 5 - TCP:127.0.0.1:"$web")"
assert_eq "the socket while it is open to all" docker-api \
	"$(nsx "$ns" socat -T 5 - TCP:127.0.0.1:"$api")"
pass "the relay runs as $want ($uid:$gid), no groups, no capability, and relays"

# (b) root-only, as the Docker API socket is: root reaches it, the relay not
chmod 700 "$sock"
hits=$(wc -l <"$T/hits")
assert_eq "root, directly, to the 0700 socket" docker-api "$(socat -T 5 - UNIX-CONNECT:"$sock")"
hits=$((hits + 1))
out=$(nsx "$ns" socat -T 5 - TCP:127.0.0.1:"$api" 2>&1)
assert_eq "through the relay to the 0700 socket" "" "$(grep -v 'Connection reset' <<<"$out")"
assert_eq "connections the socket saw" "$hits" "$(wc -l <"$T/hits")"
for _ in $(seq 1 100); do grep -q "Permission denied" "$NSB_LOG" && break; sleep 0.05; done
assert_match "the relay's line" "unix:$sock.*Permission denied" "$(cat "$NSB_LOG")"
pass "a 0700 root-owned unix socket: root connects, the relay gets EACCES and resets"

control=/run/nsbridge/$NSB_PID.sock
[ -S "$control" ] || control=
stop_nsb TERM
assert_eq "exit status" 0 "$NSB_STATUS"
[ ! -e "$T/ports" ] || fail "--port-file $T/ports left after exit"
[ -z "$control" ] || [ ! -e "$control" ] || fail "control socket $control left after exit"
pass "exit 0; the --port-file and the control socket in root's /run/nsbridge are gone"

# (c) a unix: SERVICE that the user cannot open is refused at start
pick_port p "$ns"
timeout 20 "$NSB" -c "netns:$ns" "unix:$sock" "container:$p" >"$T/out" 2>"$T/err"
rc=$?
assert_eq "exit status for a 0700 unix: SERVICE ($(cat "$T/err"))" 5 "$rc"
assert_eq "stderr lines" 1 "$(wc -l <"$T/err")"
assert_match "message" "^nsbridge: unix:$sock \(srwx------ root:root\): user $want cannot connect" \
	"$(cat "$T/err")"
port_free "$ns" "$p" || fail "something listens on $p after the refusal"
pass "unix: SERVICE out of $want's reach: exit 5, '$(cat "$T/err")'"

# (d) a scoped CMD keeps the starting user and reaches the 0700 socket
out=$(timeout 20 "$NSB" -c "netns:$ns" "host:$web" "container:$web" -- \
	sh -c "id -u; socat -T 5 - UNIX-CONNECT:$sock" 2>"$T/err")
rc=$?
assert_eq "scoped run exit status ($(cat "$T/err"))" 0 "$rc"
assert_eq "CMD's uid and what the 0700 socket said" "0
docker-api" "$out"
pass "-- CMD runs as root without capabilities and reaches the 0700 socket"

# ... and when the relay dies, CMD still gets SIGTERM: the kernel no longer
# sends its PR_SET_PDEATHSIG (a parent that left uid 0 may not signal root)
cat >"$T/cmd.sh" <<-EOF
	#!/bin/sh
	trap 'echo term >"$T/cmd.term"; exit 0' TERM
	echo \$\$ >"$T/cmd.pid"
	while :; do sleep 0.05; done
EOF
chmod 755 "$T/cmd.sh"
start_nsb -c "netns:$ns" "host:$web" "container:$web" -- "$T/cmd.sh"
for _ in $(seq 1 100); do [ -s "$T/cmd.pid" ] && break; sleep 0.05; done
[ -s "$T/cmd.pid" ] || fail "CMD did not start"
kill -KILL "$NSB_PID"
wait "$NSB_PID" 2>/dev/null
for _ in $(seq 1 100); do [ -s "$T/cmd.term" ] && break; sleep 0.05; done
assert_eq "CMD's TERM trap after the relay was killed" term "$(cat "$T/cmd.term" 2>/dev/null)"
pass "the relay killed (SIGKILL): CMD, still root, got SIGTERM"

# (e) --user by number, from the environment; a name that does not exist
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

# (f) started as an ordinary user, nsbridge keeps that user, without a word
mkdir -p "$T/bin" && cp "$NSB" "$T/bin/nsbridge" && chmod 755 "$T/bin" "$T/bin/nsbridge"
pick_port p "$ns"
NSB_WRAP=(setpriv --reuid=4243 --regid=4243 --clear-groups --inh-caps=-all env -u XDG_RUNTIME_DIR)
NSB_SAVED=$NSB
NSB=$T/bin/nsbridge
start_nsb -c self "host:$web" "container:$p"
NSB=$NSB_SAVED
NSB_WRAP=()
assert_eq "ordinary user's relay ids" "Uid: 4243 4243 4243 4243
Gid: 4243 4243 4243 4243
Groups:" "$(status_ids "$NSB_PID")"
assert_eq "through the relay" web "$(socat -T 5 - TCP:127.0.0.1:"$p")"
stop_nsb TERM
assert_eq "exit status" 0 "$NSB_STATUS"
assert_eq "errors" "" "$(grep -Ev ' ready$|no control socket|^nsbridge: stopping$' "$NSB_LOG")"
pass "uid 4243: keeps its uid, relays, exit 0, no error"
