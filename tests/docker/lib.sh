# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh - a private Docker engine for the container tests (TESTING.md)
#
# Sourced after tests/integration/lib.sh. start_dockerd runs dockerd with
# its own state under the test's directory, no bridge and no iptables,
# and stops it and removes its state when the test ends, failed or not;
# start_podman does the same for Podman's API service.
# Containers run with --network none from an image made of Debian's
# static busybox: nothing is pulled.

BUSYBOX_IMAGE=nsbt-busybox:latest
DOCKER_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

stop_dockerd() {
	local pid
	[ -n "${DOCKERD_PID:-}" ] || return 0
	# the engine restart_dockerd started, in a check, is not $DOCKERD_PID
	DOCKERD_PID=$(cat "$DOCKER_DIR/dockerd.pid" 2>/dev/null || echo "$DOCKERD_PID")
	docker ps -aq 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1
	kill -TERM "$DOCKERD_PID" 2>/dev/null
	for _ in $(seq 1 100); do
		gone "$DOCKERD_PID" && break
		sleep 0.1
	done
	kill -KILL "$DOCKERD_PID" 2>/dev/null
	pid=$(cat "$DOCKER_DIR/containerd.pid" 2>/dev/null) && kill -KILL "$pid" 2>/dev/null
	grep -o " $DOCKER_DIR[^ ]*" /proc/self/mounts | sort -r | xargs -r umount -l 2>/dev/null
	rm -rf "$DOCKER_DIR"
	DOCKERD_PID=
}

# start_dockerd [OPTION...] - a private engine, in the test's network
# namespace, with dockerd's OPTIONs besides; exports DOCKER_HOST. Skips
# if dockerd is missing or cannot start here, saying why.
start_dockerd() {
	command -v dockerd >/dev/null || skip "dockerd is not installed (Debian's docker.io)"
	command -v docker >/dev/null || skip "the docker command is not installed (Debian 13: docker-cli)"
	DOCKER_DIR=$(mktemp -d /tmp/nsbt-docker.XXXXXX)
	at_exit stop_dockerd
	export DOCKER_HOST="unix://$DOCKER_DIR/docker.sock"
	_run_dockerd "$@" || skip "dockerd did not start: $(tail -n 3 "$DOCKER_DIR/dockerd.log" | tr '\n' ' ')"
}
_run_dockerd() {
	dockerd --iptables=false --ip6tables=false --bridge=none \
		--data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/exec" \
		--pidfile "$DOCKER_DIR/dockerd.pid" -H "unix://$DOCKER_DIR/docker.sock" "$@" \
		>>"$DOCKER_DIR/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	for _ in $(seq 1 600); do
		docker info >/dev/null 2>&1 && return 0
		alive "$DOCKERD_PID" || return 1
		sleep 0.1
	done
	return 1
}

# restart_dockerd [OPTION...] - the engine dies (kill -9 of dockerd; the
# containerd it runs dies with it, the containers' shims live on) and a new
# one starts on the same state and socket, with OPTIONs (--live-restore).
# May run in a check's subshell: the engine's pid is read from its pidfile.
restart_dockerd() {
	local dockerd containerd
	dockerd=$(cat "$DOCKER_DIR/dockerd.pid")
	containerd=$(cat "$DOCKER_DIR/exec/containerd/containerd.pid" 2>/dev/null)
	kill -KILL "$dockerd"
	wait_until "the end of dockerd $dockerd" 30 gone "$dockerd"
	# where no init reaps the orphan (a container without --init), the
	# zombie of containerd would pass for one that still runs, and the new
	# dockerd would wait for it to answer
	[ -z "$containerd" ] || wait_until "the end of containerd $containerd" 30 gone "$containerd"
	rm -f "$DOCKER_DIR/dockerd.pid" "$DOCKER_DIR/exec/containerd/containerd.pid"
	_run_dockerd "$@" || fail "dockerd did not start again: $(tail -n 3 "$DOCKER_DIR/dockerd.log" | tr '\n' ' ')"
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

# retry TRIES CMD... - CMD until it succeeds, at most TRIES times: a
# download from Debian's archive can fail for a moment (a slow name lookup)
retry() {
	local tries=$1 n
	shift
	for n in $(seq 1 "$tries"); do
		"$@" && return 0
		[ "$n" = "$tries" ] || echo "retry: '$1' failed; try $((n + 1)) of $tries" >&2
	done
	return 1
}

# MACHINE_SUITE - this machine's Debian release (bookworm, trixie): a
# container that runs what was built here (the package, a systemd with
# this nsbridge) is made of the same release, as its libraries are
MACHINE_SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")

# import_debian SUITE - debian:SUITE-slim in the engine (the Dockerfile's
# base is bookworm's; nothing can be pulled), from a debootstrap made once
# per run
import_debian() {
	local base
	debian_tar base "$1" minbase
	docker import - "debian:$1-slim" <"$base" >/dev/null ||
		fail "docker import of the $1 minbase"
}

# debian_tar VAR SUITE NAME [PACKAGE...] - a tar of Debian SUITE's minbase,
# with PACKAGEs besides, its path in VAR: made once per run and kept in
# $NSBT_CACHE when the test command set it (tests/run.sh), so that the
# tests share one download, else in the test's own directory
debian_tar() {
	local _bt_var=$1 _bt_suite=$2 _bt_file cache=${NSBT_CACHE:-$T}
	_bt_file=$cache/$_bt_suite-$3.tar
	shift 3
	mkdir -p "$cache"
	(
		flock 9	# one debootstrap, whichever test asks first
		[ -s "$_bt_file" ] || retry 3 _debootstrap_tar "$_bt_file" "$_bt_suite" "$@"
	) 9>"$_bt_file.lock" || fail "debootstrap $_bt_suite: $(tail -n 3 "$T/debootstrap.log")"
	printf -v "$_bt_var" '%s' "$_bt_file"
}
_debootstrap_tar() {
	local file=$1 suite=$2 include
	shift 2
	include=$(IFS=,; echo "$*")
	rm -rf "$T/rootfs"
	debootstrap --variant=minbase ${include:+--include="$include"} "$suite" "$T/rootfs" \
		>"$T/debootstrap.log" 2>&1 || return 1
	tar -C "$T/rootfs" -cf "$file.part" . && mv "$file.part" "$file"
	rm -rf "$T/rootfs"
}

# container_pid NAME - the init pid of a running container
container_pid() {
	docker inspect -f '{{.State.Pid}}' "$1"
}

# ct_listens NAME PORT - something listens on PORT (tcp) in Docker container
# NAME's namespace: its service is up, which its bridge's ready line does
# not say
ct_listens() {
	[ -n "$(nsenter --net="/proc/$(container_pid "$1")/ns/net" ss -Htln "sport = :$2" 2>/dev/null)" ]
}

# Podman 5 warns of cgroups v1 on every command, which this sandbox has
export PODMAN_IGNORE_CGROUPSV1_WARNING=1
# A private store (vfs: no mounts to leave behind), runc, no systemd
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

# start_podman - Podman's API service on a private store; sets PD and
# PODMAN_SOCK. The default path is taken only where neither engine's
# socket exists (and DOCKER_HOST unset), else DOCKER_HOST names it. Skips
# if podman is missing or its service does not answer.
start_podman() {
	command -v podman >/dev/null || skip "podman is not installed"
	PD=$T/podman
	at_exit stop_podman
	PODMAN_SOCK=$PD/podman.sock
	if [ ! -e /var/run/docker.sock ] && [ ! -e /run/podman/podman.sock ]; then
		mkdir /run/podman 2>/dev/null || skip "/run/podman exists; not touching it"
		PODMAN_SOCK=/run/podman/podman.sock
		PODMAN_DEFAULT_SOCKET=$PODMAN_SOCK
		unset DOCKER_HOST
	else
		export DOCKER_HOST=unix://$PODMAN_SOCK
	fi
	mkdir -p "$PD"
	podman_ system service --time=0 "unix://$PODMAN_SOCK" >"$PD/service.log" 2>&1 &
	PODMAN_PID=$!
	_PIDS+=("$PODMAN_PID")
	for _ in $(seq 1 100); do
		curl -s --unix-socket "$PODMAN_SOCK" http://d/_ping >/dev/null 2>&1 && return 0
		alive "$PODMAN_PID" || break
		sleep 0.1
	done
	skip "podman's API service did not start: $(tail -n 2 "$PD/service.log" | tr '\n' ' ')"
}

# pinged SOCKET - the engine at SOCKET answers
pinged() {
	curl -s --unix-socket "$1" http://d/_ping >/dev/null 2>&1
}

# ct_status COMMAND ARGS... - containers_json.py COMMAND (field NAME KEY,
# bridges NAME, options NAME) on the status --json of nsbridge $NSB_PID
ct_status() {
	local cmd=$1
	shift
	"$NSB" status --json "$NSB_PID" | python3 "$DOCKER_TESTS/containers_json.py" "$cmd" - "$@"
}

# sockets_in NSREF PID... - how many sockets of the PIDs are in namespace NSREF
sockets_in() {
	local ns=$1
	shift
	python3 "$DOCKER_TESTS/../integration/sock_netns.py" "$@" | grep -cF " $ns"
}

# gone_from NSREF - no socket or namespace fd of nsbridge or its helpers is in NSREF
gone_from() {
	local pid helpers
	helpers=$(cat "/proc/$NSB_PID/task/$NSB_PID/children")
	[ "$(sockets_in "$1" "$NSB_PID" $helpers)" = 0 ] || return 1
	for pid in $NSB_PID $helpers; do
		[[ "$(ls -l "/proc/$pid/fd" 2>/dev/null)" == *"$1"* ]] && return 1
	done
	return 0
}
