/* SPDX-License-Identifier: GPL-2.0-or-later */
/* status.c - a running nsbridge's figures, as JSON and as Prometheus text
 *
 * Theory of operation
 *
 * The figures live in each bridge's struct bridge_stats, kept up to date
 * where things happen: accept (relay.c, udp.c), every splice, a dial that
 * fails (dial.c), a client --allow-uid turns away (access.c). This file
 * only reads them, for two readers:
 *
 *   status_json()        the control socket's answer (control.c), which
 *                        nsbridge status prints (control_client.c)
 *   status_prometheus()  the text --metrics serves (metrics.c)
 *
 * Both give the same numbers under the same names. The loop is one
 * thread, so either document is a snapshot of one moment.
 */

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nsbridge/status.h"

/* The container side a bridge has an end in, SIDE_HOST if none */
static enum side container_side(const struct bridge *b)
{
	const struct bridge_spec *spec = b->spec;

	if (spec->expose.side != SIDE_HOST)
		return spec->expose.side;
	for (unsigned i = 0; i < spec->n_services; i++)
		if (spec->services[i].kind == ENDPOINT_INET && spec->services[i].side != SIDE_HOST)
			return spec->services[i].side;
	return SIDE_HOST;
}

/* What a bridge runs with of the options a label may set per container */
static json_object *options_json(const struct config *o)
{
	json_object *j = json_object_new_object(), *uids = json_object_new_array();

	json_object_object_add(j, "max_connections", json_object_new_int64(o->max_connections));
	json_object_object_add(j, "connect_timeout_ms",
			       json_object_new_int64(o->connect_timeout_ms));
	json_object_object_add(j, "drain_timeout_ms", json_object_new_int64(o->drain_timeout_ms));
	json_object_object_add(j, "udp_timeout_ms", json_object_new_int64(o->udp_timeout_ms));
	json_object_object_add(j, "max_udp_flows", json_object_new_int64(o->max_udp_flows));
	for (size_t i = 0; i < o->n_allow_uids; i++)
		json_object_array_add(uids, json_object_new_int64(o->allow_uids[i]));
	json_object_object_add(j, "allow_uid", uids);
	return j;
}

static json_object *bridge_json(const struct ctx *c, const struct bridge *b)
{
	enum side ct = container_side(b);
	const struct bridge_stats *st = &b->stats;
	bool udp = b->spec->expose.proto == PROTO_UDP;
	json_object *o = json_object_new_object(), *err = NULL;

	json_object_object_add(o, "index", json_object_new_int((int)b->index));
	json_object_object_add(o, "service", json_object_new_string(b->service_text));
	json_object_object_add(o, "expose", json_object_new_string(b->expose_text));
	json_object_object_add(o, "proto", json_object_new_string(udp ? "udp" : "tcp"));
	json_object_object_add(o, "container", ct == SIDE_HOST ? NULL :
			       json_object_new_string(c->sides[ct].ref));
	json_object_object_add(o, "open", json_object_new_int64(udp ? b->n_flows : b->n_conns));
	json_object_object_add(o, "accepted", json_object_new_uint64(st->accepted));
	json_object_object_add(o, "refused", json_object_new_uint64(st->refused));
	json_object_object_add(o, "bytes_to_service",
			       json_object_new_uint64(st->bytes[DIR_TO_SERVICE]));
	json_object_object_add(o, "bytes_to_client",
			       json_object_new_uint64(st->bytes[DIR_TO_CLIENT]));
	if (udp)
		json_object_object_add(o, "dropped", json_object_new_uint64(b->udp_dropped));
	if (st->last_error_time) {
		err = json_object_new_object();
		json_object_object_add(err, "time", json_object_new_int64(st->last_error_time));
		json_object_object_add(err, "message", json_object_new_string(st->last_error));
	}
	json_object_object_add(o, "last_error", err);
	json_object_object_add(o, "options", options_json(b->options));
	if (b->removed)	/* by a reload: its connections drain */
		json_object_object_add(o, "removed", json_object_new_boolean(true));
	return o;
}

/* A bridge a reload removed counts until its last connection ends */
static bool shown(const struct bridge *b)
{
	return !b->removed || b->n_conns || b->n_flows;
}

/* The last reload: when, whether it was applied, and what it did or why not */
static json_object *reload_json(const struct ctx *c)
{
	json_object *o;

	if (!c->reload.time)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "time", json_object_new_int64(c->reload.time));
	json_object_object_add(o, "ok", json_object_new_boolean(c->reload.ok));
	json_object_object_add(o, "message", json_object_new_string(c->reload.message));
	return o;
}

/* Each container side: its REF, its label and whether it runs; for a
 * labelled one its ID and what it asked for that was refused */
static json_object *containers_json(const struct ctx *c)
{
	json_object *list = json_object_new_array();

	for (int s = SIDE_CONTAINER; list && s < SIDE_MAX; s++) {
		const struct side_ns *ct = &c->sides[s];
		json_object *o;

		if (!ct->used)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "container", json_object_new_string(ct->ref));
		json_object_object_add(o, "label", json_object_new_string(ct->label));
		json_object_object_add(o, "running", json_object_new_boolean(!ct->down));
		if (ct->labelled) {	/* --labels: what it asked for that was refused */
			json_object_object_add(o, "id", json_object_new_string(ct->id));
			json_object_object_add(o, "refused", json_object_new_string(ct->refused));
		}
		json_object_array_add(list, o);
	}
	return list;
}

/*
 * One helper process (children.c): {"state": "running", "pid": N}, {"state":
 * "exited", "pid": N, "exit_status": N} or {..., "signal": N}, or {"state":
 * "not needed"} for one that nothing asked for
 */
static json_object *helper_json(const struct helper_proc *p)
{
	static const char *const states[HELPER_STATE_MAX] = {
		[HELPER_NOT_NEEDED] = "not needed",
		[HELPER_RUNNING] = "running",
		[HELPER_EXITED] = "exited",
	};
	json_object *o = json_object_new_object();

	json_object_object_add(o, "state", json_object_new_string(states[p->state]));
	if (p->state == HELPER_NOT_NEEDED)
		return o;
	json_object_object_add(o, "pid", json_object_new_int((int)p->pid));
	if (p->state == HELPER_EXITED && p->code)
		json_object_object_add(o, p->code == CLD_EXITED ? "exit_status" : "signal",
				       json_object_new_int(p->status));
	return o;
}

/* The three helpers, by the names nsbridge status prints */
static json_object *helpers_json(const struct ctx *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "opener", helper_json(&c->helpers[HELPER_OPENER]));
	json_object_object_add(o, "watcher", helper_json(&c->helpers[HELPER_WATCHER]));
	json_object_object_add(o, "keeper", helper_json(&c->helpers[HELPER_KEEPER]));
	return o;
}

/**
 * status_json() - the process and each bridge, as one JSON object
 * @c:		context
 *
 * Return: a new object the caller puts, or NULL out of memory
 */
json_object *status_json(const struct ctx *c)
{
	const struct side_ns *ct = &c->sides[SIDE_CONTAINER];
	json_object *top = json_object_new_object(), *list = json_object_new_array();

	if (!top || !list) {
		json_object_put(top);
		json_object_put(list);
		return NULL;
	}
	json_object_object_add(top, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(top, "version", json_object_new_string(NSBRIDGE_VERSION));
	json_object_object_add(top, "started", json_object_new_int64(c->started));
	json_object_object_add(top, "host", json_object_new_string(c->sides[SIDE_HOST].label));
	if (ct->used) {
		json_object_object_add(top, "container", json_object_new_string(ct->label));
		json_object_object_add(top, "container_running",
				       json_object_new_boolean(!ct->down));
	}
	json_object_object_add(top, "containers", containers_json(c));
	json_object_object_add(top, "draining", json_object_new_boolean(c->draining));
	json_object_object_add(top, "starved", json_object_new_boolean(c->starved));
	json_object_object_add(top, "last_reload", reload_json(c));
	json_object_object_add(top, "helpers", helpers_json(c));
	for (size_t i = 0; i < c->n_bridges; i++)
		if (shown(&c->bridges[i]))
			json_object_array_add(list, bridge_json(c, &c->bridges[i]));
	json_object_object_add(top, "bridges", list);
	return top;
}

/* A Prometheus label value: backslash, double quote and newline escaped */
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

static void labels(FILE *f, const struct ctx *c, const struct bridge *b, const char *direction)
{
	enum side ct = container_side(b);

	fprintf(f, "{bridge=\"%u\",service=\"", b->index);
	label_value(f, b->service_text);
	fputs("\",expose=\"", f);
	label_value(f, b->expose_text);
	fputc('"', f);
	if (ct != SIDE_HOST) {
		fputs(",container=\"", f);
		label_value(f, c->sides[ct].ref);
		fputc('"', f);
	}
	if (direction)
		fprintf(f, ",direction=\"%s\"", direction);
	fputc('}', f);
}

/* The value of one metric for one bridge */
typedef unsigned long long (*metric_fn)(const struct bridge *b, int arg);

static unsigned long long m_open(const struct bridge *b, int arg)
{
	return b->spec->expose.proto == PROTO_UDP ? b->n_flows : b->n_conns;
}

static unsigned long long m_accepted(const struct bridge *b, int arg)
{
	return b->stats.accepted;
}

static unsigned long long m_refused(const struct bridge *b, int arg)
{
	return b->stats.refused;
}

static unsigned long long m_bytes(const struct bridge *b, int dir)
{
	return b->stats.bytes[dir];
}

static unsigned long long m_dropped(const struct bridge *b, int arg)
{
	return b->udp_dropped;
}

static unsigned long long m_last_error(const struct bridge *b, int arg)
{
	return (unsigned long long)b->stats.last_error_time;
}

/**
 * struct metric - one metric family of --metrics
 * @name:	its name
 * @type:	"gauge" or "counter"
 * @help:	the HELP line
 * @value:	its value for a bridge
 * @per_direction: one sample per direction, with a direction label
 * @udp_only:	only UDP bridges have it
 */
struct metric {
	const char *name;
	const char *type;
	const char *help;
	metric_fn value;
	bool per_direction;
	bool udp_only;
};

static const struct metric metrics[] = {
	{ .name = "nsbridge_open", .type = "gauge",
	  .help = "TCP connections or UDP flows open now.", .value = m_open },
	{ .name = "nsbridge_accepted_total", .type = "counter",
	  .help = "TCP connections accepted or UDP flows opened.", .value = m_accepted },
	{ .name = "nsbridge_refused_total", .type = "counter",
	  .help = "Clients reset: SERVICE unreachable, or not in --allow-uid.",
	  .value = m_refused },
	{ .name = "nsbridge_bytes_total", .type = "counter",
	  .help = "Bytes carried, to SERVICE and back to clients.", .value = m_bytes,
	  .per_direction = true },
	{ .name = "nsbridge_dropped_total", .type = "counter",
	  .help = "UDP datagrams dropped: no socket, or a full buffer.", .value = m_dropped,
	  .udp_only = true },
	{ .name = "nsbridge_last_error_timestamp_seconds", .type = "gauge",
	  .help = "When the bridge last saw an error, 0 if never.", .value = m_last_error },
};

static void write_metric(FILE *f, const struct ctx *c, const struct metric *m)
{
	static const char *const directions[DIR_MAX] = {
		[DIR_TO_SERVICE] = "to_service",
		[DIR_TO_CLIENT] = "to_client",
	};

	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct bridge *b = &c->bridges[i];

		if (!shown(b) || (m->udp_only && b->spec->expose.proto != PROTO_UDP))
			continue;
		for (int d = 0; d < (m->per_direction ? DIR_MAX : 1); d++) {
			fputs(m->name, f);
			labels(f, c, b, m->per_direction ? directions[d] : NULL);
			fprintf(f, " %llu\n", m->value(b, d));
		}
	}
}

/**
 * status_prometheus() - the figures of status_json() in Prometheus's text
 *			 exposition format
 * @c:		context
 * @ret_text:	the text, to free(); written only on success
 * @ret_len:	its length
 *
 * Return: 0 or -ENOMEM
 */
int status_prometheus(const struct ctx *c, char **ret_text, size_t *ret_len)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return -ENOMEM;
	fprintf(f, "# HELP nsbridge_start_time_seconds When nsbridge started.\n"
		"# TYPE nsbridge_start_time_seconds gauge\n"
		"nsbridge_start_time_seconds %lld\n", (long long)c->started);
	if (c->sides[SIDE_CONTAINER].used)
		fputs("# HELP nsbridge_container_running Whether the container side has a "
		      "namespace now.\n# TYPE nsbridge_container_running gauge\n", f);
	for (int s = SIDE_CONTAINER; s < SIDE_MAX; s++) {
		const struct side_ns *ct = &c->sides[s];

		if (!ct->used)
			continue;
		fputs("nsbridge_container_running{container=\"", f);
		label_value(f, ct->label);
		fprintf(f, "\"} %d\n", !ct->down);
	}
	fprintf(f, "# HELP nsbridge_starved Whether nsbridge is out of descriptors: new "
		"clients wait.\n# TYPE nsbridge_starved gauge\nnsbridge_starved %d\n", c->starved);
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		write_metric(f, c, &metrics[i]);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	*ret_text = text;
	*ret_len = len;
	return 0;
}
