/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sources.c - --source and --labels-sources: which loopback address each
 * container's connections to the host come from
 *
 * Theory of operation
 *
 * All of 127.0.0.0/8 is local on Linux: a socket bound to 127.77.0.5
 * connects to the host's 127.0.0.1 without any address being added, and
 * the service sees 127.77.0.5. So a container can be told apart by the
 * address its connections come from, and a service authorise it the way
 * it authorises any client (pg_hba.conf, nginx allow/deny).
 *
 * --source ADDR belongs to the -c before it, as pairs do (pair_container.c).
 * getopt_long() permutes only what is not an option, so options are
 * applied in the order they were written, and the setter takes the -c in
 * force (cfg->container) at that moment; a --source with no -c before it
 * ("" here) is the default container's, as is the file's or
 * NSBRIDGE_SOURCE. A bridge of the --config file may give its container's
 * source too. sources_resolve() then names every entry's container and
 * refuses, in one line, what cannot be meant: a source for a container no
 * bridge dials the host from, one container given two addresses, two
 * containers given one.
 *
 * --labels-sources CIDR is only parsed here; which labelled container
 * gets which address is decided as they come (process/sources.c).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsbridge/cli.h"
#include "nsbridge/conffile.h"

#include "cli_internal.h"

/* An IPv4 address inside 127.0.0.0/8 */
static int parse_loopback(const char *text, struct in_addr *ret)
{
	if (inet_pton(AF_INET, text, ret) != 1 || (ntohl(ret->s_addr) >> 24) != 127)
		return -EINVAL;
	return 0;
}

/* The entry of @ref, or a new one; NULL when every one is taken */
static struct source_spec *entry_of(struct config *cfg, const char *ref)
{
	for (size_t i = 0; i < cfg->n_sources; i++)
		if (strcmp(cfg->sources[i].container, ref) == 0)
			return &cfg->sources[i];
	if (cfg->n_sources == CONTAINERS_MAX)
		return NULL;
	memset(&cfg->sources[cfg->n_sources], 0, sizeof(cfg->sources[0]));
	snprintf(cfg->sources[cfg->n_sources].container, SOURCE_REF_MAX, "%s", ref);
	return &cfg->sources[cfg->n_sources++];
}

/**
 * cli_set_source() - --source ADDR, for the container of the -c in force
 * @cfg:	the configuration, its @container the -c applied last
 * @value:	an IPv4 address in 127.0.0.0/8
 *
 * Return: 0, or -EINVAL: not such an address, a REF too long to keep, or
 * more entries than containers
 */
int cli_set_source(struct config *cfg, const char *value)
{
	const char *ref = cfg->container ? cfg->container : "";
	struct source_spec *e;
	struct in_addr addr;

	if (parse_loopback(value, &addr) < 0 || strlen(ref) >= SOURCE_REF_MAX)
		return -EINVAL;
	e = entry_of(cfg, ref);
	if (!e)
		return -EINVAL;
	e->addr = addr;
	return 0;
}

/**
 * cli_set_labels_sources() - --labels-sources CIDR
 * @cfg:	the configuration
 * @value:	"127.77.0.0/16": inside 127.0.0.0/8, host bits clear
 *
 * Return: 0, or -EINVAL
 */
int cli_set_labels_sources(struct config *cfg, const char *value)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(value, '/');
	struct in_addr net;
	unsigned long prefix;
	char *end;

	if (!slash || (size_t)(slash - value) >= sizeof(addr) || slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - value), value);
	prefix = strtoul(slash + 1, &end, 10);
	if (*end || prefix < 8 || prefix > 32 || parse_loopback(addr, &net) < 0)
		return -EINVAL;
	if (prefix < 32 && (ntohl(net.s_addr) & (0xffffffffu >> prefix)))
		return -EINVAL;
	cfg->labels_sources = (struct source_range){ .net = net, .prefix = (unsigned)prefix };
	return 0;
}

/* A bridge of the file that gives its container's source: as -c REF --source ADDR */
static int add_file_sources(struct config *cfg, struct failure *f)
{
	size_t n_file = 0;
	const struct conffile_entry *e = cfg->file ? conffile_bridges(cfg->file, &n_file) : NULL;

	for (size_t i = 0; i < n_file && i < cfg->n_bridges; i++) {
		const char *ref = cfg->bridges[i].container;
		struct source_spec *s;
		struct in_addr addr;

		if (!e[i].source)
			continue;
		if (parse_loopback(e[i].source, &addr) < 0)
			return cli_fail(f, "%s:%d: source = \"%s\": expected an IPv4 address in "
					"127.0.0.0/8, like 127.77.0.5", cfg->config_file, e[i].line,
					e[i].source);
		if (!ref || strlen(ref) >= SOURCE_REF_MAX || !(s = entry_of(cfg, ref)))
			return cli_fail(f, "%s:%d: source: the bridge has no container",
					cfg->config_file, e[i].line);
		if (s->addr.s_addr && s->addr.s_addr != addr.s_addr)
			return cli_fail(f, "%s:%d: source = \"%s\": container '%s' has another "
					"source already", cfg->config_file, e[i].line,
					e[i].source, ref);
		s->addr = addr;
	}
	return 0;
}

/* Whether some bridge of @ref's has its EXPOSE there and a SERVICE on the host */
static bool dials_host(const struct config *cfg, const char *ref)
{
	for (size_t i = 0; i < cfg->n_bridges; i++) {
		const struct bridge_spec *b = &cfg->bridges[i];

		if (!b->container || strcmp(b->container, ref) != 0 || b->expose.side < SIDE_CONTAINER)
			continue;
		for (unsigned k = 0; k < b->n_services; k++)
			if (b->services[k].kind == ENDPOINT_INET && b->services[k].side == SIDE_HOST)
				return true;
	}
	return false;
}

/* Each entry named, meant, and its own */
static int check_source(const struct config *cfg, size_t i, struct failure *f)
{
	const struct source_spec *s = &cfg->sources[i];
	char text[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &s->addr, text, sizeof(text));
	if (!*s->container)
		return cli_fail(f, "--source %s: no container to give it to; --source goes "
				"after the -c whose connections come from it", text);
	if (!dials_host(cfg, s->container))
		return cli_fail(f, "--source %s: no bridge of container '%s' connects to a "
				"SERVICE on the host", text, s->container);
	for (size_t k = 0; k < i; k++)
		if (cfg->sources[k].addr.s_addr == s->addr.s_addr)
			return cli_fail(f, "--source %s is given to '%s' and to '%s': two "
					"containers never share an address", text,
					cfg->sources[k].container, s->container);
	return 0;
}

/**
 * sources_resolve() - name the container of each --source, and check them
 * @cfg:	the configuration, its bridges parsed
 * @f:		on failure, one line and exit status 2
 *
 * Return: 0, or -EINVAL
 */
int sources_resolve(struct config *cfg, struct failure *f)
{
	const char *fallback = cfg->arg_containers ? cfg->container_default : cfg->container;
	size_t n = 0;

	/* "" is the default container: one of its own wins, being newer */
	for (size_t i = 0; i < cfg->n_sources; i++) {
		struct source_spec *s = &cfg->sources[i];

		if (!*s->container && fallback && strlen(fallback) < SOURCE_REF_MAX) {
			struct source_spec *named = NULL;

			for (size_t k = 0; k < cfg->n_sources; k++)
				if (strcmp(cfg->sources[k].container, fallback) == 0)
					named = &cfg->sources[k];
			if (named)
				continue;
			snprintf(s->container, sizeof(s->container), "%s", fallback);
		}
		if (n != i)
			cfg->sources[n] = *s;
		n++;
	}
	cfg->n_sources = n;
	if (add_file_sources(cfg, f) < 0)
		return -EINVAL;
	for (size_t i = 0; i < cfg->n_sources; i++)
		if (check_source(cfg, i, f) < 0)
			return -EINVAL;
	return 0;
}

/**
 * config_source_of() - the --source of a container
 * @config:	the configuration
 * @ref:	the container's REF
 *
 * Return: its address, or NULL when it has none
 */
const struct in_addr *config_source_of(const struct config *config, const char *ref)
{
	for (size_t i = 0; ref && i < config->n_sources; i++)
		if (strcmp(config->sources[i].container, ref) == 0)
			return &config->sources[i].addr;
	return NULL;
}
