# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh - what the bench scripts share: tools from Debian, a release build,
# and a network namespace of the script's own that plays the host
#
# A script sources this with REPO set, then calls bench_enter "$@" (which
# installs, builds and re-runs the script inside a new network namespace)
# and bench_host_net there.

# bench_enter PACKAGES -- ARGS... - install PACKAGES, build nsbridge into
# build-bench, and re-run the calling script in a network namespace of its own
bench_enter() {
	local pkgs=() missing p
	while [ "$1" != -- ]; do pkgs+=("$1"); shift; done
	shift
	[ -n "${NSBENCH_INSIDE:-}" ] && return 0
	missing=$(for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "ok installed" || echo "$p"; done)
	if [ -n "$missing" ]; then
		echo "bench: installing" $missing >&2
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
			>/dev/null || exit 1
	fi
	[ -d "$REPO/build-bench" ] || meson setup "$REPO/build-bench" --buildtype=release \
		-Dtests=false >/dev/null || exit 1
	ninja -C "$REPO/build-bench" >/dev/null || exit 1
	export NSBENCH_INSIDE=1
	exec unshare --net -- "$0" "$@"
}

# The packages nsbridge's release build needs
BENCH_BUILD_PKGS="meson ninja-build pkg-config gcc libnl-3-dev libnl-route-3-dev libnl-idiag-3-dev
	libcap-dev libseccomp-dev libcurl4-openssl-dev libjson-c-dev libsystemd-dev libmicrohttpd-dev
	libconfig-dev iproute2 procps python3"

# bench_host_net - lo up, and an interface for pasta to copy addresses and
# routes from: a veth pair with documentation addresses no figure uses
bench_host_net() {
	ip link set lo up
	ip link add nsbench0 type veth peer name nsbench1
	ip addr add 192.0.2.1/24 dev nsbench0
	ip -6 addr add 2001:db8::1/64 dev nsbench0 nodad
	ip link set nsbench0 up && ip link set nsbench1 up
	ip route add default via 192.0.2.254 dev nsbench0
	ip -6 route add default via 2001:db8::fe dev nsbench0
}
