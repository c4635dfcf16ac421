#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# deps.sh - install what building, showing and testing nsbridge need, from Debian's archive
#
#   tests/deps.sh [--dry-run] [SET...]
#
# SET is one of:
#   build  a compiler, meson and the libraries nsbridge links: enough for
#          meson setup -Dtests=false and ninja
#   demo   what tests/demo.sh runs besides nsbridge
#   deb    what deploy/deb.sh builds the Debian package with, and lintian
#   test   everything tests/run.sh builds and runs: clang, cmocka, scdoc,
#          the real servers and clients, Docker and Podman
# Without a SET, build and test (the test command's needs). --dry-run
# installs nothing and prints each package of the sets asked for, one a
# line: "PKG installed" or "PKG missing" (which would be installed).
set -eu

BUILD="meson ninja-build pkg-config gcc libc6-dev
	libnl-3-dev libnl-route-3-dev libnl-idiag-3-dev libcap-dev libseccomp-dev
	libcurl4-openssl-dev libjson-c-dev libsystemd-dev libmicrohttpd-dev libconfig-dev"
# the demo: a namespace, a web server, a client
DEMO="iproute2 python3 curl"
# deploy/deb.sh: dpkg-buildpackage, debhelper, the manual page's scdoc
# (deploy/debian/control's Build-Depends are BUILD and scdoc), and lintian
DEB="build-essential dpkg-dev debhelper scdoc lintian"
# the test command: the other compilers and test tools of the build, real
# servers and clients, and the tools that shape the scenes. clang comes
# without its recommends: its sanitizer runtime and llvm's symbolizer, which
# LeakSanitizer needs to apply tests/lsan.supp, are named here (the
# unversioned packages, which follow each release's clang); systemd for
# systemd-analyze verify of the units (it is not started); catatonit for
# the pause image of podman kube play's pods; passt, whose pasta is the
# network of Podman 5's rootless containers. Each name is the same in
# Debian 12 and 13 (tests/fresh.sh --suite bookworm|trixie installs them)
TEST="clang libclang-rt-dev llvm libcmocka-dev scdoc bash-completion systemd
	iproute2 procps util-linux libcap2-bin psmisc python3
	valgrind gdb curl socat nginx-light iperf3 wrk dnsmasq-base bind9-dnsutils prometheus
	postgresql docker.io docker-compose busybox-static debootstrap
	podman runc catatonit passt uidmap rootlesskit man-db $DEB"

# Debian 13 splits Docker's client out of docker.io (which only
# recommends it); Debian 12's docker.io has it
case $(. /etc/os-release && echo "${VERSION_CODENAME:-}") in
bookworm) ;;
*) TEST="$TEST docker-cli" ;;
esac

dry_run=
if [ "${1:-}" = --dry-run ]; then
	dry_run=1
	shift
fi
[ $# -gt 0 ] || set -- build test
wanted=""
for s in "$@"; do
	case $s in
	build) wanted="$wanted $BUILD" ;;
	demo) wanted="$wanted $DEMO" ;;
	deb) wanted="$wanted $BUILD $DEB" ;;
	test) wanted="$wanted $BUILD $TEST" ;;
	*)
		echo "deps.sh: unknown set '$s': expected build, demo, deb or test" >&2
		exit 2
		;;
	esac
done

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

missing=""
seen=" "
for p in $wanted; do
	case $seen in *" $p "*) continue ;; esac
	seen="$seen$p "
	if installed "$p"; then
		[ -z "$dry_run" ] || echo "$p installed"
	else
		[ -z "$dry_run" ] || echo "$p missing"
		missing="$missing $p"
	fi
done
[ -z "$dry_run" ] || exit 0
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
# a download from the archive can fail for a moment: apt tries each again
apt-get update -qq -o Acquire::Retries=3
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends -o Acquire::Retries=3 $missing >/dev/null
