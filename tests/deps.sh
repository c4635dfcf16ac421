#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# deps.sh - install what building and testing nsbridge need, from Debian's archive
set -eu

# build: compilers, meson, the libraries nsbridge links
BUILD="meson ninja-build pkg-config gcc clang libclang-rt-14-dev libc6-dev
	libnl-3-dev libnl-route-3-dev libnl-idiag-3-dev libcap-dev libseccomp-dev libcmocka-dev
	libcurl4-openssl-dev libjson-c-dev libsystemd-dev libmicrohttpd-dev libconfig-dev
	scdoc bash-completion"
# tests: real servers and clients, and the tools that shape the scenes
TEST="iproute2 procps util-linux libcap2-bin psmisc python3
	valgrind gdb curl socat nginx-light iperf3 wrk dnsmasq-base bind9-dnsutils
	postgresql docker.io docker-compose busybox-static debootstrap
	podman runc man-db"

missing=""
for p in $BUILD $TEST; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing; run as root to install them" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# the test servers are started by the tests; keep apt from starting them
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
