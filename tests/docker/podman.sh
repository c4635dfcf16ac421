#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# podman.sh - a container of Podman's, through the same API on Podman's socket
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

start_podman
sock=$PODMAN_SOCK

mkdir -p "$T/bb/bin" "$T/bb/tmp"
cp "$(command -v busybox)" "$T/bb/bin/busybox"
for a in sh sleep wget timeout; do ln -s busybox "$T/bb/bin/$a"; done
tar -C "$T/bb" -c . | podman_ import - nsbt-busybox >/dev/null 2>&1 || fail "podman import"
# this machine's hard limits are below podman's defaults
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
podman_ run -d --name pweb --network none "${limits[@]}" nsbt-busybox sleep 100000 >/dev/null 2>"$T/err" ||
	skip "podman cannot run a container here: $(tail -n 1 "$T/err")"

pick_port port
mkdir -p "$T/www" && echo "host service $port" >"$T/www/index.html"
start_nginx "" "$port" "$T/www" 127.0.0.1
start_nsb -c pweb "host:$port" "container:$port"
fetch() {
	podman_ exec pweb timeout 10 wget -qO- "http://127.0.0.1:$port/" 2>/dev/null
}

by_name() {
	assert_eq "wget inside the podman container" "host service $port" "$(fetch)"
	pass "-c pweb through podman's socket ($sock)"
}

restart() {
	local t0
	podman_ restart -t 0 pweb >/dev/null || fail "podman restart"
	t0=$(now_ms)
	until [ "$(fetch)" = "host service $port" ]; do
		# a guard against a hang: a container not followed never answers
		[ $(($(now_ms) - t0)) -lt 30000 ] || fail "no answer inside pweb 30 s after its restart"
		sleep 0.05
	done
	pass "podman restart: followed through podman's events, answered $(($(now_ms) - t0)) ms after"
}

stopped() {
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "SIGTERM: exit 0"
}

check by_name
check restart
stop_nsb TERM
check stopped
