/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c - nsbridge: wiring only
 *
 * cli -> the relay's user -> sides (namespaces; selfloop) -> opener -> lo
 * up -> listeners -> socket pools -> user switch and capability drop ->
 * system call filter -> ready lines -> loop.
 * Every step before the loop may end the process with the exit status of
 * SPEC.md; nothing is left half-started, because nothing outlives the
 * process.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nsbridge/access.h"
#include "nsbridge/ports.h"
#include "nsbridge/bridge.h"
#include "nsbridge/caps.h"
#include "nsbridge/children.h"
#include "nsbridge/cli.h"
#include "nsbridge/command.h"
#include "nsbridge/container.h"
#include "nsbridge/control.h"
#include "nsbridge/engine.h"
#include "nsbridge/labels.h"
#include "nsbridge/lifecycle.h"
#include "nsbridge/loop.h"
#include "nsbridge/metrics.h"
#include "nsbridge/mirror.h"
#include "nsbridge/pipepool.h"
#include "nsbridge/portfile.h"
#include "nsbridge/reload.h"
#include "nsbridge/runas.h"
#include "nsbridge/sandbox.h"
#include "nsbridge/sdnotify.h"
#include "nsbridge/selfloop.h"
#include "nsbridge/side.h"
#include "nsbridge/sockpool.h"
#include "nsbridge/sourcemap.h"
#include "nsbridge/control_client.h"

#define PIPE_SIZE	(256 * 1024)
#define PIPES_KEPT	16
#define PIPE_BULK_SIZE	(1024 * 1024)	/* a pipe its direction fills grows to this */
#define PIPES_BULK_MAX	32		/* half the default fs.pipe-user-pages-soft */

/* Every connection costs descriptors: take all the hard limit allows */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void mark_used_sides(struct ctx *c)
{
	for (size_t i = 0; i < c->config->n_bridges; i++) {
		const struct bridge_spec *b = &c->config->bridges[i];

		for (unsigned k = 0; k < b->n_services; k++)
			if (b->services[k].kind == ENDPOINT_INET)
				c->sides[b->services[k].side].used = true;
		c->sides[b->expose.side].used = true;
	}
}

static const char *missing_text(const char *ref)
{
	switch (container_kind_of(ref)) {
	case CONTAINER_PID:
		return "no such process";
	case CONTAINER_NETNS:
		return "no such namespace ('ip netns list' shows those that exist)";
	case CONTAINER_PATH:
	case CONTAINER_SELF:
	case CONTAINER_ENGINE:
	case CONTAINER_KIND_MAX:
		break;
	}
	return "no such file";
}

/*
 * exit_status_of() - one of the two places that read an exit status (the other
 * is the answer to nsbridge add and remove): say the start's failure, and end
 * with its status
 */
static int exit_status_of(const struct failure *f)
{
	if (f->line[0])
		log_error("%s", f->line);
	return f->status != EXIT_OK ? (int)f->status : EXIT_RUNTIME;
}

/* The line and exit status for a -c REF or --host-netns that could not be opened */
static int open_failure(struct failure *f, const char *what, const char *ref, int r,
			const char *why)
{
	bool explained = why && *why;

	switch (-r) {
	case ENOENT:
	case ESRCH:
		return failure_set(f, EXIT_NO_CONTAINER, r, "%s: %s", what,
				   explained ? why : missing_text(ref));
	case EACCES:
	case EPERM:
		if (explained)
			return failure_set(f, EXIT_PRIVILEGE, r, "%s: %s", what, why);
		return failure_set(f, EXIT_PRIVILEGE, r, "%s: opening it needs CAP_SYS_PTRACE; %s",
				   what, caps_grant_hint());
	case ENOTCONN:
		return failure_set(f, EXIT_PRIVILEGE, r, "%s: %s", what, why);
	case ENOTTY:
	case EINVAL:
	case ENOTUNIQ:
		return failure_set(f, EXIT_USAGE, r, "%s: %s", what,
				   explained ? why : "not a network namespace");
	default:
		if (explained)
			return failure_set(f, EXIT_RUNTIME, r, "%s: %s", what, why);
		return failure_errno(f, r, "%s", what);
	}
}

static int open_sides(struct ctx *c, struct failure *f)
{
	const struct config *cfg = c->config;
	struct failure why = FAILURE_INIT;
	int r;

	mark_used_sides(c);
	r = side_open_host(&c->sides[SIDE_HOST], cfg->host_netns);
	if (r < 0)
		return open_failure(f, cfg->host_netns ? cfg->host_netns : "own namespace",
				    cfg->host_netns ? cfg->host_netns : "self", r, NULL);
	for (size_t i = 0; i < cfg->n_containers; i++) {
		struct side_ns *s = &c->sides[SIDE_CONTAINER + i];

		if (!s->used)
			continue;
		r = side_open_container(s, cfg->containers[i], &why);
		if (r < 0)
			return open_failure(f, s->label, cfg->containers[i], r, why.line);
	}
	return 0;
}

static const char *remote_side_label(const struct ctx *c)
{
	for (int s = 0; s < SIDE_MAX; s++)
		if (c->sides[s].used && !c->sides[s].local)
			return c->sides[s].label;
	return "";
}

static int start_opener(struct ctx *c, struct failure *f)
{
	int r;

	if (!sides_need_opener(c))
		return 0;
	r = sides_check_entry(c, f);
	if (r == -EPERM)
		return r;	/* @f says why */
	if (r < 0)
		return failure_errno(f, r, "finding who owns %s", remote_side_label(c));
	r = sides_start_opener(c);
	if (r < 0)
		return failure_errno(f, r, "starting the namespace opener");
	return 0;
}

/* Why lo could not be brought up in side @s */
static int lo_failure(const struct ctx *c, int s, int r, struct failure *f)
{
	if (r == -EPERM && !caps_have(CAP_NET_ADMIN))
		return failure_set(f, EXIT_PRIVILEGE, r,
				   "lo is down in %s, and bringing it up needs CAP_NET_ADMIN; %s",
				   c->sides[s].label, caps_grant_hint());
	if (r == -EPERM)
		return failure_set(f, EXIT_PRIVILEGE, r, "entering %s was refused: CAP_SYS_ADMIN is "
				   "needed in the user namespace that owns it", c->sides[s].label);
	return failure_errno(f, r, "bringing lo up in %s", c->sides[s].label);
}

static int bring_lo_up(struct ctx *c, struct failure *f)
{
	for (int s = 0; s < SIDE_MAX; s++) {
		int r;

		if (!c->sides[s].used)
			continue;
		r = side_lo_up(c, (enum side)s);
		if (r == 1)
			log_info("brought lo up in %s", c->sides[s].label);
		if (r < 0)
			return lo_failure(c, s, r, f);
	}
	return 0;
}

/* Stock the socket pools of remote SERVICE sides before the drop */
static int prime_pools(struct ctx *c, struct failure *f)
{
	for (size_t i = 0; i < c->config->n_bridges; i++) {
		const struct bridge_spec *b = &c->config->bridges[i];

		for (unsigned k = 0; k < b->n_services; k++) {
			const struct endpoint *svc = &b->services[k];
			int r;

			if (svc->kind != ENDPOINT_INET || c->sides[svc->side].local)
				continue;
			r = sockpool_prime(c, svc->side, svc->has_addr ? svc->family : AF_INET,
					   svc->proto == PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM);
			if (r < 0)
				return failure_errno(f, r, "making sockets in %s",
						     c->sides[svc->side].label);
		}
	}
	return 0;
}

/* The helpers that outlive the drop: the keeper of uid 0, and their watch */
static int start_keeper(struct ctx *c, struct failure *f)
{
	/* whatever the user: the files go even after a kill -9 of the relay */
	int r = runas_keeper_start(c);

	if (r < 0)
		return failure_errno(f, r, "starting the process that keeps uid %u",
				     (unsigned)getuid());
	r = children_watch(c);
	if (r == -ENOSYS)	/* no pidfd_open (a kernel before 5.3, or valgrind 3.19) */
		log_warn("cannot watch the helper processes (pidfd_open: %s): a helper's death "
			 "is seen only when something asks it", strerror(-r));
	else if (r < 0)
		return failure_errno(f, r, "watching the helper processes");
	return 0;
}

/* uid 0 and capabilities, then every system call the loop does not make */
static int drop_privileges(struct ctx *c, const struct runas *as, struct failure *f)
{
	int r = start_keeper(c, f);

	if (r < 0)
		return r;
	r = as->switching ? caps_drop_all_as(as->uid, as->gid) : caps_drop_all();
	if (r < 0 && as->switching)
		return failure_errno(f, r, "becoming user %s (uid %u, gid %u)", as->name,
				     (unsigned)as->uid, (unsigned)as->gid);
	if (r < 0)
		return failure_errno(f, r, "dropping capabilities");
	if (as->switching)
		log_info("the relay runs as %s (uid %u, gid %u) from now on", as->name,
			 (unsigned)as->uid, (unsigned)as->gid);
	r = sandbox_enter();
	if (r < 0)
		return failure_errno(f, r, "installing the system call filter");
	return 0;
}

/* The control socket is for nsbridge status: without one, nsbridge still relays */
static void start_control(struct ctx *c)
{
	int r = control_setup(c);

	if (r < 0)
		log_errno(LOG_LEVEL_WARNING, r, "no control socket for nsbridge status in %s "
			  "or $XDG_RUNTIME_DIR/nsbridge", CONTROL_RUN_DIR);
	else
		log_info("control socket %s (nsbridge status reads it)", control_path(c));
}

/* The sides, the opener, lo, the listeners and the pools: what a bridge stands on */
static int setup_bridges(struct ctx *c, struct failure *f)
{
	int r;

	if ((r = open_sides(c, f)) < 0 || (r = selfloop_check(c, f)) < 0 ||
	    (r = start_opener(c, f)) < 0 || (r = bring_lo_up(c, f)) < 0 ||
	    (r = bridges_setup(c, f)) < 0 || (r = prime_pools(c, f)) < 0)
		return r;
	r = access_setup(c);
	if (r < 0)
		return failure_errno(f, r, "opening socket diagnostics for --allow-uid");
	return 0;
}

/* What watches and serves beside the relay: the loop, metrics, control, mirror, lifecycle */
static int setup_services(struct ctx *c, struct failure *f)
{
	int r = loop_setup(c);

	if (r < 0)
		return failure_errno(f, r, "setting up the event loop");
	r = metrics_setup(c, f);
	if (r < 0)
		return r;
	start_control(c);
	r = mirror_setup(c);
	if (r < 0)
		return failure_errno(f, r, "listing the ports to mirror");
	labels_setup(c);	/* before the watcher reports */
	r = lifecycle_setup(c);
	if (r < 0)
		return failure_errno(f, r, "watching the containers");
	return 0;
}

/**
 * start() - everything between the command line and the loop
 * @c:		context, loop initialised
 * @as:		who the relay becomes
 * @f:		filled on failure: the exit status and the line
 *
 * Return: 0 once the ready lines are out, or a negative errno value
 */
static int start(struct ctx *c, const struct runas *as, struct failure *f)
{
	int r;

	if ((r = sourcemap_check(c->config, f)) < 0 || (r = setup_bridges(c, f)) < 0 ||
	    (r = setup_services(c, f)) < 0)
		return r;
	r = sourcemap_setup(c, f);
	if (r < 0)
		return r;
	r = portfile_write(c);
	if (r < 0)
		return failure_errno(f, r, "writing --port-file %s", c->config->port_file);
	c->port_file_written = c->config->port_file != NULL;
	r = command_start(c);
	if (r < 0)
		return failure_errno(f, r, "starting %s", c->config->command[0]);
	if (sdnotify_setup() < 0)	/* then libsystemd tries at each message */
		log_debug("connecting to $NOTIFY_SOCKET before the drop failed");
	r = drop_privileges(c, as, f);
	if (r < 0)
		return r;
	bridges_print_ready(c);
	sdnotify_ready(c);
	command_go(c);
	return 0;
}

/* The start's failure told and turned into its exit status; else the loop's */
static int run_ctx(struct ctx *c, const struct runas *as)
{
	struct failure f = FAILURE_INIT;

	if (start(c, as, &f) < 0)
		return exit_status_of(&f);
	return loop_run(c);
}

/* Who the relay becomes after set-up, and whether it can do its work as that user */
static int choose_user(const struct config *cfg, struct runas *ret, struct failure *f)
{
	int r = runas_resolve(cfg->user, ret, f);

	if (r < 0)
		return r;
	if (ret->switching && (!caps_have(CAP_SETUID) || !caps_have(CAP_SETGID)))
		return failure_set(f, EXIT_PRIVILEGE, -EPERM, "leaving uid 0 for user %s after "
				   "set-up needs CAP_SETUID and CAP_SETGID; grant them, or keep "
				   "uid 0 with --user root", ret->name);
	return runas_check_services(cfg, ret, f);
}

static int run(const struct config *cfg)
{
	struct failure f = FAILURE_INIT;
	struct runas as;
	struct ctx c;
	int r;

	if (choose_user(cfg, &as, &f) < 0)
		return exit_status_of(&f);
	loop_init(&c, cfg);
	raise_fd_limit();
	pipepool_init(PIPE_SIZE, PIPES_KEPT);
	pipepool_set_bulk(PIPE_BULK_SIZE, PIPES_BULK_MAX);
	r = run_ctx(&c, &as);
	loop_release(&c);
	if (c.port_file_written)
		unlink(cfg->port_file);	/* its ports are gone */
	if (c.sources_file)
		unlink(c.sources_file);	/* nor does any container dial from there */
	runas_keeper_finish(as.name);	/* what the relay, no longer root, cannot do itself */
	return r;
}

/* nsbridge ports, status, add and remove: 0, or -errno and @f */
static int subcommand(const struct config *cfg, struct failure *f)
{
	log_setup(cfg->verbosity, cfg->log_format);
	if (cfg->action == CLI_PORTS)
		return ports_run(cfg, control_client_serves, f);
	if (cfg->action == CLI_STATUS)
		return cfg->watch ? control_client_watch(cfg, f) : control_client_status(cfg, f);
	return control_client_change(cfg, f);
}

int main(int argc, char *argv[])
{
	struct failure f = FAILURE_INIT;
	struct config cfg;
	int r = EXIT_OK;

	if (cli_parse(argc, argv, &cfg, &f) < 0) {
		fprintf(stderr, "nsbridge: %s\n", f.line);
		return (int)f.status;
	}
	switch (cfg.action) {
	case CLI_HELP:
		cli_print_help();
		break;
	case CLI_VERSION:
		cli_print_version();
		break;
	case CLI_PORTS:
	case CLI_STATUS:
	case CLI_ADD:
	case CLI_REMOVE:
		if (subcommand(&cfg, &f) < 0)
			r = exit_status_of(&f);
		break;
	case CLI_RUN:
	case CLI_ACTION_MAX:
		log_setup(cfg.verbosity, cfg.log_format);
		reload_setup(&cfg, argc, argv);	/* SIGHUP parses them again */
		r = run(&cfg);
		break;
	}
	config_free(&cfg);
	return r;
}
