#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sides.sh - three containers in one nsbridge (network namespaces: no engine
# needed): -c REF scopes the pairs after it, both directions in each; one
# that stops closes only its own listeners and sockets while the others go
# on; status --json and the metrics name each container; a --config
# bridge's own container; the refusals
. "$(dirname "$0")/lib.sh"

mkns a mca
mkns b mcb
mkns c mcc
for ns in "$a" "$b" "$c"; do lo_up "$ns"; done
pick_port db "$a" "$b" "$c"
pick_port app "$a" "$b" "$c"
pick_port app_a "$a" "$b" "$c"
pick_port app_b "$a" "$b" "$c"
pick_port app_c "$a" "$b" "$c"
pick_port mport
mkdir -p "$T/www" && echo "host db" >"$T/www/index.html"
start_nginx "" "$db" "$T/www" 127.0.0.1
for ns in "$a" "$b" "$c"; do
	mkdir -p "$T/$ns" && echo "app in $ns" >"$T/$ns/index.html"
	start_nginx "$ns" "$app" "$T/$ns" 127.0.0.1
done

sleeper_in "$b" holder	# b is named by pid: its exit is the container stopping

# get NS PORT - what curl gets from 127.0.0.1:PORT in NS ("" = the host)
get() {
	if [ -n "$1" ]; then
		nsx "$1" curl -sS --max-time 5 "http://127.0.0.1:$2/"
	else
		curl -sS --max-time 5 "http://127.0.0.1:$2/"
	fi
}

# serving NS... - each container reaches the host's db, and its app is on the host
serving() {
	local ns port
	for ns in "$@"; do
		case $ns in
		"$a") port=$app_a ;;
		"$b") port=$app_b ;;
		"$c") port=$app_c ;;
		esac
		assert_eq "host db inside $ns" "host db" "$(get "$ns" "$db")"
		assert_eq "the app of $ns on the host" "app in $ns" "$(get "" "$port")"
	done
}

# --- three containers, each -c for the pairs after it ------------------------
start_nsb --metrics "127.0.0.1:$mport" \
	-c "netns:$a" "host:$db" "container:$db" "container:$app" "host:$app_a" \
	-c "pid:$holder" "host:$db" "container:$db" "container:$app" "host:$app_b" \
	-c "netns:$c" "host:$db" "container:$db" "container:$app" "host:$app_c"
log=$(cat "$NSB_LOG")
assert_match "ready line of a" "host 127.0.0.1:$db -> container netns:$a 127.0.0.1:$db.* ready" "$log"
assert_match "ready line of b" "container pid:$holder 127.0.0.1:$app -> host 127.0.0.1:$app_b.* ready" "$log"
assert_match "ready line of c" "container netns:$c 127.0.0.1:$app -> host 127.0.0.1:$app_c.* ready" "$log"
serving "$a" "$b" "$c"
helpers=$(cat "/proc/$NSB_PID/task/$NSB_PID/children")
# openers NSB_PID - how many nsbridge-opener children nsbridge has
openers() {
	local pid n=0
	for pid in $(cat "/proc/$1/task/$1/children"); do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = nsbridge-opener ] && n=$((n + 1))
	done
	echo "$n"
}
assert_eq "openers for three containers" 1 "$(openers "$NSB_PID")"
pass "-c a PAIRS -c pid:N PAIRS -c c PAIRS: six bridges, both directions in each of three namespaces, one opener"

"$NSB" status --json "$NSB_PID" >"$T/status.json" || fail "nsbridge status --json"
python3 - "$T/status.json" "$a" "$holder" "$c" <<'EOF' || fail "status --json per container"
import json, sys
doc = json.load(open(sys.argv[1]))[0]
a, holder, c = sys.argv[2:]
want = [f"netns:{a}", f"pid:{holder}", f"netns:{c}"]
assert [x["container"] for x in doc["containers"]] == want, doc["containers"]
assert all(x["running"] for x in doc["containers"]), doc["containers"]
assert [b["container"] for b in doc["bridges"]] == [w for w in want for _ in (0, 1)], doc["bridges"]
assert all(b["accepted"] == 1 for b in doc["bridges"]), doc["bridges"]
EOF
text=$("$NSB" status "$NSB_PID")
assert_match "status names each container" "container netns:$a running, container pid:$holder running, container netns:$c running" "$text"
curl -sS --max-time 5 "http://127.0.0.1:$mport/metrics" >"$T/metrics.txt" || fail "GET /metrics"
assert_match "a metric with the container label" \
	"nsbridge_accepted_total\\{bridge=\"2\",[^}]*,container=\"pid:$holder\"\\} 1" "$(cat "$T/metrics.txt")"
assert_eq "nsbridge_container_running samples" 3 "$(grep -c '^nsbridge_container_running{' "$T/metrics.txt")"
pass "status --json and the text list the three containers and each bridge's; metrics carry a container label"

# --- b stops: only its listeners and sockets close ----------------------------
b_ns=$(nsx "$b" readlink /proc/self/ns/net)
socks=$(python3 "$(dirname "$0")/sock_netns.py" "$NSB_PID" $helpers)
[[ "$socks" == *"$b_ns"* ]] || fail "no socket of nsbridge in b's namespace $b_ns before it stopped"
kill "$holder"
wait_until "log line of b stopping" 5 grep -q "container pid:$holder stopped; its bridges are closed for good" "$NSB_LOG"
kill -0 "$NSB_PID" || fail "nsbridge exited when one of three containers stopped"
wait_until "b's listener to close" 5 port_free "$b" "$db"
socks=$(python3 "$(dirname "$0")/sock_netns.py" "$NSB_PID" $helpers)
[[ "$socks" == *"$b_ns"* ]] && fail "a socket of nsbridge is still in b's namespace: $socks"
[[ "$socks" == *"$(nsx "$a" readlink /proc/self/ns/net)"* ]] || fail "no socket of nsbridge left in a's namespace"
get "" "$app_b" >/dev/null 2>&1 && fail "b's app still answered on the host after b stopped"
for round in 1 2 3; do
	serving "$a" "$c"
done
"$NSB" status --json "$NSB_PID" >"$T/status.json" || fail "nsbridge status --json"
python3 - "$T/status.json" <<'EOF' || fail "status --json after b stopped"
import json, sys
doc = json.load(open(sys.argv[1]))[0]
assert [x["running"] for x in doc["containers"]] == [True, False, True], doc["containers"]
EOF
pass "pid:N of b exits: b's listener and every socket in its namespace close, a and c go on serving"

kill -0 "$NSB_PID" || fail "nsbridge exited"
stop_nsb TERM
assert_eq "exit status" 0 "$NSB_STATUS"

# --- a single -c anywhere is for every pair; NSBRIDGE_CONTAINER before the first
start_nsb "host:$db" "container:$db" -c "netns:$a" "container:$app" "host:$app_a"
serving "$a"
stop_nsb TERM
NSBRIDGE_CONTAINER="netns:$a" start_nsb "host:$db" "container:$db" "container:$app" "host:$app_a" \
	-c "netns:$c" "host:$db" "container:$db" -c "netns:$c" "container:$app" "host:$app_c"
serving "$a" "$c"
assert_eq "openers for two containers" 1 "$(openers "$NSB_PID")"
stop_nsb TERM
pass "a single -c after a pair is for it too; NSBRIDGE_CONTAINER for the pairs before the first of two -c; two -c c are one side"

# --- --config: a bridge names its own container ---------------------------------
cat >"$T/multi.conf" <<EOF
container = "netns:$a";
bridges = (
  { service = "host:$db"; expose = "container:$db"; },
  { service = "container:$app"; expose = "host:$app_a"; },
  { service = "host:$db"; expose = "container:$db"; container = "netns:$c"; },
  { service = "container:$app"; expose = "host:$app_c"; container = "netns:$c"; }
);
EOF
NSB_READY=4 start_nsb --config "$T/multi.conf"
serving "$a" "$c"
stop_nsb TERM
pass "--config: bridges in the file's container and in their own"

# --- refusals: one line, exit 2 --------------------------------------------------
refused() {	# REGEX ARGS...
	local regex=$1 out rc
	shift
	out=$("$NSB" "$@" 2>&1)
	rc=$?
	assert_eq "exit status of $*" 2 "$rc"
	assert_eq "one line for $*" 1 "$(printf '%s\n' "$out" | wc -l)"
	assert_match "message of $*" "$regex" "$out"
}
refused "'-c netns:$c' comes between SERVICE 'host:$db' and its EXPOSE" \
	-c "netns:$a" "host:$db" "container:$db" "host:$db" -c "netns:$c" "container:$db"
refused "--mirror follows one container" -c "netns:$a" -c "netns:$c" --mirror host container
refused "'container:$db'.*needs --container" \
	"host:$db" "container:$db" -c "netns:$a" "host:$app" "container:$app" -c "netns:$c" "host:$app" "container:$app"
refused "SERVICE container:$db is the same socket as EXPOSE host:$db \\(container self is the same network namespace as host\\)" \
	-c "netns:$a" "host:$db" "container:$db" -c self "container:$db" "host:$db"
refused "SERVICE host:$app_b is the same socket as EXPOSE host:$app_b, and SERVICE container:$app_c as EXPOSE container:$app_c \\(container /run/netns/$a is the same network namespace as container netns:$a\\): the two bridges would relay to each other" \
	-c "netns:$a" "host:$app_b" "container:$app_c" -c "/run/netns/$a" "container:$app_c" "host:$app_b"
pass "a -c inside a pair, --mirror with two containers, a pair no container reaches, a self-bridge through -c self or through two REFs of one namespace: exit 2, one line"
