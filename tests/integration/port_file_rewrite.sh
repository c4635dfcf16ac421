#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# port_file_rewrite.sh - --port-file rewritten by nsbridge add and remove,
# two hundred times, while a reader reads it by its path in a tight loop,
# as a script would: every read is a whole set of lines, old or new, never
# new lines followed by the end of old ones, nor an empty file. Twice: the
# relay having left uid 0 (for nobody), where the keeper, still uid 0,
# puts each version in place by a rename; and started as an ordinary
# user, which keeps its uid (and a keeper for the file).
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || skip "setpriv is not installed"

# rewrites LABEL DIR X Y - the reader against 200 changes of $NSB_PID's
# --port-file DIR/ports, whose one bridge is X ("SERVICE EXPOSE"), to Y
# and back; the nsbridge add/remove client runs under "${CLIENT[@]}"
rewrites() {
	local label=$1 dir=$2 X=$3 Y=$4 reader out
	rm -f "$T/stop" "$T/stop.ready"
	# the reader: open, read whole, close, each read one of the sets the
	# changes go through
	python3 "$(dirname "$0")/port_file_reader.py" "$dir/ports" "$T/stop" "$X" "$Y" \
		>"$T/reader.out" 2>&1 &
	reader=$!
	_PIDS+=("$reader")
	wait_until "the reader" 30 test -e "$T/stop.ready"

	for _ in $(seq 1 50); do
		change add "${Y% *}" "${Y#* }"	# X Y: longer
		change remove "${X#* }"	# Y: shorter
		change add "${X% *}" "${X#* }"	# Y X
		change remove "${Y#* }"	# X
		alive "$reader" || break
	done
	touch "$T/stop"
	wait_exit "$reader" 20
	out=$(cat "$T/reader.out")
	assert_eq "$label: the reader ($out)" 0 "$EXIT_STATUS"
	assert_match "$label: the reader saw the changes" "^ok [0-9]+ reads, [2-4] sets seen$" "$out"
	assert_eq "$label: --port-file at the end" "$X" "$(cat "$dir/ports")"
	read -r svc exp <"$dir/ports"
	assert_eq "$label: its first line, as read(1) takes it" "$X" "$svc $exp"
	assert_eq "$label: nothing left beside it" "ports" "$(ls "$dir")"
	pass "$label: 200 adds and removes: $out, never a mix of old and new lines"
}

change() {	# VERB ARGS... - nsbridge add or remove, which must succeed
	local out
	out=$("${CLIENT[@]}" "$NSB" "$1" "$NSB_PID" "${@:2}" 2>&1) ||
		fail "nsbridge $*: exit $?: $out"
}

mkns ns portfile
lo_up "$ns"
pick_port x "$ns"
pick_port y "$ns"
pick_port z "$ns"
# for the ordinary user, in this namespace: SERVICE and EXPOSE must
# differ, services s and t are listened on by nobody (the port file is
# what is tested)
pick_port ux ""
pick_port uy ""
pick_port s ""
pick_port t ""
pick_port uz ""
mkdir -m 755 "$T/run" "$T/run.gone"	# root's: nobody may not create files in them
mkdir -p "$T/bin" "$T/user/run" "$T/user/run.gone" "$T/user/xdg"
cp "$NSB" "$T/bin/nsbridge" && chmod 755 "$T" "$T/bin" "$T/bin/nsbridge"
chown -R 4244:4244 "$T/user" && chmod 700 "$T/user/xdg"
as_user=(setpriv --reuid=4244 --regid=4244 --clear-groups --inh-caps=-all
	 env "XDG_RUNTIME_DIR=$T/user/xdg")

# as_root DIR PORT - started as root, --port-file DIR/ports: the relay
# becomes nobody, the keeper stays uid 0
as_root() {
	CLIENT=()
	start_nsb -c "netns:$ns" --port-file "$1/ports" "host:$2" "container:$2"
}

# as_user DIR PORT - started as an ordinary user, in this namespace
as_user() {
	NSB_WRAP=("${as_user[@]}")
	NSB=$T/bin/nsbridge
	CLIENT=("${as_user[@]}")
	start_nsb -c self --port-file "$1/ports" "host:$s" "container:$2"
	assert_eq "the user's relay uid" 4244 "$(awk '/^Uid:/ { print $2 }' "/proc/$NSB_PID/status")"
}

root_rewrites() {
	as_root "$T/run" "$x"
	assert_eq "--port-file at start" "host:$x container:$x" "$(cat "$T/run/ports")"
	rewrites "relay as nobody" "$T/run" "host:$x container:$x" "host:$y container:$y"
	stop_nsb
}

root_file_goes() {
	as_root "$T/run.gone" "$z"
	[ -e "$T/run.gone/ports" ] || fail "no port file"
	stop_nsb
	[ -e "$T/run.gone/ports" ] && fail "the port file outlived nsbridge"
	pass "the file goes at exit"
}

user_rewrites() {
	as_user "$T/user/run" "$ux"
	rewrites "started as uid 4244" "$T/user/run" "host:$s container:$ux" "host:$t container:$uy"
	stop_nsb
}

user_file_goes() {
	as_user "$T/user/run.gone" "$uz"
	[ -e "$T/user/run.gone/ports" ] || fail "no port file of the user's"
	stop_nsb
	[ -e "$T/user/run.gone/ports" ] && fail "the user's port file outlived nsbridge"
	pass "the user's file goes at exit"
}

check root_rewrites
check root_file_goes
check user_rewrites
check user_file_goes
