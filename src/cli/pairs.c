/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pairs.c - SERVICE EXPOSE pairs, --mirror and --labels into struct config's bridges
 *
 * Theory of operation
 *
 * The bridges of a --config file come first, then the command line's
 * pairs, all parsed alike: EXPOSE, then each SERVICE of "A,B,C" with it,
 * through the grammar of endpoint.c, then check_pair() for what the
 * grammar allows but a bridge cannot do. A pair of the file carries
 * where it came from ("web.conf:7") into its error line. Which container
 * a pair is for, and the side that makes it, are pair_container.c's.
 *
 * --mirror FROM TO replaces the pairs with a bridge of every port (two
 * with --mirror-udp), and --labels with one word or none takes the
 * bridges from the containers' labels instead: labels.c parses each of
 * theirs with cli_parse_pair().
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsbridge/cli.h"
#include "nsbridge/conffile.h"

#include "cli_internal.h"

static int parse_endpoint(const char *role, const char *text, struct endpoint *ret,
			  struct failure *f)
{
	const char *why = NULL;

	if (endpoint_parse(text, ret, &why) < 0)
		return cli_fail(f, "%s '%s': expected %s", role, text, why);
	return 0;
}


/* What the grammar allows but this version or this pair cannot do */
static int check_pair(const struct config *cfg, const struct bridge_spec *b,
		      const char *svc, const char *exp, struct failure *f)
{
	unsigned ns = endpoint_port_count(&b->service), ne = endpoint_port_count(&b->expose);

	if (b->expose.kind == ENDPOINT_UNIX)
		return cli_fail(f, "EXPOSE '%s': a unix socket can only be a SERVICE",
				exp);
	if (b->service.kind == ENDPOINT_UNIX && b->expose.proto == PROTO_UDP)
		return cli_fail(f, "'%s %s': a unix SERVICE is a stream socket; "
				"its EXPOSE must be TCP", svc, exp);
	if (b->service.kind == ENDPOINT_UNIX && ne != 1)
		return cli_fail(f, "'%s %s': a unix SERVICE is one socket; "
				"its EXPOSE must be one port", svc, exp);
	if (b->service.kind == ENDPOINT_INET && b->service.proto != b->expose.proto)
		return cli_fail(f, "'%s %s': SERVICE is %s and EXPOSE %s; "
				"both sides need the same protocol", svc, exp,
				proto_name(b->service.proto), proto_name(b->expose.proto));
	if (b->service.kind == ENDPOINT_INET && b->service.port_first == 0)
		return cli_fail(f, "SERVICE '%s': port 0 means any free port, which only "
				"an EXPOSE can take", svc);
	if (ns != ne)
		return cli_fail(f, "'%s %s': SERVICE has %u port%s and EXPOSE %u; "
				"both sides need the same count", svc, exp, ns, ns == 1 ? "" : "s",
				ne);
	if (b->expose.side == SIDE_CONTAINER && !b->container)
		return cli_fail(f, "EXPOSE '%s' needs --container REF "
				"(or NSBRIDGE_CONTAINER)", exp);
	if (b->service.side == SIDE_CONTAINER && !b->container)
		return cli_fail(f, "SERVICE '%s' needs --container REF "
				"(or NSBRIDGE_CONTAINER)", svc);
	if (!cfg->allow_nonlocal && !endpoint_addr_is_loopback(&b->expose))
		return cli_fail(f, "EXPOSE '%s' is not a loopback address; "
				"--allow-nonlocal exposes a service beyond this machine", exp);
	if (endpoint_overlaps(&b->service, &b->expose))
		return cli_fail(f, "'%s %s': the bridge would relay to itself", svc, exp);
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
static int parse_mirror(int n, char *args[], struct config *cfg, struct failure *f)
{
	enum side from, to;

	if (n != 2 || parse_side(args[0], &from) < 0 || parse_side(args[1], &to) < 0 || from == to)
		return cli_fail(f, "--mirror takes two sides, FROM TO: 'host container' "
				"or 'container host'");
	if (!cfg->container)
		return cli_fail(f, "--mirror needs --container REF "
				"(or NSBRIDGE_CONTAINER)");
	if (cfg->dash_c_differ)
		return cli_fail(f, "--mirror follows one container: give -c REF once");
	cfg->bridges = calloc(2, sizeof(*cfg->bridges));
	if (!cfg->bridges)
		return cli_fail(f, "out of memory");
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
			  const char *exp, struct failure *f)
{
	char copy[SERVICES_MAX * (ENDPOINT_TEXT_MAX + 1)];
	char *one = copy;

	if (snprintf(copy, sizeof(copy), "%s", text) >= (int)sizeof(copy))
		return cli_fail(f, "SERVICE '%.40s...': expected at most %d endpoints",
				text, SERVICES_MAX);
	for (;;) {
		char *comma = strchr(one, ',');
		struct bridge_spec pair = *b;

		if (comma)
			*comma = '\0';
		if (b->n_services == SERVICES_MAX)
			return cli_fail(f, "SERVICE '%s': expected at most %d endpoints",
					text, SERVICES_MAX);
		if (parse_endpoint("SERVICE", one, &pair.service, f) < 0 ||
		    check_pair(cfg, &pair, one, exp, f) < 0)
			return -EINVAL;
		b->services[b->n_services++] = pair.service;
		if (!comma)
			break;
		one = comma + 1;
	}
	if (b->n_services > 1 && b->expose.proto != PROTO_TCP)
		return cli_fail(f, "SERVICE '%s': several SERVICEs are for TCP; "
				"a UDP bridge takes one", text);
	b->service = b->services[0];
	return 0;
}

/* Put "FILE:LINE: " before the message about a bridge from --config */
static int at_origin(const char *where, struct failure *f)
{
	char msg[FAILURE_LINE_MAX];

	if (where) {
		snprintf(msg, sizeof(msg), "%s", f->line);
		cli_fail(f, "%s: %s", where, msg);
	}
	return -EINVAL;
}

/* Whether pair @pair is a bridge of the file that says "proxy-protocol = true" */
static bool pair_proxy_protocol(const struct config *cfg, size_t pair)
{
	size_t n_file = 0;
	const struct conffile_entry *e = cfg->file ? conffile_bridges(cfg->file, &n_file) : NULL;

	return pair < n_file && e[pair].proxy_protocol;
}

/* One pair: its container, its endpoints, then its place in the side table */
static int parse_pair(struct config *cfg, size_t pair, char *svc, char *exp, struct failure *f)
{
	struct bridge_spec *b = &cfg->bridges[pair];
	const char *split;

	b->container = pair_container_ref(cfg, pair, &split);
	if (split)
		return cli_fail(f, "'-c %s' comes between SERVICE '%s' and its "
				"EXPOSE '%s': -c goes before the pairs it is for", split, svc, exp);
	if (parse_endpoint("EXPOSE", exp, &b->expose, f) < 0 ||
	    parse_services(cfg, b, svc, exp, f) < 0)
		return -EINVAL;
	b->proxy_protocol = pair_proxy_protocol(cfg, pair);
	return pair_container_place(cfg, b, f);
}

/*
 * --labels [PREFIX]: bridges come from the containers' labels, so no pair
 * is needed; one word alone is the prefix. A label key is
 * "PREFIX.bridges", so PREFIX keeps to the characters of a label key.
 */
static int set_labels_prefix(struct config *cfg, const char *prefix, struct failure *f)
{
	if (!prefix)
		return 0;
	if (!*prefix || strspn(prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789._-") != strlen(prefix) || strlen(prefix) > 64)
		return cli_fail(f, "--labels '%s': expected a label prefix like nsbridge "
				"or com.example.nsbridge", prefix);
	cfg->labels_prefix = prefix;
	return 0;
}

/*
 * The SERVICE EXPOSE pairs of @args; @where[i / 2] says where pair i came
 * from ("web.conf:7"), NULL for the command line.
 */
static int parse_bridges(int n, char *args[], char *const where[], struct config *cfg,
			 struct failure *f)
{
	if (cfg->labels && n <= 1)
		return set_labels_prefix(cfg, n ? args[0] : NULL, f);
	if (cfg->mirror)
		return parse_mirror(n, args, cfg, f);
	if (cfg->mirror_udp || cfg->n_mirror_exclude)
		return cli_fail(f, "--mirror-udp and --mirror-exclude go with --mirror");
	if (n == 0 && cfg->file)
		return cli_fail(f, "expected SERVICE EXPOSE here or bridges in %s",
				cfg->config_file);
	if (n == 0)
		return cli_fail(f, "expected SERVICE EXPOSE, like: nsbridge -c web "
				"host:5432 container:5432 (see nsbridge --help)");
	if (n % 2)
		return cli_fail(f, "'%s' has no EXPOSE: arguments come in SERVICE "
				"EXPOSE pairs", args[n - 1]);
	cfg->bridges = calloc((size_t)n / 2, sizeof(*cfg->bridges));
	if (!cfg->bridges)
		return cli_fail(f, "out of memory");
	for (int i = 0; i < n; i += 2) {
		struct bridge_spec *b = &cfg->bridges[i / 2];

		if (parse_pair(cfg, (size_t)i / 2, args[i], args[i + 1], f) < 0)
			return at_origin(where[i / 2], f);
		for (int j = 0; j < i; j += 2)
			if (endpoint_overlaps(&cfg->bridges[j / 2].expose, &b->expose)) {
				cli_fail(f, "EXPOSE '%s' overlaps EXPOSE '%s'", args[i + 1],
					 args[j + 1]);
				return at_origin(where[i / 2], f);
			}
		cfg->n_bridges++;
	}
	return 0;
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

/**
 * pairs_parse() - the bridges of the --config file and of the command line
 * @cfg:	the configuration, its options applied; gets @bridges
 * @n_args:	arguments left after the options and a subcommand
 * @args:	them: SERVICE EXPOSE pairs, FROM TO for --mirror, or a
 *		prefix for --labels
 * @f:		on failure, one line and exit status 2; "FILE:LINE: " before
 *		it for a pair of the file
 *
 * Return: 0, or -EINVAL
 */
int pairs_parse(struct config *cfg, int n_args, char *args[], struct failure *f)
{
	char **all, **where;
	int n, r;

	size_t n_file = 0;

	if (cfg->file)
		conffile_bridges(cfg->file, &n_file);
	if (cfg->mirror && n_file)
		return cli_fail(f, "%s: bridges and --mirror do not go together",
				cfg->config_file);
	if (collect_pairs(cfg, n_args, args, &all, &where, &n) < 0)
		return cli_fail(f, "out of memory");
	r = parse_bridges(n, all, where, cfg, f);
	for (int i = 0; i < n / 2 + 1; i++)
		free(where[i]);
	free(where);
	free(all);
	return r;
}

/**
 * cli_parse_pair() - one SERVICE EXPOSE pair as the command line reads it,
 *		      for nsbridge add (reload.c)
 * @cfg:	the running configuration (--allow-nonlocal)
 * @service:	SERVICE, or several with ","
 * @expose:	EXPOSE
 * @ret:	the pair; "container" is the first container's side (reload.c
 *		refuses it where there are several)
 * @f:		on failure, one line and exit status 2
 *
 * Return: 0 or -EINVAL
 */
int cli_parse_pair(const struct config *cfg, const char *service, const char *expose,
		   struct bridge_spec *ret, struct failure *f)
{
	struct bridge_spec b = { .container = cfg->n_containers ? cfg->containers[0] : NULL };

	if (parse_endpoint("EXPOSE", expose, &b.expose, f) < 0 ||
	    parse_services(cfg, &b, service, expose, f) < 0)
		return -EINVAL;
	b.service = b.services[0];
	*ret = b;
	return 0;
}

/**
 * bridge_spec_uses_side() - whether a bridge has an end in a side's namespace
 * @spec:	the bridge
 * @side:	the side
 *
 * Return: true if its EXPOSE, or one of its network SERVICEs, is there
 */
bool bridge_spec_uses_side(const struct bridge_spec *spec, enum side side)
{
	if (spec->expose.side == side)
		return true;
	for (unsigned i = 0; i < spec->n_services; i++)
		if (spec->services[i].kind == ENDPOINT_INET && spec->services[i].side == side)
			return true;
	return false;
}
