# SPDX-License-Identifier: GPL-2.0-or-later
# rootless_lib.sh - ordinary users for the rootless container tests
#
# Sourced after tests/integration/lib.sh by rootless_podman.sh and
# rootless_docker.sh, which run as root only to set the scene: make_user
# makes a user with subordinate ranges and a runtime directory, as runs a
# command as that user with nothing of root's environment, and everything
# of the users is removed when the test ends (their processes by uid, the
# home, /run/user/UID, the subuid and subgid lines). TESTING.md,
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
# nothing of root's environment (each execs the next: one pid)
as_argv() {
	local -n _argv=$1
	_argv=(setpriv --reuid "$2" --regid "$2" --init-groups env -i HOME="/home/$2"
		USER="$2" PATH=/usr/sbin:/usr/bin:/sbin:/bin XDG_RUNTIME_DIR="/run/user/$(id -u "$2")")
}
# as USER CMD... - CMD as USER
as() {
	local argv
	as_argv argv "$1"
	shift
	"${argv[@]}" "$@"
}

# the binary where every user can run it
mkdir -p "$T/bin" && cp "$NSB" "$T/bin/nsbridge" && chmod 755 "$T/bin" "$T/bin/nsbridge"
NSB=$T/bin/nsbridge

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

# unix_http USER SOCK DIR - python's HTTP server, as USER, serving DIR on
# the unix socket SOCK; its pid in BG_PID
unix_http() {
	local argv
	cat >"$T/unix_http.py" <<-'PY'
	import http.server, os, socketserver, sys
	class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
	    daemon_threads = True
	class Handler(http.server.SimpleHTTPRequestHandler):
	    def address_string(self):
	        return "unix"	# a unix peer has no address
	sock, root = sys.argv[1:]
	os.chdir(root)
	Server(sock, Handler).serve_forever()
	PY
	chmod 644 "$T/unix_http.py"
	rm -f "$2"
	as_argv argv "$1"
	bg_to "$T/unix_http.log" "${argv[@]}" python3 "$T/unix_http.py" "$2" "$3"
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
	[ "$(metric nsbridge_bytes_total to_client)" -ge "$1" ] && [ "$(metric nsbridge_open)" = 0 ]
}
