/* SPDX-License-Identifier: GPL-2.0-or-later */
/* options.c - the table of options: one row per option, its value parsed and stored
 *
 * Theory of operation
 *
 * Every option is one row of options[]: its long and short name, where it
 * may be given, the kind of its value, where in struct config it goes (or
 * the setter of an odd one) and its --help line. getopt_long()'s array,
 * the short option string, the NSBRIDGE_<NAME> variables, the keys of a
 * --config file (cli.c) and the option lines of --help (help.c) are all
 * made from the rows, and one function, option_apply(), applies a row's
 * value whichever of the three it came from, so a value means the same
 * and fails alike in all of them. A new option is a row here and a row of
 * test_cli.c's option_cases, which sets every row through all three and
 * checks that it was stored.
 *
 * What a reload does with a changed value is part of the row too (LIVE or
 * RESTART); cli_option_same() and cli_option_copy() let reload.c compare
 * and copy a row's member without knowing its type.
 */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsbridge/cli.h"

#include "cli_internal.h"

#define MAX_CONNECTIONS_LIMIT	1000000u

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

static int set_log_format(struct config *cfg, const char *value)
{
	if (strcmp(value, "text") == 0)
		cfg->log_format = LOG_FORMAT_TEXT;
	else if (strcmp(value, "json") == 0)
		cfg->log_format = LOG_FORMAT_JSON;
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
static int set_mirror_exclude(struct config *cfg, const char *text)
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
static int set_allow_uids(struct config *cfg, const char *text)
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
static int set_metrics(struct config *cfg, const char *value)
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

/* Switches that are more than a bool of struct config */
static void set_follow(struct config *cfg, bool on)
{
	cfg->follow = on ? FOLLOW_ON : FOLLOW_OFF;
}

static void set_no_follow(struct config *cfg, bool on)
{
	cfg->follow = FOLLOW_OFF;
}

/* -v -v is more debug; "not verbose" (NSBRIDGE_VERBOSE=0) is normal */
static void set_verbose(struct config *cfg, bool on)
{
	cfg->verbosity = on ? (cfg->verbosity > 0 ? cfg->verbosity + 1 : 1) : 0;
}

/* "not quiet" (NSBRIDGE_QUIET=0) must not undo NSBRIDGE_VERBOSE=1 */
static void set_quiet(struct config *cfg, bool on)
{
	if (on)
		cfg->verbosity = -1;
	else if (cfg->verbosity < 0)
		cfg->verbosity = 0;
}

static void set_version(struct config *cfg, bool on)
{
	cfg->action = CLI_VERSION;
}

static void set_help(struct config *cfg, bool on)
{
	cfg->action = CLI_HELP;
}

/*
 * What a row is and where it stores its value. FIELD() does not compile
 * when the member is not of the type that the kind writes there.
 */
#define FIELD(type, f)		_Generic(((struct config *)0)->f, type: offsetof(struct config, f))
#define SIZE(f)			sizeof(((struct config *)0)->f)
#define SWITCH(f)		.kind = CLI_SWITCH, .offset = FIELD(bool, f), .size = SIZE(f)
#define COUNT(f, most)		.kind = CLI_COUNT, .offset = FIELD(unsigned, f), .size = SIZE(f), \
				.min = 1, .max = (most)
#define DURATION(f, least)	.kind = CLI_DURATION, .offset = FIELD(unsigned, f), .size = SIZE(f), \
				.min = (least)
#define STRING(f)		.kind = CLI_STRING, .offset = FIELD(const char *, f), .size = SIZE(f), \
				.text = true
#define SWITCH_BY(fn)		.kind = CLI_SWITCH, .set_switch = (fn)
#define LIST_BY(fn)		.kind = CLI_LIST, .set = (fn)
#define VALUE_BY(fn)		.kind = CLI_VALUE, .set = (fn)
/* The member a row with a setter stores into, for a reload to compare */
#define STORES(f)		.offset = offsetof(struct config, f), .size = SIZE(f)
#define STORES_TEXT(f)		.offset = FIELD(const char *, f), .size = SIZE(f), .text = true
#define STORES_LIST(f, n)	.offset = offsetof(struct config, f), .size = SIZE(f[0]), \
				.count = FIELD(size_t, n)

/* What a reload does with a change of a row's value (reload.c) */
#define LIVE		.reload = CLI_RELOAD_LIVE
#define RESTART		.reload = CLI_RELOAD_RESTART
#define NOT_RELOADED	.reload = CLI_RELOAD_NONE

/* Where a row may be given */
#define ARGV		CLI_FROM_ARGV
#define ARGV_ENV	(CLI_FROM_ARGV | CLI_FROM_ENV)
#define ARGV_ENV_FILE	(CLI_FROM_ARGV | CLI_FROM_ENV | CLI_FROM_FILE)

/*
 * Every option, in the order of --help. The environment is applied in
 * this order too, so NSBRIDGE_QUIET=1 wins over NSBRIDGE_VERBOSE=1. Each
 * row opens with { "name", 'x' or 0, ARGV..., which is how
 * tests/docs/lib.sh finds the options and variables that the manual page
 * and the bash completion must know. Each says what a reload does when
 * its value changes, LIVE or RESTART (NOT_RELOADED: never in a file, so
 * never changed by one); reload.c goes by that alone.
 */
static const struct cli_option options[] = {
	{ "container", 'c', ARGV_ENV_FILE, STRING(container), RESTART, .arg = "REF",
	  .help = "container name or ID, pid:N, netns:NAME, a path, self\n"
		  "for pairs after it; also $XDG_RUNTIME_DIR's engines" },
	/* after "container": NSBRIDGE_SOURCE is the container's of the environment */
	{ "source", 0, ARGV_ENV_FILE, VALUE_BY(cli_set_source),
	  STORES_LIST(sources, n_sources), RESTART,
	  .expected = "an IPv4 address in 127.0.0.0/8, like 127.77.0.5",
	  .arg = "ADDR", .help = "its clients reach host from ADDR" },
	{ "proxy-protocol", 0, ARGV_ENV_FILE, SWITCH(proxy_protocol), LIVE, .join = "; ",
	  .help = "" },
	{ "host-netns", 0, ARGV_ENV_FILE, STRING(host_netns), RESTART, .arg = "PATH",
	  .help = "'host' is PATH, not nsbridge's own" },
	{ "allow-nonlocal", 0, ARGV_ENV_FILE, SWITCH(allow_nonlocal), RESTART, .join = "; ",
	  .help = "" },
	{ "allow-uid", 0, ARGV_ENV_FILE, LIST_BY(set_allow_uids),
	  STORES_LIST(allow_uids, n_allow_uids), LIVE,
	  .expected = "user ids, like 1000 or 0,1000",
	  .arg = "UIDS", .help = "host EXPOSE: only these users' clients (0,1000)" },
	{ "max-connections", 0, ARGV_ENV_FILE, COUNT(max_connections, MAX_CONNECTIONS_LIMIT),
	  LIVE, .arg = "N", .help = "per bridge (16384)" },
	{ "max-udp-flows", 0, ARGV_ENV_FILE, COUNT(max_udp_flows, MAX_CONNECTIONS_LIMIT), LIVE,
	  .arg = "N", .join = "; ", .help = " (4096)" },
	{ "connect-timeout", 0, ARGV_ENV_FILE, DURATION(connect_timeout_ms, 1), LIVE,
	  .arg = "D", .help = "reaching SERVICE (5s)" },
	{ "idle-timeout", 0, ARGV_ENV_FILE, DURATION(idle_timeout_ms, 0), LIVE,
	  .arg = "D", .join = "; ", .help = " (never)" },
	{ "drain-timeout", 0, ARGV_ENV_FILE, DURATION(drain_timeout_ms, 0), LIVE,
	  .arg = "D", .help = "after SIGTERM (5s)" },
	{ "udp-timeout", 0, ARGV_ENV_FILE, DURATION(udp_timeout_ms, 1), LIVE,
	  .arg = "D", .join = "; ", .help = ", UDP idle (60s)" },
	{ "mirror", 0, ARGV_ENV_FILE, SWITCH(mirror), RESTART,
	  .arg = "FROM TO", .help = "every port listening on FROM's loopback, on TO's too;" },
	{ "mirror-exclude", 0, ARGV_ENV_FILE, LIST_BY(set_mirror_exclude),
	  STORES_LIST(mirror_exclude, n_mirror_exclude), LIVE,
	  .expected = "ports and ranges from 1 to 65535, like 22,5432,8000-8099",
	  .arg = "PORTS", .join = "\n", .help = "" },
	{ "mirror-udp", 0, ARGV_ENV_FILE, SWITCH(mirror_udp), RESTART, .join = ", ", .help = "" },
	{ "labels", 0, ARGV_ENV_FILE, SWITCH(labels), RESTART, .arg = "[P]", .join = "; ",
	  .help = "" },
	{ "follow", 0, ARGV_ENV_FILE, SWITCH_BY(set_follow), STORES(follow), RESTART,
	  .help = "wait for a named container" },
	{ "no-follow", 0, ARGV, SWITCH_BY(set_no_follow), STORES(follow), RESTART },
	{ "user", 0, ARGV_ENV_FILE, STRING(user), RESTART,
	  .expected = "a user name or number, not empty",
	  .arg = "U", .join = "; ", .help = ": relay's user" },
	{ "metrics", 0, ARGV_ENV_FILE, VALUE_BY(set_metrics), STORES_TEXT(metrics_text),
	  RESTART,
	  .expected = "[ADDR:]PORT, like 9464, 127.0.0.1:9464 or [::1]:9464",
	  .arg = "ADDR:PORT", .help = "Prometheus /metrics" },
	{ "config", 0, ARGV_ENV, STRING(config_file), NOT_RELOADED,
	  .arg = "FILE", .join = "; ", .help = ": bridges, options" },
	{ "verbose", 'v', ARGV_ENV_FILE, SWITCH_BY(set_verbose), STORES(verbosity), LIVE,
	  .help = "debug lines" },
	{ "quiet", 'q', ARGV_ENV_FILE, SWITCH_BY(set_quiet), STORES(verbosity), LIVE,
	   .join = "; ", .help = ": errors only" },
	{ "log-format", 0, ARGV_ENV_FILE, VALUE_BY(set_log_format), STORES(log_format), LIVE,
	  .expected = "'text' or 'json'",
	  .arg = "json", .join = "; ", .help = "" },
	/* named by the free text around the option lines of --help */
	{ "port-file", 0, ARGV_ENV_FILE, STRING(port_file), RESTART },
	{ "json", 0, ARGV, SWITCH(json), NOT_RELOADED },
	{ "watch", 0, ARGV, SWITCH(watch), NOT_RELOADED },
	{ "labels-allow-nonlocal", 0, ARGV_ENV_FILE, SWITCH(labels_allow_nonlocal), RESTART },
	{ "labels-min-port", 0, ARGV_ENV_FILE, COUNT(labels_min_port, 65535), RESTART },
	{ "labels-sources", 0, ARGV_ENV_FILE, VALUE_BY(cli_set_labels_sources),
	  STORES(labels_sources), RESTART,
	  .expected = "a range inside 127.0.0.0/8, its host bits clear, like 127.77.0.0/16" },
	{ "sources-file", 0, ARGV_ENV_FILE, STRING(sources_file), RESTART },
	{ "version", 0, ARGV, SWITCH_BY(set_version), NOT_RELOADED },
	{ "help", 'h', ARGV, SWITCH_BY(set_help), NOT_RELOADED },
};

#define N_OPTIONS	(sizeof(options) / sizeof(options[0]))
_Static_assert(N_OPTIONS <= 64, "option_bit() needs a wider mask");

#define ENV_NAME_MAX	48


/**
 * cli_options() - the table of options, for the test of every row
 * @ret_n:	number of rows
 *
 * Return: the rows, in the order of --help
 */
const struct cli_option *cli_options(size_t *ret_n)
{
	*ret_n = N_OPTIONS;
	return options;
}

/**
 * cli_option_same() - whether @a and @b have the same value of a row
 * @o:		a row whose @size is set
 * @a:		a configuration
 * @b:		another
 *
 * Return: true if the row's member (a string as text, a list's entries)
 * is the same in both
 */
bool cli_option_same(const struct cli_option *o, const struct config *a,
		     const struct config *b)
{
	const char *pa = (const char *)a + o->offset, *pb = (const char *)b + o->offset;

	if (o->text) {
		const char *sa = *(const char *const *)(const void *)pa;
		const char *sb = *(const char *const *)(const void *)pb;

		return sa == sb || (sa && sb && strcmp(sa, sb) == 0);
	}
	if (o->count) {
		size_t na = *(const size_t *)(const void *)((const char *)a + o->count);
		size_t nb = *(const size_t *)(const void *)((const char *)b + o->count);

		return na == nb && memcmp(pa, pb, na * o->size) == 0;
	}
	return memcmp(pa, pb, o->size) == 0;
}

/**
 * cli_option_copy() - give @to the value of a row that @from has
 * @o:		a row whose @size is set, not @text (a string would point into
 *		@from)
 * @to:		where it goes
 * @from:	where it comes from
 */
void cli_option_copy(const struct cli_option *o, struct config *to, const struct config *from)
{
	size_t size = o->size;

	if (o->text)
		return;
	if (o->count) {
		memcpy((char *)to + o->count, (const char *)from + o->count, sizeof(size_t));
		size *= *(const size_t *)(const void *)((const char *)from + o->count);
	}
	memcpy((char *)to + o->offset, (const char *)from + o->offset, size);
}

/**
 * option_takes_value() - whether a row takes a value on the command line
 * @o:		the row
 *
 * Return: false for a switch, true for every other kind
 */
bool option_takes_value(const struct cli_option *o)
{
	return o->kind != CLI_SWITCH;
}

/* getopt_long()'s value for a row: its short name, else past every char */
static int option_val(const struct cli_option *o)
{
	return o->short_name ? o->short_name : 256 + (int)(o - options);
}

/**
 * option_by_val() - the row of a value getopt_long() returned
 * @val:	a short name, or what option_val() gave a row without one
 *
 * Return: the row, or NULL for none
 */
const struct cli_option *option_by_val(int val)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (option_val(&options[i]) == val)
			return &options[i];
	return NULL;
}

/**
 * option_by_name() - the row of a long name
 * @name:	the name, without "--"
 *
 * Return: the row, or NULL for none
 */
const struct cli_option *option_by_name(const char *name)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

/* Bit of options[] that an option sets; --no-NAME sets NAME's */
static uint64_t option_bit(const struct cli_option *o)
{
	const struct cli_option *pos = strncmp(o->name, "no-", 3) == 0 ?
				       option_by_name(o->name + 3) : NULL;

	return UINT64_C(1) << (unsigned)((pos ? pos : o) - options);
}

/* NSBRIDGE_<NAME>: the long name in capitals, '_' for '-' */
static const char *env_name(const struct cli_option *o, char *buf, size_t len)
{
	snprintf(buf, len, "NSBRIDGE_%s", o->name);
	for (char *p = buf; *p; p++)
		*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	return buf;
}

/**
 * option_getenv() - the value of a row's NSBRIDGE_<NAME> variable
 * @o:		the row
 *
 * Return: the value, or NULL when the variable is not set
 */
const char *option_getenv(const struct cli_option *o)
{
	char name[ENV_NAME_MAX];

	return getenv(env_name(o, name, sizeof(name)));
}

/**
 * option_expected() - what a valid value of a row looks like, for the error line
 * @o:		the row
 * @buf:	room for the text, when it has to be made (OPTION_EXPECTED_MAX)
 * @len:	size of @buf
 *
 * Return: the text, in @buf or constant
 */
const char *option_expected(const struct cli_option *o, char *buf, size_t len)
{
	if (o->expected)
		return o->expected;
	switch (o->kind) {
	case CLI_COUNT:
		snprintf(buf, len, "a number from %u to %u", o->min, o->max);
		return buf;
	case CLI_DURATION:
		return o->min ? "a duration above zero, like 500ms, 5s or 2m" :
				"a duration, like 500ms, 5s or 2m (0 for none)";
	case CLI_STRING:
		return "a value that is not empty";
	case CLI_SWITCH:
	case CLI_LIST:
	case CLI_VALUE:
	case CLI_KIND_MAX:
		break;
	}
	return "1, true, yes, on, 0, false, no or off";
}

/**
 * option_apply() - apply one row's value to @cfg
 * @cfg:	the configuration
 * @o:		the row
 * @value:	the argument of an option that takes one; for a switch, NULL
 *		on the command line ("on"), and the text of the variable or
 *		of the file's setting otherwise
 *
 * Return: 0, or -EINVAL for a malformed value
 */
int option_apply(struct config *cfg, const struct cli_option *o, const char *value)
{
	void *at = (char *)cfg + o->offset;
	bool on = true;
	unsigned n;

	if (option_takes_value(o) && !value)
		return -EINVAL;
	switch (o->kind) {
	case CLI_SWITCH:
		if (value && parse_switch(value, &on) < 0)
			return -EINVAL;
		if (o->set_switch)
			o->set_switch(cfg, on);
		else
			*(bool *)at = on;
		return 0;
	case CLI_COUNT:
		if (parse_count(value, o->max, &n) < 0 || n < o->min)
			return -EINVAL;
		*(unsigned *)at = n;
		return 0;
	case CLI_DURATION:
		if (cli_parse_duration(value, &n) < 0 || n < o->min)
			return -EINVAL;
		*(unsigned *)at = n;
		return 0;
	case CLI_STRING:
		if (!*value)
			return -EINVAL;
		*(const char **)at = value;
		return 0;
	case CLI_LIST:
	case CLI_VALUE:
		return o->set(cfg, value);
	case CLI_KIND_MAX:
		break;
	}
	return -EINVAL;
}

/**
 * options_apply_environment() - apply every NSBRIDGE_<NAME> variable that parses
 * @cfg:	the configuration
 * @ret_bad:	the bits of the rows whose variable does not parse, for
 *		options_check_environment() once the command line is known
 */
void options_apply_environment(struct config *cfg, uint64_t *ret_bad)
{
	uint64_t bad = 0;

	for (size_t i = 0; i < N_OPTIONS; i++) {
		const char *value;

		if (!(options[i].from & CLI_FROM_ENV) || !(value = option_getenv(&options[i])))
			continue;
		if (option_apply(cfg, &options[i], value) < 0)
			bad |= option_bit(&options[i]);
	}
	*ret_bad = bad;
}

/**
 * options_check_environment() - fail on a malformed variable the command line did not override
 * @bad:	what options_apply_environment() found malformed
 * @given:	what options_apply_command_line() was given
 * @f:		on failure, one line, naming the first such variable
 *
 * Return: 0, or -EINVAL
 */
int options_check_environment(uint64_t bad, uint64_t given, struct failure *f)
{
	char name[ENV_NAME_MAX], want[OPTION_EXPECTED_MAX];

	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct cli_option *o = &options[i];

		if ((o->from & CLI_FROM_ENV) && (bad & ~given & option_bit(o)))
			return cli_fail(f, "%s='%s': expected %s",
					env_name(o, name, sizeof(name)), option_getenv(o),
					option_expected(o, want, sizeof(want)));
	}
	return 0;
}

/* getopt_long()'s array and short option string, from the rows */
static void build_getopt(struct option *longopts, char *shortopts)
{
	size_t n = 0;

	*shortopts++ = ':';
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct cli_option *o = &options[i];

		if (!(o->from & CLI_FROM_ARGV))
			continue;
		longopts[n++] = (struct option){
			.name = o->name,
			.has_arg = option_takes_value(o) ? required_argument : no_argument,
			.val = option_val(o),
		};
		if (o->short_name) {
			*shortopts++ = o->short_name;
			if (option_takes_value(o))
				*shortopts++ = ':';
		}
	}
	*shortopts = '\0';
	longopts[n] = (struct option){ 0 };
}

/* Name the option getopt stopped at, as the user wrote it */
static const char *offending_option(char *argv[], char *buf, size_t len)
{
	const struct cli_option *o = option_by_val(optopt);
	const char *arg = optind > 0 ? argv[optind - 1] : "";

	/* a long option as written: getopt_long() names it by its short one */
	if (strncmp(arg, "--", 2) == 0 && arg[2])
		snprintf(buf, len, "%.*s", (int)strcspn(arg, "="), arg);
	else if (optopt > 0 && optopt < 256)
		snprintf(buf, len, "-%c", optopt);
	else if (o)
		snprintf(buf, len, "--%s", o->name);
	else
		snprintf(buf, len, "%s", argv[optind - 1]);
	return buf;
}

/* getopt_long() refused "--NAME=VALUE" of a switch that exists */
static bool option_given_a_value(char *argv[])
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	const char *eq = strchr(arg, '=');
	char name[64];
	const struct cli_option *o;

	if (strncmp(arg, "--", 2) != 0 || !eq || eq - arg - 2 >= (long)sizeof(name))
		return false;
	snprintf(name, sizeof(name), "%.*s", (int)(eq - arg - 2), arg + 2);
	o = option_by_name(name);
	return o && !option_takes_value(o);
}

/**
 * options_apply_command_line() - apply the options of argv, through getopt_long()
 * @argc:	argument count
 * @argv:	arguments; getopt_long() permutes them, and leaves optind at the
 *		first that is not an option
 * @cfg:	the configuration
 * @given:	gets the bit of each row given, for options_check_environment()
 * @f:		on failure, one line and exit status 2
 *
 * Return: 0, or -EINVAL
 */
int options_apply_command_line(int argc, char *argv[], struct config *cfg, uint64_t *given,
			       struct failure *f)
{
	struct option longopts[N_OPTIONS + 1];
	char shortopts[2 * N_OPTIONS + 2], name[64], want[OPTION_EXPECTED_MAX];
	int id;

	build_getopt(longopts, shortopts);
	optind = 0;
	opterr = 0;
	while ((id = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct cli_option *o = option_by_val(id);

		if (id == '?' && option_given_a_value(argv))
			return cli_fail(f, "option '%s' takes no value",
					offending_option(argv, name, sizeof(name)));
		if (id == '?')
			return cli_fail(f, "unknown option '%s' (see nsbridge --help)",
					offending_option(argv, name, sizeof(name)));
		if (id == ':')
			return cli_fail(f, "option '%s' needs a value",
					offending_option(argv, name, sizeof(name)));
		if (!o || option_apply(cfg, o, optarg) < 0)
			return cli_fail(f, "--%s '%s': expected %s", o ? o->name : "?",
					optarg ? optarg : "",
					o ? option_expected(o, want, sizeof(want)) : "");
		*given |= option_bit(o);
	}
	return 0;
}

/**
 * cli_apply_named() - set one option of @cfg by its row, as the command line would
 * @cfg:	the configuration to change
 * @name:	the long name, without "--"
 * @value:	its value, NULL for a switch
 * @f:		on failure, one line and exit status 2
 *
 * Return: 0, -ENOENT for no such option, -EINVAL for a bad value
 */
int cli_apply_named(struct config *cfg, const char *name, const char *value, struct failure *f)
{
	const struct cli_option *o = option_by_name(name);
	char want[OPTION_EXPECTED_MAX];

	if (!o || !(o->from & CLI_FROM_ARGV)) {
		cli_fail(f, "unknown option '--%s'", name);
		return -ENOENT;
	}
	if (option_takes_value(o) != (value != NULL))
		return cli_fail(f, option_takes_value(o) ? "option '--%s' needs a value" :
				"option '--%s' takes no value", name);
	if (option_apply(cfg, o, value) < 0)
		return cli_fail(f, "--%s '%s': expected %s", name, value ? value : "",
				option_expected(o, want, sizeof(want)));
	return 0;
}

/**
 * option_takes_next() - whether an argument is an option whose value is the next argument
 * @arg:	an argument of argv, read before getopt_long() permutes them
 *
 * Return: true for "-c", "--container" and the like, false for "-cweb",
 * "--container=web", a switch or a word
 */
bool option_takes_next(const char *arg)
{
	const struct cli_option *o;

	if (arg[0] != '-' || arg[1] == '\0')
		return false;
	if (arg[1] != '-') {	/* short options: -c takes the rest, or the next argument */
		for (const char *c = arg + 1; *c; c++)
			if ((o = option_by_val(*c)) && option_takes_value(o))
				return c[1] == '\0';
		return false;
	}
	o = option_by_name(arg + 2);
	return o && option_takes_value(o);
}
