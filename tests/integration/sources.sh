#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# sources.sh - --source: each container's connections to the host come from
# an address of its own, and a host service tells them apart. A real
# PostgreSQL on the host's 127.0.0.1 whose pg_hba.conf trusts web's address
# only: psql in web runs a query, which the server's log names by web's
# address; psql in ci gets PostgreSQL's own "no pg_hba.conf entry" error.
# UDP flows come from the same address; a SERVICE without ADDR is tried at
# 127.0.0.1 only, one at [::1] comes from ::1. The map shows in status,
# its JSON, the metrics, nsbridge ports and the sources file, which another
# nsbridge may not take over.
. "$(dirname "$0")/lib.sh"

need_postgres
mkns web web
mkns ci ci
pick_port pg
pick_port udp
pick_port v6
pick_port metrics
mkdir "$T/www"
echo "v6 only" >"$T/www/index.html"
start_postgres "$pg" "host all all 127.77.0.5/32 trust"
start_nginx "" "$v6" "$T/www" "[::1]"
# a UDP service that answers each datagram with the address it came from
bg python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(("%s %s" % (peer[0], data.decode().strip())).encode(), peer)
' "$udp"

start_nsb --sources-file "$T/sources" --metrics "127.0.0.1:$metrics" \
	-c "netns:$web" --source 127.77.0.5 "host:$pg" container:5432 \
	"host:$udp/udp" "container:$udp/udp" "host:$v6" "container:$v6" \
	"host:[::1]:$v6" container:6666 \
	-c "netns:$ci" --source 127.77.0.6 "host:$pg" container:5432

# psql_in NS SQL - psql inside NS, to the bridge on its 127.0.0.1:5432
psql_in() {
	nsx "$1" psql -h 127.0.0.1 -p 5432 -U postgres -w -Atc "$2" 2>&1
}

pg_hba_by_container() {
	local out
	out=$(psql_in "$web" "select 'web says ' || inet_client_addr()") ||
		fail "psql in web: $out"
	assert_eq "psql in web" "web says 127.77.0.5/32" "$out"
	out=$(psql_in "$ci" "select 'ci says hello'") && fail "psql in ci was let in: $out"
	assert_match "psql in ci: PostgreSQL's own refusal" \
		'no pg_hba.conf entry for host "127.77.0.6"' "$out"
	assert_match "the server's log names web's address for web's query" \
		"host=127.77.0.5 LOG:  statement: select 'web says '" "$(cat "$T/postgres.log")"
	pass "pg_hba.conf tells web (127.77.0.5, trusted) from ci (127.77.0.6, no entry)"
}

udp_from_source() {
	local out
	out=$(nsx "$web" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(30)
s.sendto(b"ping", ("127.0.0.1", int(sys.argv[1])))
print(s.recv(2048).decode())
' "$udp") || fail "a datagram from web got no answer"
	assert_eq "the UDP service's answer in web" "127.77.0.5 ping" "$out"
	pass "a UDP flow of web comes from 127.77.0.5 too"
}

# The host service listens on [::1] only. Without ADDR, SERVICE would be
# tried at [::1] after 127.0.0.1 refused - but [::1] has no address of
# web's to come from, so it is tried at 127.0.0.1 only, and the client is
# reset; SERVICE [::1] said outright is reached, from ::1
ipv6_rule() {
	local out rc=0
	out=$(nsx "$web" curl -sS --max-time 5 "http://127.0.0.1:$v6/" 2>&1) || rc=$?
	# a reset: in the reply (56, 52), or before curl's getpeername (55) or
	# its connect() returned (7), as failover.sh takes it
	case $rc in 7|52|55|56) ;; *)
		fail "SERVICE without ADDR, only [::1] listening: curl exit $rc ($out), expected a reset" ;;
	esac
	wait_until "the line of the refusal" 10 grep -q \
		"host 127.0.0.1:$v6 refused the connection: Connection refused; the client was reset" \
		"$NSB_LOG"
	out=$(nsx "$web" curl -sS --max-time 5 "http://127.0.0.1:6666/") ||
		fail "SERVICE [::1]: curl in web failed"
	assert_eq "SERVICE [::1] from web" "v6 only" "$out"
	pass "with --source, SERVICE without ADDR is 127.0.0.1 only; [::1] said outright is reached"
}

map_shown() {
	local web_ref="netns:$web" ci_ref="netns:$ci" text
	assert_eq "the sources file" \
		"$(printf '%s %s -\n%s %s -' 127.77.0.5 "$web_ref" 127.77.0.6 "$ci_ref")" \
		"$(grep -v '^#' "$T/sources")"
	assert_match "the file's first line names this nsbridge" "^# nsbridge $NSB_PID: ADDRESS" \
		"$(head -n 1 "$T/sources")"
	text=$("$NSB" status "$NSB_PID") || fail "nsbridge status"
	assert_match "status shows web's address" "container $web_ref running from 127.77.0.5" "$text"
	"$NSB" status --json "$NSB_PID" | python3 -c '
import json, sys
doc = json.load(sys.stdin)[0]
got = {c["container"]: c.get("source") for c in doc["containers"]}
want = {sys.argv[1]: "127.77.0.5", sys.argv[2]: "127.77.0.6"}
sys.exit(0 if got == want else "status --json containers: %r, expected %r" % (got, want))
' "$web_ref" "$ci_ref" || fail "status --json"
	text=$(curl -sS "http://127.0.0.1:$metrics/metrics") || fail "curl /metrics"
	assert_match "metrics" "nsbridge_container_source_info\{container=\"$web_ref\",address=\"127.77.0.5\"\} 1" "$text"
	text=$("$NSB" ports -c "$web_ref") || fail "nsbridge ports"
	assert_match "nsbridge ports in web" "$web_ref from 127.77.0.5" "$text"
	pass "the map in the file, status, status --json, the metrics and nsbridge ports"
}

file_kept() {
	local out rc=0
	out=$("$NSB" --sources-file "$T/sources" -c "netns:$ci" --source 127.77.0.9 \
		"host:$pg" container:5499 2>&1) || rc=$?
	assert_eq "another nsbridge on the same --sources-file: exit status" 1 "$rc"
	assert_eq "its stderr lines ($out)" 1 "$(grep -c . <<<"$out")"
	assert_match "its line" "--sources-file $T/sources is the map of nsbridge $NSB_PID, which runs" "$out"
	assert_match "the file is still ours" "^# nsbridge $NSB_PID:" "$(head -n 1 "$T/sources")"
	pass "a second nsbridge refuses a --sources-file that a running one keeps"
}

bad_sources() {
	local out rc
	for args in "--source 10.0.0.5 -c netns:$web host:1 container:1" \
		"-c netns:$web --source 127.77.0.5 container:1 host:1" \
		"--labels --labels-sources 127.77.0.0/33"; do
		rc=0
		# shellcheck disable=SC2086
		out=$("$NSB" $args 2>&1) || rc=$?
		assert_eq "nsbridge $args: exit status ($out)" 2 "$rc"
		assert_eq "nsbridge $args: lines" 1 "$(grep -c . <<<"$out")"
	done
	pass "a bad --source or --labels-sources: exit 2 and one line, nothing started"
}

check bad_sources
check pg_hba_by_container
check udp_from_source
check ipv6_rule
check map_shown
check file_kept

stop_nsb
file_removed() {
	assert_eq "exit status" 0 "$NSB_STATUS"
	[ ! -e "$T/sources" ] || fail "the sources file is left after exit"
	pass "SIGTERM: exit 0, the sources file removed"
}
check file_removed
