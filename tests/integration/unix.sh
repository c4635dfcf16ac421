#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# unix.sh - a PostgreSQL server that listens only on its unix socket, queried
# with psql over TCP from inside a namespace through unix:PATH
. "$(dirname "$0")/lib.sh"

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pgbin/postgres" ] && command -v psql >/dev/null ||
	skip "PostgreSQL is not installed (tests/deps.sh)"
id postgres >/dev/null 2>&1 || skip "no postgres user"

mkns ns unix
pick_port port "$ns"
mkdir "$T/pg" "$T/sock"
chown postgres: "$T/pg" "$T/sock"
runuser -u postgres -- "$pgbin/initdb" -D "$T/pg" -A trust -U postgres >"$T/initdb.log" 2>&1 ||
	fail "initdb: $(tail -n 3 "$T/initdb.log")"
bg_to "$T/postgres.log" runuser -u postgres -- "$pgbin/postgres" -D "$T/pg" -k "$T/sock" \
	-c listen_addresses= -c fsync=off
sock=$T/sock/.s.PGSQL.5432
for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || fail "postgres did not make $sock: $(tail -n 3 "$T/postgres.log")"
[ -z "$(ss -Htln | grep -v '^$')" ] || fail "postgres listens on TCP too: $(ss -Htln)"

start_nsb -c "netns:$ns" "unix:$sock" "container:$port"
assert_match "ready line" "unix:$sock -> container netns:$ns 127.0.0.1:$port" "$(cat "$NSB_LOG")"
assert_eq "the relay's capabilities" 0000000000000000 "$(cap_eff "$NSB_PID")"

psql_over_tcp() {
	local q host out
	q="select 'answered over ' || case when inet_client_addr() is null then 'unix' else 'tcp' end || ' ' || 6 * 7"
	for host in 127.0.0.1 ::1; do
		out=$(nsx "$ns" psql -h "$host" -p "$port" -U postgres -w -Atc "$q" 2>&1) ||
			fail "psql -h $host inside the namespace: $out"
		assert_eq "psql -h $host" "answered over unix 42" "$out"
	done
	pass "psql over TCP inside the namespace reaches PostgreSQL on its unix socket only"
}

# a session of several statements, and a transfer larger than the buffers
session_and_transfer() {
	local out
	out=$(nsx "$ns" psql -h 127.0.0.1 -p "$port" -U postgres -w -At <<-'SQL' 2>&1
	create table t (n int, s text);
	insert into t select g, repeat(md5(g::text), 8) from generate_series(1, 20000) g;
	select count(*), sum(length(s)) from t;
	SQL
	) || fail "psql session: $out"
	assert_match "psql session" "20000\|5120000" "$out"
	out=$(nsx "$ns" psql -h 127.0.0.1 -p "$port" -U postgres -w -At -c "select s from t" | md5sum)
	assert_eq "20,000 rows read back" \
		"$(runuser -u postgres -- psql -h "$T/sock" -U postgres -w -At -c 'select s from t' | md5sum)" "$out"
	pass "a session and a 5 MB result through the bridge, byte for byte"
}

check psql_over_tcp
check session_and_transfer

stop_nsb
exits_clean() {
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "SIGTERM: exit 0"
}
check exits_clean
