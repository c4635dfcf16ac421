#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# debpkg.sh - the Debian package, end to end: deploy/deb.sh builds it,
# lintian finds no error in it, `apt install ./nsbridge_*.deb` puts it in a
# fresh container of this machine's release (bookworm, trixie: the package
# is built against its libraries) made with debootstrap, the installed nsbridge
# relays a page there, man, the completion, the units and the system user
# are in place, and apt remove then apt purge leave none of its files.
# debootstrap and apt reach Debian's archive: this test keeps the machine's
# network; the bridge itself runs in a container with --network none.
NSBT_MACHINE_NET=1
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
for tool in dpkg-buildpackage dh lintian debootstrap; do
	command -v "$tool" >/dev/null || skip "$tool is not installed (tests/deps.sh deb)"
done
start_dockerd

# the package, from a copy of the tree: the setup every behaviour needs
OUT=$T/out
"$REPO/deploy/deb.sh" "$OUT" >"$T/deb.log" 2>&1 || fail "deploy/deb.sh: $(tail -n 10 "$T/deb.log")"
version=$(sed -n "s/^[[:space:]]*version:[[:space:]]*'\([^']*\)'.*/\1/p" "$REPO/meson.build" | head -n 1)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)

built() {
	local f
	for f in "nsbridge_${version}_$arch.deb" "nsbridge-dbgsym_${version}_$arch.deb"; do
		[ -f "$OUT/$f" ] || fail "deploy/deb.sh made no $f: $(ls "$OUT")"
	done
	pass "deploy/deb.sh: nsbridge_${version}_$arch.deb and its -dbgsym package"
}

# lintian over the .changes checks both packages; its exit status is 1 on
# an error (--fail-on error), and warnings are shown, not failed on
lintian_clean() {
	local rc
	lintian --fail-on error --pedantic "$OUT/nsbridge_${version}_$arch.changes" >"$T/lintian.log" 2>&1
	rc=$?
	assert_eq "lintian exit status ($(cat "$T/lintian.log"))" 0 "$rc"
	grep -q '^E:' "$T/lintian.log" && fail "lintian errors: $(grep '^E:' "$T/lintian.log")"
	pass "lintian: no error, $(grep -c '^W:' "$T/lintian.log") warnings"
}

check built
check lintian_clean

# a fresh machine of this release, as debian:SUITE-slim would be: nothing
# can be pulled (TESTING.md)
import_debian "$MACHINE_SUITE"

# the tools the checks use first, then the package alone, as README.md has it:
# apt takes its libraries from the archive
cat >"$OUT/install.sh" <<'SH'
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq -o Acquire::Retries=3
apt-get install -y -qq --no-install-recommends -o Acquire::Retries=3 man-db curl busybox >/dev/null
cd /deb
apt install -y -o Acquire::Retries=3 ./nsbridge_*.deb
SH
docker run --name install --network host -v "$OUT:/deb:ro" "debian:$MACHINE_SUITE-slim" \
	bash /deb/install.sh >"$T/install.log" 2>&1 || fail "apt install: $(tail -n 10 "$T/install.log")"

installed() {
	grep -q '^Setting up nsbridge ' "$T/install.log" || fail "apt did not set nsbridge up: $(tail -n 10 "$T/install.log")"
	local count size
	# apt 2 (Debian 12): "N newly installed", "After this operation, SIZE of
	# additional disk space"; apt 3 (Debian 13): "Installing: N", "Space needed: SIZE /"
	count=$(sed -n -e 's/.* \([0-9]*\) newly installed.*/\1/p' -e 's/.*Installing: \([0-9]*\).*/\1/p' "$T/install.log" | tail -n 1)
	size=$(sed -n -e 's/^After this operation, \(.*\) of additional disk space.*/\1/p' \
		-e 's/^ *Space needed: \([^/]*[^/ ]\) *\/.*/\1/p' "$T/install.log" | tail -n 1)
	pass "apt install ./nsbridge_${version}_$arch.deb into a fresh $MACHINE_SUITE: ${count:-?} packages newly installed, ${size:-no size said} on disk with its dependencies"
}
check installed

# the installed image, and two containers of it with no network (their
# own loopback only): deb for the checks, deb2 to purge beside deb's remove
docker commit install nsbt-debpkg >/dev/null || fail "docker commit"
docker rm install >/dev/null
for c in deb deb2; do
	docker run -d --name "$c" --network none nsbt-debpkg sleep infinity >/dev/null || fail "docker run $c"
done
in_deb() {
	docker exec deb bash -c "$1"
}

# a page from busybox httpd on 127.0.0.1:8080, directly and through the
# installed nsbridge on 127.0.0.1:8081; started as root, the relay becomes
# the package's user nsbridge. The container's sleep, its pid 1, reaps no
# orphan: a process that has exited is gone or a zombie (in_deb_runs).
in_deb_runs='running() { [ -e /proc/$1 ] && ! grep -qs "^State:[[:space:]]*[ZX]" /proc/$1/status; }'
relays() {
	local direct bridged
	in_deb 'mkdir -p /www && echo "served from the package test" >/www/index.html && busybox httpd -p 127.0.0.1:8080 -h /www' ||
		fail "busybox httpd"
	in_deb 'exec /usr/bin/nsbridge -c self host:8080 container:8081 >/tmp/nsbridge.log 2>&1 & echo $! >/tmp/nsbridge.pid'
	in_deb "$in_deb_runs"'
		for _ in $(seq 1 300); do
			grep -q " ready" /tmp/nsbridge.log && exit 0
			running $(cat /tmp/nsbridge.pid) || break
			sleep 0.1
		done; exit 1' ||
		fail "the installed nsbridge is not ready: $(in_deb 'cat /tmp/nsbridge.log')"
	direct=$(in_deb 'curl -sS http://127.0.0.1:8080/')
	bridged=$(in_deb 'curl -sS --max-time 10 http://127.0.0.1:8081/')
	assert_eq "the page through the installed nsbridge, against the direct fetch" "$direct" "$bridged"
	assert_eq "the relay's uid" "$(in_deb 'id -u nsbridge')" \
		"$(in_deb 'awk "/^Uid:/ { print \$3 }" /proc/$(cat /tmp/nsbridge.pid)/status')"
	in_deb "$in_deb_runs"'
		pid=$(cat /tmp/nsbridge.pid); kill -TERM $pid
		for _ in $(seq 1 100); do
			running $pid || exit 0
			sleep 0.1
		done; exit 1' || fail "nsbridge did not exit on SIGTERM: $(in_deb 'cat /tmp/nsbridge.log')"
	pass "/usr/bin/nsbridge relays the page (${#bridged} bytes), as the system user nsbridge"
}

# where man, bash-completion and systemd look
man_page() {
	local page
	assert_eq "man -w nsbridge" /usr/share/man/man1/nsbridge.1.gz "$(in_deb 'man -w nsbridge')"
	page=$(in_deb 'LC_ALL=C MANPAGER=cat man nsbridge 2>&1') || fail "man nsbridge: $page"
	assert_match "man nsbridge" 'SYNOPSIS' "$page"
	assert_match "man nsbridge" "$version" "$page"
	pass "man nsbridge renders ($(wc -l <<<"$page") lines)"
}

in_place() {
	local unit
	assert_match "completion" '-F _nsbridge nsbridge$' \
		"$(in_deb '. /usr/share/bash-completion/completions/nsbridge && complete -p nsbridge')"
	for unit in /lib/systemd/system/nsbridge@.service /lib/systemd/system/nsbridge-labels.service \
		/usr/lib/systemd/user/nsbridge@.service; do
		assert_eq "$unit: ExecStart=" /usr/bin/nsbridge \
			"$(in_deb "sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' $unit")"
	done
	in_deb 'test -s /usr/share/doc/nsbridge/README.Debian' || fail "no README.Debian"
	# a template needs its /etc/nsbridge/NAME.env, and --labels is the
	# operator's choice: the package enables and starts nothing. An enabled
	# unit is a link in a .wants directory; deb-systemd-helper's NAME.dsh-also
	# only records what enabling would also enable.
	assert_eq "units enabled at install" "" \
		"$(in_deb 'ls -d /etc/systemd/system/*.wants/nsbridge* /var/lib/systemd/deb-systemd-helper-enabled/*.wants/nsbridge* 2>/dev/null')"
	in_deb 'getent passwd nsbridge | grep -q ":/nonexistent:/usr/sbin/nologin$"' ||
		fail "the nsbridge user: $(in_deb 'getent passwd nsbridge')"
	in_deb 'getent group nsbridge >/dev/null' || fail "no group nsbridge"
	pass "completion, system units (the template and --labels) and the user unit, README.Debian, the system user nsbridge: in place"
}

# every path of the package, and what of it is left after apt remove, and
# after apt purge in a second container as installed: a file never; a
# directory only where another installed package owns it, or the merged
# /usr's /lib -> usr/lib that debootstrap made. (With no conffile and no
# postrm, remove takes all and dpkg forgets the package: a purge after it
# would find nothing to purge.)
left() {
	docker exec "$1" bash -c 'while read -r f; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		if [ -d "$f" ]; then
			[ -L "$f" ] && continue
			dpkg-query -S "$f" >/dev/null 2>&1 && continue
		fi
		echo "$f"
	done </tmp/files'
}
remove_purge() {
	local c what state
	for c in deb deb2; do
		docker exec "$c" bash -c 'dpkg -L nsbridge | grep -vx "/\." >/tmp/files'
	done
	docker exec deb bash -c 'DEBIAN_FRONTEND=noninteractive apt remove -y nsbridge' >"$T/remove.log" 2>&1 ||
		fail "apt remove: $(tail -n 5 "$T/remove.log")"
	docker exec deb2 bash -c 'DEBIAN_FRONTEND=noninteractive apt purge -y nsbridge' >"$T/purge.log" 2>&1 ||
		fail "apt purge: $(tail -n 5 "$T/purge.log")"
	for c in deb deb2; do
		what=$([ $c = deb ] && echo remove || echo purge)
		assert_eq "paths of the package left after apt $what" "" "$(left $c)"
		# after remove, dpkg may keep the postrm that purge runs (debhelper's,
		# for nsbridge-labels.service's state): no file of the package is left
		state=$(docker exec $c bash -c 'dpkg-query -W -f="\${Status}" nsbridge 2>/dev/null | grep -v "not-installed"')
		[ "$what" = remove ] && [ "$state" = "deinstall ok config-files" ] && state=
		assert_eq "dpkg's state of nsbridge after apt $what" "" "$state"
		docker exec $c test ! -e /etc/nsbridge || fail "apt $what left /etc/nsbridge"
		docker exec $c getent passwd nsbridge >/dev/null || fail "apt $what removed the user nsbridge"
	done
	pass "apt remove, and apt purge: none of the $(in_deb 'wc -l </tmp/files') paths of the package left; the user nsbridge stays"
}

check relays
check man_page
check in_place
check remove_purge
