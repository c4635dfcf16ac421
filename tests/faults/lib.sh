# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh - what the fault tests share: transfers kept in flight while a
# process is killed, and the helpers of a running nsbridge
#
# Sourced after tests/integration/lib.sh. A transfer is a curl download of
# a file of random bytes, slowed (--limit-rate) so that it is still under
# way when the fault comes, and compared byte for byte with the same file
# fetched over a direct connection.

FAULTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# helper_pid NAME - the pid of nsbridge $NSB_PID's child NAME
# (nsbridge-opener, nsbridge-watch, nsbridge-keeper), or fail
helper_pid() {
	pgrep -P "$NSB_PID" -x "$1" || fail "no $1 child of nsbridge $NSB_PID"
}

# transfers_start N URL [CLIENT...] - N downloads of URL at 4 MiB/s each,
# into $T/dl.1 .. $T/dl.N, by CLIENT (a command prefix: nsx NS) if given;
# their pids in TRANSFERS. Returns once each has received bytes, and none
# has finished: the bytes are in flight.
transfers_start() {
	local n=$1 url=$2 i
	shift 2
	TRANSFERS=()
	for i in $(seq 1 "$n"); do
		rm -f "$T/dl.$i"
		"$@" curl -sS --max-time 120 --limit-rate 4M -o "$T/dl.$i" "$url" 2>"$T/dl.$i.err" &
		TRANSFERS+=($!)
	done
	for i in $(seq 1 "$n"); do
		wait_until "bytes of download $i" 30 test -s "$T/dl.$i"
	done
	for i in $(seq 1 "$n"); do
		alive "${TRANSFERS[$((i - 1))]}" || fail "download $i ended before the fault: $(cat "$T/dl.$i.err")"
	done
}

# transfers_check WHAT DIRECT - every download of transfers_start ended
# well and holds exactly the bytes of the file DIRECT (fetched directly)
transfers_check() {
	local what=$1 direct=$2 i
	for i in $(seq 1 "${#TRANSFERS[@]}"); do
		wait "${TRANSFERS[$((i - 1))]}" || fail "$what: download $i failed: $(cat "$T/dl.$i.err")"
		cmp -s "$direct" "$T/dl.$i" ||
			fail "$what: download $i differs from the direct one ($(stat -c %s "$T/dl.$i") of $(stat -c %s "$direct") bytes)"
	done
}

# killed_line HELPER PID - wait for the line that tells HELPER's death by
# SIGKILL, then check it is the only one; sets LINE, and LATENCY_MS from
# KILLED_AT_MS (set by kill_helper)
killed_line() {
	local pattern="the $1 \\(pid $2\\) was killed by signal 9 \\(Killed\\): "
	wait_until "line about the $1's death" 30 grep -Eq "$pattern" "$NSB_LOG"
	LATENCY_MS=$(($(now_ms) - KILLED_AT_MS))
	assert_eq "lines about the $1's death" 1 "$(grep -Ec "the $1 \\(pid" "$NSB_LOG")"
	LINE=$(grep -E "$pattern" "$NSB_LOG")
}

# kill_helper NAME VAR - kill -9 nsbridge's child NAME, its pid in VAR
kill_helper() {
	local _kh_pid
	_kh_pid=$(helper_pid "$1")
	KILLED_AT_MS=$(now_ms)
	kill -KILL "$_kh_pid"
	wait_until "the end of $1 $_kh_pid" 30 gone "$_kh_pid"
	printf -v "$2" '%s' "$_kh_pid"
}

# status_get PATH... - values of nsbridge status --json $NSB_PID
status_get() {
	"$NSB" status --json "$NSB_PID" >"$T/status.json" || fail "nsbridge status --json"
	python3 "$FAULTS/../integration/json_check.py" get "$T/status.json" "$@" ||
		fail "status --json: $*"
}

# status_shows_exit HELPER KEY PID - status --json says HELPER (opener,
# watcher, keeper) exited, killed by signal 9, and the text says it too
status_shows_exit() {
	assert_eq "status --json: the $1" "exited $3 9" \
		"$(status_get "0.helpers.$1.state" "0.helpers.$1.pid" "0.helpers.$1.signal" | tr '\n' ' ' | sed 's/ $//')"
	assert_match "nsbridge status: the $1" "$2 exited \\(pid $3, killed by signal 9\\)" \
		"$("$NSB" status "$NSB_PID")"
}
