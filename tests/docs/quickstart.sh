#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# quickstart.sh - the quick start's first command installs only what the demo needs
#
# usage: quickstart.sh DEMO_SH DEPS_SH
#
# tests/demo.sh --dry-run prints what it would ask deps.sh for, through the
# same deps.sh call the demo makes, and installs nothing. The demo must
# ask for a compiler, meson, the libraries and its own three tools - and
# none of the test suite's engines, servers and debuggers, which take
# minutes to install on a fresh machine before anything is shown.
. "$(dirname "$0")/lib.sh"

DEMO=${1:?usage: $0 DEMO_SH DEPS_SH}
DEPS=${2:?usage: $0 DEMO_SH DEPS_SH}
type -P dpkg-query >/dev/null || skip "dpkg-query is not installed: not a Debian machine"

# packages FILE - the package names of a --dry-run listing, sorted
packages() {
	awk '{ print $1 }' "$1" | sort
}

"$DEMO" --dry-run >"$T/demo" 2>"$T/demo.err" || fail "demo.sh --dry-run: $(cat "$T/demo.err")"
"$DEPS" --dry-run >"$T/all" 2>"$T/all.err" || fail "deps.sh --dry-run: $(cat "$T/all.err")"
grep -qvE '^[a-z0-9][a-z0-9.+-]* (installed|missing)$' "$T/demo" &&
	fail "demo.sh --dry-run prints other lines: $(grep -vE ' (installed|missing)$' "$T/demo")"
demo=$(packages "$T/demo")
all=$(packages "$T/all")

for p in meson ninja-build gcc libnl-3-dev libcap-dev libseccomp-dev libcurl4-openssl-dev \
	iproute2 python3 curl; do
	grep -qx "$p" <<<"$demo" || fail "the demo does not ask for $p, which it needs"
done
pass "the demo asks for the compiler, meson, the libraries, ip, python3 and curl"

# llvm: LeakSanitizer reads tests/lsan.supp through llvm-symbolizer, which
# clang without its recommends does not bring
for p in docker.io podman postgresql valgrind gdb clang libclang-rt-dev llvm nginx-light \
	libcmocka-dev debootstrap; do
	grep -qx "$p" <<<"$all" || fail "deps.sh does not install $p for the test suite any more"
	grep -qx "$p" <<<"$demo" && fail "the demo asks for $p, which only the test suite needs"
done
pass "the demo leaves docker.io, podman, postgresql, valgrind, gdb, clang, llvm and the rest to the tests"

extra=$(comm -23 <(echo "$demo") <(echo "$all"))
assert_eq "demo packages the test command does not install" "" "$extra"
n_demo=$(wc -l <<<"$demo")
n_all=$(wc -l <<<"$all")
[ "$n_demo" -lt $((n_all / 2)) ] || fail "the demo asks for $n_demo of the $n_all packages"
pass "the demo asks for $n_demo packages, the test command $n_all"

"$DEPS" --dry-run nonsense >/dev/null 2>"$T/err"
assert_eq "deps.sh with an unknown set: exit status" 2 "$?"
assert_match "deps.sh with an unknown set: the line" "unknown set 'nonsense'" "$(cat "$T/err")"
pass "deps.sh refuses a set it does not know"
