#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# config.sh - --config FILE: three bridges from a file, what wins over it,
# and five malformed files, each named with its line
. "$(dirname "$0")/lib.sh"

mkns ns config
lo_up "$ns"
pick_port web "$ns"
pick_port inner "$ns"
pick_port dns "$ns"
mkdir -p "$T/www" "$T/inner" && echo "host" >"$T/www/index.html" && echo "inner" >"$T/inner/index.html"
start_nginx "" "$web" "$T/www" 127.0.0.1
start_nginx "$ns" "$inner" "$T/inner" 127.0.0.1
bg python3 "$(dirname "$0")/udp_peer.py" echo "$dns"
udp_listens() { [ -n "$(ss -Huln "sport = :$dns")" ]; }
wait_until "the UDP echo service on port $dns" 30 udp_listens

cat >"$T/good.conf" <<EOF
# nsbridge for the test namespace
container = "netns:$ns";
connect-timeout = "2s";
max-connections = 100;
follow = false;
bridges = (
  { service = "host:$web";       expose = "container:$web"; },    # the host's web server
  { service = "container:$inner"; expose = "host:$inner"; },
  { service = "host:$dns/udp";   expose = "container:$dns/udp"; }
);
EOF
cat >"$T/wrong.conf" <<EOF
container = "netns:no-such-namespace";
bridges = ( { service = "host:$web"; expose = "container:$web"; } );
EOF

# --- three bridges, both directions and UDP, with options, from the file alone
from_file() {
	NSB_READY=3 own_nsb --config "$T/good.conf"
	assert_eq "host:$web inside" host "$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$web/")"
	assert_eq "container:$inner on the host" inner "$(curl -sS --max-time 5 "http://127.0.0.1:$inner/")"
	assert_eq "UDP inside" "ping" "$(nsx "$ns" python3 "$(dirname "$0")/udp_peer.py" ask "$dns" ping)"
	stop_nsb TERM
	assert_eq "exit" 0 "$NSB_STATUS"
	pass "--config with three bridges: TCP both ways and UDP answer"
}

# --- the command line and the environment win over the file; bridges add up
precedence() {
	NSB_READY=2 own_nsb --config "$T/wrong.conf" -c "netns:$ns" "container:$inner" "host:$inner"
	assert_eq "-c wins: the file's bridge" host "$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$web/")"
	assert_eq "the command line's bridge too" inner "$(curl -sS --max-time 5 "http://127.0.0.1:$inner/")"
	stop_nsb TERM
	NSB_READY=1 NSBRIDGE_CONTAINER="netns:$ns" start_nsb --config "$T/wrong.conf"
	assert_eq "NSBRIDGE_CONTAINER wins" host "$(nsx "$ns" curl -sS --max-time 5 "http://127.0.0.1:$web/")"
	stop_nsb TERM
	NSB_READY=3 NSBRIDGE_CONFIG="$T/good.conf" start_nsb
	assert_eq "NSBRIDGE_CONFIG names the file" inner "$(curl -sS --max-time 5 "http://127.0.0.1:$inner/")"
	stop_nsb TERM
	pass "-c and NSBRIDGE_CONTAINER win over the file's container; the file's bridges and the command line's add up; NSBRIDGE_CONFIG"
}

# --- malformed files: exit 2, one line with the file, the line, what was expected
malformed() {	# NAME LINE EXPECTED - the file is on stdin
	local name=$1 line=$2 expected=$3 out rc
	cat >"$T/$name.conf"
	out=$("$NSB" --config "$T/$name.conf" 2>&1)
	rc=$?
	assert_eq "$name: exit" 2 "$rc"
	assert_eq "$name: one line" 1 "$(printf '%s\n' "$out" | wc -l)"
	assert_match "$name: message" "^nsbridge: $T/$name.conf:$line: .*$expected" "$out"
}
malformed_files() {
	malformed syntax 3 "syntax error: expected NAME = VALUE" <<-EOF
	container = "netns:$ns";

	connect-timeout "5s";
	EOF
	malformed unknown 2 "unknown setting 'conect-timeout': expected an option" <<-EOF
	container = "netns:$ns";
	conect-timeout = "5s";
	EOF
	malformed value 4 "connect-timeout = 5x: expected a duration" <<-EOF
	container = "netns:$ns";
	bridges = ( { service = "host:$web"; expose = "container:$web"; } );

	connect-timeout = "5x";
	EOF
	malformed bridge 5 "a bridge: expected [{] service = " <<-EOF
	container = "netns:$ns";
	bridges = (
	  { service = "host:$web"; expose = "container:$web"; },

	  { service = "host:$inner"; exposed = "container:$inner"; }
	);
	EOF
	malformed endpoint 4 "SERVICE 'hots:$web': expected SIDE:PORT" <<-EOF
	container = "netns:$ns";
	bridges = (
	  { service = "host:$web"; expose = "container:$web"; },
	  { service = "hots:$web"; expose = "container:$inner"; }
	);
	EOF
	pass "five malformed files: exit 2, each naming its line and what was expected"
}

missing_file() {
	local out
	out=$("$NSB" --config "$T/missing.conf" 2>&1)
	assert_eq "missing file: exit" 2 "$?"
	assert_eq "missing file: message" "nsbridge: --config '$T/missing.conf': No such file or directory" "$out"
	pass "a missing file: exit 2, named"
}

check from_file
check precedence
check malformed_files
check missing_file
