/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_relay.c - how relay and dial classify errors: wait, fall back, or reset
 *
 * A real context runs over loopback TCP: the test is the client and the
 * service, and between them relay.c and dial.c work as in nsbridge, run
 * by the loop itself (loop_run_once()). The kernel makes every case it can on
 * demand: EAGAIN when the service does not read (backpressure), EMFILE
 * under a lowered RLIMIT_NOFILE, ECONNREFUSED from a port bound but not
 * listening. Mocks, through -Wl,--wrap, only for a splice() that fails
 * with a reset, a broken pipe or ENOMEM at a chosen moment, and for a
 * connect() refused by policy (a cgroup BPF hook, an LSM).
 *
 * What is checked is what the two peers see: every byte, in order, or a
 * reset where the relay gave up - never a clean EOF that would pass a
 * truncated stream off as complete - and no descriptor left behind.
 */

#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/sockios.h>

#include <cmocka.h>

#include "fdcount.h"
#include "nsbridge/event.h"
#include "nsbridge/loop.h"
#include "nsbridge/relay.h"
#include "nsbridge/sock.h"

#define BIG_PIPE	(256 * 1024)
#define QUIET_MS	300	/* nothing moved this long: the relay is waiting */
#define PATIENCE_MS	3000	/* nothing moved this long: it is stuck */

/* -------- mocks: armed by a test for one call, pass through otherwise -------- */

static int splice_in_errno;	/* the next splice from a socket fails with it */
static int splice_out_errno;	/* the next splice into a socket fails with it */
static unsigned splice_eagain;	/* real splices that found no bytes or no room */
static int connect_errno;	/* the next connect fails with it */
static unsigned connects;	/* connect calls since the client connected */

ssize_t __real_splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
		      unsigned int flags);
ssize_t __wrap_splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
		      unsigned int flags);
int __real_connect(int fd, const struct sockaddr *addr, socklen_t len);
int __wrap_connect(int fd, const struct sockaddr *addr, socklen_t len);

static bool is_pipe(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

static ssize_t fail_once(int *armed)
{
	errno = *armed;
	*armed = 0;
	return -1;
}

ssize_t __wrap_splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
		      unsigned int flags)
{
	bool out = is_pipe(fd_in);	/* pipe -> socket */
	ssize_t n;

	if (!out && splice_in_errno)
		return fail_once(&splice_in_errno);
	if (out && splice_out_errno)
		return fail_once(&splice_out_errno);
	n = __real_splice(fd_in, off_in, fd_out, off_out, len, flags);
	if (n < 0 && errno == EAGAIN)
		splice_eagain++;
	return n;
}

int __wrap_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	connects++;
	if (connect_errno)
		return (int)fail_once(&connect_errno);
	return __real_connect(fd, addr, len);
}

/* -------- the fixture: a context, a bridge, and both peers -------- */

static struct fixture {
	struct config config;
	struct bridge_spec spec;
	struct bridge bridge;
	struct listener listener;
	struct ctx c;
	int expose_fd;		/* where the client connects */
	int client_fd;		/* the client's end */
	int service_fd[2];	/* 127.0.0.1 and [::1], listening or only bound */
	int peer_fd;		/* the service's end, accepted */
	int fds_before;
	struct rlimit nofile;
} fx;

static int setup(void **state)
{
	memset(&fx, 0, sizeof(fx));
	fx.expose_fd = fx.client_fd = fx.peer_fd = -1;
	fx.service_fd[0] = fx.service_fd[1] = -1;
	splice_in_errno = splice_out_errno = connect_errno = 0;
	splice_eagain = connects = 0;
	fx.fds_before = open_fd_count();
	getrlimit(RLIMIT_NOFILE, &fx.nofile);
	log_setup(-1, LOG_FORMAT_TEXT);
	pipepool_init(BIG_PIPE, 0);	/* none kept: each pipe is made when needed */
	fx.config.connect_timeout_ms = CLI_DEFAULT_CONNECT_TIMEOUT_MS;
	loop_init(&fx.c, &fx.config);
	if (event_open(&fx.c) < 0)
		return -1;
	fx.c.sides[SIDE_HOST].local = true;
	fx.c.now_ms = event_clock_ms();
	fx.bridge.spec = &fx.spec;
	fx.bridge.options = &fx.config;
	fx.bridge.refused_rl = (struct ratelimit)RATELIMIT_INIT(1000, 10);
	snprintf(fx.bridge.service_text, sizeof(fx.bridge.service_text), "test service");
	snprintf(fx.bridge.expose_text, sizeof(fx.bridge.expose_text), "test expose");
	fx.listener.bridge = &fx.bridge;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int teardown(void **state)
{
	setrlimit(RLIMIT_NOFILE, &fx.nofile);
	loop_release(&fx.c);	/* every connection reset, the pipes and the loop's fds closed */
	close_fd(&fx.expose_fd);
	close_fd(&fx.client_fd);
	close_fd(&fx.peer_fd);
	close_fd(&fx.service_fd[0]);
	close_fd(&fx.service_fd[1]);
	return 0;
}

/* Descriptors the test itself holds; any other open one is the relay's */
static int test_fds(void)
{
	const int fds[] = {
		fx.c.epoll_fd, fx.c.timer_fd, fx.expose_fd, fx.client_fd, fx.peer_fd,
		fx.service_fd[0], fx.service_fd[1],
	};
	int n = 0;

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		n += fds[i] >= 0;
	return n;
}

/* One batch of events, and the deadlines due, handled by the loop */
static void run_once(int timeout_ms)
{
	assert_int_equal(loop_run_once(&fx.c, timeout_ms), 0);
}

/* Run the relay until no connection is left; false if one stays */
static bool run_until_closed(void)
{
	uint64_t until = event_clock_ms() + PATIENCE_MS;

	while (fx.c.n_conns && event_clock_ms() < until)
		run_once(10);
	return fx.c.n_conns == 0;
}

/* A loopback socket on @port (0: any), listening if @listening; -errno
 * if the port is taken */
static int loopback_socket(int family, uint16_t port, bool listening)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				     .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, r;

	assert_true(fd >= 0);
	if (family == AF_INET6) {
		assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
		r = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6));
	} else {
		r = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	}
	if (r < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static uint16_t port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* One port on both loopbacks: [::1] listening if @v6_listens, 127.0.0.1
 * only bound, so that a connection there is refused, never self-made */
static uint16_t service_on_one_port(bool v4_listens, bool v6_listens)
{
	for (int tries = 0; tries < 20; tries++) {
		int v6 = loopback_socket(AF_INET6, 0, v6_listens);
		int v4 = loopback_socket(AF_INET, port_of(v6), v4_listens);

		if (v4 >= 0) {
			fx.service_fd[0] = v4;
			fx.service_fd[1] = v6;
			return port_of(v6);
		}
		close(v6);
	}
	fail_msg("no port free on both loopbacks");
	return 0;
}

/* The client's end, connecting to 127.0.0.1:@port */
static int client_socket(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		assert_int_equal(errno, EINPROGRESS);
	return fd;
}

/*
 * A client connects to EXPOSE; the relay takes it on and dials @service.
 * @dial_errno: the relay's first connect() fails with it, 0 for none.
 */
static void client_connects(const char *service, int dial_errno)
{
	struct sock_addr peer = { .len = sizeof(peer.ss) };
	const char *why = NULL;
	int relay_fd;

	assert_int_equal(endpoint_parse(service, &fx.spec.service, &why), 0);
	fx.spec.services[0] = fx.spec.service;
	fx.spec.n_services = 1;
	fx.expose_fd = loopback_socket(AF_INET, 0, true);
	fx.client_fd = client_socket(port_of(fx.expose_fd));
	do
		relay_fd = accept4(fx.expose_fd, (struct sockaddr *)&peer.ss, &peer.len,
				   SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (relay_fd < 0 && errno == EAGAIN);
	assert_true(relay_fd >= 0);
	connects = 0;
	connect_errno = dial_errno;
	assert_int_equal(relay_conn_new(&fx.c, &fx.listener, relay_fd, &peer), 0);
}

/* SERVICE on @family takes the relay's connection; the test holds its end */
static void service_answers(int family)
{
	int listen_fd = fx.service_fd[family == AF_INET6];
	uint64_t until = event_clock_ms() + PATIENCE_MS;

	while ((fx.peer_fd < 0 || list_empty(&fx.c.active)) && event_clock_ms() < until) {
		run_once(10);
		if (fx.peer_fd < 0)
			fx.peer_fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	assert_true(fx.peer_fd >= 0);
	assert_false(list_empty(&fx.c.active));
}

/* A client and the service it reaches through the relay, on 127.0.0.1 */
static void connected(void)
{
	char service[64];

	fx.service_fd[0] = loopback_socket(AF_INET, 0, true);
	snprintf(service, sizeof(service), "host:127.0.0.1:%u", port_of(fx.service_fd[0]));
	client_connects(service, 0);
	service_answers(AF_INET);
}

/* -------- a byte stream through the relay, checked at the far end -------- */

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 131 + (i >> 16));
}

/**
 * struct stream - bytes sent into one end and read out of the other
 * @from:	where the test writes
 * @to:		where the test reads
 * @sent:	bytes written
 * @got:	bytes read, each checked against the pattern
 * @error:	-errno of the first failed write, which ends the stream
 */
struct stream {
	int from;
	int to;
	size_t sent;
	size_t got;
	int error;
};

static bool stream_send(struct stream *s, size_t limit)
{
	unsigned char buf[65536];
	size_t n = limit - s->sent < sizeof(buf) ? limit - s->sent : sizeof(buf);
	ssize_t w;

	for (size_t i = 0; i < n; i++)
		buf[i] = pattern(s->sent + i);
	w = n && !s->error ? send(s->from, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) : 0;
	if (w < 0 && errno != EAGAIN)
		s->error = -errno;
	s->sent += w > 0 ? (size_t)w : 0;
	return w > 0;
}

static bool stream_recv(struct stream *s)
{
	unsigned char buf[65536];
	ssize_t r = recv(s->to, buf, sizeof(buf), MSG_DONTWAIT);

	assert_true(r > 0 || (r < 0 && errno == EAGAIN));
	for (ssize_t i = 0; i < r; i++)
		if (buf[i] != pattern(s->got + (size_t)i))
			fail_msg("byte %zu differs", s->got + (size_t)i);
	s->got += r > 0 ? (size_t)r : 0;
	return r > 0;
}

/*
 * Write until @limit bytes are sent and, if @reading, read them at the
 * far end, running the relay meanwhile; stop when all arrived or when
 * nothing moved for @quiet_ms.
 */
static void stream_run(struct stream *s, size_t limit, bool reading, int quiet_ms)
{
	uint64_t last = event_clock_ms();

	while (!(reading && s->got == limit) && event_clock_ms() - last < (uint64_t)quiet_ms) {
		bool moved = stream_send(s, limit);

		run_once(moved ? 0 : 5);
		if (reading)
			moved |= stream_recv(s);
		if (moved)
			last = event_clock_ms();
	}
}

/* Read @fd to its end: 0 for a clean EOF, -errno for an error such as a
 * reset, -ETIMEDOUT if it does not end */
static int read_to_end(int fd)
{
	uint64_t until = event_clock_ms() + PATIENCE_MS;
	char buf[65536];

	while (event_clock_ms() < until) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r == 0)
			return 0;
		if (r < 0 && errno != EAGAIN)
			return -errno;
		if (r < 0)
			run_once(10);
	}
	return -ETIMEDOUT;
}

/* The first error the writer of @s sees: on a write, or reading after */
static int writer_error(const struct stream *s)
{
	return s->error ? s->error : read_to_end(s->from);
}

/* -------- splice: EAGAIN waits, a failed socket resets the other -------- */

/* The service stops reading: pipe and buffers fill, splice() says EAGAIN,
 * and the connection waits; once it reads again every byte arrives */
static void backpressure_waits_and_loses_nothing(void **state)
{
	struct stream s;

	connected();
	s = (struct stream){ .from = fx.client_fd, .to = fx.peer_fd };
	stream_run(&s, SIZE_MAX, false, QUIET_MS);
	assert_true(splice_eagain > 0);
	assert_int_equal(fx.c.n_conns, 1);
	stream_run(&s, s.sent, true, PATIENCE_MS);
	assert_int_equal(s.got, s.sent);
	assert_int_equal(shutdown(fx.client_fd, SHUT_WR), 0);
	assert_int_equal(read_to_end(fx.peer_fd), 0);	/* a FIN passed on, not a reset */
}

/* Reading the client fails: the service sees a reset, not a clean end */
static void client_reset_during_splice_resets_service(void **state)
{
	struct stream s;

	connected();
	s = (struct stream){ .from = fx.client_fd, .to = fx.peer_fd };
	splice_in_errno = ECONNRESET;
	stream_run(&s, 1 << 20, false, QUIET_MS);
	assert_int_equal(splice_in_errno, 0);	/* the failure happened */
	assert_true(run_until_closed());
	assert_int_equal(read_to_end(fx.peer_fd), -ECONNRESET);
	assert_int_equal(open_fd_count(), fx.fds_before + test_fds());
}

/* Writing to the service fails: the client sees a reset */
static void broken_pipe_to_service_resets_client(void **state)
{
	struct stream s;

	connected();
	s = (struct stream){ .from = fx.client_fd, .to = fx.peer_fd };
	splice_out_errno = EPIPE;
	stream_run(&s, 1 << 20, false, QUIET_MS);
	assert_int_equal(splice_out_errno, 0);
	assert_true(run_until_closed());
	assert_int_equal(writer_error(&s), -ECONNRESET);
	assert_int_not_equal(read_to_end(fx.peer_fd), -ETIMEDOUT);
	assert_int_equal(open_fd_count(), fx.fds_before + test_fds());
}

/*
 * The relay's own failure (no memory for a splice): both peers see a
 * reset. It fails on the way to the service, whose socket holds no
 * unread bytes: closed without SO_LINGER 0 it would send a FIN.
 */
static void enomem_resets_both_ends(void **state)
{
	struct stream s;

	connected();
	s = (struct stream){ .from = fx.client_fd, .to = fx.peer_fd };
	splice_out_errno = ENOMEM;
	stream_run(&s, 1 << 20, false, QUIET_MS);
	assert_int_equal(splice_out_errno, 0);
	assert_true(run_until_closed());
	assert_int_equal(writer_error(&s), -ECONNRESET);
	assert_int_equal(read_to_end(fx.peer_fd), -ECONNRESET);
	assert_int_equal(open_fd_count(), fx.fds_before + test_fds());
}

/* No descriptor for a pipe: the connection waits, with its bytes in the
 * kernel, and carries on when descriptors are free again */
static void out_of_fds_for_a_pipe_waits(void **state)
{
	struct rlimit tight = fx.nofile;
	struct stream s;
	int fd;

	connected();
	s = (struct stream){ .from = fx.client_fd, .to = fx.peer_fd };
	fd = dup(0);	/* the lowest free descriptor: with it as limit, none is */
	close(fd);
	tight.rlim_cur = (rlim_t)fd;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
	stream_run(&s, 1 << 20, true, QUIET_MS);
	assert_true(s.got < s.sent);
	assert_int_equal(fx.c.n_conns, 1);
	assert_true(fx.c.starved);
	assert_false(list_empty(&fx.c.fd_waiters));
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &fx.nofile), 0);
	stream_run(&s, 1 << 20, true, PATIENCE_MS);
	assert_int_equal(s.got, 1 << 20);
	assert_true(list_empty(&fx.c.fd_waiters));
}

/* -------- the edges: a reset after bytes, idleness, urgent data -------- */

/* Run the relay until @fd has had all it sent acknowledged */
static void until_acknowledged(int fd)
{
	uint64_t until = event_clock_ms() + PATIENCE_MS;
	int queued = 1;

	while (event_clock_ms() < until && ioctl(fd, SIOCOUTQ, &queued) == 0 && queued)
		run_once(10);
	assert_int_equal(queued, 0);
}

static void close_reset(int *fd)
{
	sock_close_reset(*fd);
	*fd = -1;
}

/*
 * The service sends to a client that does not read, until everything is
 * full, and resets: the relay holds what reached it (in its pipe and in
 * its socket toward the client, not yet sent). The client still gets
 * every byte of it, then the reset - a close with SO_LINGER 0 before
 * would have thrown them away.
 */
static void bytes_before_a_reset_arrive(void **state)
{
	struct stream s;
	size_t reached;
	int queued;

	/* far away: only "all sent" (EPOLLOUT) can end it within PATIENCE_MS */
	fx.config.drain_timeout_ms = 60 * 1000;
	connected();
	s = (struct stream){ .from = fx.peer_fd, .to = fx.client_fd };
	stream_run(&s, SIZE_MAX, false, QUIET_MS);
	assert_int_equal(ioctl(fx.peer_fd, SIOCOUTQ, &queued), 0);
	reached = s.sent - (size_t)queued;	/* acknowledged by the relay's socket */
	close_reset(&fx.peer_fd);
	for (int i = 0; i < 10; i++)
		run_once(10);
	assert_int_equal(fx.c.n_conns, 1);	/* flushing, not reset */
	stream_run(&s, reached, true, PATIENCE_MS);
	assert_int_equal(s.got, reached);
	assert_int_equal(read_to_end(fx.client_fd), -ECONNRESET);
	assert_int_equal(fx.c.n_conns, 0);
}

/*
 * The service resets while the relay cannot read it (its pipe is full:
 * the client does not read). The reset waits for what came before it
 * only until its deadline, not for as long as the client does not read.
 */
static void a_reset_behind_a_full_pipe_keeps_its_deadline(void **state)
{
	uint64_t until = event_clock_ms() + PATIENCE_MS;
	struct stream s;

	fx.config.drain_timeout_ms = 100;
	connected();
	s = (struct stream){ .from = fx.peer_fd, .to = fx.client_fd };
	stream_run(&s, SIZE_MAX, false, QUIET_MS);
	close_reset(&fx.peer_fd);
	while (fx.c.n_conns && event_clock_ms() < until)
		run_once(10);
	assert_int_equal(fx.c.n_conns, 0);
	assert_int_equal(read_to_end(fx.client_fd), -ECONNRESET);
}

/* A client that stops reading for longer than --idle-timeout is not idle:
 * its bytes wait in the relay and all arrive when it reads again */
static void a_slow_reader_is_not_idle(void **state)
{
	struct stream s;

	fx.config.idle_timeout_ms = 50;
	connected();
	s = (struct stream){ .from = fx.peer_fd, .to = fx.client_fd };
	stream_run(&s, SIZE_MAX, false, QUIET_MS);
	fx.c.now_ms = event_clock_ms() + 10 * fx.config.idle_timeout_ms;
	relay_expire(&fx.c);
	assert_int_equal(fx.c.n_conns, 1);
	/* looked at again one idle period later, not at once */
	assert_true(relay_next_deadline(&fx.c) >= fx.c.now_ms + fx.config.idle_timeout_ms);
	stream_run(&s, s.sent, true, PATIENCE_MS);
	assert_int_equal(s.got, s.sent);
}

/* Nothing moves and nothing waits: closed, with a FIN to both */
static void an_idle_connection_is_closed(void **state)
{
	fx.config.idle_timeout_ms = 10000;	/* expired by hand, not by the clock */
	connected();
	fx.c.now_ms = event_clock_ms() + 10 * fx.config.idle_timeout_ms;
	relay_expire(&fx.c);
	relay_free_closed(&fx.c);
	assert_int_equal(fx.c.n_conns, 0);
	assert_int_equal(read_to_end(fx.client_fd), 0);
	assert_int_equal(read_to_end(fx.peer_fd), 0);
}

/* Idle after the client's FIN: a FIN to the client would pass for the
 * service's whole answer, so both are reset */
static void an_idle_half_closed_connection_is_reset(void **state)
{
	fx.config.idle_timeout_ms = 10000;	/* expired by hand, not by the clock */
	connected();
	assert_int_equal(shutdown(fx.client_fd, SHUT_WR), 0);
	assert_int_equal(read_to_end(fx.peer_fd), 0);
	/* the service ACKs a FIN late (delayed ACK): until then it is in flight */
	until_acknowledged(relay_conn_of_node(fx.c.active.next)->fd[CONN_SERVICE]);
	fx.c.now_ms = event_clock_ms() + 10 * fx.config.idle_timeout_ms;
	relay_expire(&fx.c);
	relay_free_closed(&fx.c);
	assert_int_equal(fx.c.n_conns, 0);
	assert_int_equal(read_to_end(fx.client_fd), -ECONNRESET);
}

/* "abc", an urgent "!", "def": the service reads abcdef in band and the
 * ! as urgent data, as it would without the relay */
static void urgent_data_passes_as_urgent(void **state)
{
	uint64_t until = event_clock_ms() + PATIENCE_MS;
	char inband[16] = "", urgent = 0;
	size_t got = 0;
	ssize_t n;

	connected();
	assert_int_equal(send(fx.client_fd, "abc", 3, 0), 3);
	assert_int_equal(send(fx.client_fd, "!", 1, MSG_OOB), 1);
	assert_int_equal(send(fx.client_fd, "def", 3, 0), 3);
	while ((got < 6 || !urgent) && event_clock_ms() < until) {
		run_once(10);
		if (!urgent && recv(fx.peer_fd, &urgent, 1, MSG_OOB) < 0)
			urgent = 0;
		n = recv(fx.peer_fd, inband + got, sizeof(inband) - 1 - got, MSG_DONTWAIT);
		got += n > 0 ? (size_t)n : 0;
	}
	assert_string_equal(inband, "abcdef");
	assert_int_equal(urgent, '!');
}

/* -------- connect: which errors try the next address -------- */

/* SERVICE without address, listening on [::1] only: 127.0.0.1 refuses,
 * the relay tries [::1] and the bytes flow */
static void refused_on_ipv4_falls_back_to_ipv6(void **state)
{
	char service[32];
	struct stream s;

	snprintf(service, sizeof(service), "host:%u", service_on_one_port(false, true));
	client_connects(service, 0);
	service_answers(AF_INET6);
	assert_int_equal(connects, 2);
	s = (struct stream){ .from = fx.client_fd, .to = fx.peer_fd };
	stream_run(&s, 1 << 16, true, PATIENCE_MS);
	assert_int_equal(s.got, 1 << 16);
}

/* Refused at both addresses: the client is reset once both were tried */
static void refused_everywhere_resets_client(void **state)
{
	char service[32];

	snprintf(service, sizeof(service), "host:%u", service_on_one_port(false, false));
	client_connects(service, 0);
	assert_true(run_until_closed());
	assert_int_equal(connects, 2);
	assert_int_equal(read_to_end(fx.client_fd), -ECONNRESET);
	assert_int_equal(open_fd_count(), fx.fds_before + test_fds());
}

/* Forbidden by policy: no other address is tried, even where one would
 * answer, and the client is reset */
static void forbidden_does_not_fall_back(void **state)
{
	char service[32];

	snprintf(service, sizeof(service), "host:%u", service_on_one_port(false, true));
	client_connects(service, EACCES);
	assert_true(run_until_closed());
	assert_int_equal(connects, 1);
	assert_int_equal(read_to_end(fx.client_fd), -ECONNRESET);
	assert_int_equal(accept(fx.service_fd[1], NULL, NULL), -1);	/* [::1] never asked */
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(open_fd_count(), fx.fds_before + test_fds());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(backpressure_waits_and_loses_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(client_reset_during_splice_resets_service, setup,
						teardown),
		cmocka_unit_test_setup_teardown(broken_pipe_to_service_resets_client, setup, teardown),
		cmocka_unit_test_setup_teardown(enomem_resets_both_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(out_of_fds_for_a_pipe_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(bytes_before_a_reset_arrive, setup, teardown),
		cmocka_unit_test_setup_teardown(a_reset_behind_a_full_pipe_keeps_its_deadline, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_slow_reader_is_not_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(an_idle_connection_is_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(an_idle_half_closed_connection_is_reset, setup,
						teardown),
		cmocka_unit_test_setup_teardown(urgent_data_passes_as_urgent, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_on_ipv4_falls_back_to_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_everywhere_resets_client, setup, teardown),
		cmocka_unit_test_setup_teardown(forbidden_does_not_fall_back, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
