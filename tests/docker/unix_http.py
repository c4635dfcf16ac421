#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# unix_http.py - python's HTTP server on a unix socket: a unix: SERVICE of an
#                ordinary user's for the rootless tests (rootless_lib.sh)
#
#   unix_http.py SOCK ROOT   serve the files of ROOT on the unix socket SOCK,
#                            a thread per connection, until killed

import http.server
import os
import socketserver
import sys


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class Handler(http.server.SimpleHTTPRequestHandler):
    def address_string(self):
        return "unix"	# a unix peer has no address


sock, root = sys.argv[1:]
os.chdir(root)
Server(sock, Handler).serve_forever()
