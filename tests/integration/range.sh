#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# range.sh - a 100-port range, each port answered by its own server port, and
# what a range of 1,000 ports costs in memory and descriptors
. "$(dirname "$0")/lib.sh"

mkns ns range
mkns big big
lo_up "$ns"
pick_range svc 100 "$ns"
pick_range exp 100 "$ns"
last=$((svc + 99))

# one nginx listening on all 100 ports, each answering with its own number
listen=""
for p in $(seq "$svc" "$last"); do listen+="listen 127.0.0.1:$p;"; done
mkdir -p "$T/ngx"
cat >"$T/ngx/nginx.conf" <<NG
daemon off; worker_processes 1; pid $T/ngx/nginx.pid; error_log $T/ngx/error.log;
events { worker_connections 1024; }
http { access_log off; server { $listen location / { return 200 "\$server_port\n"; } } }
NG
bg nginx -c "$T/ngx/nginx.conf" -e "$T/ngx/error.log"
wait_listen "" "$last"

start_nsb -c "netns:$ns" "host:$svc-$last" "container:$exp-$((exp + 99))"
hundred_ports() {
	local urls=() i
	assert_match "ready line" "host 127.0.0.1:$svc-$last -> container netns:$ns 127.0.0.1:$exp-$((exp + 99)), \[::1\]:$exp-$((exp + 99)) ready" \
		"$(cat "$NSB_LOG")"
	# the relay, its namespace opener and the keeper that stays uid 0 (runas.c),
	# whatever the number of ports
	assert_eq "processes" 3 "$(pgrep_here -c -f "^$NSB ")"
	assert_eq "threads" 1 "$(awk '/^Threads:/ { print $2 }' "/proc/$NSB_PID/status")"
	for i in $(seq 0 99); do urls+=("http://127.0.0.1:$((exp + i))/" -o "$T/answer.$i"); done
	nsx "$ns" curl -sS --max-time 20 "${urls[@]}" || fail "curl over the range"
	for i in $(seq 0 99); do
		assert_eq "port $((exp + i))" "$((svc + i))" "$(cat "$T/answer.$i")"
	done
	pass "100 ports: each EXPOSE port answered by its own SERVICE port, by one relay thread"
}

# a range of 1,000 ports: 2,000 listeners (IPv4 and IPv6) in one loop
thousand_ports() {
	local bsvc rss fds
	pick_range bsvc 1000 "$big"
	start_nsb -c "netns:$big" "host:$bsvc-$((bsvc + 999))" "container:$bsvc-$((bsvc + 999))"
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$NSB_PID/status")
	fds=$(fd_count "$NSB_PID")
	[ $((rss - rss_100)) -le 4096 ] || fail "1,000 ports cost $((rss - rss_100)) KiB more than 100"
	[ "$fds" -le 2100 ] || fail "1,000 ports hold $fds descriptors"
	nsx "$big" ss -Htln | grep -c . | grep -qx 2000 || fail "not 2,000 listeners in the namespace"
	pass "1,000 ports: 2,000 listeners, $fds descriptors, RSS $rss KiB ($((rss - rss_100)) KiB over 100 ports)"
}

check hundred_ports
rss_100=$(awk '/^VmRSS:/ { print $2 }' "/proc/$NSB_PID/status")	# after its traffic
stop_nsb
check thousand_ports
