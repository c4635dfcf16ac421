/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ctx.h - the state of one nsbridge process, shared by its modules: data
 * types only, so that every layer above may know them (docs/design.md) */
#ifndef NSBRIDGE_CTX_H
#define NSBRIDGE_CTX_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "nsbridge/cli.h"
#include "nsbridge/endpoint.h"
#include "nsbridge/engine.h"
#include "nsbridge/histogram.h"
#include "nsbridge/list.h"
#include "nsbridge/log.h"
#include "nsbridge/slots.h"

#define SIDE_LABEL_MAX	160
#define SIDE_REFUSED_MAX	512

struct ctx;
struct event_source;

/* What a registered source calls when its descriptor is ready */
typedef void event_io_fn(struct ctx *c, struct event_source *s, uint32_t events);

/**
 * struct event_source - a descriptor a module watches, and what it calls
 *			 then (event_add_io()); zeroed, it is not registered
 * @fd:		the descriptor, as registered; the module's to close
 * @on_event:	called with the epoll event bits
 * @added:	registered: in the epoll set and in ctx.sources
 * @gen:	the registration's number, which its epoll reference carries
 *		too: an event queued for a source removed in the same batch
 *		must not reach the source given its slot since
 * @slot:	its place in ctx.sources, which its epoll reference names
 *
 * A module keeps it in its own state, next to the descriptor, and finds
 * that state again with container_of().
 */
struct event_source {
	int fd;
	event_io_fn *on_event;
	bool added;
	uint16_t gen;
	uint32_t slot;
};

/**
 * struct side_ns - one namespace of the side table: the host, or a container
 * @label:	"host" or "container REF", for messages
 * @ref:	REF as the user gave it, NULL for the host
 * @used:	some endpoint lives here
 * @down:	the container stopped; waiting for it to run again, or gone
 *		for good when not followed
 * @local:	the relay's own namespace: sockets are made directly
 * @ns_fd:	namespace fd; the opener holds it once started, then -1 here
 * @pidfd:	process whose namespace it is, -1 if none
 * @pidfd_source: @pidfd registered: lifecycle.c's or labels.c's, which
 *		learn that the process exited
 * @pid:	that process, 0 if none
 * @start:	its start time (netns_pid_start()): with @pid, the process for
 *		good; 0 if not known
 * @next_pid:	a followed container's new init, reported before the old
 *		one's exit was seen: taken at that exit; 0 if none
 * @next_start:	its start time
 * @engine_sock: the engine socket that knew the container, "" if none
 * @labelled:	opened for a container's nsbridge.bridges label (labels.c):
 *		its bridges go, and the side is free again, when it stops
 * @id:		that container's engine ID
 * @name:	its name, which @ref points to
 * @refused:	what its label asked that was refused, "" if nothing: one
 *		line per bridge, "; " between them
 * @options:	its PREFIX.options applied to a copy of the configuration,
 *		which its bridges run with; NULL without (labels.c)
 * @options_text: that label's value, to apply again over a reloaded
 *		configuration; NULL without
 * @source:	where its clients' connections to a host SERVICE come from
 *		(--source, --labels-sources); INADDR_ANY for 127.0.0.1 as ever
 */
struct side_ns {
	char label[SIDE_LABEL_MAX];
	const char *ref;
	bool used;
	bool down;
	bool local;
	int ns_fd;
	int pidfd;
	struct event_source pidfd_source;
	pid_t pid;
	unsigned long long start;
	pid_t next_pid;
	unsigned long long next_start;
	char engine_sock[ENGINE_PATH_MAX];
	bool labelled;
	char id[ENGINE_ID_MAX];
	char name[ENGINE_NAME_MAX];
	char refused[SIDE_REFUSED_MAX];
	struct config *options;
	char *options_text;
	struct in_addr source;
};

/* What a socket pool holds: family and type */
enum pool_kind {
	POOL_TCP4,
	POOL_TCP6,
	POOL_UDP4,
	POOL_UDP6,
	POOL_KIND_MAX,
};

#define SOCKPOOL_SIZE	32

/**
 * struct sockpool - sockets made ahead of time in a side the relay
 *		     cannot enter any more
 * @side:	namespace they belong to
 * @family:	AF_INET or AF_INET6
 * @type:	SOCK_STREAM or SOCK_DGRAM
 * @fds:	ready sockets, @n of them
 * @n:		number ready
 * @requested:	asked of the opener, not yet arrived
 * @waiters:	connections waiting for a socket, oldest first (TCP only:
 *		a UDP datagram that finds the pool empty is dropped)
 * @error:	why the last refill failed, 0 if it did not
 * @used:	ever asked for; kept full while the process is at rest
 * @generation:	how many times its side went down: a reply to a request
 *		of an earlier generation holds sockets of a namespace that
 *		is gone, or the error of asking for one
 */
struct sockpool {
	enum side side;
	int family;
	int type;
	int fds[SOCKPOOL_SIZE];
	unsigned n;
	unsigned requested;
	struct list_node waiters;
	int error;
	bool used;
	uint16_t generation;
};

/* The two ways bytes go through a bridge; indexes of struct bridge_stats */
enum direction {
	DIR_TO_SERVICE,		/* read from a client, written to SERVICE */
	DIR_TO_CLIENT,
	DIR_MAX,
};

#define BRIDGE_ERROR_MAX	256

/* Why a TCP client was reset rather than relayed; indexes of
 * bridge_stats.refused, and the reason label of --metrics */
enum refusal {
	REFUSAL_REFUSED,	/* nothing listens at SERVICE */
	REFUSAL_TIMEOUT,	/* SERVICE did not answer in --connect-timeout */
	REFUSAL_ACCESS,		/* --allow-uid, or SERVICE's permissions (a unix socket) */
	REFUSAL_GONE,		/* SERVICE's side is gone: its container stopped, the opener exited */
	REFUSAL_ERROR,		/* nsbridge could not take it on (memory, descriptors) */
	REFUSAL_MAX,
};

/**
 * struct bridge_stats - what a bridge has done, for nsbridge status and
 *			 --metrics
 * @accepted:	TCP connections taken on, or UDP flows opened
 * @refused:	TCP clients reset, by enum refusal
 * @udp_refused: datagrams SERVICE refused (ICMP port unreachable)
 * @bytes:	bytes carried each way, by enum direction
 * @datagrams:	UDP datagrams carried each way, likewise
 * @connect:	for each connection SERVICE took, from accept to its answer
 * @lifetime:	for each connection SERVICE took, from accept to close
 * @last_error:	the last thing that went wrong, "" while nothing has
 * @last_error_time: when, in seconds since the epoch
 */
struct bridge_stats {
	uint64_t accepted;
	uint64_t refused[REFUSAL_MAX];
	uint64_t udp_refused;
	uint64_t bytes[DIR_MAX];
	uint64_t datagrams[DIR_MAX];
	struct histogram connect;
	struct histogram lifetime;
	char last_error[BRIDGE_ERROR_MAX];
	int64_t last_error_time;
};

/**
 * struct service_health - whether one of several SERVICEs answers
 * @down_until_ms: skipped until then, after refusing; 0 while it answers
 * @failures:	refusals in a row, which lengthen the back-off
 */
struct service_health {
	uint64_t down_until_ms;
	unsigned failures;
};

/**
 * struct bridge - one SERVICE EXPOSE pair at run time
 * @spec:	the pair as given
 * @expose:	EXPOSE as bound: @spec's, with the port the kernel picked for
 *		a port 0
 * @index:	position on the command line, from 0
 * @n_conns:	open connections
 * @refused_rl:	rate limit on "SERVICE refused" lines
 * @n_flows:	open UDP flows
 * @udp_fresh:	UDP flows not yet steady, least recently active first
 * @udp_steady:	UDP flows with replies and repeat clients, likewise
 * @udp_dropped: datagrams dropped: no socket, or a full buffer
 * @drop_rl:	rate limit on "datagrams dropped" lines
 * @service_text: SERVICE for messages, "host 127.0.0.1:5432"
 * @expose_text: EXPOSE for messages and the ready line
 * @stats:	totals since the start
 * @health:	each SERVICE's, when there are several
 * @next_service: where round-robin takes the next connection
 * @removed:	taken out by a reload: its listeners are gone, its
 *		connections drain until @drain_deadline_ms; once none is
 *		left, its slot may take a bridge added later (bridge.c)
 * @drain_deadline_ms: when a removed bridge's connections are reset
 * @own_spec:	the pair of a bridge added while running, which @spec
 *		points to: the config it came from is not kept
 * @options:	the per-bridge options it runs with (--allow-uid, limits,
 *		timeouts but --idle-timeout): ctx.config's, or its
 *		container's PREFIX.options label's (labels.c)
 */
struct bridge {
	const struct bridge_spec *spec;
	struct endpoint expose;
	unsigned index;
	unsigned n_conns;
	struct ratelimit refused_rl;
	unsigned n_flows;
	struct list_node udp_fresh;
	struct list_node udp_steady;
	uint64_t udp_dropped;
	struct ratelimit drop_rl;
	char service_text[SIDE_LABEL_MAX + 64];
	char expose_text[SIDE_LABEL_MAX + 128];
	struct bridge_stats stats;
	struct service_health health[SERVICES_MAX];
	unsigned next_service;
	bool removed;
	uint64_t drain_deadline_ms;
	struct bridge_spec own_spec;
	const struct config *options;
};

/**
 * struct reload_note - what the last reload came to, for nsbridge status
 * @time:	when, in seconds since the epoch; 0 if there was none
 * @ok:		applied; false if refused whole
 * @message:	what was done, or why it was refused
 * @n_applied:	reloads applied since the start
 * @n_refused:	reloads refused whole since the start
 * @last_applied: when the last one was applied; 0 if none was
 */
struct reload_note {
	int64_t time;
	bool ok;
	char message[BRIDGE_ERROR_MAX];
	uint64_t n_applied;
	uint64_t n_refused;
	int64_t last_applied;
};

/* Whether a listener takes clients (listener.c) */
enum listener_state {
	LISTENER_ACCEPTING,	/* drained to EAGAIN on each edge */
	LISTENER_WAITING,	/* no room: clients wait in its backlog, it in
				 * ctx.listener_queue */
	LISTENER_RETIRED,	/* unbound for good (a mirrored port that stopped
				 * listening, a removed bridge): its place in
				 * ctx.listeners goes to the next one bound */
	LISTENER_STATE_MAX,
};

/**
 * struct listener - one listening socket of a bridge
 * @fd:		the socket, in the EXPOSE side's namespace; -1 while the side
 *		is down, or once closed
 * @bridge:	its bridge
 * @port_offset: which port of the bridge's range
 * @family:	AF_INET or AF_INET6, to bind it anew after a restart
 * @state:	accepting, waiting for room, or retired
 * @wait_node:	in ctx.listener_queue while @state is LISTENER_WAITING
 */
struct listener {
	int fd;
	struct bridge *bridge;
	unsigned port_offset;
	int family;
	enum listener_state state;
	struct list_node wait_node;
};

/*
 * Tagged epoll reference, after passt: what an event is about, in 64 bits.
 * The relay's own descriptors (listeners, connections, UDP flows) are
 * tagged with their kind and dispatched by the loop's switch, with no
 * indirect call; every other descriptor is a source a module registered
 * (struct event_source, event.c), all of one kind.
 */
enum epoll_type {
	EPOLL_TYPE_NONE,
	EPOLL_TYPE_LISTENER,	/* index: listener */
	EPOLL_TYPE_CONN,	/* index: connection slot, end: which socket */
	EPOLL_TYPE_UDP_FLOW,	/* index: flow slot; replies from SERVICE */
	EPOLL_TYPE_SOURCE,	/* index: ctx.sources slot, gen: its registration */
	EPOLL_TYPE_MAX,
};

union epoll_ref {
	struct {
		uint8_t type;
		uint8_t end;
		uint16_t gen;
		uint32_t index;
	};
	uint64_t u64;
};

static_assert(sizeof(union epoll_ref) == sizeof(uint64_t), "epoll_ref must fit epoll_data");

/* The relay's helper processes (children.c), by what they do */
enum helper {
	HELPER_OPENER,		/* makes sockets in namespaces (opener.c) */
	HELPER_WATCHER,		/* follows the engine (watcher.c) */
	HELPER_KEEPER,		/* keeps uid 0 for what the relay left (runas.c) */
	HELPER_MAX,
};

enum helper_state {
	HELPER_NOT_NEEDED,	/* never started: nothing asked for it */
	HELPER_RUNNING,
	HELPER_EXITED,
	HELPER_STATE_MAX,
};

/**
 * struct helper_proc - one helper process, as the relay sees it
 * @state:	whether it runs
 * @pid:	its pid, 0 when not needed
 * @pidfd:	the relay's pidfd of it, -1 once it has ended or if none
 * @pidfd_source: @pidfd registered (children.c)
 * @code:	once exited: CLD_EXITED, CLD_KILLED or CLD_DUMPED (waitid), 0
 *		if waitid() could not say
 * @status:	the exit status, or the signal that ended it
 */
struct helper_proc {
	enum helper_state state;
	pid_t pid;
	int pidfd;
	struct event_source pidfd_source;
	int code;
	int status;
};

struct relay_conn;
struct udp_flow;
struct mirror;
struct control;
struct metrics;
struct dial_ops;
struct sockpool_ops;
struct event_deadline;

/* One registration a module (event.c): room to spare */
#define EVENT_DEADLINES_MAX	16	/* modules with deadlines */
#define EVENT_EXITS_MAX		16	/* modules with something to undo at exit */

/**
 * struct udp_table - every UDP flow, by slot and by client
 * @slots:	flows by the slot number their epoll refs carry
 * @buckets:	hash chains by listener and client address, @n_buckets
 *		long, a power of two
 * @n_flows:	open flows, all bridges
 * @next_id:	id of the next flow, for log lines
 */
struct udp_table {
	struct slot_table slots;
	struct udp_flow **buckets;
	unsigned n_buckets;
	unsigned n_flows;
	uint64_t next_id;
};

/**
 * struct ctx - everything of one process
 * @config:	what the user asked for
 * @sides:	the side table: the host, then each container (enum side)
 * @bridges:	@n_bridges bridges, in an array of @bridges_cap that never
 *		moves (connections point into it): room for bridges added
 *		while running
 * @listeners:	@n_listeners listening sockets of all bridges, each
 *		allocated once, so that it stays put in @listener_queue
 * @listeners_cap: room in @listeners
 * @listener_queue: listeners waiting for room, oldest first (listener.c)
 * @pools:	premade sockets per remote side and kind
 * @conns:	connections by the slot number their epoll refs carry
 * @n_conns:	open connections, all bridges
 * @next_conn_id: id of the next connection, for log lines
 * @connecting:	connections dialling SERVICE, by connect deadline
 * @dial_retry:	those of them waiting for room in a unix SERVICE's accept
 *		queue, by retry time (dial.c)
 * @active:	relaying connections, least recently active first
 * @flushing:	connections passing a reset on once the bytes sent before
 *		it are delivered, by deadline
 * @udp:	UDP flows
 * @mirror:	--mirror's state, NULL without it
 * @control:	the control socket, NULL if it could not be made
 * @metrics:	--metrics's HTTP server, NULL without it
 * @started:	start time, seconds since the epoch
 * @reload:	the last SIGHUP's outcome (reload.c)
 * @command_go_fd: pipe that lets -- CMD run once ready, -1 once written
 * @command_pidfd: pidfd of it, -1 when it has ended or there is none
 * @command_source: @command_pidfd registered (command.c)
 * @exit_status: what nsbridge exits with: CMD's status after a scoped run
 * @port_file_written: --port-file is ours to remove at exit
 * @sources_file: the map of source addresses we wrote, ours to keep and to
 *		remove at exit (sourcemap.c); NULL if none
 * @helpers:	the helper processes, by enum helper (children.c)
 * @closed:	closed in this batch of events, freed after it
 * @fd_waiters:	connections waiting for a descriptor, oldest first; they
 *		go before new clients (relay.c)
 * @epoll_fd:	the loop
 * @timer_fd:	one timerfd for every deadline
 * @signal_fd:	SIGINT, SIGTERM, SIGHUP
 * @watcher_fd:	pipe from the engine watcher, -1 when not following
 * @sources:	the registered sources (struct event_source), by the slot
 *		their epoll references carry (event.c)
 * @source_gen:	the number of the last registration
 * @deadlines:	the modules' deadlines, @n_deadlines, in the order they are
 *		acted on (event_add_deadline())
 * @exits:	what each module frees at exit, @n_exits, in the order it is
 *		done (event_add_exit())
 * @timer_source: @timer_fd registered (event.c)
 * @signal_source: @signal_fd registered (loop.c)
 * @opener_source: the opener's replies, registered (sockpool.c)
 * @watcher_source: @watcher_fd registered (lifecycle.c)
 * @now_ms:	monotonic clock, read once per batch of events
 * @timer_ms:	deadline the timerfd is armed for, 0 if disarmed
 * @draining:	a stop was asked: listeners closed, connections finishing
 * @drain_deadline_ms: when the remaining connections are cut
 * @starved:	out of descriptors: a listener, a connection, the control
 *		socket or --metrics waits for one (event_starve())
 * @starved_retry_ms: when whatever is starved tries again
 * @starved_rl:	rate limit on "out of descriptors" lines
 * @quit:	leave the loop
 * @on_stop:	what event_stop() does: the loop's drain (event.c)
 * @on_change:	what the control socket does with nsbridge add or remove
 *		(control.c): reload.c's, which answers in one line and
 *		returns the exit status
 * @on_label:	what a report of a labelled container from the engine
 *		watcher goes to (lifecycle.c): labels.c's; NULL to ignore them
 * @dial_ops:	relay.c's, told how dialling SERVICE ended (dial.c)
 * @sockpool_ops: dial.c's, handed the sockets a pool waited for
 *		(sockpool.c)
 */
struct ctx {
	const struct config *config;
	struct side_ns sides[SIDE_MAX];
	struct bridge *bridges;
	size_t n_bridges;
	size_t bridges_cap;
	struct listener **listeners;
	size_t n_listeners;
	size_t listeners_cap;
	struct list_node listener_queue;
	struct sockpool pools[SIDE_MAX][POOL_KIND_MAX];
	struct slot_table conns;
	unsigned n_conns;
	uint64_t next_conn_id;
	struct list_node connecting;
	struct list_node dial_retry;
	struct list_node active;
	struct list_node flushing;
	struct list_node closed;
	struct list_node fd_waiters;
	struct udp_table udp;
	struct mirror *mirror;
	struct control *control;
	struct metrics *metrics;
	int64_t started;
	struct reload_note reload;
	int command_go_fd;
	int command_pidfd;
	struct event_source command_source;
	int exit_status;
	bool port_file_written;
	const char *sources_file;
	struct helper_proc helpers[HELPER_MAX];
	int epoll_fd;
	int timer_fd;
	int watcher_fd;
	int signal_fd;
	struct slot_table sources;
	uint16_t source_gen;
	const struct event_deadline *deadlines[EVENT_DEADLINES_MAX];
	unsigned n_deadlines;
	void (*exits[EVENT_EXITS_MAX])(struct ctx *c);
	unsigned n_exits;
	struct event_source timer_source;
	struct event_source signal_source;
	struct event_source opener_source;
	struct event_source watcher_source;
	uint64_t now_ms;
	uint64_t timer_ms;
	bool draining;
	uint64_t drain_deadline_ms;
	bool starved;
	uint64_t starved_retry_ms;
	struct ratelimit starved_rl;
	bool quit;
	void (*on_stop)(struct ctx *c);
	int (*on_change)(struct ctx *c, const char *request, char *answer, size_t len);
	void (*on_label)(struct ctx *c, const char *line);
	const struct dial_ops *dial_ops;
	const struct sockpool_ops *sockpool_ops;
};

#endif /* NSBRIDGE_CTX_H */
