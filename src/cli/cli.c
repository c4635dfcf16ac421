/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.c - command line, NSBRIDGE_* environment and --config into a struct config
 *
 * No side effects: cli_parse() reads argv, the environment and the
 * --config file and fills a struct config, or returns -EINVAL with one
 * line for the user.
 *
 * Theory of operation
 *
 * The options are the rows of one table (options.c), which the command
 * line, the environment and the file all apply through the same
 * function. The file is applied first, then the environment, then the
 * command line, so each wins over the one before. A malformed variable is
 * an error only when the command line does not give that option: what
 * the command line overrides does not matter.
 *
 * Before any of that, argv is read for what the layers need first:
 * "-- CMD" is cut off for getopt_long() never to see (split_command()),
 * the -c REF in force at each pair is noted before getopt_long() permutes
 * argv (pair_container.c), and the --config file is found (find_config_file(): the
 * command line's, else NSBRIDGE_CONFIG). What is left after the options
 * is a subcommand or the bridges (pairs.c).
 */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "nsbridge/cli.h"
#include "nsbridge/conffile.h"

#include "cli_internal.h"

/*
 * The settings of a --config file, through the setter the command line
 * uses. Only rows with CLI_FROM_FILE have a key: not help, version, json,
 * no-follow, nor config itself.
 */
static int apply_file_options(struct config *cfg, struct failure *f)
{
	char want[OPTION_EXPECTED_MAX];
	size_t n;
	const struct conffile_entry *e = conffile_options(cfg->file, &n);

	for (size_t i = 0; i < n; i++, e++) {
		const struct cli_option *o = option_by_name(e->name);

		if (!o || !(o->from & CLI_FROM_FILE))
			return cli_fail(f, "%s:%d: unknown setting '%s': expected an "
					"option of nsbridge --help without its dashes, or bridges",
					cfg->config_file, e->line, e->name);
		if ((option_takes_value(o) && e->is_bool) || option_apply(cfg, o, e->value) < 0)
			return cli_fail(f, "%s:%d: %s = %s: expected %s",
					cfg->config_file, e->line, e->name, e->value,
					option_takes_value(o) && e->is_bool ?
					"a value, not true or false" :
					option_expected(o, want, sizeof(want)));
	}
	return 0;
}

/* --config FILE, else NSBRIDGE_CONFIG: found before anything is applied */
static int find_config_file(int argc, char *argv[], const char **ret, struct failure *f)
{
	struct config scratch = { .action = CLI_RUN };
	const char *env = option_getenv(option_by_name("config"));
	uint64_t given = 0;

	if (options_apply_command_line(argc, argv, &scratch, &given, f) < 0)
		return -EINVAL;
	*ret = scratch.config_file ? scratch.config_file : env && *env ? env : NULL;
	return 0;
}

static int read_config_file(struct config *cfg, const char *path, struct failure *f)
{
	int r;

	cfg->config_file = path;
	r = conffile_read(path, &cfg->file, f);
	if (r == -ENOMEM)
		return cli_fail(f, "out of memory");
	return r < 0 ? r : apply_file_options(cfg, f);
}

/* --allow-uid checks clients of an EXPOSE on the host: some bridge needs one,
 * or a label may ask for one (it applies to labelled bridges too) */
static int check_allow_uid(const struct config *cfg, struct failure *f)
{
	if (!cfg->n_allow_uids || cfg->labels)
		return 0;
	for (size_t i = 0; i < cfg->n_bridges; i++)
		if (cfg->bridges[i].expose.side == SIDE_HOST)
			return 0;
	return cli_fail(f, "--allow-uid checks the clients of an EXPOSE on the host, "
			"and no bridge exposes there");
}

/* --metrics serves what is going on to whoever reaches it: loopback unless asked */
static int check_metrics(const struct config *cfg, struct failure *f)
{
	if (cfg->has_metrics && !cfg->allow_nonlocal && !endpoint_addr_is_loopback(&cfg->metrics))
		return cli_fail(f, "--metrics '%s': not a loopback address; "
				"--allow-nonlocal serves metrics beyond this machine",
				cfg->metrics_text);
	return 0;
}

/* --labels-sources gives labelled containers their addresses: no use without --labels */
static int check_labels_sources(const struct config *cfg, struct failure *f)
{
	if (cfg->labels_sources.prefix && !cfg->labels)
		return cli_fail(f, "--labels-sources gives each container of --labels an "
				"address; without --labels, give one with -c REF --source ADDR");
	return 0;
}

/* nsbridge add [PID|PATH] SERVICE EXPOSE, nsbridge remove [PID|PATH] EXPOSE */
static int parse_change(int argc, char *argv[], struct config *cfg, struct failure *f)
{
	int want = cfg->action == CLI_ADD ? 2 : 1;

	if (argc - 1 < want || argc - 1 > want + 1)
		return cli_fail(f, cfg->action == CLI_ADD ?
				"nsbridge add takes [PID|PATH] SERVICE EXPOSE" :
				"nsbridge remove takes [PID|PATH] EXPOSE");
	cfg->status_of = argc - 1 > want ? argv[1] : NULL;
	for (int i = 0; i < want; i++)
		cfg->change[i] = argv[argc - want + i];
	return 0;
}

/* Whether @arg is an INTERVAL of --watch: a duration with its unit ("2s"),
 * as a number alone is a PID */
static bool is_interval(const char *arg, unsigned *ret_ms)
{
	size_t n = strlen(arg);

	return n && (arg[n - 1] < '0' || arg[n - 1] > '9') && cli_parse_duration(arg, ret_ms) == 0;
}

/* nsbridge status [--json | --watch [INTERVAL]] [PID|PATH] */
static int parse_status(int argc, char *argv[], struct config *cfg, struct failure *f)
{
	int i = 1;

	if (cfg->watch && cfg->json)
		return cli_fail(f, "--watch and --json: nsbridge status takes one or the other");
	if (cfg->watch && i < argc && is_interval(argv[i], &cfg->watch_ms))
		i++;
	if (i < argc)
		cfg->status_of = argv[i++];
	if (cfg->watch && i < argc && is_interval(argv[i], &cfg->watch_ms))
		i++;
	if (cfg->watch && !cfg->watch_ms)
		return cli_fail(f, "--watch needs an INTERVAL above 0");
	if (i < argc)
		return cli_fail(f, cfg->watch ? "'%s': nsbridge status --watch takes an INTERVAL "
				"with its unit (2s, 500ms) and at most one PID or socket path" :
				"'%s': nsbridge status takes at most one PID or socket path, "
				"and --json or --watch", argv[i]);
	return 0;
}

/* nsbridge ports, status [PID|PATH], add, remove: no bridges of its own */
static int parse_subcommand(int argc, char *argv[], struct config *cfg, struct failure *f)
{
	if (strcmp(argv[0], "ports") == 0) {
		cfg->action = CLI_PORTS;
		if (argc > 1)
			return cli_fail(f, "'%s': nsbridge ports takes no arguments, "
					"only -c REF and --json", argv[1]);
	} else if (strcmp(argv[0], "status") == 0) {
		cfg->action = CLI_STATUS;
		return parse_status(argc, argv, cfg, f);
	} else if (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "remove") == 0) {
		cfg->action = argv[0][0] == 'a' ? CLI_ADD : CLI_REMOVE;
		return parse_change(argc, argv, cfg, f);
	}
	return 0;
}

/*
 * "nsbridge ... -- CMD ARGS": everything after the first "--" that is not
 * an option's value is the command, for getopt never to see. Returns the
 * argument count before it.
 */
static int split_command(int argc, char *argv[], struct config *cfg)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			cfg->command = argv + i + 1;
			cfg->n_command = (size_t)(argc - i - 1);
			return i;
		}
		if (option_takes_next(argv[i]))
			i++;
	}
	return argc;
}

/*
 * The file, then the environment, then the command line: each wins over
 * the one before. Then what the command line says to do with them.
 */
static int parse_layers(int argc, char *argv[], const char *path, struct config *cfg,
			struct failure *f)
{
	uint64_t env_bad, given = 0;

	if (path && read_config_file(cfg, path, f) < 0)
		return -EINVAL;
	options_apply_environment(cfg, &env_bad);
	cfg->container_default = cfg->container;	/* before -c: for unscoped pairs */
	if (options_apply_command_line(argc, argv, cfg, &given, f) < 0 ||
	    options_check_environment(env_bad, given, f) < 0)
		return -EINVAL;
	if (cfg->action == CLI_RUN && optind < argc &&
	    parse_subcommand(argc - optind, argv + optind, cfg, f) < 0)
		return -EINVAL;
	if (cfg->action == CLI_RUN && cfg->json)
		return cli_fail(f, "--json goes with nsbridge ports or nsbridge status");
	if (cfg->watch && cfg->action != CLI_STATUS)
		return cli_fail(f, "--watch goes with nsbridge status");
	if (cfg->command && (cfg->action != CLI_RUN || !cfg->n_command))
		return cli_fail(f, cfg->n_command ?
				"'-- CMD' goes with bridges, not with a subcommand" :
				"'--' must be followed by a command to run");
	if (cfg->action != CLI_RUN)
		return 0;
	if (pairs_parse(cfg, argc - optind, argv + optind, f) < 0 ||
	    sources_resolve(cfg, f) < 0 || check_labels_sources(cfg, f) < 0 ||
	    check_allow_uid(cfg, f) < 0 || check_metrics(cfg, f) < 0)
		return -EINVAL;
	return 0;
}

/**
 * cli_parse() - read the environment and the command line
 * @argc:	argument count
 * @argv:	arguments; the config points into them, so they must outlive it
 * @ret:	the configuration; on success free it with config_free()
 * @f:		on failure, one line for the user, without the "nsbridge: "
 *		prefix, at most CLI_ERROR_MAX - 1 characters, and exit status 2
 *
 * Return: 0, or -EINVAL with @f set and nothing to free
 */
int cli_parse(int argc, char *argv[], struct config *ret, struct failure *f)
{
	struct config cfg = {
		.action = CLI_RUN,
		.max_connections = CLI_DEFAULT_MAX_CONNECTIONS,
		.connect_timeout_ms = CLI_DEFAULT_CONNECT_TIMEOUT_MS,
		.drain_timeout_ms = CLI_DEFAULT_DRAIN_TIMEOUT_MS,
		.udp_timeout_ms = CLI_DEFAULT_UDP_TIMEOUT_MS,
		.max_udp_flows = CLI_DEFAULT_MAX_UDP_FLOWS,
		.follow = FOLLOW_DEFAULT,
		.log_format = LOG_FORMAT_TEXT,
		.labels_prefix = CLI_DEFAULT_LABELS_PREFIX,
		.watch_ms = CLI_DEFAULT_WATCH_MS,
		.labels_min_port = CLI_DEFAULT_LABELS_MIN_PORT,
	};
	const char *path;
	int r;

	argc = split_command(argc, argv, &cfg);
	if (pair_container_scan(argc, argv, &cfg) < 0)
		return cli_fail(f, "out of memory");
	if (find_config_file(argc, argv, &path, f) < 0) {
		config_free(&cfg);
		f->line[CLI_ERROR_MAX - 1] = '\0';
		return -EINVAL;
	}
	r = parse_layers(argc, argv, path, &cfg, f);
	if (r < 0) {
		config_free(&cfg);
		f->line[CLI_ERROR_MAX - 1] = '\0';	/* as long as the lines ever were */
		return r;
	}
	*ret = cfg;
	return 0;
}

/**
 * config_mirror_excludes() - whether --mirror-exclude names a port
 * @config:	the configuration
 * @port:	the port
 *
 * Return: true if --mirror must leave it alone
 */
bool config_mirror_excludes(const struct config *config, uint16_t port)
{
	for (size_t i = 0; i < config->n_mirror_exclude; i++)
		if (port >= config->mirror_exclude[i].first && port <= config->mirror_exclude[i].last)
			return true;
	return false;
}

/**
 * config_allows_uid() - whether --allow-uid lets a user connect
 * @config:	the configuration
 * @uid:	owner of the client's socket
 *
 * Return: true without --allow-uid, or if it names @uid
 */
bool config_allows_uid(const struct config *config, uint32_t uid)
{
	if (!config->n_allow_uids)
		return true;
	for (size_t i = 0; i < config->n_allow_uids; i++)
		if (config->allow_uids[i] == uid)
			return true;
	return false;
}

/**
 * config_free() - release what cli_parse() allocated
 * @config:	the configuration
 */
void config_free(struct config *config)
{
	conffile_free(config->file);
	config->file = NULL;
	free(config->bridges);
	config->bridges = NULL;
	config->n_bridges = 0;
	free(config->arg_containers);
	config->arg_containers = NULL;
}
