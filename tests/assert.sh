# SPDX-License-Identifier: GPL-2.0-or-later
# assert.sh - what every test script says: pass, fail, skip, and two checks
#
# Sourced by tests/integration/lib.sh and tests/docs/lib.sh. fail() shows
# the end of nsbridge's log when the test has one (NSB_LOG). Exit status 77
# tells meson the test could not run here.

fail() {
	echo "FAIL: $*" >&2
	if [ -n "${NSB_LOG:-}" ] && [ -s "$NSB_LOG" ]; then
		echo "--- nsbridge log (last 20 lines) ---" >&2
		tail -n 20 "$NSB_LOG" >&2
	fi
	exit 1
}

pass() {
	echo "ok: $*"
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# assert_match WHAT REGEX TEXT
assert_match() {
	[[ "$3" =~ $2 ]] || fail "$1: '$3' does not match /$2/"
}
