# SPDX-License-Identifier: GPL-2.0-or-later
# rootless_lib.sh - ordinary users for the rootless container tests
#
# Sourced after tests/integration/lib.sh by rootless_podman.sh and
# rootless_docker.sh, which run as root only to set the scene: make_user
# makes a user with subordinate ranges and a runtime directory, as runs a
# command as that user with nothing of root's environment, and everything
# of the users is removed when the test ends (their processes by uid, the
# home, /run/user/UID, the subuid and subgid lines). The scenes both tests
# play alike (scene_reverse, scene_range, scene_unix, scene_mirrors), each
# a check, are at the end, parameterised by the engine's command. TESTING.md,
# "Rootless Podman and Docker as an ordinary user", says how the engines
# run here.

command -v newuidmap >/dev/null && command -v newgidmap >/dev/null ||
	skip "newuidmap/newgidmap are missing (Debian's uidmap): a rootless engine cannot map ids"
command -v useradd >/dev/null || skip "useradd is missing"
[ "$(cat /proc/sys/user/max_user_namespaces)" -gt 0 ] ||
	skip "user namespaces are disabled here (user.max_user_namespaces is 0)"

USERS=()
# ROOTLESS_CLEANUP - commands run (as root) before the users go, e.g. to
# remove their containers while their engine still answers
ROOTLESS_CLEANUP=()
drop_user() {
	local name=$1 uid pid
	uid=$(id -u "$name" 2>/dev/null) || return 0
	for _ in 1 2 3; do	# their processes, by uid: the engine, its helpers, ...
		for pid in $(ps -o pid= -u "$uid"); do
			kill -KILL "$pid" 2>/dev/null
		done
		[ -z "$(ps -o pid= -u "$uid")" ] && break
		sleep 0.2
	done
	userdel -r "$name" >/dev/null 2>&1
	rm -rf "/run/user/$uid" "/tmp/containers-user-$uid" "/tmp/podman-run-$uid"
	sed -i "/^$name:/d" /etc/subuid /etc/subgid
}
drop_users() {
	local u c
	for c in "${ROOTLESS_CLEANUP[@]}"; do
		eval "$c" >/dev/null 2>&1
	done
	for u in "${USERS[@]}"; do
		drop_user "$u"
	done
}
at_exit drop_users

# make_user VAR SHORT - a user nsbtPIDSHORT with a home, subordinate ids and /run/user/UID
make_user() {
	local name="nsbt$$$2" uid
	useradd -m -s /bin/sh "$name" 2>"$T/err" || skip "useradd: $(cat "$T/err")"
	USERS+=("$name")
	uid=$(id -u "$name")
	grep -q "^$name:" /etc/subuid || echo "$name:$((100000 + 65536 * (uid % 1000))):65536" >>/etc/subuid
	grep -q "^$name:" /etc/subgid || echo "$name:$((100000 + 65536 * (uid % 1000))):65536" >>/etc/subgid
	install -d -o "$name" -g "$name" -m 700 "/run/user/$uid"
	printf -v "$1" '%s' "$name"
}

# as_argv VAR USER - in VAR, the words that run a command as USER, with
# nothing of root's environment (each execs the next: one pid), in /: the
# checkout may be under a directory USER cannot enter (mktemp -d is 0700)
as_argv() {
	local -n _argv=$1
	_argv=(setpriv --reuid "$2" --regid "$2" --init-groups env -i -C / HOME="/home/$2"
		USER="$2" PATH=/usr/sbin:/usr/bin:/sbin:/bin XDG_RUNTIME_DIR="/run/user/$(id -u "$2")"
		PODMAN_IGNORE_CGROUPSV1_WARNING=1)
}
# as USER CMD... - CMD as USER
as() {
	local argv
	as_argv argv "$1"
	shift
	"${argv[@]}" "$@"
}

# the binary, and the unix service's script, where every user can run them
mkdir -p "$T/bin" && cp "$NSB" "$T/bin/nsbridge" && chmod 755 "$T/bin" "$T/bin/nsbridge"
NSB=$T/bin/nsbridge
cp "$(dirname "${BASH_SOURCE[0]}")/unix_http.py" "$T/bin/" && chmod 644 "$T/bin/unix_http.py"

# busybox_tar FILE - a busybox root file system as a tar every user can read
busybox_tar() {
	local a
	mkdir -p "$T/bb/bin" "$T/bb/tmp" "$T/bb/www"
	cp "$(command -v busybox)" "$T/bb/bin/busybox"
	for a in sh sleep wget timeout httpd nslookup; do ln -s busybox "$T/bb/bin/$a"; done
	echo "container service" >"$T/bb/www/index.html"
	tar -C "$T/bb" -c . >"$1" && chmod 644 "$1"
}

# status_of PID FIELD - FIELD of /proc/PID/status
status_of() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# refused WHAT PATTERN USER CMD... - exit 5, one line on stderr matching PATTERN, nothing on stdout
refused() {
	local what=$1 pattern=$2 user=$3 rc
	shift 3
	as "$user" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	assert_eq "$what: exit status ($(cat "$T/err"))" 5 "$rc"
	assert_eq "$what: stderr lines" 1 "$(wc -l <"$T/err")"
	assert_match "$what: message" "$pattern" "$(cat "$T/err")"
	assert_eq "$what: stdout" "" "$(cat "$T/out")"
}

# range_nginx FIRST LAST - root's nginx on 127.0.0.1:FIRST-LAST, each port
# answering with its own number
range_nginx() {
	local listen="" p dir
	dir=$(mktemp -d "$T/ngx.XXXX")
	for p in $(seq "$1" "$2"); do listen+="listen 127.0.0.1:$p;"; done
	cat >"$dir/nginx.conf" <<-NG
	daemon off; worker_processes 1; pid $dir/nginx.pid; error_log $dir/error.log;
	events { worker_connections 64; }
	http { access_log off; server { $listen location / { return 200 "\$server_port\n"; } } }
	NG
	bg nginx -c "$dir/nginx.conf" -e "$dir/error.log"
	wait_listen "" "$2"
}

# unix_http USER SOCK DIR - python's HTTP server (unix_http.py), as USER,
# serving DIR on the unix socket SOCK; its pid in BG_PID
unix_http() {
	local argv
	rm -f "$2"
	as_argv argv "$1"
	bg_to "$T/unix_http.log" "${argv[@]}" python3 "$T/bin/unix_http.py" "$2" "$3"
	wait_until "$1's unix socket $2" 10 test -S "$2"
}

# user_blob USER - 2 MiB of random bytes in USER's ~/srv/blob
user_blob() {
	install -d -o "$1" -g "$1" "/home/$1/srv"
	random_file "/home/$1/srv/blob" 2
	chown "$1:" "/home/$1/srv/blob"
}

# metric NAME [DIRECTION] - bridge 0's NAME, from the /metrics of
# 127.0.0.1:$MPORT scraped as $A
metric() {
	as "$A" curl -sS --max-time 5 "http://127.0.0.1:$MPORT/metrics" |
		awk -v n="$1" -v dir="${2:+direction=\"$2\"}" \
			'index($0, n "{bridge=\"0\"") == 1 && (dir == "" || index($0, dir)) { print $NF }'
}
# carried BYTES - /metrics counts BYTES or more to the client, and no connection open
carried() {
	[ "$(metric nsbridge_bytes_total to_client)" -ge "$1" ] && [ "$(metric nsbridge_connections_open)" = 0 ]
}

# -------- scenes both engines play, as A --------
# rootless_podman.sh and rootless_docker.sh run them alike, each scene a
# check with an nsbridge of its own (web_httpd, which they need, is the
# setup's). Each takes ENGINE, the test's function that runs the engine's
# CLI as A (podman_a, docker_a: "ENGINE exec web CMD..." runs CMD inside
# the container web), and LABEL, put before each message ("" or "HOW: ").
# They use what the test has set: A, NSB_WRAP (as_argv of A), port (root's
# nginx, whose page says "host service $port"), cport (web_httpd), and
# its function ct_proc, web's init as /proc/PID here.

# ct_fetch ENGINE PORT - what wget inside web gets from 127.0.0.1:PORT
ct_fetch() {
	"$1" exec web timeout 10 wget -qO- "http://127.0.0.1:$2/" 2>/dev/null
}
# ct_answers ENGINE PORT TEXT - wget inside web gets TEXT from PORT
ct_answers() {
	[ "$(ct_fetch "$1" "$2")" = "$3" ]
}
# listens_inside PORT - something listens on PORT (tcp) in web's namespace
listens_inside() {
	[ -n "$(nsenter --net="$(ct_proc)/ns/net" ss -Htln "sport = :$1")" ]
}
# decided LOG PORT - a mirror has said whether it mirrors PORT
decided() {
	grep -Eq "port $2 of .*(is nsbridge's own|is not mirrored)" "$1"
}

# web_httpd ENGINE - a service inside web (busybox httpd on cport, picked
# here), for the scenes: the setup's, as they all use it
web_httpd() {
	pick_port cport
	"$1" exec -d web httpd -f -p "127.0.0.1:$cport" -h /www >/dev/null || fail "httpd inside web"
	wait_until "httpd inside web" 10 ct_answers "$1" "$cport" "container service"
}

# scene_reverse ENGINE LABEL - the service inside on cport, reached from the host
scene_reverse() {
	local engine=$1 label=$2 hport
	pick_port hport
	own_nsb -c web "container:$cport" "host:$hport"
	assert_eq "curl on the host" "$(ct_fetch "$engine" "$cport")" "$(curl -s "http://127.0.0.1:$hport/")"
	pass "${label}as $A: nsbridge -c web container:$cport host:$hport, curl here gets the container's page"
	stop_nsb
}

# scene_range ENGINE LABEL - a range: each port inside answered by its own host port
scene_range() {
	local engine=$1 label=$2 svc exp out
	pick_range svc 4
	pick_range exp 4
	range_nginx "$svc" $((svc + 3))
	own_nsb -c web "host:$svc-$((svc + 3))" "container:$exp-$((exp + 3))"
	out=$("$engine" exec web sh -c 'for p in "$@"; do timeout 10 wget -qO- "http://127.0.0.1:$p/"; done' \
		sh $(seq "$exp" $((exp + 3))) 2>&1)
	assert_eq "wget inside on $exp-$((exp + 3))" "$(seq "$svc" $((svc + 3)))" "$out"
	pass "${label}as $A: nsbridge -c web host:$svc-$((svc + 3)) container:$exp-$((exp + 3)), each port inside answered by its own"
	stop_nsb
}

# scene_unix ENGINE LABEL SOCK - a unix: SERVICE of A's and --metrics
# counting what it carried: python's HTTP server on SOCK serves 2 MiB of
# random bytes from A's home; sets MPORT. Two results: the bytes, then
# what /metrics counted of them.
scene_unix() {
	local engine=$1 label=$2 sock=$3 direct uport
	[ -f "/home/$A/srv/blob" ] || user_blob "$A"
	unix_http "$A" "$sock" "/home/$A/srv"
	UNIX_PID=$BG_PID
	NSB_PID=	# the check's own, once started
	trap 'kill -KILL $NSB_PID "$UNIX_PID" 2>/dev/null' EXIT
	direct=$(as "$A" curl -sS --unix-socket "$sock" http://x/blob | md5sum)
	assert_eq "direct, over the unix socket" "$(md5sum <"/home/$A/srv/blob")" "$direct"
	pick_port uport
	pick_port MPORT
	start_nsb --metrics "127.0.0.1:$MPORT" -c web "unix:$sock" "container:$uport"
	assert_eq "nsbridge_connections_accepted_total before" 0 "$(metric nsbridge_connections_accepted_total)"
	assert_eq "nsbridge_bytes_total to_client before" 0 "$(metric nsbridge_bytes_total to_client)"
	assert_eq "wget inside, through unix:$sock" "$direct" \
		"$("$engine" exec web timeout 10 wget -qO- "http://127.0.0.1:$uport/blob" | md5sum)"
	pass "${label}as $A: nsbridge -c web unix:$sock container:$uport, wget inside gets A's 2 MiB byte for byte"
	wait_until "2 MiB to the client on /metrics" 10 carried $((2 * 1024 * 1024))
	assert_eq "nsbridge_connections_accepted_total after" 1 "$(metric nsbridge_connections_accepted_total)"
	pass "${label}as $A: --metrics 127.0.0.1:$MPORT: 1 accepted, $(metric nsbridge_bytes_total to_client) bytes to the client"
	stop_nsb
	assert_eq "exit status" 0 "$NSB_STATUS"
}

# scene_mirrors ENGINE LABEL [MORE] - two mirrors facing each other, both
# A's: A's busybox httpd on h1 here (pid h1_pid), mirrored into web by the
# forward mirror (pid fwd_pid, log $T/forward.log), and the reverse mirror
# (NSB_PID) mirroring web's httpd on cport out. Each leaves the other's
# listeners alone. MORE, a function of the test's, checks more while both
# run. Then A's service on h1 stops: its port goes on both sides; then
# both mirrors stop. A result for each part.
scene_mirrors() {
	local engine=$1 label=$2
	pick_port h1
	bg_to "$T/h1.log" "${NSB_WRAP[@]}" busybox httpd -f -p "127.0.0.1:$h1" -h "$T/www"
	h1_pid=$BG_PID
	fwd_pid=''
	NSB_PID=''	# the check's own, once started
	trap 'kill -KILL $NSB_PID $fwd_pid "$h1_pid" 2>/dev/null' EXIT
	wait_listen "" "$h1"
	bg_to "$T/forward.log" "${NSB_WRAP[@]}" "$NSB" -v -c web --mirror host container
	fwd_pid=$BG_PID
	wait_until "the forward mirror's ready line" 10 grep -q ' ready$' "$T/forward.log"
	wait_until "A's port $h1 mirrored inside" 10 listens_inside "$h1"
	assert_eq "wget inside on $h1, mirrored" "host service $port" "$(ct_fetch "$engine" "$h1")"
	NSB_READY=1 start_nsb -v -c web --mirror container host
	# each has decided about the other's listener when it says so
	wait_until "the reverse mirror's word on port $h1" 10 decided "$NSB_LOG" "$h1"
	wait_until "the forward mirror's word on port $cport" 10 decided "$T/forward.log" "$cport"
	grep -q "tcp port $h1 of container web is nsbridge's own: not mirrored back" "$NSB_LOG" ||
		fail "${label}the reverse mirror took the forward mirror's port $h1 for a service: $(grep "port $h1 " "$NSB_LOG")"
	grep -q "tcp port $cport of host is nsbridge's own: not mirrored back" "$T/forward.log" ||
		fail "${label}the forward mirror took the reverse mirror's port $cport for a service: $(grep "port $cport " "$T/forward.log")"
	assert_eq "wget inside on $h1, mirrored, both mirrors up" "host service $port" "$(ct_fetch "$engine" "$h1")"
	assert_eq "curl on the host on $cport, mirrored" "container service" "$(curl -s "http://127.0.0.1:$cport/")"
	pass "${label}as $A: two mirrors facing each other: each serves its own, neither mirrors the other's back"
	[ -z "${3:-}" ] || "$3"
	kill "$h1_pid"
	wait_until "port $h1 unbound inside after its service stopped" 10 eval '! listens_inside "$h1"'
	port_free "" "$h1" || fail "${label}port $h1 is held on the host after its service stopped"
	stop_nsb
	kill "$fwd_pid"
	wait "$fwd_pid"
	pass "${label}as $A: the service stops: its port is gone on both sides, no mirror holds the other's"
}
