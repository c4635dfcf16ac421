/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_pair_container.c - which container each pair is for: -c REF scoping, a
 *		  single -c, NSBRIDGE_CONTAINER and a --config bridge's own
 *
 * Each row is a command line (and maybe a --config file and
 * NSBRIDGE_CONTAINER) and either the containers and sides cli_parse_text()
 * must give each pair, or words of the one-line refusal.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nsbridge/cli.h"

/* cli_parse(), its failure's line copied where the tests read it */
static int cli_parse_text(int argc, char *argv[], struct config *ret, char *error, size_t len)
{
	struct failure f = FAILURE_INIT;
	int r = cli_parse(argc, argv, ret, &f);

	snprintf(error, len, "%s", f.line);
	return r;
}

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_ARGS	20
#define MAX_BRIDGES	6
#define MAX_WORDS	3

#define H	SIDE_HOST
#define C0	SIDE_CONTAINER
#define C1	(SIDE_CONTAINER + 1)
#define C2	(SIDE_CONTAINER + 2)

/**
 * struct want_pair - one pair as cli_parse_text() must keep it
 * @service:	side of its SERVICE
 * @expose:	side of its EXPOSE
 */
struct want_pair {
	int service;
	int expose;
};

/**
 * struct pair_container_case - one command line and the containers of its pairs
 * @name:	test name
 * @argv:	arguments after argv[0], NULL-terminated
 * @env:	NSBRIDGE_CONTAINER, NULL for unset
 * @file:	text of a --config file, NULL for none
 * @error:	words of the refusal; none for success
 * @containers:	the side table's containers, in order
 * @pairs:	each pair's sides, in order (file first)
 * @n_pairs:	how many
 */
struct pair_container_case {
	const char *name;
	const char *argv[MAX_ARGS];
	const char *env;
	const char *file;
	const char *error[MAX_WORDS];
	const char *containers[CONTAINERS_MAX];
	struct want_pair pairs[MAX_BRIDGES];
	size_t n_pairs;
};

static const struct pair_container_case cases[] = {
	{
		.name = "each -c is for the pairs after it, up to the next",
		.argv = { "-c", "web", "host:5432", "container:5432", "-c", "api", "host:5432",
			  "container:5432", "container:9229", "host:9229", NULL },
		.containers = { "web", "api" },
		.pairs = { { H, C0 }, { H, C1 }, { C1, H } }, .n_pairs = 3,
	},
	{
		.name = "a single -c after every pair is for every pair",
		.argv = { "host:5432", "container:5432", "container:9229", "host:9229", "-c", "web",
			  NULL },
		.containers = { "web" },
		.pairs = { { H, C0 }, { C0, H } }, .n_pairs = 2,
	},
	{
		.name = "a single -c between pairs is for every pair",
		.argv = { "host:1", "container:1", "-c", "web", "host:2", "container:2", NULL },
		.containers = { "web" },
		.pairs = { { H, C0 }, { H, C0 } }, .n_pairs = 2,
	},
	{
		.name = "a single -c inside a pair is for it",
		.argv = { "host:1", "-c", "web", "container:1", NULL },
		.containers = { "web" },
		.pairs = { { H, C0 } }, .n_pairs = 1,
	},
	{
		.name = "NSBRIDGE_CONTAINER is for the pairs before the first -c",
		.argv = { "host:1", "container:1", "-c", "api", "host:2", "container:2", "-c", "db",
			  "host:3", "container:3", NULL },
		.env = "web",
		.containers = { "web", "api", "db" },
		.pairs = { { H, C0 }, { H, C1 }, { H, C2 } }, .n_pairs = 3,
	},
	{
		.name = "NSBRIDGE_CONTAINER and one -c: the -c wins for every pair, as before",
		.argv = { "host:1", "container:1", "-c", "api", "host:2", "container:2", NULL },
		.env = "web",
		.containers = { "api" },
		.pairs = { { H, C0 }, { H, C0 } }, .n_pairs = 2,
	},
	{
		.name = "a pair before the first of two -c needs a container",
		.argv = { "host:1", "container:1", "-c", "api", "host:2", "container:2", "-c", "db",
			  "host:3", "container:3", NULL },
		.error = { "'container:1'", "--container", "NSBRIDGE_CONTAINER" },
	},
	{
		.name = "two -c naming the same container are one side",
		.argv = { "-c", "web", "host:1", "container:1", "-c", "api", "host:2", "container:2",
			  "-c", "web", "container:3", "host:3", NULL },
		.containers = { "web", "api" },
		.pairs = { { H, C0 }, { H, C1 }, { C0, H } }, .n_pairs = 3,
	},
	{
		.name = "a -c between SERVICE and EXPOSE is refused once -c scopes",
		.argv = { "-c", "web", "host:1", "container:1", "host:2", "-c", "api", "container:2",
			  NULL },
		.error = { "'-c api'", "between SERVICE 'host:2'", "EXPOSE 'container:2'" },
	},
	{
		.name = "--container=REF, -cREF and -vc REF forms scope too",
		.argv = { "--container=web", "host:1", "container:1", "-capi", "host:2",
			  "container:2", "-vc", "db", "host:3", "container:3", NULL },
		.containers = { "web", "api", "db" },
		.pairs = { { H, C0 }, { H, C1 }, { H, C2 } }, .n_pairs = 3,
	},
	{
		.name = "values of other options are not pairs",
		.argv = { "-c", "web", "--connect-timeout", "5s", "host:1", "container:1", "-c", "api",
			  "--port-file", "/tmp/ports", "host:2", "container:2", NULL },
		.containers = { "web", "api" },
		.pairs = { { H, C0 }, { H, C1 } }, .n_pairs = 2,
	},
	{
		.name = "a host-to-host pair takes no container side",
		.argv = { "-c", "web", "host:1", "host:2", "-c", "api", "host:3", "container:3", NULL },
		.containers = { "api" },
		.pairs = { { H, H }, { H, C0 } }, .n_pairs = 2,
	},
	{
		.name = "one EXPOSE port in two containers does not overlap",
		.argv = { "-c", "web", "host:1", "container:80", "-c", "api", "host:2",
			  "container:80", NULL },
		.containers = { "web", "api" },
		.pairs = { { H, C0 }, { H, C1 } }, .n_pairs = 2,
	},
	{
		.name = "one EXPOSE port twice in one container overlaps",
		.argv = { "-c", "web", "host:1", "container:80", "-c", "web", "host:2",
			  "container:80", NULL },
		.error = { "EXPOSE 'container:80' overlaps" },
	},
	{
		.name = "--mirror with two containers is refused",
		.argv = { "-c", "web", "-c", "api", "--mirror", "host", "container", NULL },
		.error = { "--mirror follows one container", "-c REF once" },
	},
	{
		.name = "--mirror with the same container twice is one container",
		.argv = { "-c", "web", "--mirror", "-c", "web", "host", "container", NULL },
		.containers = { "web" },
		.pairs = { { H, C0 } }, .n_pairs = 1,
	},
	{
		.name = "a --config bridge names its container",
		.argv = { NULL },
		.file = "container = \"web\";\n"
			"bridges = ( { service = \"host:1\"; expose = \"container:1\"; },\n"
			"  { service = \"host:2\"; expose = \"container:2\"; container = \"api\"; } );\n",
		.containers = { "web", "api" },
		.pairs = { { H, C0 }, { H, C1 } }, .n_pairs = 2,
	},
	{
		.name = "a single -c wins over the file's container, not a bridge's own",
		.argv = { "-c", "db", "host:3", "container:3", NULL },
		.file = "container = \"web\";\n"
			"bridges = ( { service = \"host:1\"; expose = \"container:1\"; },\n"
			"  { service = \"host:2\"; expose = \"container:2\"; container = \"api\"; } );\n",
		.containers = { "db", "api" },
		.pairs = { { H, C0 }, { H, C1 }, { H, C0 } }, .n_pairs = 3,
	},
	{
		.name = "with two -c, the file's bridges keep the file's container",
		.argv = { "-c", "x", "host:3", "container:3", "-c", "y", "host:4", "container:4",
			  NULL },
		.file = "container = \"web\";\n"
			"bridges = ( { service = \"host:1\"; expose = \"container:1\"; },\n"
			"  { service = \"host:2\"; expose = \"container:2\"; container = \"api\"; } );\n",
		.containers = { "web", "api", "x", "y" },
		.pairs = { { H, C0 }, { H, C1 }, { H, C2 }, { H, C2 + 1 } }, .n_pairs = 4,
	},
	{
		.name = "a --config bridge's container may not be empty",
		.argv = { NULL },
		.file = "bridges = ( { service = \"host:1\"; expose = \"container:1\"; "
			"container = \"\"; } );\n",
		.error = { ":1:", "container", "expected a REF" },
	},
	{
		.name = "a --config bridge takes service, expose, container, source, proxy-protocol",
		.argv = { NULL },
		.file = "bridges = ( { service = \"host:1\"; expose = \"container:1\"; "
			"pod = \"web\"; } );\n",
		.error = { ":1:", "expected only service, expose, container, source and "
			   "proxy-protocol" },
	},
	{
		.name = "a --config bridge's proxy-protocol is true or false",
		.argv = { NULL },
		.file = "bridges = ( { service = \"host:1\"; expose = \"container:1\"; "
			"container = \"web\"; proxy-protocol = \"yes\"; } );\n",
		.error = { ":1:", "proxy-protocol: expected true or false" },
	},
};

static void assert_words(const char *line, const char *const words[MAX_WORDS])
{
	for (size_t i = 0; i < MAX_WORDS && words[i]; i++)
		if (!strstr(line, words[i]))
			fail_msg("error \"%s\" lacks \"%s\"", line, words[i]);
}

static void assert_scope(const struct config *cfg, const struct pair_container_case *c)
{
	size_t n = 0;

	while (n < CONTAINERS_MAX && c->containers[n])
		n++;
	assert_int_equal(cfg->n_containers, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(cfg->containers[i], c->containers[i]);
	assert_int_equal(cfg->n_bridges, c->n_pairs);
	for (size_t i = 0; i < c->n_pairs; i++) {
		assert_int_equal(cfg->bridges[i].service.side, c->pairs[i].service);
		assert_int_equal(cfg->bridges[i].services[0].side, c->pairs[i].service);
		assert_int_equal(cfg->bridges[i].expose.side, c->pairs[i].expose);
	}
}

/* The --config file of a row, in a file of its own */
static char *write_file(const char *text)
{
	char *path = strdup("/tmp/nsbridge-scope.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_scope(void **state)
{
	const struct pair_container_case *c = *state;
	char *argv[MAX_ARGS + 4], *path = NULL;
	char error[CLI_ERROR_MAX] = "";
	struct config cfg;
	int argc = 0, r;

	argv[argc++] = strdup("nsbridge");
	if (c->file) {
		path = write_file(c->file);
		argv[argc++] = strdup("--config");
		argv[argc++] = strdup(path);
	}
	for (size_t i = 0; i < MAX_ARGS && c->argv[i]; i++)
		argv[argc++] = strdup(c->argv[i]);
	argv[argc] = NULL;
	if (c->env)
		assert_int_equal(setenv("NSBRIDGE_CONTAINER", c->env, 1), 0);
	r = cli_parse_text(argc, argv, &cfg, error, sizeof(error));
	unsetenv("NSBRIDGE_CONTAINER");
	if (c->error[0]) {
		if (r != -EINVAL)
			fail_msg("%d, expected -EINVAL and \"%s\"", r, c->error[0]);
		assert_words(error, c->error);
	} else {
		if (r != 0)
			fail_msg("%d: %s", r, error);
		assert_scope(&cfg, c);
		config_free(&cfg);
	}
	if (path)
		unlink(path);
	free(path);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
}

/* -c ct0 host:5432 container:5432 -c ct1 ... for @n containers; returns argc */
static int many_containers(char **argv, char refs[][16], int n)
{
	int argc = 0;

	argv[argc++] = "nsbridge";
	for (int i = 0; i < n; i++) {
		snprintf(refs[i], 16, "ct%d", i);
		argv[argc++] = "-c";
		argv[argc++] = refs[i];
		argv[argc++] = "host:5432";
		argv[argc++] = "container:5432";
	}
	argv[argc] = NULL;
	return argc;
}

/* One container more than a process serves: refused, naming the limit */
static void test_too_many(void **state)
{
	char *argv[1 + 4 * (CONTAINERS_MAX + 1) + 1], error[CLI_ERROR_MAX] = "";
	char refs[CONTAINERS_MAX + 1][16];
	struct config cfg;
	int argc;

	(void)state;
	argc = many_containers(argv, refs, CONTAINERS_MAX + 1);
	assert_int_equal(cli_parse_text(argc, argv, &cfg, error, sizeof(error)), -EINVAL);
	assert_words(error, (const char *const[MAX_WORDS]){ "'ct16'", "at most 16 containers" });
	argc = many_containers(argv, refs, CONTAINERS_MAX);	/* getopt permuted argv */
	if (cli_parse_text(argc, argv, &cfg, error, sizeof(error)) != 0)
		fail_msg("%s", error);
	assert_int_equal(cfg.n_containers, CONTAINERS_MAX);
	assert_int_equal(cfg.bridges[CONTAINERS_MAX - 1].expose.side,
			 SIDE_CONTAINER + CONTAINERS_MAX - 1);
	config_free(&cfg);
}

int main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(cases) + 1];

	unsetenv("NSBRIDGE_CONTAINER");
	unsetenv("NSBRIDGE_CONFIG");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		tests[i] = (struct CMUnitTest){
			.name = cases[i].name, .test_func = test_scope,
			.initial_state = (void *)&cases[i],
		};
	tests[ARRAY_SIZE(cases)] = (struct CMUnitTest)cmocka_unit_test(test_too_many);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
