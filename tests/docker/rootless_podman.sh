#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# rootless_podman.sh - an ordinary user bridges into its own rootless Podman container
#
# Run as root, which only sets the scene: two ordinary users with
# subordinate ranges and runtime directories. Everything else runs as the
# first user (as_user): Podman with its own store and API service, the
# container, nsbridge: both directions, IPv6, UDP, --mirror, ports, status,
# the relay's and the opener's credentials, podman restart, a range, a
# unix: SERVICE of the user's, --metrics, a scoped run, two mirrors facing
# each other, lo brought up. The second user is refused, as are a low host
# port and, in a user namespace of the test's own, a machine without user
# namespaces. TESTING.md, "Rootless Podman and Docker as an ordinary
# user", says how Podman runs here.
. "$(dirname "$0")/../integration/lib.sh"

command -v podman >/dev/null || skip "podman is not installed"
command -v runc >/dev/null || skip "runc is not installed"
. "$(dirname "$0")/rootless_lib.sh"

ROOTLESS_CLEANUP+=('[ -n "$CONTAINERS" ] && podman_a rm -f -t 0 -a')
CONTAINERS=
make_user A a
make_user B b
UID_A=$(id -u "$A")

# vfs: Podman 5 would take overlay, which needs a mount program over the
# overlayfs of a container's root (tests/fresh.sh); Podman 4 took vfs by
# itself. pasta (Podman 5's rootless network) opens /dev/net/tun as A:
# where it is 0600 (this sandbox), A's Podman runs in a mount namespace
# with a 0666 one over it, as on a stock Debian. Every command of A's
# Podman joins the namespaces of its first (the pause process's), so every
# one runs so.
TUN=
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
	TUN=$T/tun
	mknod -m 666 "$TUN" c 10 200 || fail "mknod $TUN"
fi
podman_a() {
	local argv
	as_argv argv "$A"
	argv+=(podman --runtime "$(command -v runc)" --cgroup-manager cgroupfs --storage-driver vfs "$@")
	if [ -n "$TUN" ]; then
		unshare -m -- sh -c 'mount --bind "$0" /dev/net/tun && exec "$@"' "$TUN" "${argv[@]}"
	else
		"${argv[@]}"
	fi
}

# -------- rootless Podman, as A: the API service, the image, the container --------
SOCK=/run/user/$UID_A/podman/podman.sock
# start_service - A's API service; false if it does not answer
start_service() {
	bg_to "$T/service.log" podman_a system service --time=0
	for _ in $(seq 1 600); do
		as "$A" curl -s --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1 && return 0
		alive "$BG_PID" || return 1
		sleep 0.05
	done
	return 1
}
start_service ||
	skip "rootless podman's API service did not start: $(tail -n 2 "$T/service.log" | tr '\n' ' ')"

busybox_tar "$T/bb.tar"
podman_a import "$T/bb.tar" localhost/nsbt-bb >/dev/null 2>"$T/err" ||
	skip "rootless podman import failed here: $(tail -n 1 "$T/err")"
CONTAINERS=1
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
podman_a run -d --name web --network none "${limits[@]}" localhost/nsbt-bb sleep 100000 \
	>/dev/null 2>"$T/err" || skip "rootless podman cannot run a container here: $(tail -n 1 "$T/err")"
ctpid() {
	podman_a inspect -f '{{.State.Pid}}' web
}
ct_proc() {	# web's init as /proc/PID (rootless_lib.sh's scenes)
	echo "/proc/$(ctpid)"
}
[ "$(stat -c %U "/proc/$(ctpid)")" = "$A" ] || fail "the container's init is not $A's"

# -------- a host-loopback service reached from inside, by name --------
# root's nginx, and the nsbridge of A's the checks up to podman restart share
pick_port port
mkdir -p "$T/www" && echo "host service $port" >"$T/www/index.html"
start_nginx "" "$port" "$T/www" 127.0.0.1
as_argv NSB_WRAP "$A"
start_nsb -c web "host:$port" "container:$port" "host:$port" container:80
relay=$NSB_PID
fetch() {	# PORT - what wget inside the container gets from 127.0.0.1:PORT
	ct_fetch podman_a "$1"
}

by_name() {
	assert_eq "direct, on the host" "host service $port" "$(curl -s "http://127.0.0.1:$port/")"
	assert_eq "wget inside the rootless container" "host service $port" "$(fetch "$port")"
	pass "as $A: nsbridge -c web host:$port container:$port, wget inside gets the host's page"
}

port_80() {
	assert_eq "wget inside, port 80" "host service $port" "$(fetch 80)"
	pass "as $A: container:80, below 1024, bound inside the container's namespace"
}

over_ipv6() {
	assert_eq "wget inside, over [::1]" "host service $port" \
		"$(podman_a exec web timeout 10 wget -qO- "http://[::1]:$port/" 2>/dev/null)"
	pass "as $A: the same over IPv6"
}

# -------- the relay and the opener, as /proc shows them --------
credentials() {
	local opener p ct_userns
	opener=$(pgrep -P "$relay" -x nsbridge-opener)
	[ -n "$opener" ] || fail "no nsbridge-opener child of $relay"
	for p in "$relay" "$opener"; do
		assert_eq "uid of $p" "$UID_A" "$(status_of "$p" Uid)"
		assert_eq "NoNewPrivs of $p" 1 "$(status_of "$p" NoNewPrivs)"
	done
	assert_eq "relay CapEff" 0000000000000000 "$(status_of "$relay" CapEff)"
	assert_eq "relay Seccomp" 2 "$(status_of "$relay" Seccomp)"
	assert_eq "relay user namespace" "$(readlink /proc/self/ns/user)" "$(readlink "/proc/$relay/ns/user")"
	# the opener's capabilities count in the engine's user namespace only
	ct_userns=$(readlink "/proc/$(ctpid)/ns/user")
	assert_eq "opener user namespace" "$ct_userns" "$(readlink "/proc/$opener/ns/user")"
	[ "$ct_userns" != "$(readlink /proc/self/ns/user)" ] || fail "the container is in the host's user namespace"
	# SYS_ADMIN, SYS_PTRACE, NET_ADMIN, NET_BIND_SERVICE: nothing else, there
	assert_eq "opener CapEff (in the container's user namespace)" 0000000000281400 \
		"$(status_of "$opener" CapEff)"
	assert_eq "opener CapBnd" 0000000000281400 "$(status_of "$opener" CapBnd)"
	pass "relay: uid $UID_A, CapEff 0, NoNewPrivs 1, Seccomp 2; opener: uid $UID_A, in the engine's user namespace only"
}

# -------- nsbridge ports -c web, as A --------
ports_as_a() {
	local p
	as "$A" "$NSB" ports -c web >"$T/ports" 2>"$T/err" || fail "nsbridge ports -c web: $(cat "$T/err")"
	for p in "$port" 80; do
		grep -Eq "^tcp +127\.0\.0\.1 +$p +$relay +nsbridge +yes +web$" "$T/ports" ||
			fail "nsbridge ports -c web: no line for nsbridge's listener on $p: $(cat "$T/ports")"
	done
	pass "as $A: nsbridge ports -c web lists nsbridge's listeners inside"
}

# -------- nsbridge status, as A: the control socket under A's runtime directory --------
status_as_a() {
	local out
	out=$(as "$A" "$NSB" status) || fail "nsbridge status as $A: exit $?"
	assert_match "status as $A" "nsbridge $relay \(/run/user/$UID_A/nsbridge/$relay\.sock\), up [0-9]+s, container web running" "$out"
	pass "as $A: nsbridge status reads /run/user/$UID_A/nsbridge/$relay.sock"
}

# -------- root under sudo finds A's container through A's socket, and enters directly --------
root_sudo() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SUDO_UID="$UID_A" "$NSB" ports -c web >"$T/ports" 2>"$T/err" ||
		fail "SUDO_UID=$UID_A nsbridge ports -c web as root: $(cat "$T/err")"
	grep -Eq "^tcp +127\.0\.0\.1 +$port +$relay +nsbridge +yes( +[^ ]+)?$" "$T/ports" ||
		fail "SUDO_UID=$UID_A nsbridge ports -c web as root: $(cat "$T/ports")"
	pass "root with SUDO_UID=$UID_A: nsbridge ports -c web finds $A's container"
}

# -------- podman restart, followed --------
restart() {
	podman_a restart -t 0 web >/dev/null || fail "podman restart"
	wait_until "answer inside web after its restart" 30 ct_answers podman_a "$port" "host service $port"
	pass "podman restart: followed, the host's page answers inside again"
}

# -------- the engine's API service killed; web restarted meanwhile --------
# (Podman's CLI needs no service: the events of the restart are never on a
# stream; the watcher's listing when the service answers again finds it)
service_restart() {
	local service old_pid
	service=$(pgrep -n -u "$A" -f "podman .*system service") || fail "no API service of $A's"
	old_pid=$(ctpid)
	kill -KILL "$service"
	wait_until "the end of the API service" 30 gone "$service"
	podman_a restart -t 0 web >/dev/null || fail "podman restart without the service"
	[ "$(ctpid)" != "$old_pid" ] || fail "web's pid did not change"
	start_service || fail "the API service did not start again"
	wait_until "answer inside web after the service came back" 30 ct_answers podman_a "$port" "host service $port"
	wait_until "the watcher's line" 30 grep -q "is back: its running containers were listed again" "$NSB_LOG"
	pass "the rootless API service killed, web restarted meanwhile, the service started again: web bridged again"
}

stopped() {
	assert_eq "exit status" 0 "$NSB_STATUS"
	pass "as $A: SIGTERM: exit 0"
}

check by_name
check port_80
check over_ipv6
check credentials
check ports_as_a
check status_as_a
check root_sudo
check restart
check service_restart
stop_nsb
check stopped

# -------- the reverse: a service inside, reached from the host --------
web_httpd podman_a
check scene_reverse podman_a ""

mirror_reverse() {
	NSB_READY=1 own_nsb -c web --mirror container host
	assert_eq "curl on the host, mirrored" "$(fetch "$cport")" "$(curl -s "http://127.0.0.1:$cport/")"
	pass "as $A: nsbridge -c web --mirror container host, curl here gets the container's page on $cport"
	stop_nsb
}
check mirror_reverse

# -------- UDP: the host's DNS server answers inside, on the container's port 53 --------
udp_bound() {
	ss -Hunl "sport = :$dport" | grep -q .
}
udp_dns() {
	local answer
	bg_to "$T/dnsmasq.log" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
		--no-hosts --port="$dport" --listen-address=127.0.0.1 --bind-interfaces --user=root \
		--pid-file="$T/dnsmasq.pid" --address=/db.nsbridge.test/192.0.2.53
	DNSMASQ_PID=$BG_PID
	NSB_PID=''	# the check's own, once started
	trap 'kill -KILL $NSB_PID "$DNSMASQ_PID" 2>/dev/null' EXIT
	wait_until "dnsmasq on udp port $dport" 30 udp_bound
	assert_eq "dig on the host, direct" 192.0.2.53 \
		"$(dig @127.0.0.1 -p "$dport" +short +tries=1 +time=3 db.nsbridge.test A)"
	start_nsb -c web "host:$dport/udp" container:53/udp
	answer=$(podman_a exec web timeout 10 nslookup db.nsbridge.test 127.0.0.1 2>&1)
	assert_match "nslookup inside" "Address: 192\.0\.2\.53" "$answer"
	pass "as $A: nsbridge -c web host:$dport/udp container:53/udp, nslookup inside gets dnsmasq's answer"
	stop_nsb
}
if command -v dnsmasq >/dev/null; then
	pick_port dport
	check udp_dns
else
	note "dnsmasq is not installed: UDP is not tried"
fi

# -------- a range: each port inside answered by its own host port --------
check scene_range podman_a ""

# -------- a unix: SERVICE of A's, and --metrics counting what it carried --------
# python's HTTP server on a unix socket in A's runtime directory, serving
# 2 MiB of random bytes from A's home
check scene_unix podman_a "" "/run/user/$UID_A/svc.sock"

# -------- a scoped run: CMD once ready, on \$NSBRIDGE_PORT, its status nsbridge's --------
scoped() {
	local out rc
	out=$(as "$A" "$NSB" -c web "container:$cport" host:0 -- \
		sh -c 'curl -sS --max-time 5 "http://127.0.0.1:$NSBRIDGE_PORT/"; id -u; exit 3' 2>"$NSB_LOG")
	rc=$?
	assert_eq "scoped run: exit status ($(cat "$NSB_LOG"))" 3 "$rc"
	assert_eq "scoped run: what CMD saw" "container service"$'\n'"$UID_A" "$out"
	pass "as $A: nsbridge -c web container:$cport host:0 -- CMD: CMD reached the container on \$NSBRIDGE_PORT, nsbridge exited with its 3"
}
check scoped

# -------- two mirrors facing each other, both A's --------
# Each leaves the other's listeners alone: as A, the opener (in the
# engine's user namespace) cannot read the fds of A's processes out here,
# the relay can. Ports of root's (nginx) are mirrored, with a line saying
# their holder could not be seen.
roots_port_mirrored() {
	assert_eq "lines about root's nginx on $port" 1 \
		"$(grep -c "tcp port $port of host is held by a process not visible" "$T/forward.log")"
	assert_eq "wget inside on $port, mirrored" "host service $port" "$(fetch "$port")"
	pass "as $A: root's port $port mirrored, said once: '$(grep "tcp port $port of host is held" "$T/forward.log")'"
}
check scene_mirrors podman_a "" roots_port_mirrored

# -------- lo down inside: nsbridge brings it up --------
lo_brought_up() {
	as "$A" nsenter -U --preserve-credentials -n -t "$(ctpid)" ip link set lo down ||
		fail "as $A: ip link set lo down inside web"
	assert_match "lo inside, before" "state DOWN|<LOOPBACK>" "$(nsenter -n -t "$(ctpid)" ip -o link show lo)"
	own_nsb -c web "host:$port" "container:$port"
	assert_match "lo inside, after" "<LOOPBACK,UP" "$(nsenter -n -t "$(ctpid)" ip -o link show lo)"
	grep -qx "nsbridge: brought lo up in container web" "$NSB_LOG" || fail "no line saying lo was brought up"
	assert_eq "wget inside, lo brought up" "host service $port" "$(fetch "$port")"
	pass "as $A: lo down inside web, nsbridge brought it up, wget inside gets the host's page"
	stop_nsb
}
check lo_brought_up
NSB_WRAP=()

# -------- what an ordinary user is refused: one line, exit 5, nothing started --------
low_port() {
	refused "a host port below the unprivileged start" \
		"^nsbridge: listening on host 127\.0\.0\.1:80 .*net\.ipv4\.ip_unprivileged_port_start is 1024" \
		"$A" "$NSB" -c web container:80 host:80
	pass "as $A: host:80 refused, '$(cat "$T/err")'"
}

other_users_pid() {
	local pid
	pid=$(ctpid)
	refused "$B, pid:$pid" "^nsbridge: .*belongs to user $A \(uid $UID_A\); run nsbridge as that user, or as root" \
		"$B" "$NSB" -c "pid:$pid" "host:$port" "container:$port"
	pass "as $B: pid:$pid of $A refused, '$(cat "$T/err")'"
}

# (the name is deleted when the test ends: cleanup's list is the setup's)
_NAMESPACES+=("nsbt-$$-web")
other_users_netns() {
	ip netns attach "nsbt-$$-web" "$(ctpid)" || fail "ip netns attach"
	refused "$B, $A's namespace by name" \
		"^nsbridge: entering container netns:nsbt-$$-web is not allowed: .*belongs to user $A \(uid $UID_A\); run nsbridge as that user, or as root" \
		"$B" "$NSB" -c "netns:nsbt-$$-web" "host:$port" "container:$port"
	pass "as $B: $A's namespace, opened by name, refused: '$(cat "$T/err")'"
}

other_users_socket() {
	refused "$B, $A's engine socket" "^nsbridge: .*$SOCK of user $A \(uid $UID_A\)" \
		"$B" env DOCKER_HOST="unix://$SOCK" "$NSB" -c web "host:$port" "container:$port"
	pass "as $B: $A's engine socket refused: '$(cat "$T/err")'"
}

check low_port
check other_users_pid
check other_users_netns
check other_users_socket

# -------- user namespaces disabled: the refusal names the setting --------
# In a user namespace of its own, where root may set user.max_user_namespaces
# to 0 without touching the machine's: uid 65534 there asks for a namespace
# of the host's.
mkns bare rlbare
no_user_namespaces() {
	local child rc
	mkfifo -m 666 "$T/unshared" "$T/mapped"
	# (capabilities come with an exec after the ids are mapped: hence two shells)
	unshare --user -- sh -c 'echo >"$1"; read -r _ <"$2"; shift 2; exec sh -c "$@"' sh \
		"$T/unshared" "$T/mapped" 'echo 0 >/proc/sys/user/max_user_namespaces || exit 9
		exec setpriv --reuid 65534 --regid 65534 --clear-groups "$1" -c "netns:$2" "host:$3" "container:$3"' \
		sh "$NSB" "$bare" "$port" >"$T/out" 2>"$T/err" &
	child=$!
	read -r _ <"$T/unshared"
	echo "0 0 65536" >"/proc/$child/uid_map" && echo "0 0 65536" >"/proc/$child/gid_map" ||
		fail "mapping the ids of a new user namespace"
	echo >"$T/mapped"
	wait "$child"
	rc=$?
	assert_eq "user namespaces disabled: exit status ($(cat "$T/err"))" 5 "$rc"
	assert_eq "user namespaces disabled: stderr lines" 1 "$(wc -l <"$T/err")"
	assert_match "user namespaces disabled: message" \
		"^nsbridge: entering container netns:$bare .*user\.max_user_namespaces is 0" "$(cat "$T/err")"
	pass "user.max_user_namespaces 0: '$(cat "$T/err")'"
}
check no_user_namespaces

# -------- --labels as A: A's labelled container, bridged from its start --------
lab_answers() {
	[ "$(podman_a exec lab timeout 10 wget -qO- "http://127.0.0.1:$port/" 2>/dev/null)" = "host service $port" ]
}
labels_rootless() {
	as_argv NSB_WRAP "$A"
	NSB_READY=0 start_nsb --labels
	podman_a run -d --name lab --network none "${limits[@]}" --label "nsbridge.bridges=host:$port container:$port" \
		localhost/nsbt-bb sleep 100000 >/dev/null 2>"$T/err" || fail "podman run lab: $(tail -n 1 "$T/err")"
	wait_until "the host's page inside lab" 30 lab_answers
	podman_a restart -t 0 lab >/dev/null || fail "podman restart lab"
	wait_until "the host's page inside lab after its restart" 30 lab_answers
	podman_a rm -f -t 0 lab >/dev/null || fail "podman rm lab"
	wait_until "lab's bridge gone from the log" 30 grep -q "container lab: .*stopped\|container lab: .*gone\|lab.*removed" "$NSB_LOG"
	stop_nsb
	assert_eq "nsbridge --labels as $A: exit status" 0 "$NSB_STATUS"
	pass "as $A: nsbridge --labels bridges A's labelled container lab from its start, follows podman restart, lets go on podman rm"
}
check labels_rootless

# -------- Podman 5: pasta's network and a -p port, nsbridge beside --------
# Podman 5 gives a rootless container pasta's network by default (Podman 4
# gave slirp4netns's; the checks above use --network none). web5 has that
# network and a published port of its own, 127.0.0.1:$hport to its httpd;
# nsbridge brings the host's page into the same container. Both answer,
# side by side, and again after podman stop and start (a new pasta, a new
# namespace).
pasta_beside() {
	local version hport page
	version=$(podman_a version -f '{{.Client.Version}}')
	[ "${version%%.*}" -ge 5 ] || skip "Podman $version: pasta is the rootless network from Podman 5 on"
	command -v pasta >/dev/null || skip "pasta is not installed (Debian's passt)"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun here: pasta makes its tap device with it"
	pick_port hport
	podman_a run -d --name web5 -p "127.0.0.1:$hport:8080" "${limits[@]}" localhost/nsbt-bb \
		sh -c 'httpd -p 8080 -h /www; exec sleep 100000' >/dev/null 2>"$T/err" ||
		fail "podman run with pasta's network: $(cat "$T/err")"
	assert_eq "web5's network mode" pasta "$(podman_a inspect -f '{{.HostConfig.NetworkMode}}' web5)"
	wait_until "pasta's port $hport" 30 _listens "" "$hport"
	as_argv NSB_WRAP "$A"
	start_nsb -c web5 "host:$port" "container:$port"
	both_answer
	page=$(curl -s "http://127.0.0.1:$hport/")
	# stop, then start once the old pasta has let its port go: Podman 5.4's
	# restart starts the new pasta while the old one may still hold it
	# ("Failed to bind port ... Address already in use")
	podman_a stop -t 0 web5 >/dev/null 2>"$T/err" || fail "podman stop web5: $(cat "$T/err")"
	wait_until "pasta's port $hport let go" 30 port_free "" "$hport"
	podman_a start web5 >/dev/null 2>"$T/err" || fail "podman start web5: $(cat "$T/err")"
	wait_until "the bridge into web5 after its restart" 30 web5_answers
	both_answer
	stop_nsb
	pass "as $A, Podman $version: web5 on pasta's network, its -p 127.0.0.1:$hport ('$page') and nsbridge's container:$port side by side, and again after podman stop and start"
}
web5_answers() {
	[ "$(podman_a exec web5 timeout 10 wget -qO- "http://127.0.0.1:$port/" 2>/dev/null)" = "host service $port" ]
}
both_answer() {
	assert_eq "curl on the host through pasta's -p" "container service" "$(curl -s --max-time 10 "http://127.0.0.1:$hport/")"
	web5_answers || fail "wget inside web5 through nsbridge: no host page"
	assert_eq "web5's interfaces besides lo" 1 "$(nsenter --net="/proc/$(podman_a inspect -f '{{.State.Pid}}' web5)/ns/net" ip -o link | grep -vc ': lo:')"
}
check pasta_beside
