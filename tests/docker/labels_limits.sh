#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# labels_limits.sh - what the operator's limits do to labelled containers:
# --allow-uid applies to their host EXPOSEs with no bridge of its own on
# the command line; a unix: SERVICE the relay's user cannot reach is
# refused for that container, as nsbridge add refuses it; and of 129
# labelled containers 128 are served and the 129th refused, the line
# saying the limit that holds.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

start_dockerd
import_busybox
pick_port db
pick_port app
pick_port p_web
pick_port p_sock
mkdir -p "$T/www" && echo "host db" >"$T/www/index.html"
start_nginx "" "$db" "$T/www" 127.0.0.1
# a unix socket only root may reach: its directory is root's, mode 0700
mkdir -m 700 "$T/private"
bg socat "UNIX-LISTEN:$T/private/db.sock,fork" "TCP:127.0.0.1:$db"
wait_until "the private socket" 30 test -S "$T/private/db.sock"

NSB_READY=0 start_nsb --labels --allow-uid 4242
wait_until "nsbridge's control socket" 30 answers_status

# --- --allow-uid with labels only ----------------------------------------------
allow_uid() {
	local body
	docker run -d --name web --network none --label "nsbridge.bridges=container:$app host:$p_web" \
		"$BUSYBOX_IMAGE" sh -c "echo 'app web' >/www/index.html; httpd -p 127.0.0.1:$app -h /www; exec sleep 100000" \
		>/dev/null || fail "docker run web"
	wait_until "web's bridge" 30 grep -q "container web: .* ready (label" "$NSB_LOG"
	wait_until "web's httpd" 30 ct_listens web "$app"
	body=$(setpriv --reuid 4242 --regid 4242 --clear-groups curl -sS --max-time 5 "http://127.0.0.1:$p_web/") ||
		fail "curl as uid 4242"
	assert_eq "uid 4242, in --allow-uid" "app web" "$body"
	assert_eq "uid 0, not in --allow-uid" "reset=3" \
		"$(python3 "$(dirname "$0")/../integration/probe_peer.py" ends 3 "$p_web")"
	wait_until "the refusal's line" 30 grep -q "a client of uid 0 was reset: not in --allow-uid" "$NSB_LOG"
	pass "--labels --allow-uid 4242 with no bridge on the command line: uid 4242 served on a label's host EXPOSE, uid 0 reset"
}

# --- a unix: SERVICE out of the relay's reach ----------------------------------
unix_service() {
	local user line
	user=$(id -un "$(awk '/^Uid:/ { print $2 }' "/proc/$NSB_PID/status")")
	docker run -d --name sock --network none \
		--label "nsbridge.bridges=unix:$T/private/db.sock container:$db" \
		"$BUSYBOX_IMAGE" sleep 100000 >/dev/null || fail "docker run sock"
	wait_until "sock's refusal" 30 grep -q "container sock: refused: unix:$T/private/db.sock" "$NSB_LOG"
	line=$(grep "container sock: refused" "$NSB_LOG")
	assert_match "the line" "user $user cannot connect to it, and the relay runs as $user after set-up" "$line"
	assert_match "status: sock refused" "cannot connect to it" "$(ct_status field sock refused)"
	[ "$(ct_status bridges sock)" = 0 ] || fail "sock has a bridge"
	pass "a label's unix: SERVICE that user $user cannot reach: refused, in the log and status: $line"
}

# --- the 129th container -------------------------------------------------------
limit() {
	local names=() i
	for i in $(seq 1 129); do
		names+=("many$i")
		docker create --name "many$i" --network none --label "nsbridge.bridges=host:$db container:$db" \
			"$BUSYBOX_IMAGE" sleep 100000 >/dev/null || fail "docker create many$i"
	done
	docker rm -f web sock >/dev/null	# the containers of the checks above
	wait_until "web and sock let go" 30 grep -q "container sock stopped" "$NSB_LOG"
	docker start "${names[@]}" >/dev/null || fail "docker start"
	wait_until "one container refused" 120 grep -q "refused: 128 containers are served already" "$NSB_LOG"
	wait_until "128 served" 120 bash -c "[ \"\$(grep -c 'container many[0-9]*: .* ready (label' '$NSB_LOG')\" -ge 128 ]"
	assert_eq "containers served, in status" 128 "$(ct_status running)"
	assert_eq "refusal lines" 1 "$(grep -c "containers are served already" "$NSB_LOG")"
	pass "129 labelled containers: 128 served, one refused: $(grep -o "container many[0-9]*: refused: .*" "$NSB_LOG")"
}

check allow_uid
check unix_service
check limit
