#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# rootless_docker.sh - an ordinary user bridges into its own rootless Docker container
#
# Run as root, which only sets the scene: an ordinary user with subordinate
# ranges and a runtime directory (rootless_lib.sh). Everything else runs as
# that user: dockerd-rootless.sh under RootlessKit with its own data root,
# an image imported from busybox, a --network none container, and nsbridge,
# which finds the engine at $XDG_RUNTIME_DIR/docker.sock by itself: a
# host-loopback service reached from inside by name, the reverse, docker
# restart followed, nsbridge ports -c web, a scoped run, a range, a unix:
# SERVICE of the user's with --metrics, two mirrors facing each other;
# all of it again with RootlessKit's --pidns, where the engine's pids are
# not the host's.
# TESTING.md, "Rootless Podman and Docker as an ordinary user", says how
# Docker runs here.
. "$(dirname "$0")/../integration/lib.sh"

ROOTLESS_SH=/usr/share/docker.io/contrib/dockerd-rootless.sh
command -v dockerd >/dev/null || skip "dockerd is not installed (Debian's docker.io)"
command -v docker >/dev/null || skip "the docker command is not installed (Debian 13: docker-cli)"
[ -x "$ROOTLESS_SH" ] || skip "$ROOTLESS_SH is missing (Debian's docker.io)"
command -v rootlesskit >/dev/null || skip "rootlesskit is not installed (Debian's rootlesskit)"
. "$(dirname "$0")/rootless_lib.sh"

make_user A a
UID_A=$(id -u "$A")
SOCK=/run/user/$UID_A/docker.sock
USOCK=/run/user/$UID_A/svc.sock
docker_a() {
	as "$A" env DOCKER_HOST="unix://$SOCK" docker "$@"
}

# -------- rootless Docker, as A, stopped by its pid before A goes --------
# /dev/net/tun is 0600 here, so no slirp4netns: RootlessKit keeps the
# host's network (containers run with --network none) and forwards no ports
stop_rootless_dockerd() {
	# the engine engine_restart started, in a check, is not $DOCKERD_PID
	DOCKERD_PID=$(cat "$T/rootless.pid" 2>/dev/null || echo "${DOCKERD_PID:-}")
	[ -n "${DOCKERD_PID:-}" ] || return 0
	kill -TERM "$DOCKERD_PID" 2>/dev/null
	for _ in $(seq 1 100); do
		gone "$DOCKERD_PID" && break
		sleep 0.1
	done
	kill -KILL "$DOCKERD_PID" 2>/dev/null
	DOCKERD_PID=
	rm -f "$T/rootless.pid"
}
ROOTLESS_CLEANUP+=('docker_a rm -f $(docker_a ps -aq)' stop_rootless_dockerd)
# start_rootless_dockerd [ROOTLESSKIT-FLAG...] - dockerd as A, its pid in DOCKERD_PID.
# With RootlessKit's host network dockerd sits in the test's namespace,
# whose ip_forward it may not write as A: --ip-forward=false, as no bridge
# forwards anything here (without it, dockerd 20.10 stops at start)
start_rootless_dockerd() {
	local argv
	as_argv argv "$A"
	bg_to "$T/dockerd.log" "${argv[@]}" DOCKERD_ROOTLESS_ROOTLESSKIT_NET=host \
		DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=none DOCKERD_ROOTLESS_ROOTLESSKIT_FLAGS="$*" \
		"$ROOTLESS_SH" --storage-driver vfs --iptables=false --ip6tables=false --bridge=none --ip-forward=false \
		--data-root "/home/$A/docker-data"
	DOCKERD_PID=$BG_PID
	echo "$DOCKERD_PID" >"$T/rootless.pid"
	for _ in $(seq 1 300); do
		docker_a info >/dev/null 2>&1 && return 0
		alive "$DOCKERD_PID" || break
		sleep 0.1
	done
	[ "${RESTARTING:-0}" = 1 ] && fail "rootless dockerd $* did not start again: $(tail -n 3 "$T/dockerd.log" | tr '\n' ' ')"
	skip "rootless dockerd $* did not start: $(tail -n 3 "$T/dockerd.log" | tr '\n' ' ')"
}
busybox_tar "$T/bb.tar"

# ct_proc - /proc/PID of web's init as the engine's /proc shows it: the
# test's own way to it, whichever pid namespace dockerd is in
ct_proc() {
	echo "/proc/$(pgrep -u "$UID_A" -x dockerd)/root/proc/$(docker_a inspect -f '{{.State.Pid}}' web)"
}
fetch() {	# PORT - what wget inside the container gets from 127.0.0.1:PORT
	ct_fetch docker_a "$1"
}

# -------- the behaviours of each round, checks --------
# They use what the round has set: how, relay (the round's shared
# nsbridge, NSB_PID) and port.

# a host-loopback service reached from inside, by name
by_name() {
	assert_eq "direct, on the host" "host service $port" "$(curl -s "http://127.0.0.1:$port/")"
	assert_eq "wget inside the rootless container" "host service $port" "$(fetch "$port")"
	pass "$how: as $A: nsbridge -c web host:$port container:$port, wget inside gets the host's page"
}

credentials() {
	local opener
	assert_eq "relay uid" "$UID_A" "$(status_of "$relay" Uid)"
	assert_eq "relay CapEff" 0000000000000000 "$(status_of "$relay" CapEff)"
	opener=$(pgrep -P "$relay" -x nsbridge-opener)
	[ -n "$opener" ] || fail "no nsbridge-opener child of $relay"
	assert_eq "opener user namespace" "$(readlink "$(ct_proc)/ns/user")" \
		"$(readlink "/proc/$opener/ns/user")"
	pass "$how: relay: uid $UID_A, CapEff 0; opener: in RootlessKit's user namespace"
}

# nsbridge ports -c web, as A
ports_as_a() {
	as "$A" "$NSB" ports -c web >"$T/ports" 2>"$T/err" || fail "nsbridge ports -c web: $(cat "$T/err")"
	grep -Eq "^tcp +127\.0\.0\.1 +$port +$relay +nsbridge +yes +web$" "$T/ports" ||
		fail "nsbridge ports -c web: no line for nsbridge's listener on $port: $(cat "$T/ports")"
	pass "$how: as $A: nsbridge ports -c web lists nsbridge's listener inside"
}

# docker restart, followed
restart() {
	local old
	old=$(ct_proc)
	docker_a restart -t 0 web >/dev/null || fail "docker restart"
	[ "$(ct_proc)" != "$old" ] || fail "docker restart kept $old"
	wait_until "answer inside web after its restart" 30 ct_answers docker_a "$port" "host service $port"
	pass "$how: docker restart: followed, the host's page answers inside again"
}

# the engine killed: kill -9 of RootlessKit, which its dockerd and that
# one's containerd follow (web's shim lives on), and started again; web
# runs with --restart always, so the new engine starts it anew, in the new
# RootlessKit's user namespace, which the opener (in the old one) cannot
# enter: nsbridge says so and exits 1, for its service manager to start it
# again (Restart=on-failure), and the new one serves web
engine_restart() {
	own_nsb -c web "host:$port" "container:$port"
	kill -KILL "$DOCKERD_PID"
	wait_until "the end of the rootless engine" 30 no_engine
	# their zombies, where no init reaps them, would pass for an engine
	# that runs: the pid files go, as a reboot or a service manager's
	# cleanup would take them
	rm -f "/run/user/$UID_A/docker.pid" "/run/user/$UID_A/docker/containerd/containerd.pid"
	RESTARTING=1 start_rootless_dockerd "${FLAGS[@]}"
	# Docker 20.10 (Debian 12) has started web again by its restart policy
	# by the time it answers. Docker 26 (Debian 13) leaves it stopped after
	# its RootlessKit was killed, though it may still say it runs, and may
	# refuse to start it ("could not delete stale containerd task object").
	# So web is restarted by hand, or made anew under its name, as an
	# operator would: either way it runs in the new engine's user
	# namespace, and nsbridge, which follows the name, meets it there
	if ! docker_a restart -t 0 web >/dev/null 2>"$T/err"; then
		docker_a rm -f web >/dev/null 2>>"$T/err"
		docker_a run -d --restart always --name web --network none nsbt-bb:latest sleep 100000 \
			>/dev/null 2>>"$T/err" || fail "web after the engine came back: $(cat "$T/err")"
	fi
	wait_exit "$NSB_PID" 60
	assert_eq "nsbridge's exit status" 1 "$EXIT_STATUS"
	assert_match "the line" "container web runs again, out of the opener's reach \(Permission denied\): a rootless engine that restarted has a new user namespace; exiting with status 1" "$(cat "$NSB_LOG")"
	own_nsb -c web "host:$port" "container:$port"
	wait_until "answer inside web from a new nsbridge" 30 ct_answers docker_a "$port" "host service $port"
	pass "$how: the rootless engine killed and started again: exit 1 naming the new user namespace; started again, nsbridge serves web"
}
no_engine() {
	local pid
	for pid in $(pgrep -u "$UID_A" -x dockerd) $(pgrep -u "$UID_A" -x containerd); do
		alive "$pid" && return 1
	done
	return 0
}

stopped() {
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "$how: as $A: SIGTERM: exit 0"
}

# a scoped run: CMD once ready, on $NSBRIDGE_PORT, its status nsbridge's
scoped() {
	local out rc
	out=$(as "$A" "$NSB" -c web "container:$cport" host:0 -- \
		sh -c 'curl -sS --max-time 5 "http://127.0.0.1:$NSBRIDGE_PORT/"; exit 3' 2>"$NSB_LOG")
	rc=$?
	assert_eq "scoped run: exit status ($(cat "$NSB_LOG"))" 3 "$rc"
	assert_eq "scoped run: what CMD saw" "container service" "$out"
	pass "$how: as $A: nsbridge -c web container:$cport host:0 -- CMD: CMD reached the container, nsbridge exited with its 3"
}

# round HOW [ROOTLESSKIT-FLAG...] - everything, with dockerd started so:
# the engine, the image, web, root's nginx and the nsbridge of A's the
# first checks share are the round's setup.
# Under RootlessKit's --pidns, State.Pid is a pid of RootlessKit's pid
# namespace, not of the host's: nsbridge resolves it
round() {
	local how=$1
	shift
	FLAGS=("$@")
	start_rootless_dockerd "$@"
	docker_a import "$T/bb.tar" nsbt-bb:latest >/dev/null 2>"$T/err" ||
		skip "rootless docker import failed here: $(tail -n 1 "$T/err")"
	docker_a run -d --restart always --name web --network none nsbt-bb:latest sleep 100000 >/dev/null 2>"$T/err" ||
		skip "rootless docker cannot run a container here: $(tail -n 1 "$T/err")"
	[ "$(stat -c %U "$(ct_proc)")" = "$A" ] || fail "$how: the container's init is not $A's"
	[ "$(readlink "$(ct_proc)/ns/user")" != "$(readlink /proc/self/ns/user)" ] ||
		fail "$how: the container is in the host's user namespace"

	pick_port port
	mkdir -p "$T/www" && echo "host service $port" >"$T/www/index.html"
	start_nginx "" "$port" "$T/www" 127.0.0.1
	as_argv NSB_WRAP "$A"
	start_nsb -c web "host:$port" "container:$port"
	relay=$NSB_PID
	check by_name
	check credentials
	check ports_as_a
	check restart
	stop_nsb
	check stopped
	check engine_restart

	# the service inside on cport, for the scenes
	web_httpd docker_a
	check scene_reverse docker_a "$how: "
	check scoped
	check scene_range docker_a "$how: "
	check scene_unix docker_a "$how: " "$USOCK"
	check scene_mirrors docker_a "$how: "
	NSB_WRAP=()
	docker_a rm -f web >/dev/null
	stop_rootless_dockerd
}

round "dockerd-rootless.sh"
round "RootlessKit --pidns" --pidns
