/* SPDX-License-Identifier: GPL-2.0-or-later */
/* relay.c - TCP connections relayed with splice()
 *
 * Theory of operation
 *
 * A connection joins the client's socket, accepted on EXPOSE, and the
 * socket dialled to SERVICE (dial.c). Each direction moves bytes socket
 * -> pipe -> socket with splice(2), so no byte is copied to user space.
 *
 * Both sockets are registered edge-triggered for EPOLLIN, EPOLLPRI and
 * EPOLLRDHUP, and for EPOLLOUT only while bytes wait in the pipe toward
 * them (the registration is modified when that changes, not on every
 * event). An
 * event runs the pump for the directions it concerns: what fd[e] can
 * read, and what waits to be written to fd[e] when it can take bytes
 * again. The pump reads into the pipe while it has room and writes out of
 * it while the far socket takes bytes, until neither makes progress. That
 * gives backpressure without spinning: when the writer blocks, the pipe
 * stays full, the reader is left alone, its receive window closes, and
 * the writer's EPOLLOUT edge starts that direction again. No event is
 * lost: each edge re-runs every direction it could unblock.
 *
 * A pipe is taken from the pool (pipepool.c) only while a direction has
 * bytes in flight, and given back as soon as it is empty; an idle
 * connection holds only its two sockets. Each pipe is filled up to its
 * own size: past the per-user pipe page limit some are smaller, and a
 * direction that fills its pipe has it grown for bulk (a quarter fewer
 * CPU seconds a gigabyte, bench/changes.md).
 *
 * End of a direction, in order:
 *   read returns 0 (FIN)  -> eof[e]
 *   pipe[e] drained        -> shutdown(fd[!e], SHUT_WR), shut[e]
 * The other direction goes on for as long as it likes: a half-closed
 * connection is legitimate for hours and is never closed on a timer
 * (only --idle-timeout, if given, closes a connection that moves nothing).
 * When both directions are shut, both sockets are closed cleanly.
 *
 * A reset stays a reset, and comes after the bytes sent before it. The
 * kernel keeps what a socket received before a reset readable, and
 * reports the reset (ECONNRESET, EPIPE) to the read that reaches it: so
 * EPOLLERR runs the pump like any event first, and SO_ERROR - which
 * clears the error, so that reads end in an EOF - is asked only after
 * it, for an error the reads stopped short of (a full pipe, or a FIN
 * before it). When a read or write fails, or SO_ERROR says so, the
 * connection flushes (CONN_FLUSHING, in ctx.flushing): what the failed
 * end still holds goes on to the other, and what was on its way to the
 * failed end is dropped. Then the other end is closed with SO_LINGER 0,
 * so its peer sees ECONNRESET - never a clean EOF that would make a
 * truncated transfer look complete - but not before its socket has sent
 * every byte: a zero-linger close discards the send queue. "Sent" is
 * SIOCOUTQNSD (not yet sent) at 0, not SIOCOUTQ (not yet acknowledged):
 * the kernel wakes nobody when the last ACK arrives, so waiting for it
 * would mean polling; and it is not needed, since the reset carries the
 * sequence number after the last byte, a receiver takes a reset only at
 * exactly that number (RFC 5961; otherwise it answers with a challenge
 * ACK), and the bytes ahead of it are queued for reading first - the
 * same as when the service's own kernel sends data and then a reset.
 * TCP_NOTSENT_LOWAT 1 makes EPOLLOUT mean "nothing left unsent", so the
 * wait is one event, not a loop. A peer that never opens its window gets
 * the reset at --drain-timeout, the time a drain gives connections to
 * finish. A client that sends and resets while SERVICE is being dialled
 * is kept if it left bytes: they go to SERVICE once it answers.
 *
 * Idle, for --idle-timeout, means nothing moved and nothing waits to
 * move: no bytes in the pipes, none in either socket's queues (SIOCINQ,
 * SIOCOUTQ). A connection whose bytes wait for a slow reader is looked
 * at again one idle period later (it moves to the tail of ctx.active),
 * so the timer never spins on it. An idle connection open both ways is
 * closed with a FIN each way; a half-closed one with a reset each way, as
 * a FIN to the end still open would pass for its peer's whole answer.
 *
 * Urgent data (MSG_OOB): splice() stops at the urgent mark, and nothing
 * reads past it. EPOLLPRI says urgent data came; from then on, a read
 * that stops (EAGAIN, or 0 when a FIN follows) asks SIOCATMARK. At the
 * mark, once every byte before it has gone on, the urgent byte is read
 * with MSG_OOB and sent on with MSG_OOB, so the receiver finds it where
 * it would without nsbridge, and a plain recv() steps over the mark (the
 * few bytes it returns go into the empty pipe). Toward a unix-socket
 * SERVICE the byte goes as urgent data too (Linux 5.15 and later; in
 * line where the kernel has no MSG_OOB for unix sockets). From one, it
 * is not passed on: its reads do not stop at a mark, and a plain read
 * drops the urgent byte as it passes it.
 *
 * A closed connection stays in its slot, marked CONN_CLOSED, until the
 * batch of events being handled is over, so that a later event of the
 * same batch cannot reach a new connection that reused the slot.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsbridge/dial.h"
#include "nsbridge/event.h"
#include "nsbridge/proxy.h"
#include "nsbridge/relay.h"
#include "nsbridge/sock.h"

#define READ_EVENTS	(EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLET)
#define URGENT_STEP	64	/* bytes read past an urgent mark, at most */

static_assert(CONN_CLIENT == (int)DIR_TO_SERVICE && CONN_SERVICE == (int)DIR_TO_CLIENT,
	      "bytes read from end e go in direction e");

static void client_text(const struct relay_conn *conn, char *buf, size_t len)
{
	struct sock_addr a = { .len = sizeof(conn->client) };

	memcpy(&a.ss, &conn->client, sizeof(conn->client));
	sock_addr_format(&a, buf, len);
}

static void log_accepted(const struct relay_conn *conn)
{
	char client[SOCK_ADDR_TEXT_MAX];
	const struct log_field fields[] = {
		LOG_NUM("conn", conn->id), LOG_STR("event", "open"),
		LOG_NUM("bridge", conn->bridge->index), LOG_STR("client", client),
		LOG_STR("expose", conn->bridge->expose_text),
	};

	if (!log_enabled(LOG_LEVEL_DEBUG))
		return;
	client_text(conn, client, sizeof(client));
	log_with(LOG_LEVEL_DEBUG, fields, "conn %llu: %s accepted on %s",
		 (unsigned long long)conn->id, client, conn->bridge->expose_text);
}

/**
 * relay_conn_new() - take on an accepted client and start dialling SERVICE
 * @c:		context
 * @l:		listener it came from
 * @client_fd:	accepted socket; owned by the connection, or closed
 * @peer:	the client's address
 *
 * Return: 0, or -errno if the connection could not even be set up (the
 * client is then reset)
 */
int relay_conn_new(struct ctx *c, struct listener *l, int client_fd,
		   const struct sock_addr *peer)
{
	union epoll_ref ref = { .type = EPOLL_TYPE_CONN, .end = CONN_CLIENT };
	struct relay_conn *conn;
	int r;

	conn = calloc(1, sizeof(*conn));
	if (!conn || slots_alloc(&c->conns, conn, &conn->slot) < 0) {
		free(conn);
		sock_close_reset(client_fd);
		l->bridge->stats.refused[REFUSAL_ERROR]++;
		return -ENOMEM;
	}
	conn->fd[CONN_CLIENT] = client_fd;
	conn->fd[CONN_SERVICE] = -1;
	conn->pipe[CONN_CLIENT] = conn->pipe[CONN_SERVICE] = PIPE_PAIR_NONE;
	conn->id = c->next_conn_id++;
	conn->bridge = l->bridge;
	conn->port_offset = l->port_offset;
	conn->started_ms = c->now_ms;
	conn->started_us = event_clock_us();
	memcpy(&conn->client, &peer->ss,
	       peer->len < sizeof(conn->client) ? peer->len : sizeof(conn->client));
	conn->deadline_ms = c->now_ms + l->bridge->options->connect_timeout_ms;
	list_init(&conn->wait_node);
	list_add_tail(&c->connecting, &conn->node);
	conn->bridge->n_conns++;
	conn->bridge->stats.accepted++;
	c->n_conns++;

	sock_set_nodelay(client_fd);
	ref.index = conn->slot;
	/* as relaying will want it: no EPOLLOUT, which an accepted socket would
	 * raise at once for nothing, and no change once SERVICE answers */
	r = event_epoll_add(c, client_fd, READ_EVENTS, ref);
	conn->events[CONN_CLIENT] = READ_EVENTS;
	conn->events[CONN_SERVICE] = CONN_EVENTS;
	if (r < 0) {
		relay_conn_close(c, conn, true, false);
		return r;
	}
	log_accepted(conn);
	dial_begin(c, conn);
	return 0;
}

static void log_closed(const struct ctx *c, const struct relay_conn *conn, bool reset)
{
	const struct bridge *b = conn->bridge;
	uint64_t duration_ms = c->now_ms - conn->started_ms;
	char client[SOCK_ADDR_TEXT_MAX];
	const struct log_field fields[] = {
		LOG_NUM("conn", conn->id), LOG_STR("event", reset ? "reset" : "close"),
		LOG_NUM("bridge", b->index), LOG_STR("client", client),
		LOG_STR("expose", b->expose_text), LOG_STR("service", b->service_text),
		LOG_NUM("bytes_to_service", conn->bytes[CONN_CLIENT]),
		LOG_NUM("bytes_to_client", conn->bytes[CONN_SERVICE]),
		LOG_NUM("duration_ms", duration_ms),
	};

	if (!log_enabled(LOG_LEVEL_DEBUG))
		return;
	client_text(conn, client, sizeof(client));
	log_with(LOG_LEVEL_DEBUG, fields, "conn %llu: %s after %llu ms: %s -> %s, %llu bytes to service, "
		   "%llu bytes to client", (unsigned long long)conn->id,
		   reset ? "reset" : "closed", (unsigned long long)duration_ms, client,
		   b->service_text, (unsigned long long)conn->bytes[CONN_CLIENT],
		   (unsigned long long)conn->bytes[CONN_SERVICE]);
}

/**
 * relay_conn_close() - close a connection, each socket cleanly or reset
 * @c:		context
 * @conn:	connection
 * @reset_client: the client sees a reset rather than a FIN
 * @reset_service: the service sees a reset rather than a FIN
 */
void relay_conn_close(struct ctx *c, struct relay_conn *conn, bool reset_client, bool reset_service)
{
	const bool reset[CONN_END_MAX] = { reset_client, reset_service };

	if (conn->state == CONN_CLOSED)
		return;
	log_closed(c, conn, reset_client || reset_service);
	if (conn->connected)
		histogram_observe(&conn->bridge->stats.lifetime, &histogram_lifetime,
				  event_clock_us() - conn->started_us);
	for (int e = 0; e < CONN_END_MAX; e++) {
		if (conn->fd[e] >= 0) {
			if (reset[e])
				sock_close_reset(conn->fd[e]);
			else
				close(conn->fd[e]);
		}
		conn->fd[e] = -1;
		pipepool_discard(&conn->pipe[e]);
	}
	list_del(&conn->wait_node);
	list_move_tail(&c->closed, &conn->node);
	conn->state = CONN_CLOSED;
	conn->bridge->n_conns--;	/* room for a waiting listener (listener_resume()) */
	c->n_conns--;
}

/**
 * relay_free_closed() - free the connections closed in this batch
 * @c:		context
 *
 * Return: true if any was freed, that is descriptors became free
 */
bool relay_free_closed(struct ctx *c)
{
	bool any = !list_empty(&c->closed);

	while (!list_empty(&c->closed)) {
		struct relay_conn *conn = relay_conn_of_node(c->closed.next);

		list_del(&conn->node);
		slots_put(&c->conns, conn->slot);
		free(conn);
	}
	return any;
}

/* A pipe for the bytes read from fd[e], unless it has one */
static int take_pipe(struct relay_conn *conn, enum conn_end e)
{
	return conn->pipe[e].rd < 0 ? pipepool_take(&conn->pipe[e]) : 0;
}

static void count_out(struct relay_conn *conn, enum conn_end e, size_t n)
{
	conn->bytes[e] += (uint64_t)n;
	conn->bridge->stats.bytes[e] += (uint64_t)n;
}

static bool splice_in(struct relay_conn *conn, enum conn_end e, int *ret_err)
{
	ssize_t n;
	int r;

	r = take_pipe(conn, e);
	if (r < 0) {
		*ret_err = r;
		return false;
	}
	n = splice(conn->fd[e], NULL, conn->pipe[e].wr, NULL,
		   conn->pipe[e].size - conn->in_pipe[e], SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		conn->in_pipe[e] += (size_t)n;
		/* a full pipe: more is waiting than it holds (pipepool.c) */
		if (conn->in_pipe[e] == conn->pipe[e].size)
			pipepool_grow_bulk(&conn->pipe[e]);
		return true;
	}
	if (n < 0 && errno != EAGAIN) {
		if (errno != EINTR)
			*ret_err = -errno;
		return false;
	}
	/* splice() stops at an urgent mark, saying EAGAIN, or 0 when a FIN
	 * is queued: the mark is asked for at EOF, and once urgent data came */
	if ((n == 0 || conn->urgent[e]) && sock_at_mark(conn->fd[e])) {
		conn->at_mark[e] = true;
		return true;
	}
	if (n == 0) {
		conn->eof[e] = true;
		return true;
	}
	return false;
}

static bool splice_out(struct relay_conn *conn, enum conn_end e, int *ret_err)
{
	ssize_t n;

	/* ask for everything: a partial drain strands bytes in the pipe */
	n = splice(conn->pipe[e].rd, NULL, conn->fd[!e], NULL, conn->in_pipe[e],
		   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0) {
		conn->in_pipe[e] -= (size_t)n;
		count_out(conn, e, (size_t)n);
		return true;
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		*ret_err = -errno;
	return false;
}

/* Fail at end @e with -errno */
static bool failed_at(enum conn_end e, int *ret_err, enum conn_end *ret_failed)
{
	*ret_err = -errno;
	*ret_failed = e;
	return false;
}

/*
 * Step over the urgent mark of fd[e]: a plain read there skips the
 * urgent byte and lets splice() go on. The few bytes after the mark that
 * it returns go into the pipe, which is empty.
 */
static bool step_over_mark(struct relay_conn *conn, enum conn_end e, int *ret_err,
			   enum conn_end *ret_failed)
{
	char buf[URGENT_STEP];
	ssize_t n, w;
	int r = take_pipe(conn, e);

	if (r < 0) {
		*ret_err = r;
		*ret_failed = e;
		return false;
	}
	n = recv(conn->fd[e], buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && errno != EAGAIN)	/* EAGAIN: past the mark, nothing after it yet */
		return failed_at(e, ret_err, ret_failed);
	conn->at_mark[e] = false;
	if (n == 0)
		conn->eof[e] = true;
	if (n <= 0)
		return true;
	w = write(conn->pipe[e].wr, buf, (size_t)n);
	if (w != n) {
		*ret_err = w < 0 ? -errno : -EIO;
		*ret_failed = e;
		return false;
	}
	conn->in_pipe[e] += (size_t)n;
	return true;
}

/* Put the urgent byte of fd[e] into its (empty) pipe, in line */
static bool in_line(struct relay_conn *conn, enum conn_end e, int *ret_err,
		    enum conn_end *ret_failed)
{
	int r = take_pipe(conn, e);

	if (r < 0 || write(conn->pipe[e].wr, &conn->oob[e], 1) != 1) {
		*ret_err = r < 0 ? r : -EIO;
		*ret_failed = e;
		return false;
	}
	conn->in_pipe[e]++;
	return true;
}

/*
 * Reading fd[e] stopped at its urgent mark, and every byte before the
 * mark has gone on to fd[!e]: send the urgent byte on as urgent data
 * (MSG_OOB), where the receiver finds it as it would have without
 * nsbridge (recv(MSG_OOB), SIOCATMARK), then step over the mark.
 */
static bool pass_urgent(struct relay_conn *conn, enum conn_end e, int *ret_err,
			enum conn_end *ret_failed)
{
	ssize_t n;

	if (!conn->oob_held[e]) {
		n = recv(conn->fd[e], &conn->oob[e], 1, MSG_OOB | MSG_DONTWAIT);
		if (n == 1)
			conn->oob_held[e] = true;
		else if (n < 0 && errno == EAGAIN)
			return false;	/* the urgent byte itself is yet to come */
		else if (n < 0 && errno != EINVAL)	/* EINVAL: taken already */
			return failed_at(e, ret_err, ret_failed);
	}
	if (conn->oob_held[e]) {
		n = send(conn->fd[!e], &conn->oob[e], 1, MSG_OOB | MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EOPNOTSUPP) {	/* a unix socket without it: in line */
			if (!in_line(conn, e, ret_err, ret_failed))
				return false;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return failed_at((enum conn_end)!e, ret_err, ret_failed);
		} else if (n < 0) {
			return false;	/* when fd[!e] has room: EPOLLOUT */
		} else {
			count_out(conn, e, 1);
		}
		conn->oob_held[e] = false;
	}
	return step_over_mark(conn, e, ret_err, ret_failed);
}

/*
 * Move what fd[from] has toward fd[!from] until neither end makes
 * progress. On failure, *ret_failed says which socket failed: @from
 * when reading it failed.
 */
static int pump(struct relay_conn *conn, enum conn_end from, enum conn_end *ret_failed,
		bool *ret_moved)
{
	bool progress;
	int err = 0;

	do {
		progress = false;
		/* no pipe yet means an empty one; each pipe has its own size */
		if (!conn->eof[from] && !conn->at_mark[from] &&
		    (conn->pipe[from].rd < 0 || conn->in_pipe[from] < conn->pipe[from].size)) {
			progress |= splice_in(conn, from, &err);
			if (err) {
				*ret_failed = from;
				return err;
			}
		}
		if (conn->in_pipe[from]) {
			progress |= splice_out(conn, from, &err);
			if (err) {
				*ret_failed = (enum conn_end)!from;
				return err;
			}
		}
		if (conn->at_mark[from] && !conn->in_pipe[from]) {
			progress |= pass_urgent(conn, from, &err, ret_failed);
			if (err)
				return err;
		}
		*ret_moved |= progress;
	} while (progress);

	if (!conn->in_pipe[from])
		pipepool_put(&conn->pipe[from]);
	return 0;
}

/* fd[from] sent FIN and every byte before it went on: pass the FIN on */
static void pass_fin(struct relay_conn *conn, enum conn_end from)
{
	if (conn->eof[from] && !conn->in_pipe[from] && !conn->shut[from]) {
		shutdown(conn->fd[!from], SHUT_WR);
		conn->shut[from] = true;
	}
}

/* Reading fd[e] failed: nothing more will come from it */
static void read_failed(struct relay_conn *conn, enum conn_end e)
{
	conn->eof[e] = true;
	conn->at_mark[e] = false;
}

/* Out of descriptors for a pipe or a socket: nothing is lost, it waits */
static bool short_of_fds(int err)
{
	return err == -EMFILE || err == -ENFILE;
}

/*
 * Watch a socket for EPOLLOUT only while bytes wait in the pipe toward it:
 * otherwise every ACK that frees send space is an event, and a wakeup, for
 * nothing. While flushing, the end that did not fail is only written to.
 */
static uint32_t wanted_events(const struct relay_conn *conn, enum conn_end e)
{
	if (conn->state == CONN_FLUSHING && e != conn->failed)
		return EPOLLOUT | EPOLLET;
	return READ_EVENTS | (conn->in_pipe[!e] || conn->oob_held[!e] ? EPOLLOUT : 0);
}

/* Register fd[e] for @want; with @again even if it is registered so */
static void set_events(struct ctx *c, struct relay_conn *conn, enum conn_end e, uint32_t want,
		       bool again)
{
	union epoll_ref ref = { .type = EPOLL_TYPE_CONN, .end = (uint8_t)e, .index = conn->slot };
	struct epoll_event ev = { .events = want, .data.u64 = ref.u64 };

	if ((want == conn->events[e] && !again) || conn->fd[e] < 0)
		return;
	if (epoll_ctl(c->epoll_fd, EPOLL_CTL_MOD, conn->fd[e], &ev) == 0)
		conn->events[e] = want;
}

/* The registrations change only when what is wanted changes */
static void update_events(struct ctx *c, struct relay_conn *conn)
{
	for (int e = 0; e < CONN_END_MAX; e++)
		set_events(c, conn, (enum conn_end)e, wanted_events(conn, (enum conn_end)e), false);
}

/*
 * fd[s] has bytes it has not sent yet (its peer's window is shut). With
 * TCP_NOTSENT_LOWAT 1, EPOLLOUT means "nothing left unsent"; registering
 * again makes the kernel look now, and ask to be woken (SOCK_NOSPACE)
 * when that changes, so nothing polls.
 */
static void wait_sent(struct ctx *c, struct relay_conn *conn, enum conn_end s)
{
	int one = 1;

	(void)setsockopt(conn->fd[s], IPPROTO_TCP, TCP_NOTSENT_LOWAT, &one, sizeof(one));
	update_events(c, conn);
	set_events(c, conn, s, EPOLLOUT | EPOLLET, true);
}

/* Whether the failed end may still have bytes to pass on */
static bool more_to_come(const struct relay_conn *conn, enum conn_end f)
{
	return !conn->eof[f] || conn->in_pipe[f] || conn->at_mark[f];
}

/*
 * While flushing: deliver what the failed end sent before it failed, and
 * once fd[s] has sent every byte, pass the failure on as a reset (a close
 * with SO_LINGER 0 throws away what is still queued). The deadline in
 * relay_expire() resets it regardless.
 */
static void flush(struct ctx *c, struct relay_conn *conn)
{
	enum conn_end f = conn->failed, s = (enum conn_end)!f, failed = f;
	bool moved = false;
	int r;

	do {
		r = pump(conn, f, &failed, &moved);
		if (r < 0 && !short_of_fds(r) && failed == f)
			read_failed(conn, f);	/* its reset: the end of what it sent */
	} while (r < 0 && !short_of_fds(r) && failed == f);
	if (short_of_fds(r)) {
		relay_wait_fd(c, conn, r);
		return;
	}
	if (r == 0 && more_to_come(conn, f)) {
		update_events(c, conn);		/* as fd[s] takes it */
		return;
	}
	if (r == 0 && sock_unsent(conn->fd[s]) > 0) {
		wait_sent(c, conn, s);
		return;
	}
	conn_dbg(conn, "passing the reset on: %s", r < 0 ? strerror(-r) : "every byte sent");
	relay_conn_close(c, conn, true, true);
}

/*
 * One end failed (a reset, mostly): what it sent before it still goes to
 * the other end, and then the failure is passed on as a reset (flush()).
 * The bytes on their way to the failed end can no longer arrive.
 */
static void relay_fail(struct ctx *c, struct relay_conn *conn, enum conn_end failed, int err)
{
	conn_dbg(conn, "%s failed: %s", failed == CONN_CLIENT ? "client" : "service",
		 strerror(-err));
	if (err == -ENOMEM) {
		relay_conn_close(c, conn, true, true);	/* our failure: both */
		return;
	}
	pipepool_discard(&conn->pipe[!failed]);
	conn->in_pipe[!failed] = 0;
	conn->oob_held[!failed] = false;
	conn->state = CONN_FLUSHING;
	conn->failed = failed;
	conn->deadline_ms = c->now_ms + c->config->drain_timeout_ms;
	list_move_tail(&c->flushing, &conn->node);
	flush(c, conn);
}

#define PUMP_FROM(e)	(1u << (e))
#define PUMP_BOTH	(PUMP_FROM(CONN_CLIENT) | PUMP_FROM(CONN_SERVICE))

/* Run the pump for the directions in @dirs (PUMP_FROM() bits) */
static void relay_run(struct ctx *c, struct relay_conn *conn, unsigned dirs)
{
	bool moved = false;

	for (int e = 0; e < CONN_END_MAX; e++) {
		enum conn_end failed;
		int r;

		if (!(dirs & PUMP_FROM(e)))
			continue;
		r = pump(conn, (enum conn_end)e, &failed, &moved);

		if (short_of_fds(r)) {
			relay_wait_fd(c, conn, r);
			continue;
		}
		if (r < 0) {
			if ((int)failed == e)
				read_failed(conn, failed);
			relay_fail(c, conn, failed, r);
			return;
		}
		pass_fin(conn, (enum conn_end)e);
	}
	if (conn->shut[CONN_CLIENT] && conn->shut[CONN_SERVICE]) {
		relay_conn_close(c, conn, false, false);
		return;
	}
	if (moved) {
		conn->deadline_ms = c->now_ms;
		list_move_tail(&c->active, &conn->node);
	}
	update_events(c, conn);
}

/**
 * relay_wait_fd() - park a connection until descriptors free up
 * @c:		context
 * @conn:	connection that could not get a socket or a pipe
 * @err:	-EMFILE or -ENFILE
 *
 * The bytes it was about to move stay in the kernel's socket buffers, and
 * the listeners stop accepting (listener.c) until every waiter is served:
 * a connection already taken on goes before a new one. event_starve()
 * says when it tries again.
 */
void relay_wait_fd(struct ctx *c, struct relay_conn *conn, int err)
{
	unsigned missed;

	if (ratelimit_pass(&c->starved_rl, c->now_ms, &missed))
		log_warn("%s: %s; connections wait until descriptors free up",
			 conn->bridge->expose_text, strerror(-err));
	if (list_empty(&conn->wait_node))
		list_add_tail(&c->fd_waiters, &conn->wait_node);
	event_starve(c);
}

/**
 * relay_retry_fd_waiters() - give waiting connections another try, oldest
 *			      first, until one is still short
 * @c:		context
 */
void relay_retry_fd_waiters(struct ctx *c)
{
	while (!list_empty(&c->fd_waiters)) {
		struct relay_conn *conn = relay_conn_of_wait_node(c->fd_waiters.next);

		list_del(&conn->wait_node);
		if (conn->state == CONN_WAIT_SOCKET)
			dial_start(c, conn);
		else if (conn->state == CONN_RELAYING)
			relay_run(c, conn, PUMP_BOTH);
		else if (conn->state == CONN_FLUSHING)
			flush(c, conn);
		if (!list_empty(&conn->wait_node))
			return;
	}
}

/* --proxy-protocol, or the bridge's own in --config */
static bool wants_proxy_header(const struct bridge *b)
{
	return b->spec->proxy_protocol || b->options->proxy_protocol;
}

/*
 * The PROXY v2 header (proxy.c), before anything of the client's: who the
 * client is in its namespace, and its container. A connection just made
 * has room in its send buffer for a few hundred bytes, so a short send is
 * a failure like any other. A client that reset before SERVICE answered
 * has no address left to tell: its connection is reset, as no header can
 * speak for it. 0 or -errno.
 */
static int send_proxy_header(const struct ctx *c, const struct relay_conn *conn)
{
	const struct side_ns *s = &c->sides[conn->bridge->spec->expose.side];
	const char *name = !s->ref ? NULL : *s->name ? s->name : s->ref;
	struct sockaddr_storage client, dest;
	socklen_t client_len = sizeof(client), dest_len = sizeof(dest);
	uint8_t header[PROXY_HEADER_MAX];
	ssize_t n, sent;

	if (getpeername(conn->fd[CONN_CLIENT], (struct sockaddr *)&client, &client_len) < 0 ||
	    getsockname(conn->fd[CONN_CLIENT], (struct sockaddr *)&dest, &dest_len) < 0)
		return -errno;
	n = proxy_header(&client, &dest, name, *s->id ? s->id : NULL, header, sizeof(header));
	if (n < 0)
		return (int)n;
	sent = send(conn->fd[CONN_SERVICE], header, (size_t)n, MSG_NOSIGNAL);
	if (sent < 0)
		return -errno;
	return sent == n ? 0 : -ENOBUFS;
}

/**
 * relay_conn_established() - SERVICE answered: start relaying
 * @c:		context
 * @conn:	connection, its fd[CONN_SERVICE] connected
 */
void relay_conn_established(struct ctx *c, struct relay_conn *conn)
{
	int r;

	if (wants_proxy_header(conn->bridge) && (r = send_proxy_header(c, conn)) < 0) {
		conn_dbg(conn, "no PROXY header for %s: %s; both ends are reset",
			 conn->bridge->service_text, strerror(-r));
		relay_conn_close(c, conn, true, true);
		return;
	}
	conn->state = CONN_RELAYING;
	conn->connected = true;
	histogram_observe(&conn->bridge->stats.connect, &histogram_connect,
			  event_clock_us() - conn->started_us);
	conn->deadline_ms = c->now_ms;
	list_move_tail(&c->active, &conn->node);
	conn_dbg(conn, "connected to %s", conn->bridge->service_text);
	relay_run(c, conn, PUMP_BOTH);
}

/* No SERVICE answered, and dial.c has said so: the client is reset */
static void conn_unreachable(struct ctx *c, struct relay_conn *conn)
{
	relay_conn_close(c, conn, true, false);
}

/* What dial.c tells of a connection it dials (ctx.dial_ops) */
static const struct dial_ops dial_ops = {
	.established = relay_conn_established,
	.unreachable = conn_unreachable,
	.wait_fd = relay_wait_fd,
};

/*
 * Before SERVICE answers, the client's events matter only if it is gone,
 * and then only if it left nothing behind: what it sent before its reset
 * goes to SERVICE once it answers, and the reset after it (flush()).
 */
static void client_event_while_dialling(struct ctx *c, struct relay_conn *conn, uint32_t events)
{
	if (events & EPOLLPRI)	/* its edge is not raised again once relaying */
		conn->urgent[CONN_CLIENT] = true;
	if (!(events & (EPOLLERR | EPOLLHUP)) || sock_queued(conn->fd[CONN_CLIENT]) > 0)
		return;
	conn_dbg(conn, "client left before the service answered");
	relay_conn_close(c, conn, true, true);
}

/*
 * Which directions an event on fd[end] can move: what it can read, and,
 * when it can write again, what waits in the pipe toward it. Running only
 * those saves the other direction's futile splice() on every event.
 */
static unsigned directions_of(enum conn_end end, uint32_t events)
{
	unsigned dirs = 0;

	if (events & (EPOLLERR | EPOLLHUP))
		return PUMP_BOTH;
	if (events & (EPOLLIN | EPOLLPRI | EPOLLRDHUP))
		dirs |= PUMP_FROM(end);
	if (events & EPOLLOUT)
		dirs |= PUMP_FROM(!end);
	return dirs;
}

/*
 * An event while relaying. A reset is found by the read that reaches it,
 * after every byte queued before it: asking SO_ERROR first would clear
 * it and make those reads end in an EOF. An error the reads stopped short
 * of (a full pipe, a FIN before it) is asked for after them, and the
 * connection flushes all the same: from then on, the failed end's EOF is
 * the end of what it sent, and the deadline applies.
 */
static void relaying_event(struct ctx *c, struct relay_conn *conn, enum conn_end end,
			   uint32_t events)
{
	int err;

	if (events & EPOLLPRI)
		conn->urgent[end] = true;
	relay_run(c, conn, directions_of(end, events));
	if (!(events & EPOLLERR) || conn->state != CONN_RELAYING)
		return;
	err = sock_error(conn->fd[end]);
	if (err < 0)
		relay_fail(c, conn, end, err);
}

/**
 * relay_on_event() - an epoll event on one socket of a connection
 * @c:		context
 * @ref:	the event's reference: slot and which end
 * @events:	epoll event bits
 */
void relay_on_event(struct ctx *c, union epoll_ref ref, uint32_t events)
{
	struct relay_conn *conn = slots_get(&c->conns, ref.index);
	enum conn_end end = (enum conn_end)ref.end;

	if (!conn)
		return;
	switch (conn->state) {
	case CONN_WAIT_SOCKET:
		client_event_while_dialling(c, conn, events);
		return;
	case CONN_CONNECTING:
		if (end == CONN_SERVICE)
			dial_on_event(c, conn, events);
		else
			client_event_while_dialling(c, conn, events);
		return;
	case CONN_RELAYING:
		relaying_event(c, conn, end, events);
		return;
	case CONN_FLUSHING:
		if (end != conn->failed && (events & EPOLLERR)) {
			relay_conn_close(c, conn, true, true);	/* nobody left to deliver to */
			return;
		}
		if (events & EPOLLPRI)
			conn->urgent[end] = true;
		flush(c, conn);
		return;
	case CONN_CLOSED:
	case CONN_STATE_MAX:
		return;
	}
}

/* Whether bytes of @conn wait to move: in its pipes, or in its sockets'
 * queues (unread, or not yet acknowledged by the peer) */
static bool bytes_waiting(const struct relay_conn *conn)
{
	for (int e = 0; e < CONN_END_MAX; e++) {
		if (conn->in_pipe[e] || conn->at_mark[e] || conn->oob_held[e])
			return true;
		if (conn->fd[e] >= 0 && sock_queued(conn->fd[e]) > 0)
			return true;
	}
	return false;
}

/*
 * Close the connections that moved nothing for --idle-timeout, with
 * nothing waiting to move. One whose bytes wait for a slow reader is
 * not idle: it is looked at again one idle period later, not before.
 * A half-closed one is reset: a FIN toward the end that is still open
 * would look like its peer's own end, a complete answer.
 */
static void expire_idle(struct ctx *c)
{
	uint64_t idle = c->config->idle_timeout_ms;

	if (!idle)
		return;
	while (!list_empty(&c->active)) {
		struct relay_conn *conn = relay_conn_of_node(c->active.next);
		bool half = conn->eof[CONN_CLIENT] || conn->eof[CONN_SERVICE];

		if (conn->deadline_ms + idle > c->now_ms)
			return;
		if (bytes_waiting(conn)) {
			conn->deadline_ms = c->now_ms;
			list_move_tail(&c->active, &conn->node);
			continue;
		}
		conn_dbg(conn, "idle for %llu ms", (unsigned long long)idle);
		relay_conn_close(c, conn, half, half);
	}
}

/* Reset the connections that could not deliver, before their deadline,
 * what came before the failure they pass on */
static void expire_flushing(struct ctx *c)
{
	while (!list_empty(&c->flushing)) {
		struct relay_conn *conn = relay_conn_of_node(c->flushing.next);

		if (conn->deadline_ms > c->now_ms)
			return;
		conn_dbg(conn, "passing the reset on: its peer did not take every byte in time");
		relay_conn_close(c, conn, true, true);
	}
}

/**
 * relay_expire() - act on the deadlines of relaying connections: the
 *		    idle timeout, and a reset being passed on
 * @c:		context
 */
void relay_expire(struct ctx *c)
{
	expire_idle(c);
	expire_flushing(c);
}

/**
 * relay_next_deadline() - the earliest deadline relay_expire() acts on
 * @c:		context
 *
 * Return: the time in event_clock_ms(), or 0 if there is none
 */
uint64_t relay_next_deadline(const struct ctx *c)
{
	uint64_t next = 0, idle = c->config->idle_timeout_ms;

	if (!list_empty(&c->flushing))
		next = relay_conn_of_node(c->flushing.next)->deadline_ms;
	if (idle && !list_empty(&c->active)) {
		uint64_t when = relay_conn_of_node(c->active.next)->deadline_ms + idle;

		if (!next || when < next)
			next = when;
	}
	return next;
}

static const struct event_deadline deadlines = {
	.next = relay_next_deadline,
	.expire = relay_expire,
};

/**
 * relay_init() - register the idle timeout and the resets being passed on,
 *		  and be told how dialling ended
 * @c:		context
 */
void relay_init(struct ctx *c)
{
	c->dial_ops = &dial_ops;
	event_add_deadline(c, &deadlines);
}

/**
 * relay_close_bridge() - reset every connection of one bridge
 * @c:		context
 * @b:		the bridge, whose container went away
 */
void relay_close_bridge(struct ctx *c, const struct bridge *b)
{
	struct list_node *lists[] = { &c->connecting, &c->active, &c->flushing };

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		struct list_node *node = lists[i]->next;

		while (node != lists[i]) {
			struct relay_conn *conn = relay_conn_of_node(node);

			node = node->next;	/* closing moves conn to c->closed */
			if (conn->bridge == b)
				relay_conn_close(c, conn, true, true);
		}
	}
}

/**
 * relay_close_all() - reset every open connection (end of a drain)
 * @c:		context
 */
void relay_close_all(struct ctx *c)
{
	struct list_node *lists[] = { &c->connecting, &c->active, &c->flushing };

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		while (!list_empty(lists[i]))
			relay_conn_close(c, relay_conn_of_node(lists[i]->next), true, true);
}
