#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# access.sh - --allow-uid: an EXPOSE on the host takes only the named users' clients
. "$(dirname "$0")/lib.sh"

id nobody >/dev/null 2>&1 || skip "no user nobody"
nobody=$(id -u nobody)
as_nobody() { setpriv --reuid="$nobody" --regid="$(id -g nobody)" --clear-groups "$@"; }

mkns ns access
lo_up "$ns"
pick_port inner "$ns"
pick_port outer "$ns"
mkdir -p "$T/www" && echo "inside" >"$T/www/index.html"
start_nginx "$ns" "$inner" "$T/www" 127.0.0.1
start_nginx "" "$outer" "$T/www" 127.0.0.1

# root only: the namespace's service on the host, and the host's inside
root_only() {
	local out rc
	own_nsb -c "netns:$ns" --allow-uid 0 "container:$inner" "host:$inner" "host:$outer" "container:$outer"
	assert_eq "root on the host" inside "$(curl -sS --max-time 5 "http://127.0.0.1:$inner/")"
	out=$(as_nobody curl -sS --max-time 5 "http://127.0.0.1:$inner/" 2>&1)
	rc=$?
	# reset right after the handshake: curl sees it as a failed connect, or a
	# reset or empty reply, depending on when it looks
	[[ " 7 52 56 " == *" $rc "* ]] || fail "nobody on the host: curl exit $rc, expected a reset: $out"
	grep -q "a client of uid $nobody was reset: not in --allow-uid" "$NSB_LOG" ||
		fail "no line about uid $nobody"
	assert_eq "nobody inside the namespace (EXPOSE not on the host)" inside \
		"$(nsx "$ns" setpriv --reuid="$nobody" --regid="$(id -g nobody)" --clear-groups \
			curl -sS --max-time 5 "http://127.0.0.1:$outer/")"
	stop_nsb
	pass "--allow-uid 0: root's client served, nobody's reset and logged; the container's EXPOSE untouched"
}

# the other way round, through the environment
env_allows_nobody() {
	NSB_WRAP=(env "NSBRIDGE_ALLOW_UID=$nobody")
	own_nsb -c "netns:$ns" "container:$inner" "host:$inner"
	assert_eq "nobody on the host" inside "$(as_nobody curl -sS --max-time 5 "http://127.0.0.1:$inner/")"
	curl -sS --max-time 5 "http://127.0.0.1:$inner/" >/dev/null 2>&1 && fail "root was let in"
	grep -q "a client of uid 0 was reset" "$NSB_LOG" || fail "no line about uid 0"
	stop_nsb
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "NSBRIDGE_ALLOW_UID=$nobody: nobody served, root reset"
}

usage_errors() {
	"$NSB" -c "netns:$ns" --allow-uid 0 "host:$outer" "container:$outer" 2>"$T/err"
	assert_eq "--allow-uid without an EXPOSE on the host" 2 "$?"
	assert_match "the message" "no bridge exposes there" "$(cat "$T/err")"
	"$NSB" -c "netns:$ns" --allow-uid x "container:$inner" "host:$inner" 2>"$T/err"
	assert_eq "--allow-uid x" 2 "$?"
	pass "usage errors: exit 2"
}

check root_only
check env_allows_nobody
check usage_errors
