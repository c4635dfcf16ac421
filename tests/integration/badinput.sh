#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# badinput.sh - malformed arguments and variables: exit 2, one line naming them, nothing started
. "$(dirname "$0")/lib.sh"

# only the variables each case sets
# shellcheck disable=SC2046
unset $(compgen -v NSBRIDGE_)

mkns ns bad
pick_port p "$ns"
pick_port q "$ns"
pick_range r 3 "$ns"
r1=$((r + 1))
r2=$((r + 2))

# untouched - nothing was started: lo of the namespace still down, nothing
# listens in it or on the ports here, no nsbridge process is left
untouched() {
	local what=$1
	assert_match "$what: lo of the namespace" "state DOWN" "$(nsx "$ns" ip -o link show lo)"
	assert_eq "$what: listening sockets in the namespace" "" "$(nsx "$ns" ss -Htlnu)"
	for port in "$p" "$q" "$r" "$r1" "$r2"; do
		port_free "" "$port" || fail "$what: something listens on port $port here"
	done
	assert_eq "$what: nsbridge processes left" "" "$(pgrep_here -f "^$NSB ")"
}

# run ENV-ASSIGNMENTS... -- ARGS... - run nsbridge with the assignments in
# its environment; sets RC, OUT (stdout) and ERR (stderr)
run() {
	local envs=()
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	env "${envs[@]}" timeout 10 "$NSB" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}

# one_line WHAT - stderr is exactly one line starting with "nsbridge: "
one_line() {
	local n err_lines
	n=$(wc -l <"$T/err")
	mapfile -t err_lines <"$T/err"
	[ "$n" = 1 ] && [ "${#err_lines[@]}" = 1 ] || fail "$1: stderr has ${#err_lines[@]} lines: $ERR"
	[[ "$ERR" == "nsbridge: "* ]] || fail "$1: stderr does not start with 'nsbridge: ': $ERR"
}

# bad STATUS TEXT ENV... -- ARGS... - nsbridge exits STATUS with one line
# on stderr containing TEXT, nothing on stdout, and starts nothing
bad() {
	local status=$1 text=$2 what
	shift 2
	what=$(printf '%s ' "$@")
	what=${what/-- /}
	what=${what% }
	run "$@"
	[ "$RC" != 124 ] || fail "$what: nsbridge still ran after 10 s"
	assert_eq "$what: exit status (stderr: $ERR)" "$status" "$RC"
	one_line "$what"
	[[ "$ERR" == *"$text"* ]] || fail "$what: stderr does not name '$text': $ERR"
	assert_eq "$what: stdout" "" "$OUT"
	untouched "$what"
	N_BAD=$((N_BAD + 1))
	note "$what -> $RC: ${ERR#nsbridge: }"
}

C=(-c "netns:$ns")
N_BAD=0	# bad() counts the cases of a check
nopid=999999
while [ -e "/proc/$nopid" ]; do
	nopid=$((nopid + 1))
done

malformed() {
	# usage errors: SERVICE / EXPOSE
	bad 2 "hots:$p"			-- "${C[@]}" "hots:$p" "container:$p"
	bad 2 "host:http"		-- "${C[@]}" host:http "container:$p"
	bad 2 "host:0"			-- "${C[@]}" host:0 "container:$p"
	bad 2 "container:65536"		-- "${C[@]}" "host:$p" container:65536
	bad 2 "host:$r2-$r"		-- "${C[@]}" "host:$r2-$r" "container:$r-$r2"
	bad 2 "container:::1:$p"	-- "${C[@]}" "host:$p" "container:::1:$p"
	bad 2 "host:127.0.0.300:$p"	-- "${C[@]}" "host:127.0.0.300:$p" "container:$p"
	bad 2 "host:$q"			-- "${C[@]}" "host:$p" "container:$p" "host:$q"
	bad 2 "SERVICE EXPOSE"		-- "${C[@]}"
	bad 2 "container:$p"		-- "host:$p" "container:$p"
	bad 2 "container:$p"		-- "container:$p" "host:$q"
	bad 2 "container:0.0.0.0:$p"	-- "${C[@]}" "host:$p" "container:0.0.0.0:$p"
	bad 2 "container:192.0.2.7:$p"	-- "${C[@]}" "host:$p" "container:192.0.2.7:$p"
	bad 2 "host:$r-$r2"		-- "${C[@]}" "host:$r-$r2" "container:$r-$r1"
	bad 2 "same protocol"		-- "${C[@]}" "host:$p/udp" "container:$p"
	bad 2 "must be TCP"		-- "${C[@]}" "unix:$T/sock" "container:$p/udp"
	bad 2 "container:$p/sctp"	-- "${C[@]}" "host:$p" "container:$p/sctp"
	bad 2 "unix:$T/sock"		-- "${C[@]}" "host:$p" "unix:$T/sock"
	bad 2 "host:$p"			-- "${C[@]}" "host:$p" "host:$p"
	bad 2 "container:$q"		-- "${C[@]}" "host:$p" "container:$q" "host:$q" "container:$q"
	# usage errors: options
	bad 2 "--frobnicate"		-- "${C[@]}" --frobnicate "host:$p" "container:$p"
	bad 2 "--udp-timeout"		-- "${C[@]}" --udp-timeout 0 "host:$p/udp" "container:$p/udp"
	bad 2 "--max-udp-flows"		-- "${C[@]}" --max-udp-flows x "host:$p/udp" "container:$p/udp"
	bad 2 "-x"			-- "${C[@]}" -x "host:$p" "container:$p"
	bad 2 "--drain-timeout"		-- "${C[@]}" "host:$p" "container:$p" --drain-timeout
	bad 2 "-c"			-- "host:$p" "container:$p" -c
	bad 2 "5x"			-- "${C[@]}" --drain-timeout 5x "host:$p" "container:$p"
	bad 2 "-1s"			-- "${C[@]}" --idle-timeout -1s "host:$p" "container:$p"
	bad 2 "--connect-timeout '0'"	-- "${C[@]}" --connect-timeout 0 "host:$p" "container:$p"
	bad 2 "--max-connections '0'"	-- "${C[@]}" --max-connections 0 "host:$p" "container:$p"
	bad 2 "lots"			-- "${C[@]}" --max-connections lots "host:$p" "container:$p"
	bad 2 "1000001"			-- "${C[@]}" --max-connections 1000001 "host:$p" "container:$p"
	bad 2 "xml"			-- "${C[@]}" --log-format xml "host:$p" "container:$p"
	bad 2 "--container ''"		-- -c "" "host:$p" "container:$p"
	bad 2 "netns:../$ns"		-- -c "netns:../$ns" "host:$p" "container:$p"
	bad 2 "pid:x"			-- -c "pid:x" "host:$p" "container:$p"
	# usage errors: environment
	bad 2 "NSBRIDGE_CONNECT_TIMEOUT='soon'"	NSBRIDGE_CONNECT_TIMEOUT=soon -- "${C[@]}" "host:$p" "container:$p"
	bad 2 "NSBRIDGE_DRAIN_TIMEOUT='1 s'"	NSBRIDGE_DRAIN_TIMEOUT="1 s" -- "${C[@]}" "host:$p" "container:$p"
	bad 2 "NSBRIDGE_LOG_FORMAT='yaml'"	NSBRIDGE_LOG_FORMAT=yaml -- "${C[@]}" "host:$p" "container:$p"
	bad 2 "NSBRIDGE_FOLLOW='maybe'"		NSBRIDGE_FOLLOW=maybe -- "${C[@]}" "host:$p" "container:$p"
	[ "$N_BAD" -ge 15 ] || fail "only $N_BAD cases ran"
	pass "$N_BAD malformed command lines and variables: exit 2, one line naming the argument, nothing started"
}

# the namespace reference names nothing, or not a namespace
missing() {
	local gone=nsbt-$$-absent
	bad 4 "netns:$gone"	-- -c "netns:$gone" "host:$p" "container:$p"
	bad 4 "pid:$nopid"	-- -c "pid:$nopid" "host:$p" "container:$p"
	bad 4 "$T/absent"	-- -c "$T/absent" "host:$p" "container:$p"
	bad 2 "/etc/hostname"	-- -c /etc/hostname "host:$p" "container:$p"
	pass "missing namespace, process or path: exit 4; a file that is no namespace: exit 2"
}

# --help: one screen on stdout, with the direction rule and an example
help_screen() {
	local lines
	run -- --help
	assert_eq "--help exit status" 0 "$RC"
	assert_eq "--help stderr" "" "$ERR"
	lines=$(wc -l <"$T/out")
	[ "$lines" -ge 5 ] && [ "$lines" -le 24 ] || fail "--help has $lines lines, expected at most 24"
	assert_match "--help usage" "Usage: nsbridge \[OPTIONS\] SERVICE EXPOSE" "$OUT"
	assert_match "--help example" "nsbridge -c [a-z]+ host:[0-9]+ container:[0-9]+" "$OUT"
	# an ordinary user learns where a rootless engine's socket is looked for
	assert_match "--help rootless sockets" "also \\\$XDG_RUNTIME_DIR's engines" "$OUT"
	assert_match "--help -c scoping" "-c, --container REF .*
 +for pairs after it" "$OUT"
	awk 'length > 80 { print "--help line wider than 80: " $0; bad = 1 } END { exit bad }' "$T/out" ||
		fail "--help is wider than a screen"
	run -- -h
	assert_eq "-h exit status" 0 "$RC"
	assert_match "-h usage" "SERVICE EXPOSE" "$OUT"
	untouched "--help"
	pass "--help: exit 0, $lines lines with SERVICE EXPOSE and an example"
}

version() {
	run -- --version
	assert_eq "--version exit status" 0 "$RC"
	assert_eq "--version stderr" "" "$ERR"
	assert_eq "--version lines" 1 "$(wc -l <"$T/out")"
	assert_match "--version" "^nsbridge [0-9]+\.[0-9]+\.[0-9]+$" "$OUT"
	pass "--version: exit 0, '$OUT'"
}

check malformed
check missing
check help_screen
check version
