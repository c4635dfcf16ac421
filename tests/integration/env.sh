#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# env.sh - NSBRIDGE_* variables stand in for options, the command line wins, JSON and quiet logs
. "$(dirname "$0")/lib.sh"

# only the variables each case sets
# shellcheck disable=SC2046
unset $(compgen -v NSBRIDGE_)

JSON="python3 $(dirname "$(readlink -f "$0")")/status_json.py"
mkdir -p "$T/www"

# serve PORT - the host's nginx on 127.0.0.1:PORT, body "env PORT"
serve() {
	echo "env $1" >"$T/www/$1.html"
	start_nginx "" "$1" "$T/www" 127.0.0.1
}

# reaches NS PORT - a client in NS gets the host's page through nsbridge
reaches() {
	local body
	body=$(nsx "$1" curl -sS --max-time 5 "http://127.0.0.1:$2/$2.html") ||
		fail "curl inside $1 to port $2"
	assert_eq "body inside $1" "env $2" "$body"
}

# ready_line NS PORT - the text ready line of the bridge host:PORT container:PORT
ready_line() {
	echo "nsbridge: host 127.0.0.1:$2 -> container netns:$1 127.0.0.1:$2, [::1]:$2 ready"
}

mkns ns1 env1
mkns ns2 env2
mkns ns3 env3
mkns ns4 env4
mkns ns5 env5
pick_port p1 "$ns1"
pick_port p2 "$ns2"
pick_port p3 "$ns3"
pick_port down "$ns3"	# a second bridge, to a service that refuses: a warning line
pick_port p4 "$ns4"
pick_port p5 "$ns5"
serve "$p1"
serve "$p2"
serve "$p3"
serve "$p4"

# NSBRIDGE_CONTAINER stands in for -c; info lines (stopping) are printed by default
container_from_env() {
	NSB_WRAP=(env "NSBRIDGE_CONTAINER=netns:$ns1")
	own_nsb "host:$p1" "container:$p1"
	assert_eq "ready line" "$(ready_line "$ns1" "$p1")" "$(grep ' ready$' "$NSB_LOG")"
	reaches "$ns1" "$p1"
	stop_nsb TERM
	assert_eq "exit status" 0 "$NSB_STATUS"
	assert_match "info line without -q" "nsbridge: stopping" "$(cat "$NSB_LOG")"
	pass "NSBRIDGE_CONTAINER=netns:$ns1 without -c: bridge ready and relaying"
}

# command_line_wins "VAR=VALUE [OPTIONS]" - -c wins over a NSBRIDGE_CONTAINER
# that names nothing, or nothing at all; --max-connections wins over a bad
# NSBRIDGE_MAX_CONNECTIONS
command_line_wins() {
	local bad=$1 var opts
	read -r var opts <<<"$bad"
	NSB_WRAP=(env "$var")
	# shellcheck disable=SC2086
	own_nsb $opts -c "netns:$ns2" "host:$p2" "container:$p2"
	assert_eq "ready line with $bad" "$(ready_line "$ns2" "$p2")" "$(grep ' ready$' "$NSB_LOG")"
	reaches "$ns2" "$p2"
	stop_nsb TERM
	assert_eq "exit status with $bad" 0 "$NSB_STATUS"
	pass "the command line wins over $var"
}

# json_ready N - nsbridge has logged N JSON ready messages
json_ready() {
	[ "$(grep -c ' ready"' "$NSB_LOG")" = "$1" ]
}

# refused_logged - nsbridge has said that the service behind $down refused
refused_logged() {
	grep -q refused "$NSB_LOG"
}

# NSBRIDGE_LOG_FORMAT=json: every line on stderr is a JSON object
json_logs() {
	local rc ready
	: >"$NSB_LOG"
	NSBRIDGE_LOG_FORMAT=json bg "$NSB" -c "netns:$ns3" "host:$p3" "container:$p3" \
		"host:$down" "container:$down" 2>>"$NSB_LOG"
	NSB_PID=$BG_PID
	kill_at_check_end
	wait_until "two JSON ready messages" 30 json_ready 2
	reaches "$ns3" "$p3"
	nsx "$ns3" curl -s --max-time 5 "http://127.0.0.1:$down/"
	rc=$?
	[ $rc = 56 ] || [ $rc = 7 ] || fail "curl to the refused service: exit $rc"
	wait_until "line about the refused connection" 30 refused_logged
	stop_nsb TERM
	assert_eq "exit status with JSON logs" 0 "$NSB_STATUS"
	$JSON log-objects 4 "$NSB_LOG" || fail "stderr is not one JSON object per line: $(cat "$NSB_LOG")"
	ready=$($JSON log-ready "$NSB_LOG")
	assert_eq "JSON ready messages" "notice $(ready_line "$ns3" "$p3")
notice $(ready_line "$ns3" "$down")" "$ready"
	grep -q '^nsbridge: ' "$NSB_LOG" && fail "a text line among the JSON ones"
	pass "NSBRIDGE_LOG_FORMAT=json: $(wc -l <"$NSB_LOG") lines, each a JSON object, the ready message among them"
}

# ... errors too: a namespace that does not exist
json_error() {
	local rc
	NSBRIDGE_LOG_FORMAT=json "$NSB" -c "netns:nsbt-$$-absent" "host:$p3" "container:$p3" 2>"$T/err"
	rc=$?
	assert_eq "exit status for a missing namespace" 4 "$rc"
	assert_eq "JSON error" "error container netns:nsbt-$$-absent: no such namespace" \
		"$($JSON log-errors "$T/err")"
	pass "NSBRIDGE_LOG_FORMAT=json: the error for a missing namespace is a JSON object too"
}

# ... and --log-format text on the command line wins
text_wins() {
	NSB_WRAP=(env "NSBRIDGE_LOG_FORMAT=json")
	own_nsb --log-format text -c "netns:$ns3" "host:$p3" "container:$p3"
	assert_eq "text ready line over NSBRIDGE_LOG_FORMAT=json" "$(ready_line "$ns3" "$p3")" \
		"$(grep ' ready$' "$NSB_LOG")"
	stop_nsb TERM
	pass "--log-format text wins over NSBRIDGE_LOG_FORMAT=json"
}

# NSBRIDGE_QUIET=1: the ready line stays, info lines go
quiet() {
	NSB_WRAP=(env "NSBRIDGE_QUIET=1")
	own_nsb -c "netns:$ns4" "host:$p4" "container:$p4"
	reaches "$ns4" "$p4"
	stop_nsb TERM
	assert_eq "exit status with NSBRIDGE_QUIET=1" 0 "$NSB_STATUS"
	assert_eq "everything printed with NSBRIDGE_QUIET=1" "$(ready_line "$ns4" "$p4")" "$(cat "$NSB_LOG")"
	pass "NSBRIDGE_QUIET=1: the ready line and nothing else"
}

# a malformed variable that no option overrides: exit 2, naming it
malformed_variable() {
	local rc
	NSBRIDGE_MAX_CONNECTIONS=abc "$NSB" -c "netns:$ns5" "host:$p5" "container:$p5" >"$T/out" 2>"$T/err"
	rc=$?
	assert_eq "exit status with NSBRIDGE_MAX_CONNECTIONS=abc" 2 "$rc"
	assert_eq "stderr lines" 1 "$(wc -l <"$T/err")"
	assert_match "message" "^nsbridge: NSBRIDGE_MAX_CONNECTIONS='abc': expected " "$(cat "$T/err")"
	assert_eq "stdout" "" "$(cat "$T/out")"
	assert_match "lo untouched" "state DOWN" "$(nsx "$ns5" ip -o link show lo)"
	port_free "$ns5" "$p5" || fail "something listens in the namespace"
	pass "NSBRIDGE_MAX_CONNECTIONS=abc: exit 2, '$(cat "$T/err")'"
}

check container_from_env
for bad in "NSBRIDGE_CONTAINER=netns:nsbt-$$-absent" "NSBRIDGE_CONTAINER=pid:x" \
	"NSBRIDGE_CONTAINER=" "NSBRIDGE_MAX_CONNECTIONS=abc --max-connections 10"; do
	check command_line_wins "$bad"
done
check json_logs
check json_error
check text_wins
check quiet
check malformed_variable
