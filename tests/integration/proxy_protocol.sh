#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# proxy_protocol.sh - --proxy-protocol: each connection to SERVICE starts
# with a PROXY v2 header that says who the client was in its namespace.
# nginx (listen ... proxy_protocol) logs the client's own address and port,
# over IPv4 and IPv6, where without the header it would see the relay; a
# reader of the header (proxy_peer.py) finds the family, both addresses and
# ports and the container's TLV, then the client's bytes unchanged. A bridge
# of --config asks for it alone, its neighbour not.
. "$(dirname "$0")/lib.sh"

command -v nginx >/dev/null || skip "nginx is not installed (tests/deps.sh)"

mkns web web
pick_port http
pick_port peer
pick_port plain
pick_port greet
mkdir "$T/www" "$T/ngx"
echo "through nginx" >"$T/www/index.html"
cat >"$T/ngx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $T/ngx/nginx.pid;
error_log $T/ngx/error.log;
events { worker_connections 64; }
http {
	log_format pp 'pp=\$proxy_protocol_addr:\$proxy_protocol_port remote=\$remote_addr';
	access_log $T/ngx/access.log pp;
	client_body_temp_path $T/ngx;
	proxy_temp_path $T/ngx;
	fastcgi_temp_path $T/ngx;
	uwsgi_temp_path $T/ngx;
	scgi_temp_path $T/ngx;
	server { listen 127.0.0.1:$http proxy_protocol; root $T/www; }
}
EOF
bg nginx -c "$T/ngx/nginx.conf" -e "$T/ngx/error.log"
wait_listen "" "$http"
bg python3 "$(dirname "$0")/proxy_peer.py" 127.0.0.1 "$peer" "$T/peer.log"
wait_listen "" "$peer"
bg python3 "$(dirname "$0")/proxy_peer.py" 127.0.0.1 "$plain" "$T/plain.log"
wait_listen "" "$plain"
bg python3 "$(dirname "$0")/proxy_peer.py" 127.0.0.1 "$greet" "$T/greet.log" greet
wait_listen "" "$greet"

start_nsb -c "netns:$web" --proxy-protocol "host:$http" "container:$http" \
	"host:$peer" "container:$peer" "host:$greet" "container:$greet"

# the last line of FILE, once there is one more than N
line_after() {
	wait_until "line $(($2 + 1)) of $1" 10 _has_lines "$1" "$(($2 + 1))"
	tail -n 1 "$1"
}
_has_lines() {
	[ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ]
}

nginx_sees_client() {
	local out
	out=$(nsx "$web" curl -sS --max-time 5 --interface 127.0.0.9 --local-port 41009 \
		"http://127.0.0.1:$http/") || fail "curl in web"
	assert_eq "nginx's page" "through nginx" "$out"
	assert_eq "nginx's access log" "pp=127.0.0.9:41009 remote=127.0.0.1" \
		"$(line_after "$T/ngx/access.log" 0)"
	out=$(nsx "$web" curl -sS --max-time 5 -g --local-port 41010 "http://[::1]:$http/") ||
		fail "curl -6 in web"
	assert_eq "nginx's page over IPv6" "through nginx" "$out"
	assert_eq "nginx's access log, IPv6" "pp=::1:41010 remote=127.0.0.1" \
		"$(line_after "$T/ngx/access.log" 1)"
	pass "nginx logs the client's own address and port as the client had them"
}

header_read_back() {
	local out want
	out=$(printf 'hello through\n' | nsx "$web" socat -t 30 - \
		"TCP:127.0.0.1:$peer,bind=127.0.0.9:41011") || fail "socat in web"
	assert_eq "the peer's answer" "ok" "$out"
	want="peer=127.0.0.1:[0-9]+ proxy=v2 cmd=1 family=0x11 src=127.0.0.9:41011"
	want+=" dst=127.0.0.1:$peer netns=netns:$web id=- data=hello through$"
	assert_match "the header as a reader decodes it" "$want" "$(line_after "$T/peer.log" 0)"
	pass "PROXY v2, TCP over IPv4, both addresses and ports, the NETNS TLV, then the bytes"
}

# A service that speaks first gets the header at once: the client sends nothing
server_first() {
	local out
	out=$(nsx "$web" python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
print(s.recv(100).decode().strip())
s.sendall(b"bye\n")
print(s.recv(100).decode().strip())
' "$greet") || fail "the client of the greeting service"
	assert_eq "what the client heard" "hello"$'\n'"ok" "$out"
	assert_match "the greeting service's header" "proxy=v2 .* data=bye$" \
		"$(line_after "$T/greet.log" 0)"
	pass "a service that speaks first: the header reaches it before the client says a word"
}

check nginx_sees_client
check header_read_back
check server_first
stop_nsb

# A bridge of --config with proxy-protocol = true; the one beside it without
file_bridge() {
	local out
	cat >"$T/pp.conf" <<-EOF
	container = "netns:$web";
	bridges = (
	  { service = "host:$peer"; expose = "container:$peer"; proxy-protocol = true; },
	  { service = "host:$plain"; expose = "container:$plain"; }
	);
	EOF
	NSB_READY=2 own_nsb --config "$T/pp.conf"
	out=$(printf 'one\n' | nsx "$web" socat -t 30 - "TCP:127.0.0.1:$peer") || fail "socat"
	assert_match "the bridge that asks" "proxy=v2 .* data=one$" "$(line_after "$T/peer.log" 1)"
	out=$(printf 'two\n' | nsx "$web" socat -t 30 - "TCP:127.0.0.1:$plain") || fail "socat"
	assert_match "the bridge that does not" "proxy=none data=two$" \
		"$(line_after "$T/plain.log" 0)"
	pass "proxy-protocol = true in a --config bridge: that bridge only"
}
check file_bridge
