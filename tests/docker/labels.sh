#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# labels.sh - nsbridge --labels: containers of a private dockerd ask for
# bridges with the nsbridge.bridges label. Four labelled ones (one started
# before nsbridge) get theirs both ways; an unlabelled one gets nothing;
# bad labels (syntax, a non-loopback EXPOSE, a host port below the floor)
# are refused for that container only; of two asking for one host port the
# first keeps it and the second is refused naming both. docker stop, start,
# rm -f and docker-compose up/down make bridges come and go, with no socket
# left in a removed container's namespace. Then 50 labelled containers.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

start_dockerd
import_busybox
pick_port db
pick_port app
pick_port dup
pick_port metrics
for name in pre a1 a2 a3 cp guard; do
	pick_port "p_$name"
done
mkdir -p "$T/www" && echo "host db" >"$T/www/index.html"
start_nginx "" "$db" "$T/www" 127.0.0.1

# run_app NAME LABEL - a container whose httpd serves "app NAME" on its
# loopback's $app; LABEL "" for none
run_app() {
	local label=()
	[ -n "$2" ] && label=(--label "nsbridge.bridges=$2")
	docker run -d --name "$1" --network none "${label[@]}" "$BUSYBOX_IMAGE" sh -c \
		"echo 'app $1' >/www/index.html; httpd -p 127.0.0.1:$app -h /www; exec sleep 100000" \
		>/dev/null || fail "docker run $1"
}

# label_of NAME - both directions: the host's db inside, its app on the host
label_of() {
	local p="p_$1"
	echo "host:$db container:$db, container:$app host:${!p}"
}

# fetch CONTAINER PORT - what a wget inside the container gets from its loopback
fetch() {
	# busybox 1.35's wget -T crashes when statically linked: bound it from outside
	timeout 10 docker exec "$1" wget -qO- "http://127.0.0.1:$2/" 2>/dev/null
}

# serving NAME... - bytes both ways through each one's bridges, as directly
serving() {
	local name p body
	for name in "$@"; do
		p="p_$name"
		assert_eq "host db inside $name (direct: $(curl -sS "http://127.0.0.1:$db/"))" \
			"host db" "$(fetch "$name" "$db")"
		body=$(curl -sS --max-time 5 "http://127.0.0.1:${!p}/") || fail "curl to the app of $name"
		assert_eq "the app of $name on the host (direct: $(fetch "$name" "$app"))" "app $name" "$body"
	done
}

# status_field NAME FIELD - a field of NAME's entry in status --json's containers, "absent" if none
status_field() {
	ct_status field "$1" "$2"
}

# bridges_of NAME - how many bridges status --json shows with NAME as their container
bridges_of() {
	ct_status bridges "$1"
}

# options_of NAME - "max_connections connect_timeout_ms allow_uid..." of NAME's first bridge
options_of() {
	ct_status options "$1"
}

# waited START - milliseconds since START
waited() {
	echo $(($(now_ms) - $1))
}

# app_answers NAME - NAME's app answers inside NAME
app_answers() {
	[ "$(fetch "$1" "$app")" = "app $1" ]
}
wait_app() {
	wait_until "the app of $1" 30 app_answers "$1"
}

# --- one labelled container before nsbridge, three after, and the others -------
# The nsbridge --labels every behaviour below shares, and the containers
# they look at: pre before it, the rest after
run_app pre "$(label_of pre)"
wait_app pre
# a --config file, for a reload to change what the labels do not set
printf 'max-connections = 500;\nconnect-timeout = "5s";\n' >"$T/nsb.conf"
NSB_READY=0 start_nsb --labels --config "$T/nsb.conf" --metrics "127.0.0.1:$metrics"
for name in a1 a2 a3; do
	run_app "$name" "$(label_of "$name")"
done
run_app plain ""
run_app bad "host:$db"
run_app open "container:$app host:0.0.0.0:$p_cp"
run_app low "container:$app host:80"

labelled_before() {
	wait_until "pre's bridges" 30 grep -q "container pre: .*host 127.0.0.1:$p_pre.* ready" "$NSB_LOG"
	serving pre
	pass "a container labelled before nsbridge started is served both ways"
}

labelled_after() {
	local name p
	for name in a1 a2 a3; do
		p="p_$name"
		wait_until "$name's bridges" 30 grep -q "container $name: .*-> host 127.0.0.1:${!p}[, ].*ready" "$NSB_LOG"
	done
	serving pre a1 a2 a3
	for name in pre a1 a2 a3; do
		assert_eq "bridges of $name in status" 2 "$(bridges_of "$name")"
		assert_eq "refused of $name in status" "" "$(status_field "$name" refused)"
	done
	pass "four labelled containers: bytes both ways through each one's bridges; status --json shows 2 bridges each"
}

# --metrics with labelled containers: promtool accepts it, and the info
# series names each container, whose counters join it by bridge
labelled_metrics() {
	local out name
	command -v promtool >/dev/null || skip "promtool is not installed (tests/deps.sh)"
	curl -sS --max-time 10 "http://127.0.0.1:$metrics/metrics" >"$T/metrics.txt" ||
		fail "scraping --metrics"
	out=$(promtool check metrics <"$T/metrics.txt" 2>&1) || fail "promtool check metrics: $out"
	assert_eq "promtool's complaints" "" "$out"
	for name in pre a1 a2 a3; do
		assert_eq "container_up of $name" 1 "$(awk -v s="nsbridge_container_up{container=\"$name\"}" \
			'index($0, s) == 1 { print $NF }' "$T/metrics.txt")"
		grep -q "^nsbridge_bridge_info{bridge=\"[0-9]*\",proto=\"tcp\",service_side=\"container\",service_address=\"localhost\",service_port=\"$app\",expose_side=\"host\",expose_address=\"127.0.0.1\",expose_port=\"$(eval echo "\$p_$name")\",container=\"$name\"} 1$" \
			"$T/metrics.txt" || fail "no info row of $name's app: $(grep "container=\"$name\"" "$T/metrics.txt")"
	done
	pass "--metrics with four labelled containers: promtool accepts it; each is up, with an info row per bridge"
}

ports_column() {
	local out name p
	out=$("$NSB" ports)$'\n'
	for name in pre a1 a2 a3; do
		p="p_$name"
		assert_match "nsbridge ports: the listener of $name" \
			$'\n'"tcp +127\\.0\\.0\\.1 +${!p} +$NSB_PID +nsbridge +yes +$name"$'\n' "$out"
	done
	assert_match "nsbridge ports: the host's db is no nsbridge's" $'\n'"tcp +127\\.0\\.0\\.1 +$db +[0-9]+ +nginx +no +-" "$out"
	pass "nsbridge ports: the CONTAINER column names the container each listener serves"
}

bad_labels() {
	assert_eq "status of the unlabelled container" absent "$(status_field plain running)"
	assert_eq "bridges of the unlabelled container" 0 "$(bridges_of plain)"
	wait_until "bad's refusal" 30 grep -q "container bad: refused: 'host:$db': expected SERVICE EXPOSE" "$NSB_LOG"
	wait_until "open's refusal" 30 grep -q "container open: refused: EXPOSE 'host:0.0.0.0:$p_cp' is not a loopback" "$NSB_LOG"
	wait_until "low's refusal" 30 grep -q "container low: refused: EXPOSE 'host:80': host ports below 1024" "$NSB_LOG"
	assert_match "status: bad refused" "expected SERVICE EXPOSE" "$(status_field bad refused)"
	assert_match "status: open refused" "not a loopback" "$(status_field open refused)"
	assert_match "status: low refused" "below 1024" "$(status_field low refused)"
	port_free "" 80 || fail "something listens on host port 80"
	ss -Htln "sport = :$p_cp" | grep -q . && fail "a label's 0.0.0.0:$p_cp was bound"
	alive "$NSB_PID" || fail "nsbridge exited on a bad label"
	serving pre a1 a2 a3
	pass "unlabelled: nothing; bad syntax, a non-loopback EXPOSE, a host port below 1024: refused for that container only, in the log and status"
}

# --- two containers ask for one host port: the first keeps it ------------------------
one_host_port() {
	local text
	run_app dup1 "container:$app host:$dup"
	wait_until "dup1's bridge" 30 grep -q "container dup1: .*-> host 127.0.0.1:$dup[, ].*ready" "$NSB_LOG"
	run_app dup2 "container:$app host:$dup"
	wait_until "dup2's refusal" 30 grep -q "container dup2: refused: EXPOSE host:$dup: container dup1 asked for it first" "$NSB_LOG"
	assert_eq "host:$dup answers dup1" "app dup1" "$(curl -sS --max-time 5 "http://127.0.0.1:$dup/")"
	assert_match "status: dup2 refused" "container dup1 asked for it first" "$(status_field dup2 refused)"
	assert_eq "bridges of dup2" 0 "$(bridges_of dup2)"
	text=$("$NSB" status "$NSB_PID")
	assert_match "nsbridge status: dup2's refusal under it" \
		$'\n'" container dup2:"$'\n'"  refused: EXPOSE host:$dup: container dup1 asked for it first" "$text"
	assert_match "nsbridge status: dup1's bridge under it" \
		$'\n'" container dup1:"$'\n'"  container dup1 127.0.0.1:$app -> host 127.0.0.1:$dup" "$text"
	pass "host:$dup asked by dup1 then dup2: dup1 serves it; dup2 refused with one line naming both: $(grep "container dup2: refused" "$NSB_LOG" | head -n 1)"
}

# --- nsbridge.options: per-container options, only those per bridge -------------------
options_label() {
	docker run -d --name guarded --network none --label "nsbridge.bridges=container:$app host:$p_guard" \
		--label "nsbridge.options=--allow-uid 4242 --connect-timeout=2s" "$BUSYBOX_IMAGE" sh -c \
		"echo 'app guarded' >/www/index.html; httpd -p 127.0.0.1:$app -h /www; exec sleep 100000" \
		>/dev/null || fail "docker run guarded"
	docker run -d --name badopt --network none --label "nsbridge.bridges=container:$app host:$p_cp" \
		--label "nsbridge.options=--user root" "$BUSYBOX_IMAGE" sleep 100000 >/dev/null || fail "docker run badopt"
	wait_until "guarded's bridge" 30 grep -q "container guarded: .*-> host 127.0.0.1:$p_guard[, ].*ready" "$NSB_LOG"
	wait_until "badopt's refusal" 30 grep -q "container badopt: refused: options label: --user is not an option a label may set" "$NSB_LOG"
	curl -sS --max-time 5 "http://127.0.0.1:$p_guard/" >/dev/null 2>&1 && fail "guarded's bridge let uid $(id -u) in despite --allow-uid 4242"
	wait_until "guarded's refusal of uid $(id -u) in the log" 30 grep -q "a client of uid $(id -u) was reset: not in --allow-uid" "$NSB_LOG"
	assert_eq "host:$p_a3 (no options) still lets uid $(id -u) in" "app a3" "$(curl -sS --max-time 5 "http://127.0.0.1:$p_a3/")"
	assert_eq "bridges of badopt" 0 "$(bridges_of badopt)"
	ss -Htln "sport = :$p_cp" | grep -q . && fail "badopt's host:$p_cp was bound"
	pass "nsbridge.options: --allow-uid 4242 guards that container's bridge only; --user in a label refuses its container"
}

# a reload changes what the label does not set, for its container too
reload_options() {
	local out
	assert_eq "guarded's options before the reload" "500 2000 4242" "$(options_of guarded)"
	assert_eq "a3's options before the reload" "500 5000" "$(options_of a3)"
	printf 'max-connections = 400;\nconnect-timeout = "7s";\n' >"$T/nsb.conf"
	kill -HUP "$NSB_PID"
	wait_until "the reload" 30 grep -q "reloaded $T/nsb.conf" "$NSB_LOG"
	assert_match "the reload's line: the labels' bridges are not the file's to remove" \
		"reloaded $T/nsb.conf: 0 added, 0 removed, 0 unchanged; changed: --max-connections, --connect-timeout" \
		"$(grep "reloaded $T/nsb.conf" "$NSB_LOG")"
	assert_eq "a3 serves after the reload" "app a3" "$(curl -sS --max-time 5 "http://127.0.0.1:$p_a3/")"
	out=$("$NSB" remove "$NSB_PID" "host:$p_a3" 2>&1)
	assert_eq "nsbridge remove of a label's bridge: exit status ($out)" 2 "$?"
	assert_match "nsbridge remove of a label's bridge: one line" "^nsbridge: 'host:$p_a3' is a label's" "$out"
	assert_eq "a3 serves after the refused remove" "app a3" "$(curl -sS --max-time 5 "http://127.0.0.1:$p_a3/")"
	assert_eq "guarded's options after the reload: the label's stay" "400 2000 4242" "$(options_of guarded)"
	assert_eq "a3's options after the reload" "400 7000" "$(options_of a3)"
	curl -sS --max-time 5 "http://127.0.0.1:$p_guard/" >/dev/null 2>&1 && fail "guarded's bridge let uid $(id -u) in after the reload"
	pass "SIGHUP: the labels' bridges stay; --max-connections 500 -> 400 reaches guarded's bridge; its label's --connect-timeout 2s and --allow-uid 4242 stay"
}

# --- docker stop, start, rm -f ---------------------------------------------------------
stop_start_rm() {
	local a1_ns a2_ns start stop_ms start_ms rm_ms
	a1_ns=$(readlink "/proc/$(container_pid a1)/ns/net")
	start=$(now_ms)
	docker stop -t 0 a1 >/dev/null || fail "docker stop a1"
	wait_until "a1's bridges removed" 30 grep -q "container a1 stopped: its 2 bridges are removed" "$NSB_LOG"
	stop_ms=$(waited "$start")
	wait_until "nothing of nsbridge in a1's namespace" 30 gone_from "$a1_ns"
	curl -sS --max-time 5 "http://127.0.0.1:$p_a1/" >/dev/null 2>&1 && fail "a1's host port answered after docker stop"
	assert_eq "a1 in status" absent "$(status_field a1 running)"
	serving pre a2 a3
	start=$(now_ms)
	docker start a1 >/dev/null || fail "docker start a1"
	wait_until "a1's bridges back" 30 sh -c "[ \"\$(curl -sS --max-time 5 http://127.0.0.1:$p_a1/ 2>/dev/null)\" = 'app a1' ]"
	start_ms=$(waited "$start")
	wait_app a1
	serving a1
	a2_ns=$(readlink "/proc/$(container_pid a2)/ns/net")
	start=$(now_ms)
	docker rm -f a2 >/dev/null || fail "docker rm -f a2"
	wait_until "a2's bridges removed" 30 grep -q "container a2 stopped: its 2 bridges are removed" "$NSB_LOG"
	rm_ms=$(waited "$start")
	wait_until "nothing of nsbridge in a2's namespace" 30 gone_from "$a2_ns"
	serving pre a1 a3
	pass "docker stop a1: bridges gone in ${stop_ms} ms, no socket left in its namespace; docker start a1: back in ${start_ms} ms; docker rm -f a2: gone in ${rm_ms} ms"
}

# --- docker-compose up / down of a labelled compose file --------------------------------
project=nsbtl$$
compose_up_down() {
	local start up_ms cp_id cp_ns down_ms
	cat >"$T/compose.yml" <<-EOF
	services:
	  cp:
	    image: $BUSYBOX_IMAGE
	    network_mode: none
	    command: ["sh", "-c", "echo 'app cp' >/www/index.html; httpd -p 127.0.0.1:$app -h /www; exec sleep 100000"]
	    labels:
	      nsbridge.bridges: "host:$db container:$db, container:$app host:$p_cp"
	EOF
	start=$(now_ms)
	docker-compose -p "$project" -f "$T/compose.yml" up -d >"$T/compose.log" 2>&1 ||
		fail "docker-compose up: $(tail -n 5 "$T/compose.log")"
	wait_until "the compose service's bridge" 30 sh -c \
		"[ \"\$(curl -sS --max-time 5 http://127.0.0.1:$p_cp/ 2>/dev/null)\" = 'app cp' ]"
	up_ms=$(waited "$start")
	cp_id=$(docker-compose -p "$project" -f "$T/compose.yml" ps -q cp)
	assert_eq "host db inside the compose service" "host db" "$(fetch "$cp_id" "$db")"
	cp_ns=$(readlink "/proc/$(container_pid "$cp_id")/ns/net")
	start=$(now_ms)
	docker-compose -p "$project" -f "$T/compose.yml" down -t 0 >>"$T/compose.log" 2>&1 ||
		fail "docker-compose down"
	wait_until "the compose service's bridges removed" 30 sh -c \
		"grep '$project' '$NSB_LOG' | grep -q 'stopped: its 2 bridges are removed'"
	down_ms=$(waited "$start")
	wait_until "nothing of nsbridge in the compose service's namespace" 30 gone_from "$cp_ns"
	curl -sS --max-time 5 "http://127.0.0.1:$p_cp/" >/dev/null 2>&1 && fail "the compose port answered after down"
	pass "docker-compose up: bridges in ${up_ms} ms (with the up itself); down: gone in ${down_ms} ms, no socket left"
}

# --- 50 labelled containers at once -------------------------------------------------------
pick_range many 50
fifty() {
	local i rss fds helpers hrss hfds pid
	for i in $(seq 0 49); do
		docker run -d --name "m$i" --network none \
			--label "nsbridge.bridges=container:$app host:$((many + i))" "$BUSYBOX_IMAGE" sh -c \
			"echo 'm $i' >/www/index.html; httpd -p 127.0.0.1:$app -h /www; exec sleep 100000" \
			>/dev/null || fail "docker run m$i"
	done
	for i in $(seq 0 49); do
		wait_until "m$i's bridge" 60 grep -q "container m$i: .*-> host 127.0.0.1:$((many + i))[, ].*ready" "$NSB_LOG"
	done
	for i in $(seq 0 49); do
		wait_until "m$i's app answers through its bridge" 30 sh -c \
			"[ \"\$(curl -sS --max-time 5 http://127.0.0.1:$((many + i))/ 2>/dev/null)\" = 'm $i' ]"
	done
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$NSB_PID/status")
	fds=$(fd_count "$NSB_PID")
	helpers=$(cat "/proc/$NSB_PID/task/$NSB_PID/children")
	hrss=$(for pid in $helpers; do awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; done | paste -sd+ | bc)
	hfds=$(for pid in $helpers; do fd_count "$pid"; done | paste -sd+ | bc)
	serving pre a1 a3
	pass "50 labelled containers more (55 served): every bridge answers; relay RSS ${rss} kB, ${fds} fds; helpers RSS ${hrss} kB, ${hfds} fds"
	note "FIGURES containers=55 relay_rss_kb=$rss relay_fds=$fds helpers_rss_kb=$hrss helpers_fds=$hfds"
}

fifty_removed() {
	docker rm -f $(seq -f 'm%g' 0 49) >/dev/null
	wait_until "the 50 removed" 60 sh -c "[ \$(grep -c 'container m[0-9]* stopped: its bridge is removed' '$NSB_LOG') -ge 50 ]"
	serving pre a1 a3
	pass "docker rm -f of the 50: their bridges are removed, the others serve on"
}

stopped() {
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "nsbridge --labels: exit 0 on SIGTERM"
}

check labelled_before
check labelled_after
check labelled_metrics
check ports_column
check bad_labels
check one_host_port
check options_label
check reload_options
docker rm -f guarded badopt >/dev/null 2>&1
check stop_start_rm
if command -v docker-compose >/dev/null; then
	at_exit "docker-compose -p $project -f $T/compose.yml down -t 0 >/dev/null 2>&1"
	check compose_up_down
else
	note "docker-compose is not installed: its up and down are not tried"
fi
check fifty
check fifty_removed
stop_nsb TERM
check stopped
