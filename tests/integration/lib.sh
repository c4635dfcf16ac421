# SPDX-License-Identifier: GPL-2.0-or-later
# lib.sh - shared helpers of the integration tests: namespaces, servers, nsbridge
#
# Each test is a bash script run as: test.sh PATH-TO-NSBRIDGE. It sources
# this file, makes the namespaces it needs with mkns (deleted on exit, as
# is every process started through the helpers), and fails with fail().
# Results are TAP, one line per behaviour (assert.sh); a script the machine
# cannot run (no root, no netns) says "1..0 # SKIP" and why.

set -u

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root to make network namespaces"; exit 0; }

# The whole test runs in a network namespace of its own: its "host" is
# that namespace, so no traffic touches the machine's own loopback. A test
# that needs the machine's network (docker build) sets NSBT_MACHINE_NET=1
# before sourcing this, and puts its services in namespaces it makes.
if [ -z "${NSBT_PRIVATE_HOST:-}" ] && [ -z "${NSBT_MACHINE_NET:-}" ]; then
	export NSBT_PRIVATE_HOST=1
	unshare --net true 2>/dev/null || { echo "1..0 # SKIP cannot make a network namespace"; exit 0; }
	exec unshare --net -- "$0" "$@"
fi
[ -n "${NSBT_MACHINE_NET:-}" ] || ip link set lo up

NSB=${1:?usage: $0 PATH-TO-NSBRIDGE}
NSB=$(readlink -f "$NSB")
T=$(mktemp -d /tmp/nsbt.XXXXXX)
chmod 755 "$T"	# nginx workers run as www-data
NSB_LOG=$T/nsbridge.log
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NSB_PID=
_NAMESPACES=()
_PIDS=()

# kill_ns_procs - every process in this test's private namespace but the
# test itself: a server killed by its master's death (nginx workers) too
kill_ns_procs() {
	local me pid
	me=$(readlink /proc/self/ns/net)
	for pid in $(ls /proc | grep -E '^[0-9]+$'); do
		[ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
		[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$me" ] && kill -KILL "$pid" 2>/dev/null
	done
}

# at_exit CMD... - run CMD first when the test ends, however it ends
_AT_EXIT=()
at_exit() {
	_AT_EXIT+=("$*")
}

cleanup() {
	local pid ns cmd
	for cmd in "${_AT_EXIT[@]}"; do
		eval "$cmd"
	done
	for pid in "${_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for ns in "${_NAMESPACES[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${NSBT_MACHINE_NET:-}" ] || kill_ns_procs	# never the machine's
	for pid in "${_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$T"
	tap_status || exit 1
}
trap cleanup EXIT

. "$(dirname "${BASH_SOURCE[0]}")/../assert.sh"

# mkns VAR SHORTNAME - make a namespace nsbt-PID-SHORTNAME, lo DOWN, name in VAR
mkns() {
	local _mk_name="nsbt-$$-$2"
	ip netns add "$_mk_name" 2>/dev/null || skip "cannot make a network namespace"
	_NAMESPACES+=("$_mk_name")
	printf -v "$1" '%s' "$_mk_name"
}

# nsx NS CMD... - run a command inside a namespace
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

lo_up() {
	ip netns exec "$1" ip link set lo up
}

# bg CMD... - start a background process that cleanup kills; sets BG_PID
bg() {
	"$@" &
	BG_PID=$!
	_PIDS+=("$BG_PID")
}

# bg_to FILE CMD... - like bg, with stdout and stderr into FILE
bg_to() {
	local out=$1
	shift
	"$@" >"$out" 2>&1 &
	BG_PID=$!
	_PIDS+=("$BG_PID")
}

# port_free NS PORT - nothing listens on PORT (tcp) in NS ("" = this namespace)
port_free() {
	local ns=$1 port=$2 out
	if [ -n "$ns" ]; then
		out=$(ip netns exec "$ns" ss -Htln "sport = :$port" 2>/dev/null)
	else
		out=$(ss -Htln "sport = :$port")
	fi
	[ -z "$out" ]
}

# pick_port VAR [NS...] - a port free here and in every NS given, and not
# picked before by this test, in VAR
_PICKED=" "

# _pick_base COUNT - a random first port of COUNT, all below the kernel's
# ephemeral range (net.ipv4.ip_local_port_range, 32768 and up): a client's
# local port there, even in TIME_WAIT, would make a later bind fail with
# EADDRINUSE though nothing listens
_pick_base() {
	echo $((10000 + RANDOM % (32768 - 10000 - $1)))
}
pick_port() {
	local _pp_var=$1 _pp_port _pp_ns _pp_ok
	shift
	for _ in $(seq 1 200); do
		_pp_port=$(_pick_base 1)
		[[ "$_PICKED" == *" $_pp_port "* ]] && continue
		_pp_ok=1
		port_free "" "$_pp_port" || _pp_ok=0
		for _pp_ns in "$@"; do
			port_free "$_pp_ns" "$_pp_port" || _pp_ok=0
		done
		if [ $_pp_ok = 1 ]; then
			_PICKED+="$_pp_port "
			printf -v "$_pp_var" '%s' "$_pp_port"
			return 0
		fi
	done
	fail "no free port found"
}

# _listening NS - the TCP ports something listens on in NS ("" = this
# namespace), one a line
_listening() {
	if [ -n "$1" ]; then
		ip netns exec "$1" ss -Htln 2>/dev/null
	else
		ss -Htln
	fi | awk '{ n = split($4, a, ":"); print a[n] }'
}

# pick_range VAR COUNT [NS...] - first of COUNT consecutive free ports, in
# VAR; what listens is read once per namespace, not once per port
pick_range() {
	local _pr_var=$1 _pr_count=$2 _pr_base _pr_p _pr_ns _pr_ok _pr_taken=" "
	shift 2
	for _pr_ns in "" "$@"; do
		_pr_taken+="$(_listening "$_pr_ns" | tr '\n' ' ')"
	done
	for _ in $(seq 1 100); do
		_pr_base=$(_pick_base "$_pr_count")
		_pr_ok=1
		for ((_pr_p = _pr_base; _pr_p < _pr_base + _pr_count; _pr_p++)); do
			if [[ "$_PICKED" == *" $_pr_p "* || "$_pr_taken" == *" $_pr_p "* ]]; then
				_pr_ok=0
				break
			fi
		done
		if [ $_pr_ok = 1 ]; then
			for ((_pr_p = _pr_base; _pr_p < _pr_base + _pr_count; _pr_p++)); do
				_PICKED+="$_pr_p "
			done
			printf -v "$_pr_var" '%s' "$_pr_base"
			return 0
		fi
	done
	fail "no range of $_pr_count free ports found"
}

# wait_listen NS PORT - until something listens on PORT in NS ("" = here);
# the 30 s only guard against a server that never starts
wait_listen() {
	wait_until "listener on port $2 in '${1:-host}'" 30 _listens "$1" "$2"
}
_listens() {
	! port_free "$1" "$2"
}

# start_nginx NS PORT DOCROOT [ADDR...] - nginx serving DOCROOT in NS on
# 127.0.0.1 and [::1] (or the addresses given); "" for this namespace
start_nginx() {
	local ns=$1 port=$2 root=$3 dir listen="" addr
	shift 3
	dir=$(mktemp -d "$T/nginx.XXXX")
	[ $# -gt 0 ] || set -- 127.0.0.1 "[::1]"
	for addr in "$@"; do
		listen+="listen $addr:$port backlog=4096;"
	done
	cat >"$dir/nginx.conf" <<-EOF
	daemon off;
	worker_processes 1;
	worker_rlimit_nofile 20000;
	pid $dir/nginx.pid;
	error_log $dir/error.log;
	events { worker_connections 8192; }
	http {
		access_log off;
		client_body_temp_path $dir;
		proxy_temp_path $dir;
		fastcgi_temp_path $dir;
		uwsgi_temp_path $dir;
		scgi_temp_path $dir;
		keepalive_requests 100000;
		server { $listen root $root; }
	}
	EOF
	if [ -n "$ns" ]; then
		bg ip netns exec "$ns" nginx -c "$dir/nginx.conf" -e "$dir/error.log"
	else
		bg nginx -c "$dir/nginx.conf" -e "$dir/error.log"
	fi
	wait_listen "$ns" "$port"
}

# need_postgres - skip unless PostgreSQL's server and psql are installed;
# sets PGBIN, the server's directory
need_postgres() {
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -x "$PGBIN/postgres" ] && command -v psql >/dev/null ||
		skip "PostgreSQL is not installed (tests/deps.sh)"
	id postgres >/dev/null 2>&1 || skip "no postgres user"
}

# start_postgres PORT HBA - a PostgreSQL of the test's own on 127.0.0.1:PORT
# (its unix socket in $T/sock) that authorises TCP clients by the
# pg_hba.conf line HBA and trusts its unix socket; each connection and
# statement goes to $T/postgres.log after "host=CLIENT-ADDRESS". Returns
# once it listens.
start_postgres() {
	need_postgres
	mkdir -p "$T/pg" "$T/sock"
	chown postgres: "$T/pg" "$T/sock"
	runuser -u postgres -- "$PGBIN/initdb" -D "$T/pg" -A trust -U postgres \
		>"$T/initdb.log" 2>&1 || fail "initdb: $(tail -n 3 "$T/initdb.log")"
	printf 'local all all trust\n%s\n' "$2" >"$T/pg/pg_hba.conf"
	bg_to "$T/postgres.log" runuser -u postgres -- "$PGBIN/postgres" -D "$T/pg" -k "$T/sock" \
		-c listen_addresses=127.0.0.1 -c port="$1" -c fsync=off -c log_connections=on \
		-c log_statement=all -c "log_line_prefix=host=%h "
	wait_listen "" "$1"
}

# start_nsb ARGS... - start nsbridge and wait for one ready line per bridge
# (NSB_READY lines, if set);
# sets NSB_PID. Fails if it exits before, or is not ready in 30 s (a guard
# against a hang, long enough for a loaded machine and valgrind). NSB_WRAP,
# an array, is a command to run it under (prlimit, capsh). A start whose
# bridges are not all in the arguments (--config, --mirror) sets NSB_READY.
NSB_WRAP=()
start_nsb() {
	local want=0 args=("$@") i
	for i in "${args[@]}"; do
		[[ "$i" =~ ^(host|container|unix): ]] && want=$((want + 1))
	done
	want=$((want / 2))
	want=${NSB_READY:-$want}	# bridges from --config are not in the arguments
	: >"$NSB_LOG"
	bg "${NSB_WRAP[@]}" "$NSB" "$@" 2>>"$NSB_LOG"
	NSB_PID=$BG_PID
	wait_until "ready line of nsbridge $*" 30 _nsb_ready "$want" "$*"
}
_nsb_ready() {
	# a text line ends in " ready", a JSON one in " ready"}"
	[ "$(grep -Ec ' ready("})?$' "$NSB_LOG")" -ge "$1" ] && return 0
	alive "$NSB_PID" || fail "nsbridge $2 exited before it was ready"
	return 1
}

# kill_at_check_end - inside a check: kill its nsbridge (NSB_PID) when the
# check ends, however it ends, so that the next check may bind the same
# ports (an EXIT trap of the check's subshell)
kill_at_check_end() {
	trap 'kill -KILL "$NSB_PID" 2>/dev/null' EXIT
}

# own_nsb ARGS... - start_nsb inside a check, killed when the check ends
own_nsb() {
	start_nsb "$@"
	kill_at_check_end
}

# stop_nsb [SIGNAL] - signal nsbridge, wait for it; sets NSB_STATUS
stop_nsb() {
	kill "-${1:-TERM}" "$NSB_PID" 2>/dev/null
	wait "$NSB_PID"
	NSB_STATUS=$?
}

# wait_exit PID SECONDS - wait for a child to end within SECONDS; sets EXIT_STATUS
wait_exit() {
	local pid=$1 limit=$(($2 * 20))
	for _ in $(seq 1 "$limit"); do
		if gone "$pid"; then
			wait "$pid"
			EXIT_STATUS=$?
			return 0
		fi
		sleep 0.05
	done
	fail "process $pid still runs after $2 s"
}

# pgrep_here ARGS... - pgrep among the processes of this test's network
# namespace only: other tests run beside this one, with the same binary
pgrep_here() {
	pgrep --ns $$ --nslist net "$@"
}

# alive PID - PID runs: /proc/PID/stat exists and its state is neither Z
# nor X. Not kill -0, which finds a zombie too: an orphan stays one where
# the machine's first process does not reap (a container without --init).
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ "${stat%% *}" != [ZX] ]]
}

# gone PID - PID no longer runs (ended, or a zombie awaiting its reaper)
gone() {
	! alive "$1"
}

# fd_count PID - open descriptors of a process
fd_count() {
	ls "/proc/$1/fd" | wc -l
}

# fds_at_rest PID VAR - the descriptor count of nsbridge PID once it has
# settled, in VAR: the same before and after a `nsbridge status` round
# trip, which the relay's loop answers, so the loop has gone round between
# the two reads and changed nothing (its socket pools stocked, no refill
# pending from the opener)
fds_at_rest() {
	wait_until "a settled descriptor count of nsbridge $1" 10 _fds_settled "$1"
	printf -v "$2" '%s' "$_FDS_AT_REST"
}
_fds_settled() {
	local before
	before=$(fd_count "$1")
	"$NSB" status --json "$1" >/dev/null 2>&1 || return 1
	_FDS_AT_REST=$(fd_count "$1")
	[ "$before" = "$_FDS_AT_REST" ]
}

# answers_status - nsbridge $NSB_PID answers nsbridge status (its loop runs)
answers_status() {
	"$NSB" status "$NSB_PID" >/dev/null 2>&1
}

# cap_eff PID - the CapEff line of a process
cap_eff() {
	awk '/^CapEff:/ { print $2 }' "/proc/$1/status"
}

# cpu_ticks PID - user + system clock ticks a process has used
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# random_file PATH MIB - MIB mebibytes of random bytes
random_file() {
	head -c "$(($2 * 1024 * 1024))" /dev/urandom >"$1"
}

# now_ms - a monotonic-enough clock in milliseconds
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# wait_until WHAT SECONDS CMD... - until CMD succeeds; after SECONDS, fail
# naming WHAT. SECONDS only guards against a hang: the wait is for a state.
wait_until() {
	local what=$1 limit=$2 end
	end=$(($(now_ms) + limit * 1000))
	shift 2
	until "$@"; do
		[ "$(now_ms)" -lt "$end" ] || fail "no $what within $limit s"
		sleep 0.05
	done
}

# start_notify SOCKET NOTES [NS PORT] - a stand-in for systemd's notify
# socket at SOCKET, each datagram a line of NOTES (notify_peer.py; with NS
# and PORT, what the bridge answered when READY=1 came); returns once it
# listens
start_notify() {
	bg python3 "$(dirname "${BASH_SOURCE[0]}")/notify_peer.py" "$@"
	wait_until "notify socket" 30 grep -qs listening "$2"
}

# sleeper_in NS VAR - a process that lives in NS (once it has entered it:
# ip netns exec has made its setns), pid in VAR; for tests that name a
# namespace by a pid in it
sleeper_in() {
	local _si_net
	bg ip netns exec "$1" sleep 300
	_si_net=$(ip netns exec "$1" readlink /proc/self/ns/net)
	wait_until "a process of $1 in $_si_net" 3 _net_ns_is "$BG_PID" "$_si_net"
	printf -v "$2" '%s' "$BG_PID"
}
# _net_ns_is PID NET - PID's network namespace is NET (as readlink prints it)
_net_ns_is() {
	[ "$(readlink "/proc/$1/ns/net" 2>/dev/null)" = "$2" ]
}
