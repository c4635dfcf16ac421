/* SPDX-License-Identifier: GPL-2.0-or-later */
/* labels.c - containers that ask for bridges with a label (--labels)
 *
 * Theory of operation
 *
 * With --labels [PREFIX], one nsbridge serves every container whose
 * PREFIX.bridges label asks for bridges:
 *
 *   PREFIX.bridges = "host:5432 container:5432, container:9229 host:9229"
 *
 * a comma-separated list of SERVICE EXPOSE pairs in the command line's
 * grammar, "container" meaning the labelled container. The engine watcher
 * (watcher.c) lists every engine's labelled running containers when its
 * events stream opens and after each start or death, and reports each one
 * it has not reported since its last death ("L PID START ID NAME\tBRIDGES
 * \tOPTIONS", START the pid's start time), which lifecycle.c passes on
 * through ctx.on_label (labels_setup()). For each report,
 * labels_on_report():
 *
 *   1. takes a free side of the table (one a stopped labelled container
 *      left is reused), has the opener take PID's namespace (the relay
 *      holds no capability) if PID is still the process that started at
 *      START (a container that died meanwhile may have left its pid to an
 *      unrelated process: then nothing is bound, and one line says so),
 *      brings lo up there and watches PID's pidfd;
 *   2. parses the label pair by pair (labels_split(), labels_spec(): the
 *      endpoint grammar of cli_parse_pair(), then the operator's limits:
 *      a non-loopback EXPOSE only with --labels-allow-nonlocal, a host
 *      EXPOSE port only from --labels-min-port, 1024 by default);
 *   3. refuses a host EXPOSE another container's bridge holds already
 *      (the first to ask keeps it), naming both containers and the port;
 *   4. binds the rest with bridge_add(), each bridge on its own.
 *
 * A refusal is one log line naming the container and is kept in the side
 * (status --json shows it under "containers"); it concerns that bridge
 * alone. A label that does not parse is refused whole, for that container
 * only. Nothing here exits or touches another container's bridges.
 *
 * When the container's init exits (its pidfd is a source this module
 * registers), lifecycle.c closes what was in its namespace and has the
 * opener let it go; labels_on_exit() then removes
 * its bridges (bridge_remove(): the host listeners close at once) and
 * frees the side for the next container. A container started again is
 * reported with its new pid and opened as a new one.
 *
 * PREFIX.options sets, for that container's bridges only, the options of
 * the command line that make sense per bridge (labels_options():
 * --allow-uid, --connect-timeout, --drain-timeout, --udp-timeout,
 * --max-connections, --max-udp-flows), parsed by the rows of options.c's
 * option table into a copy of the running configuration that the
 * container's bridges point to (bridge.options). Any other option, or a
 * bad value, refuses the container's bridges whole: an --allow-uid left out
 * would open more than the label asked for. After a SIGHUP the label is
 * applied again over the configuration as reloaded (labels_on_reload()),
 * so a changed --max-connections, say, reaches the container's bridges
 * too, and what the label set stays as it set it.
 *
 * With --labels-sources CIDR, a container one of whose pairs connects to
 * a SERVICE on the host is given an address of the range before its
 * bridges are added (sourcemap.c), the same one each time a container of
 * that name runs; none left refuses its bridges whole. A label cannot ask
 * for an address (--source in PREFIX.options is refused): it could name
 * another container's.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "nsbridge/bridge.h"
#include "nsbridge/cleanup.h"
#include "nsbridge/event.h"
#include "nsbridge/labels.h"
#include "nsbridge/lifecycle.h"
#include "nsbridge/opener.h"
#include "nsbridge/runas.h"
#include "nsbridge/sockpool.h"
#include "nsbridge/sourcemap.h"

/* A refusal of a label, within BRIDGE_ERROR_MAX - 1 characters as ever: -EINVAL */
#define label_fail(f, ...) \
	failure_setn(f, BRIDGE_ERROR_MAX, EXIT_USAGE, -EINVAL, __VA_ARGS__)

/**
 * labels_split() - the pairs of a PREFIX.bridges value
 * @value:	"SERVICE EXPOSE, SERVICE EXPOSE, ..."
 * @pairs:	the pairs, as text
 * @max:	room in @pairs
 * @ret_n:	how many, on success
 * @f:		on failure, why, for the log line
 *
 * Return: 0, or -EINVAL: an item is not two words, or there are too many
 */
int labels_split(const char *value, struct label_pair *pairs, size_t max, size_t *ret_n,
		 struct failure *f)
{
	size_t n = 0;
	const char *p = value;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t item_len = end ? (size_t)(end - p) : strlen(p);
		char item[LABEL_ITEM_MAX], extra[2];
		int words;

		if (item_len >= sizeof(item))
			return label_fail(f, "bridge %zu is too long", n + 1);
		memcpy(item, p, item_len);
		item[item_len] = '\0';
		if (n == max)
			return label_fail(f, "more than %zu bridges", max);
		words = sscanf(item, "%255s %127s %1s", pairs[n].service, pairs[n].expose, extra);
		if (words != 2)
			return label_fail(f, "'%s': expected SERVICE EXPOSE, like "
					  "host:5432 container:5432", item);
		n++;
		if (!end)
			break;
		p = end + 1;
	}
	*ret_n = n;
	return 0;
}

static void remap(struct endpoint *ep, enum side side)
{
	if (ep->kind == ENDPOINT_INET && ep->side != SIDE_HOST)
		ep->side = side;
}

/**
 * labels_spec() - one pair of a label as a bridge of @side's container,
 *		   within the operator's limits
 * @cfg:	the running configuration
 * @pair:	the pair
 * @side:	the labelled container's side, which "container" means
 * @ret:	the bridge, on success; its container is NULL
 * @f:		on failure, why
 *
 * Return: 0, or -EINVAL (syntax), -EPERM (beyond what --labels-allow-nonlocal
 * and --labels-min-port allow)
 */
int labels_spec(const struct config *cfg, const struct label_pair *pair, enum side side,
		struct bridge_spec *ret, struct failure *f)
{
	struct config limits = *cfg;
	struct bridge_spec b;

	limits.allow_nonlocal = cfg->labels_allow_nonlocal;
	limits.containers[0] = "the labelled container";
	limits.n_containers = 1;
	if (cli_parse_pair(&limits, pair->service, pair->expose, &b, f) < 0) {
		f->line[CLI_ERROR_MAX - 1] = '\0';	/* as long as it ever was */
		return strstr(f->line, "--allow-nonlocal") ? -EPERM : -EINVAL;
	}
	if (b.mirror || b.expose.kind != ENDPOINT_INET)
		return failure_set(f, EXIT_USAGE, -EINVAL, "'%s %s': not a bridge a label may "
				   "ask for", pair->service, pair->expose);
	if (b.expose.side == SIDE_HOST && b.expose.port_first &&
	    b.expose.port_first < cfg->labels_min_port)
		return failure_set(f, EXIT_PRIVILEGE, -EPERM, "EXPOSE '%s': host ports below %u "
				   "are not for labels (--labels-min-port)", pair->expose,
				   cfg->labels_min_port);
	remap(&b.expose, side);
	for (unsigned k = 0; k < b.n_services; k++)
		remap(&b.services[k], side);
	b.service = b.services[0];
	b.container = NULL;
	b.labelled = true;
	*ret = b;
	return 0;
}

/* What PREFIX.options may set: the options read per bridge */
static const char *const per_bridge[] = {
	"allow-uid", "connect-timeout", "drain-timeout", "udp-timeout", "max-connections",
	"max-udp-flows", "proxy-protocol",
};

static bool is_per_bridge(const char *name)
{
	for (size_t i = 0; i < sizeof(per_bridge) / sizeof(per_bridge[0]); i++)
		if (strcmp(name, per_bridge[i]) == 0)
			return true;
	return false;
}

/**
 * labels_options() - a PREFIX.options value into @cfg
 * @cfg:	a copy of the running configuration, changed in place
 * @value:	"--allow-uid 1000 --connect-timeout=2s", words apart by blanks
 * @f:		on failure, why
 *
 * Return: 0, or -EINVAL: not an option, one that is not per bridge, or a
 * bad value
 */
int labels_options(struct config *cfg, const char *value, struct failure *f)
{
	char copy[ENGINE_LABEL_MAX], *save = NULL, *word;

	snprintf(copy, sizeof(copy), "%s", value);
	for (word = strtok_r(copy, " \t", &save); word; word = strtok_r(NULL, " \t", &save)) {
		char *name = word + 2, *eq, *arg;

		if (strncmp(word, "--", 2) != 0)
			return label_fail(f, "options label: '%s' is not an option", word);
		eq = strchr(name, '=');
		if (eq)
			*eq = '\0';
		if (strcmp(name, "source") == 0)
			return label_fail(f, "options label: --source: a container's address is "
					  "given by --labels-sources, never by its own label, which "
					  "could name another container's");
		if (!is_per_bridge(name))
			return label_fail(f, "options label: --%s is not an option a label may set "
					  "(--allow-uid, --connect-timeout, --drain-timeout, "
					  "--udp-timeout, --max-connections, --max-udp-flows, "
					  "--proxy-protocol)", name);
		/* --proxy-protocol, the one switch, takes no word after it */
		if (eq)
			arg = eq + 1;
		else
			arg = strcmp(name, "proxy-protocol") == 0 ? NULL :
							      strtok_r(NULL, " \t", &save);
		if (cli_apply_named(cfg, name, arg, f) < 0) {
			f->line[BRIDGE_ERROR_MAX - 1] = '\0';	/* as long as it ever was */
			return -EINVAL;
		}
	}
	return 0;
}

/* Keep a refusal for status, and say it once */
static void refuse(struct side_ns *s, const char *what)
{
	size_t used = strlen(s->refused), room = sizeof(s->refused) - used;

	log_warn("%s: refused: %s", s->label, what);
	if (room > 3 && snprintf(s->refused + used, room, "%s%s", used ? "; " : "", what) >= (int)room)
		log_debug("%s: status shows its refusals cut short; this log has them whole",
			  s->label);
}

/* The container side whose bridge holds a host EXPOSE overlapping @ep, or SIDE_HOST */
static const struct bridge *holder(const struct ctx *c, const struct endpoint *ep)
{
	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct bridge *b = &c->bridges[i];

		if (!b->removed && b->spec->expose.side == SIDE_HOST &&
		    endpoint_overlaps(&b->expose, ep))
			return b;
	}
	return NULL;
}

static const char *owner_name(const struct ctx *c, const struct bridge *b)
{
	const struct bridge_spec *spec = b->spec;

	for (unsigned k = 0; k < spec->n_services; k++)
		if (spec->services[k].kind == ENDPOINT_INET && spec->services[k].side != SIDE_HOST)
			return c->sides[spec->services[k].side].label;
	return "the command line";
}

/* One pair of @side's label: bound, or refused with one line */
static void add_pair(struct ctx *c, enum side side, const struct label_pair *pair)
{
	struct side_ns *s = &c->sides[side];
	char why[BRIDGE_ERROR_MAX + 1024], line[BRIDGE_READY_MAX];
	struct failure f = FAILURE_INIT;
	const struct bridge *other;
	struct bridge_spec spec;
	struct bridge *b;

	if (labels_spec(c->config, pair, side, &spec, &f) < 0 ||
	    runas_check_set(&spec, 1, &f) < 0) {
		refuse(s, f.line);	/* also a unix: SERVICE the relay's user cannot reach */
		return;
	}
	other = spec.expose.side == SIDE_HOST ? holder(c, &spec.expose) : NULL;
	if (other) {
		snprintf(why, sizeof(why), "EXPOSE %s: %s asked for it first (%s -> %s)",
			 pair->expose, owner_name(c, other), other->service_text,
			 other->expose_text);
		refuse(s, why);
		return;
	}
	if (bridge_add(c, &spec, NULL, &b, &f) < 0) {
		refuse(s, f.line);
		return;
	}
	if (s->options)
		b->options = s->options;
	log_notice("%s: %s (label %s.bridges)", s->label, bridge_ready_line(b, line, sizeof(line)),
		   c->config->labels_prefix);
}

/* A side no container uses, for a new labelled one; -1 when LABELLED_MAX are served */
static int free_side(const struct ctx *c)
{
	int unused = -1, n = 0;

	for (int i = SIDE_CONTAINER + (int)c->config->n_containers; i < SIDE_MAX; i++) {
		if (c->sides[i].used && c->sides[i].labelled)
			n++;
		else if (unused < 0 && !c->sides[i].used && c->sides[i].pidfd < 0)
			unused = i;
	}
	return n < LABELLED_MAX ? unused : -1;
}

/* The side of a labelled container, by engine ID; -1 if none */
static int side_of(const struct ctx *c, const char *id)
{
	for (int i = SIDE_CONTAINER; i < SIDE_MAX; i++)
		if (c->sides[i].used && c->sides[i].labelled && strcmp(c->sides[i].id, id) == 0)
			return i;
	return -1;
}

static void labels_on_exit(struct ctx *c, enum side side);

/* The pidfd of a labelled container's init is readable: it exited */
static void on_pidfd(struct ctx *c, struct event_source *s, uint32_t events)
{
	const struct side_ns *sn = container_of(s, struct side_ns, pidfd_source);

	(void)events;
	/* which has lifecycle.c close what was in the namespace first */
	labels_on_exit(c, (enum side)(sn - c->sides));
}

/* Have the opener take @pid's namespace as @side's, and watch @pid; -ESTALE if
 * @pid is no longer the process started at @start */
static int open_side(struct ctx *c, enum side side, pid_t pid, unsigned long long start)
{
	struct opener_req open = {
		.op = OPENER_OPEN_PID, .side = side, .pid = pid, .start = start,
	};
	struct opener_req lo = { .op = OPENER_LO_UP, .side = side };
	struct side_ns *s = &c->sides[side];
	int pidfd, r;

	r = opener_call(&open, &pidfd, 1);
	if (r < 1)
		return r < 0 ? r : -EIO;
	s->pidfd = pidfd;
	r = event_add_io(c, &s->pidfd_source, pidfd, EPOLLIN, on_pidfd);
	if (r < 0) {
		struct opener_req forget = { .op = OPENER_FORGET, .side = side };

		opener_call(&forget, NULL, 0);
		close(pidfd);
		s->pidfd = -1;
		return r;
	}
	opener_call(&lo, NULL, 0);
	return 0;
}

/* Take @side for the container: its name for messages, its ID to know it again */
static void claim(struct ctx *c, enum side side, pid_t pid, unsigned long long start,
		  const char *id, const char *name)
{
	struct side_ns *s = &c->sides[side];

	s->used = true;
	s->labelled = true;
	s->down = false;
	s->local = false;
	s->pid = pid;
	s->start = start;
	s->refused[0] = '\0';
	s->source.s_addr = 0;
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->ref = s->name;
	snprintf(s->label, sizeof(s->label), "container %.140s", name);
	for (int k = 0; k < POOL_KIND_MAX; k++)
		c->pools[side][k].used = false;	/* asked for again by its own bridges */
	sockpool_side_up(c, side);
}

/* Whether a pair of the label connects from the container to a SERVICE on
 * the host: only those need the container's own address */
static bool dials_host(const struct label_pair *pairs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct endpoint ep;
		const char *why;

		if (endpoint_parse(pairs[i].expose, &ep, &why) == 0 && ep.side == SIDE_CONTAINER &&
		    strstr(pairs[i].service, "host:"))
			return true;
	}
	return false;
}

static void add_bridges(struct ctx *c, enum side side, const char *value, const char *options)
{
	struct label_pair pairs[LABEL_PAIRS_MAX];
	struct side_ns *s = &c->sides[side];
	struct failure f = FAILURE_INIT;
	size_t n;

	if (*options) {
		_cleanup_free_ struct config *own = malloc(sizeof(*own));

		if (!own) {
			refuse(s, "out of memory");
			return;
		}
		*own = *c->config;
		if (labels_options(own, options, &f) < 0) {
			refuse(s, f.line);
			return;
		}
		s->options_text = strdup(options);
		if (!s->options_text) {
			refuse(s, "out of memory");
			return;
		}
		s->options = TAKE_PTR(own);
	}
	if (labels_split(value, pairs, LABEL_PAIRS_MAX, &n, &f) < 0) {
		refuse(&c->sides[side], f.line);
		return;
	}
	if (dials_host(pairs, n) && sourcemap_assign(c, side, &f) < 0) {
		refuse(s, f.line);
		return;
	}
	for (size_t i = 0; i < n; i++)
		add_pair(c, side, &pairs[i]);
}

/**
 * labels_on_report() - the watcher reported a labelled container running
 * @c:		context
 * @line:	"L PID START ID NAME\tBRIDGES\tOPTIONS"
 */
static void labels_on_report(struct ctx *c, const char *line)
{
	char id[ENGINE_ID_MAX], name[ENGINE_NAME_MAX];
	const char *value, *options;
	unsigned long long start;
	int pid, side, r;
	char *bridges;

	if (!c->config->labels || c->draining ||
	    sscanf(line, "L %d %llu %64s %255[^\t]", &pid, &start, id, name) != 4 || pid <= 0)
		return;
	value = strchr(line, '\t');
	options = value ? strchr(value + 1, '\t') : NULL;
	if (!options)
		return;
	side = side_of(c, id);
	if (side >= 0 && c->sides[side].pid == pid && c->sides[side].start == start)
		return;		/* served already: bridges and connections stay */
	if (side >= 0 && !lifecycle_init_exited(&c->sides[side]))
		return;		/* an old report: the process served runs on */
	if (side >= 0)		/* it died and runs again: its pidfd has not said so yet */
		labels_on_exit(c, (enum side)side);
	side = free_side(c);
	if (side < 0) {
		log_warn("container %s: refused: %d containers are served already, the most "
			 "one nsbridge serves", name, LABELLED_MAX);
		return;
	}
	r = open_side(c, (enum side)side, (pid_t)pid, start);
	if (r == OPENER_EXITED) {
		log_warn("container %s asks for bridges, but the opener has exited; restart "
			 "nsbridge", name);
		return;
	}
	if (r == -ESTALE) {
		log_warn("container %s: pid %d is no longer the container the engine reported "
			 "(the pid was reused); nothing is bound, the next report brings its new pid",
			 name, pid);
		return;
	}
	if (r < 0) {
		log_errno(LOG_LEVEL_WARNING, r, "container %s: its namespace cannot be opened",
			  name);
		return;
	}
	claim(c, (enum side)side, (pid_t)pid, start, id, name);
	bridges = strndup(value + 1, (size_t)(options - value - 1));
	if (!bridges) {
		refuse(&c->sides[side], "out of memory");
		return;
	}
	log_info("container %s (pid %d) asks for bridges: %s", name, pid, bridges);
	add_bridges(c, (enum side)side, bridges, options + 1);
	free(bridges);
}

/**
 * labels_on_exit() - a labelled container stopped: remove its bridges and
 *		      free its side
 * @c:		context
 * @side:	its side; lifecycle_on_exit() closed what was in it already
 */
static void labels_on_exit(struct ctx *c, enum side side)
{
	struct side_ns *s = &c->sides[side];
	unsigned n = 0;

	if (side < SIDE_CONTAINER || side >= SIDE_MAX || !s->used || !s->labelled)
		return;
	if (s->pidfd >= 0)	/* asked by a report, before the pidfd said so */
		lifecycle_on_exit(c, side);
	for (size_t i = 0; i < c->n_bridges; i++) {
		struct bridge *b = &c->bridges[i];

		if (!b->removed && bridge_uses_side(b, side)) {
			bridge_remove(c, b);
			n++;
		}
		if (s->options && b->options == s->options)
			b->options = c->config;	/* freed below; it drains by its deadline */
	}
	free(s->options);
	s->options = NULL;
	free(s->options_text);
	s->options_text = NULL;
	sourcemap_release(c, side);
	if (n == 1)
		log_notice("%s stopped: its bridge is removed", s->label);
	else
		log_notice("%s stopped: its %u bridges are removed", s->label, n);
	s->used = false;
	s->labelled = false;
	s->down = true;
	s->pid = 0;
	s->start = 0;
	s->id[0] = '\0';
	s->refused[0] = '\0';
}

/**
 * labels_setup() - take the engine watcher's reports of labelled containers
 * @c:		context
 */
void labels_setup(struct ctx *c)
{
	c->on_label = labels_on_report;
}

/**
 * labels_on_reload() - after a SIGHUP: each container's PREFIX.options
 *			applied again over the configuration as it now is
 * @c:		context
 *
 * Its bridges keep pointing to the same copy, changed in place between
 * two events. The label parsed before, so it parses again; were it not to,
 * the copy stays as it was and one line says so.
 */
void labels_on_reload(struct ctx *c)
{
	struct failure f;

	for (int i = SIDE_CONTAINER; i < SIDE_MAX; i++) {
		struct side_ns *s = &c->sides[i];
		struct config fresh = *c->config;

		if (!s->used || !s->labelled || !s->options || !s->options_text)
			continue;
		if (labels_options(&fresh, s->options_text, &f) < 0) {
			log_warn("%s: its options label no longer applies over the reloaded "
				 "configuration, kept as it was: %s", s->label, f.line);
			continue;
		}
		*s->options = fresh;
	}
}
