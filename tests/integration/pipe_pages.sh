#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# pipe_pages.sh - past the per-user pipe page limit the relay's pipes fall
# back to a smaller size, and grow back once pages are free; one log line
# each way, and bytes pass unchanged throughout
#
# fs.pipe-user-pages-soft is one setting for the whole machine, so it is
# lowered only for the moment it takes to make the relay need one new
# pipe, and restored however the test ends. Only processes without
# CAP_SYS_RESOURCE and CAP_SYS_ADMIN feel it; whichever user the relay
# runs as, a limit of one page is past.
. "$(dirname "$0")/lib.sh"

limit=/proc/sys/fs/pipe-user-pages-soft
[ -w "$limit" ] || skip "cannot set $limit"
old_limit=$(cat "$limit")
restore_limit() {
	[ -n "$old_limit" ] && echo "$old_limit" >"$limit"
}
at_exit restore_limit
trap 'exit 143' TERM INT HUP	# runs cleanup, and with it restore_limit

mkns ns pipes
pick_port sport
pick_port port "$ns"
random_file "$T/blob" 32

# "flood": send until the client is gone; "file": send the blob and close
cat >"$T/service.py" <<'PY'
import socket, sys, threading
blob = open(sys.argv[2], "rb").read()
def serve(c):
    try:
        what = c.makefile("rb").readline()
        if what == b"file\n":
            c.sendall(blob)
        else:
            chunk = b"x" * 65536
            for _ in range(1024):	# 64 MB at most: bounded
                c.sendall(chunk)
    except OSError:
        pass
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(128)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY

# N clients that ask for a flood and never read, until killed; with a
# third argument, they connect only once that file exists
cat >"$T/sleepers.py" <<'PY'
import os, signal, socket, sys, time
if len(sys.argv) > 3:
    print("ready", flush=True)
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.005)
held = []
for _ in range(int(sys.argv[2])):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.connect(("127.0.0.1", int(sys.argv[1])))
    c.sendall(b"flood\n")
    held.append(c)
print("connected", flush=True)
signal.pause()
PY

# a client that asks for the blob and prints its md5
cat >"$T/fetch.py" <<'PY'
import hashlib, socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
c.sendall(b"file\n")
h = hashlib.md5()
while True:
    d = c.recv(1 << 20)
    if not d:
        break
    h.update(d)
print(h.hexdigest())
PY

# the relay's splice pipes, seen from outside through pidfd_getfd(2), as
# "pipes=N held=M sizes=S,..." (M of them hold bytes): printed once it
# matches the pattern given, or after 30 s (a failure guard) as it is
cat >"$T/pipes.py" <<'PY'
import array, ctypes, fcntl, os, re, sys, termios, time
libc = ctypes.CDLL(None, use_errno=True)
pid, pattern = int(sys.argv[1]), sys.argv[2]
pidfd = os.pidfd_open(pid)
def summary():
    pipes = {}
    for name in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, name))
            info = open("/proc/%d/fdinfo/%s" % (pid, name)).read()
        except OSError:
            continue
        if not link.startswith("pipe:") or link in pipes:
            continue
        if not int(re.search(r"flags:\s*(\d+)", info).group(1), 8) & os.O_NONBLOCK:
            continue	# stdin or stdout, not a splice pipe
        fd = libc.syscall(438, pidfd, int(name), 0)	# pidfd_getfd
        if fd < 0:
            continue
        queued = array.array("i", [0])
        fcntl.ioctl(fd, termios.FIONREAD, queued)
        pipes[link] = (fcntl.fcntl(fd, 1032), queued[0])	# F_GETPIPE_SZ
        os.close(fd)
    sizes = sorted({size for size, _ in pipes.values()})
    return "pipes=%d held=%d sizes=%s" % (
        len(pipes), sum(1 for _, q in pipes.values() if q), ",".join(map(str, sizes)))
print("watching", flush=True)
deadline = time.monotonic() + 30
while not re.search(pattern, now := summary()) and time.monotonic() < deadline:
    time.sleep(0.02)
print(now)
sys.exit(0 if re.search(pattern, now) else 1)
PY

# wait_pipes PATTERN - until the relay's pipes match PATTERN; sets pipes
wait_pipes() {
	pipes=$(python3 "$T/pipes.py" "$NSB_PID" "$1" | tail -n 1)
	[[ "$pipes" =~ $1 ]]
}

# wait_line FILE TEXT - until a line of FILE is TEXT (bounded)
wait_line() {
	for _ in $(seq 1 600); do
		grep -qx "$2" "$1" && return 0
		sleep 0.05
	done
	fail "no line '$2' in $1 after 30 s: $(cat "$1")"
}

bg python3 "$T/service.py" "$sport" "$T/blob"
wait_listen "" "$sport"
want=$(md5sum <"$T/blob" | cut -d' ' -f1)
assert_eq "the blob, directly" "$want" "$(python3 "$T/fetch.py" "$sport")"

start_nsb -c "netns:$ns" "host:$sport" "container:$port"
[ "$(cap_eff "$NSB_PID")" = 0000000000000000 ] ||
	skip "the relay keeps capabilities: the pipe page limit does not apply to it"
start=$(python3 "$T/pipes.py" "$NSB_PID" "" | tail -n 1)
[[ "$start" =~ ^pipes=([0-9]+)\ held=0\ sizes=([0-9]+)$ ]] ||
	fail "the relay's pipes at start: $start"
kept=${BASH_REMATCH[1]}
size=${BASH_REMATCH[2]}
[ "$kept" -gt 0 ] || fail "the relay keeps no pipes at start: $start"

# every pipe kept is taken and holds bytes for a client that does not read
bg_to "$T/sleepers1.out" ip netns exec "$ns" python3 "$T/sleepers.py" "$port" "$kept"
sleepers1=$BG_PID
wait_pipes "held=$kept " || fail "the relay's pipes after $kept sleepers: $pipes"

# past the limit for as long as it takes the relay to need two new pipes:
# the clients and the watcher are started first, and the limit is
# restored as soon as the relay holds the two new pipes
bg_to "$T/sleepers2.out" ip netns exec "$ns" python3 "$T/sleepers.py" "$port" 2 "$T/go"
sleepers2=$BG_PID
bg_to "$T/watch.out" python3 "$T/pipes.py" "$NSB_PID" "held=$((kept + 2)) "
watcher=$BG_PID
wait_line "$T/sleepers2.out" ready
wait_line "$T/watch.out" watching
echo 1 >"$limit"
touch "$T/go"
wait "$watcher"
held=$?
restore_limit
pipes=$(tail -n 1 "$T/watch.out")
[ $held = 0 ] || fail "the relay's pipes past the limit: $pipes"
[[ "$pipes" =~ sizes=([0-9]+), ]] && [ "${BASH_REMATCH[1]}" -lt "$size" ] ||
	fail "new pipes past the limit are not smaller: $pipes"

# the clients leave: their connections are reset, their pipes closed
kill "$sleepers1" "$sleepers2"
wait_pipes "^pipes=$kept held=0 " ||
	fail "the relay's pipes did not come back to $kept empty ones: $pipes"
wait_pipes "^pipes=$kept held=0 sizes=$size\$" ||
	fail "the relay's pipes after the burst: $pipes; before it, $start"
pass "pipes fall back past the per-user page limit and grow back to $size bytes after"

assert_eq "the blob through nsbridge" "$want" "$(ip netns exec "$ns" python3 "$T/fetch.py" "$port")"
pass "after the burst, 32 MB through the bridge byte for byte"

assert_eq "fall-back lines" 1 "$(grep -c "pipes cannot grow to $size bytes" "$NSB_LOG")"
assert_eq "recovery lines" 1 "$(grep -c "pipes hold $size bytes again" "$NSB_LOG")"
pass "one log line when pipes fall back, one when they grow back"
stop_nsb
assert_eq "exit status" 0 "$NSB_STATUS"
