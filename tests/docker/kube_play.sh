#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# kube_play.sh - deploy/kubernetes.yaml run by a real engine: podman kube play
#
# No Kubernetes cluster runs here, but Podman plays a Pod manifest for real:
# the pod's shared network namespace, hostPID, the capabilities the manifest
# adds and drops, the container arguments. The images are the manifest's
# names: nsbridge built from the project's Dockerfile by Podman itself, the
# app a busybox that sleeps. The node is a namespace of the test's with a
# stand-in agent on its 127.0.0.1:8126; the one line changed in the manifest
# is the node's namespace, /proc/1/ns/net, which here is the test's (the pod
# sees every pid). The pod has no network of Podman's (--network none): its
# loopback is all the app has, and the sidecar brings the agent onto it.
# podman build reaches Debian's archive: this test keeps the machine's network
NSBT_MACHINE_NET=1
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
MANIFEST=$REPO/deploy/kubernetes.yaml
POD=app-with-nsbridge
command -v podman >/dev/null || skip "podman is not installed"
command -v debootstrap >/dev/null || skip "debootstrap is not installed"
# kube play's pod has an infra container, whose pause image Podman makes
# from catatonit
[ -x /usr/libexec/podman/catatonit ] || command -v catatonit >/dev/null ||
	skip "catatonit is not installed (the pod's pause image)"

PD=$T/podman
mkdir -p "$PD"
stop_kube() {
	podman_ pod rm -f -t 0 -a >/dev/null 2>&1
	podman_ rm -f -t 0 -a >/dev/null 2>&1
}
# when a check fails, what Podman saw: the containers and the sidecar's
# log (before stop_kube removes them)
at_exit '[ "$_TAP_FAILED" = 0 ] || { podman_ ps -a; podman_ logs "$POD-nsbridge"; } >&2 2>&1'
at_exit stop_kube
# this machine's hard limits are below Podman's defaults, and kube play
# has no --ulimit (TESTING.md)
cat >"$PD/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
EOF
export CONTAINERS_CONF=$PD/containers.conf
version=$(podman_ version -f '{{.Client.Version}}' 2>/dev/null)
# kube play honours a Pod's hostPID from Podman 4.5 on; Debian 12's 4.3
# plays the pod with a pid namespace of its own, where the node's
# /proc/1 is not to be seen
[ "$(printf '%s\n' 4.5 "$version" | sort -V | head -n 1)" = 4.5 ] ||
	skip "podman $version kube play ignores hostPID (Podman 4.5 and later honour it): the sidecar cannot open the node's namespace"

# the images, under the manifest's names: nothing can be pulled here
debian_tar base bookworm minbase
podman_ import - docker.io/library/debian:bookworm-slim <"$base" >/dev/null 2>&1 ||
	fail "podman import of the bookworm minbase"
retry 3 podman_ build --network host -t registry.example/nsbridge:latest "$REPO" \
	>"$T/build.log" 2>&1 || fail "podman build: $(tail -n 5 "$T/build.log")"
root=$T/app-root
mkdir -p "$root/bin" "$root/tmp"
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh sleep wget sha256sum ls; do ln -s busybox "$root/bin/$a"; done
tar -C "$root" -c . | podman_ import --change 'CMD ["/bin/sleep", "100000"]' - \
	registry.example/app:latest >/dev/null 2>&1 || fail "podman import of the app image"

# the node: a namespace with the agent on 127.0.0.1:8126, and a process in
# it whose namespace the sidecar opens as the manifest opens pid 1's
mkns node node
lo_up "$node"
port_free "$node" 8126 || fail "8126 is taken in the test's own namespace"
mkdir -p "$T/www"
random_file "$T/www/agent" 4
start_nginx "$node" 8126 "$T/www" 127.0.0.1
bg ip netns exec "$node" sleep 100000
node_pid=$BG_PID
sed "/^ *args:/ s|/proc/1/ns/net|/proc/$node_pid/ns/net|" "$MANIFEST" >"$T/kube.yaml"
assert_eq "lines changed in the manifest" 1 "$(diff "$MANIFEST" "$T/kube.yaml" | grep -c '^>')"

sidecar_ready() {
	podman_ logs "$POD-nsbridge" 2>&1 | grep -q ' ready'
}
sidecar_pids() {
	local main
	main=$(podman_ inspect -f '{{.State.Pid}}' "$POD-nsbridge") || return 1
	[ "$main" != 0 ] || return 1	# not running
	echo "$main" $(ps --ppid "$main" -o pid= 2>/dev/null)
}

play() {
	local sum want main
	podman_ kube play --network none "$T/kube.yaml" >"$T/play.log" 2>&1 ||
		fail "podman kube play: $(tail -n 5 "$T/play.log")"
	wait_until "the sidecar's ready line" 60 sidecar_ready
	assert_eq "the app's network interfaces" lo \
		"$(podman_ exec "$POD-app" /bin/ls /sys/class/net | tr -d '\r')"
	want=$(sha256sum <"$T/www/agent" | cut -d' ' -f1)
	sum=$(podman_ exec "$POD-app" /bin/sh -c \
		"wget -T 30 -qO- http://127.0.0.1:8126/agent | sha256sum" | cut -d' ' -f1)
	assert_eq "sha256 of 4 MiB the app fetched from the node's agent" "$want" "$sum"
	main=$(podman_ inspect -f '{{.State.Pid}}' "$POD-nsbridge")
	assert_eq "the sidecar's relay: its uid" 65534 "$(awk '/^Uid:/ { print $3 }' "/proc/$main/status")"
	assert_eq "the sidecar's relay: its capabilities" 0000000000000000 "$(cap_eff "$main")"
	pass "podman $version kube play: the app reaches the node's 127.0.0.1:8126 through the sidecar, byte for byte"
}
check play

down() {
	local pids pid
	pids=$(sidecar_pids) || fail "no sidecar to take down"
	podman_ kube down "$T/kube.yaml" >"$T/down.log" 2>&1 ||
		fail "podman kube down: $(tail -n 5 "$T/down.log")"
	for pid in $pids; do
		wait_until "the end of the sidecar's process $pid" 30 gone "$pid"
		[ ! -e "/run/nsbridge/$pid.sock" ] || fail "/run/nsbridge/$pid.sock is left behind"
	done
	assert_eq "pods left" "" "$(podman_ pod ps -q)"
	assert_eq "containers left" "" "$(podman_ ps -aq)"
	pass "podman kube down: no nsbridge process ($(echo $pids)) or socket is left"
}
check down
