/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sourcemap.c - which container dials the host from which loopback address,
 * and the file that says so
 *
 * Theory of operation
 *
 * A container's clients reach a host SERVICE from an address of its own
 * (dial.c binds the socket to it: side_source_toward()), so that the
 * service can tell containers apart and authorise them. Where the address
 * comes from:
 *
 *   --source ADDR     after a -c: that container's, for good (cli/sources.c
 *                     checked that no two share one);
 *   --labels-sources  each labelled container is given one of the range
 *                     as it comes (sourcemap_assign()). A label never
 *                     names its own: it could claim another container's.
 *
 * A labelled container keeps its address by name: the table below
 * remembers, for each name, the address it had, so a container restarted
 * (or removed and run again under the same name) dials from the same one
 * and a pg_hba.conf line keeps meaning it. An address goes to a new name
 * only when none in the range was ever given: then the one whose
 * container stopped longest ago is taken back. Never skipped: the
 * network and broadcast addresses of a range of 4 or more, 127.0.0.1
 * (every other client's), and every --source. When all are held by
 * running containers the next container is refused, in one line, and the
 * others keep theirs.
 *
 * The map is shown by nsbridge status, its JSON and --metrics, and kept
 * in a file for tools and admins: "ADDRESS NAME ID" per container, ID
 * "-" where there is none (pid:N, netns:NAME), after a comment line that
 * names the process. By default it is PID.sources beside the control
 * socket PID.sock (the .sources files of /run/nsbridge are every
 * process's map), and goes with it at exit; --sources-file names one of
 * the user's choice. The start writes it as root; each change after is written aside and renamed
 * over it by runas.c's keeper, as --port-file is, so a reader sees the old
 * map or the new one and never a mix. A --sources-file whose first line
 * names another nsbridge still running is that one's: the start refuses
 * rather than overwrite it.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsbridge/control.h"
#include "nsbridge/runas.h"
#include "nsbridge/sourcemap.h"

#define HELD_MAX	4096	/* names remembered, running or not */

/**
 * struct held - an address given to a labelled container's name
 * @name:	the container's name
 * @addr:	its address
 * @side:	the side of the container running under it, or SIDE_HOST
 *		while none does
 * @stopped_ms:	when the last one stopped, to take back the oldest first
 */
struct held {
	char name[ENGINE_NAME_MAX];
	struct in_addr addr;
	enum side side;
	uint64_t stopped_ms;
};

static struct held *held;
static size_t n_held;
static char file_path[PATH_MAX];

static uint32_t host_order(struct in_addr a)
{
	return ntohl(a.s_addr);
}

/* Whether a --source or a side of a -c has @a */
static bool given_by_source(const struct ctx *c, uint32_t a)
{
	for (size_t i = 0; i < c->config->n_sources; i++)
		if (host_order(c->config->sources[i].addr) == a)
			return true;
	return false;
}

/* Whether @a of the range may be given at all */
static bool usable(const struct ctx *c, uint32_t a)
{
	const struct source_range *r = &c->config->labels_sources;
	uint32_t first = host_order(r->net), last = first | (0xffffffffu >> r->prefix);

	if (r->prefix <= 30 && (a == first || a == last))
		return false;	/* the range's network and broadcast addresses */
	return a != INADDR_LOOPBACK && !given_by_source(c, a);
}

static struct held *held_by_name(const char *name)
{
	for (size_t i = 0; i < n_held; i++)
		if (strcmp(held[i].name, name) == 0)
			return &held[i];
	return NULL;
}

static bool held_addr(uint32_t a)
{
	for (size_t i = 0; i < n_held; i++)
		if (host_order(held[i].addr) == a)
			return true;
	return false;
}

/* An address of the range no name has had, or 0 */
static uint32_t never_given(const struct ctx *c)
{
	const struct source_range *r = &c->config->labels_sources;
	uint64_t first = host_order(r->net), size = 1ull << (32 - r->prefix);

	/* at most n_held + the --sources + 3 are skipped before a free one */
	for (uint64_t a = first; a < first + size; a++)
		if (usable(c, (uint32_t)a) && !held_addr((uint32_t)a))
			return (uint32_t)a;
	return 0;
}

/* The name whose container stopped longest ago, or NULL when all run */
static struct held *stopped_longest(void)
{
	struct held *oldest = NULL;

	for (size_t i = 0; i < n_held; i++)
		if (held[i].side == SIDE_HOST && (!oldest || held[i].stopped_ms < oldest->stopped_ms))
			oldest = &held[i];
	return oldest;
}

/* A new entry for @name: a fresh address, else one taken back; NULL when none is left */
static struct held *give(struct ctx *c, const char *name)
{
	uint32_t a = n_held < HELD_MAX ? never_given(c) : 0;
	struct held *h;

	if (a) {
		struct held *more = realloc(held, (n_held + 1) * sizeof(*held));

		if (!more)
			return NULL;
		held = more;
		h = &held[n_held++];
		h->addr.s_addr = htonl(a);
	} else if ((h = stopped_longest())) {
		char text[INET_ADDRSTRLEN];

		log_info("container %s is given %s, which %s had before it stopped", name,
			 inet_ntop(AF_INET, &h->addr, text, sizeof(text)), h->name);
	} else {
		return NULL;
	}
	snprintf(h->name, sizeof(h->name), "%s", name);
	return h;
}

/* "127.77.0.0/30" */
static const char *range_text(const struct ctx *c, char *buf, size_t len)
{
	char net[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &c->config->labels_sources.net, net, sizeof(net));
	snprintf(buf, len, "%s/%u", net, c->config->labels_sources.prefix);
	return buf;
}

/**
 * sourcemap_assign() - give a labelled container its address, if
 *			--labels-sources is given
 * @c:		context
 * @side:	its side, claimed, its name set
 * @f:		when refused, the line (exit status unused)
 *
 * Return: 0, -EADDRINUSE for a name another running container holds,
 * -ENOSPC when every address of the range is held by a running container
 */
int sourcemap_assign(struct ctx *c, enum side side, struct failure *f)
{
	struct side_ns *s = &c->sides[side];
	char range[INET_ADDRSTRLEN + 4], text[INET_ADDRSTRLEN];
	struct held *h;

	if (!c->config->labels_sources.prefix)
		return 0;
	h = held_by_name(s->name);
	if (h && h->side != SIDE_HOST && h->side != side)
		return failure_set(f, EXIT_RUNTIME, -EADDRINUSE, "another container named %s "
				   "holds %s: two containers never share an address", s->name,
				   inet_ntop(AF_INET, &h->addr, text, sizeof(text)));
	if (!h)
		h = give(c, s->name);
	if (!h)
		return failure_set(f, EXIT_RUNTIME, -ENOSPC, "no address of --labels-sources %s "
				   "is left for it: every one is held by a running container",
				   range_text(c, range, sizeof(range)));
	h->side = side;
	s->source = h->addr;
	log_info("%s: its connections to the host come from %s", s->label,
		 inet_ntop(AF_INET, &s->source, text, sizeof(text)));
	sourcemap_changed(c);
	return 0;
}

/**
 * sourcemap_release() - a labelled container stopped: its name keeps the
 *			 address until another name needs it
 * @c:		context
 * @side:	its side
 */
void sourcemap_release(struct ctx *c, enum side side)
{
	for (size_t i = 0; i < n_held; i++)
		if (held[i].side == side) {
			held[i].side = SIDE_HOST;
			held[i].stopped_ms = c->now_ms;
		}
	if (c->sides[side].source.s_addr) {
		c->sides[side].source.s_addr = 0;
		sourcemap_changed(c);
	}
}

/* "ADDRESS NAME ID" for each container with an address, after a line naming us */
static int map_text(const struct ctx *c, char **ret, size_t *len)
{
	FILE *f = open_memstream(ret, len);

	if (!f)
		return -ENOMEM;
	fprintf(f, "# nsbridge %d: ADDRESS CONTAINER-NAME CONTAINER-ID, the address each "
		"container's connections to the host come from\n", (int)getpid());
	for (int i = SIDE_CONTAINER; i < SIDE_MAX; i++) {
		const struct side_ns *s = &c->sides[i];
		char text[INET_ADDRSTRLEN];

		if (!s->used || !s->source.s_addr)
			continue;
		fprintf(f, "%s %s %s\n", inet_ntop(AF_INET, &s->source, text, sizeof(text)),
			*s->name ? s->name : s->ref, *s->id ? s->id : "-");
	}
	if (fclose(f) != 0) {
		free(*ret);
		return -ENOMEM;
	}
	return 0;
}

/**
 * sourcemap_changed() - write the file again, by the keeper, after a change
 * @c:		context
 */
void sourcemap_changed(struct ctx *c)
{
	char *text;
	size_t len;
	int r;

	if (!*file_path || !c->sources_file || map_text(c, &text, &len) < 0)
		return;
	r = runas_keeper_file(KEEPER_SOURCES_FILE, text, len);
	free(text);
	if (r == KEEPER_EXITED)
		log_warn("%s is not rewritten: the keeper has exited (restart nsbridge); "
			 "nsbridge status shows each container's address", file_path);
	else if (r < 0)
		log_errno(LOG_LEVEL_WARNING, r, "rewriting %s", file_path);
}

/* The pid of the nsbridge whose map @path is, if it still runs; 0 if none */
static pid_t running_owner(const char *path)
{
	char comm[32] = "", proc[64];
	FILE *f = fopen(path, "re");
	int pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "# nsbridge %d:", &pid) != 1 || pid <= 0 || pid == getpid())
		pid = 0;
	fclose(f);
	snprintf(proc, sizeof(proc), "/proc/%d/comm", pid);
	f = pid ? fopen(proc, "re") : NULL;
	if (!f)
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "nsbridge", 8) == 0 ? (pid_t)pid : 0;
}

/* --sources-file, else PID.sources beside the control socket PID.sock */
static int choose_path(const struct ctx *c)
{
	const char *ctl = control_path(c), *slash;

	if (c->config->sources_file) {
		snprintf(file_path, sizeof(file_path), "%s", c->config->sources_file);
		return 0;
	}
	slash = ctl ? strrchr(ctl, '/') : NULL;
	if (!slash)
		return -ENOENT;
	snprintf(file_path, sizeof(file_path), "%.*s/%d.sources", (int)(slash - ctl), ctl,
		 (int)getpid());
	return 0;
}

/* The start's file, as root: written aside, renamed over */
static int write_first(const struct ctx *c)
{
	char tmp[PATH_MAX + 16], *text;
	size_t len;
	FILE *f;
	int r = 0;

	if (map_text(c, &text, &len) < 0)
		return -ENOMEM;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", file_path, (int)getpid());
	f = fopen(tmp, "we");
	if (!f) {
		free(text);
		return -errno;
	}
	if (fwrite(text, 1, len, f) != len)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, file_path) < 0)
		r = -errno;
	free(text);
	if (r < 0)
		unlink(tmp);
	return r;
}

/**
 * sourcemap_check() - before anything is started: that --sources-file is
 *		       no other running nsbridge's
 * @cfg:	the configuration
 * @f:		on failure, the line and exit status 1
 *
 * Return: 0, or -EBUSY
 */
int sourcemap_check(const struct config *cfg, struct failure *f)
{
	pid_t owner = cfg->sources_file ? running_owner(cfg->sources_file) : 0;

	if (owner)
		return failure_set(f, EXIT_RUNTIME, -EBUSY, "--sources-file %s is the map of "
				   "nsbridge %d, which runs: give this one a file of its own",
				   cfg->sources_file, (int)owner);
	return 0;
}

/**
 * sourcemap_setup() - at start: each -c's --source to its side, and the file
 * @c:		context, sides open, control socket made
 * @f:		on failure, the line and exit status 1
 *
 * Return: 0, -EBUSY for a file another running nsbridge keeps, other
 * -errno when it cannot be written
 */
int sourcemap_setup(struct ctx *c, struct failure *f)
{
	const struct config *cfg = c->config;
	int r;

	for (size_t i = 0; i < cfg->n_containers; i++) {
		const struct in_addr *a = config_source_of(cfg, cfg->containers[i]);

		if (a)
			c->sides[SIDE_CONTAINER + i].source = *a;
	}
	if (!cfg->n_sources && !cfg->labels_sources.prefix)
		return 0;
	if (choose_path(c) < 0) {
		log_warn("no file of the source addresses: no control socket to put it beside, "
			 "and no --sources-file; nsbridge status shows them");
		return 0;
	}
	r = sourcemap_check(cfg, f);	/* again: another may have started since */
	if (r < 0)
		return r;
	r = write_first(c);
	if (r < 0)
		return failure_errno(f, r, "writing %s", file_path);
	c->sources_file = file_path;
	return 0;
}
