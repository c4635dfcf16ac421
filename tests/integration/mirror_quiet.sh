#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mirror_quiet.sh - a --mirror with nothing else going on still rescans:
# a service that starts after nsbridge is ready appears inside, although
# no event of any kind reaches the relay in between
. "$(dirname "$0")/lib.sh"

mkns ns mquiet
lo_up "$ns"
pick_port port "$ns"

# No client, no other bridge, no nsbridge status: only the timer can wake
# the relay. (mirror.sh passes whatever the timer does: its clients wake it.)
NSB_READY=1 start_nsb -c "netns:$ns" --mirror host container
picks_up_a_new_service() {
	local t0
	bg_to "$T/http.log" python3 -m http.server "$port" --bind 127.0.0.1
	wait_listen "" "$port"
	t0=$(now_ms)
	# the scan is every 400 ms; the bound is a failure guard, not the claim
	wait_until "port $port inside: the relay did not rescan" 30 listens_inside
	echo "   port $port inside after $(($(now_ms) - t0)) ms" >&2
	assert_match "the mirrored service answers inside" "Directory listing" \
		"$(ip netns exec "$ns" curl -s --max-time 5 "http://127.0.0.1:$port/")"
	pass "a quiet --mirror picks up a service that starts after it is ready"
}
listens_inside() {
	! port_free "$ns" "$port"
}

check picks_up_a_new_service
