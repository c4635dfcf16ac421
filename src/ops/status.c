/* SPDX-License-Identifier: GPL-2.0-or-later */
/* status.c - a running nsbridge's figures, as JSON and as Prometheus text
 *
 * Theory of operation
 *
 * The figures live in each bridge's struct bridge_stats, kept up to date
 * where things happen: accept (relay.c, udp.c), every splice, a dial that
 * fails (dial.c), a client --allow-uid turns away (access.c). This file
 * only reads them, for the control socket's answer (control.c), which
 * nsbridge status prints (control_client.c); prometheus.c reads the same
 * for --metrics. The loop is one thread, so the document is a snapshot of
 * one moment.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nsbridge/bridge.h"
#include "nsbridge/status.h"

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

/* A TCP bridge's refusals by reason, under the reason names of --metrics */
static json_object *refused_by_json(const struct bridge_stats *st)
{
	static const char *const reasons[REFUSAL_MAX] = {
		[REFUSAL_REFUSED] = "refused", [REFUSAL_TIMEOUT] = "timeout",
		[REFUSAL_ACCESS] = "access", [REFUSAL_GONE] = "gone", [REFUSAL_ERROR] = "error",
	};
	json_object *o = json_object_new_object();

	for (int r = 0; r < REFUSAL_MAX; r++)
		json_object_object_add(o, reasons[r], json_object_new_uint64(st->refused[r]));
	return o;
}

static uint64_t refused_total(const struct bridge_stats *st)
{
	uint64_t total = 0;

	for (int r = 0; r < REFUSAL_MAX; r++)
		total += st->refused[r];
	return total;
}

static json_object *bridge_json(const struct ctx *c, const struct bridge *b)
{
	enum side ct = bridge_container_side(b);
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
	json_object_object_add(o, "refused", json_object_new_uint64(udp ? st->udp_refused :
								     refused_total(st)));
	if (!udp)
		json_object_object_add(o, "refused_by", refused_by_json(st));
	json_object_object_add(o, "bytes_to_service",
			       json_object_new_uint64(st->bytes[DIR_TO_SERVICE]));
	json_object_object_add(o, "bytes_to_client",
			       json_object_new_uint64(st->bytes[DIR_TO_CLIENT]));
	if (udp) {
		json_object_object_add(o, "datagrams_to_service",
				       json_object_new_uint64(st->datagrams[DIR_TO_SERVICE]));
		json_object_object_add(o, "datagrams_to_client",
				       json_object_new_uint64(st->datagrams[DIR_TO_CLIENT]));
		json_object_object_add(o, "dropped", json_object_new_uint64(b->udp_dropped));
	}
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

/* Each container side: its REF, its label, whether it runs and the
 * address it dials the host from; for a labelled one its ID and what it
 * asked for that was refused */
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
		if (ct->source.s_addr) {	/* --source, --labels-sources */
			char text[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &ct->source, text, sizeof(text));
			json_object_object_add(o, "source", json_object_new_string(text));
		}
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
