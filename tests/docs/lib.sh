# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh - shared helpers of the docs tests: the manual page and the completion
#
# Each test is a bash script that sources this file. Unlike the
# integration tests these need neither root nor a namespace, so they run
# as any user; they keep the same pass/fail/skip/check names (assert.sh),
# and skip when a tool the test needs is missing.

set -u

T=$(mktemp -d /tmp/nsbt-docs.XXXXXX)
. "$(dirname "${BASH_SOURCE[0]}")/../assert.sh"
trap 'rm -rf "$T"; tap_status || exit 1' EXIT

# help_options NSBRIDGE - every option that nsbridge --help names, one a
# line: the long ones, --[no-]follow as both, and the short ones
help_options() {
	local help
	help=$("$1" --help) || fail "$1 --help"
	grep -oE -- '--(\[no-\])?[a-z][a-z-]*' <<<"$help" |
		sed -E 's/^--\[no-\](.*)/--\1\n--no-\1/'
	grep -oE -- '(^|[^[:alnum:]-])-[[:alpha:]]([^[:alnum:]-]|$)' <<<"$help" |
		grep -oE -- '-[[:alpha:]]'
}

# table_rows OPTIONS_C - the opening of every row of the options[] table of
# src/cli/options.c, one a line: { "name", 'x' or 0, ARGV, ARGV_ENV or ARGV_ENV_FILE
table_rows() {
	local rows
	rows=$(grep -oE "^[[:space:]]*\{ \"[a-z-]+\", ('[[:alpha:]]'|0), ARGV[A-Z_]*" "$1")
	[ -n "$rows" ] || fail "no row of options[] found in $1: has the table changed its shape?"
	printf '%s\n' "$rows"
}

# table_options OPTIONS_C - every option of the options[] table of src/cli/options.c,
# long and short, one a line
table_options() {
	local rows
	rows=$(table_rows "$1") || exit
	grep -oE '"[a-z-]+"' <<<"$rows" | tr -d '"' | sed 's/^/--/'
	grep -oE "'[[:alpha:]]'" <<<"$rows" | tr -d "'" | sed 's/^/-/'
}

# table_variables OPTIONS_C - every NSBRIDGE_<NAME> variable of src/cli/options.c's
# options[]: the name of each row given in the environment, in capitals
table_variables() {
	local rows
	rows=$(table_rows "$1") || exit
	grep -E 'ARGV_ENV' <<<"$rows" | grep -oE '"[a-z-]+"' | tr -d '"' | tr 'a-z-' 'A-Z_' |
		sed 's/^/NSBRIDGE_/'
}
