#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# units.sh - meson install puts the systemd units where systemd finds them:
# deploy/nsbridge@.service for the system, deploy/nsbridge-user@.service as
# nsbridge@.service for systemctl --user, each starting the nsbridge that
# was installed with it, and reload by SIGHUP; systemd-analyze verify accepts both;
# deploy/nsbridge-labels.service, nsbridge --labels for the whole machine, likewise;
# each restarts a failed nsbridge
#
# usage: units.sh MESON BUILDDIR DEPLOY-DIR; into a --destdir under a
# temporary directory, without rebuilding. No systemd need run: verify
# loads the units in a manager of its own (skipped without systemd-analyze).
. "$(dirname "$0")/lib.sh"

MESON=${1:?usage: $0 MESON BUILDDIR DEPLOY-DIR}
BUILD=${2:?usage: $0 MESON BUILDDIR DEPLOY-DIR}
DEPLOY=${3:?usage: $0 MESON BUILDDIR DEPLOY-DIR}

DEST=$T/dest
"$MESON" install -C "$BUILD" --destdir "$DEST" --no-rebuild --quiet >"$T/log" 2>&1 ||
	fail "meson install --destdir: $(tail -n 5 "$T/log")"

# built against systemd 253 or later, the units reload by Type=notify-reload
# instead of ExecReload= (deploy/meson.build)
systemd_version=$(pkg-config --modversion libsystemd) || fail "pkg-config knows no libsystemd"
notify_reload=0
[ "${systemd_version%%[!0-9]*}" -ge 253 ] && notify_reload=1
# expected FILE - the source unit FILE as meson makes it, but for ExecStart=
expected() {
	if [ "$notify_reload" = 1 ]; then
		sed -e 's|^Type=notify$|Type=notify-reload|' -e '/^ExecReload=/d' "$1"
	else
		cat "$1"
	fi | grep -v '^ExecStart='
}

declare -A source=([system]=nsbridge@.service [user]=nsbridge-user@.service)
declare -A installed
for kind in system user; do
	unit=$(find "$DEST" -path "*/lib/systemd/$kind/nsbridge@.service")
	[ -n "$unit" ] || fail "no lib/systemd/$kind/nsbridge@.service under the destdir: $(find "$DEST" -type f)"
	installed[$kind]=$unit
	# ExecStart= names the nsbridge installed with it; nothing else differs
	exec_start=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
	[ -x "$DEST$exec_start" ] || fail "${unit#"$DEST"}: ExecStart=$exec_start is not the installed nsbridge"
	assert_eq "${unit#"$DEST"}, but for ExecStart=" \
		"$(expected "$DEPLOY/${source[$kind]}")" "$(grep -v '^ExecStart=' "$unit")"
	pass "$kind unit installed as ${unit#"$DEST"}, starting $exec_start"
done
# the user unit reads the system unit's env file convention under ~/.config
assert_match "user unit's environment file" '^EnvironmentFile=%E/nsbridge/%i\.env$' \
	"$(grep '^EnvironmentFile=' "${installed[user]}")"
assert_match "system unit's environment file" '^EnvironmentFile=/etc/nsbridge/%i\.env$' \
	"$(grep '^EnvironmentFile=' "${installed[system]}")"
assert_match "user unit's install target" '^WantedBy=default\.target$' \
	"$(grep '^WantedBy=' "${installed[user]}")"
pass "the user unit reads \$XDG_CONFIG_HOME/nsbridge/NAME.env, as the system unit reads /etc/nsbridge/NAME.env"
for kind in system user; do
	if [ "$notify_reload" = 1 ]; then
		assert_eq "${installed[$kind]#"$DEST"}: systemd $systemd_version sends SIGHUP itself" \
			'Type=notify-reload' "$(grep '^Type=' "${installed[$kind]}")"
		assert_eq "${installed[$kind]#"$DEST"}: no ExecReload= beside Type=notify-reload" \
			'' "$(grep '^ExecReload=' "${installed[$kind]}")"
	else
		# the system unit's relay is another user than the kill, which
		# needs CAP_KILL outside the bounding set: "+"
		prefix=$([ "$kind" = system ] && echo +)
		assert_eq "${installed[$kind]#"$DEST"}: ExecReload= sends SIGHUP to nsbridge" \
			"ExecReload=$prefix/bin/kill -HUP \$MAINPID" "$(grep '^ExecReload=' "${installed[$kind]}")"
	fi
done
how=$([ "$notify_reload" = 1 ] && echo "Type=notify-reload (systemd $systemd_version)" ||
	echo "ExecReload= (systemd $systemd_version has no Type=notify-reload)")
pass "both units reload with SIGHUP by $how: systemctl reload reads --config again"

# A failed nsbridge is started again (issue 25, item 6): exit 1, a runtime
# failure (a followed container stopping after the engine watcher died,
# tests/faults/helpers_watcher.sh), or a death by a signal; not a clean
# stop (exit 0), nor a usage error (2), which no retry mends; and for as
# long as the failure lasts. Here, what the units ask for and that
# systemd-analyze accepts it (below); tests/faults/unit_restart.sh watches
# a real systemd do it
for u in nsbridge@.service nsbridge-user@.service nsbridge-labels.service; do
	unit=$DEPLOY/$u
	assert_eq "$u: Restart=" "Restart=on-failure" "$(grep '^Restart=' "$unit")"
	assert_match "$u: RestartSec= (1 to 30 s: a crash loop stays slow, a restart quick)" \
		'^RestartSec=([1-9]|[12][0-9]|30)s$' "$(grep '^RestartSec=' "$unit")"
	assert_match "$u: exit 2 is not retried" '^RestartPreventExitStatus=2( |$)' \
		"$(grep '^RestartPreventExitStatus=' "$unit")"
	assert_eq "$u: no start limit" "StartLimitIntervalSec=0" "$(grep '^StartLimitIntervalSec=' "$unit")"
done
pass "the three units restart a failed nsbridge (Restart=on-failure, RestartSec=2s, no start limit), not a usage error"

type -P systemd-analyze >/dev/null || skip "systemd-analyze is not installed (Debian: systemd)"
# verify checks that ExecStart= is executable: point it into the destdir.
# Unknown keys and bad values are warnings with exit 0: no output at all is
# the pass.
mkdir -m 700 "$T/run" "$T/units"
for kind in system user; do
	sed "s|^ExecStart=|ExecStart=$DEST|" "${installed[$kind]}" >"$T/units/nsbridge@.service"
	flags=()
	[ "$kind" = user ] && flags=(--user)
	out=$(XDG_RUNTIME_DIR=$T/run systemd-analyze "${flags[@]}" verify "$T/units/nsbridge@web.service" 2>&1)
	rc=$?
	assert_eq "systemd-analyze ${flags[*]} verify nsbridge@web.service: exit status ($out)" 0 "$rc"
	assert_eq "systemd-analyze ${flags[*]} verify nsbridge@web.service: output" "" "$out"
	pass "systemd-analyze${flags:+ ${flags[*]}} verify accepts the $kind unit"
done

# nsbridge-labels.service: nsbridge --labels for the whole machine
unit=$(find "$DEST" -path "*/lib/systemd/system/nsbridge-labels.service")
[ -n "$unit" ] || fail "no lib/systemd/system/nsbridge-labels.service under the destdir"
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
[ -x "$DEST$exec_start" ] || fail "${unit#"$DEST"}: ExecStart=$exec_start is not the installed nsbridge"
assert_match "nsbridge-labels.service runs --labels" '^ExecStart=[^ ]* --labels ' "$(grep '^ExecStart=' "$unit")"
sed "s|^ExecStart=|ExecStart=$DEST|" "$unit" >"$T/units/nsbridge-labels.service"
out=$(XDG_RUNTIME_DIR=$T/run systemd-analyze verify "$T/units/nsbridge-labels.service" 2>&1)
assert_eq "systemd-analyze verify nsbridge-labels.service: exit status ($out)" 0 "$?"
assert_eq "systemd-analyze verify nsbridge-labels.service: output" "" "$out"
pass "nsbridge-labels.service installed as ${unit#"$DEST"}, starting $exec_start --labels; systemd-analyze verify accepts it"
