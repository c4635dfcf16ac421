#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# unit_restart.sh - systemd starts a failed nsbridge again (issue 25, item 6):
# deploy/nsbridge@.service, as this build configured it (Type=notify-reload
# where systemd has it), run by a real systemd as the first process of a
# Podman container (this machine's Debian release, from debootstrap), with
# this build's nsbridge where the unit's ExecStart= looks:
#
#   - a start that fails (the port it should expose is taken: exit 3) is
#     tried again until the port is free, then serves;
#   - nsbridge killed (kill -9 of the unit's main process) is started
#     again, and serves;
#   - systemctl reload reads the --config file again: with Type=notify-reload
#     the new bridge serves as soon as systemctl returns;
#   - a usage error (exit 2) is not retried: no retry mends a configuration;
#   - systemctl stop is a clean exit 0, not started again.
#
# Each check waits on a state the unit reaches (systemctl show), never on
# a clock: the 2 s between two starts is systemd's to keep. The container's
# network is a namespace of the test's ("host"), and the bridged container
# is another, seen in it as /run/netns/web: the unit is nsbridge@netns:web.
NSBT_MACHINE_NET=1	# debootstrap downloads; services in namespaces made here
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../docker/lib.sh"

command -v podman >/dev/null || skip "podman is not installed"
command -v debootstrap >/dev/null || skip "debootstrap is not installed"
# the unit as meson configured it beside this nsbridge (build/deploy/)
UNIT_SOURCE=$(dirname "$NSB")/../deploy/nsbridge@.service
[ -f "$UNIT_SOURCE" ] || fail "no $UNIT_SOURCE beside $NSB"
EXEC_START=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$UNIT_SOURCE")
UNIT_TYPE=$(sed -n 's/^Type=//p' "$UNIT_SOURCE")
UNIT='nsbridge@netns:web.service'

mkns hostns uhost
mkns web uweb
lo_up "$hostns"
lo_up "$web"
pick_port svc "$hostns" "$web"	# the host's service
pick_port exp "$hostns" "$web"	# where web sees it
pick_port exp2 "$hostns" "$web"	# where web sees it after a reload
mkdir -p "$T/www"
random_file "$T/www/file" 1
start_nginx "$hostns" "$svc" "$T/www" 127.0.0.1

# The root file system: this machine's Debian with systemd, and the libraries this
# nsbridge links (their packages, from ldd), made once per run
# package_of LIB - the package that holds LIB, which dpkg may know under
# /lib or /usr/lib (merged /usr: both are one directory)
package_of() {
	local path
	for path in "$1" "/usr${1#/usr}" "${1#/usr}"; do
		dpkg -S "$path" 2>/dev/null && return 0
	done
	fail "no package holds $1, which $NSB links"
}
packages=$(ldd "$NSB" | awk '$3 ~ /^\// { print $3 }' | while read -r lib; do
	package_of "$lib"; done | cut -d: -f1 | sort -u | tr '\n' ' ')
# procps: the kill that ExecReload= runs where systemd has no
# Type=notify-reload (Debian 12); every Debian but a minbase has it
# (Priority: important), and the package depends on it
# shellcheck disable=SC2086
debian_tar rootfs_tar "$MACHINE_SUITE" "systemd-$(echo "$packages" | md5sum | cut -c1-8)" systemd-sysv procps $packages
ROOT=$T/root
mkdir -p "$ROOT"
tar -C "$ROOT" -xf "$rootfs_tar" || fail "unpacking $rootfs_tar"
install -m 644 "$UNIT_SOURCE" "$ROOT/etc/systemd/system/nsbridge@.service"
mkdir -p "$ROOT/etc/nsbridge" "$ROOT/etc/systemd/system/nsbridge@.service.d"
printf '%s\n' "NSBRIDGE_ARGS=host:$svc container:$exp" "NSBRIDGE_CONFIG=/etc/nsbridge/web.conf" \
	>"$ROOT/etc/nsbridge/netns:web.env"
echo 'connect-timeout = "5s";' >"$ROOT/etc/nsbridge/web.conf"
echo 'NSBRIDGE_ARGS=host:1 container:2 --no-such-option' >"$ROOT/etc/nsbridge/netns:bad.env"
# a sanitized build reports as it does in every other test
{
	echo '[Service]'
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && echo "Environment=\"$v=${!v}\""
	done
} >"$ROOT/etc/systemd/system/nsbridge@.service.d/sanitizers.conf"
mounts=(-v "$NSB:$EXEC_START:ro" -v "/run/netns/$web:/run/netns/web")
IFS=: read -ra lsan <<<"${LSAN_OPTIONS:-}"
for opt in "${lsan[@]}"; do
	[[ "$opt" == suppressions=* ]] && mounts+=(-v "${opt#*=}:${opt#*=}:ro")
done

PD=$T/podman
sd_podman() {
	podman --root "$PD/storage" --runroot "$PD/run" --storage-driver vfs \
		--cgroup-manager cgroupfs --runtime "$(command -v runc)" "$@"
}
# when a check fails, what systemd saw: the units' state and their journal
at_exit '[ "$_TAP_FAILED" = 0 ] || { in_sd systemctl status "nsbridge@*" --no-pager; in_sd journalctl --no-pager -n 60; } >&2 2>/dev/null'
at_exit 'sd_podman rm -f -t 0 sd >/dev/null 2>&1'
# systemd needs CAP_SYS_ADMIN for its units' sandboxes; nsbridge needs
# what its unit grants (CapabilityBoundingSet=). No --privileged: this
# sandbox lacks CAP_SYS_RESOURCE (TESTING.md), hence limits no higher
# than its own
sd_podman run -d --name sd --systemd=always --network "ns:/run/netns/$hostns" \
	--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096 \
	--cap-add SYS_ADMIN,SYS_PTRACE,NET_ADMIN,NET_BIND_SERVICE,SETPCAP,SETUID,SETGID \
	--security-opt seccomp=unconfined --security-opt apparmor=unconfined \
	"${mounts[@]}" --rootfs "$ROOT" /lib/systemd/systemd >"$T/podman.log" 2>&1 ||
	fail "podman cannot run systemd here: $(tail -n 2 "$T/podman.log" | tr '\n' ' ')"

in_sd() {
	sd_podman exec sd "$@"
}
# unit_is UNIT PROPERTY=VALUE... - systemctl show says so of UNIT
unit_is() {
	local unit=$1 want
	shift
	want=$(printf '%s\n' "$@")
	[ "$(in_sd systemctl show "$unit" -p "$(IFS=,; echo "${*%%=*}")" | sort)" = "$(sort <<<"$want")" ]
}
prop() {
	in_sd systemctl show "$1" -p "$2" --value
}
booted() {
	local state
	state=$(in_sd systemctl is-system-running 2>/dev/null)
	[ "$state" = running ] || [ "$state" = degraded ]
}
wait_until "systemd in the container to finish booting" 120 booted

# served WHAT - web fetches the host's file through the bridge, as directly
served() {
	nsx "$web" curl -sS --max-time 10 -o "$T/got" "http://127.0.0.1:$exp/file" ||
		fail "$1: no answer through the bridge"
	cmp -s "$T/got" "$T/www/file" || fail "$1: the bytes differ from the file"
}
running() {
	unit_is "$UNIT" ActiveState=active SubState=running
}

# A start that fails is tried again, until it succeeds
failed_start_retried() {
	local holder
	bg_to "$T/holder.log" ip netns exec "$web" socat "TCP-LISTEN:$exp,bind=127.0.0.1,reuseaddr" SYSTEM:true
	holder=$BG_PID
	wait_listen "$web" "$exp"
	in_sd systemctl start --no-block "$UNIT"
	# failed, and to be started again (or started again already)
	wait_until "a failed start of $UNIT" 60 unit_is "$UNIT" ExecMainStatus=3 Result=exit-code
	kill "$holder"
	wait_until "$UNIT running, once the port was free" 60 running
	[ "$(prop "$UNIT" NRestarts)" -ge 1 ] || fail "$UNIT runs, but was never started again"
	served "after the retried start"
	pass "a start that failed (exit 3, port in use) was retried every $(prop "$UNIT" RestartUSec), and serves once the port is free"
}

# nsbridge killed is started again
killed_restarted() {
	local before pid
	before=$(prop "$UNIT" NRestarts)
	pid=$(prop "$UNIT" MainPID)
	in_sd systemctl kill --kill-who=main --signal=SIGKILL "$UNIT"
	wait_until "$UNIT started again after kill -9" 60 running_again "$pid" "$((before + 1))"
	served "after kill -9"
	pass "kill -9 of nsbridge (pid $pid in the container): started again as pid $(prop "$UNIT" MainPID), and serves"
}
running_again() {
	running && unit_is "$UNIT" "NRestarts=$2" && [ "$(prop "$UNIT" MainPID)" != "$1" ]
}

# systemctl reload: the file read again, a bridge added. Type=notify-reload
# (systemd 253 and later) returns once nsbridge said READY=1 again, so the
# bridge serves at once; systemd 252's ExecReload= returns when kill has
# sent the signal, and the new listener is waited for
reloaded() {
	running || fail "$UNIT is not running before the reload"
	cat >"$ROOT/etc/nsbridge/web.conf" <<-EOF
	connect-timeout = "5s";
	bridges = ( { service = "host:$svc"; expose = "container:$exp2"; } );
	EOF
	in_sd systemctl reload "$UNIT" || fail "systemctl reload $UNIT"
	[ "$UNIT_TYPE" = notify-reload ] || wait_listen "$web" "$exp2"
	nsx "$web" curl -sS --max-time 10 -o "$T/got2" "http://127.0.0.1:$exp2/file" ||
		fail "no answer on $exp2 once systemctl reload returned (Type=$UNIT_TYPE)"
	cmp -s "$T/got2" "$T/www/file" || fail "through the reloaded bridge: the bytes differ from the file"
	served "beside the reloaded bridge"
	running || fail "$UNIT is not running after the reload"
	pass "systemctl reload (Type=$UNIT_TYPE): the file's new bridge serves$([ "$UNIT_TYPE" = notify-reload ] && echo " as soon as systemctl returns"), the old one still does"
}

# A usage error is not retried
usage_error_final() {
	in_sd systemctl start 'nsbridge@netns:bad.service' >/dev/null 2>&1 &&
		fail "a unit whose nsbridge has a usage error started"
	wait_until "nsbridge@netns:bad to fail" 60 unit_is 'nsbridge@netns:bad.service' ActiveState=failed
	assert_eq "nsbridge@netns:bad" "ExecMainStatus=2 NRestarts=0 Result=exit-code" \
		"$(in_sd systemctl show 'nsbridge@netns:bad.service' -p ExecMainStatus,NRestarts,Result | sort | tr '\n' ' ' | sed 's/ $//')"
	pass "a usage error (exit 2) is final: failed, not started again"
}

# A stop is a stop
stop_final() {
	in_sd systemctl stop "$UNIT" || fail "systemctl stop $UNIT"
	assert_eq "$UNIT after stop" "ActiveState=inactive ExecMainStatus=0 Result=success" \
		"$(in_sd systemctl show "$UNIT" -p ActiveState,ExecMainStatus,Result | sort | tr '\n' ' ' | sed 's/ $//')"
	port_free "$web" "$exp" || fail "port $exp still listens in web after the stop"
	pass "systemctl stop: nsbridge exits 0 on SIGTERM and is not started again"
}

check failed_start_retried
check killed_restarted
check reloaded
check usage_error_final
check stop_final
