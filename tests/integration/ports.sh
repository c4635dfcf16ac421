#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ports.sh - nsbridge ports: who listens in a namespace, as a table and as JSON
. "$(dirname "$0")/lib.sh"

PEER="python3 $(dirname "$(readlink -f "$0")")/udp_peer.py"
mkns ns ports
lo_up "$ns"
pick_port web "$ns"
pick_port dns "$ns"
pick_port bridged "$ns"
mkdir -p "$T/www" && echo hello >"$T/www/index.html"
start_nginx "$ns" "$web" "$T/www" 127.0.0.1
bg ip netns exec "$ns" $PEER echo "$dns"
for _ in $(seq 1 100); do nsx "$ns" ss -Hunl "sport = :$dns" | grep -q . && break; sleep 0.05; done
start_nginx "" "$bridged" "$T/www" 127.0.0.1
start_nsb -c "netns:$ns" "host:$bridged" "container:$bridged"

out=$("$NSB" ports -c "netns:$ns") || fail "nsbridge ports: $out"
echo "$out"
assert_match "header" "^PROTO +ADDRESS +PORT +PID +COMMAND +NSBRIDGE" "$out"
assert_match "nginx's port" $'\n'"tcp +127\.0\.0\.1 +$web +[0-9]+ +nginx +no" "$out"
assert_match "the UDP server" $'\n'"udp +127\.0\.0\.1 +$dns +[0-9]+ +python3 +no" "$out"
assert_match "nsbridge's listener" $'\n'"tcp +127\.0\.0\.1 +$bridged +$NSB_PID +nsbridge +yes" "$out"
assert_match "nsbridge's IPv6 listener" $'\n'"tcp +\[::1\] +$bridged +$NSB_PID +nsbridge +yes" "$out"
pass "a table of every listener inside, with its process, nsbridge's marked"

json=$("$NSB" ports -c "netns:$ns" --json) || fail "nsbridge ports --json"
python3 - "$json" "$web" "$dns" "$bridged" "$NSB_PID" <<'PY' || fail "the JSON does not say so: $json"
import json, sys
doc, web, dns, bridged, nsb = json.loads(sys.argv[1]), *map(int, sys.argv[2:])
rows = {(s["proto"], s["address"], s["port"]): s for s in doc["sockets"]}
assert rows[("tcp", "127.0.0.1", web)]["command"] == "nginx"
assert rows[("tcp", "127.0.0.1", web)]["nsbridge"] is False
assert rows[("udp", "127.0.0.1", dns)]["command"] == "python3"
assert rows[("tcp", "127.0.0.1", bridged)]["pid"] == nsb
assert rows[("tcp", "[::1]", bridged)]["nsbridge"] is True
assert doc["namespace"].startswith("container netns:")
PY
pass "--json: the same, for scripts"

host=$("$NSB" ports) || fail "nsbridge ports on the host"
assert_match "the host's nginx" $'\n'"tcp +127\.0\.0\.1 +$bridged +[0-9]+ +nginx +no" "$host"
pass "without -c: the host's own namespace"

"$NSB" ports -c netns:nsbt-absent-$$ >/dev/null 2>"$T/err"
assert_eq "a namespace that does not exist" 4 "$?"
"$NSB" ports extra >/dev/null 2>"$T/err"
assert_eq "an argument after ports" 2 "$?"
"$NSB" --json "host:$web" "container:$web" >/dev/null 2>"$T/err"
assert_eq "--json without ports" 2 "$?"
pass "errors: exit 4 for no such namespace, 2 for a usage error"
