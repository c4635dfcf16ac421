/* SPDX-License-Identifier: GPL-2.0-or-later */
/* status_text.c - a status document (status.c's JSON) as nsbridge status prints it
 *
 * A few lines a process (its containers, last reload, helpers) and a few
 * a bridge. nsbridge status --watch prints the same again every interval,
 * and gives each bridge, from the second frame on, the rates since the
 * frame before and a mark for what moved: a bridge is the same one as in
 * the last frame if it has the same slot (index) and the same texts, as
 * a slot a reload freed may take another bridge.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nsbridge/status_text.h"

/**
 * struct frame - what a print needs besides the document
 * @now:	the time it is printed at
 * @prev:	the bridges of the last frame of --watch, NULL for none
 * @secs:	seconds since that frame
 */
struct frame {
	time_t now;
	json_object *prev;
	double secs;
};

static int64_t member_int(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

/**
 * status_status_member_str() - a string member of a status document's object
 * @o:		the object
 * @key:	the member's name
 *
 * Return: its text, or NULL if it has none
 */
const char *status_member_str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static bool same_text(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* "3h02m", "4m10s", "12s" */
static const char *duration_text(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s >= 3600)
		snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
	else if (s >= 60)
		snprintf(buf, len, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(buf, len, "%llds", (long long)s);
	return buf;
}

static const char *bytes_text(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)n);
		return buf;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

/* The bridge of the last frame that @b is, or NULL: the same slot and texts */
static json_object *previous(const struct frame *fr, json_object *b)
{
	for (size_t i = 0; fr->prev && i < json_object_array_length(fr->prev); i++) {
		json_object *p = json_object_array_get_idx(fr->prev, i);

		if (member_int(p, "index") == member_int(b, "index") &&
		    same_text(status_member_str(p, "service"), status_member_str(b, "service")) &&
		    same_text(status_member_str(p, "expose"), status_member_str(b, "expose")))
			return p;
	}
	return NULL;
}

/* How much @key grew since the last frame, a second */
static double rate(json_object *b, json_object *p, const char *key, double secs)
{
	int64_t d = member_int(b, key) - member_int(p, key);

	return d > 0 && secs > 0 ? (double)d / secs : 0;
}

/* Whether anything of @b moved since @p */
static bool changed(json_object *b, json_object *p)
{
	static const char *const keys[] = {
		"open", "accepted", "refused", "bytes_to_service", "bytes_to_client", "dropped",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (member_int(b, keys[i]) != member_int(p, keys[i]))
			return true;
	return false;
}

/* "    now: 2.0 connections/s, 0.0 refused/s; 10.5 KiB/s to service, ..." */
static void print_rates(json_object *b, json_object *p, double secs)
{
	char to_svc[32], to_cli[32];

	printf("    now: %.1f %s/s, %.1f refused/s; %s/s to service, %s/s to client\n",
	       rate(b, p, "accepted", secs),
	       same_text(status_member_str(b, "proto"), "udp") ? "flows" : "connections",
	       rate(b, p, "refused", secs),
	       bytes_text((uint64_t)rate(b, p, "bytes_to_service", secs), to_svc, sizeof(to_svc)),
	       bytes_text((uint64_t)rate(b, p, "bytes_to_client", secs), to_cli, sizeof(to_cli)));
}

/*
 * A bridge: what it joins, its counters, its last error; in a frame of
 * --watch after the first, a mark in the first column ("*" it moved, "+"
 * it is new) and the rates since the last frame
 */
static void print_bridge(json_object *b, const struct frame *fr)
{
	char to_svc[32], to_cli[32], ago[32], mark = ' ';
	json_object *err, *p = fr->prev ? previous(fr, b) : NULL;
	uint64_t dropped = (uint64_t)member_int(b, "dropped");

	if (fr->prev)
		mark = !p ? '+' : changed(b, p) ? '*' : ' ';
	printf("%c %s -> %s (%s)%s\n", mark, status_member_str(b, "service"),
	       status_member_str(b, "expose"), status_member_str(b, "proto"),
	       json_object_object_get_ex(b, "removed", NULL) ?
	       ", removed: its connections finish" : "");
	printf("    open %lld, accepted %lld, refused %lld; %s to service, %s to client",
	       (long long)member_int(b, "open"), (long long)member_int(b, "accepted"),
	       (long long)member_int(b, "refused"),
	       bytes_text((uint64_t)member_int(b, "bytes_to_service"), to_svc, sizeof(to_svc)),
	       bytes_text((uint64_t)member_int(b, "bytes_to_client"), to_cli, sizeof(to_cli)));
	if (dropped)
		printf("; %llu datagrams dropped", (unsigned long long)dropped);
	putchar('\n');
	if (p)
		print_rates(b, p, fr->secs);
	if (json_object_object_get_ex(b, "last_error", &err) && err)
		printf("    last error %s ago: %s\n",
		       duration_text(fr->now - member_int(err, "time"), ago, sizeof(ago)),
		       status_member_str(err, "message"));
}

/* ", container web running, container api not running", each with
 * " from 127.77.0.5" where it dials the host from an address of its own */
static void print_containers(json_object *list)
{
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *ct = json_object_array_get_idx(list, i);
		const char *source = status_member_str(ct, "source");

		printf(", %s %s%s%s", status_member_str(ct, "label"),
		       json_object_get_boolean(json_object_object_get(ct, "running")) ?
		       "running" : "not running", source ? " from " : "", source ? source : "");
	}
}

/* Whether some container came by a label (--labels): it has an "id" */
static bool labelled(json_object *containers)
{
	for (size_t i = 0; containers && i < json_object_array_length(containers); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(containers, i), "id", NULL))
			return true;
	return false;
}

/* --labels: each container with its bridges and what it was refused, then the host's */
static void print_grouped(json_object *bridges, json_object *containers, const struct frame *fr)
{
	size_t n = json_object_array_length(bridges);

	for (size_t i = 0; i < json_object_array_length(containers); i++) {
		json_object *ct = json_object_array_get_idx(containers, i);
		const char *name = status_member_str(ct, "container"), *refused = status_member_str(ct, "refused");
		const char *source = status_member_str(ct, "source");

		printf(" %s%s%s:\n", status_member_str(ct, "label"), source ? " from " : "",
		       source ? source : "");
		for (size_t k = 0; k < n; k++) {
			json_object *b = json_object_array_get_idx(bridges, k);

			if (same_text(status_member_str(b, "container"), name))
				print_bridge(b, fr);
		}
		if (refused && *refused)
			printf("  refused: %s\n", refused);
	}
	for (size_t k = 0; k < n; k++) {
		json_object *b = json_object_array_get_idx(bridges, k);

		if (!status_member_str(b, "container"))
			print_bridge(b, fr);
	}
}

/* "opener running (pid 12)", "keeper exited (killed by signal 9)", "engine watcher not needed" */
static void print_helper(json_object *helpers, const char *key, const char *name, bool first)
{
	json_object *h = json_object_object_get(helpers, key), *v;
	const char *state = status_member_str(h, "state");

	if (!state)
		return;
	printf("%s%s %s", first ? "" : ", ", name, state);
	if (strcmp(state, "running") == 0)
		printf(" (pid %lld)", (long long)member_int(h, "pid"));
	else if (json_object_object_get_ex(h, "signal", &v))
		printf(" (pid %lld, killed by signal %d)", (long long)member_int(h, "pid"),
		       json_object_get_int(v));
	else if (json_object_object_get_ex(h, "exit_status", &v))
		printf(" (pid %lld, status %d)", (long long)member_int(h, "pid"),
		       json_object_get_int(v));
}

/* "  helpers: opener running (pid 12), engine watcher not needed, keeper ..." */
static void print_helpers(json_object *doc)
{
	json_object *helpers;

	if (!json_object_object_get_ex(doc, "helpers", &helpers) || !helpers)
		return;
	printf("  helpers: ");
	print_helper(helpers, "opener", "opener", true);
	print_helper(helpers, "watcher", "engine watcher", false);
	print_helper(helpers, "keeper", "keeper", false);
	putchar('\n');
}

static void print_process(json_object *doc, const char *path, const struct frame *fr)
{
	time_t now = fr->now;
	const char *container = status_member_str(doc, "container");
	json_object *bridges, *running, *containers = NULL, *reload;
	char up[32];

	printf("nsbridge %lld (%s), up %s", (long long)member_int(doc, "pid"), path,
	       duration_text(now - member_int(doc, "started"), up, sizeof(up)));
	if (json_object_object_get_ex(doc, "containers", &containers) &&
	    json_object_array_length(containers) > 0)
		print_containers(containers);
	else if (container && json_object_object_get_ex(doc, "container_running", &running))
		printf(", %s %s", container,
		       json_object_get_boolean(running) ? "running" : "not running");
	if (json_object_get_boolean(json_object_object_get(doc, "draining")))
		printf(", stopping");
	if (json_object_get_boolean(json_object_object_get(doc, "starved")))
		printf(", out of descriptors: new connections wait");
	putchar('\n');
	if (json_object_object_get_ex(doc, "last_reload", &reload) && reload)
		printf("  last reload %s ago: %s: %s\n",
		       duration_text(now - member_int(reload, "time"), up, sizeof(up)),
		       json_object_get_boolean(json_object_object_get(reload, "ok")) ?
		       "applied" : "refused, the bridges stayed as they were",
		       status_member_str(reload, "message"));
	print_helpers(doc);
	if (!json_object_object_get_ex(doc, "bridges", &bridges))
		return;
	if (labelled(containers)) {
		print_grouped(bridges, containers, fr);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(bridges); i++)
		print_bridge(json_object_array_get_idx(bridges, i), fr);
}

/**
 * status_text_print() - print a status document
 * @doc:	the document one nsbridge answered
 * @path:	the control socket it came from
 * @prev:	the document of the last frame of --watch, NULL for none
 * @secs:	seconds since @prev was asked for
 */
void status_text_print(json_object *doc, const char *path, json_object *prev, double secs)
{
	struct frame fr = { .now = time(NULL), .secs = secs };

	if (prev)
		json_object_object_get_ex(prev, "bridges", &fr.prev);
	print_process(doc, path, &fr);
}
