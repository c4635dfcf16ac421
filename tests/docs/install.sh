#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# install.sh - meson install puts the manual page where man(1) finds it and
# the completion where bash-completion loads it
#
# usage: install.sh MESON BUILDDIR COMPLETION-SCRIPT [NSBRIDGE.1]; into a
# --destdir under a temporary directory, without rebuilding
. "$(dirname "$0")/lib.sh"

MESON=${1:?usage: $0 MESON BUILDDIR COMPLETION-SCRIPT [NSBRIDGE.1]}
BUILD=${2:?usage: $0 MESON BUILDDIR COMPLETION-SCRIPT [NSBRIDGE.1]}
SCRIPT=${3:?usage: $0 MESON BUILDDIR COMPLETION-SCRIPT [NSBRIDGE.1]}
PAGE=${4:-}

DEST=$T/dest
"$MESON" install -C "$BUILD" --destdir "$DEST" --no-rebuild --quiet >"$T/log" 2>&1 ||
	fail "meson install --destdir: $(tail -n 5 "$T/log")"

# the completion, under bash-completion's completions directory
comp=$(find "$DEST" -path '*/bash-completion/completions/nsbridge')
[ -n "$comp" ] || fail "no bash-completion/completions/nsbridge under the destdir: $(find "$DEST" -type f)"
cmp -s "$comp" "$SCRIPT" || fail "$comp differs from $SCRIPT"
assert_match "installed completion" '-F _nsbridge nsbridge$' \
	"$(bash -c '. "$1" && complete -p nsbridge' sh "$comp")"
pass "completion installed as ${comp#"$DEST"}"

if [ -z "$PAGE" ]; then
	find "$DEST" -name 'nsbridge.1*' | grep -q . && fail "a manual page was installed, but none was built"
	pass "no manual page installed: none was built (no scdoc; meson setup -Dman=enabled)"
	exit 0
fi
page=$(find "$DEST" -path '*/man1/nsbridge.1')
[ -n "$page" ] || fail "no man1/nsbridge.1 under the destdir: $(find "$DEST" -type f)"
cmp -s "$page" "$PAGE" || fail "$page differs from $PAGE"
pass "manual page installed as ${page#"$DEST"}"

# "man nsbridge" finds it there: the section directory's parent is a man path
type -P man >/dev/null || skip "man(1) is not installed (Debian: man-db)"
text=$(LC_ALL=C MANPAGER=cat man -M "${page%/man1/nsbridge.1}" nsbridge 2>&1) ||
	fail "man -M ${page%/man1/nsbridge.1} nsbridge: $text"
assert_match "man nsbridge" $'NAME\n +nsbridge +- ' "$text"	# groff 1.23 (Debian 13) justifies it: 'nsbridge  -  make'
pass "man nsbridge finds the installed page"
