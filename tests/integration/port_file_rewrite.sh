#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# port_file_rewrite.sh - --port-file rewritten by nsbridge add and remove,
# two hundred times, while a reader polls it: every read is a whole set
# of lines, old or new, never new lines followed by the end of old ones.
# The relay has left uid 0 (for nobody) and rewrites it in place.
. "$(dirname "$0")/lib.sh"

mkns ns portfile
lo_up "$ns"
pick_port x "$ns"
pick_port y "$ns"
mkdir -m 1777 "$T/run"
start_nsb -c "netns:$ns" --port-file "$T/run/ports" "host:$x" "container:$x"
X="host:$x container:$x"
Y="host:$y container:$y"
assert_eq "--port-file at start" "$X" "$(cat "$T/run/ports")"

# the reader: pread() of the whole file in a tight loop, each read one of
# the sets the changes go through; blank lines at the end are nothing
python3 - "$T/run/ports" "$T/stop" "$X" "$Y" >"$T/reader.out" 2>&1 <<'PY' &
import os, sys
path, stop, x, y = sys.argv[1:]
valid = {x, y, x + "\n" + y, y + "\n" + x}
fd = os.open(path, os.O_RDONLY)
reads, seen = 0, set()
open(stop + ".ready", "w").close()
while not os.path.exists(stop):
    for _ in range(200):
        text = os.pread(fd, 65536, 0).decode()
        reads += 1
        lines = text.rstrip("\n")
        if lines not in valid:
            print(f"mix after {reads} reads: {text!r}")
            sys.exit(1)
        seen.add(lines)
print(f"ok {reads} reads, {len(seen)} sets seen")
PY
reader=$!
_PIDS+=("$reader")
wait_until "the reader" 10 test -e "$T/stop.ready"

change() {	# VERB ARGS... - nsbridge add or remove, which must succeed
	local out
	out=$("$NSB" "$1" "$NSB_PID" "${@:2}" 2>&1) || fail "nsbridge $*: exit $?: $out"
}
for _ in $(seq 1 50); do
	change add "host:$y" "container:$y"	# X Y: longer
	change remove "container:$x"		# Y: shorter
	change add "host:$x" "container:$x"	# Y X
	change remove "container:$y"		# X
	kill -0 "$reader" 2>/dev/null || break
done
touch "$T/stop"
wait_exit "$reader" 20
assert_eq "the reader ($(cat "$T/reader.out"))" 0 "$EXIT_STATUS"
assert_match "the reader saw the changes" "^ok [0-9]+ reads, [2-4] sets seen$" "$(cat "$T/reader.out")"
assert_eq "--port-file at the end" "$X" "$(cat "$T/run/ports")"
read -r svc exp <"$T/run/ports"
assert_eq "its first line, as read(1) takes it" "$X" "$svc $exp"
pass "200 adds and removes: $(cat "$T/reader.out"), never a mix of old and new lines"
stop_nsb
[ -e "$T/run/ports" ] && fail "the port file outlived nsbridge"
pass "the file goes at exit"
