#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# compose.sh - the image of the Dockerfile, as the compose sidecar of deploy/, end to end
# docker build reaches Debian's archive: this test keeps the machine's network
NSBT_MACHINE_NET=1
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
# Debian 12's docker-compose is version 1, a command of its own; Debian
# 13's is version 2, a plugin of docker's
if command -v docker-compose >/dev/null; then
	COMPOSE=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
	COMPOSE=(docker compose)
else
	skip "docker-compose is not installed"
fi
command -v debootstrap >/dev/null || skip "debootstrap is not installed"
start_dockerd
import_busybox

import_debian bookworm
# its apt-get downloads may fail for a moment; a second try reuses the layers made
retry 3 docker build --network host -t nsbridge "$REPO" >"$T/build.log" 2>&1 ||
	fail "docker build: $(tail -n 5 "$T/build.log")"

image() {
	local size base
	size=$(docker image inspect -f '{{.Size}}' nsbridge)
	base=$(docker image inspect -f '{{.Size}}' debian:bookworm-slim)
	assert_eq "image entrypoint" "[/usr/local/bin/nsbridge]" \
		"$(docker image inspect -f '{{.Config.Entrypoint}}' nsbridge)"
	docker run --rm nsbridge --version | grep -q '^nsbridge ' || fail "the image does not run nsbridge"
	pass "Dockerfile: image of $((size / 1024 / 1024)) MiB ($(((size - base) / 1024 / 1024)) MiB over its base)"
}
check image

# the "host" service lives in a namespace of the test's; the sidecar
# reaches it through a process that lives there (it sees every pid)
mkns hostns host
lo_up "$hostns"
pick_port port "$hostns"
mkdir -p "$T/www" && echo "host service $port" >"$T/www/index.html"
start_nginx "$hostns" "$port" "$T/www" 127.0.0.1
bg ip netns exec "$hostns" sleep 600
export APP_IMAGE=$BUSYBOX_IMAGE NSBRIDGE_HOST_NETNS=/proc/$BG_PID/ns/net PORT=$port
project=nsbt$$
compose() {
	"${COMPOSE[@]}" -p "$project" -f "$REPO/deploy/compose.yml" "$@"
}
at_exit "compose down -t 0 >/dev/null 2>&1"

# sidecar_ready - the sidecar's log has its ready line
sidecar_ready() {
	compose logs nsbridge 2>/dev/null | grep -q ' ready'
}

sidecar() {
	local app body
	compose up -d >"$T/compose.log" 2>&1 || fail "${COMPOSE[*]} up: $(tail -n 5 "$T/compose.log")"
	wait_until "ready line of the sidecar" 30 sidecar_ready
	app=$(compose ps -q app)
	assert_eq "the app's network" none "$(docker inspect -f '{{.HostConfig.NetworkMode}}' "$app")"
	body=$(timeout 10 docker exec "$app" wget -qO- "http://127.0.0.1:$port/")
	assert_eq "wget inside the app" "host service $port" "$body"
	pass "compose: the app, with no network, reaches the host's 127.0.0.1:$port through the sidecar"
}
check sidecar
