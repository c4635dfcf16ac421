#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# labels_sources.sh - nsbridge --labels --labels-sources CIDR: each labelled
# container of a private dockerd reaches the host's PostgreSQL from an
# address of its own. pg_hba.conf trusts web's and has no entry for ci's:
# psql in web runs a query that the server's log names by web's address,
# psql in ci gets PostgreSQL's own refusal. docker restart web: the same
# address. A container whose label asks for an address is refused; the
# /30 has two addresses, so a third container is refused and the others
# serve on. A container removed gives its address up only when a new name
# needs one. With --proxy-protocol in a container's options label, the
# header carries its name and ID, over a connection from its address.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

need_postgres
start_dockerd
import_busybox
pick_port pg
pick_port peer
start_postgres "$pg" "host all all 127.77.0.1/32 trust"
bg python3 "$(dirname "$0")/../integration/proxy_peer.py" 127.0.0.1 "$peer" "$T/peer.log"
wait_listen "" "$peer"

NSB_READY=0 start_nsb --labels --labels-sources 127.77.0.0/30 --sources-file "$T/sources"

# run_db NAME [OPTIONS] - a container that asks for the host's PostgreSQL
# on its 127.0.0.1:5432, with an nsbridge.options label of OPTIONS if given
run_db() {
	local opts=()
	[ $# -gt 1 ] && opts=(--label "nsbridge.options=$2")
	docker run -d --name "$1" --network none --label "nsbridge.bridges=host:$pg container:5432" \
		"${opts[@]}" "$BUSYBOX_IMAGE" sleep 100000 >/dev/null || fail "docker run $1"
}

# bridged NAME - NAME's bridge is ready for its current init
bridged() {
	[ "$(ct_status field "$1" running)" = true ] && [ "$(ct_status bridges "$1")" = 1 ] &&
		[ "$(ct_status field "$1" source)" != absent ] &&
		nsenter --net="/proc/$(container_pid "$1")/ns/net" ss -Htln "sport = :5432" | grep -q .
}

# psql_in NAME SQL - the host's psql in container NAME's network namespace,
# to its 127.0.0.1:5432: a client in the container, as a user's app is
psql_in() {
	nsenter --net="/proc/$(container_pid "$1")/ns/net" \
		psql -h 127.0.0.1 -p 5432 -U postgres -w -Atc "$2" 2>&1
}

run_db web
wait_until "web's bridge" 30 bridged web
run_db ci
wait_until "ci's bridge" 30 bridged ci

pg_hba_by_container() {
	local out
	assert_eq "web's address in status" 127.77.0.1 "$(ct_status field web source)"
	assert_eq "ci's address in status" 127.77.0.2 "$(ct_status field ci source)"
	out=$(psql_in web "select 'web says ' || inet_client_addr()") || fail "psql in web: $out"
	assert_eq "psql in web" "web says 127.77.0.1/32" "$out"
	out=$(psql_in ci "select 'ci says hello'") && fail "psql in ci was let in: $out"
	assert_match "psql in ci: PostgreSQL's own refusal" \
		'no pg_hba.conf entry for host "127.77.0.2"' "$out"
	assert_match "the server's log names web's address for web's query" \
		"host=127.77.0.1 LOG:  statement: select 'web says '" "$(cat "$T/postgres.log")"
	assert_eq "the sources file" \
		"$(printf '127.77.0.1 web %s\n127.77.0.2 ci %s' "$(docker inspect -f '{{.Id}}' web)" \
			"$(docker inspect -f '{{.Id}}' ci)")" "$(grep -v '^#' "$T/sources")"
	pass "two labelled containers, two addresses: pg_hba.conf lets web in and not ci; the file names both with their IDs"
}

restart_keeps() {
	local pid out
	pid=$(container_pid web)
	docker restart -t 0 web >/dev/null || fail "docker restart web"
	wait_until "web's bridge after its restart" 30 _restarted web "$pid"
	assert_eq "web's address after its restart" 127.77.0.1 "$(ct_status field web source)"
	out=$(psql_in web "select 'again ' || inet_client_addr()") || fail "psql in web: $out"
	assert_eq "psql in web after its restart" "again 127.77.0.1/32" "$out"
	pass "docker restart web: the same address, and pg_hba.conf still lets it in"
}
_restarted() {
	[ "$(container_pid "$1")" != "$2" ] && [ "$(container_pid "$1")" != 0 ] && bridged "$1"
}

label_asks() {
	run_db sneaky "--source 127.77.0.1"
	wait_until "sneaky's refusal" 30 grep -q "container sneaky: refused: options label: --source: a container's address is given by --labels-sources" "$NSB_LOG"
	assert_eq "sneaky's bridges" 0 "$(ct_status bridges sneaky)"
	assert_eq "sneaky's address" absent "$(ct_status field sneaky source)"
	pass "a label that asks for an address is refused: $(grep -o 'container sneaky: refused: .*' "$NSB_LOG" | head -n 1)"
}

range_full() {
	local out
	run_db third
	wait_until "third's refusal" 30 grep -q "container third: refused: no address of --labels-sources 127.77.0.0/30 is left" "$NSB_LOG"
	assert_eq "third's bridges" 0 "$(ct_status bridges third)"
	out=$(psql_in web "select 'still ' || inet_client_addr()") || fail "psql in web: $out"
	assert_eq "psql in web with the range full" "still 127.77.0.1/32" "$out"
	assert_match "ci still served" 'no pg_hba.conf entry for host "127.77.0.2"' \
		"$(psql_in ci "select 1")"
	pass "a /30 has two addresses: the third container is refused in one line, web and ci serve on"
}

taken_back() {
	docker rm -f ci >/dev/null || fail "docker rm ci"
	docker rm -f third >/dev/null
	run_db fourth
	wait_until "fourth's bridge" 30 bridged fourth
	assert_eq "fourth's address: ci's, taken back" 127.77.0.2 "$(ct_status field fourth source)"
	assert_match "the log says whose it was" "container fourth is given 127.77.0.2, which ci had" \
		"$(cat "$NSB_LOG")"
	assert_eq "web's, kept" 127.77.0.1 "$(ct_status field web source)"
	pass "ci removed, a new name gets the address ci had; web keeps its own"
}

proxy_header_names_container() {
	local id out
	docker rm -f fourth >/dev/null || fail "docker rm fourth"
	docker run -d --name pp --network none --label "nsbridge.bridges=host:$peer container:7000" \
		--label "nsbridge.options=--proxy-protocol" "$BUSYBOX_IMAGE" sleep 100000 >/dev/null ||
		fail "docker run pp"
	wait_until "pp's bridge" 30 _pp_ready
	id=$(docker inspect -f '{{.Id}}' pp)
	out=$(printf 'from pp\n' | nsenter --net="/proc/$(container_pid pp)/ns/net" \
		socat -t 30 - TCP:127.0.0.1:7000) || fail "socat in pp"
	assert_eq "the peer's answer" ok "$out"
	wait_until "the peer's line" 10 grep -q "data=from pp" "$T/peer.log"
	assert_match "the header" "^peer=127.77.0.2:[0-9]+ proxy=v2 cmd=1 family=0x11 src=127.0.0.1:[0-9]+ dst=127.0.0.1:7000 netns=pp id=$id data=from pp$" \
		"$(cat "$T/peer.log")"
	pass "--proxy-protocol in an options label: the header names the container and its ID; the connection comes from its address"
}
_pp_ready() {
	[ "$(ct_status bridges pp)" = 1 ] &&
		nsenter --net="/proc/$(container_pid pp)/ns/net" ss -Htln "sport = :7000" | grep -q .
}

check pg_hba_by_container
check restart_keeps
check label_asks
check range_full
check taken_back
check proxy_header_names_container
