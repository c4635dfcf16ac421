/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reload.c - SIGHUP: read --config again and apply the difference
 *
 * Theory of operation
 *
 * The configuration is parsed again from the start, exactly as at start-up:
 * the --config file, then NSBRIDGE_*, then the command line kept from
 * main(). So the command line's bridges and options stay as given (they
 * win over the file, and its pairs come out the same), and only what the
 * file says can change. The result is compared with what runs:
 *
 *   - a running bridge whose pair (SERVICE and EXPOSE, in the same
 *     namespaces) is in the new set stays untouched, with its listeners,
 *     its connections and its figures;
 *   - a pair that is new is bound (bridge_add()), and gets its ready line;
 *   - a running bridge that is no longer there stops accepting at once;
 *     its connections drain as on SIGTERM, for --drain-timeout, on a
 *     deadline of their own (bridge_remove()); when the new set has a pair
 *     of the same EXPOSE (a SERVICE changed), the new bridge takes the
 *     listening sockets as they are, so the port is never unbound;
 *   - the options whose row in options.c's table is LIVE apply from now on
 *     (to new connections; --idle-timeout to every one); those that are
 *     RESTART are kept as they are and a line says they need a restart.
 *     What each option is lives in its row, next to how it is parsed, so
 *     a new option cannot be forgotten here (tests/unit/test_cli.c).
 *
 * All or nothing: every failure that can happen - the file does not parse,
 * a pair names a container this nsbridge has not opened, the new set has
 * a bridge that relays to itself (selfloop.c) or a unix: SERVICE the
 * relay's user may not connect to (runas.c), checked on the whole set as
 * at start, an EXPOSE is taken, no room is left - happens before
 * anything running is changed, and
 * what was bound for the reload is closed again. The running set then
 * stays exactly as it was, one line says why (a file's errors name its
 * line), and ctx.reload keeps the outcome for nsbridge status. A reload
 * never stops nsbridge.
 *
 * nsbridge add and remove (control.c asks reload_change()) change one
 * bridge the same way, with the same checks and the same one-line errors
 * and exit statuses a start gives. What they change lives until the
 * process ends: a restart, or a reload, brings back the set of the
 * command line and the file (a reload removes an added bridge that the
 * file does not have).
 *
 * The relay runs without capabilities under the seccomp filter: reading
 * the file needs openat (read only), read and fstat, which it has;
 * --port-file is put in place by runas.c's keeper, which may create
 * files in its directory; a
 * listener in a container's namespace is made by the opener, which keeps
 * CAP_NET_BIND_SERVICE for the life of the process, and so is one on the
 * relay's own side below ip_unprivileged_port_start (side_listen()). An
 * ordinary user's nsbridge has neither, and such a reload is refused, as
 * its start would be.
 */

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nsbridge/access.h"
#include "nsbridge/bridge.h"
#include "nsbridge/opener.h"
#include "nsbridge/portfile.h"
#include "nsbridge/reload.h"
#include "nsbridge/runas.h"
#include "nsbridge/sdnotify.h"
#include "nsbridge/selfloop.h"

static struct config *live;	/* main()'s, which c->config points to */
static int saved_argc;
static char **saved_argv;

/* An earlier row of @o[0..i) that stores into the same member (--quiet, --no-follow) */
static bool shares_member(const struct cli_option *o, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (o[k].reload == o[i].reload && o[k].offset == o[i].offset && o[k].size)
			return true;
	return false;
}

/* "--verbose/--quiet": every row of @o that stores into @o[i]'s member */
static int member_names(const struct cli_option *o, size_t n, size_t i, char *buf, size_t len)
{
	int off = 0;

	for (size_t k = i; k < n; k++) {
		int w;

		if (o[k].reload != o[i].reload || o[k].offset != o[i].offset)
			continue;
		w = snprintf(buf + off, len - (size_t)off, "%s--%s", off ? "/" : "", o[k].name);
		if (w < 0 || (size_t)w >= len - (size_t)off)
			break;
		off += w;
	}
	return off;
}

/*
 * The names of the options of reload kind @kind (options.c's rows say) whose
 * values differ between @a and @b, ", " between them
 */
static size_t fields_changed(const struct config *a, const struct config *b,
			     enum cli_reload kind, char *buf, size_t len)
{
	size_t n, found = 0, off = 0;
	const struct cli_option *o = cli_options(&n);

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char names[128];
		int w;

		if (o[i].reload != kind || shares_member(o, i) || cli_option_same(&o[i], a, b))
			continue;
		member_names(o, n, i, names, sizeof(names));
		w = snprintf(buf + off, len - off, "%s%s", found ? ", " : "", names);
		if (w > 0 && (size_t)w < len - off)
			off += (size_t)w;
		found++;
	}
	return found;
}

/* Apply the options that options.c's rows say are live of @next to the running config */
static void copy_live_options(const struct config *next)
{
	size_t n;
	const struct cli_option *o = cli_options(&n);

	for (size_t i = 0; i < n; i++)
		if (o[i].reload == CLI_RELOAD_LIVE)
			cli_option_copy(&o[i], live, next);
	log_setup(live->verbosity, live->log_format);
}

static bool endpoint_same(const struct endpoint *a, const struct endpoint *b)
{
	if (a->kind != b->kind || a->proto != b->proto)
		return false;
	if (a->kind == ENDPOINT_UNIX)
		return strcmp(a->path, b->path) == 0;
	if (a->side != b->side || a->has_addr != b->has_addr || a->port_first != b->port_first ||
	    a->port_last != b->port_last)
		return false;
	if (!a->has_addr)
		return true;
	if (a->family != b->family)
		return false;
	return a->family == AF_INET6 ? memcmp(&a->addr.v6, &b->addr.v6, sizeof(a->addr.v6)) == 0 :
				       a->addr.v4.s_addr == b->addr.v4.s_addr;
}

static bool spec_same(const struct bridge_spec *a, const struct bridge_spec *b)
{
	if (a->mirror != b->mirror || a->n_services != b->n_services ||
	    a->proxy_protocol != b->proxy_protocol || !endpoint_same(&a->expose, &b->expose))
		return false;
	for (unsigned i = 0; i < a->n_services; i++)
		if (!endpoint_same(&a->services[i], &b->services[i]))
			return false;
	return true;
}

/* The running side of a side of @next: the same REF, open; SIDE_MAX if none */
static enum side running_side(const struct ctx *c, const struct config *next, enum side s)
{
	const char *ref;

	if (s == SIDE_HOST)
		return SIDE_HOST;
	ref = next->containers[s - SIDE_CONTAINER];
	for (size_t j = 0; j < live->n_containers; j++) {
		enum side r = (enum side)(SIDE_CONTAINER + j);

		if (strcmp(live->containers[j], ref) == 0)
			return c->sides[r].used ? r : SIDE_MAX;
	}
	return SIDE_MAX;
}

static int map_endpoint(const struct ctx *c, const struct config *next, struct endpoint *ep,
			struct failure *f)
{
	enum side s;

	if (ep->kind != ENDPOINT_INET)
		return 0;
	s = running_side(c, next, ep->side);
	if (s == SIDE_MAX)
		return failure_set(f, EXIT_NO_CONTAINER, -ENOENT, "container %s is not one this "
				   "nsbridge has open: a new container needs a restart",
				   next->containers[ep->side - SIDE_CONTAINER]);
	ep->side = s;
	return 0;
}

/* @next's pairs, their sides renumbered as the running side table has them */
static int map_sides(const struct ctx *c, struct config *next, struct failure *f)
{
	for (size_t i = 0; i < next->n_bridges; i++) {
		struct bridge_spec *b = &next->bridges[i];

		if (map_endpoint(c, next, &b->expose, f) < 0)
			return -ENOENT;
		for (unsigned k = 0; k < b->n_services; k++)
			if (map_endpoint(c, next, &b->services[k], f) < 0)
				return -ENOENT;
		b->service = b->services[0];
	}
	return 0;
}

/**
 * struct plan - what a reload does, worked out before anything changes
 * @next:	the configuration read again, sides renumbered
 * @same:	for each pair of @next, the running bridge it is, or NULL
 * @from:	for each new pair, a running bridge of the same EXPOSE that
 *		goes, whose listeners it takes; or NULL
 * @added:	for each new pair, its bridge once bound
 * @stays:	for each running bridge, whether it is in @next
 * @n_running:	bridges before the reload: the length of @stays
 * @n_added:	new pairs
 * @n_removed:	running bridges that go
 */
struct plan {
	struct config next;
	struct bridge **same;
	struct bridge **from;
	struct bridge **added;
	bool *stays;
	size_t n_running;
	size_t n_added;
	size_t n_removed;
};

static void plan_free(struct plan *p)
{
	free(p->same);
	free(p->from);
	free(p->added);
	free(p->stays);
	config_free(&p->next);
}

/* A bridge of the set a reload changes: not --mirror's, nor a label's */
static bool running(const struct bridge *b)
{
	return !b->removed && !b->spec->mirror && !b->spec->labelled;
}

/* Pair each running bridge with the same pair of @p->next, if it has one */
static void match(struct ctx *c, struct plan *p)
{
	for (size_t r = 0; r < p->n_running; r++) {
		struct bridge *b = &c->bridges[r];

		p->stays[r] = !running(b);	/* --mirror's and the labels' stay */
		for (size_t i = 0; i < p->next.n_bridges && !p->stays[r]; i++) {
			if (p->same[i] || p->next.bridges[i].mirror ||
			    !spec_same(&p->next.bridges[i], b->spec))
				continue;
			p->same[i] = b;
			p->stays[r] = true;
		}
		p->n_removed += !p->stays[r];
	}
	for (size_t i = 0; i < p->next.n_bridges; i++) {
		const struct bridge_spec *spec = &p->next.bridges[i];

		if (p->same[i] || spec->mirror)
			continue;
		p->n_added++;
		for (size_t r = 0; r < p->n_running && !p->from[i]; r++) {
			struct bridge *b = &c->bridges[r];
			bool taken = false;

			for (size_t k = 0; k < i; k++)
				taken |= p->from[k] == b;
			if (!p->stays[r] && !taken && endpoint_same(&b->spec->expose, &spec->expose))
				p->from[i] = b;
		}
	}
}

/*
 * The checks a start makes of its set, on the whole new one: no bridge
 * relays to itself or two to each other (selfloop.c), and the relay's
 * user may connect to each unix: SERVICE (runas.c). 0, or -errno and @f
 * with the exit status a start would leave with and its line.
 */
static int check_set(const struct ctx *c, const struct bridge_spec *set, size_t n,
		     struct failure *f)
{
	int r = selfloop_check_set(c, set, n, f);

	return r < 0 ? r : runas_check_set(set, n, f);
}

/*
 * A new bridge whose SERVICE is in a namespace the relay cannot enter needs
 * a socket from the opener for each connection: once the opener has
 * exited, every client would be reset, so the bridge is refused
 */
static int check_opener(const struct ctx *c, const struct bridge_spec *spec, struct failure *f)
{
	for (unsigned k = 0; opener_gone() && k < spec->n_services; k++) {
		const struct endpoint *svc = &spec->services[k];

		if (svc->kind == ENDPOINT_INET && !c->sides[svc->side].local)
			return failure_set(f, EXIT_RUNTIME, OPENER_EXITED, "a SERVICE in %s needs "
					   "sockets made there by the opener: the opener has "
					   "exited; restart nsbridge", c->sides[svc->side].label);
	}
	return 0;
}

/* check_set() of @p->next, a running bridge's EXPOSE as bound (port 0); then
 * check_opener() of each bridge that does not run yet */
static int check_next(const struct ctx *c, const struct plan *p, struct failure *f)
{
	struct bridge_spec *set = calloc(p->next.n_bridges + 1, sizeof(*set));
	int r;

	if (!set)
		return failure_set(f, EXIT_RUNTIME, -ENOMEM, "out of memory");
	for (size_t i = 0; i < p->next.n_bridges; i++) {
		set[i] = p->next.bridges[i];
		if (p->same[i])
			set[i].expose = p->same[i]->expose;
	}
	r = check_set(c, set, p->next.n_bridges, f);
	for (size_t i = 0; r == 0 && i < p->next.n_bridges; i++)
		if (!p->same[i])
			r = check_opener(c, &p->next.bridges[i], f);
	free(set);
	return r;
}

/* Bind every new pair that needs listeners of its own; all of them or none */
static int bind_new(struct ctx *c, struct plan *p, struct failure *f)
{
	if (p->n_added > bridges_room(c))
		return failure_set(f, EXIT_USAGE, -ENOSPC, "no room for %zu more bridges: at most "
				   "%d can be added to those nsbridge started with", p->n_added,
				   BRIDGES_ADDED_MAX);
	for (size_t i = 0; i < p->next.n_bridges; i++) {
		int r;

		if (p->same[i] || p->next.bridges[i].mirror || p->from[i])
			continue;
		r = bridge_add(c, &p->next.bridges[i], NULL, &p->added[i], f);
		if (!r)
			continue;
		for (size_t k = 0; k < i; k++)
			if (p->added[k])
				bridge_discard(c, p->added[k]);
		return r;
	}
	return 0;
}

/*
 * --port-file follows the bridges that run: the keeper (runas.c) renames
 * the new text over it, so a reader sees the old lines or the new ones
 */
static void rewrite_port_file(const struct ctx *c)
{
	size_t len = 0;
	char *text = NULL;
	int r;

	if (!c->port_file_written)
		return;
	r = portfile_text(c, &text, &len);
	if (r == 0)
		r = runas_keeper_file(KEEPER_PORT_FILE, text, len);
	free(text);
	if (r == KEEPER_EXITED)
		log_warn("--port-file %s is not written again: the keeper has exited, and the "
			 "relay may not write it; restart nsbridge", live->port_file);
	else if (r < 0)
		log_errno(LOG_LEVEL_WARNING, r, "writing --port-file %s again", live->port_file);
}

/* Nothing can fail from here on */
static void commit(struct ctx *c, struct plan *p)
{
	char line[BRIDGE_READY_MAX];

	copy_live_options(&p->next);
	for (size_t i = 0; i < p->next.n_bridges; i++)	/* room was counted */
		if (p->from[i])
			bridge_add(c, &p->next.bridges[i], p->from[i], &p->added[i], NULL);
	for (size_t r = 0; r < p->n_running; r++)
		if (!p->stays[r] && running(&c->bridges[r]))
			bridge_remove(c, &c->bridges[r]);
	for (size_t i = 0; i < p->next.n_bridges; i++)
		if (p->added[i])
			log_notice("%s", bridge_ready_line(p->added[i], line, sizeof(line)));
	rewrite_port_file(c);
}

/* --allow-uid given for the first time needs the host's diag socket first */
static int prepare_access(struct ctx *c, const struct config *next, struct failure *f)
{
	size_t saved = live->n_allow_uids;
	int r;

	if (!next->n_allow_uids || saved)
		return 0;
	live->n_allow_uids = next->n_allow_uids;	/* what access_setup() asks */
	r = access_setup(c);
	live->n_allow_uids = saved;
	if (r < 0)
		return failure_errno(f, r, "opening socket diagnostics for --allow-uid");
	return 0;
}

static void note(struct ctx *c, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note(struct ctx *c, bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reload.message, sizeof(c->reload.message), fmt, ap);
	va_end(ap);
	c->reload.ok = ok;
	c->reload.time = (int64_t)time(NULL);
	if (ok) {
		c->reload.n_applied++;
		c->reload.last_applied = c->reload.time;
	} else {
		c->reload.n_refused++;
	}
}

/* Everything that can fail, in order; 0, or -errno and @f says why */
static int prepare(struct ctx *c, struct plan *p, struct failure *f)
{
	size_t n;
	int r;

	r = cli_parse(saved_argc, saved_argv, &p->next, f);
	if (r < 0)
		return r;
	n = p->next.n_bridges ? p->next.n_bridges : 1;
	p->same = calloc(n, sizeof(*p->same));
	p->from = calloc(n, sizeof(*p->from));
	p->added = calloc(n, sizeof(*p->added));
	p->n_running = c->n_bridges;
	p->stays = calloc(c->n_bridges ? c->n_bridges : 1, sizeof(*p->stays));
	if (!p->same || !p->from || !p->added || !p->stays)
		return failure_set(f, EXIT_RUNTIME, -ENOMEM, "out of memory");
	if ((r = map_sides(c, &p->next, f)) < 0 || (r = prepare_access(c, &p->next, f)) < 0)
		return r;
	match(c, p);
	r = check_next(c, p, f);
	return r < 0 ? r : bind_new(c, p, f);
}

/**
 * reload_setup() - what a reload parses again
 * @config:	the running configuration, which c->config points to; a
 *		reload changes its live options in place
 * @argc:	main()'s
 * @argv:	main()'s, which outlive the loop
 */
void reload_setup(struct config *config, int argc, char *argv[])
{
	live = config;
	saved_argc = argc;
	saved_argv = argv;
}

/**
 * reload_on_signal() - SIGHUP: read --config again and apply the difference,
 *			whole or not at all
 * @c:		context, running
 */
void reload_on_signal(struct ctx *c)
{
	char why[BRIDGE_ERROR_MAX], names[BRIDGE_ERROR_MAX];
	struct failure f = FAILURE_INIT;
	struct plan p = { .n_added = 0 };
	size_t kept;

	if (!live || !live->config_file) {
		log_info("SIGHUP ignored: there is no --config file to read again, nothing to "
			 "reload; open connections stay");
		return;
	}
	sdnotify_reloading();
	if (prepare(c, &p, &f) < 0) {
		f.line[BRIDGE_ERROR_MAX - 1] = '\0';	/* as long as it ever was */
		log_error("reload of %s refused, the running bridges stay: %s",
			  live->config_file, f.line);
		note(c, false, "%s", f.line);
		plan_free(&p);
		sdnotify_ready(c);
		return;
	}
	if (fields_changed(live, &p.next, CLI_RELOAD_RESTART, names, sizeof(names)) > 0)
		log_warn("reload of %s: %s changed, which needs a restart: kept as it was",
			 live->config_file, names);
	kept = 0;
	for (size_t i = 0; i < p.next.n_bridges; i++)
		kept += p.same[i] != NULL;
	fields_changed(live, &p.next, CLI_RELOAD_LIVE, why, sizeof(why));
	commit(c, &p);
	note(c, true, "%zu added, %zu removed, %zu unchanged%s%s%s%s", p.n_added, p.n_removed,
	     kept, why[0] ? "; changed: " : "", why, names[0] ? "; needs a restart: " : "", names);
	log_notice("reloaded %s: %s", live->config_file, c->reload.message);
	plan_free(&p);
	sdnotify_ready(c);
}

/* -------- nsbridge add and remove, through the control socket -------- */

/* "container" of a pair given to a running nsbridge: its one container */
static int place(const struct ctx *c, struct endpoint *ep, struct failure *f)
{
	if (ep->kind != ENDPOINT_INET || ep->side == SIDE_HOST)
		return 0;
	if (live->n_containers != 1)
		return failure_set(f, EXIT_USAGE, -EINVAL, live->n_containers ? "this nsbridge "
				   "serves %zu containers: which one 'container' means cannot be "
				   "told; give it in --config and reload" : "this nsbridge serves "
				   "no container", live->n_containers);
	if (!c->sides[SIDE_CONTAINER].used)
		return failure_set(f, EXIT_NO_CONTAINER, -ENOENT, "%s is not open in this "
				   "nsbridge: that needs a restart", c->sides[SIDE_CONTAINER].label);
	return 0;
}

/* After a change: --port-file and systemd follow */
static void changed(struct ctx *c)
{
	rewrite_port_file(c);
	sdnotify_ready(c);
}

/* check_set() of the bridges that run (mirror ones too) and @spec */
static int check_with(const struct ctx *c, const struct bridge_spec *spec, struct failure *f)
{
	struct bridge_spec *set = calloc(c->n_bridges + 1, sizeof(*set));
	size_t n = 0;
	int r;

	if (!set)
		return failure_set(f, EXIT_RUNTIME, -ENOMEM, "out of memory");
	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct bridge *b = &c->bridges[i];

		if (b->removed)
			continue;
		set[n] = *b->spec;
		set[n++].expose = b->expose;	/* as bound: port 0 */
	}
	set[n++] = *spec;
	r = check_set(c, set, n, f);
	free(set);
	return r;
}

/* Whether @spec may be added: a place for "container", the opener, no circle */
static int check_add(struct ctx *c, struct bridge_spec *spec, struct failure *f)
{
	int r = place(c, &spec->expose, f);

	for (unsigned k = 0; !r && k < spec->n_services; k++)
		r = place(c, &spec->services[k], f);
	if (!r)
		r = check_opener(c, spec, f);
	return r < 0 ? r : check_with(c, spec, f);
}

/* nsbridge add: 0 and the ready line in @answer, or -errno and @f */
static int add(struct ctx *c, const char *svc, const char *exp, char *answer, size_t len,
	       struct failure *f)
{
	struct bridge_spec spec;
	struct bridge *b;
	int r;

	if ((r = cli_parse_pair(live, svc, exp, &spec, f)) < 0 || (r = check_add(c, &spec, f)) < 0)
		return r;
	sdnotify_reloading();
	r = bridge_add(c, &spec, NULL, &b, f);
	if (r < 0) {
		sdnotify_ready(c);
		return r;
	}
	log_notice("%s (nsbridge add)", bridge_ready_line(b, answer, len));
	changed(c);
	return 0;
}

/* nsbridge remove: 0 and what was removed in @answer, or -errno and @f */
static int remove_one(struct ctx *c, const char *exp, char *answer, size_t len,
		      struct failure *f)
{
	const char *bad = NULL;
	struct endpoint ep;
	int r;

	if (endpoint_parse(exp, &ep, &bad) < 0)
		return failure_set(f, EXIT_USAGE, -EINVAL, "EXPOSE '%s': %s", exp,
				   bad ? bad : "not an endpoint");
	r = place(c, &ep, f);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n_bridges; i++) {
		struct bridge *b = &c->bridges[i];

		if (b->removed || (!endpoint_same(&b->spec->expose, &ep) &&
				   !endpoint_same(&b->expose, &ep)))
			continue;
		if (b->spec->labelled)
			return failure_set(f, EXIT_USAGE, -EPERM, "'%s' is a label's (%s): it goes "
					   "when its container stops or drops it from its label", exp,
					   b->expose_text);
		if (!running(b))
			continue;
		sdnotify_reloading();
		bridge_remove(c, b);
		snprintf(answer, len, "%s -> %s removed; %u connections may finish within %u ms",
			 b->service_text, b->expose_text, b->n_conns, live->drain_timeout_ms);
		changed(c);
		return 0;
	}
	return failure_set(f, EXIT_USAGE, -ENOENT, "no bridge exposes '%s' here (nsbridge "
			   "status lists them)", exp);
}

/**
 * reload_change() - nsbridge add or remove, asked on the control socket
 * @c:		context, running
 * @request:	"add SERVICE EXPOSE" or "remove EXPOSE"
 * @answer:	one line: the ready line, what was removed, or why not
 * @len:	size of @answer
 *
 * One of the two places that read an exit status (main.c's start is the
 * other): a failure's status is what the client exits with.
 *
 * Return: the exit status nsbridge add or remove exits with
 */
int reload_change(struct ctx *c, const char *request, char *answer, size_t len)
{
	char verb[16] = "", a[1024], b[128], extra;
	int n = sscanf(request, "%15s %1023s %127s %c", verb, a, b, &extra);
	struct failure f = FAILURE_INIT;
	int r;

	if (!live || c->draining)
		r = failure_set(&f, EXIT_RUNTIME, -ESHUTDOWN, "nsbridge is stopping");
	else if (strcmp(verb, "add") == 0 && n == 3)
		r = add(c, a, b, answer, len, &f);
	else if (strcmp(verb, "remove") == 0 && n == 2)
		r = remove_one(c, a, answer, len, &f);
	else
		r = failure_set(&f, EXIT_USAGE, -EINVAL, "expected 'add SERVICE EXPOSE' or "
				"'remove EXPOSE'");
	if (r == 0)
		return EXIT_OK;
	snprintf(answer, len, "%s", f.line);
	return (int)f.status;
}
