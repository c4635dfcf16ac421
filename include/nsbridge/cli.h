/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.h - command line and NSBRIDGE_* environment into a struct config */
#ifndef NSBRIDGE_CLI_H
#define NSBRIDGE_CLI_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsbridge/endpoint.h"
#include "nsbridge/failure.h"
#include "nsbridge/log.h"

enum cli_action {
	CLI_RUN,
	CLI_HELP,
	CLI_VERSION,
	CLI_PORTS,		/* nsbridge ports: list who listens, exit */
	CLI_STATUS,		/* nsbridge status: ask running ones, exit */
	CLI_ADD,		/* nsbridge add [PID|PATH] SERVICE EXPOSE */
	CLI_REMOVE,		/* nsbridge remove [PID|PATH] EXPOSE */
	CLI_ACTION_MAX,
};

enum follow_mode {
	FOLLOW_DEFAULT,		/* follow named containers, not paths or pids */
	FOLLOW_ON,
	FOLLOW_OFF,
	FOLLOW_MAX,
};

struct conffile;

#define SERVICES_MAX	8

/**
 * struct bridge_spec - one SERVICE EXPOSE pair as the user wrote it
 * @service:	where the service listens today; the first of @services
 * @services:	"host:8081,host:8082": every SERVICE given, @n_services
 * @n_services:	how many, 1 for most bridges
 * @expose:	where nsbridge makes it appear
 * @mirror:	made by --mirror: ports 1-65535, bound only where they listen
 * @labelled:	asked for by a container's label (labels.c): the label's, so
 *		neither a reload nor nsbridge remove touches it
 * @container:	REF of the container its "container" endpoints are in: the
 *		-c before it, its own in --config, else the default; NULL if
 *		none is named. Their side is that container's (pair_container.c)
 * @proxy_protocol: its own "proxy-protocol = true" in --config: each
 *		connection to SERVICE starts with a PROXY v2 header, as
 *		--proxy-protocol makes every bridge's
 */
struct bridge_spec {
	struct endpoint service;
	struct endpoint services[SERVICES_MAX];
	unsigned n_services;
	struct endpoint expose;
	bool mirror;
	bool labelled;
	const char *container;
	bool proxy_protocol;
};

#define SOURCE_REF_MAX	256

/**
 * struct source_spec - --source ADDR: where one container's connections to
 *			the host come from (sources.c)
 * @container:	its REF, as -c gave it; "" until resolved to the default
 *		container. Text, not a pointer, so that a reload compares
 *		two configurations' entries byte for byte
 * @addr:	an IPv4 loopback address
 */
struct source_spec {
	char container[SOURCE_REF_MAX];
	struct in_addr addr;
};

/**
 * struct source_range - --labels-sources CIDR: the addresses labelled
 *			 containers are given, one each
 * @net:	the first address, host bits clear
 * @prefix:	its length, 8 to 32; 0 without --labels-sources
 */
struct source_range {
	struct in_addr net;
	unsigned prefix;
};

#define CLI_EXCLUDE_MAX	64
#define CLI_ALLOW_UID_MAX	32

/**
 * struct port_span - ports FIRST to LAST, both included
 * @first:	first port
 * @last:	last port
 */
struct port_span {
	uint16_t first;
	uint16_t last;
};

/**
 * struct config - everything the command line and environment asked for
 * @action:		run, or print help or version
 * @container:		-c REF, NULL when no container side is used; the last
 *			one when -c was given several times
 * @containers:		every container bridges use, @n_containers of them,
 *			distinct; side SIDE_CONTAINER + i is containers[i]
 * @container_default:	the container of the file or NSBRIDGE_CONTAINER, for
 *			pairs no -c precedes when -c scopes pairs
 * @arg_containers:	per argument after the options, the -c REF in force
 *			there (NULL before the first); NULL unless -c was
 *			given more than once (pair_container.c)
 * @dash_c_differ:	-c named two containers or more on the command line
 * @host_netns:		--host-netns PATH, NULL for nsbridge's own namespace
 * @allow_nonlocal:	EXPOSE may bind a non-loopback address
 * @max_connections:	open connections per bridge
 * @connect_timeout_ms:	limit on connecting to SERVICE
 * @idle_timeout_ms:	close a connection idle this long, 0 for never
 * @drain_timeout_ms:	how long open connections may finish after SIGTERM
 * @udp_timeout_ms:	close a UDP flow idle this long
 * @max_udp_flows:	UDP flows per bridge
 * @mirror:		--mirror FROM TO: every listening port of FROM on TO
 * @mirror_udp:		mirror UDP ports too
 * @mirror_exclude:	ports --mirror leaves alone, @n_mirror_exclude spans
 * @json:		nsbridge ports, status: JSON instead of a table
 * @status_of:		nsbridge status PID|PATH, NULL for every one running
 * @watch:		nsbridge status --watch: redraw every @watch_ms
 * @watch_ms:		its INTERVAL, 1 s unless given
 * @metrics:		--metrics ADDR:PORT, on the host, when @has_metrics
 * @metrics_text:	what the user wrote for it
 * @has_metrics:	--metrics was given
 * @port_file:		--port-file FILE: "SERVICE EXPOSE" lines once ready
 * @user:		--user USER: who the relay runs as after set-up, when
 *			started as root; NULL for the default (runas.c)
 * @config_file:	--config FILE, NULL without
 * @file:		what it holds; strings of the config point into it
 * @command:		-- CMD ARGS: @n_command words, run once ready; NULL
 *			without "--"; points into argv
 * @allow_uids:		--allow-uid: who may connect to an EXPOSE on the host,
 *			@n_allow_uids of them; none means everyone
 * @follow:		--follow / --no-follow
 * @verbosity:		0 normal, > 0 with -v, < 0 with -q
 * @log_format:		text or json
 * @labels:		--labels: containers ask for bridges with labels
 * @labels_prefix:	--labels PREFIX: "PREFIX.bridges", "PREFIX.options"
 * @labels_allow_nonlocal: a label may ask for a non-loopback EXPOSE
 * @labels_min_port:	a label's host EXPOSE ports start here
 * @labels_sources:	--labels-sources CIDR: an address of its own for each
 *			labelled container's connections to the host
 * @sources:		--source, each after its -c: @n_sources containers'
 *			own addresses, resolved by sources_resolve()
 * @sources_file:	--sources-file FILE: "ADDRESS NAME ID" per container
 *			with an address; NULL for the one beside the control
 *			socket
 * @proxy_protocol:	--proxy-protocol: every connection to a SERVICE starts
 *			with a PROXY protocol v2 header (proxy.c)
 * @bridges:		@n_bridges pairs, allocated, freed by config_free()
 * @n_bridges:		number of pairs
 */
struct config {
	enum cli_action action;
	const char *container;
	const char *containers[CONTAINERS_MAX];
	size_t n_containers;
	const char *container_default;
	const char **arg_containers;
	bool dash_c_differ;
	const char *host_netns;
	bool allow_nonlocal;
	unsigned max_connections;
	unsigned connect_timeout_ms;
	unsigned idle_timeout_ms;
	unsigned drain_timeout_ms;
	unsigned udp_timeout_ms;
	unsigned max_udp_flows;
	bool mirror;
	bool mirror_udp;
	struct port_span mirror_exclude[CLI_EXCLUDE_MAX];
	size_t n_mirror_exclude;
	bool json;
	const char *status_of;
	bool watch;
	unsigned watch_ms;
	const char *change[2];
	struct endpoint metrics;
	const char *metrics_text;
	bool has_metrics;
	const char *port_file;
	const char *user;
	const char *config_file;
	struct conffile *file;
	char **command;
	size_t n_command;
	uint32_t allow_uids[CLI_ALLOW_UID_MAX];
	size_t n_allow_uids;
	enum follow_mode follow;
	int verbosity;
	enum log_format log_format;
	bool labels;
	const char *labels_prefix;
	bool labels_allow_nonlocal;
	unsigned labels_min_port;
	struct source_range labels_sources;
	struct source_spec sources[CONTAINERS_MAX];
	size_t n_sources;
	const char *sources_file;
	bool proxy_protocol;
	struct bridge_spec *bridges;
	size_t n_bridges;
};

/* Where an option may be given: a bit each */
enum cli_from {
	CLI_FROM_ARGV = 1 << 0,		/* --NAME, and -X when it has a short name */
	CLI_FROM_ENV = 1 << 1,		/* NSBRIDGE_<NAME>: capitals, '_' for '-' */
	CLI_FROM_FILE = 1 << 2,		/* NAME = VALUE; in a --config file */
};

/* What an option's value is, and so how options.c parses and stores it */
enum cli_kind {
	CLI_SWITCH,	/* no value on the command line; 1/true/yes/on or 0/false/no/off */
	CLI_COUNT,	/* a number from @min to @max, into an unsigned */
	CLI_DURATION,	/* 500ms, 5s, 2m, 1h, at least @min ms, into an unsigned */
	CLI_STRING,	/* text that is not empty, into a const char * */
	CLI_LIST,	/* comma-separated, parsed and stored by @set */
	CLI_VALUE,	/* any other value, parsed and stored by @set */
	CLI_KIND_MAX,
};

/*
 * What a reload does with a change of an option. Every row says which:
 * tests/unit/test_cli.c fails on a row left CLI_RELOAD_UNDECLARED.
 */
enum cli_reload {
	CLI_RELOAD_UNDECLARED,
	CLI_RELOAD_LIVE,	/* read for each new connection, flow or log line: applied */
	CLI_RELOAD_RESTART,	/* used at start-up: "needs a restart", kept as it was */
	CLI_RELOAD_NONE,	/* not a setting of the running relay, never in a file */
};

/**
 * struct cli_option - one option: one row of the table that the command
 *	line, the environment, the config file and --help are made from
 * @name:	long name, and the key in a config file
 * @short_name:	-X on the command line, 0 for none
 * @from:	where it may be given, CLI_FROM_* bits
 * @kind:	what its value is
 * @offset:	where a switch, count, duration or string is stored in
 *		struct config, when there is no setter
 * @min:	smallest count or duration (milliseconds)
 * @max:	largest count
 * @set:	setter of a list or other value: 0, or -EINVAL if malformed
 * @set_switch:	setter of a switch that is more than a bool
 * @expected:	what a valid value looks like, for the error line; NULL
 *		for the kind's own words
 * @arg:	--help: what follows the name ("N", "REF", "FROM TO")
 * @join:	--help: NULL to start a line of its own; else what joins it to
 *		the row before ("; ", ", ", or "\n" for the next line)
 * @help:	--help: what it does; "\n" goes on in the same column. NULL
 *		for one the free text of --help names, or the --no-NAME of a
 *		row NAME, shown there as --[no-]NAME
 * @reload:	what a reload (SIGHUP, reload.c) does when the value changes
 * @size:	size of the member at @offset that a reload compares and, for
 *		CLI_RELOAD_LIVE, copies; set for a row with a setter too
 * @count:	for a list, where the number of its entries is; else 0
 * @text:	the member is a const char *, compared as a string
 */
struct cli_option {
	const char *name;
	char short_name;
	unsigned from;
	enum cli_kind kind;
	size_t offset;
	unsigned min;
	unsigned max;
	int (*set)(struct config *cfg, const char *value);
	void (*set_switch)(struct config *cfg, bool on);
	const char *expected;
	const char *arg;
	const char *join;
	const char *help;
	enum cli_reload reload;
	size_t size;
	size_t count;
	bool text;
};

#define CLI_DEFAULT_MAX_CONNECTIONS	16384
#define CLI_DEFAULT_CONNECT_TIMEOUT_MS	5000
#define CLI_DEFAULT_DRAIN_TIMEOUT_MS	5000
#define CLI_DEFAULT_UDP_TIMEOUT_MS	60000
#define CLI_DEFAULT_MAX_UDP_FLOWS	4096
#define CLI_ERROR_MAX			256
#define CLI_DEFAULT_LABELS_PREFIX	"nsbridge"
#define CLI_DEFAULT_WATCH_MS		1000
#define CLI_DEFAULT_LABELS_MIN_PORT	1024

int cli_parse(int argc, char *argv[], struct config *ret, struct failure *f);
int cli_parse_duration(const char *text, unsigned *ret_ms);
int cli_apply_named(struct config *cfg, const char *name, const char *value, struct failure *f);
int cli_parse_pair(const struct config *cfg, const char *service, const char *expose,
		   struct bridge_spec *ret, struct failure *f);
const struct cli_option *cli_options(size_t *ret_n);
bool cli_option_same(const struct cli_option *o, const struct config *a,
		     const struct config *b);
void cli_option_copy(const struct cli_option *o, struct config *to, const struct config *from);
void cli_print_help(void);
void cli_print_version(void);
bool bridge_spec_uses_side(const struct bridge_spec *spec, enum side side);
bool config_mirror_excludes(const struct config *config, uint16_t port);
bool config_allows_uid(const struct config *config, uint32_t uid);
const struct in_addr *config_source_of(const struct config *config, const char *ref);
void config_free(struct config *config);

#endif /* NSBRIDGE_CLI_H */
