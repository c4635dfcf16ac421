# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh - a private Docker engine for the container tests (TESTING.md)
#
# Sourced after tests/integration/lib.sh. start_dockerd runs dockerd with
# its own state under the test's directory, no bridge and no iptables,
# and stops it and removes its state when the test ends, failed or not.
# Containers run with --network none from an image made of Debian's
# static busybox: nothing is pulled.

BUSYBOX_IMAGE=nsbt-busybox:latest

stop_dockerd() {
	local pid
	[ -n "${DOCKERD_PID:-}" ] || return 0
	docker ps -aq 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1
	kill -TERM "$DOCKERD_PID" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$DOCKERD_PID" 2>/dev/null
	pid=$(cat "$DOCKER_DIR/containerd.pid" 2>/dev/null) && kill -KILL "$pid" 2>/dev/null
	grep -o " $DOCKER_DIR[^ ]*" /proc/self/mounts | sort -r | xargs -r umount -l 2>/dev/null
	rm -rf "$DOCKER_DIR"
	DOCKERD_PID=
}

# start_dockerd - a private engine, in the test's network namespace;
# exports DOCKER_HOST. Skips (77) if dockerd is missing or cannot start
# here, saying why.
start_dockerd() {
	command -v dockerd >/dev/null || skip "dockerd is not installed (Debian's docker.io)"
	DOCKER_DIR=$(mktemp -d /tmp/nsbt-docker.XXXXXX)
	dockerd --iptables=false --ip6tables=false --bridge=none \
		--data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/exec" \
		--pidfile "$DOCKER_DIR/dockerd.pid" -H "unix://$DOCKER_DIR/docker.sock" \
		>"$DOCKER_DIR/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	at_exit stop_dockerd
	export DOCKER_HOST="unix://$DOCKER_DIR/docker.sock"
	for _ in $(seq 1 300); do
		docker info >/dev/null 2>&1 && return 0
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	skip "dockerd did not start: $(tail -n 3 "$DOCKER_DIR/dockerd.log" | tr '\n' ' ')"
}

# import_busybox - the test image, from /bin/busybox
import_busybox() {
	local root=$T/busybox-root a
	mkdir -p "$root/bin" "$root/tmp" "$root/www"
	cp "$(command -v busybox)" "$root/bin/busybox"
	for a in sh sleep nc wget cat echo httpd; do
		ln -s busybox "$root/bin/$a"
	done
	tar -C "$root" -c . | docker import - "$BUSYBOX_IMAGE" >/dev/null ||
		fail "cannot import the busybox image"
}

# container_pid NAME - the init pid of a running container
container_pid() {
	docker inspect -f '{{.State.Pid}}' "$1"
}
