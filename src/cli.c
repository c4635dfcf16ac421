/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.c - command line and NSBRIDGE_* environment into a struct config
 *
 * No side effects: cli_parse() reads argv and the environment and fills a
 * struct config, or returns -EINVAL with one line for the user. Every
 * option is described once, in options[]; the environment is applied
 * first and the command line after it, through the same setter, so the
 * command line wins and both report errors alike. A malformed variable is
 * an error only when the command line does not give that option: what
 * the command line overrides does not matter.
 */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsbridge/cli.h"
#include "nsbridge/conffile.h"

#define MAX_CONNECTIONS_LIMIT	1000000u

enum opt_id {
	OPT_CONTAINER = 'c',
	OPT_HELP = 'h',
	OPT_QUIET = 'q',
	OPT_VERBOSE = 'v',
	OPT_HOST_NETNS = 256,
	OPT_ALLOW_NONLOCAL,
	OPT_ALLOW_UID,
	OPT_MAX_CONNECTIONS,
	OPT_CONNECT_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_DRAIN_TIMEOUT,
	OPT_UDP_TIMEOUT,
	OPT_MAX_UDP_FLOWS,
	OPT_MIRROR,
	OPT_MIRROR_EXCLUDE,
	OPT_MIRROR_UDP,
	OPT_FOLLOW,
	OPT_NO_FOLLOW,
	OPT_LOG_FORMAT,
	OPT_METRICS,
	OPT_PORT_FILE,
	OPT_USER,
	OPT_CONFIG,
	OPT_JSON,
	OPT_VERSION,
};

/**
 * struct option_desc - one option, on the command line and in the environment
 * @id:		getopt value
 * @name:	long name
 * @has_arg:	takes a value
 * @env:	NSBRIDGE_* variable, NULL if none (help, version)
 */
struct option_desc {
	enum opt_id id;
	const char *name;
	bool has_arg;
	const char *env;
};

static const struct option_desc options[] = {
	{ OPT_CONTAINER,	"container",		true,	"NSBRIDGE_CONTAINER" },
	{ OPT_HOST_NETNS,	"host-netns",		true,	"NSBRIDGE_HOST_NETNS" },
	{ OPT_ALLOW_NONLOCAL,	"allow-nonlocal",	false,	"NSBRIDGE_ALLOW_NONLOCAL" },
	{ OPT_ALLOW_UID,	"allow-uid",		true,	"NSBRIDGE_ALLOW_UID" },
	{ OPT_MAX_CONNECTIONS,	"max-connections",	true,	"NSBRIDGE_MAX_CONNECTIONS" },
	{ OPT_CONNECT_TIMEOUT,	"connect-timeout",	true,	"NSBRIDGE_CONNECT_TIMEOUT" },
	{ OPT_IDLE_TIMEOUT,	"idle-timeout",		true,	"NSBRIDGE_IDLE_TIMEOUT" },
	{ OPT_DRAIN_TIMEOUT,	"drain-timeout",	true,	"NSBRIDGE_DRAIN_TIMEOUT" },
	{ OPT_UDP_TIMEOUT,	"udp-timeout",		true,	"NSBRIDGE_UDP_TIMEOUT" },
	{ OPT_MAX_UDP_FLOWS,	"max-udp-flows",	true,	"NSBRIDGE_MAX_UDP_FLOWS" },
	{ OPT_MIRROR,		"mirror",		false,	"NSBRIDGE_MIRROR" },
	{ OPT_MIRROR_EXCLUDE,	"mirror-exclude",	true,	"NSBRIDGE_MIRROR_EXCLUDE" },
	{ OPT_MIRROR_UDP,	"mirror-udp",		false,	"NSBRIDGE_MIRROR_UDP" },
	{ OPT_FOLLOW,		"follow",		false,	"NSBRIDGE_FOLLOW" },
	{ OPT_NO_FOLLOW,	"no-follow",		false,	NULL },
	{ OPT_VERBOSE,		"verbose",		false,	"NSBRIDGE_VERBOSE" },
	{ OPT_QUIET,		"quiet",		false,	"NSBRIDGE_QUIET" },
	{ OPT_LOG_FORMAT,	"log-format",		true,	"NSBRIDGE_LOG_FORMAT" },
	{ OPT_METRICS,		"metrics",		true,	"NSBRIDGE_METRICS" },
	{ OPT_PORT_FILE,	"port-file",		true,	"NSBRIDGE_PORT_FILE" },
	{ OPT_USER,		"user",			true,	"NSBRIDGE_USER" },
	{ OPT_CONFIG,		"config",		true,	"NSBRIDGE_CONFIG" },
	{ OPT_JSON,		"json",			false,	NULL },
	{ OPT_VERSION,		"version",		false,	NULL },
	{ OPT_HELP,		"help",			false,	NULL },
};

#define N_OPTIONS	(sizeof(options) / sizeof(options[0]))
_Static_assert(N_OPTIONS <= 32, "option_bit() needs a wider mask");

static const char short_options[] = ":c:hqv";

static int fail(char *error, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *error, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/**
 * cli_parse_duration() - "500ms", "5s", "2m", "1h", or plain seconds
 * @text:	what the user wrote
 * @ret_ms:	the duration in milliseconds, written only on success
 *
 * Return: 0, or -EINVAL for a malformed or too long duration
 */
int cli_parse_duration(const char *text, unsigned *ret_ms)
{
	static const struct { const char *suffix; unsigned long long ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "", 1000 },
	};
	unsigned long long v = 0;
	const char *p = text;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > UINT_MAX)
			return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].suffix) != 0)
			continue;
		if (v * units[i].ms > UINT_MAX)
			return -EINVAL;
		*ret_ms = (unsigned)(v * units[i].ms);
		return 0;
	}
	return -EINVAL;
}

/* Digits from *p, at most @max; advances *p past them */
static int parse_digits(const char **p, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v = 0;
	const char *q = *p;

	if (*q < '0' || *q > '9')
		return -EINVAL;
	for (; *q >= '0' && *q <= '9'; q++) {
		v = v * 10 + (unsigned long long)(*q - '0');
		if (v > max)
			return -EINVAL;
	}
	*ret = v;
	*p = q;
	return 0;
}

static int parse_count(const char *text, unsigned max, unsigned *ret)
{
	unsigned long long v;

	if (parse_digits(&text, max, &v) < 0 || *text != '\0' || v == 0)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/* Environment switches: 1/true/yes/on or 0/false/no/off */
static int parse_switch(const char *text, bool *ret)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off", "" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(text, yes[i]) == 0)
			return *ret = true, 0;
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(text, no[i]) == 0)
			return *ret = false, 0;
	return -EINVAL;
}

static int set_timeout(const char *value, bool zero_ok, unsigned *ret_ms)
{
	unsigned ms;

	if (cli_parse_duration(value, &ms) < 0 || (!zero_ok && ms == 0))
		return -EINVAL;
	*ret_ms = ms;
	return 0;
}

static int set_log_format(const char *value, enum log_format *ret)
{
	if (strcmp(value, "text") == 0)
		*ret = LOG_FORMAT_TEXT;
	else if (strcmp(value, "json") == 0)
		*ret = LOG_FORMAT_JSON;
	else
		return -EINVAL;
	return 0;
}

/* One port, 1-65535, from *p; advances *p past it */
static int parse_port_at(const char **p, uint16_t *ret)
{
	unsigned long long v;

	if (parse_digits(p, 65535, &v) < 0 || v == 0)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

/* "22,5432,8000-8099" into cfg->mirror_exclude; replaces what was there */
static int parse_port_list(const char *text, struct config *cfg)
{
	struct port_span spans[CLI_EXCLUDE_MAX];
	const char *p = text;
	size_t n = 0;

	for (;;) {
		struct port_span sp;

		if (n == CLI_EXCLUDE_MAX || parse_port_at(&p, &sp.first) < 0)
			return -EINVAL;
		sp.last = sp.first;
		if (*p == '-' && (p++, parse_port_at(&p, &sp.last) < 0 || sp.last < sp.first))
			return -EINVAL;
		spans[n++] = sp;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			return -EINVAL;
	}
	memcpy(cfg->mirror_exclude, spans, n * sizeof(spans[0]));
	cfg->n_mirror_exclude = n;
	return 0;
}

/* "0,1000" into cfg->allow_uids; replaces what was there */
static int parse_uid_list(const char *text, struct config *cfg)
{
	uint32_t uids[CLI_ALLOW_UID_MAX];
	const char *p = text;
	size_t n = 0;

	for (;;) {
		unsigned long long v;

		/* (uid_t)-1 is "no user" */
		if (n == CLI_ALLOW_UID_MAX || parse_digits(&p, UINT32_MAX - 1, &v) < 0)
			return -EINVAL;
		uids[n++] = (uint32_t)v;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			return -EINVAL;
	}
	memcpy(cfg->allow_uids, uids, n * sizeof(uids[0]));
	cfg->n_allow_uids = n;
	return 0;
}

/* --metrics [ADDR:]PORT: where the HTTP server listens, on the host */
static int parse_metrics(const char *value, struct config *cfg)
{
	char text[ENDPOINT_TEXT_MAX + 8];
	const char *why;
	struct endpoint ep;

	if (snprintf(text, sizeof(text), "host:%s", value) >= (int)sizeof(text) ||
	    endpoint_parse(text, &ep, &why) < 0 || ep.kind != ENDPOINT_INET ||
	    ep.proto != PROTO_TCP || ep.port_first != ep.port_last || ep.port_first == 0 ||
	    strchr(value, '/'))
		return -EINVAL;
	cfg->metrics = ep;
	cfg->metrics_text = value;
	cfg->has_metrics = true;
	return 0;
}

/* What a valid value looks like, for the error line */
static const char *expected_value(enum opt_id id)
{
	switch (id) {
	case OPT_MAX_CONNECTIONS:
	case OPT_MAX_UDP_FLOWS:
		return "a number from 1 to 1000000";
	case OPT_CONNECT_TIMEOUT:
	case OPT_UDP_TIMEOUT:
		return "a duration above zero, like 500ms, 5s or 2m";
	case OPT_IDLE_TIMEOUT:
	case OPT_DRAIN_TIMEOUT:
		return "a duration, like 500ms, 5s or 2m (0 for none)";
	case OPT_LOG_FORMAT:
		return "'text' or 'json'";
	case OPT_MIRROR_EXCLUDE:
		return "ports and ranges from 1 to 65535, like 22,5432,8000-8099";
	case OPT_ALLOW_UID:
		return "user ids, like 1000 or 0,1000";
	case OPT_METRICS:
		return "[ADDR:]PORT, like 9464, 127.0.0.1:9464 or [::1]:9464";
	case OPT_CONTAINER:
	case OPT_HOST_NETNS:
	case OPT_PORT_FILE:
	case OPT_CONFIG:
		return "a value that is not empty";
	case OPT_USER:
		return "a user name or number, not empty";
	case OPT_ALLOW_NONLOCAL:
	case OPT_MIRROR:
	case OPT_MIRROR_UDP:
	case OPT_FOLLOW:
	case OPT_NO_FOLLOW:
	case OPT_VERBOSE:
	case OPT_QUIET:
	case OPT_JSON:
	case OPT_VERSION:
	case OPT_HELP:
		break;
	}
	return "1, true, yes, on, 0, false, no or off";
}

/*
 * Apply one option. @value is the argument of an option that takes one;
 * for a switch it is NULL on the command line ("on") and the variable's
 * text in the environment.
 */
static int apply_option(struct config *cfg, enum opt_id id, const char *value)
{
	bool on = true;

	if (!value && (id == OPT_CONTAINER || id == OPT_HOST_NETNS || id == OPT_PORT_FILE ||
		       id == OPT_CONFIG || id == OPT_USER))
		return -EINVAL;
	switch (id) {
	case OPT_CONTAINER:
		return *value ? (cfg->container = value, 0) : -EINVAL;
	case OPT_HOST_NETNS:
		return *value ? (cfg->host_netns = value, 0) : -EINVAL;
	case OPT_PORT_FILE:
		return *value ? (cfg->port_file = value, 0) : -EINVAL;
	case OPT_CONFIG:
		return *value ? (cfg->config_file = value, 0) : -EINVAL;
	case OPT_USER:
		return *value ? (cfg->user = value, 0) : -EINVAL;
	case OPT_MAX_CONNECTIONS:
		return parse_count(value, MAX_CONNECTIONS_LIMIT, &cfg->max_connections);
	case OPT_CONNECT_TIMEOUT:
		return set_timeout(value, false, &cfg->connect_timeout_ms);
	case OPT_IDLE_TIMEOUT:
		return set_timeout(value, true, &cfg->idle_timeout_ms);
	case OPT_DRAIN_TIMEOUT:
		return set_timeout(value, true, &cfg->drain_timeout_ms);
	case OPT_UDP_TIMEOUT:
		return set_timeout(value, false, &cfg->udp_timeout_ms);
	case OPT_MAX_UDP_FLOWS:
		return parse_count(value, MAX_CONNECTIONS_LIMIT, &cfg->max_udp_flows);
	case OPT_LOG_FORMAT:
		return set_log_format(value, &cfg->log_format);
	case OPT_MIRROR_EXCLUDE:
		return parse_port_list(value, cfg);
	case OPT_ALLOW_UID:
		return parse_uid_list(value, cfg);
	case OPT_METRICS:
		return parse_metrics(value, cfg);
	case OPT_ALLOW_NONLOCAL:
	case OPT_MIRROR:
	case OPT_MIRROR_UDP:
	case OPT_FOLLOW:
	case OPT_NO_FOLLOW:
	case OPT_VERBOSE:
	case OPT_QUIET:
	case OPT_JSON:
	case OPT_VERSION:
	case OPT_HELP:
		break;
	}
	if (value && parse_switch(value, &on) < 0)
		return -EINVAL;
	switch (id) {
	case OPT_ALLOW_NONLOCAL:
		cfg->allow_nonlocal = on;
		break;
	case OPT_MIRROR:
		cfg->mirror = on;
		break;
	case OPT_MIRROR_UDP:
		cfg->mirror_udp = on;
		break;
	case OPT_FOLLOW:
		cfg->follow = on ? FOLLOW_ON : FOLLOW_OFF;
		break;
	case OPT_NO_FOLLOW:
		cfg->follow = FOLLOW_OFF;
		break;
	case OPT_VERBOSE:
		cfg->verbosity = on ? (cfg->verbosity > 0 ? cfg->verbosity + 1 : 1) : 0;
		break;
	case OPT_QUIET:
		/* "not quiet" (NSBRIDGE_QUIET=0) must not undo NSBRIDGE_VERBOSE=1 */
		if (on)
			cfg->verbosity = -1;
		else if (cfg->verbosity < 0)
			cfg->verbosity = 0;
		break;
	case OPT_JSON:
		cfg->json = on;
		break;
	case OPT_VERSION:
		cfg->action = CLI_VERSION;
		break;
	case OPT_HELP:
		cfg->action = CLI_HELP;
		break;
	case OPT_CONTAINER:
	case OPT_HOST_NETNS:
	case OPT_PORT_FILE:
	case OPT_USER:
	case OPT_CONFIG:
	case OPT_MAX_CONNECTIONS:
	case OPT_CONNECT_TIMEOUT:
	case OPT_IDLE_TIMEOUT:
	case OPT_DRAIN_TIMEOUT:
	case OPT_UDP_TIMEOUT:
	case OPT_MAX_UDP_FLOWS:
	case OPT_MIRROR_EXCLUDE:
	case OPT_ALLOW_UID:
	case OPT_METRICS:
	case OPT_LOG_FORMAT:
		break;
	}
	return 0;
}

static const struct option_desc *option_by_id(int id)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if ((int)options[i].id == id)
			return &options[i];
	return NULL;
}

/* Bit of options[] that an option sets; --no-follow sets --follow's */
static unsigned option_bit(enum opt_id id)
{
	const struct option_desc *o = option_by_id(id == OPT_NO_FOLLOW ? OPT_FOLLOW : id);

	return o ? 1u << (unsigned)(o - options) : 0;
}

/* Apply every variable that parses; @ret_bad gets the bits of those that do not */
static void apply_environment(struct config *cfg, unsigned *ret_bad)
{
	unsigned bad = 0;

	for (size_t i = 0; i < N_OPTIONS; i++) {
		const char *value;

		if (!options[i].env || !(value = getenv(options[i].env)))
			continue;
		if (apply_option(cfg, options[i].id, value) < 0)
			bad |= option_bit(options[i].id);
	}
	*ret_bad = bad;
}

/* The first malformed variable whose option the command line did not give */
static int check_environment(unsigned bad, unsigned given, char *error, size_t len)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (bad & ~given & option_bit(options[i].id))
			return fail(error, len, "%s='%s': expected %s", options[i].env,
				    getenv(options[i].env), expected_value(options[i].id));
	return 0;
}

static void build_long_options(struct option *longopts)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		longopts[i] = (struct option){
			.name = options[i].name,
			.has_arg = options[i].has_arg ? required_argument : no_argument,
			.val = options[i].id,
		};
	longopts[N_OPTIONS] = (struct option){ 0 };
}

/* Name the option getopt stopped at, as the user wrote it */
static const char *offending_option(char *argv[], char *buf, size_t len)
{
	const struct option_desc *o = option_by_id(optopt);

	if (optopt > 0 && optopt < 256)
		snprintf(buf, len, "-%c", optopt);
	else if (o)
		snprintf(buf, len, "--%s", o->name);
	else
		snprintf(buf, len, "%s", argv[optind - 1]);
	return buf;
}

static int apply_command_line(int argc, char *argv[], struct config *cfg, unsigned *given,
			      char *error, size_t len)
{
	struct option longopts[N_OPTIONS + 1];
	char name[64];
	int id;

	build_long_options(longopts);
	optind = 0;
	opterr = 0;
	while ((id = getopt_long(argc, argv, short_options, longopts, NULL)) != -1) {
		const struct option_desc *o = option_by_id(id);

		if (id == '?')
			return fail(error, len, "unknown option '%s' (see nsbridge --help)",
				    offending_option(argv, name, sizeof(name)));
		if (id == ':')
			return fail(error, len, "option '%s' needs a value",
				    offending_option(argv, name, sizeof(name)));
		if (!o || apply_option(cfg, o->id, optarg) < 0)
			return fail(error, len, "--%s '%s': expected %s", o ? o->name : "?",
				    optarg ? optarg : "", o ? expected_value(o->id) : "");
		*given |= option_bit(o->id);
	}
	return 0;
}

static int parse_endpoint(const char *role, const char *text, struct endpoint *ret,
			  char *error, size_t len)
{
	const char *why = NULL;

	if (endpoint_parse(text, ret, &why) < 0)
		return fail(error, len, "%s '%s': expected %s", role, text, why);
	return 0;
}

/* What the grammar allows but this version or this pair cannot do */
static int check_pair(const struct config *cfg, const struct bridge_spec *b,
		      const char *svc, const char *exp, char *error, size_t len)
{
	unsigned ns = endpoint_port_count(&b->service), ne = endpoint_port_count(&b->expose);

	if (b->expose.kind == ENDPOINT_UNIX)
		return fail(error, len, "EXPOSE '%s': a unix socket can only be a SERVICE", exp);
	if (b->service.kind == ENDPOINT_UNIX && b->expose.proto == PROTO_UDP)
		return fail(error, len, "'%s %s': a unix SERVICE is a stream socket; "
			    "its EXPOSE must be TCP", svc, exp);
	if (b->service.kind == ENDPOINT_UNIX && ne != 1)
		return fail(error, len, "'%s %s': a unix SERVICE is one socket; "
			    "its EXPOSE must be one port", svc, exp);
	if (b->service.kind == ENDPOINT_INET && b->service.proto != b->expose.proto)
		return fail(error, len, "'%s %s': SERVICE is %s and EXPOSE %s; "
			    "both sides need the same protocol", svc, exp,
			    proto_name(b->service.proto), proto_name(b->expose.proto));
	if (b->service.kind == ENDPOINT_INET && b->service.port_first == 0)
		return fail(error, len, "SERVICE '%s': port 0 means any free port, which only "
			    "an EXPOSE can take", svc);
	if (ns != ne)
		return fail(error, len, "'%s %s': SERVICE has %u port%s and EXPOSE %u; "
			    "both sides need the same count", svc, exp, ns, ns == 1 ? "" : "s", ne);
	if (b->expose.side == SIDE_CONTAINER && !b->container)
		return fail(error, len, "EXPOSE '%s' needs --container REF (or NSBRIDGE_CONTAINER)",
			    exp);
	if (b->service.side == SIDE_CONTAINER && !b->container)
		return fail(error, len, "SERVICE '%s' needs --container REF (or NSBRIDGE_CONTAINER)",
			    svc);
	if (!cfg->allow_nonlocal && !endpoint_addr_is_loopback(&b->expose))
		return fail(error, len, "EXPOSE '%s' is not a loopback address; "
			    "--allow-nonlocal exposes a service beyond this machine", exp);
	if (endpoint_overlaps(&b->service, &b->expose))
		return fail(error, len, "'%s %s': the bridge would relay to itself", svc, exp);
	return 0;
}

static int parse_side(const char *text, enum side *ret)
{
	for (int s = 0; s < SIDE_MAX; s++) {
		if (strcmp(text, side_name((enum side)s)) == 0) {
			*ret = (enum side)s;
			return 0;
		}
	}
	return -EINVAL;
}

static bool same_ref(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The bridge of every port of one protocol, FROM:1-65535 -> TO:1-65535 */
static struct bridge_spec mirror_spec(enum side from, enum side to, enum proto proto)
{
	struct endpoint ep = {
		.kind = ENDPOINT_INET, .proto = proto, .port_first = 1, .port_last = 65535,
	};
	struct bridge_spec b = { .service = ep, .expose = ep, .mirror = true };

	b.service.side = from;
	b.expose.side = to;
	b.services[0] = b.service;
	b.n_services = 1;
	return b;
}

/* --mirror FROM TO: the two sides, and a bridge for TCP (and UDP) */
static int parse_mirror(int n, char *args[], struct config *cfg, char *error, size_t len)
{
	enum side from, to;

	if (n != 2 || parse_side(args[0], &from) < 0 || parse_side(args[1], &to) < 0 || from == to)
		return fail(error, len, "--mirror takes two sides, FROM TO: 'host container' "
			    "or 'container host'");
	if (!cfg->container)
		return fail(error, len, "--mirror needs --container REF (or NSBRIDGE_CONTAINER)");
	if (cfg->dash_c_differ)
		return fail(error, len, "--mirror follows one container: give -c REF once");
	cfg->bridges = calloc(2, sizeof(*cfg->bridges));
	if (!cfg->bridges)
		return fail(error, len, "out of memory");
	cfg->bridges[cfg->n_bridges++] = mirror_spec(from, to, PROTO_TCP);
	if (cfg->mirror_udp)
		cfg->bridges[cfg->n_bridges++] = mirror_spec(from, to, PROTO_UDP);
	for (size_t i = 0; i < cfg->n_bridges; i++)
		cfg->bridges[i].container = cfg->container;
	cfg->containers[cfg->n_containers++] = cfg->container;
	return 0;
}

/*
 * SERVICE, or several: "host:8081,host:8082" spreads connections over
 * them (dial.c). Each must make a pair with EXPOSE on its own.
 */
static int parse_services(const struct config *cfg, struct bridge_spec *b, const char *text,
			  const char *exp, char *error, size_t len)
{
	char copy[SERVICES_MAX * (ENDPOINT_TEXT_MAX + 1)];
	char *one = copy;

	if (snprintf(copy, sizeof(copy), "%s", text) >= (int)sizeof(copy))
		return fail(error, len, "SERVICE '%.40s...': expected at most %d endpoints",
			    text, SERVICES_MAX);
	for (;;) {
		char *comma = strchr(one, ',');
		struct bridge_spec pair = *b;

		if (comma)
			*comma = '\0';
		if (b->n_services == SERVICES_MAX)
			return fail(error, len, "SERVICE '%s': expected at most %d endpoints",
				    text, SERVICES_MAX);
		if (parse_endpoint("SERVICE", one, &pair.service, error, len) < 0 ||
		    check_pair(cfg, &pair, one, exp, error, len) < 0)
			return -EINVAL;
		b->services[b->n_services++] = pair.service;
		if (!comma)
			break;
		one = comma + 1;
	}
	if (b->n_services > 1 && b->expose.proto != PROTO_TCP)
		return fail(error, len, "SERVICE '%s': several SERVICEs are for TCP; "
			    "a UDP bridge takes one", text);
	b->service = b->services[0];
	return 0;
}

/* Put "FILE:LINE: " before the message about a bridge from --config */
static int at_origin(const char *where, char *error, size_t len)
{
	char msg[CLI_ERROR_MAX];

	if (where) {
		snprintf(msg, sizeof(msg), "%s", error);
		snprintf(error, len, "%s: %s", where, msg);
	}
	return -EINVAL;
}

/*
 * Which container pair @pair of the file's and the command line's is for:
 * a file's bridge may name its own; on the command line, the -c before
 * it when -c scopes pairs (given twice or more), else the one container
 * -c, NSBRIDGE_CONTAINER or the file names, as before scoping existed.
 * Sets @ret_split to the REF of a -c that falls inside the pair, else NULL.
 */
static const char *pair_container(const struct config *cfg, size_t pair, const char **ret_split)
{
	size_t n_file = 0;
	const struct conffile_entry *e = cfg->file ? conffile_bridges(cfg->file, &n_file) : NULL;
	const char *fallback = cfg->arg_containers ? cfg->container_default : cfg->container;
	size_t k;

	*ret_split = NULL;
	if (pair < n_file)
		return e[pair].container ? e[pair].container : fallback;
	if (!cfg->arg_containers)
		return fallback;
	k = 2 * (pair - n_file);
	if (!same_ref(cfg->arg_containers[k], cfg->arg_containers[k + 1]))
		*ret_split = cfg->arg_containers[k + 1];
	return cfg->arg_containers[k] ? cfg->arg_containers[k] : fallback;
}

static bool uses_container(const struct bridge_spec *b)
{
	if (b->expose.side == SIDE_CONTAINER)
		return true;
	for (unsigned k = 0; k < b->n_services; k++)
		if (b->services[k].kind == ENDPOINT_INET && b->services[k].side == SIDE_CONTAINER)
			return true;
	return false;
}

/*
 * Give a bridge's "container" endpoints the side of its container, a new
 * entry of the side table the first time a REF is seen: two -c naming the
 * same REF are one side.
 */
static int place_in_container(struct config *cfg, struct bridge_spec *b, char *error,
			      size_t len)
{
	size_t i;

	if (!uses_container(b))
		return 0;
	for (i = 0; i < cfg->n_containers; i++)
		if (strcmp(cfg->containers[i], b->container) == 0)
			break;
	if (i == CONTAINERS_MAX)
		return fail(error, len, "-c '%s': one nsbridge serves at most %d containers",
			    b->container, CONTAINERS_MAX);
	if (i == cfg->n_containers)
		cfg->containers[cfg->n_containers++] = b->container;
	if (b->expose.side == SIDE_CONTAINER)
		b->expose.side = (enum side)(SIDE_CONTAINER + i);
	for (unsigned k = 0; k < b->n_services; k++)
		if (b->services[k].kind == ENDPOINT_INET && b->services[k].side == SIDE_CONTAINER)
			b->services[k].side = (enum side)(SIDE_CONTAINER + i);
	b->service = b->services[0];
	return 0;
}

/* One pair: its container, its endpoints, then its place in the side table */
static int parse_pair(struct config *cfg, size_t pair, char *svc, char *exp, char *error,
		      size_t len)
{
	struct bridge_spec *b = &cfg->bridges[pair];
	const char *split;

	b->container = pair_container(cfg, pair, &split);
	if (split)
		return fail(error, len, "'-c %s' comes between SERVICE '%s' and its EXPOSE '%s': "
			    "-c goes before the pairs it is for", split, svc, exp);
	if (parse_endpoint("EXPOSE", exp, &b->expose, error, len) < 0 ||
	    parse_services(cfg, b, svc, exp, error, len) < 0)
		return -EINVAL;
	return place_in_container(cfg, b, error, len);
}

/*
 * The SERVICE EXPOSE pairs of @args; @where[i / 2] says where pair i came
 * from ("web.conf:7"), NULL for the command line.
 */
static int parse_bridges(int n, char *args[], char *const where[], struct config *cfg,
			 char *error, size_t len)
{
	if (cfg->mirror)
		return parse_mirror(n, args, cfg, error, len);
	if (cfg->mirror_udp || cfg->n_mirror_exclude)
		return fail(error, len, "--mirror-udp and --mirror-exclude go with --mirror");
	if (n == 0 && cfg->file)
		return fail(error, len, "expected SERVICE EXPOSE here or bridges in %s",
			    cfg->config_file);
	if (n == 0)
		return fail(error, len, "expected SERVICE EXPOSE, like: nsbridge -c web "
			    "host:5432 container:5432 (see nsbridge --help)");
	if (n % 2)
		return fail(error, len, "'%s' has no EXPOSE: arguments come in SERVICE EXPOSE pairs",
			    args[n - 1]);
	cfg->bridges = calloc((size_t)n / 2, sizeof(*cfg->bridges));
	if (!cfg->bridges)
		return fail(error, len, "out of memory");
	for (int i = 0; i < n; i += 2) {
		struct bridge_spec *b = &cfg->bridges[i / 2];

		if (parse_pair(cfg, (size_t)i / 2, args[i], args[i + 1], error, len) < 0)
			return at_origin(where[i / 2], error, len);
		for (int j = 0; j < i; j += 2)
			if (endpoint_overlaps(&cfg->bridges[j / 2].expose, &b->expose))
				return fail(error, len, "EXPOSE '%s' overlaps EXPOSE '%s'",
					    args[i + 1], args[j + 1]),
				       at_origin(where[i / 2], error, len);
		cfg->n_bridges++;
	}
	return 0;
}

static const struct option_desc *option_by_name(const char *name)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

/*
 * The settings of a --config file, through the setter the command line
 * uses. The options without a variable (help, version, json, no-follow)
 * and config itself have no place in a file.
 */
static int apply_file_options(struct config *cfg, char *error, size_t len)
{
	size_t n;
	const struct conffile_entry *e = conffile_options(cfg->file, &n);

	for (size_t i = 0; i < n; i++, e++) {
		const struct option_desc *o = option_by_name(e->name);

		if (!o || !o->env || o->id == OPT_CONFIG)
			return fail(error, len, "%s:%d: unknown setting '%s': expected an option "
				    "of nsbridge --help without its dashes, or bridges",
				    cfg->config_file, e->line, e->name);
		if ((o->has_arg && e->is_bool) || apply_option(cfg, o->id, e->value) < 0)
			return fail(error, len, "%s:%d: %s = %s: expected %s", cfg->config_file,
				    e->line, e->name, e->value, o->has_arg && e->is_bool ?
				    "a value, not true or false" : expected_value(o->id));
	}
	return 0;
}

/* --config FILE, else NSBRIDGE_CONFIG: found before anything is applied */
static int find_config_file(int argc, char *argv[], const char **ret, char *error, size_t len)
{
	struct config scratch = { .action = CLI_RUN };
	const char *env = getenv("NSBRIDGE_CONFIG");
	unsigned given = 0;

	if (apply_command_line(argc, argv, &scratch, &given, error, len) < 0)
		return -EINVAL;
	*ret = scratch.config_file ? scratch.config_file : env && *env ? env : NULL;
	return 0;
}

static int read_config_file(struct config *cfg, const char *path, char *error, size_t len)
{
	int r;

	cfg->config_file = path;
	r = conffile_read(path, &cfg->file, error, len);
	if (r == -ENOMEM)
		return fail(error, len, "out of memory");
	return r < 0 ? r : apply_file_options(cfg, error, len);
}

/* The file's bridges, then the command line's; a label of where each pair came from */
static int collect_pairs(const struct config *cfg, int n_args, char *args[], char ***ret_args,
			 char ***ret_where, int *ret_n)
{
	size_t n_file = 0;
	const struct conffile_entry *e = cfg->file ? conffile_bridges(cfg->file, &n_file) : NULL;
	size_t n = 2 * n_file + (size_t)n_args;
	char **all = calloc(n + 1, sizeof(*all)), **where = calloc(n / 2 + 1, sizeof(*where));

	if (!all || !where) {
		free(all);
		free(where);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_file; i++) {
		all[2 * i] = (char *)e[i].name;
		all[2 * i + 1] = (char *)e[i].value;
		if (asprintf(&where[i], "%s:%d", cfg->config_file, e[i].line) < 0)
			where[i] = NULL;
	}
	memcpy(all + 2 * n_file, args, (size_t)n_args * sizeof(*args));
	*ret_args = all;
	*ret_where = where;
	*ret_n = (int)n;
	return 0;
}

static int parse_all_bridges(struct config *cfg, int n_args, char *args[], char *error,
			     size_t len)
{
	char **all, **where;
	int n, r;

	size_t n_file = 0;

	if (cfg->file)
		conffile_bridges(cfg->file, &n_file);
	if (cfg->mirror && n_file)
		return fail(error, len, "%s: bridges and --mirror do not go together",
			    cfg->config_file);
	if (collect_pairs(cfg, n_args, args, &all, &where, &n) < 0)
		return fail(error, len, "out of memory");
	r = parse_bridges(n, all, where, cfg, error, len);
	for (int i = 0; i < n / 2 + 1; i++)
		free(where[i]);
	free(where);
	free(all);
	return r;
}

/* --allow-uid checks clients of an EXPOSE on the host: some bridge needs one */
static int check_allow_uid(const struct config *cfg, char *error, size_t len)
{
	if (!cfg->n_allow_uids)
		return 0;
	for (size_t i = 0; i < cfg->n_bridges; i++)
		if (cfg->bridges[i].expose.side == SIDE_HOST)
			return 0;
	return fail(error, len, "--allow-uid checks the clients of an EXPOSE on the host, "
		    "and no bridge exposes there");
}

/* --metrics serves what is going on to whoever reaches it: loopback unless asked */
static int check_metrics(const struct config *cfg, char *error, size_t len)
{
	if (cfg->has_metrics && !cfg->allow_nonlocal && !endpoint_addr_is_loopback(&cfg->metrics))
		return fail(error, len, "--metrics '%s': not a loopback address; "
			    "--allow-nonlocal serves metrics beyond this machine", cfg->metrics_text);
	return 0;
}

/* nsbridge ports, nsbridge status [PID|PATH]: no bridges, something to show */
static int parse_subcommand(int argc, char *argv[], struct config *cfg, char *error, size_t len)
{
	if (strcmp(argv[0], "ports") == 0) {
		cfg->action = CLI_PORTS;
		if (argc > 1)
			return fail(error, len, "'%s': nsbridge ports takes no arguments, "
				    "only -c REF and --json", argv[1]);
	} else if (strcmp(argv[0], "status") == 0) {
		cfg->action = CLI_STATUS;
		if (argc > 2)
			return fail(error, len, "'%s': nsbridge status takes at most one PID or "
				    "socket path, and --json", argv[2]);
		cfg->status_of = argc > 1 ? argv[1] : NULL;
	}
	return 0;
}

/* Whether argv[i] is an option that takes the next argument as its value */
static bool takes_next(const char *arg)
{
	if (arg[0] != '-' || arg[1] == '\0')
		return false;
	if (arg[1] != '-') {	/* short options: -c takes the rest, or the next argument */
		const char *c = strchr(arg + 1, OPT_CONTAINER);

		return c && c[1] == '\0';
	}
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].has_arg && strcmp(arg + 2, options[i].name) == 0)
			return true;
	return false;
}

/*
 * "nsbridge ... -- CMD ARGS": everything after the first "--" that is not
 * an option's value is the command, for getopt never to see. Returns the
 * argument count before it.
 */
static int split_command(int argc, char *argv[], struct config *cfg)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			cfg->command = argv + i + 1;
			cfg->n_command = (size_t)(argc - i - 1);
			return i;
		}
		if (takes_next(argv[i]))
			i++;
	}
	return argc;
}

/* The value of a -c in @arg ("-cweb", "--container=web"), "" when it is the next argument */
static const char *container_option(const char *arg)
{
	static const char name[] = "--container";

	if (strncmp(arg, name, sizeof(name) - 1) == 0) {
		const char *rest = arg + sizeof(name) - 1;

		return *rest == '=' ? rest + 1 : *rest ? NULL : "";
	}
	if (arg[0] != '-' || arg[1] == '\0' || arg[1] == '-')
		return NULL;
	arg = strchr(arg + 1, OPT_CONTAINER);	/* only -c takes a value: the rest is it */
	return arg ? arg + 1 : NULL;
}

/*
 * -c REF scopes the pairs after it, up to the next -c: "-c web A B -c api
 * C D". Which -c comes before which pair is only in the order of argv,
 * which getopt_long() permutes, so it is read first: for each argument
 * that is not an option, the REF in force there. A single -c keeps its
 * old meaning, every pair wherever it stands: no scope is kept then.
 */
static int scope_containers(int argc, char *argv[], struct config *cfg)
{
	const char **refs = calloc((size_t)argc + 1, sizeof(*refs));
	const char *ref = NULL;
	unsigned n_dash_c = 0;
	size_t n = 0;

	if (!refs)
		return -ENOMEM;
	for (int i = 1; i < argc; i++) {
		const char *value = container_option(argv[i]);

		if (value) {
			const char *prev = ref;

			ref = *value ? value : i + 1 < argc ? argv[++i] : NULL;
			cfg->dash_c_differ |= n_dash_c++ && !same_ref(prev, ref);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			i += takes_next(argv[i]);
		} else {
			refs[n++] = ref;
		}
	}
	if (n_dash_c < 2) {
		free(refs);
		refs = NULL;
	}
	cfg->arg_containers = refs;
	return 0;
}

/*
 * The file, then the environment, then the command line: each wins over
 * the one before. Then what the command line says to do with them.
 */
static int parse_layers(int argc, char *argv[], const char *path, struct config *cfg,
			char *error, size_t len)
{
	unsigned env_bad, given = 0;

	if (path && read_config_file(cfg, path, error, len) < 0)
		return -EINVAL;
	apply_environment(cfg, &env_bad);
	cfg->container_default = cfg->container;	/* before -c: for unscoped pairs */
	if (apply_command_line(argc, argv, cfg, &given, error, len) < 0 ||
	    check_environment(env_bad, given, error, len) < 0)
		return -EINVAL;
	if (cfg->action == CLI_RUN && optind < argc &&
	    parse_subcommand(argc - optind, argv + optind, cfg, error, len) < 0)
		return -EINVAL;
	if (cfg->action == CLI_RUN && cfg->json)
		return fail(error, len, "--json goes with nsbridge ports or nsbridge status");
	if (cfg->command && (cfg->action != CLI_RUN || !cfg->n_command))
		return fail(error, len, cfg->n_command ? "'-- CMD' goes with bridges, "
			    "not with a subcommand" : "'--' must be followed by a command to run");
	if (cfg->action != CLI_RUN)
		return 0;
	if (parse_all_bridges(cfg, argc - optind, argv + optind, error, len) < 0 ||
	    check_allow_uid(cfg, error, len) < 0 || check_metrics(cfg, error, len) < 0)
		return -EINVAL;
	return 0;
}

/**
 * cli_parse() - read the environment and the command line
 * @argc:	argument count
 * @argv:	arguments; the config points into them, so they must outlive it
 * @ret:	the configuration; on success free it with config_free()
 * @error:	on failure, one line for the user, without the "nsbridge: " prefix
 * @error_len:	size of @error
 *
 * Return: 0, or -EINVAL with @error set and nothing to free
 */
int cli_parse(int argc, char *argv[], struct config *ret, char *error, size_t error_len)
{
	struct config cfg = {
		.action = CLI_RUN,
		.max_connections = CLI_DEFAULT_MAX_CONNECTIONS,
		.connect_timeout_ms = CLI_DEFAULT_CONNECT_TIMEOUT_MS,
		.drain_timeout_ms = CLI_DEFAULT_DRAIN_TIMEOUT_MS,
		.udp_timeout_ms = CLI_DEFAULT_UDP_TIMEOUT_MS,
		.max_udp_flows = CLI_DEFAULT_MAX_UDP_FLOWS,
		.follow = FOLLOW_DEFAULT,
		.log_format = LOG_FORMAT_TEXT,
	};
	const char *path;
	int r;

	argc = split_command(argc, argv, &cfg);
	if (scope_containers(argc, argv, &cfg) < 0)
		return fail(error, error_len, "out of memory");
	if (find_config_file(argc, argv, &path, error, error_len) < 0) {
		config_free(&cfg);
		return -EINVAL;
	}
	r = parse_layers(argc, argv, path, &cfg, error, error_len);
	if (r < 0) {
		config_free(&cfg);
		return r;
	}
	*ret = cfg;
	return 0;
}

/**
 * config_mirror_excludes() - whether --mirror-exclude names a port
 * @config:	the configuration
 * @port:	the port
 *
 * Return: true if --mirror must leave it alone
 */
bool config_mirror_excludes(const struct config *config, uint16_t port)
{
	for (size_t i = 0; i < config->n_mirror_exclude; i++)
		if (port >= config->mirror_exclude[i].first && port <= config->mirror_exclude[i].last)
			return true;
	return false;
}

/**
 * config_allows_uid() - whether --allow-uid lets a user connect
 * @config:	the configuration
 * @uid:	owner of the client's socket
 *
 * Return: true without --allow-uid, or if it names @uid
 */
bool config_allows_uid(const struct config *config, uint32_t uid)
{
	if (!config->n_allow_uids)
		return true;
	for (size_t i = 0; i < config->n_allow_uids; i++)
		if (config->allow_uids[i] == uid)
			return true;
	return false;
}

/**
 * config_free() - release what cli_parse() allocated
 * @config:	the configuration
 */
void config_free(struct config *config)
{
	conffile_free(config->file);
	config->file = NULL;
	free(config->bridges);
	config->bridges = NULL;
	config->n_bridges = 0;
	free(config->arg_containers);
	config->arg_containers = NULL;
}

/**
 * cli_print_help() - the usage screen, on stdout
 */
void cli_print_help(void)
{
	fputs(
"Usage: nsbridge [OPTIONS] SERVICE EXPOSE [...] [-- CMD [ARG...]]\n"
"       nsbridge ports [-c REF] [--json] | status [--json] [PID] | -h | --version\n"
"SERVICE is where it listens now, EXPOSE where it should appear (cp SRC DEST):\n"
"  nsbridge -c web host:5432 container:5432   host's 127.0.0.1:5432 inside web\n"
"  nsbridge -c web container:9229 host:9229   web's debugger on the host\n"
"Endpoints: host|container:[ADDR:]PORT[-LAST][/udp], or unix:PATH for SERVICE.\n"
"  No ADDR: EXPOSE binds 127.0.0.1 and [::1]; SERVICE is 127.0.0.1 (TCP: or ::1).\n"
"  SERVICE,SERVICE...: round-robin. EXPOSE port 0: any free; --port-file FILE\n"
"-- CMD: run CMD once ready, with $NSBRIDGE_PORT; pass it SIGTERM; exit with it\n"
"  -c, --container REF      container name or ID, pid:N, netns:NAME, a path, self\n"
"                           rootless $XDG_RUNTIME_DIR/{podman/podman,docker}.sock\n"
"      --host-netns PATH    'host' is this namespace instead of nsbridge's own\n"
"      --allow-nonlocal     let EXPOSE or --metrics bind a non-loopback address\n"
"      --allow-uid UIDS     host EXPOSE: only these users' clients (0,1000)\n"
"      --max-connections N  per bridge (16384); --max-udp-flows N (4096)\n"
"      --connect-timeout D  reaching SERVICE (5s); --idle-timeout D (never)\n"
"      --drain-timeout D    after SIGTERM (5s); --udp-timeout D, UDP idle (60s)\n"
"      --mirror FROM TO     every port listening on FROM's loopback, on TO's too;\n"
"                           --mirror-exclude PORTS, --mirror-udp\n"
"      --[no-]follow        wait for a named container; --user U: relay's user\n"
"      --metrics ADDR:PORT  Prometheus /metrics; --config FILE: bridges, options\n"
"  -v, --verbose            debug lines; -q: errors only; --log-format json\n"
"Durations 500ms, 5s, 2m, 1h. NSBRIDGE_<OPTION> beats --config; a flag beats both\n"
"Exit: 0 ok, 1 failure, 2 usage, 3 port in use, 4 no container, 5 no privilege.\n",
	      stdout);
}

/**
 * cli_print_version() - the version line, on stdout
 */
void cli_print_version(void)
{
	printf("nsbridge %s\n", NSBRIDGE_VERSION);
}
