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
	shift
	echo "=== $name: $*"
	rm -rf "build-tests/$name"
	meson setup "build-tests/$name" --werror "$@" >"build-tests/$name.setup.log" ||
		{ cat "build-tests/$name.setup.log"; exit 1; }
	ninja -C "build-tests/$name"
	meson test -C "build-tests/$name" --print-errorlogs --suite unit --suite integration --suite docker
}

mkdir -p build-tests
CC=gcc build_and_test gcc
CC=clang build_and_test clang
# ASan and UBSan: any report fails the test that triggered it
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	CC=clang build_and_test sanitize -Db_sanitize=address,undefined -Db_lundef=false
echo "=== all tests passed"
