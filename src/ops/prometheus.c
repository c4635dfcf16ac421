/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prometheus.c - the figures of a running nsbridge in Prometheus's text format
 *
 * Theory of operation
 *
 * The series follow the conventions every exporter follows (prometheus.io,
 * "Metric and label naming"): base units in the name (_seconds, _bytes),
 * _total on counters only, and what describes a bridge apart from what
 * counts it. So:
 *
 *   nsbridge_bridge_info{bridge, proto, service_side, service_address,
 *       service_port, expose_side, expose_address, expose_port, container} 1
 *
 * says what each bridge joins, one series per address it listens on (and
 * per SERVICE, where it has several), and every counter, gauge and
 * histogram of a bridge carries only "bridge" (and "direction" or
 * "reason"), so that a query selects by port, side or container through
 * the info series:
 *
 *   rate(nsbridge_bytes_total[1m]) * on(bridge) group_left(container)
 *       group by (bridge, container) (nsbridge_bridge_info{container="web"})
 *
 * "bridge" is the bridge's slot, which an unchanged bridge keeps across a
 * reload (bridge.c). No label holds a client's address or port: their
 * number would be unbounded. Every labelled series of a bridge is written
 * from the moment the bridge exists, at 0, so that rate() sees its first
 * increase.
 *
 * The loop is one thread, so a scrape is a snapshot of one moment.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "nsbridge/bridge.h"
#include "nsbridge/prometheus.h"

/* A SERVICE without address is dialled at 127.0.0.1, then at [::1] */
#define ADDRESS_EITHER	"localhost"

static const char *const direction_names[DIR_MAX] = {
	[DIR_TO_SERVICE] = "to_service",
	[DIR_TO_CLIENT] = "to_client",
};

static const char *const refusal_names[REFUSAL_MAX] = {
	[REFUSAL_REFUSED] = "refused",
	[REFUSAL_TIMEOUT] = "timeout",
	[REFUSAL_ACCESS] = "access",
	[REFUSAL_GONE] = "gone",
	[REFUSAL_ERROR] = "error",
};

/* A label value: backslash, double quote and newline escaped */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void label(FILE *f, bool first, const char *name, const char *value)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	label_value(f, value);
	fputc('"', f);
}

static void help_type(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A bridge a reload removed counts until its last connection ends */
static bool shown(const struct bridge *b)
{
	return !b->removed || b->n_conns || b->n_flows;
}

static bool is_udp(const struct bridge *b)
{
	return b->spec->expose.proto == PROTO_UDP;
}

/* Seconds from microseconds, as short as exact: 0.000025, 2.5, 60 */
static void seconds(FILE *f, uint64_t us)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%llu.%06llu", (unsigned long long)(us / 1000000),
			 (unsigned long long)(us % 1000000));

	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	fputs(buf, f);
}

/* --- what the process is --- */

static void process_series(FILE *f, const struct ctx *c)
{
	const struct reload_note *r = &c->reload;

	help_type(f, "nsbridge_build_info", "gauge", "The version of nsbridge running; always 1.");
	fputs("nsbridge_build_info{", f);
	label(f, true, "version", NSBRIDGE_VERSION);
	fputs("} 1\n", f);
	help_type(f, "nsbridge_start_time_seconds", "gauge",
	       "When nsbridge started, in seconds since the epoch.");
	fprintf(f, "nsbridge_start_time_seconds %lld\n", (long long)c->started);
	help_type(f, "nsbridge_starved", "gauge",
	       "1 while nsbridge is out of descriptors and new clients wait, else 0.");
	fprintf(f, "nsbridge_starved %d\n", c->starved);
	help_type(f, "nsbridge_reloads_total", "counter",
	       "Reloads of --config (SIGHUP), by result: applied, or refused whole.");
	fprintf(f, "nsbridge_reloads_total{result=\"applied\"} %llu\n"
		"nsbridge_reloads_total{result=\"refused\"} %llu\n",
		(unsigned long long)r->n_applied, (unsigned long long)r->n_refused);
	help_type(f, "nsbridge_last_reload_success_timestamp_seconds", "gauge",
	       "When the configuration last loaded: at start, or the last reload applied.");
	fprintf(f, "nsbridge_last_reload_success_timestamp_seconds %lld\n",
		(long long)(r->last_applied ? r->last_applied : c->started));
}

/* An info metric, as build_info: the address each container dials the host from */
static void sources_series(FILE *f, const struct ctx *c)
{
	bool any = false;

	for (int s = SIDE_CONTAINER; s < SIDE_MAX; s++) {
		const struct side_ns *ct = &c->sides[s];
		char text[INET_ADDRSTRLEN];

		if (!ct->used || !ct->source.s_addr)
			continue;
		if (!any)
			help_type(f, "nsbridge_container_source_info", "gauge",
				  "1 for the loopback address a container's connections to the "
				  "host come from (--source, --labels-sources).");
		any = true;
		fputs("nsbridge_container_source_info{", f);
		label(f, true, "container", ct->ref);
		label(f, false, "address", inet_ntop(AF_INET, &ct->source, text, sizeof(text)));
		fputs("} 1\n", f);
	}
}

static void containers_series(FILE *f, const struct ctx *c)
{
	bool any = false;

	for (int s = SIDE_CONTAINER; s < SIDE_MAX; s++) {
		const struct side_ns *ct = &c->sides[s];

		if (!ct->used)
			continue;
		if (!any)
			help_type(f, "nsbridge_container_up", "gauge",
			       "1 while the container's network namespace is there, 0 while it is "
			       "stopped.");
		any = true;
		fputs("nsbridge_container_up{", f);
		label(f, true, "container", ct->ref);
		fprintf(f, "} %d\n", !ct->down);
	}
	sources_series(f, c);
}

static void helpers_series(FILE *f, const struct ctx *c)
{
	static const char *const names[HELPER_MAX] = {
		[HELPER_OPENER] = "opener",
		[HELPER_WATCHER] = "watcher",
		[HELPER_KEEPER] = "keeper",
	};

	help_type(f, "nsbridge_helper_up", "gauge",
	       "1 while a helper process nsbridge started runs, 0 once it has exited.");
	for (int h = 0; h < HELPER_MAX; h++)
		if (c->helpers[h].state != HELPER_NOT_NEEDED)
			fprintf(f, "nsbridge_helper_up{helper=\"%s\"} %d\n", names[h],
				c->helpers[h].state == HELPER_RUNNING);
}

/* --- what each bridge joins --- */

/* An address as a label: a SERVICE without one is tried at both */
static const char *address_text(const struct endpoint *ep, int family, char *buf, size_t len)
{
	if (ep->kind == ENDPOINT_UNIX)
		return ep->path;
	if (ep->has_addr)
		return inet_ntop(ep->family, &ep->addr, buf, (socklen_t)len);
	if (family == AF_INET6)
		return "::1";
	return family == AF_INET ? "127.0.0.1" : ADDRESS_EITHER;
}

static const char *port_text(const struct endpoint *ep, char *buf, size_t len)
{
	if (ep->kind == ENDPOINT_UNIX)
		return "";
	if (ep->port_last != ep->port_first)
		snprintf(buf, len, "%u-%u", ep->port_first, ep->port_last);
	else
		snprintf(buf, len, "%u", ep->port_first);
	return buf;
}

/* Which families @b listens in: a bit for AF_INET, one for AF_INET6 */
static unsigned listen_families(const struct ctx *c, const struct bridge *b)
{
	unsigned fams = 0;

	for (size_t i = 0; i < c->n_listeners; i++) {
		const struct listener *l = c->listeners[i];

		if (l->bridge == b && l->state != LISTENER_RETIRED)
			fams |= l->family == AF_INET6 ? 2u : 1u;
	}
	return fams;
}

static void info_row(FILE *f, const struct ctx *c, const struct bridge *b,
		     const struct endpoint *svc, int expose_family)
{
	enum side ct = bridge_container_side(b);
	char sa[INET6_ADDRSTRLEN], sp[16], ea[INET6_ADDRSTRLEN], ep[16], num[16];

	snprintf(num, sizeof(num), "%u", b->index);
	fputs("nsbridge_bridge_info{", f);
	label(f, true, "bridge", num);
	label(f, false, "proto", is_udp(b) ? "udp" : "tcp");
	label(f, false, "service_side", side_name(svc->side));
	label(f, false, "service_address", address_text(svc, 0, sa, sizeof(sa)));
	label(f, false, "service_port", port_text(svc, sp, sizeof(sp)));
	label(f, false, "expose_side", side_name(b->expose.side));
	label(f, false, "expose_address", address_text(&b->expose, expose_family, ea, sizeof(ea)));
	label(f, false, "expose_port", port_text(&b->expose, ep, sizeof(ep)));
	label(f, false, "container", ct == SIDE_HOST ? "" : c->sides[ct].ref);
	fputs("} 1\n", f);
}

static void info_series(FILE *f, const struct ctx *c)
{
	help_type(f, "nsbridge_bridge_info", "gauge",
	       "What each bridge joins: one series per address it listens on and SERVICE; "
	       "always 1. Join the other series on bridge.");
	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct bridge *b = &c->bridges[i];
		unsigned fams;

		if (!shown(b))
			continue;
		fams = listen_families(c, b);
		if (!fams)	/* removed and draining, or its side down: as given */
			fams = b->expose.has_addr ? (b->expose.family == AF_INET6 ? 2u : 1u) : 3u;
		for (unsigned k = 0; k < b->spec->n_services; k++) {
			if (fams & 1u)
				info_row(f, c, b, &b->spec->services[k], AF_INET);
			if (fams & 2u)
				info_row(f, c, b, &b->spec->services[k], AF_INET6);
		}
	}
}

/* --- what each bridge counts --- */

/* The value of one series of a bridge; @arg is a direction or a reason */
typedef unsigned long long (*value_fn)(const struct bridge *b, int arg);

static unsigned long long v_accepted(const struct bridge *b, int arg)
{
	return b->stats.accepted;
}

static unsigned long long v_open(const struct bridge *b, int arg)
{
	return is_udp(b) ? b->n_flows : b->n_conns;
}

static unsigned long long v_refused(const struct bridge *b, int reason)
{
	return b->stats.refused[reason];
}

static unsigned long long v_bytes(const struct bridge *b, int dir)
{
	return b->stats.bytes[dir];
}

static unsigned long long v_datagrams(const struct bridge *b, int dir)
{
	return b->stats.datagrams[dir];
}

static unsigned long long v_dropped(const struct bridge *b, int arg)
{
	return b->udp_dropped;
}

static unsigned long long v_udp_refused(const struct bridge *b, int arg)
{
	return b->stats.udp_refused;
}

static unsigned long long v_last_error(const struct bridge *b, int arg)
{
	return (unsigned long long)b->stats.last_error_time;
}

enum kinds { TCP_ONLY = 1, UDP_ONLY = 2, BOTH = 3 };

/**
 * struct series - one family of per-bridge series
 * @name:	its name
 * @type:	"counter" or "gauge"
 * @help:	the HELP line
 * @value:	its value for a bridge
 * @kinds:	the bridges that have it: TCP, UDP or both
 * @label:	the label that splits it ("direction", "reason"), or NULL
 * @values:	that label's values, @n of them
 */
struct series {
	const char *name;
	const char *type;
	const char *help;
	value_fn value;
	enum kinds kinds;
	const char *label;
	const char *const *values;
	int n;
};

static const struct series bridge_series[] = {
	{ "nsbridge_connections_accepted_total", "counter",
	  "TCP connections accepted on EXPOSE.", v_accepted, TCP_ONLY, NULL, NULL, 1 },
	{ "nsbridge_connections_open", "gauge",
	  "TCP connections open now, being dialled or relayed.", v_open, TCP_ONLY, NULL, NULL, 1 },
	{ "nsbridge_connections_refused_total", "counter",
	  "TCP clients reset rather than relayed, by reason: refused (nothing listens at "
	  "SERVICE), timeout (no answer in --connect-timeout), access (--allow-uid, or "
	  "SERVICE's permissions), gone (SERVICE's container stopped), error (nsbridge out of "
	  "memory or descriptors).", v_refused, TCP_ONLY, "reason", refusal_names, REFUSAL_MAX },
	{ "nsbridge_bytes_total", "counter",
	  "Bytes carried: read from clients and written to SERVICE, and back.", v_bytes, BOTH,
	  "direction", direction_names, DIR_MAX },
	{ "nsbridge_udp_flows_opened_total", "counter",
	  "UDP flows opened: a client address and port seen for the first time, or again after "
	  "its flow expired.", v_accepted, UDP_ONLY, NULL, NULL, 1 },
	{ "nsbridge_udp_flows_open", "gauge", "UDP flows open now.", v_open, UDP_ONLY, NULL,
	  NULL, 1 },
	{ "nsbridge_udp_datagrams_total", "counter",
	  "UDP datagrams carried, to SERVICE and back.", v_datagrams, UDP_ONLY, "direction",
	  direction_names, DIR_MAX },
	{ "nsbridge_udp_datagrams_dropped_total", "counter",
	  "UDP datagrams dropped: no socket for a new flow, or a full buffer.", v_dropped,
	  UDP_ONLY, NULL, NULL, 1 },
	{ "nsbridge_udp_datagrams_refused_total", "counter",
	  "UDP datagrams SERVICE refused: nothing listened there (ICMP port unreachable).",
	  v_udp_refused, UDP_ONLY, NULL, NULL, 1 },
	{ "nsbridge_last_error_timestamp_seconds", "gauge",
	  "When the bridge last saw an error, in seconds since the epoch; 0 if never.",
	  v_last_error, BOTH, NULL, NULL, 1 },
};

static bool has(const struct series *s, const struct bridge *b)
{
	return s->kinds & (is_udp(b) ? UDP_ONLY : TCP_ONLY);
}

static void write_series(FILE *f, const struct ctx *c, const struct series *s)
{
	help_type(f, s->name, s->type, s->help);
	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct bridge *b = &c->bridges[i];

		if (!shown(b) || !has(s, b))
			continue;
		for (int v = 0; v < s->n; v++) {
			fprintf(f, "%s{bridge=\"%u\"", s->name, b->index);
			if (s->label)
				fprintf(f, ",%s=\"%s\"", s->label, s->values[v]);
			fprintf(f, "} %llu\n", s->value(b, v));
		}
	}
}

static const struct histogram *connect_of(const struct bridge *b)
{
	return &b->stats.connect;
}

static const struct histogram *lifetime_of(const struct bridge *b)
{
	return &b->stats.lifetime;
}

static void write_histogram(FILE *f, const struct ctx *c, const char *name, const char *help,
			    const struct histogram_buckets *buckets,
			    const struct histogram *(*of)(const struct bridge *b))
{
	help_type(f, name, "histogram", help);
	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct bridge *b = &c->bridges[i];
		const struct histogram *h = of(b);

		if (!shown(b) || is_udp(b))
			continue;
		for (unsigned k = 0; k <= buckets->n; k++) {
			fprintf(f, "%s_bucket{bridge=\"%u\",le=\"", name, b->index);
			if (k < buckets->n)
				seconds(f, buckets->le_us[k]);
			else
				fputs("+Inf", f);
			fprintf(f, "\"} %llu\n", (unsigned long long)histogram_cumulative(h, k));
		}
		fprintf(f, "%s_sum{bridge=\"%u\"} ", name, b->index);
		seconds(f, h->sum_us);
		fprintf(f, "\n%s_count{bridge=\"%u\"} %llu\n", name, b->index,
			(unsigned long long)h->total);
	}
}

/**
 * prometheus_text() - the figures of a running nsbridge, in Prometheus's
 *		       text exposition format (version 0.0.4)
 * @c:		context
 * @ret_text:	the text, to free(); written only on success
 * @ret_len:	its length
 *
 * Return: 0 or -ENOMEM
 */
int prometheus_text(const struct ctx *c, char **ret_text, size_t *ret_len)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return -ENOMEM;
	process_series(f, c);
	containers_series(f, c);
	helpers_series(f, c);
	info_series(f, c);
	for (size_t i = 0; i < sizeof(bridge_series) / sizeof(bridge_series[0]); i++)
		write_series(f, c, &bridge_series[i]);
	write_histogram(f, c, "nsbridge_connect_duration_seconds",
			"From accept to SERVICE's answer, for each TCP connection SERVICE took.",
			&histogram_connect, connect_of);
	write_histogram(f, c, "nsbridge_connection_duration_seconds",
			"From accept to close, for each TCP connection SERVICE took.",
			&histogram_lifetime, lifetime_of);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	*ret_text = text;
	*ret_len = len;
	return 0;
}
