# SPDX-License-Identifier: GPL-2.0-or-later
# assert.sh - what every test script says: pass, fail, skip, check, and two asserts
#
# Sourced by tests/integration/lib.sh and tests/docs/lib.sh.
#
# Theory of operation: results are TAP (meson's protocol 'tap'). Each
# behaviour a script checks is one line, "ok - WHAT" or "not ok - WHAT",
# so that a failure names the behaviour that broke. The lines go to a copy
# of the script's first stdout, so that neither $(...) nor a redirection
# inside the script swallows them.
#
# A script is a setup and its behaviours. Each behaviour is a function run
# by check: in a subshell, so that a fail() in it reports that behaviour
# and the script goes on with the next. What a check starts or changes
# does not reach the next one; what several behaviours share belongs to
# the setup. A fail() outside any check (the setup every behaviour needs)
# ends the script: what comes after cannot run.
#
# A script exits 1 when any behaviour failed (as meson and a shell both
# read it), 0 otherwise. skip() says the machine cannot run the script, or
# the rest of it ("1..0 # SKIP" when nothing ran yet). fail() shows the end
# of nsbridge's log when the test has one (NSB_LOG).

exec {_TAP_FD}>&1
_TAP_FAILED=0
_IN_CHECK=
_TAP_TALLY=$(mktemp /tmp/nsbt-tap.XXXXXX)

# _tap_line OK|"not ok" TEXT [DIRECTIVE] - one result line: TEXT's first
# line, its '#' spelled out (a '#' would start a TAP directive), then
# DIRECTIVE ("SKIP") if given
_tap_line() {
	local text=${2%%$'\n'*}
	printf '%s - %s%s\n' "$1" "${text//#/No.}" "${3:+ # $3}" >&"$_TAP_FD"
	printf x >>"$_TAP_TALLY"
}

# tap_status - the exit status the results call for: for cleanup traps
tap_status() {
	rm -f "$_TAP_TALLY"
	return "$_TAP_FAILED"
}

fail() {
	echo "FAIL: $*" >&2
	if [ -n "${NSB_LOG:-}" ] && [ -s "$NSB_LOG" ]; then
		echo "--- nsbridge log (last 20 lines) ---" >&2
		tail -n 20 "$NSB_LOG" >&2
	fi
	_tap_line "not ok" "$*"
	exit 1
}

pass() {
	_tap_line ok "$*"
}

# note TEXT - a line for the reader beside the results (a figure, a time):
# a TAP comment, which meson shows and does not count
note() {
	printf '# %s\n' "$*" >&"$_TAP_FD"
}

skip() {
	echo "SKIP: $*" >&2
	if [ -s "$_TAP_TALLY" ] || [ -n "$_IN_CHECK" ]; then
		_tap_line ok "$*" SKIP
	else
		printf '1..0 # SKIP %s\n' "${*//#/No.}" >&"$_TAP_FD"
	fi
	exit 0
}

# check FUNCTION [ARGS...] - one behaviour of the script: FUNCTION runs in a
# subshell and reports with pass or fail; a failure is counted and the
# script goes on. A FUNCTION that ends without a report fails.
check() {
	# prefixed: a local would hide the script's variable of that name from FUNCTION
	local _check_before _check_after _check_status
	_check_before=$(stat -c %s "$_TAP_TALLY")
	(
		_IN_CHECK=1
		"$@"
	)
	_check_status=$?
	_check_after=$(stat -c %s "$_TAP_TALLY")
	if [ "$_check_status" != 0 ]; then
		_TAP_FAILED=1
		[ "$_check_after" != "$_check_before" ] ||
			_tap_line "not ok" "$1: ended with status $_check_status before it reported"
	elif [ "$_check_after" = "$_check_before" ]; then
		_TAP_FAILED=1
		_tap_line "not ok" "$1: ended without a result"
	fi
	return 0
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# assert_match WHAT REGEX TEXT
assert_match() {
	[[ "$3" =~ $2 ]] || fail "$1: '$3' does not match /$2/"
}
