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
	# changes go through; blank lines at the end are nothing
	python3 - "$dir/ports" "$T/stop" "$X" "$Y" >"$T/reader.out" 2>&1 <<'PY2' &
import os, sys
path, stop, x, y = sys.argv[1:]
valid = {x, y, x + "\n" + y, y + "\n" + x}
reads, seen = 0, set()
open(stop + ".ready", "w").close()
while not os.path.exists(stop):
    for _ in range(200):
        with open(path, "rb") as f:
            text = f.read().decode()
        reads += 1
        lines = text.rstrip("\n")
        if lines not in valid:
            print(f"mix after {reads} reads: {text!r}")
            sys.exit(1)
        seen.add(lines)
print(f"ok {reads} reads, {len(seen)} sets seen")
PY2
	reader=$!
	_PIDS+=("$reader")
	wait_until "the reader" 10 test -e "$T/stop.ready"

	for _ in $(seq 1 50); do
		change add "${Y% *}" "${Y#* }"	# X Y: longer
		change remove "${X#* }"	# Y: shorter
		change add "${X% *}" "${X#* }"	# Y X
		change remove "${Y#* }"	# X
		kill -0 "$reader" 2>/dev/null || break
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

# --- started as root: the relay becomes nobody, the keeper stays uid 0
mkns ns portfile
lo_up "$ns"
pick_port x "$ns"
pick_port y "$ns"
mkdir -m 755 "$T/run"	# root's: nobody may not create files in it
CLIENT=()
start_nsb -c "netns:$ns" --port-file "$T/run/ports" "host:$x" "container:$x"
assert_eq "--port-file at start" "host:$x container:$x" "$(cat "$T/run/ports")"
rewrites "relay as nobody" "$T/run" "host:$x container:$x" "host:$y container:$y"
stop_nsb
[ -e "$T/run/ports" ] && fail "the port file outlived nsbridge"
pass "the file goes at exit"

# --- started as an ordinary user, in this namespace
mkdir -p "$T/bin" "$T/user/run" "$T/user/xdg"
cp "$NSB" "$T/bin/nsbridge" && chmod 755 "$T" "$T/bin" "$T/bin/nsbridge"
chown -R 4244:4244 "$T/user" && chmod 700 "$T/user/xdg"
as_user=(setpriv --reuid=4244 --regid=4244 --clear-groups --inh-caps=-all
	 env "XDG_RUNTIME_DIR=$T/user/xdg")
NSB_WRAP=("${as_user[@]}")
NSB_SAVED=$NSB
NSB=$T/bin/nsbridge
CLIENT=("${as_user[@]}")
# in one namespace, SERVICE and EXPOSE must differ: services s and t,
# listened on by nobody (the port file is what is tested)
pick_port x ""
pick_port y ""
pick_port s ""
pick_port t ""
start_nsb -c self --port-file "$T/user/run/ports" "host:$s" "container:$x"
NSB_WRAP=()
assert_eq "the user's relay uid" 4244 "$(awk '/^Uid:/ { print $2 }' "/proc/$NSB_PID/status")"
rewrites "started as uid 4244" "$T/user/run" "host:$s container:$x" "host:$t container:$y"
stop_nsb
NSB=$NSB_SAVED
[ -e "$T/user/run/ports" ] && fail "the user's port file outlived nsbridge"
pass "the user's file goes at exit"
