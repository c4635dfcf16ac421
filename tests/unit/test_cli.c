/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_cli.c - table-driven tests of the command line and NSBRIDGE_* environment
 *
 * Each row is one cmocka test: an argv vector, the NSBRIDGE_* variables to
 * set, and either the config a user would get or words of the one-line
 * error they would read. Every test starts and ends with no NSBRIDGE_*
 * variable set, whatever the environment the test runner was given.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nsbridge/cli.h"

/* cli_parse(), its failure's line copied where the tests read it */
static int cli_parse_text(int argc, char *argv[], struct config *ret, char *error, size_t len)
{
	struct failure f = FAILURE_INIT;
	int r = cli_parse(argc, argv, ret, &f);

	snprintf(error, len, "%s", f.line);
	return r;
}

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define MAX_ARGS	12
#define MAX_ENV		4
#define MAX_WORDS	3
#define MAX_BRIDGES	3

/* An expected number; NULL in a row means "the documented default" */
#define NUM(x)		(&(const unsigned){ (x) })

/**
 * struct env_var - one variable a row sets before cli_parse_text()
 * @name:	NSBRIDGE_* name
 * @value:	its value
 */
struct env_var {
	const char *name;
	const char *value;
};

/**
 * struct want_bridge - one SERVICE EXPOSE pair as cli_parse_text() must keep it
 * @service:	side of SERVICE
 * @service_port: first port of SERVICE
 * @expose:	side of EXPOSE
 * @expose_port: first port of EXPOSE
 * @ports:	port count of both
 */
struct want_bridge {
	enum side service;
	uint16_t service_port;
	enum side expose;
	uint16_t expose_port;
	unsigned ports;
};

/**
 * struct cli_case - one command line and what it must give
 * @name:		test name in the TAP output
 * @argv:		arguments after argv[0], NULL-terminated
 * @env:		variables to set, NULL-terminated
 * @error:		words the error line must contain; none for success
 * @action:		expected config, for success
 * @container:		...
 * @host_netns:		...
 * @allow_nonlocal:	...
 * @max_connections:	NULL for CLI_DEFAULT_MAX_CONNECTIONS
 * @connect_ms:		NULL for CLI_DEFAULT_CONNECT_TIMEOUT_MS
 * @idle_ms:		NULL for 0 (never)
 * @drain_ms:		NULL for CLI_DEFAULT_DRAIN_TIMEOUT_MS
 * @udp_ms:		NULL for CLI_DEFAULT_UDP_TIMEOUT_MS
 * @udp_flows:		NULL for CLI_DEFAULT_MAX_UDP_FLOWS
 * @json:		...
 * @follow:		...
 * @verbosity:		...
 * @log_format:		...
 * @n_bridges:		number of pairs
 * @bridges:		the pairs, in the order given
 */
struct cli_case {
	const char *name;
	const char *argv[MAX_ARGS];
	struct env_var env[MAX_ENV];
	const char *error[MAX_WORDS];
	enum cli_action action;
	const char *container;
	const char *host_netns;
	bool allow_nonlocal;
	const unsigned *max_connections;
	const unsigned *connect_ms;
	const unsigned *idle_ms;
	const unsigned *drain_ms;
	const unsigned *udp_ms;
	const unsigned *udp_flows;
	bool json;
	const char *status_of;
	bool watch;
	unsigned watch_ms;	/* 0: the default */
	const char *change[2];
	uint16_t metrics_port;
	const char *port_file;
	const char *user;
	size_t n_command;
	const char *command0;
	unsigned n_services;
	enum follow_mode follow;
	int verbosity;
	enum log_format log_format;
	size_t n_bridges;
	struct want_bridge bridges[MAX_BRIDGES];
};

#define H	SIDE_HOST
#define C	SIDE_CONTAINER

/* The usual pair, for rows about options rather than endpoints */
#define PAIR		"host:5432", "container:5432"
#define PAIR_BRIDGE	.n_bridges = 1, .bridges = { { H, 5432, C, 5432, 1 } }

static const struct cli_case cli_cases[] = {
	/* pairs */
	{
		.name = "no arguments",
		.argv = { NULL },
		.error = { "expected SERVICE EXPOSE", "--help" },
	},
	{
		.name = "only options, no pairs",
		.argv = { "-c", "web", NULL },
		.error = { "expected SERVICE EXPOSE" },
	},
	{
		.name = "one endpoint without EXPOSE",
		.argv = { "-c", "web", "host:5432", NULL },
		.error = { "'host:5432'", "has no EXPOSE" },
	},
	{
		.name = "three endpoints",
		.argv = { "-c", "web", "host:5432", "container:5432", "host:6379", NULL },
		.error = { "'host:6379'", "pairs" },
	},
	{
		.name = "host service exposed in container",
		.argv = { "-c", "web", "host:5432", "container:5432", NULL },
		.container = "web",
		PAIR_BRIDGE,
	},
	{
		.name = "container service exposed on host",
		.argv = { "-c", "web", "container:9229", "host:9229", NULL },
		.container = "web",
		.n_bridges = 1,
		.bridges = { { C, 9229, H, 9229, 1 } },
	},
	{
		.name = "--container=REF form",
		.argv = { "--container=pid:42", "host:62893", "container:62893", NULL },
		.container = "pid:42",
		.n_bridges = 1,
		.bridges = { { H, 62893, C, 62893, 1 } },
	},
	{
		.name = "options after the pairs",
		.argv = { PAIR, "-c", "web", "--no-follow", NULL },
		.container = "web",
		.follow = FOLLOW_OFF,
		PAIR_BRIDGE,
	},
	{
		.name = "several pairs in both directions",
		.argv = { "-c", "web", "host:5432", "container:5432", "container:9229",
			  "host:9229", "host:6379", "container:16379", NULL },
		.container = "web",
		.n_bridges = 3,
		.bridges = { { H, 5432, C, 5432, 1 }, { C, 9229, H, 9229, 1 },
			     { H, 6379, C, 16379, 1 } },
	},
	{
		.name = "ranges of the same count",
		.argv = { "-c", "web", "host:8000-8009", "container:9000-9009", NULL },
		.container = "web",
		.n_bridges = 1,
		.bridges = { { H, 8000, C, 9000, 10 } },
	},
	{
		.name = "host to host needs no container",
		.argv = { "host:5432", "host:15432", NULL },
		.n_bridges = 1,
		.bridges = { { H, 5432, H, 15432, 1 } },
	},
	{
		.name = "loopback EXPOSE addresses need no --allow-nonlocal",
		.argv = { "-c", "web", "host:80", "container:127.0.0.2:80",
			  "host:81", "container:[::1]:81", NULL },
		.container = "web",
		.n_bridges = 2,
		.bridges = { { H, 80, C, 80, 1 }, { H, 81, C, 81, 1 } },
	},
	{
		.name = "port count mismatch",
		.argv = { "-c", "web", "host:8000-8001", "container:8000", NULL },
		.error = { "host:8000-8001", "container:8000", "same count" },
	},
	{
		.name = "container EXPOSE without -c",
		.argv = { "host:5432", "container:5432", NULL },
		.error = { "'container:5432'", "--container" },
	},
	{
		.name = "container SERVICE without -c",
		.argv = { "container:9229", "host:9229", NULL },
		.error = { "'container:9229'", "--container", "NSBRIDGE_CONTAINER" },
	},
	{
		.name = "non-loopback IPv4 EXPOSE refused",
		.argv = { "-c", "web", "container:80", "host:10.0.0.1:8080", NULL },
		.error = { "'host:10.0.0.1:8080'", "--allow-nonlocal" },
	},
	{
		.name = "non-loopback IPv6 EXPOSE refused",
		.argv = { "-c", "web", "host:80", "container:[2001:db8::1]:80", NULL },
		.error = { "'container:[2001:db8::1]:80'", "--allow-nonlocal" },
	},
	{
		.name = "wildcard EXPOSE refused",
		.argv = { "-c", "web", "container:80", "host:0.0.0.0:80", NULL },
		.error = { "'host:0.0.0.0:80'", "loopback" },
	},
	{
		.name = "non-loopback EXPOSE with --allow-nonlocal",
		.argv = { "-c", "web", "--allow-nonlocal", "container:80", "host:10.0.0.1:8080",
			  NULL },
		.container = "web",
		.allow_nonlocal = true,
		.n_bridges = 1,
		.bridges = { { C, 80, H, 8080, 1 } },
	},
	{
		.name = "relay to itself",
		.argv = { "host:80", "host:80", NULL },
		.error = { "'host:80 host:80'", "relay to itself" },
	},
	{
		.name = "relay to itself through crossing ranges",
		.argv = { "host:8000-8001", "host:8001-8002", NULL },
		.error = { "host:8000-8001 host:8001-8002", "relay to itself" },
	},
	{
		.name = "relay to itself through a wildcard EXPOSE",
		.argv = { "--allow-nonlocal", "host:127.0.0.1:80", "host:0.0.0.0:80", NULL },
		.error = { "'host:127.0.0.1:80 host:0.0.0.0:80'", "relay to itself" },
	},
	{
		.name = "two EXPOSEs on the same port",
		.argv = { "-c", "web", "host:80", "container:80", "host:81", "container:80",
			  NULL },
		.error = { "EXPOSE 'container:80' overlaps" },
	},
	{
		.name = "two EXPOSE ranges that cross",
		.argv = { "-c", "web", "host:8000-8009", "container:8000-8009", "host:9005",
			  "container:8005", NULL },
		.error = { "'container:8005'", "'container:8000-8009'", "overlaps" },
	},
	{
		.name = "wildcard EXPOSE overlaps a loopback EXPOSE",
		.argv = { "-c", "web", "--allow-nonlocal", "container:80", "host:127.0.0.1:8080",
			  "container:81", "host:0.0.0.0:8080", NULL },
		.error = { "EXPOSE 'host:0.0.0.0:8080' overlaps EXPOSE 'host:127.0.0.1:8080'" },
	},
	{
		.name = "/udp on both sides",
		.argv = { "-c", "web", "host:53/udp", "container:53/udp", NULL },
		.container = "web",
		.n_bridges = 1,
		.bridges = { { H, 53, C, 53, 1 } },
	},
	{
		.name = "/udp range",
		.argv = { "-c", "web", "host:5000-5009/udp", "container:6000-6009/udp", NULL },
		.container = "web",
		.n_bridges = 1,
		.bridges = { { H, 5000, C, 6000, 10 } },
	},
	{
		.name = "/udp on one side refused",
		.argv = { "-c", "web", "host:53", "container:53/udp", NULL },
		.error = { "'host:53 container:53/udp'", "SERVICE is tcp and EXPOSE udp" },
	},
	{
		.name = "/tcp SERVICE for a /udp EXPOSE refused",
		.argv = { "-c", "web", "host:53/tcp", "container:53/udp", NULL },
		.error = { "same protocol" },
	},
	{
		.name = "--udp-timeout and --max-udp-flows",
		.argv = { "-c", "web", "--udp-timeout", "2s", "--max-udp-flows", "10", PAIR, NULL },
		.container = "web",
		.udp_ms = NUM(2000),
		.udp_flows = NUM(10),
		PAIR_BRIDGE,
	},
	{
		.name = "NSBRIDGE_UDP_TIMEOUT and NSBRIDGE_MAX_UDP_FLOWS",
		.argv = { "-c", "web", PAIR, NULL },
		.env = { { "NSBRIDGE_UDP_TIMEOUT", "500ms" }, { "NSBRIDGE_MAX_UDP_FLOWS", "7" } },
		.container = "web",
		.udp_ms = NUM(500),
		.udp_flows = NUM(7),
		PAIR_BRIDGE,
	},
	{
		.name = "--udp-timeout 0 refused",
		.argv = { "-c", "web", "--udp-timeout", "0", PAIR, NULL },
		.error = { "--udp-timeout '0'", "above zero" },
	},
	{
		.name = "--max-udp-flows 0 refused",
		.argv = { "-c", "web", "--max-udp-flows", "0", PAIR, NULL },
		.error = { "--max-udp-flows '0'", "from 1 to 1000000" },
	},
	{
		.name = "unix EXPOSE refused",
		.argv = { "-c", "web", "host:80", "unix:/tmp/x.sock", NULL },
		.error = { "EXPOSE 'unix:/tmp/x.sock'", "SERVICE" },
	},
	{
		.name = "--allow-uid on a host EXPOSE",
		.argv = { "-c", "web", "--allow-uid", "0,1000", "container:9229", "host:9229", NULL },
		.container = "web",
		.n_bridges = 1,
		.bridges = { { C, 9229, H, 9229, 1 } },
	},
	{
		.name = "--allow-uid without a host EXPOSE",
		.argv = { "-c", "web", "--allow-uid", "0", PAIR, NULL },
		.error = { "--allow-uid", "no bridge exposes there" },
	},
	{
		.name = "--allow-uid not a number",
		.argv = { "-c", "web", "--allow-uid", "root", "container:9229", "host:9229", NULL },
		.error = { "--allow-uid 'root'", "user ids" },
	},
	{
		.name = "--allow-uid (uid_t)-1",
		.argv = { "-c", "web", "--allow-uid", "4294967295", "container:9229", "host:9229",
			  NULL },
		.error = { "--allow-uid '4294967295'" },
	},
	{
		.name = "ports",
		.argv = { "ports", NULL },
		.action = CLI_PORTS,
	},
	{
		.name = "ports -c web --json",
		.argv = { "ports", "-c", "web", "--json", NULL },
		.action = CLI_PORTS,
		.container = "web",
		.json = true,
	},
	{
		.name = "ports with an argument",
		.argv = { "ports", "host:80", NULL },
		.error = { "'host:80'", "nsbridge ports takes no arguments" },
	},
	{
		.name = "--json without ports",
		.argv = { "-c", "web", "--json", PAIR, NULL },
		.error = { "--json goes with nsbridge ports" },
	},
	{
		.name = "-- CMD after the bridges",
		.argv = { "-c", "web", PAIR, "--", "sh", "-c", "exit 3", NULL },
		.container = "web",
		.n_command = 3,
		.command0 = "sh",
		PAIR_BRIDGE,
	},
	{
		.name = "-- CMD whose words look like options and bridges",
		.argv = { "-vc", "web", PAIR, "--", "nsbridge", "-q", "host:1", NULL },
		.container = "web",
		.verbosity = 1,
		.n_command = 3,
		.command0 = "nsbridge",
		PAIR_BRIDGE,
	},
	{
		.name = "-- CMD with options after the bridges",
		.argv = { PAIR, "--container", "web", "--port-file", "ports.txt", "--", "true", NULL },
		.container = "web",
		.port_file = "ports.txt",
		.n_command = 1,
		.command0 = "true",
		PAIR_BRIDGE,
	},
	{
		.name = "-- without a command",
		.argv = { "-c", "web", PAIR, "--", NULL },
		.error = { "'--' must be followed by a command" },
	},
	{
		.name = "-- CMD with a subcommand",
		.argv = { "status", "--", "true", NULL },
		.error = { "'-- CMD' goes with bridges" },
	},
	{
		.name = "several SERVICEs",
		.argv = { "host:8081,host:8082,container:8083", "host:8080", "-c", "web", NULL },
		.container = "web",
		.n_services = 3,
		.n_bridges = 1,
		.bridges = { { H, 8081, H, 8080, 1 } },
	},
	{
		.name = "several SERVICEs: an empty one",
		.argv = { "host:8081,", "container:8080", "-c", "web", NULL },
		.error = { "SERVICE ''", "expected" },
	},
	{
		.name = "several SERVICEs: UDP",
		.argv = { "host:53/udp,host:54/udp", "container:53/udp", "-c", "web", NULL },
		.error = { "several SERVICEs are for TCP" },
	},
	{
		.name = "several SERVICEs: one a range of another size",
		.argv = { "host:8081,host:9000-9001", "container:8080", "-c", "web", NULL },
		.error = { "'host:9000-9001 container:8080'", "same count" },
	},
	{
		.name = "several SERVICEs: nine",
		.argv = { "host:1,host:2,host:3,host:4,host:5,host:6,host:7,host:8,host:9",
			  "container:8080", "-c", "web", NULL },
		.error = { "at most 8" },
	},
	{
		.name = "EXPOSE port 0",
		.argv = { "-c", "web", "host:5432", "container:0", NULL },
		.container = "web",
		.n_bridges = 1,
		.bridges = { { H, 5432, C, 0, 1 } },
	},
	{
		.name = "SERVICE port 0",
		.argv = { "-c", "web", "host:0", "container:5432", NULL },
		.error = { "SERVICE 'host:0'", "only an EXPOSE" },
	},
	{
		.name = "--port-file empty",
		.argv = { "-c", "web", "--port-file", "", PAIR, NULL },
		.error = { "--port-file ''", "not empty" },
	},
	{
		.name = "--user",
		.argv = { "-c", "web", "--user", "nsbridge", PAIR, NULL },
		.container = "web",
		.user = "nsbridge",
		PAIR_BRIDGE,
	},
	{
		.name = "--user from the environment, the flag beats it",
		.argv = { "-c", "web", "--user=4242", PAIR, NULL },
		.env = { { "NSBRIDGE_USER", "nobody" } },
		.container = "web",
		.user = "4242",
		PAIR_BRIDGE,
	},
	{
		.name = "NSBRIDGE_USER",
		.argv = { "-c", "web", PAIR, NULL },
		.env = { { "NSBRIDGE_USER", "nobody" } },
		.container = "web",
		.user = "nobody",
		PAIR_BRIDGE,
	},
	{
		.name = "--user empty",
		.argv = { "-c", "web", "--user", "", PAIR, NULL },
		.error = { "--user ''", "a user name or number" },
	},
	{
		.name = "NSBRIDGE_USER empty",
		.argv = { "-c", "web", PAIR, NULL },
		.env = { { "NSBRIDGE_USER", "" } },
		.error = { "NSBRIDGE_USER", "a user name or number" },
	},
	{
		.name = "status",
		.argv = { "status", NULL },
		.action = CLI_STATUS,
	},
	{
		.name = "status --json PID",
		.argv = { "status", "--json", "1234", NULL },
		.action = CLI_STATUS,
		.json = true,
		.status_of = "1234",
	},
	{
		.name = "status with two arguments",
		.argv = { "status", "1", "2", NULL },
		.error = { "'2'", "at most one PID" },
	},
	{
		.name = "status --watch",
		.argv = { "status", "--watch", NULL },
		.action = CLI_STATUS,
		.watch = true,
	},
	{
		.name = "status --watch INTERVAL PID",
		.argv = { "status", "--watch", "500ms", "1234", NULL },
		.action = CLI_STATUS,
		.watch = true,
		.watch_ms = 500,
		.status_of = "1234",
	},
	{
		.name = "status --watch PID INTERVAL",
		.argv = { "status", "1234", "--watch", "2m", NULL },
		.action = CLI_STATUS,
		.watch = true,
		.watch_ms = 120000,
		.status_of = "1234",
	},
	{
		.name = "status --watch NUMBER: a PID, not an interval",
		.argv = { "status", "--watch", "5", NULL },
		.action = CLI_STATUS,
		.watch = true,
		.status_of = "5",
	},
	{
		.name = "status --watch 0s",
		.argv = { "status", "--watch", "0s", NULL },
		.error = { "--watch needs an INTERVAL above 0" },
	},
	{
		.name = "status --watch PID PID",
		.argv = { "status", "--watch", "1", "2", NULL },
		.error = { "'2'", "an INTERVAL with its unit" },
	},
	{
		.name = "status --watch --json",
		.argv = { "status", "--watch", "--json", NULL },
		.error = { "--watch and --json" },
	},
	{
		.name = "--watch without status",
		.argv = { "ports", "--watch", NULL },
		.error = { "--watch goes with nsbridge status" },
	},
	{
		.name = "add PID SERVICE EXPOSE",
		.argv = { "add", "1234", "host:6379", "container:6379", NULL },
		.action = CLI_ADD,
		.status_of = "1234",
		.change = { "host:6379", "container:6379" },
	},
	{
		.name = "add SERVICE EXPOSE, to the only one",
		.argv = { "add", "host:6379", "container:6379", NULL },
		.action = CLI_ADD,
		.change = { "host:6379", "container:6379" },
	},
	{
		.name = "add without EXPOSE",
		.argv = { "add", "host:6379", NULL },
		.error = { "nsbridge add takes", "SERVICE EXPOSE" },
	},
	{
		.name = "remove PID EXPOSE",
		.argv = { "remove", "/run/nsbridge/1.sock", "container:6379", NULL },
		.action = CLI_REMOVE,
		.status_of = "/run/nsbridge/1.sock",
		.change = { "container:6379" },
	},
	{
		.name = "remove with too much",
		.argv = { "remove", "1", "host:1", "container:1", NULL },
		.error = { "nsbridge remove takes", "EXPOSE" },
	},
	{
		.name = "--metrics PORT",
		.argv = { "-c", "web", "--metrics", "9464", PAIR, NULL },
		.container = "web",
		.metrics_port = 9464,
		PAIR_BRIDGE,
	},
	{
		.name = "--metrics [::1]:PORT from the environment",
		.argv = { "-c", "web", PAIR, NULL },
		.env = { { "NSBRIDGE_METRICS", "[::1]:9100" } },
		.container = "web",
		.metrics_port = 9100,
		PAIR_BRIDGE,
	},
	{
		.name = "--metrics not loopback",
		.argv = { "-c", "web", "--metrics", "0.0.0.0:9464", PAIR, NULL },
		.error = { "--metrics '0.0.0.0:9464'", "not a loopback address", "--allow-nonlocal" },
	},
	{
		.name = "--metrics not loopback with --allow-nonlocal",
		.argv = { "-c", "web", "--allow-nonlocal", "--metrics", "0.0.0.0:9464", PAIR, NULL },
		.container = "web",
		.allow_nonlocal = true,
		.metrics_port = 9464,
		PAIR_BRIDGE,
	},
	{
		.name = "--metrics with a range",
		.argv = { "-c", "web", "--metrics", "9464-9465", PAIR, NULL },
		.error = { "--metrics '9464-9465'", "[ADDR:]PORT" },
	},
	{
		.name = "--metrics /udp",
		.argv = { "-c", "web", "--metrics", "9464/udp", PAIR, NULL },
		.error = { "--metrics '9464/udp'", "[ADDR:]PORT" },
	},
	{
		.name = "--mirror host container",
		.argv = { "-c", "web", "--mirror", "host", "container", NULL },
		.container = "web",
		.n_bridges = 1,
		.bridges = { { H, 1, C, 1, 65535 } },
	},
	{
		.name = "--mirror container host --mirror-udp --mirror-exclude",
		.argv = { "-c", "web", "--mirror", "--mirror-udp", "--mirror-exclude", "22,8000-8099",
			  "container", "host", NULL },
		.container = "web",
		.n_bridges = 2,
		.bridges = { { C, 1, H, 1, 65535 }, { C, 1, H, 1, 65535 } },
	},
	{
		.name = "--mirror with one side",
		.argv = { "-c", "web", "--mirror", "host", NULL },
		.error = { "--mirror takes two sides" },
	},
	{
		.name = "--mirror with the same side twice",
		.argv = { "-c", "web", "--mirror", "host", "host", NULL },
		.error = { "--mirror takes two sides" },
	},
	{
		.name = "--mirror with endpoints",
		.argv = { "-c", "web", "--mirror", "host:80", "container:80", NULL },
		.error = { "--mirror takes two sides" },
	},
	{
		.name = "--mirror without a container",
		.argv = { "--mirror", "host", "container", NULL },
		.error = { "--mirror needs --container" },
	},
	{
		.name = "--mirror-exclude 0",
		.argv = { "-c", "web", "--mirror", "--mirror-exclude", "0", "host", "container", NULL },
		.error = { "--mirror-exclude '0'", "ports and ranges" },
	},
	{
		.name = "--mirror-exclude backwards range",
		.argv = { "-c", "web", "--mirror", "--mirror-exclude", "90-80", "host", "container",
			  NULL },
		.error = { "--mirror-exclude '90-80'" },
	},
	{
		.name = "--mirror-exclude trailing comma",
		.argv = { "-c", "web", "--mirror", "--mirror-exclude", "22,", "host", "container",
			  NULL },
		.error = { "--mirror-exclude '22,'" },
	},
	{
		.name = "--mirror-udp without --mirror",
		.argv = { "-c", "web", "--mirror-udp", PAIR, NULL },
		.error = { "go with --mirror" },
	},
	{
		.name = "unix SERVICE exposed in the container",
		.argv = { "-c", "web", "unix:/run/pg.sock", "container:5432", NULL },
		.container = "web",
		.n_bridges = 1,
		.bridges = { { H, 0, C, 5432, 1 } },
	},
	{
		.name = "unix SERVICE with a /udp EXPOSE refused",
		.argv = { "-c", "web", "unix:/run/pg.sock", "container:5432/udp", NULL },
		.error = { "unix:/run/pg.sock", "must be TCP" },
	},
	{
		.name = "unix SERVICE with a port range refused",
		.argv = { "-c", "web", "unix:/run/pg.sock", "container:5432-5433", NULL },
		.error = { "unix:/run/pg.sock", "must be one port" },
	},
	{
		.name = "bad SERVICE endpoint",
		.argv = { "-c", "web", "host:99999", "container:80", NULL },
		.error = { "SERVICE 'host:99999'", "65535" },
	},
	{
		.name = "bad EXPOSE endpoint",
		.argv = { "-c", "web", "host:80", "container:::1:80", NULL },
		.error = { "EXPOSE 'container:::1:80'", "bracket" },
	},

	/* options */
	{
		.name = "unknown short option",
		.argv = { "-x", PAIR, NULL },
		.error = { "unknown option '-x'" },
	},
	{
		.name = "unknown long option",
		.argv = { "-c", "web", "--bogus", PAIR, NULL },
		.error = { "unknown option '--bogus'" },
	},
	{
		.name = "a switch given a value",
		.argv = { "--help=yes", NULL },
		.error = { "option '--help' takes no value" },
	},
	{
		.name = "--container without value, named as written",
		.argv = { PAIR, "--container", NULL },
		.error = { "option '--container' needs a value" },
	},
	{
		.name = "-c without value",
		.argv = { PAIR, "-c", NULL },
		.error = { "'-c'", "needs a value" },
	},
	{
		.name = "--connect-timeout without value",
		.argv = { "-c", "web", PAIR, "--connect-timeout", NULL },
		.error = { "'--connect-timeout'", "needs a value" },
	},
	{
		.name = "empty -c",
		.argv = { "-c", "", PAIR, NULL },
		.error = { "--container ''", "not empty" },
	},
	{
		.name = "--host-netns PATH",
		.argv = { "--host-netns", "/proc/1/ns/net", "-c", "self", PAIR, NULL },
		.container = "self",
		.host_netns = "/proc/1/ns/net",
		PAIR_BRIDGE,
	},
	{
		.name = "--connect-timeout 500ms",
		.argv = { "-c", "web", "--connect-timeout", "500ms", PAIR, NULL },
		.container = "web",
		.connect_ms = NUM(500),
		PAIR_BRIDGE,
	},
	{
		.name = "--connect-timeout 5s",
		.argv = { "-c", "web", "--connect-timeout", "5s", PAIR, NULL },
		.container = "web",
		.connect_ms = NUM(5000),
		PAIR_BRIDGE,
	},
	{
		.name = "--connect-timeout=2m",
		.argv = { "-c", "web", "--connect-timeout=2m", PAIR, NULL },
		.container = "web",
		.connect_ms = NUM(120000),
		PAIR_BRIDGE,
	},
	{
		.name = "--idle-timeout 1h",
		.argv = { "-c", "web", "--idle-timeout", "1h", PAIR, NULL },
		.container = "web",
		.idle_ms = NUM(3600000),
		PAIR_BRIDGE,
	},
	{
		.name = "--connect-timeout 7 is seconds",
		.argv = { "-c", "web", "--connect-timeout", "7", PAIR, NULL },
		.container = "web",
		.connect_ms = NUM(7000),
		PAIR_BRIDGE,
	},
	{
		.name = "--drain-timeout 0 means none",
		.argv = { "-c", "web", "--drain-timeout", "0", PAIR, NULL },
		.container = "web",
		.drain_ms = NUM(0),
		PAIR_BRIDGE,
	},
	{
		.name = "--idle-timeout 0 means never",
		.argv = { "-c", "web", "--idle-timeout", "0", PAIR, NULL },
		.container = "web",
		.idle_ms = NUM(0),
		PAIR_BRIDGE,
	},
	{
		.name = "--connect-timeout 0 refused",
		.argv = { "-c", "web", "--connect-timeout", "0", PAIR, NULL },
		.error = { "--connect-timeout '0'", "above zero" },
	},
	{
		.name = "--connect-timeout 5x refused",
		.argv = { "-c", "web", "--connect-timeout", "5x", PAIR, NULL },
		.error = { "--connect-timeout '5x'", "500ms" },
	},
	{
		.name = "--drain-timeout 5000000h overflows",
		.argv = { "-c", "web", "--drain-timeout", "5000000h", PAIR, NULL },
		.error = { "--drain-timeout '5000000h'", "duration" },
	},
	{
		.name = "--max-connections 0 refused",
		.argv = { "-c", "web", "--max-connections", "0", PAIR, NULL },
		.error = { "--max-connections '0'", "1 to 1000000" },
	},
	{
		.name = "--max-connections abc refused",
		.argv = { "-c", "web", "--max-connections", "abc", PAIR, NULL },
		.error = { "--max-connections 'abc'", "1 to 1000000" },
	},
	{
		.name = "--max-connections 1000001 refused",
		.argv = { "-c", "web", "--max-connections", "1000001", PAIR, NULL },
		.error = { "--max-connections '1000001'", "1 to 1000000" },
	},
	{
		.name = "--max-connections 1000000",
		.argv = { "-c", "web", "--max-connections", "1000000", PAIR, NULL },
		.container = "web",
		.max_connections = NUM(1000000),
		PAIR_BRIDGE,
	},
	{
		.name = "--max-connections 1",
		.argv = { "-c", "web", "--max-connections", "1", PAIR, NULL },
		.container = "web",
		.max_connections = NUM(1),
		PAIR_BRIDGE,
	},
	{
		.name = "--log-format json",
		.argv = { "-c", "web", "--log-format", "json", PAIR, NULL },
		.container = "web",
		.log_format = LOG_FORMAT_JSON,
		PAIR_BRIDGE,
	},
	{
		.name = "--log-format text",
		.argv = { "-c", "web", "--log-format", "text", PAIR, NULL },
		.container = "web",
		.log_format = LOG_FORMAT_TEXT,
		PAIR_BRIDGE,
	},
	{
		.name = "--log-format xml refused",
		.argv = { "-c", "web", "--log-format", "xml", PAIR, NULL },
		.error = { "--log-format 'xml'", "'json'" },
	},
	{
		.name = "-v -v is debug",
		.argv = { "-c", "web", "-v", "-v", PAIR, NULL },
		.container = "web",
		.verbosity = 2,
		PAIR_BRIDGE,
	},
	{
		.name = "-vv is debug",
		.argv = { "-c", "web", "-vv", PAIR, NULL },
		.container = "web",
		.verbosity = 2,
		PAIR_BRIDGE,
	},
	{
		.name = "--verbose",
		.argv = { "-c", "web", "--verbose", PAIR, NULL },
		.container = "web",
		.verbosity = 1,
		PAIR_BRIDGE,
	},
	{
		.name = "-q",
		.argv = { "-c", "web", "-q", PAIR, NULL },
		.container = "web",
		.verbosity = -1,
		PAIR_BRIDGE,
	},
	{
		.name = "--no-follow",
		.argv = { "-c", "web", "--no-follow", PAIR, NULL },
		.container = "web",
		.follow = FOLLOW_OFF,
		PAIR_BRIDGE,
	},
	{
		.name = "--follow",
		.argv = { "-c", "pid:42", "--follow", PAIR, NULL },
		.container = "pid:42",
		.follow = FOLLOW_ON,
		PAIR_BRIDGE,
	},
	{
		.name = "the last of --no-follow --follow wins",
		.argv = { "-c", "web", "--no-follow", "--follow", PAIR, NULL },
		.container = "web",
		.follow = FOLLOW_ON,
		PAIR_BRIDGE,
	},
	{
		.name = "--help needs no pairs",
		.argv = { "--help", NULL },
		.action = CLI_HELP,
	},
	{
		.name = "-h ignores bad pairs",
		.argv = { "host:99999", "-h", NULL },
		.action = CLI_HELP,
	},
	{
		.name = "--version needs no pairs",
		.argv = { "--version", NULL },
		.action = CLI_VERSION,
	},

	/* environment */
	{
		.name = "NSBRIDGE_CONTAINER used without -c",
		.argv = { PAIR, NULL },
		.env = { { "NSBRIDGE_CONTAINER", "web" } },
		.container = "web",
		PAIR_BRIDGE,
	},
	{
		.name = "-c wins over NSBRIDGE_CONTAINER",
		.argv = { "-c", "db", PAIR, NULL },
		.env = { { "NSBRIDGE_CONTAINER", "web" } },
		.container = "db",
		PAIR_BRIDGE,
	},
	{
		.name = "bad NSBRIDGE_CONNECT_TIMEOUT",
		.argv = { "-c", "web", PAIR, NULL },
		.env = { { "NSBRIDGE_CONNECT_TIMEOUT", "5x" } },
		.error = { "NSBRIDGE_CONNECT_TIMEOUT='5x'", "duration" },
	},
	{
		.name = "NSBRIDGE_CONNECT_TIMEOUT 0 refused",
		.argv = { "-c", "web", PAIR, NULL },
		.env = { { "NSBRIDGE_CONNECT_TIMEOUT", "0" } },
		.error = { "NSBRIDGE_CONNECT_TIMEOUT='0'", "above zero" },
	},
	{
		.name = "--connect-timeout wins over NSBRIDGE_CONNECT_TIMEOUT",
		.argv = { "-c", "web", "--connect-timeout", "750ms", PAIR, NULL },
		.env = { { "NSBRIDGE_CONNECT_TIMEOUT", "2s" } },
		.container = "web",
		.connect_ms = NUM(750),
		PAIR_BRIDGE,
	},
	{
		.name = "NSBRIDGE_ALLOW_NONLOCAL=yes",
		.argv = { "-c", "web", "container:80", "host:192.0.2.1:8080", NULL },
		.env = { { "NSBRIDGE_ALLOW_NONLOCAL", "yes" } },
		.container = "web",
		.allow_nonlocal = true,
		.n_bridges = 1,
		.bridges = { { C, 80, H, 8080, 1 } },
	},
	{
		.name = "NSBRIDGE_ALLOW_NONLOCAL=no still refuses",
		.argv = { "-c", "web", "container:80", "host:192.0.2.1:8080", NULL },
		.env = { { "NSBRIDGE_ALLOW_NONLOCAL", "no" } },
		.error = { "'host:192.0.2.1:8080'", "--allow-nonlocal" },
	},
	{
		.name = "bad NSBRIDGE_ALLOW_NONLOCAL",
		.argv = { "-c", "web", PAIR, NULL },
		.env = { { "NSBRIDGE_ALLOW_NONLOCAL", "maybe" } },
		.error = { "NSBRIDGE_ALLOW_NONLOCAL='maybe'", "yes" },
	},
	{
		.name = "NSBRIDGE_QUIET=1",
		.argv = { "-c", "web", PAIR, NULL },
		.env = { { "NSBRIDGE_QUIET", "1" } },
		.container = "web",
		.verbosity = -1,
		PAIR_BRIDGE,
	},
	{
		.name = "-v wins over NSBRIDGE_QUIET=1",
		.argv = { "-c", "web", "-v", PAIR, NULL },
		.env = { { "NSBRIDGE_QUIET", "1" } },
		.container = "web",
		.verbosity = 1,
		PAIR_BRIDGE,
	},
	{
		.name = "NSBRIDGE_QUIET=0 keeps NSBRIDGE_VERBOSE=1",
		.argv = { "-c", "web", PAIR, NULL },
		.env = { { "NSBRIDGE_VERBOSE", "1" }, { "NSBRIDGE_QUIET", "0" } },
		.container = "web",
		.verbosity = 1,
		PAIR_BRIDGE,
	},
	{
		.name = "NSBRIDGE_MAX_CONNECTIONS, NSBRIDGE_LOG_FORMAT, NSBRIDGE_FOLLOW",
		.argv = { "-c", "web", PAIR, NULL },
		.env = { { "NSBRIDGE_MAX_CONNECTIONS", "100" },
			 { "NSBRIDGE_LOG_FORMAT", "json" },
			 { "NSBRIDGE_FOLLOW", "off" } },
		.container = "web",
		.max_connections = NUM(100),
		.log_format = LOG_FORMAT_JSON,
		.follow = FOLLOW_OFF,
		PAIR_BRIDGE,
	},
	{
		.name = "NSBRIDGE_HOST_NETNS and NSBRIDGE_DRAIN_TIMEOUT",
		.argv = { "-c", "self", PAIR, NULL },
		.env = { { "NSBRIDGE_HOST_NETNS", "/proc/1/ns/net" },
			 { "NSBRIDGE_DRAIN_TIMEOUT", "30s" } },
		.container = "self",
		.host_netns = "/proc/1/ns/net",
		.drain_ms = NUM(30000),
		PAIR_BRIDGE,
	},
	{
		.name = "bad NSBRIDGE_MAX_CONNECTIONS",
		.argv = { "-c", "web", PAIR, NULL },
		.env = { { "NSBRIDGE_MAX_CONNECTIONS", "0" } },
		.error = { "NSBRIDGE_MAX_CONNECTIONS='0'", "1 to 1000000" },
	},
};

/**
 * struct option_case - the test row of one option of cli.c's table
 * @name:	its long name
 * @from:	where it may be given, CLI_FROM_* bits
 * @value:	a valid value that is not the default; NULL for a switch
 * @offset:	the member of struct config it must change
 * @size:	the size of that member
 */
struct option_case {
	const char *name;
	unsigned from;
	const char *value;
	size_t offset;
	size_t size;
};

#define EVERYWHERE	(CLI_FROM_ARGV | CLI_FROM_ENV | CLI_FROM_FILE)
#define NOT_IN_FILE	(CLI_FROM_ARGV | CLI_FROM_ENV)
#define ONLY_ARGV	CLI_FROM_ARGV

#define MEMBER(f)	offsetof(struct config, f), sizeof(((struct config *)0)->f)

/*
 * Every option, set alone through each of the places its row allows,
 * must change its member of struct config: the check that the switches
 * over every option and -Wswitch-enum used to give. An option of cli.c
 * without a row here fails "every option has a test row".
 */
static const struct option_case option_cases[] = {
	{ "container", EVERYWHERE, "web", MEMBER(container) },
	{ "host-netns", EVERYWHERE, "/run/netns/dev", MEMBER(host_netns) },
	{ "allow-nonlocal", EVERYWHERE, NULL, MEMBER(allow_nonlocal) },
	{ "allow-uid", EVERYWHERE, "1000", MEMBER(n_allow_uids) },
	{ "max-connections", EVERYWHERE, "7", MEMBER(max_connections) },
	{ "max-udp-flows", EVERYWHERE, "7", MEMBER(max_udp_flows) },
	{ "connect-timeout", EVERYWHERE, "1s", MEMBER(connect_timeout_ms) },
	{ "idle-timeout", EVERYWHERE, "1s", MEMBER(idle_timeout_ms) },
	{ "drain-timeout", EVERYWHERE, "1s", MEMBER(drain_timeout_ms) },
	{ "udp-timeout", EVERYWHERE, "1s", MEMBER(udp_timeout_ms) },
	{ "mirror", EVERYWHERE, NULL, MEMBER(mirror) },
	{ "mirror-exclude", EVERYWHERE, "22", MEMBER(n_mirror_exclude) },
	{ "mirror-udp", EVERYWHERE, NULL, MEMBER(mirror_udp) },
	{ "labels", EVERYWHERE, NULL, MEMBER(labels) },
	{ "follow", EVERYWHERE, NULL, MEMBER(follow) },
	{ "no-follow", ONLY_ARGV, NULL, MEMBER(follow) },
	{ "user", EVERYWHERE, "nobody", MEMBER(user) },
	{ "metrics", EVERYWHERE, "9464", MEMBER(has_metrics) },
	{ "config", NOT_IN_FILE, "/dev/null", MEMBER(config_file) },
	{ "verbose", EVERYWHERE, NULL, MEMBER(verbosity) },
	{ "quiet", EVERYWHERE, NULL, MEMBER(verbosity) },
	{ "log-format", EVERYWHERE, "json", MEMBER(log_format) },
	{ "port-file", EVERYWHERE, "/tmp/nsbridge.ports", MEMBER(port_file) },
	{ "json", ONLY_ARGV, NULL, MEMBER(json) },
	{ "watch", ONLY_ARGV, NULL, MEMBER(watch) },
	{ "labels-allow-nonlocal", EVERYWHERE, NULL, MEMBER(labels_allow_nonlocal) },
	{ "labels-min-port", EVERYWHERE, "7", MEMBER(labels_min_port) },
	{ "labels-sources", EVERYWHERE, "127.77.0.0/16", MEMBER(labels_sources) },
	{ "source", EVERYWHERE, "127.77.0.5", MEMBER(n_sources) },
	{ "sources-file", EVERYWHERE, "/tmp/nsbridge.sources", MEMBER(sources_file) },
	{ "proxy-protocol", EVERYWHERE, NULL, MEMBER(proxy_protocol) },
	{ "version", ONLY_ARGV, NULL, MEMBER(action) },
	{ "help", ONLY_ARGV, NULL, MEMBER(action) },
};

/* Unset every NSBRIDGE_* variable, so no row sees another's or the runner's */
static int clear_nsbridge_env(void **state)
{
	size_t i = 0;

	while (environ[i]) {
		const char *eq = strchr(environ[i], '=');
		char name[256];
		size_t len;

		if (strncmp(environ[i], "NSBRIDGE_", 9) != 0 || !eq) {
			i++;
			continue;
		}
		len = (size_t)(eq - environ[i]);
		assert_true(len < sizeof(name));
		memcpy(name, environ[i], len);
		name[len] = '\0';
		assert_int_equal(unsetenv(name), 0);
		/* unsetenv() moves the entries down: look at the same index again */
	}
	return 0;
}

static void assert_words(const char *error, const char *const words[MAX_WORDS])
{
	assert_true(error[0] != '\0');
	if (strchr(error, '\n'))
		fail_msg("error is not one line: \"%s\"", error);
	for (size_t i = 0; i < MAX_WORDS && words[i]; i++)
		if (!strstr(error, words[i]))
			fail_msg("error \"%s\" lacks \"%s\"", error, words[i]);
}

static void assert_count(const char *field, unsigned got, const unsigned *want,
			 unsigned dflt)
{
	unsigned expected = want ? *want : dflt;

	if (got != expected)
		fail_msg("%s: %u, expected %u", field, got, expected);
}

static void assert_string_or_null(const char *got, const char *want)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

/* --mirror-exclude: exactly the ports and ranges given, the last one given wins */
static void test_mirror_exclude(void **state)
{
	char *argv[] = { "nsbridge", "-c", "web", "--mirror", "--mirror-exclude", "1",
			 "--mirror-exclude", "22,5432,8000-8099,65535", "host", "container", NULL };
	char error[CLI_ERROR_MAX];
	struct config cfg;

	(void)state;
	assert_int_equal(cli_parse_text(10, argv, &cfg, error, sizeof(error)), 0);
	assert_false(config_mirror_excludes(&cfg, 1));
	assert_false(config_mirror_excludes(&cfg, 21));
	assert_true(config_mirror_excludes(&cfg, 22));
	assert_false(config_mirror_excludes(&cfg, 23));
	assert_true(config_mirror_excludes(&cfg, 5432));
	assert_false(config_mirror_excludes(&cfg, 7999));
	assert_true(config_mirror_excludes(&cfg, 8000));
	assert_true(config_mirror_excludes(&cfg, 8050));
	assert_true(config_mirror_excludes(&cfg, 8099));
	assert_false(config_mirror_excludes(&cfg, 8100));
	assert_true(config_mirror_excludes(&cfg, 65535));
	config_free(&cfg);
}

/* Parse @argv (NULL-terminated, without argv[0]): 0 and @cfg, or the error in @error */
static int parse_args(const char *const *args, struct config *cfg, char *error, size_t len)
{
	char *argv[18] = { "nsbridge" };
	int argc = 1;

	while (args[argc - 1] && argc < 17) {
		argv[argc] = (char *)args[argc - 1];
		argc++;
	}
	return cli_parse_text(argc, argv, cfg, error, len);
}

static void assert_source(const struct config *cfg, const char *ref, const char *addr)
{
	const struct in_addr *a = config_source_of(cfg, ref);
	char text[INET_ADDRSTRLEN];

	if (!addr) {
		assert_null(a);
		return;
	}
	assert_non_null(a);
	assert_string_equal(inet_ntop(AF_INET, a, text, sizeof(text)), addr);
}

/* --source belongs to the -c before it; a lone -c's wherever it stands */
static void test_sources(void **state)
{
	static const char *const two[] = {
		"-c", "web", "--source", "127.77.0.5", "host:5432", "container:5432",
		"-c", "api", "--source=127.77.0.6", "host:5432", "container:5433", NULL,
	};
	static const char *const lone[] = {
		"--source", "127.77.0.9", "-c", "web", "host:5432", "container:5432", NULL,
	};
	char error[CLI_ERROR_MAX];
	struct config cfg;

	(void)state;
	assert_int_equal(parse_args(two, &cfg, error, sizeof(error)), 0);
	assert_source(&cfg, "web", "127.77.0.5");
	assert_source(&cfg, "api", "127.77.0.6");
	assert_source(&cfg, "db", NULL);
	config_free(&cfg);
	assert_int_equal(parse_args(lone, &cfg, error, sizeof(error)), 0);
	assert_source(&cfg, "web", "127.77.0.9");
	config_free(&cfg);
}

/* What --source and --labels-sources refuse, each in one line */
static void test_source_refusals(void **state)
{
	static const struct {
		const char *args[16];
		const char *words[MAX_WORDS];
	} rows[] = {
		{ { "-c", "web", "--source", "10.0.0.5", PAIR, NULL },
		  { "--source '10.0.0.5'", "127.0.0.0/8" } },
		{ { "-c", "web", "--source", "127.77.0.5", "container:9229", "host:9229", NULL },
		  { "no bridge of container 'web'", "SERVICE on the host" } },
		{ { "-c", "web", "--source", "127.77.0.5", PAIR, "-c", "api", "--source",
		    "127.77.0.5", "host:5432", "container:5433", NULL },
		  { "'web'", "'api'", "never share" } },
		{ { "--source", "127.77.0.5", "host:5432", "host:5433", NULL },
		  { "no container to give it to" } },
		{ { "--labels", "--labels-sources", "127.77.0.1/30", NULL },
		  { "--labels-sources '127.77.0.1/30'", "host bits clear" } },
		{ { "--labels", "--labels-sources", "127.77.0.0/7", NULL },
		  { "--labels-sources '127.77.0.0/7'" } },
		{ { "-c", "web", "--labels-sources", "127.77.0.0/30", PAIR, NULL },
		  { "--labels-sources", "without --labels" } },
	};
	char error[CLI_ERROR_MAX];
	struct config cfg;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		if (parse_args(rows[i].args, &cfg, error, sizeof(error)) == 0) {
			config_free(&cfg);
			fail_msg("row %zu: accepted", i);
		}
		assert_words(error, rows[i].words);
	}
}

/* A bridge of --config gives its container's source, and asks for PROXY headers */
static void test_file_bridge_source(void **state)
{
	char path[] = "/tmp/nsbridge-test-cli.XXXXXX", error[CLI_ERROR_MAX];
	const char *args[] = { "--config", path, NULL };
	int fd = mkstemp(path);
	struct config cfg;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("bridges = (\n"
	      "  { service = \"host:5432\"; expose = \"container:5432\"; container = \"web\";\n"
	      "    source = \"127.77.0.7\"; },\n"
	      "  { service = \"host:80\"; expose = \"container:80\"; container = \"api\";\n"
	      "    proxy-protocol = true; }\n"
	      ");\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(parse_args(args, &cfg, error, sizeof(error)), 0);
	unlink(path);
	assert_source(&cfg, "web", "127.77.0.7");
	assert_source(&cfg, "api", NULL);
	assert_int_equal(cfg.n_bridges, 2);
	assert_false(cfg.bridges[0].proxy_protocol);
	assert_true(cfg.bridges[1].proxy_protocol);
	assert_false(cfg.proxy_protocol);
	config_free(&cfg);
}

/* --allow-uid: exactly the users given */
static void test_allow_uid(void **state)
{
	char *argv[] = { "nsbridge", "-c", "web", "--allow-uid", "0,1000,65534",
			 "container:80", "host:80", NULL };
	char error[CLI_ERROR_MAX];
	struct config cfg;

	(void)state;
	assert_int_equal(cli_parse_text(7, argv, &cfg, error, sizeof(error)), 0);
	assert_true(config_allows_uid(&cfg, 0));
	assert_true(config_allows_uid(&cfg, 1000));
	assert_true(config_allows_uid(&cfg, 65534));
	assert_false(config_allows_uid(&cfg, 1));
	assert_false(config_allows_uid(&cfg, 999));
	config_free(&cfg);
}

static void assert_config(const struct config *cfg, const struct cli_case *c)
{
	assert_int_equal(cfg->action, c->action);
	assert_string_or_null(cfg->container, c->container);
	assert_string_or_null(cfg->host_netns, c->host_netns);
	assert_int_equal(cfg->allow_nonlocal, c->allow_nonlocal);
	assert_count("max_connections", cfg->max_connections, c->max_connections,
		     CLI_DEFAULT_MAX_CONNECTIONS);
	assert_count("connect_timeout_ms", cfg->connect_timeout_ms, c->connect_ms,
		     CLI_DEFAULT_CONNECT_TIMEOUT_MS);
	assert_count("idle_timeout_ms", cfg->idle_timeout_ms, c->idle_ms, 0);
	assert_count("drain_timeout_ms", cfg->drain_timeout_ms, c->drain_ms,
		     CLI_DEFAULT_DRAIN_TIMEOUT_MS);
	assert_count("udp_timeout_ms", cfg->udp_timeout_ms, c->udp_ms, CLI_DEFAULT_UDP_TIMEOUT_MS);
	assert_count("max_udp_flows", cfg->max_udp_flows, c->udp_flows, CLI_DEFAULT_MAX_UDP_FLOWS);
	assert_int_equal(cfg->json, c->json);
	assert_string_or_null(cfg->status_of, c->status_of);
	assert_int_equal(cfg->watch, c->watch);
	assert_int_equal(cfg->watch_ms, c->watch_ms ? c->watch_ms : CLI_DEFAULT_WATCH_MS);
	assert_string_or_null(cfg->change[0], c->change[0]);
	assert_string_or_null(cfg->change[1], c->change[1]);
	assert_string_or_null(cfg->port_file, c->port_file);
	assert_string_or_null(cfg->user, c->user);
	assert_int_equal(cfg->n_command, c->n_command);
	if (cfg->n_bridges && !cfg->bridges[0].mirror)
		assert_int_equal(cfg->bridges[0].n_services, c->n_services ? c->n_services : 1);
	assert_string_or_null(cfg->command ? cfg->command[0] : NULL, c->command0);
	assert_int_equal(cfg->has_metrics, c->metrics_port != 0);
	if (c->metrics_port)
		assert_int_equal(cfg->metrics.port_first, c->metrics_port);
	assert_int_equal(cfg->follow, c->follow);
	assert_int_equal(cfg->verbosity, c->verbosity);
	assert_int_equal(cfg->log_format, c->log_format);
	assert_int_equal(cfg->n_bridges, c->n_bridges);
	if (c->n_bridges == 0)
		assert_null(cfg->bridges);
	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct bridge_spec *b = &cfg->bridges[i];
		const struct want_bridge *w = &c->bridges[i];

		assert_int_equal(b->service.side, w->service);
		assert_int_equal(b->service.port_first, w->service_port);
		assert_int_equal(endpoint_port_count(&b->service), w->ports);
		assert_int_equal(b->expose.side, w->expose);
		assert_int_equal(b->expose.port_first, w->expose_port);
		assert_int_equal(endpoint_port_count(&b->expose), w->ports);
	}
}

static void test_cli(void **state)
{
	const struct cli_case *c = *state;
	char *argv[MAX_ARGS + 2];
	char error[CLI_ERROR_MAX] = "";
	struct config cfg, untouched;
	int argc = 1, r;

	for (size_t i = 0; i < MAX_ENV && c->env[i].name; i++)
		assert_int_equal(setenv(c->env[i].name, c->env[i].value, 1), 0);
	/* getopt_long() permutes argv, and the config points into the strings */
	argv[0] = strdup("nsbridge");
	assert_non_null(argv[0]);
	for (size_t i = 0; i < MAX_ARGS && c->argv[i]; i++) {
		argv[argc] = strdup(c->argv[i]);
		assert_non_null(argv[argc]);
		argc++;
	}
	argv[argc] = NULL;

	memset(&cfg, 0xa5, sizeof(cfg));
	untouched = cfg;
	r = cli_parse_text(argc, argv, &cfg, error, sizeof(error));
	if (c->error[0]) {
		if (r != -EINVAL)
			fail_msg("%d, expected -EINVAL and \"%s\"", r, c->error[0]);
		assert_words(error, c->error);
		assert_memory_equal(&cfg, &untouched, sizeof(cfg));
	} else {
		if (r != 0)
			fail_msg("%d: %s", r, error);
		assert_config(&cfg, c);
		config_free(&cfg);
		assert_null(cfg.bridges);
	}
	for (int i = 0; i < argc; i++)
		free(argv[i]);
}

/**
 * struct duration_case - cli_parse_duration() of one text
 * @name:	test name
 * @text:	what the user wrote
 * @ok:		it is a duration
 * @ms:		its value
 */
struct duration_case {
	const char *name;
	const char *text;
	bool ok;
	unsigned ms;
};

static const struct duration_case duration_cases[] = {
	{ "duration 0", "0", true, 0 },
	{ "duration 500ms", "500ms", true, 500 },
	{ "duration 5s", "5s", true, 5000 },
	{ "duration 2m", "2m", true, 120000 },
	{ "duration 1h", "1h", true, 3600000 },
	{ "duration 7 is seconds", "7", true, 7000 },
	{ "duration 0ms", "0ms", true, 0 },
	{ "duration leading zeros", "007s", true, 7000 },
	{ "duration largest in ms", "4294967295ms", true, UINT_MAX },
	{ "duration largest in s", "4294967s", true, 4294967000u },
	{ "duration 1193h", "1193h", true, 4294800000u },
	{ "duration 4294968s overflows", "4294968s", false, 0 },
	{ "duration 1194h overflows", "1194h", false, 0 },
	{ "duration 5000000h overflows", "5000000h", false, 0 },
	{ "duration 4294967296ms overflows", "4294967296ms", false, 0 },
	{ "duration of 20 digits overflows", "99999999999999999999", false, 0 },
	{ "duration empty", "", false, 0 },
	{ "duration unit only", "ms", false, 0 },
	{ "duration 5x", "5x", false, 0 },
	{ "duration 5S", "5S", false, 0 },
	{ "duration 5sec", "5sec", false, 0 },
	{ "duration 5sms", "5sms", false, 0 },
	{ "duration with space inside", "5 s", false, 0 },
	{ "duration with leading space", " 5s", false, 0 },
	{ "duration with trailing space", "5s ", false, 0 },
	{ "duration negative", "-5s", false, 0 },
	{ "duration with plus", "+5s", false, 0 },
	{ "duration fraction", "1.5s", false, 0 },
	{ "duration two units", "1m30s", false, 0 },
};

static void test_duration(void **state)
{
	const struct duration_case *c = *state;
	unsigned ms = 0xa5a5a5a5u;
	int r = cli_parse_duration(c->text, &ms);

	if (!c->ok) {
		assert_int_equal(r, -EINVAL);
		assert_int_equal(ms, 0xa5a5a5a5u);
		return;
	}
	assert_int_equal(r, 0);
	assert_int_equal(ms, c->ms);
}

/* The same config twice in a row: getopt state does not leak between calls */
static void test_parse_twice(void **state)
{
	char *argv[] = { "nsbridge", "-c", "web", "-v", "host:80", "container:80", NULL };
	char *copy[ARRAY_SIZE(argv)];
	char error[CLI_ERROR_MAX];
	struct config cfg;

	for (int round = 0; round < 2; round++) {
		memcpy(copy, argv, sizeof(argv));
		assert_int_equal(cli_parse_text(6, copy, &cfg, error, sizeof(error)), 0);
		assert_string_equal(cfg.container, "web");
		assert_int_equal(cfg.verbosity, 1);
		assert_int_equal(cfg.n_bridges, 1);
		config_free(&cfg);
	}
}

static const struct cli_option *find_option(const char *name)
{
	size_t n;
	const struct cli_option *o = cli_options(&n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(o[i].name, name) == 0)
			return &o[i];
	return NULL;
}

/*
 * nsbridge [FLAG [VALUE]] ports: a subcommand takes every option and needs
 * no bridge, so any option can be set alone. -EINVAL, or 0 and @ret.
 */
static int parse_ports(const char *flag, const char *value, struct config *ret,
		       char *error, size_t len)
{
	/* a subcommand takes every option but its bridges'; --watch only status */
	const char *args[] = { "nsbridge", flag, value,
			       flag && strcmp(flag, "--watch") == 0 ? "status" : "ports" };
	char *argv[ARRAY_SIZE(args) + 1];
	int argc = 0, r;

	for (size_t i = 0; i < ARRAY_SIZE(args); i++) {
		if (!args[i])
			continue;
		argv[argc] = strdup(args[i]);
		assert_non_null(argv[argc]);
		argc++;
	}
	argv[argc] = NULL;
	r = cli_parse_text(argc, argv, ret, error, len);
	/* only the bytes of the config are compared, never what they point to */
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return r;
}

/*
 * Whether @how set the member of @c in what cli_parse_text() returned (@r,
 * @cfg, @error), against @base: the config without it. Frees @cfg.
 */
static void check_stored(const struct option_case *c, const struct config *base,
			 const char *how, int r, struct config *cfg, const char *error, bool applies)
{
	bool changed;

	if (r < 0)
		fail_msg("--%s %s: %s", c->name, how, error);
	changed = memcmp((const char *)base + c->offset, (char *)cfg + c->offset, c->size) != 0;
	config_free(cfg);
	if (applies && !changed)
		fail_msg("--%s %s: not applied (its member of struct config is unchanged)",
			 c->name, how);
	if (!applies && changed)
		fail_msg("--%s %s: applied, but its row does not take it from there", c->name, how);
}

static void check_applied(const struct option_case *c, const struct config *base,
			  const char *how, const char *flag, const char *value, bool applies)
{
	char error[CLI_ERROR_MAX] = "";
	struct config cfg;
	int r = parse_ports(flag, value, &cfg, error, sizeof(error));

	check_stored(c, base, how, r, &cfg, error, applies);
}

/* NSBRIDGE_<NAME> of @c, set to its value ("1" for a switch) */
static void set_variable(const struct option_case *c, char *name, size_t len)
{
	snprintf(name, len, "NSBRIDGE_%s", c->name);
	for (char *p = name; *p; p++)
		*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	assert_int_equal(setenv(name, c->value ? c->value : "1", 1), 0);
}

/* A --config file of one setting, NAME = "VALUE"; or NAME = true; for a switch */
static void write_file(const struct option_case *c, char *path)
{
	FILE *f;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	if (c->value)
		fprintf(f, "%s = \"%s\";\n", c->name, c->value);
	else
		fprintf(f, "%s = true;\n", c->name);
	assert_int_equal(fclose(f), 0);
}

/*
 * What a reload does with @c's option: a row that a --config file can set
 * must be applied (LIVE) or reported (RESTART) by reload.c, which compares
 * the member the row names - so setting the option must change that
 * member, and a LIVE one must be one reload.c can copy (not a string).
 */
static void check_reload(const struct option_case *c, const struct cli_option *o,
			 const struct config *base)
{
	char error[CLI_ERROR_MAX] = "", flag[64];
	struct config cfg;
	bool same;

	if (o->reload == CLI_RELOAD_NONE) {
		if (o->from & CLI_FROM_FILE)
			fail_msg("--%s: a --config file may set it, but its row says a reload "
				 "ignores it: say LIVE or RESTART", c->name);
		return;
	}
	if (!o->size)
		fail_msg("--%s: its row says a reload looks at it, but names no member of "
			 "struct config (STORES())", c->name);
	if (o->reload == CLI_RELOAD_LIVE && o->text)
		fail_msg("--%s: a string cannot be LIVE: reload.c copies members", c->name);
	snprintf(flag, sizeof(flag), "--%s", o->name);
	if (parse_ports(flag, c->value, &cfg, error, sizeof(error)) < 0)
		fail_msg("--%s: %s", c->name, error);
	/* a string is compared by its pointer: what it points to is freed */
	same = o->text ? memcmp((const char *)base + o->offset, (char *)&cfg + o->offset,
				o->size) == 0 : cli_option_same(o, base, &cfg);
	config_free(&cfg);
	if (same)
		fail_msg("--%s: set, but the member its row names for a reload is unchanged: "
			 "reload.c would not see it change", c->name);
}

/* One option, set alone on the command line, in the environment, in a file */
static void test_option(void **state)
{
	const struct option_case *c = *state;
	const struct cli_option *o = find_option(c->name);
	char flag[64], var[64], path[] = "/tmp/nsbridge-test-cli.XXXXXX", error[CLI_ERROR_MAX];
	unsigned from = c->from;
	struct config base, cfg;
	int r;

	if (!o)
		fail_msg("option_cases has a row '%s', which is no option of cli.c", c->name);
	if (o->from != from)
		fail_msg("--%s: its row takes it from %#x, its test row says %#x", c->name,
			 o->from, from);
	/* config_free() leaves alone the members that options set */
	assert_int_equal(parse_ports(NULL, NULL, &base, error, sizeof(error)), 0);
	config_free(&base);
	snprintf(flag, sizeof(flag), "--%s", o->name);
	check_applied(c, &base, "on the command line", flag, c->value, true);
	check_reload(c, o, &base);
	if (o->short_name) {
		snprintf(flag, sizeof(flag), "-%c", o->short_name);
		check_applied(c, &base, flag, flag, c->value, true);
	}

	set_variable(c, var, sizeof(var));
	check_applied(c, &base, var, NULL, NULL, from & CLI_FROM_ENV);
	assert_int_equal(unsetenv(var), 0);

	write_file(c, path);
	r = parse_ports("--config", path, &cfg, error, sizeof(error));
	unlink(path);
	if (from & CLI_FROM_FILE) {
		check_stored(c, &base, "in a --config file", r, &cfg, error, true);
	} else if (r == 0) {
		config_free(&cfg);
		fail_msg("--%s in a --config file: accepted, but its row has no key there", c->name);
	} else if (!strstr(error, "unknown setting")) {
		fail_msg("--%s in a --config file: \"%s\", expected unknown setting", c->name, error);
	}
}

/* Every row of cli.c's table has a row in option_cases, and says what a reload does */
static void test_every_option(void **state)
{
	size_t n;
	const struct cli_option *o = cli_options(&n);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;

		while (j < ARRAY_SIZE(option_cases) && strcmp(option_cases[j].name, o[i].name) != 0)
			j++;
		if (j == ARRAY_SIZE(option_cases))
			fail_msg("option --%s has no row in option_cases: add one that says "
				 "what it sets", o[i].name);
		if (o[i].reload == CLI_RELOAD_UNDECLARED)
			fail_msg("option --%s does not say what a reload does with it: give its "
				 "row LIVE, RESTART or NOT_RELOADED", o[i].name);
	}
}

#define N_TESTS	(ARRAY_SIZE(cli_cases) + ARRAY_SIZE(duration_cases) + \
		 ARRAY_SIZE(option_cases) + 7)

int main(void)
{
	static struct CMUnitTest tests[N_TESTS];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cli_cases); i++)
		tests[n++] = (struct CMUnitTest){
			.name = cli_cases[i].name,
			.test_func = test_cli,
			.setup_func = clear_nsbridge_env,
			.teardown_func = clear_nsbridge_env,
			.initial_state = (void *)&cli_cases[i],
		};
	for (size_t i = 0; i < ARRAY_SIZE(duration_cases); i++)
		tests[n++] = (struct CMUnitTest){
			.name = duration_cases[i].name,
			.test_func = test_duration,
			.initial_state = (void *)&duration_cases[i],
		};
	for (size_t i = 0; i < ARRAY_SIZE(option_cases); i++) {
		char *name;

		assert_true(asprintf(&name, "option --%s: command line, environment, file",
				     option_cases[i].name) > 0);
		tests[n++] = (struct CMUnitTest){
			.name = name,
			.test_func = test_option,
			.setup_func = clear_nsbridge_env,
			.teardown_func = clear_nsbridge_env,
			.initial_state = (void *)&option_cases[i],
		};
	}
	tests[n++] = (struct CMUnitTest){
		.name = "every option has a test row",
		.test_func = test_every_option,
	};
	tests[n++] = (struct CMUnitTest){
		.name = "cli_parse twice",
		.test_func = test_parse_twice,
		.setup_func = clear_nsbridge_env,
		.teardown_func = clear_nsbridge_env,
	};
	tests[n++] = (struct CMUnitTest){
		.name = "--mirror-exclude ports and ranges",
		.test_func = test_mirror_exclude,
		.setup_func = clear_nsbridge_env,
		.teardown_func = clear_nsbridge_env,
	};
	tests[n++] = (struct CMUnitTest){
		.name = "--allow-uid users",
		.test_func = test_allow_uid,
		.setup_func = clear_nsbridge_env,
		.teardown_func = clear_nsbridge_env,
	};
	tests[n++] = (struct CMUnitTest){
		.name = "--source after each -c",
		.test_func = test_sources,
		.setup_func = clear_nsbridge_env,
		.teardown_func = clear_nsbridge_env,
	};
	tests[n++] = (struct CMUnitTest){
		.name = "--source and --labels-sources refusals",
		.test_func = test_source_refusals,
		.setup_func = clear_nsbridge_env,
		.teardown_func = clear_nsbridge_env,
	};
	tests[n++] = (struct CMUnitTest){
		.name = "a --config bridge's source and proxy-protocol",
		.test_func = test_file_bridge_source,
		.setup_func = clear_nsbridge_env,
		.teardown_func = clear_nsbridge_env,
	};
	return _cmocka_run_group_tests("cli", tests, n, clear_nsbridge_env, NULL);
}
