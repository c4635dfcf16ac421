#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# helpers_watcher.sh - kill -9 of the engine watcher, with a followed
# container's connections open and bytes in flight, on a private dockerd:
# one line at once, nsbridge status shows it, what is bound serves on byte
# for byte; the container's stop, whose start could no longer be seen, ends
# nsbridge with status 1 and says why (a failure: systemd's
# Restart=on-failure starts it again, with a new watcher)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../docker/lib.sh"

start_dockerd
import_busybox
docker run -d --name web --network none "$BUSYBOX_IMAGE" sleep 100000 >/dev/null || fail "docker run web"
pick_port web
pick_port exp
mkdir -p "$T/www"
random_file "$T/www/big" 24
echo "host service $web" >"$T/www/index.html"
start_nginx "" "$web" "$T/www" 127.0.0.1
curl -sS --max-time 30 -o "$T/direct" "http://127.0.0.1:$web/big" || fail "direct download"

# in_web CMD... - CMD in web's network namespace (a client of the container's)
in_web() {
	nsenter -t "$(container_pid web)" -n "$@"
}

watcher_dies() {
	local watcher out
	own_nsb -c web "host:$web" "container:$exp"
	transfers_start 3 "http://127.0.0.1:$exp/big" in_web
	kill_helper nsbridge-watch watcher
	killed_line "engine watcher" "$watcher"
	assert_match "the watcher's line says what it means" "no container is followed any more: one that stops ends nsbridge with status 1" "$LINE"
	status_shows_exit watcher "engine watcher" "$watcher"
	transfers_check "downloads under way when the watcher died" "$T/direct"
	out=$(in_web curl -sS --max-time 10 "http://127.0.0.1:$exp/")
	assert_eq "a new connection inside web" "host service $web" "$out"
	docker stop -t 0 web >/dev/null || fail "docker stop web"
	wait_until "the end of nsbridge after web's stop" 30 gone "$NSB_PID"
	wait "$NSB_PID"
	assert_eq "exit status after web's stop, unfollowed" 1 "$?"
	assert_match "the line of web's stop" "container web stopped; exiting with status 1 \\(the engine watcher has exited: its start cannot be seen\\)" \
		"$(grep "container web stopped" "$NSB_LOG")"
	grep -q "only a container named to the engine is followed" "$NSB_LOG" &&
		fail "$(grep "only a container named" "$NSB_LOG")"
	pass "watcher killed: one line after $LATENCY_MS ms; status shows it; 3 downloads byte for byte and new connections served; web's stop ends nsbridge with status 1, saying why"
}

check watcher_dies
