// SPDX-License-Identifier: GPL-2.0-or-later
/* floor.c - the smallest correct splice relay: the limit of the design, for the bench
 *
 *   floor [-p PIPE_BYTES] NETNS-PATH PORT...
 *
 * For each PORT: listens on 127.0.0.1:PORT inside the network namespace at
 * NETNS-PATH, and relays every connection to 127.0.0.1:PORT of its own
 * namespace. Not part of nsbridge: bench/run.sh builds and runs it as a
 * column of its own, to tell the cost of nsbridge's features from the cost
 * of relaying by splice(2) at all.
 *
 * Theory of operation: one thread, one epoll set, edge-triggered. A
 * connection is two sockets and one pipe a direction (PIPE_BYTES each, or
 * the kernel's 64 KiB). Once SERVICE has answered the connect, any event
 * on either socket pumps both directions until neither moves a byte, so no
 * edge is lost between them. A direction's EOF becomes shutdown(SHUT_WR)
 * of the other socket once its pipe is empty: the half-close passes on. An
 * error on either socket (a reset, a refused connect) resets the other
 * (SO_LINGER 0), as the direct path would show it. The connection ends when
 * both directions have. Nothing else: no pools, no limits, no metrics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define PORTS_MAX	16
#define BATCH		64

enum kind { LISTENER, END };

struct listener {
	enum kind kind;		/* first: what an epoll pointer is */
	int fd;
	unsigned short port;
};

struct conn;

struct end {
	enum kind kind;		/* first: what an epoll pointer is */
	struct conn *conn;
	int side;		/* 0: the client's socket, 1: SERVICE's */
};

struct half {			/* one direction: fd[d] -> pipe -> fd[!d] */
	int rd, wr;
	size_t in_pipe;
	bool eof, done;
};

struct conn {
	int fd[2];
	struct end end[2];
	struct half half[2];
	size_t pipe_size;
	bool connected, dead;
	struct conn *next_dead;
};

static int epfd;
static int pipe_size;
static struct conn *dead;	/* freed after the batch that may still name them */

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static struct sockaddr_in loopback(unsigned short port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static void watch(int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
}

/* A listener on 127.0.0.1:@port made in the namespace @ns_fd */
static int listen_in(int ns_fd, int home_fd, unsigned short port)
{
	struct sockaddr_in a = loopback(port);
	int one = 1, fd;

	if (setns(ns_fd, CLONE_NEWNET) < 0)
		die("setns");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0)
		die("listen");
	if (setns(home_fd, CLONE_NEWNET) < 0)
		die("setns back");
	return fd;
}

/* Close @fd with a reset, as the direct path would show an error */
static void reset(int fd)
{
	struct linger lin = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
}

static void conn_end(struct conn *c, bool abort)
{
	for (int i = 0; i < 2; i++) {
		if (abort)
			reset(c->fd[i]);
		close(c->fd[i]);
		close(c->half[i].rd);
		close(c->half[i].wr);
	}
	c->dead = true;
	c->next_dead = dead;
	dead = c;
}

static struct conn *conn_new(int cfd, int sfd)
{
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c)
		die("calloc");
	c->fd[0] = cfd;
	c->fd[1] = sfd;
	for (int i = 0; i < 2; i++) {
		int p[2];

		if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
			die("pipe2");
		if (pipe_size)
			fcntl(p[1], F_SETPIPE_SZ, pipe_size);
		c->half[i] = (struct half){ .rd = p[0], .wr = p[1] };
		c->end[i] = (struct end){ .kind = END, .conn = c, .side = i };
		setsockopt(c->fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	c->pipe_size = (size_t)fcntl(c->half[0].wr, F_GETPIPE_SZ);
	return c;
}

/* Accepts one client and starts its connect: false when none is waiting */
static bool accept_one(const struct listener *l)
{
	struct sockaddr_in a = loopback(l->port);
	struct conn *c;
	int cfd, sfd;

	cfd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return false;
	sfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sfd < 0)
		die("socket");
	c = conn_new(cfd, sfd);
	if (connect(sfd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		conn_end(c, true);
		return true;
	}
	for (int i = 0; i < 2; i++)
		watch(c->fd[i], EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &c->end[i]);
	return true;
}

/* Moves what it can from fd[@d] to fd[!@d]: 0, or -1 on an error of either socket */
static int pump(struct conn *c, int d)
{
	struct half *h = &c->half[d];
	bool moved = true;
	ssize_t n;

	while (!h->done && moved) {
		moved = false;
		if (!h->eof && h->in_pipe < c->pipe_size) {
			n = splice(c->fd[d], NULL, h->wr, NULL, c->pipe_size - h->in_pipe,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0 && errno != EAGAIN)
				return -1;
			h->eof = n == 0;
			h->in_pipe += n > 0 ? (size_t)n : 0;
			moved = n > 0;
		}
		if (h->in_pipe) {
			n = splice(h->rd, NULL, c->fd[!d], NULL, h->in_pipe,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0 && errno != EAGAIN)
				return -1;
			h->in_pipe -= n > 0 ? (size_t)n : 0;
			moved |= n > 0;
		}
		if (h->eof && !h->in_pipe) {
			shutdown(c->fd[!d], SHUT_WR);
			h->done = true;
		}
	}
	return 0;
}

static void serve(struct end *e, uint32_t events)
{
	struct conn *c = e->conn;
	socklen_t len = sizeof(int);
	int err = 0;

	if (c->dead)
		return;
	if (!c->connected) {
		if (e->side == 0)
			return;		/* the client's bytes wait for SERVICE */
		getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			conn_end(c, true);	/* refused: the client sees a reset */
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		c->connected = true;
	}
	if (pump(c, 0) < 0 || pump(c, 1) < 0)
		conn_end(c, true);
	else if (c->half[0].done && c->half[1].done)
		conn_end(c, false);
}

int main(int argc, char *argv[])
{
	struct listener listeners[PORTS_MAX];
	int opt, n = 0, ns_fd, home_fd;

	while ((opt = getopt(argc, argv, "p:")) != -1)
		if (opt == 'p')
			pipe_size = atoi(optarg);
	if (argc - optind < 2 || argc - optind - 1 > PORTS_MAX) {
		fprintf(stderr, "usage: floor [-p PIPE_BYTES] NETNS-PATH PORT...\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	ns_fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ns_fd < 0 || home_fd < 0 || epfd < 0)
		die(argv[optind]);
	for (int i = optind + 1; i < argc; i++, n++) {
		struct listener *l = &listeners[n];

		*l = (struct listener){ .kind = LISTENER, .port = (unsigned short)atoi(argv[i]) };
		l->fd = listen_in(ns_fd, home_fd, l->port);
		watch(l->fd, EPOLLIN, l);
	}
	for (;;) {
		struct epoll_event ev[BATCH];
		int k = epoll_wait(epfd, ev, BATCH, -1);

		for (int i = 0; i < k; i++) {
			enum kind *kind = ev[i].data.ptr;

			if (*kind == LISTENER)
				while (accept_one(ev[i].data.ptr))
					;
			else
				serve(ev[i].data.ptr, ev[i].events);
		}
		while (dead) {
			struct conn *c = dead;

			dead = c->next_dead;
			free(c);
		}
	}
}
