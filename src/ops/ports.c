/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ports.c - nsbridge ports: who listens in a namespace
 *
 * "Who is on 127.0.0.1:62893 in that container?" in one command: every
 * listening TCP socket and every bound, unconnected UDP socket of the
 * namespace -c REF names (or of the host's), with the process that holds
 * it and whether that process is nsbridge (and then which container it
 * serves, and the address that container dials the host from, asked of
 * it). The sockets come from netlink
 * socket diagnostics (sockdiag.c) on a socket made inside the namespace;
 * the holder from /proc/PID/fd (portowner.c), which takes CAP_SYS_PTRACE
 * for other users' processes. Nothing is bound and nothing relayed: the
 * command lists and exits.
 */

#include <errno.h>
#include <json-c/json.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netlink/socket.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsbridge/ports.h"
#include "nsbridge/ctx.h"
#include "nsbridge/netns.h"
#include "nsbridge/opener.h"
#include "nsbridge/portowner.h"
#include "nsbridge/side.h"
#include "nsbridge/sockdiag.h"

#define ADDR_TEXT_MAX	(INET6_ADDRSTRLEN + 2)

/**
 * struct ports_row - one listening socket and its holder
 * @sock:	the socket
 * @owner:	the process holding it; pid 0 when none is visible
 */
struct ports_row {
	struct sockdiag_entry sock;
	struct port_owner owner;
};

struct ports_rows {
	struct ports_row *rows;
	size_t n;
	size_t cap;
	int error;
};

static void add_row(const struct sockdiag_entry *e, void *arg)
{
	struct ports_rows *t = arg;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct ports_row *rows = realloc(t->rows, cap * sizeof(*rows));

		if (!rows) {
			t->error = -ENOMEM;
			return;
		}
		t->rows = rows;
		t->cap = cap;
	}
	t->rows[t->n++] = (struct ports_row){ .sock = *e };
}

static int by_port(const void *a, const void *b)
{
	const struct sockdiag_entry *x = &((const struct ports_row *)a)->sock;
	const struct sockdiag_entry *y = &((const struct ports_row *)b)->sock;

	if (x->protocol != y->protocol)
		return x->protocol == IPPROTO_TCP ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->family - y->family;
}

/*
 * An ordinary user enters a rootless container's namespace by way of its
 * engine's user namespace, and from there could not read the holders in
 * /proc/PID/fd of its own processes outside it (that takes CAP_SYS_PTRACE
 * where they are): an opener child joins and makes the socket instead.
 */
static int diag_socket_from_opener(const struct side_ns *s)
{
	struct opener_req req = {
		.op = OPENER_SOCKET, .side = SIDE_CONTAINER, .family = AF_NETLINK,
		.type = SOCK_RAW, .protocol = NETLINK_SOCK_DIAG, .count = 1,
	};
	int ns_fds[SIDE_MAX], fd, r;

	for (int i = 0; i < SIDE_MAX; i++)
		ns_fds[i] = i == SIDE_CONTAINER ? s->ns_fd : -1;
	r = opener_start(ns_fds);

	if (r < 0)
		return r;
	r = opener_call(&req, &fd, 1);
	if (r < 0)
		return r;
	return r == 1 ? fd : -EIO;
}

/* A NETLINK_SOCK_DIAG socket made inside the side's namespace */
static int diag_socket_in(const struct side_ns *s)
{
	int home_fd, fd, r;

	if (s->local) {
		fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
		return fd < 0 ? -errno : fd;
	}
	r = netns_open_self(&home_fd);
	if (r < 0)
		return r;
	if (setns(s->ns_fd, CLONE_NEWNET) < 0) {
		r = -errno;
		close(home_fd);
		return r == -EPERM ? diag_socket_from_opener(s) : r;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	r = fd < 0 ? -errno : fd;
	if (setns(home_fd, CLONE_NEWNET) < 0)
		abort();	/* a socket made later would land in the wrong namespace */
	close(home_fd);
	return r;
}

static int list_sockets(const struct side_ns *s, struct ports_rows *t)
{
	struct nl_sock *sk;
	int fd = diag_socket_in(s), r;

	if (fd < 0)
		return fd;
	r = sockdiag_open(fd, &sk);
	if (r < 0)
		return r;
	r = sockdiag_listening(sk, IPPROTO_TCP, add_row, t);
	if (r == 0)
		r = sockdiag_listening(sk, IPPROTO_UDP, add_row, t);
	nl_socket_free(sk);
	return r < 0 ? r : t->error;
}

static bool is_nsbridge(const struct ports_row *r)
{
	return r->owner.pid > 0 && strcmp(r->owner.comm, "nsbridge") == 0;
}

/*
 * The container an nsbridge listener serves, asked of that nsbridge, and
 * in @source the address that container dials the host from ("" for
 * none); NULL if it serves none
 */
static const char *serves_text(const struct ports_row *r, ports_serves_fn serves, char *buf,
			       size_t len, char *source, size_t source_len)
{
	*source = '\0';
	if (!serves || !is_nsbridge(r) ||
	    serves(r->owner.pid, r->sock.port, buf, len, source, source_len) < 0 || !*buf)
		return NULL;
	return buf;
}

static void print_text(const struct side_ns *s, const struct ports_rows *t,
		       ports_serves_fn serves)
{
	printf("%-5s %-41s %5s %7s  %-16s %-8s %s\n", "PROTO", "ADDRESS", "PORT", "PID",
	       "COMMAND", "NSBRIDGE", "CONTAINER");
	for (size_t i = 0; i < t->n; i++) {
		const struct ports_row *r = &t->rows[i];
		char addr[ADDR_TEXT_MAX], pid[16], ct[ENGINE_NAME_MAX], source[INET_ADDRSTRLEN];
		const char *what = serves_text(r, serves, ct, sizeof(ct), source, sizeof(source));

		snprintf(pid, sizeof(pid), "%d", (int)r->owner.pid);
		printf("%-5s %-41s %5u %7s  %-16s %-8s %s%s%s\n",
		       r->sock.protocol == IPPROTO_TCP ? "tcp" : "udp",
		       sockdiag_addr_text(&r->sock, addr, sizeof(addr)), r->sock.port,
		       r->owner.pid > 0 ? pid : "-", r->owner.pid > 0 ? r->owner.comm : "-",
		       is_nsbridge(r) ? "yes" : "no", what ? what : "-", *source ? " from " : "",
		       source);
	}
	if (!t->n)
		printf("(nothing listens in %s)\n", s->label);
}

static void print_json(const struct side_ns *s, const struct ports_rows *t,
		       ports_serves_fn serves)
{
	json_object *top = json_object_new_object(), *list = json_object_new_array();

	json_object_object_add(top, "namespace", json_object_new_string(s->label));
	for (size_t i = 0; i < t->n; i++) {
		const struct ports_row *r = &t->rows[i];
		json_object *o = json_object_new_object();
		char addr[ADDR_TEXT_MAX], ct[ENGINE_NAME_MAX], source[INET_ADDRSTRLEN];
		const char *what;

		json_object_object_add(o, "proto", json_object_new_string(
			r->sock.protocol == IPPROTO_TCP ? "tcp" : "udp"));
		json_object_object_add(o, "address", json_object_new_string(
			sockdiag_addr_text(&r->sock, addr, sizeof(addr))));
		json_object_object_add(o, "port", json_object_new_int(r->sock.port));
		json_object_object_add(o, "pid", r->owner.pid > 0 ?
			json_object_new_int(r->owner.pid) : NULL);
		json_object_object_add(o, "command", r->owner.pid > 0 ?
			json_object_new_string(r->owner.comm) : NULL);
		json_object_object_add(o, "uid", json_object_new_int64(r->sock.uid));
		json_object_object_add(o, "nsbridge", json_object_new_boolean(is_nsbridge(r)));
		what = serves_text(r, serves, ct, sizeof(ct), source, sizeof(source));
		json_object_object_add(o, "container", what ? json_object_new_string(what) : NULL);
		json_object_object_add(o, "source", *source ? json_object_new_string(source) : NULL);
		json_object_array_add(list, o);
	}
	json_object_object_add(top, "sockets", list);
	puts(json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN));
	json_object_put(top);
}

/* The side nsbridge ports lists: -errno and @f when it cannot be opened */
static int open_side(const struct config *cfg, struct side_ns *s, struct failure *f)
{
	struct failure opened = FAILURE_INIT;
	char why[256] = "";
	int r;

	*s = (struct side_ns){ .ns_fd = -1, .pidfd = -1 };
	if (cfg->container) {
		r = side_open_container(s, cfg->container, &opened);
		snprintf(why, sizeof(why), "%.255s", opened.line);	/* as long as it was */
	} else {
		r = side_open_host(s, cfg->host_netns);
	}
	if (r == 0)
		return 0;
	return failure_set(f, r == -ENOENT || r == -ESRCH ? EXIT_NO_CONTAINER :
			   r == -EPERM || r == -EACCES ? EXIT_PRIVILEGE : EXIT_RUNTIME, r, "%s: %s",
			   cfg->container ? cfg->container : cfg->host_netns ? cfg->host_netns :
			   "own namespace", *why ? why : strerror(-r));
}

/**
 * ports_run() - nsbridge ports [-c REF] [--json]: list and exit
 * @cfg:	the configuration
 * @serves:	asks a running nsbridge which container a listener of its
 *		serves, for the CONTAINER column; NULL for none
 *
 * @f:		on failure, the line and the exit status
 *
 * Return: 0, or -errno with @f set
 */
int ports_run(const struct config *cfg, ports_serves_fn serves, struct failure *f)
{
	struct ports_rows t = { 0 };
	struct side_ns s;
	int r;

	r = open_side(cfg, &s, f);
	if (r < 0)
		return r;
	r = list_sockets(&s, &t);
	if (s.ns_fd >= 0)
		close(s.ns_fd);
	if (s.pidfd >= 0)
		close(s.pidfd);
	if (r < 0) {
		free(t.rows);
		return failure_errno_refused(f, r, "listing the sockets of %s%s", s.label,
					     r == -EPERM ? " (entering it needs CAP_SYS_ADMIN)" : "");
	}
	for (size_t i = 0; i < t.n; i++)
		if (portowner_of_inode(t.rows[i].sock.inode, &t.rows[i].owner) < 0)
			t.rows[i].owner.pid = 0;
	qsort(t.rows, t.n, sizeof(*t.rows), by_port);
	if (cfg->json)
		print_json(&s, &t, serves);
	else
		print_text(&s, &t, serves);
	free(t.rows);
	return 0;
}
