#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# fresh.sh - the README's quick start on a fresh Debian, as a newcomer meets it
#
#   tests/fresh.sh [--suite bookworm|trixie] [--init] [--keep] [-- COMMAND...]
#
# Makes a Debian machine with nothing installed (debootstrap minbase, in a
# container of a private Docker engine), puts a clean clone of this
# repository's HEAD in it, and runs the quick start's two commands there,
# tests/demo.sh and then tests/run.sh (or COMMAND), each a step: its exit
# status, its time and how many packages the machine has gained by its end
# are printed. The container runs without --init unless asked: its first
# process then reaps no orphans, as in many CI systems, and a test that
# takes a zombie for a living process fails here. It has every capability
# this sandbox grants, the options TESTING.md ("A fresh machine") names,
# so that Docker and Podman run in it, and /dev/net/tun, as a machine has
# (pasta, Podman 5's rootless network, needs it).
# The log is build-tests/fresh-SUITE.log; the exit status is the commands'.
# The quick start's result, each step's line and the test command's
# summary, dated, goes to docs/fresh-SUITE.md (not with a COMMAND): the
# last result of each release, kept with the project.
#
# Needs root, dockerd and debootstrap (tests/deps.sh test). Not part of
# tests/run.sh: it runs that command itself. Run it for both releases
# before a release (README.md, "Contributing").
set -u
cd "$(dirname "$0")/.."
REPO=$PWD

SUITE=bookworm
INIT=()
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--suite) SUITE=${2:?}; shift ;;
	--init) INIT=(--init) ;;
	--keep) KEEP=1 ;;
	--) shift; break ;;
	*) echo "usage: $0 [--suite bookworm|trixie] [--init] [--keep] [-- COMMAND...]" >&2; exit 2 ;;
	esac
	shift
done
QUICK_START=0
[ $# -gt 0 ] || { set -- tests/demo.sh tests/run.sh; QUICK_START=1; }
[ "$QUICK_START" = 1 ] || set -- "$*"
[ "$(id -u)" = 0 ] || { echo "fresh.sh: run as root" >&2; exit 1; }
for tool in dockerd docker debootstrap git; do
	command -v "$tool" >/dev/null || { echo "fresh.sh: $tool is missing (tests/deps.sh test)" >&2; exit 1; }
done

mkdir -p build-tests
# the quick start's log, or a COMMAND's own: two runs never share one
LOG=$REPO/build-tests/fresh-$SUITE.log
[ "$QUICK_START" = 1 ] || LOG=$REPO/build-tests/fresh-$SUITE-$$.log
D=$(mktemp -d /tmp/nsbt-fresh.XXXXXX)
DOCKERD_PID=

cleanup() {
	docker rm -f "nsbt-fresh-$$" >/dev/null 2>&1
	[ -n "$DOCKERD_PID" ] && kill "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
	grep -o " $D[^ ]*" /proc/self/mounts | sort -r | xargs -r umount -l 2>/dev/null
	[ "$KEEP" = 1 ] || rm -rf "$D"
}
trap cleanup EXIT
# a signal ends the run through the same cleanup: no engine or container left
trap 'exit 130' INT TERM HUP

export DOCKER_HOST=unix://$D/docker.sock
dockerd --iptables=false --ip6tables=false --bridge=none --data-root "$D/data" \
	--exec-root "$D/exec" --pidfile "$D/dockerd.pid" -H "$DOCKER_HOST" >"$D/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 1 300); do
	docker info >/dev/null 2>&1 && break
	kill -0 "$DOCKERD_PID" 2>/dev/null || { echo "fresh.sh: dockerd: $(tail -n 2 "$D/dockerd.log")" >&2; exit 1; }
	sleep 0.1
done

# the machine: a minbase debootstrap, kept as a tarball between runs
# (build-tests/fresh-SUITE.tar; the container is new each time, and
# nothing is ever installed into the tarball)
TARBALL=$REPO/build-tests/fresh-$SUITE.tar
if [ ! -s "$TARBALL" ]; then
	echo "fresh.sh: debootstrap $SUITE" >&2
	for try in 1 2 3; do
		debootstrap --variant=minbase "$SUITE" "$D/rootfs" >"$D/debootstrap.log" 2>&1 && break
		[ "$try" = 3 ] && { echo "fresh.sh: debootstrap: $(tail -n 2 "$D/debootstrap.log")" >&2; exit 1; }
		rm -rf "$D/rootfs"
	done
	tar -C "$D/rootfs" -cf "$TARBALL.part" . && mv "$TARBALL.part" "$TARBALL"
	rm -rf "$D/rootfs"
fi
docker import - "nsbt-fresh:$SUITE" <"$TARBALL" >/dev/null

# a clean clone of HEAD: what CI and a newcomer have
git clone -q "$REPO" "$D/clone"

# the steps, in the container: each one's exit status, time and the
# packages installed by its end; the first that fails ends the run
# shellcheck disable=SC2016
steps='base=$(dpkg-query -W -f="\${db:Status-Abbrev}\n" | grep -c "^ii")
for step; do
	start=$(date +%s)
	sh -c "$step"
	rc=$?
	secs=$(($(date +%s) - start))
	pkgs=$(($(dpkg-query -W -f="\${db:Status-Abbrev}\n" | grep -c "^ii") - base))
	echo "fresh: $step: exit status $rc after $((secs / 60))m$((secs % 60))s; $pkgs packages installed by its end"
	[ "$rc" = 0 ] || exit "$rc"
done'

echo "fresh.sh: running $* in a fresh $SUITE (log: $LOG)" >&2
when=$(date -u '+%Y-%m-%d %H:%M UTC')
load=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
docker run --name "nsbt-fresh-$$" "${INIT[@]}" --network host \
	--cap-add ALL --cap-drop SYS_RESOURCE --device /dev/net/tun \
	--security-opt seccomp=unconfined --security-opt apparmor=unconfined \
	--security-opt systempaths=unconfined --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
	-v "$D/clone:/src" -w /src "nsbt-fresh:$SUITE" sh -c "$steps" sh "$@" >"$LOG" 2>&1 &
# waited for in the background: bash acts on a signal's trap only once a
# foreground command ends, and the container's may run for an hour
wait $!
status=$?
secs=$(($(date +%s) - start))
tail -n 25 "$LOG"
grep -a '^fresh: ' "$LOG" >&2
echo "fresh.sh: a fresh $SUITE: exit status $status after $((secs / 60))m$((secs % 60))s" >&2
[ "$QUICK_START" = 1 ] || exit "$status"

# the result, kept with the project
{
	echo "# The quick start on a fresh Debian $SUITE"
	echo
	echo "Written by \`tests/fresh.sh --suite $SUITE\` on $when: commit $(git -C "$D/clone" rev-parse --short HEAD)," \
		"a debootstrap minbase $SUITE in a container$([ ${#INIT[@]} = 0 ] && echo ' without --init')," \
		"on a host of $(nproc) cores, kernel $(uname -r), load average $load at the start."
	echo "Exit status $status after $((secs / 60))m$((secs % 60))s."
	echo
	echo "Each step, with the packages the machine had gained by its end:"
	echo
	grep -a '^fresh: ' "$LOG" | sed 's/^fresh: /    /'
	echo
	echo "The test command's summary:"
	echo
	sed -n '/^=== summary$/,$p' "$LOG" | sed 's/^/    /'
} >"$REPO/docs/fresh-$SUITE.md"
echo "fresh.sh: the result is in docs/fresh-$SUITE.md" >&2
exit "$status"
