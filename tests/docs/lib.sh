# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh - shared helpers of the docs tests: the manual page and the completion
#
# Each test is a bash script that sources this file. Unlike the
# integration tests these need neither root nor a namespace, so they run
# as any user; they keep the same pass/fail/skip/assert names. Exit
# status 77 tells meson a tool the test needs is missing.

set -u

T=$(mktemp -d /tmp/nsbt-docs.XXXXXX)
trap 'rm -rf "$T"' EXIT

. "$(dirname "${BASH_SOURCE[0]}")/../assert.sh"

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

# table_options CLI_C - every option of the options[] table of src/cli.c
# and of its short_options string, one a line
table_options() {
	grep -oE '^[[:space:]]*\{ OPT_[A-Z_]+,[[:space:]]+"[a-z-]+"' "$1" |
		grep -oE '"[a-z-]+"' | tr -d '"' | sed 's/^/--/'
	grep -oE 'short_options\[\] = "[^"]*"' "$1" | sed -E 's/.*"(.*)"/\1/' |
		tr -d ':' | grep -oE '[[:alpha:]]' | sed 's/^/-/'
}

# table_variables CLI_C - every NSBRIDGE_* variable of src/cli.c's options[]
table_variables() {
	grep -oE '"NSBRIDGE_[A-Z_]+"' "$1" | tr -d '"'
}
