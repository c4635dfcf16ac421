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
#include "nsbridge/control_client.h"

#define PIPE_SIZE	(256 * 1024)
#define PIPES_KEPT	16

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

/* One line for a -c REF or --host-netns that could not be opened, and its exit status */
static int open_error(const char *what, const char *ref, int r, const char *why)
{
	bool explained = why && *why;

	switch (-r) {
	case ENOENT:
	case ESRCH:
		log_error("%s: %s", what, explained ? why : missing_text(ref));
		return EXIT_NO_CONTAINER;
	case EACCES:
	case EPERM:
		if (explained)
			log_error("%s: %s", what, why);
		else
			log_error("%s: opening it needs CAP_SYS_PTRACE; %s", what, caps_grant_hint());
		return EXIT_PRIVILEGE;
	case ENOTCONN:
		log_error("%s: %s", what, why);
		return EXIT_PRIVILEGE;
	case ENOTTY:
	case EINVAL:
	case ENOTUNIQ:
		log_error("%s: %s", what, explained ? why : "not a network namespace");
		return EXIT_USAGE;
	default:
		if (explained)
			log_error("%s: %s", what, why);
		else
			log_errno(LOG_LEVEL_ERROR, r, "%s", what);
		return EXIT_RUNTIME;
	}
}

static int open_sides(struct ctx *c)
{
	const struct config *cfg = c->config;
	char why[ENGINE_WHY_MAX];
	int r;

	mark_used_sides(c);
	r = side_open_host(&c->sides[SIDE_HOST], cfg->host_netns);
	if (r < 0)
		return open_error(cfg->host_netns ? cfg->host_netns : "own namespace",
				  cfg->host_netns ? cfg->host_netns : "self", r, NULL);
	for (size_t i = 0; i < cfg->n_containers; i++) {
		struct side_ns *s = &c->sides[SIDE_CONTAINER + i];

		if (!s->used)
			continue;
		r = side_open_container(s, cfg->containers[i], why, sizeof(why));
		if (r < 0)
			return open_error(s->label, cfg->containers[i], r, why);
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

static int start_opener(struct ctx *c)
{
	char why[ENGINE_WHY_MAX];
	int r;

	if (!sides_need_opener(c))
		return 0;
	r = sides_check_entry(c, why, sizeof(why));
	if (r == -EPERM) {
		log_error("%s", why);
		return EXIT_PRIVILEGE;
	}
	if (r < 0) {
		log_errno(LOG_LEVEL_ERROR, r, "finding who owns %s", remote_side_label(c));
		return EXIT_RUNTIME;
	}
	r = sides_start_opener(c);
	if (r < 0) {
		log_errno(LOG_LEVEL_ERROR, r, "starting the namespace opener");
		return EXIT_RUNTIME;
	}
	return 0;
}

static int bring_lo_up(struct ctx *c)
{
	for (int s = 0; s < SIDE_MAX; s++) {
		int r;

		if (!c->sides[s].used)
			continue;
		r = side_lo_up(c, (enum side)s);
		if (r == 1)
			log_info("brought lo up in %s", c->sides[s].label);
		if (r == -EPERM && !caps_have(CAP_NET_ADMIN)) {
			log_error("lo is down in %s, and bringing it up needs CAP_NET_ADMIN; %s",
				  c->sides[s].label, caps_grant_hint());
			return EXIT_PRIVILEGE;
		}
		if (r == -EPERM) {
			log_error("entering %s was refused: CAP_SYS_ADMIN is needed in the "
				  "user namespace that owns it", c->sides[s].label);
			return EXIT_PRIVILEGE;
		}
		if (r < 0) {
			log_errno(LOG_LEVEL_ERROR, r, "bringing lo up in %s", c->sides[s].label);
			return EXIT_RUNTIME;
		}
	}
	return 0;
}

/* Stock the socket pools of remote SERVICE sides before the drop */
static int prime_pools(struct ctx *c)
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
				return log_errno(LOG_LEVEL_ERROR, r, "making sockets in %s",
						 c->sides[svc->side].label), EXIT_RUNTIME;
		}
	}
	return 0;
}

/* uid 0 and capabilities, then every system call the loop does not make */
static int drop_privileges(struct ctx *c, const struct runas *as)
{
	/* whatever the user: the files go even after a kill -9 of the relay */
	int r = runas_keeper_start(c);

	if (r < 0) {
		log_errno(LOG_LEVEL_ERROR, r, "starting the process that keeps uid %u",
			  (unsigned)getuid());
		return EXIT_RUNTIME;
	}
	r = children_watch(c);
	if (r == -ENOSYS)	/* no pidfd_open (a kernel before 5.3, or valgrind 3.19) */
		log_warn("cannot watch the helper processes (pidfd_open: %s): a helper's death "
			 "is seen only when something asks it", strerror(-r));
	else if (r < 0) {
		log_errno(LOG_LEVEL_ERROR, r, "watching the helper processes");
		return EXIT_RUNTIME;
	}
	r = as->switching ? caps_drop_all_as(as->uid, as->gid) : caps_drop_all();
	if (r < 0 && as->switching) {
		log_errno(LOG_LEVEL_ERROR, r, "becoming user %s (uid %u, gid %u)", as->name,
			  (unsigned)as->uid, (unsigned)as->gid);
		return EXIT_RUNTIME;
	}
	if (r < 0) {
		log_errno(LOG_LEVEL_ERROR, r, "dropping capabilities");
		return EXIT_RUNTIME;
	}
	if (as->switching)
		log_info("the relay runs as %s (uid %u, gid %u) from now on", as->name,
			 (unsigned)as->uid, (unsigned)as->gid);
	r = sandbox_enter();
	if (r < 0) {
		log_errno(LOG_LEVEL_ERROR, r, "installing the system call filter");
		return EXIT_RUNTIME;
	}
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

static int run_ctx(struct ctx *c, const struct runas *as)
{
	int r;

	if ((r = open_sides(c)) || (r = selfloop_check(c)) || (r = start_opener(c)) ||
	    (r = bring_lo_up(c)) || (r = bridges_setup(c)) || (r = prime_pools(c)))
		return r;
	r = access_setup(c);
	if (r < 0)
		return log_errno(LOG_LEVEL_ERROR, r, "opening socket diagnostics for --allow-uid"),
		       EXIT_RUNTIME;
	r = loop_setup(c);
	if (r < 0)
		return log_errno(LOG_LEVEL_ERROR, r, "setting up the event loop"), EXIT_RUNTIME;
	r = metrics_setup(c);
	if (r)
		return r;
	start_control(c);
	r = mirror_setup(c);
	if (r < 0)
		return log_errno(LOG_LEVEL_ERROR, r, "listing the ports to mirror"), EXIT_RUNTIME;
	labels_setup(c);	/* before the watcher reports */
	r = lifecycle_setup(c);
	if (r < 0)
		return log_errno(LOG_LEVEL_ERROR, r, "watching the containers"), EXIT_RUNTIME;
	r = portfile_write(c);
	if (r < 0)
		return log_errno(LOG_LEVEL_ERROR, r, "writing --port-file %s", c->config->port_file),
		       EXIT_RUNTIME;
	c->port_file_written = c->config->port_file != NULL;
	r = command_start(c);
	if (r < 0)
		return log_errno(LOG_LEVEL_ERROR, r, "starting %s", c->config->command[0]),
		       EXIT_RUNTIME;
	if (sdnotify_setup() < 0)	/* then libsystemd tries at each message */
		log_debug("connecting to $NOTIFY_SOCKET before the drop failed");
	r = drop_privileges(c, as);
	if (r)
		return r;
	bridges_print_ready(c);
	sdnotify_ready(c);
	command_go(c);
	return loop_run(c);
}

/* Who the relay becomes after set-up, and whether it can do its work as that user */
static int choose_user(const struct config *cfg, struct runas *ret)
{
	char why[256];
	int r = runas_resolve(cfg->user, ret, why, sizeof(why));

	if (r < 0) {
		log_error("%s", why);
		return r == -EPERM ? EXIT_PRIVILEGE : EXIT_USAGE;
	}
	if (ret->switching && (!caps_have(CAP_SETUID) || !caps_have(CAP_SETGID))) {
		log_error("leaving uid 0 for user %s after set-up needs CAP_SETUID and CAP_SETGID; "
			  "grant them, or keep uid 0 with --user root", ret->name);
		return EXIT_PRIVILEGE;
	}
	r = runas_check_services(cfg, ret);	/* says what went wrong */
	if (r == -EACCES || r == -EPERM)
		return EXIT_PRIVILEGE;
	return r < 0 ? EXIT_RUNTIME : 0;
}

static int run(const struct config *cfg)
{
	struct runas as;
	struct ctx c;
	int r;

	r = choose_user(cfg, &as);
	if (r)
		return r;
	loop_init(&c, cfg);
	raise_fd_limit();
	pipepool_init(PIPE_SIZE, PIPES_KEPT);
	r = run_ctx(&c, &as);
	loop_release(&c);
	if (c.port_file_written)
		unlink(cfg->port_file);	/* its ports are gone */
	runas_keeper_finish(as.name);	/* what the relay, no longer root, cannot do itself */
	return r;
}

int main(int argc, char *argv[])
{
	char error[CLI_ERROR_MAX];
	struct config cfg;
	int r;

	if (cli_parse(argc, argv, &cfg, error, sizeof(error)) < 0) {
		fprintf(stderr, "nsbridge: %s\n", error);
		return EXIT_USAGE;
	}
	switch (cfg.action) {
	case CLI_HELP:
		cli_print_help();
		config_free(&cfg);
		return EXIT_OK;
	case CLI_VERSION:
		cli_print_version();
		config_free(&cfg);
		return EXIT_OK;
	case CLI_PORTS:
		log_setup(cfg.verbosity, cfg.log_format);
		r = ports_run(&cfg, control_client_serves);
		config_free(&cfg);
		return r;
	case CLI_STATUS:
		log_setup(cfg.verbosity, cfg.log_format);
		r = control_client_status(&cfg);
		config_free(&cfg);
		return r;
	case CLI_ADD:
	case CLI_REMOVE:
		log_setup(cfg.verbosity, cfg.log_format);
		r = control_client_change(&cfg);
		config_free(&cfg);
		return r;
	case CLI_RUN:
	case CLI_ACTION_MAX:
		break;
	}
	log_setup(cfg.verbosity, cfg.log_format);
	reload_setup(&cfg, argc, argv);	/* SIGHUP parses them again */
	r = run(&cfg);
	config_free(&cfg);
	return r;
}
