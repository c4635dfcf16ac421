/* SPDX-License-Identifier: GPL-2.0-or-later */
/* metrics.c - --metrics ADDR:PORT: the status figures for Prometheus
 *
 * Theory of operation
 *
 * GET /metrics answers the figures prometheus.c writes; any other path is 404, any other method 405. HTTP is
 * libmicrohttpd's, run inside the relay's loop rather than in threads of
 * its own: in MHD_USE_EPOLL mode it keeps an epoll instance of its own,
 * which sits in ours as one descriptor (a source registered with
 * event.c), and MHD_run() does whatever is ready when it fires. Its
 * connection timeouts are a deadline registered there too.
 *
 * A scrape matters most when client connections have taken every
 * descriptor, so MHD_run() borrows the reserve kept for this
 * (fdreserve.c). When it has left none, libmicrohttpd may have failed an
 * accept; with no connection of its own it then leaves the listening
 * socket ready in its epoll set, which would wake the loop at once, for
 * ever ("busy waiting", in its words). So its epoll fd is not watched
 * until the loop's next retry for descriptors; its timeouts still run.
 *
 * The listening socket is made like an EXPOSE's: in the host side,
 * through the opener when that is not nsbridge's own namespace, and
 * before capabilities are dropped. The command line has already refused
 * an address that is not loopback without --allow-nonlocal.
 */

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "nsbridge/cleanup.h"
#include "nsbridge/event.h"
#include "nsbridge/fdreserve.h"
#include "nsbridge/listener.h"
#include "nsbridge/metrics.h"
#include "nsbridge/optlibs.h"
#include "nsbridge/side.h"
#include "nsbridge/sock.h"
#include "nsbridge/prometheus.h"

#define METRICS_CONNECTIONS	16
#define METRICS_TIMEOUT_S	10
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/**
 * struct metrics - the HTTP server
 * @daemon:	libmicrohttpd's state
 * @epoll_fd:	its epoll instance, in the loop's
 * @paused:	@epoll_fd not watched: out of descriptors, until metrics_resume()
 * @next_ms:	when MHD_run() is due for its timeouts, 0 for never
 * @source:	@epoll_fd registered
 */
struct metrics {
	struct MHD_Daemon *daemon;
	int epoll_fd;
	bool paused;
	uint64_t next_ms;
	struct event_source source;
};

static void on_event(struct ctx *c, struct event_source *s, uint32_t events);
static uint64_t next_deadline(const struct ctx *c);
static void tick(struct ctx *c);
static void release(struct ctx *c);

static const struct event_deadline deadlines = { .next = next_deadline, .expire = tick };

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
			     const char *content_type, char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status,
				  const char *text)
{
	char *body = strdup(text);

	return body ? reply(conn, status, "text/plain", body, strlen(body)) : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	const struct ctx *c = cls;
	char *text;
	size_t len;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics\n");
	if (strcmp(url, "/metrics") != 0)
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
	if (prometheus_text(c, &text, &len) < 0)
		return MHD_NO;
	return reply(conn, MHD_HTTP_OK, METRICS_CONTENT_TYPE, text, len);
}

static void schedule(struct ctx *c)
{
	MHD_UNSIGNED_LONG_LONG ms;

	c->metrics->next_ms = 0;
	if (MHD_get_timeout(c->metrics->daemon, &ms) == MHD_YES)
		c->metrics->next_ms = c->now_ms + ms;
}

static int start_daemon(struct ctx *c, int fd)
{
	_cleanup_free_ struct metrics *m = calloc(1, sizeof(*m));
	const union MHD_DaemonInfo *info;
	int r;

	if (!m)
		return -ENOMEM;
	m->daemon = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_request, c,
				     MHD_OPTION_LISTEN_SOCKET, fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT_S,
				     MHD_OPTION_END);
	if (!m->daemon)
		return -EIO;
	info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	r = info ? event_add_io(c, &m->source, info->epoll_fd, EPOLLIN, on_event) : -EIO;
	if (r < 0) {
		MHD_stop_daemon(m->daemon);
		return r;
	}
	m->epoll_fd = info->epoll_fd;
	c->metrics = TAKE_PTR(m);
	event_add_deadline(c, &deadlines);
	event_add_exit(c, release);
	return 0;
}

/**
 * metrics_setup() - listen on --metrics's address and serve it
 * @c:		context with its loop set up
 * @f:		on failure, the exit status to leave with and the line
 *
 * Return: 0, or -errno with @f set
 */
int metrics_setup(struct ctx *c, struct failure *f)
{
	const struct endpoint *ep = &c->config->metrics;
	char addr[SOCK_ADDR_TEXT_MAX];
	struct sock_addr a;
	int fd, r;

	if (!c->config->has_metrics)
		return 0;
	r = optlibs_need_mhd(f);
	if (r < 0)
		return r;
	if (ep->has_addr)
		sock_addr_inet(&a, ep->family, &ep->addr, ep->port_first);
	else
		sock_addr_loopback(&a, AF_INET, ep->port_first);
	fd = side_listen(c, SIDE_HOST, SOCK_STREAM, &a);
	if (fd < 0)
		return listener_why(c, SIDE_HOST, &a, fd, f);
	r = start_daemon(c, fd);
	if (r < 0) {
		close(fd);
		return failure_errno(f, r, "serving --metrics");
	}
	log_info("metrics at http://%s/metrics", sock_addr_format(&a, addr, sizeof(addr)));
	return 0;
}

static void watch(struct ctx *c, bool on)
{
	if (event_mod_io(c, &c->metrics->source, on ? EPOLLIN : 0) == 0)
		c->metrics->paused = !on;
}

static unsigned connections_of(struct MHD_Daemon *daemon)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info ? info->num_connections : 0;
}

/*
 * libmicrohttpd takes its listening socket out of its epoll set while it
 * is at its connection limit or short of descriptors, and puts it back
 * only at the start of a run; connections that end are freed at the end
 * of one. So a run that freed some is followed by another: the clients
 * waiting in the backlog would otherwise wait for an unrelated event.
 */
static void run_daemon(struct MHD_Daemon *daemon)
{
	unsigned before;

	do {
		before = connections_of(daemon);
		MHD_run(daemon);
	} while (connections_of(daemon) < before);
}

/* Requests or connections are ready, or timeouts due */
static void run(struct ctx *c)
{
	fdreserve_lend();
	run_daemon(c->metrics->daemon);
	fdreserve_refill();
	schedule(c);
	if (!fdreserve_spares()) {
		watch(c, false);
		event_starve(c);
	}
}

static void on_event(struct ctx *c, struct event_source *s, uint32_t events)
{
	(void)s;
	(void)events;
	run(c);
}

/**
 * metrics_resume() - watch the server again after a shortage of descriptors
 * @c:		context
 */
void metrics_resume(struct ctx *c)
{
	if (c->metrics && c->metrics->paused)
		watch(c, true);
}

/* When the server's timeouts want a run; 0 for none */
static uint64_t next_deadline(const struct ctx *c)
{
	return c->metrics ? c->metrics->next_ms : 0;
}

/* Run the server if its deadline has come */
static void tick(struct ctx *c)
{
	if (c->metrics && c->metrics->next_ms && c->now_ms >= c->metrics->next_ms)
		run(c);
}

/* Stop the server and close its sockets, at exit */
static void release(struct ctx *c)
{
	if (!c->metrics)
		return;
	event_del_io(c, &c->metrics->source);	/* its epoll fd goes with it */
	MHD_stop_daemon(c->metrics->daemon);
	free(c->metrics);
	c->metrics = NULL;
}
