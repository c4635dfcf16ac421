#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# prometheus.sh - --metrics as Prometheus reads it: promtool accepts the
# text, and a real Prometheus server scraping every second finds the
# connections, bytes and refusals that went through, joined to what each
# bridge is by nsbridge_bridge_info
#
# Bridges of each kind (TCP, UDP, a unix: SERVICE, a range) in one
# nsbridge. What is counted is what the clients saw: curl says how many
# bytes it sent and received. The test waits for Prometheus to have
# scraped the final counts (a state), then asks its HTTP API.
. "$(dirname "$0")/lib.sh"

HERE=$(dirname "$(readlink -f "$0")")
PROMQL="python3 $HERE/promql.py"
command -v prometheus >/dev/null && command -v promtool >/dev/null ||
	skip "Prometheus is not installed (tests/deps.sh)"

mkns ns prom
pick_port web "$ns"
pick_port dead "$ns"
pick_port udp "$ns"
pick_port ux "$ns"
pick_range rng 3 "$ns"
pick_port metrics "$ns"
pick_port pport "$ns"
pick_port moved "$ns"
mkdir -p "$T/www"
head -c 5000 /dev/urandom | base64 -w 100 >"$T/www/page.txt"
start_nginx "" "$web" "$T/www" 127.0.0.1
start_nginx "" "$rng" "$T/www" 127.0.0.1
bg python3 "$HERE/udp_peer.py" echo "$udp"
bg socat "UNIX-LISTEN:$T/echo.sock,fork" EXEC:cat
wait_until "the unix echo service" 30 test -S "$T/echo.sock"
chmod 666 "$T/echo.sock"	# the relay runs as nobody after set-up

start_nsb -c "netns:$ns" --metrics "127.0.0.1:$metrics" \
	"host:127.0.0.1:$web" "container:$web" "host:127.0.0.1:$dead" "container:$dead" \
	"host:$udp/udp" "container:$udp/udp" "unix:$T/echo.sock" "container:$ux" \
	"host:127.0.0.1:$rng-$((rng + 2))" "container:$rng-$((rng + 2))"

scrape() {
	curl -sS --max-time 10 "http://127.0.0.1:$metrics/metrics" >"$T/metrics.txt" ||
		fail "scraping --metrics: curl exit $?"
}
sample() {	# SERIES-WITH-LABELS: the value of the one sample that starts so
	awk -v s="$1" 'index($0, s) == 1 { print $NF }' "$T/metrics.txt"
}

promtool_accepts() {
	local out
	scrape
	out=$(promtool check metrics <"$T/metrics.txt" 2>&1) || fail "promtool check metrics: $out"
	assert_eq "promtool's complaints" "" "$out"
	pass "promtool check metrics: no error, no warning ($(grep -vc '^#' "$T/metrics.txt") samples)"
}

# Every labelled series of a bridge is there, at 0, before anything happened
zero_from_the_start() {
	local reason
	scrape
	for reason in refused timeout access gone error; do
		assert_eq "refusals of bridge 1, $reason" 0 \
			"$(sample "nsbridge_connections_refused_total{bridge=\"1\",reason=\"$reason\"}")"
	done
	assert_eq "bytes of bridge 0 to the client" 0 \
		"$(sample 'nsbridge_bytes_total{bridge="0",direction="to_client"}')"
	assert_eq "UDP datagrams of bridge 2 to SERVICE" 0 \
		"$(sample 'nsbridge_udp_datagrams_total{bridge="2",direction="to_service"}')"
	assert_eq "connect durations of bridge 0" 0 \
		"$(sample 'nsbridge_connect_duration_seconds_count{bridge="0"}')"
	assert_eq "info rows: 5 bridges, each on 127.0.0.1 and ::1" 10 \
		"$(grep -c '^nsbridge_bridge_info{' "$T/metrics.txt")"
	assert_match "the unix SERVICE's row" \
		"nsbridge_bridge_info\\{bridge=\"3\",proto=\"tcp\",service_side=\"host\",service_address=\"$T/echo.sock\",service_port=\"\",expose_side=\"container\",expose_address=\"127.0.0.1\",expose_port=\"$ux\",container=\"netns:$ns\"\\} 1" \
		"$(cat "$T/metrics.txt")"
	assert_match "the range's row" \
		"nsbridge_bridge_info\\{bridge=\"4\",[^}]*service_port=\"$rng-$((rng + 2))\",[^}]*expose_address=\"::1\",expose_port=\"$rng-$((rng + 2))\"" \
		"$(cat "$T/metrics.txt")"
	pass "every reason, direction and histogram is there at 0 before the first client; one info row per address"
}

start_prometheus() {
	cat >"$T/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  scrape_timeout: 1s
	scrape_configs:
	  - job_name: nsbridge
	    static_configs:
	      - targets: ['127.0.0.1:$metrics']
	EOF
	bg_to "$T/prometheus.log" prometheus --config.file="$T/prometheus.yml" \
		--storage.tsdb.path="$T/tsdb" --web.listen-address="127.0.0.1:$pport"
	wait_until "Prometheus's first good scrape of nsbridge" 60 _scraped_up
}
_scraped_up() {
	[ "$($PROMQL "$pport" --targets 2>/dev/null)" = "up " ]
}

# TRAFFIC: 5 fetches of the page through bridge 0, 3 refused connects on
# bridge 1, 2 datagrams each way on bridge 2, one line through the unix one
traffic() {
	local i sizes
	for i in 1 2 3 4 5; do
		sizes=$(nsx "$ns" curl -sS --max-time 10 -o /dev/null \
			-w '%{size_request} %{size_header} %{size_download}\n' \
			"http://127.0.0.1:$web/page.txt") || fail "fetch $i through bridge 0"
		echo "$sizes" >>"$T/sizes"
	done
	for i in 1 2 3; do
		nsx "$ns" curl -sS --max-time 10 "http://127.0.0.1:$dead/" >/dev/null 2>&1 &&
			fail "a connect to the dead SERVICE was answered"
	done
	nsx "$ns" python3 "$HERE/udp_peer.py" ask "$udp" aaaa bbbbbb >/dev/null || fail "UDP through bridge 2"
	assert_eq "the unix echo" hello \
		"$(echo hello | nsx "$ns" socat -t 5 - "TCP:127.0.0.1:$ux")"
}

# query QUERY: Prometheus's answer, one series a line
query() {
	$PROMQL "$pport" "$1" || fail "query $1"
}
_has() {	# QUERY EXPECTED: Prometheus answers EXPECTED now
	[ "$($PROMQL "$pport" "$1" 2>/dev/null)" = "$2" ]
}

scraped_counts() {
	local to_service to_client
	traffic
	to_service=$(awk '{ s += $1 } END { print s }' "$T/sizes")
	to_client=$(awk '{ s += $2 + $3 } END { print s }' "$T/sizes")
	# the connections closed: the last scrape after that has every count
	wait_until "the final counts in Prometheus" 60 _has \
		'nsbridge_connection_duration_seconds_count{bridge="0"}' "bridge=0,instance=127.0.0.1:$metrics,job=nsbridge 5"
	wait_until "the unix bridge's bytes in Prometheus" 60 _has \
		'nsbridge_bytes_total{bridge="3",direction="to_client"}' \
		"bridge=3,direction=to_client,instance=127.0.0.1:$metrics,job=nsbridge 6"
	assert_eq "accepted on bridge 0" "bridge=0,instance=127.0.0.1:$metrics,job=nsbridge 5" \
		"$(query 'nsbridge_connections_accepted_total{bridge="0"}')"
	assert_eq "bytes to SERVICE, as curl sent them" "$to_service" \
		"$(query 'nsbridge_bytes_total{bridge="0",direction="to_service"}' | awk '{ print $NF }')"
	assert_eq "bytes to the client, as curl received them" "$to_client" \
		"$(query 'nsbridge_bytes_total{bridge="0",direction="to_client"}' | awk '{ print $NF }')"
	assert_eq "connect durations counted" 5 \
		"$(query 'nsbridge_connect_duration_seconds_count{bridge="0"}' | awk '{ print $NF }')"
	assert_eq "connects within the +Inf bucket" 5 \
		"$(query 'nsbridge_connect_duration_seconds_bucket{bridge="0",le="+Inf"}' | awk '{ print $NF }')"
	assert_eq "refused on bridge 1, by reason" \
		"access 0
error 0
gone 0
refused 3
timeout 0" "$(query 'nsbridge_connections_refused_total{bridge="1"}' |
		sed 's/.*reason=\([a-z]*\) \([0-9]*\)$/\1 \2/')"
	assert_eq "UDP datagrams to SERVICE" 2 \
		"$(query 'nsbridge_udp_datagrams_total{bridge="2",direction="to_service"}' | awk '{ print $NF }')"
	pass "Prometheus scraped 5 connections, $to_service and $to_client bytes as curl counted them, 5 connect durations, 3 refusals as refused, 2 datagrams"
}

# What a dashboard does: bytes by container and port, through the info series
joined_by_bridge() {
	local q='sum by (container, expose_port) (nsbridge_bytes_total{direction="to_client"} * on(bridge) group_left(container, expose_port) group by (bridge, container, expose_port) (nsbridge_bridge_info))'
	assert_match "bytes to clients of port $web of netns:$ns" \
		"^container=netns:$ns,expose_port=$web [1-9][0-9]*$" "$(query "$q" | grep "expose_port=$web ")"
	assert_match "p99 connect latency of bridge 0, in seconds" '^bridge=0 [0-9.e-]+$' \
		"$(query 'histogram_quantile(0.99, sum by (bridge, le) (nsbridge_connect_duration_seconds_bucket{bridge="0"}))')"
	pass "bytes grouped by container and port through nsbridge_bridge_info; a connect p99 from the histogram"
}

# A change removes bridge 1 and adds one: bridge 0 keeps its number and
# its counts; the new one takes the freed slot, from 0
bridge_number_kept() {
	local before out
	scrape
	before=$(grep '{bridge="0"' "$T/metrics.txt" | grep -v '_seconds\|duration')
	out=$("$NSB" remove "$NSB_PID" "container:$dead" 2>&1) || fail "nsbridge remove: $out"
	out=$("$NSB" add "$NSB_PID" "host:127.0.0.1:$web" "container:$moved" 2>&1) || fail "nsbridge add: $out"
	scrape
	assert_eq "bridge 0's counters after the change" "$before" \
		"$(grep '{bridge="0"' "$T/metrics.txt" | grep -v '_seconds\|duration')"
	assert_match "bridge 0 is still port $web" \
		"nsbridge_bridge_info\\{bridge=\"0\",[^}]*expose_port=\"$web\"" "$(cat "$T/metrics.txt")"
	assert_match "the added bridge took slot 1" \
		"nsbridge_bridge_info\\{bridge=\"1\",[^}]*expose_port=\"$moved\"" "$(cat "$T/metrics.txt")"
	assert_eq "the added bridge's refusals" 0 \
		"$(sample 'nsbridge_connections_refused_total{bridge="1",reason="refused"}')"
	pass "remove and add: bridge 0 keeps its number and counts; the new bridge takes slot 1 at 0"
}

check promtool_accepts
check zero_from_the_start
start_prometheus
check scraped_counts
check joined_by_bridge
check bridge_number_kept
