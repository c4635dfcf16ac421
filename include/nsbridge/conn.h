/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conn.h - one relayed TCP connection: the state dial.c and relay.c share
 *
 * Data types only, as in ctx.h: dial.c connects a connection to SERVICE
 * and relay.c relays it, and each reaches into the other's fields, so
 * neither header may hold them without the other module including a
 * header above its own.
 */
#ifndef NSBRIDGE_CONN_H
#define NSBRIDGE_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include "nsbridge/ctx.h"
#include "nsbridge/pipepool.h"

/* The two sockets of a connection; bytes read from fd[e] travel in pipe[e] */
enum conn_end {
	CONN_CLIENT,		/* accepted on EXPOSE */
	CONN_SERVICE,		/* dialled to SERVICE */
	CONN_END_MAX,
};

/* How both sockets of a connection are registered until it relays: the
 * first EPOLLOUT says the dial completed; relay.c then asks for EPOLLOUT
 * only while bytes wait (conn->events records what is registered) */
#define CONN_EVENTS	(EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

enum conn_state {
	CONN_WAIT_SOCKET,	/* waiting for a socket from a pool */
	CONN_CONNECTING,	/* connect() to SERVICE in progress */
	CONN_RELAYING,
	CONN_FLUSHING,		/* one end failed: what it sent goes on, then a reset */
	CONN_CLOSED,		/* freed after the current batch of events */
	CONN_STATE_MAX,
};

/* A client's address, kept small: a connection may be one of 10,000 */
union conn_addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

/**
 * struct relay_conn - one client connection and its SERVICE connection
 * @fd:		sockets, -1 when closed
 * @pipe:	pipe[e] holds bytes read from fd[e] not yet written on
 * @in_pipe:	bytes in pipe[e]
 * @eof:	fd[e] sent FIN: nothing more to read from it
 * @shut:	that FIN was passed on, shutdown(fd[!e], SHUT_WR)
 * @urgent:	fd[e] has had urgent data (EPOLLPRI): reading it may stop at
 *		an urgent mark
 * @at_mark:	reading fd[e] stopped at its urgent mark
 * @oob_held:	@oob[e], read from fd[e] as urgent, waits to be sent on fd[!e]
 * @oob:	that urgent byte
 * @failed:	while CONN_FLUSHING, the end that failed
 * @bytes:	bytes read from fd[e] and written on, in total
 * @events:	epoll events fd[e] is registered for
 * @state:	where in its life
 * @slot:	number in ctx.conns, used in epoll references
 * @id:		number for log lines
 * @bridge:	its bridge
 * @port_offset: which port of the bridge's range
 * @service:	which of the bridge's SERVICEs it goes to
 * @tried:	SERVICEs tried for it, a bit each
 * @dial_step:	which of SERVICE's addresses is being tried
 * @dial_error:	why the first address failed, reported if all fail
 * @started_ms:	accept time
 * @started_us:	accept time, in event_clock_us(), for the histograms
 * @connected:	SERVICE answered: the connection counts in the histograms
 * @client:	the client's address, for log lines
 * @deadline_ms: connect deadline while dialling, last activity while
 *		relaying, when the reset goes regardless while flushing
 * @retry_ms:	when to connect again to a unix SERVICE whose queue was full
 * @retry_delay_ms: the wait before that, doubled with each full queue
 * @node:	in ctx.connecting, ctx.active, ctx.flushing or ctx.closed
 * @wait_node:	in a socket pool's waiters, while CONN_WAIT_SOCKET, or in
 *		ctx.dial_retry while waiting to connect again
 */
struct relay_conn {
	int fd[CONN_END_MAX];
	struct pipe_pair pipe[CONN_END_MAX];
	size_t in_pipe[CONN_END_MAX];
	bool eof[CONN_END_MAX];
	bool shut[CONN_END_MAX];
	bool urgent[CONN_END_MAX];
	bool at_mark[CONN_END_MAX];
	bool oob_held[CONN_END_MAX];
	char oob[CONN_END_MAX];
	enum conn_end failed;
	uint64_t bytes[CONN_END_MAX];
	uint32_t events[CONN_END_MAX];
	enum conn_state state;
	unsigned slot;
	uint64_t id;
	struct bridge *bridge;
	unsigned port_offset;
	uint8_t service;
	uint8_t tried;
	unsigned dial_step;
	int dial_error;
	uint64_t started_ms;
	uint64_t started_us;
	bool connected;
	union conn_addr client;
	uint64_t deadline_ms;
	uint64_t retry_ms;
	unsigned retry_delay_ms;
	struct list_node node;
	struct list_node wait_node;
};

/**
 * relay_conn_of_node() - the connection of a ctx list node
 * @node:	its node member
 *
 * Return: the connection
 */
static inline struct relay_conn *relay_conn_of_node(struct list_node *node)
{
	return container_of(node, struct relay_conn, node);
}

/**
 * relay_conn_of_wait_node() - the connection of a pool waiter node
 * @node:	its wait_node member
 *
 * Return: the connection
 */
static inline struct relay_conn *relay_conn_of_wait_node(struct list_node *node)
{
	return container_of(node, struct relay_conn, wait_node);
}

/* A debug line about one connection; JSON logs carry its id as "conn" */
#define conn_dbg(conn, fmt, ...) do { \
	if (log_enabled(LOG_LEVEL_DEBUG)) { \
		const struct log_field conn_field_[] = { LOG_NUM("conn", (conn)->id) }; \
		log_with(LOG_LEVEL_DEBUG, conn_field_, "conn %llu: " fmt, \
			 (unsigned long long)(conn)->id, ##__VA_ARGS__); \
	} \
} while (0)

#endif /* NSBRIDGE_CONN_H */
