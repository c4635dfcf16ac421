#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# podman.sh - a container of Podman's, through the same API on Podman's socket
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

command -v podman >/dev/null || skip "podman is not installed"
PD=$T/podman
# a private store (vfs: no mounts to leave behind), runc, no systemd
podman_() {
	podman --root "$PD/storage" --runroot "$PD/run" --storage-driver vfs \
		--cgroup-manager cgroupfs --runtime "$(command -v runc)" "$@"
}
stop_podman() {
	podman_ rm -f -t 0 -a >/dev/null 2>&1
	[ -n "${PODMAN_PID:-}" ] && kill "$PODMAN_PID" 2>/dev/null
	if [ -n "${PODMAN_DEFAULT_SOCKET:-}" ]; then
		rm -f "$PODMAN_DEFAULT_SOCKET"
		rmdir /run/podman 2>/dev/null
	fi
}
at_exit stop_podman

# the default path is tried only where neither engine's socket exists
sock=$PD/podman.sock
if [ ! -e /var/run/docker.sock ] && [ ! -e /run/podman/podman.sock ]; then
	mkdir /run/podman 2>/dev/null || skip "/run/podman exists; not touching it"
	sock=/run/podman/podman.sock
	PODMAN_DEFAULT_SOCKET=$sock
	unset DOCKER_HOST
else
	export DOCKER_HOST=unix://$sock
fi
mkdir -p "$PD"
podman_ system service --time=0 "unix://$sock" >"$PD/service.log" 2>&1 &
PODMAN_PID=$!
_PIDS+=("$PODMAN_PID")
for _ in $(seq 1 100); do
	curl -s --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 && break
	sleep 0.1
done
curl -s --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 ||
	skip "podman's API service did not start: $(tail -n 2 "$PD/service.log" | tr '\n' ' ')"

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
assert_eq "wget inside the podman container" "host service $port" "$(fetch)"
pass "-c pweb through podman's socket ($sock)"

podman_ restart -t 0 pweb >/dev/null || fail "podman restart"
t0=$(now_ms)
until [ "$(fetch)" = "host service $port" ]; do
	[ $(($(now_ms) - t0)) -lt 5000 ] || fail "no answer inside pweb 5 s after its restart"
	sleep 0.05
done
pass "podman restart: followed through podman's events, answered $(($(now_ms) - t0)) ms after"
