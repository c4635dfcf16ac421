#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run.sh - install, build with gcc, clang and ASan/UBSan, run the tests, and say what passed
#
#   tests/run.sh [--full] [--jobs N]
#
# Each build gets its own directory under build-tests/, and each suite runs
# in the builds where it can find what the others cannot:
#
#   gcc       the shipped build: unit, integration, docs, image (the
#             Dockerfile and the Debian package) and valgrind (memcheck
#             sees uninitialised reads that ASan does not)
#   clang     its own warnings, made errors: unit
#   sanitize  ASan and UBSan: unit, integration, docker, faults (the engine
#             killed, a pid reused, helpers and nsbridge killed with
#             transfers in flight: tests/faults/) and the fuzzer
#
# --full (for a release) runs unit, integration, docker, faults and docs in every
# build. Tests that may share the machine run N at a time (--jobs, twice
# the cores by default; 1 runs them one by one); those that need it to themselves
# (meson's is_parallel: false) run alone. Every step runs even when one
# before it failed, but a build that fails is not tested; the end is one
# line per step: passed, failed or skipped and why, and how long it took,
# and under it each test or behaviour that skipped itself, with its reason.
# The exit status is 1 when any step failed.
#
# The integration tests need root (they make network namespaces); as
# another user they report themselves skipped.
set -u
cd "$(dirname "$0")/.."

FULL=0
JOBS=$(($(nproc) * 2))
while [ $# -gt 0 ]; do
	case $1 in
	--full) FULL=1 ;;
	--jobs) JOBS=${2:?--jobs needs a number}; shift ;;
	*) echo "usage: $0 [--full] [--jobs N]" >&2; exit 2 ;;
	esac
	shift
done

SUMMARY=()
FAILED=0

# step NAME CMD... - run one step, timed; its result goes to the summary
step() {
	local name=$1 start status secs
	shift
	echo "=== $name"
	start=$(date +%s)
	"$@"
	status=$?
	secs=$(($(date +%s) - start))
	if [ "$status" = 0 ]; then
		SUMMARY+=("$(printf '%-34s passed   %dm%02ds' "$name" $((secs / 60)) $((secs % 60)))")
	else
		FAILED=1
		SUMMARY+=("$(printf '%-34s FAILED   %dm%02ds (exit status %d)' "$name" \
			$((secs / 60)) $((secs % 60)) "$status")")
	fi
	return "$status"
}

# skipped NAME WHY - a step that cannot run, in the summary
skipped() {
	echo "=== $1: skipped, $2"
	SUMMARY+=("$(printf '%-34s skipped  (%s)' "$1" "$2")")
}

# build NAME MESON-ARGS... - set up and compile build-tests/NAME
build() {
	local name=$1
	shift
	rm -rf "build-tests/$name"
	# -Dman=enabled: a missing scdoc fails the build instead of skipping the page's test
	meson setup "build-tests/$name" --werror -Dman=enabled "$@" >"build-tests/$name.setup.log" ||
		{ cat "build-tests/$name.setup.log"; return 1; }
	ninja -C "build-tests/$name"
}

# suite NAME SUITE - run one suite of build-tests/NAME. Most tests mostly
# wait (on a transfer, a timeout, an engine), so twice as many as there are
# cores run at once; under valgrind each keeps a core busy, so one a core.
# Each suite has a log of its own: two may run at once in one build.
suite() {
	local jobs=$JOBS
	[ "$2" != valgrind ] || [ "$jobs" -le "$(nproc)" ] || jobs=$(nproc)
	meson test -C "build-tests/$1" --no-rebuild --print-errorlogs --num-processes "$jobs" \
		--logbase "testlog-$2" --suite "$2"
}

# suites NAME SUITE... - each suite of a build that built, as a step, and
# under it what each skipped and why: a skip is seen, not lost in a count
suites() {
	local name=$1 s line
	shift
	for s in "$@"; do
		if [ ! -e "build-tests/$name/build.ninja" ] || [ -n "${BUILD_FAILED[$name]:-}" ]; then
			skipped "$name: $s" "the build failed"
			continue
		fi
		step "$name: $s" suite "$name" "$s"
		while IFS= read -r line; do
			SUMMARY+=("    skipped $line")
		done < <(python3 tests/skipped.py "build-tests/$name/meson-logs/testlog-$s.json" 2>/dev/null)
	done
}

# beside NAME SUITE - run that suite as a step beside the others, its
# output in build-tests/beside.log: the image suite waits on downloads and
# on engines, not on the CPU. beside_end adds its result.
beside() {
	BESIDE_LOG=build-tests/beside.log
	(
		SUMMARY=()
		suites "$1" "$2"
		printf '%s\n' "${SUMMARY[@]}" >build-tests/beside.summary
		exit "$FAILED"
	) >"$BESIDE_LOG" 2>&1 &
	BESIDE_PID=$!
	echo "=== $1: $2: beside the next steps, in $BESIDE_LOG"
}
beside_end() {
	[ -n "${BESIDE_PID:-}" ] || return 0
	wait "$BESIDE_PID" || FAILED=1
	cat "$BESIDE_LOG"
	mapfile -t -O "${#SUMMARY[@]}" SUMMARY <build-tests/beside.summary
}

mkdir -p build-tests
# what the image tests download (a debootstrap of bookworm) is made once
# per run and shared through this directory
export NSBT_CACHE=$PWD/build-tests/cache
rm -rf "$NSBT_CACHE" build-tests/beside.summary

declare -A BUILD_FAILED
# ASan and UBSan: any report fails the test that triggered it
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# read at exit by a relay that left uid 0 (as nobody): a checkout under a
# 0700 directory (mktemp -d) is out of its reach, so a readable copy in /tmp
LSAN_SUPP=$(mktemp /tmp/nsbt-lsan.XXXXXX.supp)
cp tests/lsan.supp "$LSAN_SUPP" && chmod 644 "$LSAN_SUPP"
trap 'rm -f "$LSAN_SUPP"' EXIT
export LSAN_OPTIONS=suppressions=$LSAN_SUPP:print_suppressions=0

if step "deps: tests/deps.sh" tests/deps.sh; then
	if [ "$FULL" = 1 ]; then
		GCC="unit integration docker faults docs valgrind"
		CLANG="unit integration docker faults docs"
		SANITIZE="unit integration docker faults docs fuzz"
	else
		GCC="unit integration docs valgrind"
		CLANG="unit"
		SANITIZE="unit integration docker faults fuzz"
	fi
	CC=gcc step "gcc: build" build gcc || BUILD_FAILED[gcc]=1
	CC=clang step "clang: build" build clang || BUILD_FAILED[clang]=1
	# with the libFuzzer target of the command line, run a fixed number of times
	CC=clang step "sanitize: build" build sanitize -Db_sanitize=address,undefined \
		-Db_lundef=false -Dfuzz=true || BUILD_FAILED[sanitize]=1
	# the Dockerfile's image and the Debian package: built from the
	# sources, the same in any build, so once
	beside gcc image
	# shellcheck disable=SC2086
	suites gcc $GCC
	# shellcheck disable=SC2086
	suites clang $CLANG
	# shellcheck disable=SC2086
	suites sanitize $SANITIZE
	beside_end
	# the benchmark is run by hand; here once, briefly, so that it cannot rot
	bench_quick() {
		bench/run.sh --quick --out build-tests/performance-quick.md &&
			grep -q '| new connections/s |' build-tests/performance-quick.md &&
			# nsbridge delivered every byte, up and down after a half-close
			grep -q '^| nsbridge | 1/1 | 1/1 |' build-tests/performance-quick.md
	}
	step "bench/run.sh --quick" bench_quick
else
	skipped "builds, tests and the benchmark" "the packages they need are not installed"
fi

echo
echo "=== summary"
printf '%s\n' "${SUMMARY[@]}"
if [ "$FAILED" = 0 ]; then
	echo "=== all steps passed"
else
	echo "=== some steps FAILED"
fi
exit "$FAILED"
