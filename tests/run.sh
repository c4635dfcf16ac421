#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# run.sh - install, build with gcc, clang and ASan/UBSan, and run every test
#
# Each build gets its own directory under build-tests/. The integration
# tests need root (they make network namespaces); as another user they
# report themselves skipped.
set -eu
cd "$(dirname "$0")/.."

tests/deps.sh

build_and_test() {
	name=$1
	suites=$2
	shift 2
	echo "=== $name: $*"
	rm -rf "build-tests/$name"
	# -Dman=enabled: a missing scdoc fails the build instead of skipping the page's test
	meson setup "build-tests/$name" --werror -Dman=enabled "$@" >"build-tests/$name.setup.log" ||
		{ cat "build-tests/$name.setup.log"; exit 1; }
	ninja -C "build-tests/$name"
	# shellcheck disable=SC2086
	meson test -C "build-tests/$name" --print-errorlogs $suites
}

mkdir -p build-tests
ALL="--suite unit --suite integration --suite docker --suite docs"
# the image suite builds the Dockerfile, and valgrind checks the relay's
# memory: the same in every build, so once
CC=gcc build_and_test gcc "$ALL --suite image --suite valgrind"
CC=clang build_and_test clang "$ALL"
# ASan and UBSan: any report fails the test that triggered it
# with the libFuzzer target of the command line, run a fixed number of times
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0 \
	CC=clang build_and_test sanitize "$ALL --suite fuzz" -Db_sanitize=address,undefined \
	-Db_lundef=false -Dfuzz=true
# the benchmark is run by hand; here once, briefly, so that it cannot rot
echo "=== bench/run.sh --quick"
bench/run.sh --quick --out build-tests/performance-quick.md
grep -q '| new connections/s |' build-tests/performance-quick.md
echo "=== all tests passed"
