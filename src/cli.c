/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.c - command line and NSBRIDGE_* environment into a struct config
 *
 * No side effects: cli_parse() reads argv and the environment and fills a
 * struct config, or returns -EINVAL with one line for the user.
 *
 * Theory of operation
 *
 * Every option is one row of options[]: its long and short name, where it
 * may be given, the kind of its value, where in struct config it goes (or
 * the setter of an odd one) and its --help line. getopt_long()'s array,
 * the short option string, the NSBRIDGE_<NAME> variables, the keys of a
 * --config file and the option lines of --help are all made from the rows,
 * and one function, apply_option(), applies a row's value whichever of the
 * three it came from, so a value means the same and fails alike in all of
 * them. A new option is a row here and a row of test_cli.c's option_cases,
 * which sets every row through all three and checks that it was stored.
 *
 * The file is applied first, then the environment, then the command line,
 * so each wins over the one before. A malformed variable is an error only
 * when the command line does not give that option: what the command line
 * overrides does not matter.
 */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsbridge/cli.h"
#include "nsbridge/conffile.h"

#define MAX_CONNECTIONS_LIMIT	1000000u

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
	{ "host-netns", 0, ARGV_ENV_FILE, STRING(host_netns), RESTART, .arg = "PATH",
	  .help = "'host' is this namespace instead of nsbridge's own" },
	{ "allow-nonlocal", 0, ARGV_ENV_FILE, SWITCH(allow_nonlocal), RESTART,
	  .help = "let EXPOSE or --metrics bind a non-loopback address" },
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
	{ "labels-allow-nonlocal", 0, ARGV_ENV_FILE, SWITCH(labels_allow_nonlocal), RESTART },
	{ "labels-min-port", 0, ARGV_ENV_FILE, COUNT(labels_min_port, 65535), RESTART },
	{ "version", 0, ARGV, SWITCH_BY(set_version), NOT_RELOADED },
	{ "help", 'h', ARGV, SWITCH_BY(set_help), NOT_RELOADED },
};

#define N_OPTIONS	(sizeof(options) / sizeof(options[0]))
_Static_assert(N_OPTIONS <= 32, "option_bit() needs a wider mask");

#define ENV_NAME_MAX	48
#define EXPECTED_MAX	64

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

static bool takes_value(const struct cli_option *o)
{
	return o->kind != CLI_SWITCH;
}

/* getopt_long()'s value for a row: its short name, else past every char */
static int option_val(const struct cli_option *o)
{
	return o->short_name ? o->short_name : 256 + (int)(o - options);
}

static const struct cli_option *option_by_val(int val)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (option_val(&options[i]) == val)
			return &options[i];
	return NULL;
}

static const struct cli_option *option_by_name(const char *name)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

/* Bit of options[] that an option sets; --no-NAME sets NAME's */
static unsigned option_bit(const struct cli_option *o)
{
	const struct cli_option *pos = strncmp(o->name, "no-", 3) == 0 ?
				       option_by_name(o->name + 3) : NULL;

	return 1u << (unsigned)((pos ? pos : o) - options);
}

/* NSBRIDGE_<NAME>: the long name in capitals, '_' for '-' */
static const char *env_name(const struct cli_option *o, char *buf, size_t len)
{
	snprintf(buf, len, "NSBRIDGE_%s", o->name);
	for (char *p = buf; *p; p++)
		*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	return buf;
}

static const char *option_getenv(const struct cli_option *o)
{
	char name[ENV_NAME_MAX];

	return getenv(env_name(o, name, sizeof(name)));
}

/* What a valid value looks like, for the error line */
static const char *expected_value(const struct cli_option *o, char *buf, size_t len)
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

/*
 * Apply one row. @value is the argument of an option that takes one; for
 * a switch it is NULL on the command line ("on"), and the text of the
 * variable or of the file's setting otherwise.
 */
static int apply_option(struct config *cfg, const struct cli_option *o, const char *value)
{
	void *at = (char *)cfg + o->offset;
	bool on = true;
	unsigned n;

	if (takes_value(o) && !value)
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

/* Apply every variable that parses; @ret_bad gets the bits of those that do not */
static void apply_environment(struct config *cfg, unsigned *ret_bad)
{
	unsigned bad = 0;

	for (size_t i = 0; i < N_OPTIONS; i++) {
		const char *value;

		if (!(options[i].from & CLI_FROM_ENV) || !(value = option_getenv(&options[i])))
			continue;
		if (apply_option(cfg, &options[i], value) < 0)
			bad |= option_bit(&options[i]);
	}
	*ret_bad = bad;
}

/* The first malformed variable whose option the command line did not give */
static int check_environment(unsigned bad, unsigned given, char *error, size_t len)
{
	char name[ENV_NAME_MAX], want[EXPECTED_MAX];

	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct cli_option *o = &options[i];

		if ((o->from & CLI_FROM_ENV) && (bad & ~given & option_bit(o)))
			return fail(error, len, "%s='%s': expected %s",
				    env_name(o, name, sizeof(name)), option_getenv(o),
				    expected_value(o, want, sizeof(want)));
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
			.has_arg = takes_value(o) ? required_argument : no_argument,
			.val = option_val(o),
		};
		if (o->short_name) {
			*shortopts++ = o->short_name;
			if (takes_value(o))
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
	char shortopts[2 * N_OPTIONS + 2], name[64], want[EXPECTED_MAX];
	int id;

	build_getopt(longopts, shortopts);
	optind = 0;
	opterr = 0;
	while ((id = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct cli_option *o = option_by_val(id);

		if (id == '?')
			return fail(error, len, "unknown option '%s' (see nsbridge --help)",
				    offending_option(argv, name, sizeof(name)));
		if (id == ':')
			return fail(error, len, "option '%s' needs a value",
				    offending_option(argv, name, sizeof(name)));
		if (!o || apply_option(cfg, o, optarg) < 0)
			return fail(error, len, "--%s '%s': expected %s", o ? o->name : "?",
				    optarg ? optarg : "", o ? expected_value(o, want, sizeof(want)) : "");
		*given |= option_bit(o);
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
 * --labels [PREFIX]: bridges come from the containers' labels, so no pair
 * is needed; one word alone is the prefix. A label key is
 * "PREFIX.bridges", so PREFIX keeps to the characters of a label key.
 */
static int set_labels_prefix(struct config *cfg, const char *prefix, char *error, size_t len)
{
	if (!prefix)
		return 0;
	if (!*prefix || strspn(prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789._-") != strlen(prefix) || strlen(prefix) > 64)
		return fail(error, len, "--labels '%s': expected a label prefix like nsbridge "
			    "or com.example.nsbridge", prefix);
	cfg->labels_prefix = prefix;
	return 0;
}

/*
 * The SERVICE EXPOSE pairs of @args; @where[i / 2] says where pair i came
 * from ("web.conf:7"), NULL for the command line.
 */
static int parse_bridges(int n, char *args[], char *const where[], struct config *cfg,
			 char *error, size_t len)
{
	if (cfg->labels && n <= 1)
		return set_labels_prefix(cfg, n ? args[0] : NULL, error, len);
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

/*
 * The settings of a --config file, through the setter the command line
 * uses. Only rows with CLI_FROM_FILE have a key: not help, version, json,
 * no-follow, nor config itself.
 */
static int apply_file_options(struct config *cfg, char *error, size_t len)
{
	char want[EXPECTED_MAX];
	size_t n;
	const struct conffile_entry *e = conffile_options(cfg->file, &n);

	for (size_t i = 0; i < n; i++, e++) {
		const struct cli_option *o = option_by_name(e->name);

		if (!o || !(o->from & CLI_FROM_FILE))
			return fail(error, len, "%s:%d: unknown setting '%s': expected an option "
				    "of nsbridge --help without its dashes, or bridges",
				    cfg->config_file, e->line, e->name);
		if ((takes_value(o) && e->is_bool) || apply_option(cfg, o, e->value) < 0)
			return fail(error, len, "%s:%d: %s = %s: expected %s", cfg->config_file,
				    e->line, e->name, e->value, takes_value(o) && e->is_bool ?
				    "a value, not true or false" :
				    expected_value(o, want, sizeof(want)));
	}
	return 0;
}

/* --config FILE, else NSBRIDGE_CONFIG: found before anything is applied */
static int find_config_file(int argc, char *argv[], const char **ret, char *error, size_t len)
{
	struct config scratch = { .action = CLI_RUN };
	const char *env = option_getenv(option_by_name("config"));
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

/* nsbridge add [PID|PATH] SERVICE EXPOSE, nsbridge remove [PID|PATH] EXPOSE */
static int parse_change(int argc, char *argv[], struct config *cfg, char *error, size_t len)
{
	int want = cfg->action == CLI_ADD ? 2 : 1;

	if (argc - 1 < want || argc - 1 > want + 1)
		return fail(error, len, cfg->action == CLI_ADD ?
			    "nsbridge add takes [PID|PATH] SERVICE EXPOSE" :
			    "nsbridge remove takes [PID|PATH] EXPOSE");
	cfg->status_of = argc - 1 > want ? argv[1] : NULL;
	for (int i = 0; i < want; i++)
		cfg->change[i] = argv[argc - want + i];
	return 0;
}

/* nsbridge ports, status [PID|PATH], add, remove: no bridges of its own */
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
	} else if (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "remove") == 0) {
		cfg->action = argv[0][0] == 'a' ? CLI_ADD : CLI_REMOVE;
		return parse_change(argc, argv, cfg, error, len);
	}
	return 0;
}

/**
 * cli_apply_named() - set one option of @cfg by its row, as the command line would
 * @cfg:	the configuration to change
 * @name:	the long name, without "--"
 * @value:	its value, NULL for a switch
 * @error:	on failure, one line
 * @error_len:	room in @error
 *
 * Return: 0, -ENOENT for no such option, -EINVAL for a bad value
 */
int cli_apply_named(struct config *cfg, const char *name, const char *value, char *error,
		    size_t error_len)
{
	const struct cli_option *o = option_by_name(name);
	char want[EXPECTED_MAX];

	if (!o || !(o->from & CLI_FROM_ARGV)) {
		snprintf(error, error_len, "unknown option '--%s'", name);
		return -ENOENT;
	}
	if (takes_value(o) != (value != NULL)) {
		snprintf(error, error_len, takes_value(o) ? "option '--%s' needs a value" :
			 "option '--%s' takes no value", name);
		return -EINVAL;
	}
	if (apply_option(cfg, o, value) < 0) {
		snprintf(error, error_len, "--%s '%s': expected %s", name, value ? value : "",
			 expected_value(o, want, sizeof(want)));
		return -EINVAL;
	}
	return 0;
}

/**
 * cli_parse_pair() - one SERVICE EXPOSE pair as the command line reads it,
 *		      for nsbridge add (reload.c)
 * @cfg:	the running configuration (--allow-nonlocal)
 * @service:	SERVICE, or several with ","
 * @expose:	EXPOSE
 * @ret:	the pair; "container" is the first container's side (reload.c
 *		refuses it where there are several)
 * @error:	on failure, one line
 * @error_len:	size of @error
 *
 * Return: 0 or -EINVAL
 */
int cli_parse_pair(const struct config *cfg, const char *service, const char *expose,
		   struct bridge_spec *ret, char *error, size_t error_len)
{
	struct bridge_spec b = { .container = cfg->n_containers ? cfg->containers[0] : NULL };

	if (parse_endpoint("EXPOSE", expose, &b.expose, error, error_len) < 0 ||
	    parse_services(cfg, &b, service, expose, error, error_len) < 0)
		return -EINVAL;
	b.service = b.services[0];
	*ret = b;
	return 0;
}

/* Whether argv[i] is an option that takes the next argument as its value */
static bool takes_next(const char *arg)
{
	const struct cli_option *o;

	if (arg[0] != '-' || arg[1] == '\0')
		return false;
	if (arg[1] != '-') {	/* short options: -c takes the rest, or the next argument */
		for (const char *c = arg + 1; *c; c++)
			if ((o = option_by_val(*c)) && takes_value(o))
				return c[1] == '\0';
		return false;
	}
	o = option_by_name(arg + 2);
	return o && takes_value(o);
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
	for (const char *c = arg + 1; *c; c++) {	/* the first that takes a value takes the rest */
		const struct cli_option *o = option_by_val(*c);

		if (o && takes_value(o))
			return strcmp(o->name, "container") == 0 ? c + 1 : NULL;
	}
	return NULL;
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
		.labels_prefix = CLI_DEFAULT_LABELS_PREFIX,
		.labels_min_port = CLI_DEFAULT_LABELS_MIN_PORT,
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

#define HELP_COLUMN	27

/* Help text; a "\n" in it goes on in the help column of the next line */
static void print_help_text(const char *text)
{
	for (; *text; text++)
		if (*text == '\n')
			printf("\n%*s", HELP_COLUMN, "");
		else
			putchar(*text);
}

/* "  -v, --verbose", "      --[no-]follow", "      --max-connections N" */
static void print_option_start(const struct cli_option *o)
{
	char no[64], lead[96];

	snprintf(no, sizeof(no), "no-%s", o->name);
	snprintf(lead, sizeof(lead), "  %c%c%c --%s%s%s%s", o->short_name ? '-' : ' ',
		 o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ',
		 option_by_name(no) ? "[no-]" : "", o->name, o->arg ? " " : "",
		 o->arg ? o->arg : "");
	printf("%-*s ", HELP_COLUMN - 1, lead);
}

/* "; --max-udp-flows N", "; -q": an option joined to the one before */
static void print_option_joined(const struct cli_option *o)
{
	print_help_text(o->join);
	if (o->short_name)
		printf("-%c", o->short_name);
	else
		printf("--%s", o->name);
	if (o->arg)
		printf(" %s", o->arg);
}

/* The option lines of --help, from the rows that have help */
static void print_options_help(void)
{
	bool started = false;

	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct cli_option *o = &options[i];

		if (!o->help)
			continue;
		if (o->join) {
			print_option_joined(o);
		} else {
			if (started)
				putchar('\n');
			print_option_start(o);
			started = true;
		}
		print_help_text(o->help);
	}
	if (started)
		putchar('\n');
}

/**
 * cli_print_help() - the usage screen, on stdout
 */
void cli_print_help(void)
{
	fputs(
"Usage: nsbridge [OPTIONS] SERVICE EXPOSE [...] [-- CMD [ARG...]]\n"
"       nsbridge ports|status | add|remove [PID] [SERVICE] EXPOSE | -h|--version\n"
"SERVICE is where it listens now, EXPOSE where it should appear (cp SRC DEST):\n"
"  nsbridge -c web host:5432 container:5432   host's 127.0.0.1:5432 inside web\n"
"  nsbridge -c web container:9229 host:9229   web's debugger on the host\n"
"Endpoints: host|container:[ADDR:]PORT[-LAST][/udp], or unix:PATH for SERVICE.\n"
"  No ADDR: EXPOSE binds 127.0.0.1 and [::1]; SERVICE is 127.0.0.1 (TCP: or ::1).\n"
"  SERVICE,SERVICE...: round-robin. EXPOSE port 0: any free; --port-file FILE\n"
"-- CMD: run CMD once ready, with $NSBRIDGE_PORT; pass it SIGTERM; exit with it\n",
	      stdout);
	print_options_help();
	fputs(
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
