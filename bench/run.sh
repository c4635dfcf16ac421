#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run.sh - nsbridge against its peers, interleaved, in one run (BENCHMARKS.md)
#
#   bench/run.sh [--quick] [--rounds N] [--out FILE] [--relays "RELAY..."]
#
# RELAY: direct nsbridge floor-64k floor-1m pasta2026-splice pasta2026
# pasta socat nsbridge-user pasta-user (all, by default).
#
# Installs what it needs from Debian's packages, builds nsbridge (release),
# the floor (bench/floor.c) and the 2026 pasta, and runs the scene of
# BENCHMARKS.md: the service on the "host's" 127.0.0.1, the client inside a
# namespace, a relay between them - none (direct, the limit), nsbridge, the
# floor with 64 KiB and 1 MiB pipes, the 2026 pasta with --splice-only and
# without, Debian's pasta, the socat pair - one after the other in each
# round, so that every relay sees the same machine. Medians over the rounds
# and the ratios go to docs/performance.md (or --out).
#
# The 2026 pasta: PASTA=path, or built once from ../shared/peers/ into
# /var/tmp/nsbridge-bench (never into the project's tree). Without either,
# its columns say how to get them.
#
# Every relay's bytes are checked each round (bench/verify.py: an upload and
# a download after a half-close, hashed at the receiver); a relay that fails
# to start or to deliver is reported in the table, never dropped from it.
#
# Everything runs in a network namespace of the script's own, which plays
# the host: no traffic touches the machine's loopback. --quick (CI) runs
# each figure once, briefly, to show the script still works.
#
# The rootless scene (BENCHMARKS.md, "Rootless"): an ordinary user the
# script makes, a user and network namespace that user owns (what a rootless
# engine makes, held open by a sleeping process), and nsbridge-user and
# pasta-user, each run as that user into it - pasta the way Podman's
# rootless network runs it. They get bulk, latency, the HTTP rates and CPU;
# not the idle counts. Where this machine cannot make the scene (no
# useradd, user namespaces off, a peer that does not start as a user),
# they are skipped with the reason, never failed.
set -u

ROUNDS=3
SECS=5
IDLE_COUNTS="10 1000 10000"
BULK_BYTES=2G
QUICK=0
VERIFY_BYTES=268435456
RELAYS="direct nsbridge floor-64k floor-1m pasta2026-splice pasta2026 pasta socat nsbridge-user pasta-user"
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=$REPO/docs/performance.md
ARGS=("$@")
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1; ROUNDS=1; SECS=1; IDLE_COUNTS="10 100"; BULK_BYTES=256M
		VERIFY_BYTES=16777216 ;;
	--rounds) ROUNDS=$2; shift ;;
	--relays) RELAYS=$2; shift ;;
	--out) OUT=$2; shift ;;
	*) echo "usage: $0 [--quick] [--rounds N] [--relays LIST] [--out FILE]" >&2; exit 2 ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || { echo "bench/run.sh: run as root (it makes network namespaces)" >&2; exit 1; }

. "$REPO/bench/lib.sh"
# shellcheck disable=SC2086
bench_enter $BENCH_BUILD_PKGS make passt iperf3 sockperf wrk nginx-light socat postgresql \
	-- "${ARGS[@]}"
bench_host_net
# 10,000 idle connections are 20,000 descriptors in a relay, more than
# many machines' default hard limit: raise it where we may (CAP_SYS_RESOURCE),
# else measure at the most connections the limit leaves room for
ulimit -Hn "$(cat /proc/sys/fs/nr_open)" 2>/dev/null
ulimit -n "$(ulimit -Hn)"
fit=$(( ($(ulimit -Hn) - 256) / 2 ))
IDLE_COUNTS=$(for n in $IDLE_COUNTS; do echo $(( n < fit ? n : fit )); done)
IDLE_MOST=$(echo "$IDLE_COUNTS" | tail -n 1)
echo "bench: idle connection counts:" $IDLE_COUNTS "(descriptor limit $(ulimit -Hn))" >&2

NSB=$REPO/build-bench/src/nsbridge
T=$(mktemp -d /tmp/nsbench.XXXXXX)
chmod 755 "$T"
NS=nsbench-$$
RESULTS=$T/results.tsv
PIDS=()
RELAY_PIDS=()
RELAY=

cleanup() {
	stop_relay
	drop_user
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	me=$(readlink /proc/self/ns/net)
	for pid in $(ls /proc | grep -E '^[0-9]+$'); do
		[ "$pid" = $$ ] && continue
		[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$me" ] && kill "$pid" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

# in_ns WHERE CMD... - CMD in the host's namespace (""), the container's
# ("netns") or the rootless user's ("user"), as root
in_ns() {
	local where=$1
	shift
	case $where in
	"") "$@" ;;
	netns) ip netns exec "$NS" "$@" ;;
	user) nsenter -t "$USER_NS_PID" -n "$@" ;;
	esac
}

listens() {	# WHERE PORT - whether something listens on PORT there
	in_ns "$1" ss -Htln "sport = :$2" | grep -q .
}

wait_port() {	# WHERE PORT - 1 and a line on stderr if nothing listens there in 10 s
	for _ in $(seq 1 200); do
		listens "$1" "$2" && return 0
		sleep 0.05
	done
	echo "bench: nothing listens on $2 in '${1:-host}'${RELAY:+ after $RELAY started:} $(tail -n 1 "$T/$RELAY.log" 2>/dev/null)" >&2
	return 1
}

# -------- the rootless scene: a user, and a namespace of its own --------
BENCH_USER='' USER_NS_PID='' AS_USER=() TUN_WRAP=()

skip_relays() {	# RELAY-PATTERN REASON - drop those relays, saying why in one line
	local r kept=()
	for r in $RELAYS; do
		# shellcheck disable=SC2254
		case $r in $1) ;; *) kept+=("$r") ;; esac
	done
	[ "${#kept[@]}" = "$(wc -w <<<"$RELAYS")" ] && return 0	# none of them was asked for
	echo "bench: skipped $1: $2" >&2
	printf '%s\t%s\n' "$1" "$2" >>"$T/skipped.tsv"
	RELAYS=${kept[*]}
}

# rootless_scene - when rootless relays are asked for: the user, its
# namespace, and each relay started once as that user, to skip one that
# cannot run here rather than fail the run
rootless_scene() {
	local uid n r p ok
	[[ " $RELAYS " == *"-user "* ]] || return 0
	for n in useradd userdel setpriv nsenter unshare; do
		command -v "$n" >/dev/null || { skip_relays '*-user' "$n is missing"; return 0; }
	done
	[ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)" -gt 0 ] ||
		{ skip_relays '*-user' "user namespaces are off (user.max_user_namespaces is 0)"; return 0; }
	useradd -M -d /nonexistent -s /usr/sbin/nologin "nsbench$$" 2>"$T/useradd.err" ||
		{ skip_relays '*-user' "useradd: $(head -n 1 "$T/useradd.err")"; return 0; }
	BENCH_USER=nsbench$$
	uid=$(id -u "$BENCH_USER")
	install -d -o "$BENCH_USER" -g "$BENCH_USER" -m 700 "/run/user/$uid"
	AS_USER=(setpriv --reuid "$BENCH_USER" --regid "$BENCH_USER" --init-groups env -i HOME=/
		USER="$BENCH_USER" PATH=/usr/sbin:/usr/bin:/sbin:/bin XDG_RUNTIME_DIR="/run/user/$uid")
	# the build tree may be closed to others: the binary where the user can run it
	mkdir -p "$T/bin" && cp "$NSB" "$T/bin/nsbridge" && chmod 755 "$T/bin" "$T/bin/nsbridge"
	# what a rootless engine makes: a user namespace mapping the user to
	# root, owning a network namespace; lo up; held open by a sleeper
	"${AS_USER[@]}" unshare --user --map-root-user --net \
		sh -c 'ip link set lo up && exec sleep infinity' 2>"$T/userns.err" &
	USER_NS_PID=$!
	disown "$USER_NS_PID"	# drop_user kills it; no "Killed" line at the end
	for _ in $(seq 1 200); do
		nsenter -t "$USER_NS_PID" -n ip -o link show lo 2>/dev/null | grep -q '[<,]UP[,>]' && break
		kill -0 "$USER_NS_PID" 2>/dev/null || break
		sleep 0.05
	done
	nsenter -t "$USER_NS_PID" -n ip -o link show lo 2>/dev/null | grep -q '[<,]UP[,>]' ||
		{ skip_relays '*-user' "no user namespace as $BENCH_USER: $(head -n 1 "$T/userns.err")"; return 0; }
	# pasta opens /dev/net/tun as the user, which Debian's udev rule lets
	# anyone do (0666); a machine that keeps it 0600 gets that node, in a
	# mount namespace of pasta's own, rather than no rootless pasta at all
	if ! "${AS_USER[@]}" sh -c 'exec 3<>/dev/net/tun' 2>/dev/null &&
		mknod "$T/tun" c 10 200 && chmod 666 "$T/tun"; then
		# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
		TUN_WRAP=(unshare --mount --propagation private -- sh -c \
			'mount --bind "$0" /dev/net/tun && exec "$@"' "$T/tun")
		echo "bench: /dev/net/tun is $(stat -c %a /dev/net/tun) here: pasta-user gets a 0666 one" \
			"in a mount namespace of its own, as on a stock Debian" >&2
	fi
	for r in $RELAYS; do
		[[ $r == *-user ]] || continue
		launch_relay "$r"
		for _ in $(seq 1 200); do
			ok=1
			for p in $PORTS; do listens user "$p" || ok=0; done
			[ $ok = 1 ] && break
			sleep 0.05
		done
		stop_relay
		[ $ok = 1 ] || skip_relays "$r" "it does not start as $BENCH_USER here: $(tail -n 1 "$T/$r.log")"
	done
}

# drop_user - the rootless user, its processes and its runtime directory gone
drop_user() {
	local uid pid
	[ -n "$BENCH_USER" ] || return 0
	uid=$(id -u "$BENCH_USER") || return 0
	for _ in 1 2 3; do
		for pid in $(ps -o pid= -u "$uid"); do kill -KILL "$pid" 2>/dev/null; done
		[ -z "$(ps -o pid= -u "$uid")" ] && break
		sleep 0.2
	done
	userdel "$BENCH_USER" 2>/dev/null
	sed -i "/^$BENCH_USER:/d" /etc/subuid /etc/subgid 2>/dev/null
	rm -rf "/run/user/$uid"
	BENCH_USER=
}

# -------- the peers that are built here: the floor and the 2026 pasta --------
PEERS_TARBALL=$(compgen -G "$REPO/../shared/peers/passt-*.tar.gz" | head -n 1)
PASTA2026=${PASTA:-}
PASTA2026_VERSION=

# build_pasta2026 - the 2026 pasta from ../shared/peers/, built once into
# /var/tmp/nsbridge-bench/NAME (a scratch directory, never the project's)
build_pasta2026() {
	local name dir
	name=$(basename "$PEERS_TARBALL" .tar.gz)
	dir=/var/tmp/nsbridge-bench/$name
	if [ ! -x "$dir/$name/pasta" ]; then
		echo "bench: building the 2026 pasta from $PEERS_TARBALL into $dir" >&2
		if ! { rm -rf "$dir" && mkdir -p "$dir" && tar -xzf "$PEERS_TARBALL" -C "$dir" &&
			make -C "$dir/$name" pasta >"$dir/make.log" 2>&1; }; then
			echo "bench: $(tail -n 1 "$dir/make.log" 2>/dev/null)" >&2
			return 1
		fi
	fi
	PASTA2026=$dir/$name/pasta
	PASTA2026_VERSION="upstream ${name#passt-} (../shared/peers)"
}

peers_built_here() {
	gcc -O2 -Wall -o "$T/floor" "$REPO/bench/floor.c" 2>"$T/floor.err" ||
		skip_relays 'floor-*' "bench/floor.c does not build: $(head -n 1 "$T/floor.err")"
	[[ " $RELAYS " == *" pasta2026"* ]] || return 0
	if [ -n "$PASTA2026" ]; then
		PASTA2026_VERSION="PASTA=$PASTA2026"
	elif [ -z "$PEERS_TARBALL" ]; then
		skip_relays 'pasta2026*' "no 2026 pasta: run with PASTA=/path/to/pasta (upstream's, built with 'make pasta'), or with ../shared/peers/ beside the clone (BENCHMARKS.md)"
		return 0
	elif ! build_pasta2026; then
		skip_relays 'pasta2026*' "the 2026 pasta did not build from $PEERS_TARBALL"
		return 0
	fi
	"$PASTA2026" --help 2>&1 | grep -q -- --splice-only ||
		skip_relays 'pasta2026-splice' "$PASTA2026 has no --splice-only: not a 2026 pasta"
}

# start_postgres - a real PostgreSQL on the host's 127.0.0.1, for pgbench;
# PG_FAILED says why where there is none
PG_FAILED=
start_postgres() {
	local bin
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -x "$bin/postgres" ] || { PG_FAILED="no PostgreSQL server installed"; return; }
	id postgres >/dev/null 2>&1 || { PG_FAILED="no postgres user"; return; }
	mkdir -p "$T/pg" "$T/pgsock" && chown postgres: "$T/pg" "$T/pgsock"
	runuser -u postgres -- "$bin/initdb" -D "$T/pg" -A trust -U postgres >"$T/initdb.log" 2>&1 ||
		{ PG_FAILED="initdb: $(tail -n 1 "$T/initdb.log")"; return; }
	runuser -u postgres -- "$bin/postgres" -D "$T/pg" -k "$T/pgsock" -c listen_addresses=127.0.0.1 \
		-p "$P_PG" -c max_connections=200 -c fsync=off >"$T/postgres.log" 2>&1 &
	PIDS+=($!)
}

# -------- the scene: a namespace, five servers on the host's loopback --------
P_IPERF=25201 P_SOCKPERF=25202 P_HTTP=25203 P_VERIFY=25204 P_PG=25205
PORTS="$P_IPERF $P_SOCKPERF $P_HTTP $P_VERIFY $P_PG"
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up

iperf3 -s -B 127.0.0.1 -p "$P_IPERF" >/dev/null 2>&1 &
PIDS+=($!)
sockperf server --tcp -i 127.0.0.1 -p "$P_SOCKPERF" >/dev/null 2>&1 &
PIDS+=($!)
cat >"$T/nginx.conf" <<EOF
daemon off;
worker_processes 1;
worker_rlimit_nofile 65536;
pid $T/nginx.pid;
error_log $T/nginx.err;
events { worker_connections 32768; }
http {
	access_log off;
	keepalive_requests 1000000;
	keepalive_timeout 600s;
	server { listen 127.0.0.1:$P_HTTP backlog=4096; location / { return 200 "ok\n"; } }
}
EOF
nginx -c "$T/nginx.conf" -e "$T/nginx.err" &
PIDS+=($!)
python3 "$REPO/bench/verify.py" serve "$P_VERIFY" &
PIDS+=($!)
start_postgres
for p in $PORTS; do [ "$p" = "$P_PG" ] && [ -n "$PG_FAILED" ] || wait_port "" "$p" || exit 1; done
[ -n "$PG_FAILED" ] || pgbench -i -q -h 127.0.0.1 -p "$P_PG" -U postgres postgres >"$T/pgbench-init.log" 2>&1 ||
	PG_FAILED="pgbench -i: $(tail -n 1 "$T/pgbench-init.log")"
[ -z "$PG_FAILED" ] || echo "bench: no pgbench figure: $PG_FAILED" >&2

# -------- the relays --------
launch_relay() {	# NAME - start it, without waiting for it
	RELAY_PIDS=()
	case $1 in
	direct) ;;
	nsbridge)
		local args=()
		for p in $PORTS; do args+=("host:$p" "container:$p"); done
		"$NSB" -q -c "netns:$NS" "${args[@]}" 2>"$T/nsbridge.log" &
		RELAY_PIDS+=($!)
		;;
	pasta | pasta2026 | pasta2026-splice)
		local tcp=() bin=pasta extra=()
		for p in $PORTS; do tcp+=(-T "$p"); done
		[ "$1" = pasta ] || bin=$PASTA2026
		[ "$1" = pasta2026-splice ] && extra=(--splice-only)
		"$bin" -f --runas 0 "${extra[@]}" --netns "/run/netns/$NS" "${tcp[@]}" -t none -u none \
			-U none >"$T/$1.log" 2>&1 &
		RELAY_PIDS+=($!)
		;;
	floor-*)
		local size=65536
		[ "$1" = floor-1m ] && size=1048576
		# shellcheck disable=SC2086
		"$T/floor" -p "$size" "/run/netns/$NS" $PORTS >"$T/$1.log" 2>&1 &
		RELAY_PIDS+=($!)
		;;
	nsbridge-user)
		local args=()
		for p in $PORTS; do args+=("host:$p" "container:$p"); done
		"${AS_USER[@]}" "$T/bin/nsbridge" -q -c "pid:$USER_NS_PID" "${args[@]}" \
			2>"$T/nsbridge-user.log" &
		RELAY_PIDS+=($!)
		;;
	pasta-user)
		# as Podman runs it for a rootless container: as the user, joining
		# the container's user namespace, then its network namespace
		local tcp=()
		for p in $PORTS; do tcp+=(-T "$p"); done
		"${TUN_WRAP[@]}" "${AS_USER[@]}" pasta -f --config-net --userns "/proc/$USER_NS_PID/ns/user" \
			--netns "/proc/$USER_NS_PID/ns/net" "${tcp[@]}" -t none -u none -U none \
			>"$T/pasta-user.log" 2>&1 &
		RELAY_PIDS+=($!)
		;;
	socat)
		for p in $PORTS; do
			socat UNIX-LISTEN:"$T/s$p",fork TCP:127.0.0.1:"$p" 2>/dev/null &
			RELAY_PIDS+=($!)
			ip netns exec "$NS" socat TCP-LISTEN:"$p",bind=127.0.0.1,fork,reuseaddr \
				UNIX-CONNECT:"$T/s$p" 2>/dev/null &
			RELAY_PIDS+=($!)
		done
		;;
	esac
}

start_relay() {	# NAME - start it, and wait until it listens on every port: 0, or 1
	launch_relay "$1"
	[ "$1" = direct ] && return 0
	for p in $PORTS; do
		wait_port "$(where_of "$1")" "$p" || return 1
	done
}

where_of() {	# RELAY - where its client runs
	case $1 in
	direct) echo "" ;;
	*-user) echo user ;;
	*) echo netns ;;
	esac
}

stop_relay() {
	for pid in "${RELAY_PIDS[@]}"; do
		pkill -TERM -P "$pid" 2>/dev/null
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${RELAY_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	RELAY_PIDS=()
}

# client CMD... - runs where the client of RELAY lives: the namespace, or
# the host's namespace itself for direct
client() {
	in_ns "$(where_of "$RELAY")" "$@"
}

# relay_tree_pids - the relay's processes (socat forks one per connection)
relay_tree_pids() {
	local pid
	for pid in "${RELAY_PIDS[@]}"; do
		echo "$pid"
		pgrep -P "$pid"
	done
}

record() {	# METRIC VALUE
	printf '%s\t%s\t%s\t%s\n' "$RELAY" "$1" "$2" "$ROUND" >>"$RESULTS"
}

# -------- the figures --------
measure_bulk() {
	local name dir streams v
	for streams in 1 4; do
		for dir in up down; do
			v=$(client iperf3 -c 127.0.0.1 -p "$P_IPERF" -t "$SECS" -P "$streams" \
				$([ $dir = down ] && echo -R) -J 2>/dev/null |
				python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9)' 2>/dev/null)
			record "bulk_${streams}_${dir}_gbps" "${v:-nan}"
		done
	done
}

measure_latency() {
	local out
	out=$(client sockperf ping-pong --tcp -i 127.0.0.1 -p "$P_SOCKPERF" -t "$SECS" 2>&1 |
		sed 's/\x1b\[[0-9;]*m//g')
	record lat_avg_us "$(sed -n 's/.*avg-latency=\([0-9.]*\).*/\1/p' <<<"$out")"
	record lat_p50_us "$(sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p' <<<"$out")"
	record lat_p99_us "$(sed -n 's/.*percentile 99.000 = *\([0-9.]*\).*/\1/p' <<<"$out")"
}

wrk_rps() {	# [wrk args...]
	client wrk -t1 -c50 -d"$SECS" "$@" "http://127.0.0.1:$P_HTTP/" 2>/dev/null |
		awk '/Requests\/sec/ { print $2 }'
}

# measure_verify - did the relay deliver? bench/verify.py's upload and
# download after a half-close, each hashed at the receiver
measure_verify() {
	local out
	out=$(client python3 "$REPO/bench/verify.py" check "$P_VERIFY" "$VERIFY_BYTES" 2>&1)
	record verify_upload "$(grep -q '^upload ok' <<<"$out" && echo 1 || echo 0)"
	record verify_download "$(grep -q '^download ok' <<<"$out" && echo 1 || echo 0)"
	grep -v ' ok ' <<<"$out" | while IFS= read -r line; do
		printf '%s\t%s\t%s\n' "$RELAY" "$ROUND" "$line" >>"$T/bad.tsv"
	done
}

# measure_pgbench - select-only transactions a second through the relay
# from 8 clients: PostgreSQL's short messages, where Nagle would stall
measure_pgbench() {
	[ -n "$PG_FAILED" ] && return
	record pgbench_tps "$(client pgbench -h 127.0.0.1 -p "$P_PG" -U postgres -n -S -c 8 -j 2 \
		-T "$SECS" postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')"
}

measure_http() {
	record new_conn_per_s "$(wrk_rps -H 'Connection: close')"
	record keepalive_req_per_s "$(wrk_rps)"
}

relay_fds() {
	local pid fds=0
	for pid in $(relay_tree_pids); do
		fds=$((fds + $(ls "/proc/$pid/fd" 2>/dev/null | wc -l)))
	done
	echo "$fds"
}

# RSS (KiB) and fds of the relay's processes with N idle connections, and
# the rate of new connections while they are open
measure_idle() {
	local n rss fds pid
	[ "$RELAY" = direct ] && return
	case $RELAY in *-user) return ;; esac	# the root scene's figure: not asked here
	record idle_0_fds "$(relay_fds)"
	for n in $IDLE_COUNTS; do
		# two processes per connection: 10,000 would be 20,000 socat processes
		[ "$RELAY" = socat ] && [ "$n" -gt 1000 ] && continue
		# the floor holds its two pipes (four descriptors) for as long as a
		# connection lives: past the limit, it is no floor for memory anyway
		[[ $RELAY == floor-* ]] && [ $((6 * n)) -gt "$(ulimit -n)" ] && continue
		# the holder lets go when the stop file appears: killing "client ... &"
		# would kill only the subshell, and its connections would linger
		rm -f "$T/idle/stop" "$T/idle/talk"
		mkdir -p "$T/idle"
		client python3 "$REPO/bench/holder.py" "$P_HTTP" "$n" "$T/idle" >"$T/idle.out" 2>&1 &
		local holder=$!
		for _ in $(seq 1 600); do grep -q open "$T/idle.out" && break; sleep 0.1; done
		sleep 1	# not a wait: the relay settles before its memory is read
		rss=0
		for pid in $(relay_tree_pids); do
			# a fork that is exiting (socat's) has no VmRSS line any more
			v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
			rss=$((rss + ${v:-0}))
		done
		fds=$(relay_fds)
		grep -q open "$T/idle.out" || rss=nan fds=nan
		record "idle_${n}_rss_kib" "$rss"
		record "idle_${n}_fds" "$fds"
		# the cost of a new connection with N open: wrk Connection: close
		record "new_conn_per_s_at_${n}" "$(wrk_rps -H 'Connection: close')"
		[ "$n" = "$IDLE_MOST" ] && measure_idle_cpu "$n"
		touch "$T/idle/stop"
		wait "$holder" 2>/dev/null
		sleep 1
	done
}

# cpu_ns_of_relay - nanoseconds on a CPU of all the relay's threads so far
cpu_ns_of_relay() {
	local pid sum=0 t
	for pid in $(relay_tree_pids); do
		for t in /proc/"$pid"/task/*/schedstat; do
			sum=$((sum + $(cut -d' ' -f1 "$t" 2>/dev/null || echo 0)))
		done
	done
	echo "$sum"
}

# relay_cpu_pct - the relay's CPU over SECS from now, in % of one core
relay_cpu_pct() {
	local t0 t1 w0 w1
	t0=$(cpu_ns_of_relay) w0=$(date +%s%N)
	sleep "$SECS"	# not a wait: the window the CPU is measured over
	t1=$(cpu_ns_of_relay) w1=$(date +%s%N)
	python3 -c "print(100 * ($t1 - $t0) / ($w1 - $w0))"
}

# measure_idle_cpu N - with N connections open: the relay's CPU while all
# sit idle, then while 1,000 of them send one request a second
measure_idle_cpu() {
	local n=$1 talkers=$(( $1 < 1000 ? $1 : 1000 ))
	grep -q open "$T/idle.out" || return
	record "idle_${n}_cpu_pct" "$(relay_cpu_pct)"
	touch "$T/idle/talk"
	for _ in $(seq 1 100); do grep -q talking "$T/idle.out" && break; sleep 0.1; done
	grep -q talking "$T/idle.out" || return
	record "talk_${talkers}_of_${n}_cpu_pct" "$(relay_cpu_pct)"
	rm -f "$T/idle/talk"
}

cpu_ticks_of_relay() {
	local pid sum=0
	for pid in $(relay_tree_pids); do
		sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	echo "$sum"
}

# machine_busy_ticks - CPU ticks of every core not idle (user, nice, system,
# irq, softirq): the loopback TCP work a send runs lands in whichever
# process or ksoftirqd the kernel finds, so only the sum is the transfer's
machine_busy_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}

measure_cpu() {
	local t0 t1 m0 m1 gib
	[ "$RELAY" = socat ] && return	# its forks exit with their connection: not measurable this way
	t0=$(cpu_ticks_of_relay) m0=$(machine_busy_ticks)
	client iperf3 -c 127.0.0.1 -p "$P_IPERF" -n "$BULK_BYTES" >/dev/null 2>&1
	t1=$(cpu_ticks_of_relay) m1=$(machine_busy_ticks)
	gib=$(python3 -c "print($(numfmt --from=iec "$BULK_BYTES") / 2**30)")
	record machine_cpu_s_per_gib "$(python3 -c "print(($m1 - $m0) / $(getconf CLK_TCK) / $gib)")"
	[ "$RELAY" = direct ] && return
	record cpu_s_per_gib "$(python3 -c "print(($t1 - $t0) / $(getconf CLK_TCK) / $gib)")"
}

# tun_check - pasta makes a tap device in the namespace through
# /dev/net/tun: where the machine has none that opens (a container started
# without the device), pasta is left out, in one line that says so
tun_check() {
	local why
	[[ " $RELAYS " == *" pasta"* ]] || return 0
	(exec 3<>/dev/net/tun) 2>/dev/null && return 0
	why="no device node /dev/net/tun"
	[ -e /dev/net/tun ] && why="/dev/net/tun does not open ($(stat -c '%F, mode %a' /dev/net/tun))"
	why="$why: pasta needs it (a container needs --device /dev/net/tun)"
	# --splice-only makes no tap device
	skip_relays pasta "$why"
	skip_relays pasta2026 "$why"
	skip_relays pasta-user "$why"
}

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
tun_check
peers_built_here
rootless_scene
for ROUND in $(seq 1 "$ROUNDS"); do
	for RELAY in $RELAYS; do
		echo "bench: round $ROUND/$ROUNDS: $RELAY" >&2
		if ! start_relay "$RELAY"; then
			printf '%s\t%s\t%s\n' "$RELAY" "$ROUND" \
				"did not start: $(tail -n 1 "$T/$RELAY.log" 2>/dev/null)" >>"$T/bad.tsv"
			stop_relay
			continue
		fi
		measure_verify
		measure_bulk
		measure_latency
		measure_http
		measure_pgbench
		measure_cpu
		measure_idle
		stop_relay
	done
done

{
	echo "load	$LOAD_AT_START"
	echo "pasta	Debian's passt $(dpkg-query -W -f='${Version}' passt 2>/dev/null)"
	echo "pasta2026	${PASTA2026_VERSION:-not run}"
	echo "kernel	$(uname -r)"
	echo "machine	$(nproc) cores, $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME")"
} >"$T/meta.tsv"
touch "$T/skipped.tsv" "$T/bad.tsv"
python3 "$REPO/bench/report.py" "$T" "$QUICK" "$ROUNDS" "$SECS" >"$OUT.tmp" && mv "$OUT.tmp" "$OUT"
echo "bench: wrote $OUT" >&2
