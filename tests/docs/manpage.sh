#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# manpage.sh - nsbridge.1 renders with man(1), and documents every option
# and variable that nsbridge --help and src/cli/options.c know of
#
# usage: manpage.sh NSBRIDGE OPTIONS_C [NSBRIDGE.1]; without the page (no
# scdoc at setup) the test is skipped
. "$(dirname "$0")/lib.sh"

NSB=${1:?usage: $0 NSBRIDGE OPTIONS_C [NSBRIDGE.1]}
OPTIONS_C=${2:?usage: $0 NSBRIDGE OPTIONS_C [NSBRIDGE.1]}
PAGE=${3:-}
[ -n "$PAGE" ] || skip "nsbridge.1 was not built: scdoc was not found (meson setup -Dman=enabled)"
type -P man >/dev/null || skip "man(1) is not installed (Debian: man-db)"

# The ASCII rendering, and lines wide enough that no option is hyphenated
# across two; --warnings makes groff say what it could not format
text=$(LC_ALL=C MANWIDTH=1000 MANPAGER=cat man --warnings -l "$PAGE" 2>"$T/err")
status=$?
assert_eq "man -l $PAGE exit status" 0 "$status"
[ -s "$T/err" ] && fail "man -l $PAGE warns: $(cat "$T/err")"
pass "man -l renders nsbridge.1 without a warning"

for section in NAME SYNOPSIS DESCRIPTION ENDPOINTS OPTIONS SUBCOMMANDS ENVIRONMENT \
	'EXIT STATUS' SIGNALS FILES EXAMPLES 'SEE ALSO'; do
	grep -qx "$section" <<<"$text" || fail "no section $section"
done
assert_match "NAME" $'NAME\n +nsbridge - ' "$text"
assert_match "SYNOPSIS" $'SYNOPSIS\n +nsbridge \\[OPTIONS\\] SERVICE EXPOSE' "$text"
version=$("$NSB" --version | awk '{ print $2 }')
assert_match "footer" "nsbridge $version +[0-9]{4}-[0-9]{2}-[0-9]{2} +nsbridge\\(1\\)\$" "$text"
pass "sections, name, synopsis, version $version"

table_rows "$OPTIONS_C" >/dev/null  # fails here if the table cannot be read
# as a word: --mirror must not be found in --mirror-udp
options=$( (help_options "$NSB"; table_options "$OPTIONS_C") | sort -u)
[ "$(wc -l <<<"$options")" -ge 20 ] || fail "too few options found in --help and options.c: $options"
for opt in $options; do
	grep -qE -- "(^|[^[:alnum:]-])$opt([^[:alnum:]-]|\$)" <<<"$text" ||
		fail "$opt (in nsbridge --help or src/cli/options.c) is not in the manual page"
done
pass "every option of --help and src/cli/options.c: $(tr '\n' ' ' <<<"$options")"

for var in $(table_variables "$OPTIONS_C"); do
	grep -qw -- "$var" <<<"$text" || fail "$var (in src/cli/options.c) is not in the manual page"
done
pass "every NSBRIDGE_* variable of src/cli/options.c"

for status in 0 1 2 3 4 5; do
	assert_match "exit status $status" $'\n +'"$status"$'\n +[A-Z]' "${text#*EXIT STATUS}"
done
pass "exit statuses 0 to 5"
