/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pair_container.c - which container each pair is for, and that container's side
 *
 * Theory of operation
 *
 * The grammar of endpoint.c only says "container". -c REF scopes the
 * pairs after it, up to the next -c: "-c web A B -c api C D". Which -c
 * comes before which pair is only in the order of argv, which
 * getopt_long() permutes, so pair_container_scan() reads argv first: for
 * each argument that is not an option, the REF in force there. A single
 * -c keeps its old meaning, every pair wherever it stands: no scope is
 * kept then. A bridge of the --config file may name its own container.
 *
 * Each container a pair uses becomes a side: SIDE_CONTAINER + its rank in
 * struct config's containers, given the first time its REF is seen, so
 * two -c naming the same REF are one side (side.c opens them).
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "nsbridge/cli.h"
#include "nsbridge/conffile.h"

#include "cli_internal.h"

static bool same_ref(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The value of a -c in @arg ("-cweb", "--container=web"), "" when it is the next argument */
static const char *container_option(const char *arg)
{
	static const char name[] = "--container";

	if (strncmp(arg, name, sizeof(name) - 1) == 0) {
		const char *rest = arg + sizeof(name) - 1;

		return *rest == '=' ? rest + 1 : *rest ? NULL : "";
	}
	if (arg[0] != '-' || arg[1] == '\0' || arg[1] == '-')
		return NULL;
	for (const char *c = arg + 1; *c; c++) {	/* the first that takes a value takes the rest */
		const struct cli_option *o = option_by_val(*c);

		if (o && option_takes_value(o))
			return strcmp(o->name, "container") == 0 ? c + 1 : NULL;
	}
	return NULL;
}

/**
 * pair_container_scan() - the -c REF in force at each argument that is not an option
 * @argc:	argument count, before "-- CMD"
 * @argv:	arguments, in the order the user gave them
 * @cfg:	gets @arg_containers, NULL unless -c was given twice or more,
 *		and @dash_c_differ
 *
 * Return: 0, or -ENOMEM
 */
int pair_container_scan(int argc, char *argv[], struct config *cfg)
{
	const char **refs = calloc((size_t)argc + 1, sizeof(*refs));
	const char *ref = NULL;
	unsigned n_dash_c = 0;
	size_t n = 0;

	if (!refs)
		return -ENOMEM;
	for (int i = 1; i < argc; i++) {
		const char *value = container_option(argv[i]);

		if (value) {
			const char *prev = ref;

			ref = *value ? value : i + 1 < argc ? argv[++i] : NULL;
			cfg->dash_c_differ |= n_dash_c++ && !same_ref(prev, ref);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			i += option_takes_next(argv[i]);
		} else {
			refs[n++] = ref;
		}
	}
	if (n_dash_c < 2) {
		free(refs);
		refs = NULL;
	}
	cfg->arg_containers = refs;
	return 0;
}

/**
 * pair_container_ref() - which container a pair is for
 * @cfg:	the configuration, with the file read and pair_container_scan() done
 * @pair:	its rank among the file's pairs and then the command line's
 * @ret_split:	the REF of a -c that falls inside the pair, else NULL
 *
 * A file's bridge may name its own; on the command line, the -c before
 * it when -c scopes pairs (given twice or more), else the one container
 * -c, NSBRIDGE_CONTAINER or the file names, as before scoping existed.
 *
 * Return: the REF, or NULL when none is named
 */
const char *pair_container_ref(const struct config *cfg, size_t pair, const char **ret_split)
{
	size_t n_file = 0;
	const struct conffile_entry *e = cfg->file ? conffile_bridges(cfg->file, &n_file) : NULL;
	const char *fallback = cfg->arg_containers ? cfg->container_default : cfg->container;
	size_t k;

	*ret_split = NULL;
	if (pair < n_file)
		return e[pair].container ? e[pair].container : fallback;
	if (!cfg->arg_containers)
		return fallback;
	k = 2 * (pair - n_file);
	if (!same_ref(cfg->arg_containers[k], cfg->arg_containers[k + 1]))
		*ret_split = cfg->arg_containers[k + 1];
	return cfg->arg_containers[k] ? cfg->arg_containers[k] : fallback;
}

/**
 * pair_container_place() - give a bridge's "container" endpoints the side of its container
 * @cfg:	the configuration; its @containers gain the REF the first time
 *		it is seen
 * @b:		the bridge, its @container set
 * @f:		on failure, one line and exit status 2
 *
 * Return: 0, or -EINVAL past CONTAINERS_MAX containers
 */
int pair_container_place(struct config *cfg, struct bridge_spec *b, struct failure *f)
{
	size_t i;

	if (!bridge_spec_uses_side(b, SIDE_CONTAINER))
		return 0;
	for (i = 0; i < cfg->n_containers; i++)
		if (strcmp(cfg->containers[i], b->container) == 0)
			break;
	if (i == CONTAINERS_MAX)
		return cli_fail(f, "-c '%s': one nsbridge serves at most %d containers",
				b->container, CONTAINERS_MAX);
	if (i == cfg->n_containers)
		cfg->containers[cfg->n_containers++] = b->container;
	if (b->expose.side == SIDE_CONTAINER)
		b->expose.side = (enum side)(SIDE_CONTAINER + i);
	for (unsigned k = 0; k < b->n_services; k++)
		if (b->services[k].kind == ENDPOINT_INET && b->services[k].side == SIDE_CONTAINER)
			b->services[k].side = (enum side)(SIDE_CONTAINER + i);
	b->service = b->services[0];
	return 0;
}
