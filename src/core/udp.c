/* SPDX-License-Identifier: GPL-2.0-or-later */
/* udp.c - UDP bridges: a flow, and a socket toward SERVICE, per client
 *
 * Theory of operation
 *
 * UDP has no connections, so nsbridge makes them up. A flow is one client
 * address - the source of datagrams arriving on an EXPOSE socket - with a
 * socket of its own, made in SERVICE's namespace. A datagram from the
 * client goes out on the flow's socket to SERVICE; what SERVICE sends back
 * arrives on that socket and goes to the client from the EXPOSE socket,
 * from the very address the client sent to (IP_PKTINFO), so a client that
 * checks where replies come from takes them. SERVICE sees each client as
 * a port of its own, as it would without nsbridge.
 *
 * The flow's socket is connected to SERVICE's address with port 0: the
 * kernel then delivers to it only what comes from that address, but from
 * any port, and still reports an ICMP "port unreachable" as ECONNREFUSED.
 * A service that answers from a port of its own (TFTP does, from one per
 * transfer) thus reaches the client. The client can only see replies come
 * from the EXPOSE port, so its datagrams always go to SERVICE's port: a
 * protocol that moves the conversation to the new port (TFTP past its
 * first block) does not work through nsbridge.
 *
 * Datagrams are never spliced or merged: each is read whole with
 * recvmmsg() and written whole with sendmmsg(), a batch per system call.
 * One that finds no room - a full socket buffer, no socket in the pool
 * yet - is dropped and counted, as the network would drop it: nothing is
 * queued inside nsbridge. The sockets are level-triggered and a batch is
 * capped per event, so one flooding client cannot starve the others.
 *
 * A flow ends after --udp-timeout without a datagram either way. Each
 * bridge holds at most --max-udp-flows. A new client beyond that takes
 * the place of the least recently active flow that is not yet steady
 * (that has not had a reply and a second datagram), like conntrack's
 * early drop, and only when every flow is steady, of the least recently
 * active one. A flood of new source ports thus recycles its own flows
 * and leaves established ones alone.
 *
 * Flows are found by (EXPOSE socket, client address) in a hash table that
 * doubles when it holds twice as many flows as chains. An EXPOSE socket
 * that goes for good (a port --mirror unbinds) takes its flows with it,
 * for its index is reused by the next port bound.
 */

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsbridge/cleanup.h"
#include "nsbridge/event.h"
#include "nsbridge/note.h"
#include "nsbridge/opener.h"
#include "nsbridge/side.h"
#include "nsbridge/sock.h"
#include "nsbridge/sockpool.h"
#include "nsbridge/udp.h"

#define UDP_BATCH		32
#define UDP_BATCHES_PER_EVENT	4
#define UDP_DATAGRAM_MAX	65536
#define UDP_STEADY_AFTER	2	/* datagrams from the client, and a reply */
#define UDP_BUCKETS_FIRST	256
#define UDP_LOG_INTERVAL_MS	10000

enum udp_dir {
	UDP_TO_SERVICE,
	UDP_TO_CLIENT,
	UDP_DIR_MAX,
};

/**
 * struct udp_flow - one client of a UDP bridge
 * @fd:		socket connected to SERVICE's address (any port), made in
 *		its namespace
 * @listener:	index of the EXPOSE socket the client sends to
 * @slot:	number in ctx.udp.slots, used in epoll references
 * @id:		number for log lines
 * @bridge:	its bridge
 * @client:	the client's address, where replies go
 * @client_len:	its length
 * @local:	the address the client sent to, where replies come from
 * @has_local:	@local was seen (IP_PKTINFO)
 * @datagrams:	datagrams relayed each way
 * @bytes:	bytes in them
 * @started_ms:	when the first datagram came
 * @steady:	has had a reply and a repeat client: evicted last
 * @last_ms:	last datagram either way
 * @lru:	in its bridge's udp_fresh or udp_steady list
 * @hash_next:	next flow in its hash chain
 */
struct udp_flow {
	int fd;
	unsigned listener;
	unsigned slot;
	uint64_t id;
	struct bridge *bridge;
	struct sockaddr_storage client;
	socklen_t client_len;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} local;
	bool has_local;
	uint64_t datagrams[UDP_DIR_MAX];
	uint64_t bytes[UDP_DIR_MAX];
	uint64_t started_ms;
	bool steady;
	uint64_t last_ms;
	struct list_node lru;
	struct udp_flow *hash_next;
};

/* One batch of datagrams in flight; the loop is single-threaded */
union udp_cmsg {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	size_t align;	/* a cmsghdr starts with a size_t */
};

static struct {
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage addrs[UDP_BATCH];
	union udp_cmsg ctl[UDP_BATCH];
	char data[UDP_BATCH][UDP_DATAGRAM_MAX];
} batch;

/* ---- the flow table ---- */

static uint64_t hash_client(unsigned listener, const struct sockaddr_storage *a)
{
	const unsigned char *p;
	uint64_t h = 1469598103934665603ull ^ listener;
	size_t len;

	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;

		h = (h ^ s6->sin6_port) * 1099511628211ull;
		p = s6->sin6_addr.s6_addr;
		len = sizeof(s6->sin6_addr);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)a;

		h = (h ^ s4->sin_port) * 1099511628211ull;
		p = (const unsigned char *)&s4->sin_addr;
		len = sizeof(s4->sin_addr);
	}
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static bool same_client(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

	return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

static struct udp_flow **chain_of(struct udp_table *t, unsigned listener,
				  const struct sockaddr_storage *client)
{
	return &t->buckets[hash_client(listener, client) & (t->n_buckets - 1)];
}

static struct udp_flow *flow_find(struct udp_table *t, unsigned listener,
				  const struct sockaddr_storage *client)
{
	if (!t->n_buckets)
		return NULL;
	for (struct udp_flow *f = *chain_of(t, listener, client); f; f = f->hash_next)
		if (f->listener == listener && same_client(&f->client, client))
			return f;
	return NULL;
}

/* Rehash into twice as many chains; on allocation failure chains just get longer */
static void grow_buckets(struct udp_table *t)
{
	unsigned n = t->n_buckets ? t->n_buckets * 2 : UDP_BUCKETS_FIRST;
	struct udp_flow **old = t->buckets;
	unsigned old_n = t->n_buckets;

	t->buckets = calloc(n, sizeof(*t->buckets));
	if (!t->buckets) {
		t->buckets = old;
		return;
	}
	t->n_buckets = n;
	for (unsigned i = 0; i < old_n; i++) {
		while (old[i]) {
			struct udp_flow *f = old[i], **chain;

			old[i] = f->hash_next;
			chain = chain_of(t, f->listener, &f->client);
			f->hash_next = *chain;
			*chain = f;
		}
	}
	free(old);
}

static void hash_remove(struct udp_table *t, struct udp_flow *f)
{
	for (struct udp_flow **p = chain_of(t, f->listener, &f->client); *p; p = &(*p)->hash_next) {
		if (*p == f) {
			*p = f->hash_next;
			return;
		}
	}
}

static void client_text(const struct udp_flow *f, char *buf, size_t len)
{
	struct sock_addr a = { .len = f->client_len };

	memcpy(&a.ss, &f->client, sizeof(a.ss));
	sock_addr_format(&a, buf, len);
}

/* Like a TCP connection's: "open" and "close" lines, with fields for JSON logs */
static void log_flow(const struct ctx *c, const struct udp_flow *f, const char *why)
{
	const struct bridge *b = f->bridge;
	uint64_t duration_ms = c->now_ms - f->started_ms;
	char client[SOCK_ADDR_TEXT_MAX];
	const struct log_field fields[] = {
		LOG_NUM("flow", f->id), LOG_STR("event", why ? "close" : "open"),
		LOG_NUM("bridge", b->index), LOG_STR("client", client),
		LOG_STR("expose", b->expose_text), LOG_STR("service", b->service_text),
		LOG_NUM("bytes_to_service", f->bytes[UDP_TO_SERVICE]),
		LOG_NUM("bytes_to_client", f->bytes[UDP_TO_CLIENT]),
		LOG_NUM("duration_ms", duration_ms),
	};

	if (!log_enabled(LOG_LEVEL_DEBUG))
		return;
	client_text(f, client, sizeof(client));
	if (!why) {	/* the first five fields: no bytes or duration yet */
		log_fields(LOG_LEVEL_DEBUG, fields, 5, "udp flow %llu: %s opened on %s",
			   (unsigned long long)f->id, client, b->expose_text);
		return;
	}
	log_with(LOG_LEVEL_DEBUG, fields, "udp flow %llu: closed (%s) after %llu ms: %s -> %s, "
		 "%llu datagrams (%llu bytes) to service, %llu (%llu bytes) to client",
		 (unsigned long long)f->id, why, (unsigned long long)duration_ms, client,
		 b->service_text, (unsigned long long)f->datagrams[UDP_TO_SERVICE],
		 (unsigned long long)f->bytes[UDP_TO_SERVICE],
		 (unsigned long long)f->datagrams[UDP_TO_CLIENT],
		 (unsigned long long)f->bytes[UDP_TO_CLIENT]);
}

static void flow_close(struct ctx *c, struct udp_flow *f, const char *why)
{
	log_flow(c, f, why);
	close(f->fd);	/* also takes it out of epoll */
	hash_remove(&c->udp, f);
	list_del(&f->lru);
	slots_put(&c->udp.slots, f->slot);
	f->bridge->n_flows--;
	c->udp.n_flows--;
	free(f);
}

static struct udp_flow *flow_of_lru(struct list_node *node)
{
	return container_of(node, struct udp_flow, lru);
}

/* At --max-udp-flows: the least recently active fresh flow goes, else the steady one */
static void evict_one(struct ctx *c, struct bridge *b)
{
	struct list_node *victims = list_empty(&b->udp_fresh) ? &b->udp_steady : &b->udp_fresh;
	unsigned missed;

	if (list_empty(victims))
		return;
	if (ratelimit_pass(&b->drop_rl, c->now_ms, &missed))
		log_warn("%s has %u UDP flows (--max-udp-flows): the least recently active "
			 "ones make room for new clients", b->expose_text, b->n_flows);
	flow_close(c, flow_of_lru(victims->next), "evicted");
}

/* The flow just moved a datagram: it is the most recently active */
static void flow_touch(struct ctx *c, struct udp_flow *f)
{
	f->last_ms = c->now_ms;
	if (!f->steady && f->datagrams[UDP_TO_CLIENT] &&
	    f->datagrams[UDP_TO_SERVICE] >= UDP_STEADY_AFTER)
		f->steady = true;
	list_move_tail(f->steady ? &f->bridge->udp_steady : &f->bridge->udp_fresh, &f->lru);
}

static int service_family(const struct endpoint *svc)
{
	return svc->has_addr ? svc->family : AF_INET;
}

/* Where a flow of listener @l sends its client's datagrams */
static void service_address(const struct listener *l, struct sock_addr *ret)
{
	const struct endpoint *svc = &l->bridge->spec->service;

	sock_addr_endpoint(ret, svc, l->port_offset, service_family(svc));
}

/* @a with port 0: a UDP socket connected to it hears that address's every port */
static void any_port(struct sock_addr *a)
{
	if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port = 0;
	else
		((struct sockaddr_in *)&a->ss)->sin_port = 0;
}

/* A UDP socket in SERVICE's namespace that hears only SERVICE's address */
static int service_socket(struct ctx *c, const struct listener *l)
{
	const struct endpoint *svc = &l->bridge->spec->service;
	const struct in_addr *source = side_source_toward(c, l->bridge, svc);
	int family = service_family(svc);
	struct sock_addr a;
	int fd, r = 0;

	if (c->sides[svc->side].down)
		return -EHOSTDOWN;
	if (c->sides[svc->side].local) {
		fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
	} else {
		fd = sockpool_take(c, svc->side, family, SOCK_DGRAM);
		if (fd < 0)
			return fd;
	}
	service_address(l, &a);
	any_port(&a);
	if (source && family == AF_INET)
		r = sock_bind_source(fd, source);
	if (r == 0 && connect(fd, (const struct sockaddr *)&a.ss, a.len) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static void log_no_flow(struct ctx *c, struct bridge *b, int err)
{
	const char *line;
	unsigned missed;

	b->udp_dropped++;
	if (err == -EAGAIN)
		return;
	if (err == OPENER_EXITED)
		line = note_error(b, "%s: no socket toward %s: the opener has exited; "
					 "datagrams are dropped (restart nsbridge)", b->expose_text,
					 b->service_text);
	else
		line = note_error(b, "%s: no socket toward %s: %s; datagrams are dropped",
					 b->expose_text, b->service_text, strerror(-err));
	if (ratelimit_pass(&b->refused_rl, c->now_ms, &missed))
		log_warn("%s", line);
}

static struct udp_flow *flow_open(struct ctx *c, unsigned listener,
				  const struct sockaddr_storage *client, socklen_t client_len)
{
	struct listener *l = c->listeners[listener];
	struct bridge *b = l->bridge;
	union epoll_ref ref = { .type = EPOLL_TYPE_UDP_FLOW };
	_cleanup_free_ struct udp_flow *f = NULL;
	_cleanup_close_ int fd = -1;

	if (b->n_flows >= b->options->max_udp_flows)
		evict_one(c, b);
	fd = service_socket(c, l);
	if (fd < 0) {
		log_no_flow(c, b, fd);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f || slots_alloc(&c->udp.slots, f, &f->slot) < 0) {
		log_no_flow(c, b, -ENOMEM);
		return NULL;
	}
	ref.index = f->slot;
	if (event_epoll_add(c, fd, EPOLLIN, ref) < 0) {
		slots_put(&c->udp.slots, f->slot);
		log_no_flow(c, b, -ENOMEM);
		return NULL;
	}
	*f = (struct udp_flow){
		.fd = TAKE_FD(fd), .listener = listener, .slot = ref.index,
		.id = c->udp.next_id++, .bridge = b, .client_len = client_len,
		.last_ms = c->now_ms, .started_ms = c->now_ms,
	};
	memcpy(&f->client, client, client_len);
	list_init(&f->lru);
	list_add_tail(&b->udp_fresh, &f->lru);
	if (c->udp.n_flows >= 2 * c->udp.n_buckets)
		grow_buckets(&c->udp);
	if (c->udp.n_buckets) {
		struct udp_flow **chain = chain_of(&c->udp, listener, client);

		f->hash_next = *chain;
		*chain = f;
	}
	b->n_flows++;
	b->stats.accepted++;
	c->udp.n_flows++;
	log_flow(c, f, NULL);
	return TAKE_PTR(f);
}

/* ---- moving datagrams ---- */

/* Read up to a batch from @fd; with @from, also who sent each and to where */
static int batch_receive(int fd, bool with_source)
{
	int n;

	for (int i = 0; i < UDP_BATCH; i++) {
		batch.iov[i] = (struct iovec){ .iov_base = batch.data[i], .iov_len = UDP_DATAGRAM_MAX };
		batch.msgs[i].msg_hdr = (struct msghdr){
			.msg_iov = &batch.iov[i], .msg_iovlen = 1,
			.msg_name = with_source ? &batch.addrs[i] : NULL,
			.msg_namelen = with_source ? sizeof(batch.addrs[i]) : 0,
			.msg_control = with_source ? batch.ctl[i].buf : NULL,
			.msg_controllen = with_source ? sizeof(batch.ctl[i].buf) : 0,
		};
	}
	n = recvmmsg(fd, batch.msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
	return n < 0 ? -errno : n;
}

/*
 * Send @n datagrams of the batch from @first, each as long as it was
 * read; returns how many went. A refusal reported for an earlier datagram
 * (ICMP port unreachable) is reported once through @ret_refused and the
 * send tried again.
 */
static unsigned send_batch(int fd, unsigned first, unsigned n, bool *ret_refused)
{
	unsigned sent = 0;
	bool retried = false;

	for (unsigned i = first; i < first + n; i++)
		batch.iov[i].iov_len = batch.msgs[i].msg_len;
	while (sent < n) {
		int r = sendmmsg(fd, batch.msgs + first + sent, n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (r > 0) {
			sent += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECONNREFUSED && !retried) {
			*ret_refused = true;
			retried = true;
			continue;
		}
		break;	/* a full buffer or a failure: the rest are dropped */
	}
	return sent;
}

static void log_refused(struct ctx *c, struct bridge *b)
{
	const char *line;
	unsigned missed;

	b->stats.udp_refused++;
	line = note_error(b, "%s refused datagrams (nothing listens there)",
				 b->service_text);
	if (ratelimit_pass(&b->refused_rl, c->now_ms, &missed))
		log_warn("%s", line);
}

/* Bytes in datagrams [first, first + n) of the batch, as received */
static uint64_t batch_bytes(unsigned first, unsigned n)
{
	uint64_t sum = 0;

	for (unsigned i = first; i < first + n; i++)
		sum += batch.msgs[i].msg_len;
	return sum;
}

/* Where the client sent its datagram to, from IP_PKTINFO */
static void note_local(struct udp_flow *f, struct msghdr *h)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			f->local.v4 = pi.ipi_addr;
			f->has_local = true;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			f->local.v6 = pi.ipi6_addr;
			f->has_local = true;
		}
	}
}

/* Forward datagrams [first, first + n) of the batch, all from one client */
static void forward_to_service(struct ctx *c, unsigned listener, unsigned first, unsigned n)
{
	struct msghdr *h = &batch.msgs[first].msg_hdr;
	struct sockaddr_storage *client = &batch.addrs[first];
	struct udp_flow *f = flow_find(&c->udp, listener, client);
	struct sock_addr service;
	bool refused = false;
	uint64_t bytes;
	unsigned sent;

	if (!f)
		f = flow_open(c, listener, client, h->msg_namelen);
	if (!f)
		return;
	note_local(f, h);
	service_address(c->listeners[listener], &service);
	for (unsigned i = first; i < first + n; i++) {
		/* to SERVICE's port (connected to its address only); no IP_PKTINFO */
		batch.msgs[i].msg_hdr.msg_name = &service.ss;
		batch.msgs[i].msg_hdr.msg_namelen = service.len;
		batch.msgs[i].msg_hdr.msg_control = NULL;
		batch.msgs[i].msg_hdr.msg_controllen = 0;
	}
	sent = send_batch(f->fd, first, n, &refused);
	if (refused)
		log_refused(c, f->bridge);
	f->bridge->udp_dropped += n - sent;
	bytes = batch_bytes(first, sent);
	f->bridge->stats.bytes[DIR_TO_SERVICE] += bytes;
	f->bytes[UDP_TO_SERVICE] += bytes;
	f->datagrams[UDP_TO_SERVICE] += sent;
	f->bridge->stats.datagrams[DIR_TO_SERVICE] += sent;
	flow_touch(c, f);
}

/**
 * udp_on_clients() - datagrams arrived on an EXPOSE socket
 * @c:		context
 * @listener:	index of the socket in ctx.listeners
 */
void udp_on_clients(struct ctx *c, unsigned listener)
{
	for (int round = 0; round < UDP_BATCHES_PER_EVENT; round++) {
		int fd = c->listeners[listener]->fd;
		unsigned first = 0;
		int n;

		if (fd < 0)
			return;
		n = batch_receive(fd, true);
		if (n <= 0)
			return;
		/* consecutive datagrams of one client go in one sendmmsg() */
		for (unsigned i = 1; i <= (unsigned)n; i++) {
			if (i < (unsigned)n && same_client(&batch.addrs[i], &batch.addrs[first]))
				continue;
			forward_to_service(c, listener, first, i - first);
			first = i;
		}
		if (n < UDP_BATCH)
			return;
	}
}

/* One control message of @len bytes at the start of @ctl */
static size_t put_cmsg(union udp_cmsg *ctl, int level, int type, const void *data, size_t len)
{
	struct cmsghdr *cm = (struct cmsghdr *)ctl->buf;

	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), data, len);
	return CMSG_SPACE(len);
}

/* The IP_PKTINFO that makes a reply leave from where the client sent to */
static void set_reply_source(const struct udp_flow *f, struct msghdr *h, union udp_cmsg *ctl)
{
	h->msg_control = NULL;
	h->msg_controllen = 0;
	if (!f->has_local)
		return;
	memset(ctl, 0, sizeof(*ctl));
	h->msg_control = ctl->buf;
	if (f->client.ss_family == AF_INET6) {
		struct in6_pktinfo pi = { .ipi6_addr = f->local.v6 };

		h->msg_controllen = put_cmsg(ctl, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	} else {
		struct in_pktinfo pi = { .ipi_spec_dst = f->local.v4 };

		h->msg_controllen = put_cmsg(ctl, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
}

static void forward_to_client(struct ctx *c, struct udp_flow *f, unsigned n)
{
	int fd = c->listeners[f->listener]->fd;
	bool refused = false;
	unsigned sent = 0;
	uint64_t bytes;

	for (unsigned i = 0; i < n; i++) {
		struct msghdr *h = &batch.msgs[i].msg_hdr;

		h->msg_name = &f->client;
		h->msg_namelen = f->client_len;
		set_reply_source(f, h, &batch.ctl[i]);
	}
	if (fd >= 0)
		sent = send_batch(fd, 0, n, &refused);
	f->bridge->udp_dropped += n - sent;
	bytes = batch_bytes(0, sent);
	f->bridge->stats.bytes[DIR_TO_CLIENT] += bytes;
	f->bytes[UDP_TO_CLIENT] += bytes;
	f->datagrams[UDP_TO_CLIENT] += sent;
	f->bridge->stats.datagrams[DIR_TO_CLIENT] += sent;
	flow_touch(c, f);
}

/**
 * udp_on_event() - SERVICE sent datagrams to a flow's socket, or an error
 * @c:		context
 * @ref:	the event's reference: the flow's slot
 * @events:	epoll event bits
 */
void udp_on_event(struct ctx *c, union epoll_ref ref, uint32_t events)
{
	struct udp_flow *f = slots_get(&c->udp.slots, ref.index);

	(void)events;
	for (int round = 0; f && round < UDP_BATCHES_PER_EVENT; round++) {
		int n = batch_receive(f->fd, false);

		if (n == -ECONNREFUSED) {
			log_refused(c, f->bridge);
			continue;
		}
		if (n <= 0)
			return;
		forward_to_client(c, f, (unsigned)n);
		if (n < UDP_BATCH)
			return;
	}
}

/* ---- timeouts and teardown ---- */

static uint64_t oldest_of(const struct list_node *lru)
{
	return list_empty(lru) ? 0 : flow_of_lru(lru->next)->last_ms;
}

/* When the next flow runs out of --udp-timeout; 0 if no flow is open */
static uint64_t next_deadline(const struct ctx *c)
{
	uint64_t next = 0;

	if (!c->udp.n_flows)
		return 0;
	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct bridge *b = &c->bridges[i];
		uint64_t when[] = { oldest_of(&b->udp_fresh), oldest_of(&b->udp_steady) };

		for (int k = 0; k < 2; k++)
			if (when[k] && (!next || when[k] + b->options->udp_timeout_ms < next))
				next = when[k] + b->options->udp_timeout_ms;
	}
	return next;
}

static void expire_list(struct ctx *c, const struct bridge *b, struct list_node *lru)
{
	while (!list_empty(lru)) {
		struct udp_flow *f = flow_of_lru(lru->next);

		if (f->last_ms + b->options->udp_timeout_ms > c->now_ms)
			return;
		flow_close(c, f, "idle");
	}
}

/* Close the flows idle for --udp-timeout */
static void expire_idle(struct ctx *c)
{
	if (!c->udp.n_flows)
		return;
	for (size_t i = 0; i < c->n_bridges; i++) {
		expire_list(c, &c->bridges[i], &c->bridges[i].udp_fresh);
		expire_list(c, &c->bridges[i], &c->bridges[i].udp_steady);
	}
}

static const struct event_deadline deadlines = { .next = next_deadline, .expire = expire_idle };

/**
 * udp_init() - register the flows' timeouts
 * @c:		context
 */
void udp_init(struct ctx *c)
{
	event_add_deadline(c, &deadlines);
}

static void close_flows(struct ctx *c, struct bridge *b, const char *why)
{
	while (!list_empty(&b->udp_fresh))
		flow_close(c, flow_of_lru(b->udp_fresh.next), why);
	while (!list_empty(&b->udp_steady))
		flow_close(c, flow_of_lru(b->udp_steady.next), why);
}

static void close_listener_flows(struct ctx *c, struct list_node *lru, unsigned listener)
{
	struct list_node *node = lru->next;

	while (node != lru) {
		struct udp_flow *f = flow_of_lru(node);

		node = node->next;	/* flow_close() unlinks f */
		if (f->listener == listener)
			flow_close(c, f, "port unbound");
	}
}

/**
 * udp_close_listener() - close the flows of an EXPOSE socket that goes for good
 * @c:		context
 * @listener:	index of the socket in ctx.listeners
 *
 * Flows are found by listener index, and a retired index is given to the
 * next port bound (--mirror): a flow left behind would carry the new
 * port's clients to the old port's SERVICE, and its replies out of the
 * new port. A flow dies with its listener.
 */
void udp_close_listener(struct ctx *c, unsigned listener)
{
	struct bridge *b = c->listeners[listener]->bridge;

	if (!b->n_flows)
		return;
	close_listener_flows(c, &b->udp_fresh, listener);
	close_listener_flows(c, &b->udp_steady, listener);
}

/**
 * udp_close_bridge() - close every flow of a bridge whose namespace went away
 * @c:		context
 * @b:		the bridge
 */
void udp_close_bridge(struct ctx *c, struct bridge *b)
{
	close_flows(c, b, "namespace gone");
}

/**
 * udp_close_all() - close every flow (SIGTERM: a datagram has nothing to finish)
 * @c:		context
 */
void udp_close_all(struct ctx *c)
{
	for (size_t i = 0; c->udp.n_flows && i < c->n_bridges; i++)
		close_flows(c, &c->bridges[i], "stopping");
}

/**
 * udp_release() - close every flow and free the table
 * @c:		context
 */
void udp_release(struct ctx *c)
{
	udp_close_all(c);
	free(c->udp.buckets);
	slots_release(&c->udp.slots);
	c->udp = (struct udp_table){ 0 };
}
