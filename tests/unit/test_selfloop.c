/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_selfloop.c - table-driven tests of the refusal of a bridge onto itself
 *
 * Two tables. The first asks selfloop_reaches() whether a SERVICE could
 * arrive at an EXPOSE's listener, for the address rules of dial.c, udp.c
 * and listener.c (the fallback to [::1], wildcards, v4-mapped addresses,
 * ranges). The second parses a whole command line with cli_parse_text(), as
 * nsbridge does, and asks selfloop_find() and selfloop_describe() for the
 * bridge or pair of bridges that would relay to itself and the line that
 * says so.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nsbridge/cli.h"
#include "nsbridge/selfloop.h"

/* cli_parse(), its failure's line copied where the tests read it */
static int cli_parse_text(int argc, char *argv[], struct config *ret, char *error, size_t len)
{
	struct failure f = FAILURE_INIT;
	int r = cli_parse(argc, argv, ret, &f);

	snprintf(error, len, "%s", f.line);
	return r;
}

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define ARGS_MAX	16

/**
 * struct reach_case - selfloop_reaches() of one SERVICE and one EXPOSE
 * @name:	test name
 * @service:	the SERVICE as written
 * @expose:	the EXPOSE as written
 * @sides_same:	host and container are one namespace
 * @reaches:	connecting to @service could arrive at @expose's listener
 */
struct reach_case {
	const char *name;
	const char *service;
	const char *expose;
	bool sides_same;
	bool reaches;
};

static const struct reach_case reach_cases[] = {
	{ "reach: one namespace, same port", "host:80", "container:80", true, true },
	{ "reach: two namespaces do not", "host:80", "container:80", false, false },
	{ "reach: one side is always one namespace", "host:80", "host:80", false, true },
	{ "reach: other port does not", "host:80", "container:81", true, false },
	{ "reach: ranges that cross", "host:80-90", "container:85-95", true, true },
	{ "reach: adjacent ranges do not", "host:80-90", "container:91-95", true, false },
	{ "reach: no address falls back to [::1]", "host:80", "container:[::1]:80", true, true },
	{ "reach: explicit 127.0.0.1 has no fallback",
	  "host:127.0.0.1:80", "container:[::1]:80", true, false },
	{ "reach: UDP without address is 127.0.0.1 only",
	  "host:80/udp", "container:[::1]:80/udp", true, false },
	{ "reach: UDP without address", "host:80/udp", "container:80/udp", true, true },
	{ "reach: tcp and udp do not", "host:80/udp", "container:80", true, false },
	{ "reach: IPv4 wildcard EXPOSE catches 127.0.0.1",
	  "host:127.0.0.1:80", "container:0.0.0.0:80", true, true },
	{ "reach: IPv4 wildcard EXPOSE catches 127.0.0.2",
	  "host:127.0.0.2:80", "container:0.0.0.0:80", true, true },
	{ "reach: 127.0.0.2 misses EXPOSE without address",
	  "host:127.0.0.2:80", "container:80", true, false },
	{ "reach: SERVICE 0.0.0.0 arrives at 127.0.0.1",
	  "host:0.0.0.0:80", "container:127.0.0.1:80", true, true },
	{ "reach: SERVICE 0.0.0.0 misses 127.0.0.2",
	  "host:0.0.0.0:80", "container:127.0.0.2:80", true, false },
	{ "reach: SERVICE [::] arrives at [::1]", "host:[::]:80", "container:[::1]:80", true, true },
	{ "reach: v4-mapped SERVICE is IPv4",
	  "host:[::ffff:127.0.0.1]:80", "container:127.0.0.1:80", true, true },
	{ "reach: v4-mapped SERVICE is not [::1]",
	  "host:[::ffff:127.0.0.1]:80", "container:[::1]:80", true, false },
	{ "reach: IPv6 wildcard EXPOSE catches [::1]",
	  "host:[::1]:80", "container:[::]:80", true, true },
	{ "reach: IPv6 wildcard EXPOSE is IPv6 only",
	  "host:127.0.0.1:80", "container:[::]:80", true, false },
	{ "reach: a free port EXPOSE does not", "host:80", "container:0", true, false },
	{ "reach: a unix SERVICE never", "unix:/run/x.sock", "container:80", true, false },
};

static struct endpoint parse_good(const char *text)
{
	struct endpoint ep;
	const char *why = NULL;

	if (endpoint_parse(text, &ep, &why) < 0)
		fail_msg("'%s' does not parse: %s", text, why);
	return ep;
}

static void test_reach(void **state)
{
	const struct reach_case *c = *state;
	struct endpoint svc = parse_good(c->service), exp = parse_good(c->expose);

	assert_int_equal(selfloop_reaches(&svc, &exp, c->sides_same), c->reaches);
}

/**
 * struct find_case - selfloop_find() and selfloop_describe() of a command
 *		      line
 * @name:	test name
 * @args:	nsbridge's arguments, separated by spaces
 * @sides_same:	host and container are one namespace
 * @line:	the line that refuses it, NULL if nothing is refused
 */
struct find_case {
	const char *name;
	const char *args;
	bool sides_same;
	const char *line;
};

static const struct find_case find_cases[] = {
	{ "find: -c self onto itself", "-c self host:62893 container:62893", true,
	  "SERVICE host:62893 is the same socket as EXPOSE container:62893 (container self is "
	  "the same network namespace as host): the bridge would relay to itself" },
	{ "find: the same bridge between two namespaces", "-c self host:62893 container:62893",
	  false, NULL },
	{ "find: the reverse direction", "-c self container:5432 host:5432", true,
	  "SERVICE container:5432 is the same socket as EXPOSE host:5432 (container self is "
	  "the same network namespace as host): the bridge would relay to itself" },
	{ "find: ranges overlapping in part", "-c self host:8000-8009 container:8005-8014", true,
	  "SERVICE host:8000-8009 is the same socket as EXPOSE container:8005-8014 (container "
	  "self is the same network namespace as host): the bridge would relay to itself" },
	{ "find: the second of several SERVICEs", "-c self host:8081,host:8082 container:8082",
	  true, "SERVICE host:8082 is the same socket as EXPOSE container:8082 (container self "
	  "is the same network namespace as host): the bridge would relay to itself" },
	{ "find: several SERVICEs elsewhere", "-c self host:8081,host:8082 container:8083",
	  true, NULL },
	{ "find: a wildcard EXPOSE", "-c self --allow-nonlocal host:80 container:0.0.0.0:80",
	  true, "SERVICE host:80 is the same socket as EXPOSE container:0.0.0.0:80 (container "
	  "self is the same network namespace as host): the bridge would relay to itself" },
	{ "find: UDP", "-c self host:53/udp container:53/udp", true,
	  "SERVICE host:53/udp is the same socket as EXPOSE container:53/udp (container self "
	  "is the same network namespace as host): the bridge would relay to itself" },
	{ "find: UDP to [::1] is another socket", "-c self host:53/udp container:[::1]:53/udp",
	  true, NULL },
	{ "find: --mirror onto itself", "-c self --mirror host container", true,
	  "--mirror host container: each mirrored port would be the same socket as its "
	  "listener (container self is the same network namespace as host)" },
	{ "find: --mirror between two namespaces", "-c self --mirror host container", false,
	  NULL },
	{ "find: two bridges into each other", "-c web host:9000 container:8000 "
	  "container:8000 host:9000", false,
	  "SERVICE host:9000 is the same socket as EXPOSE host:9000, and SERVICE container:8000 "
	  "as EXPOSE container:8000: the two bridges would relay to each other" },
	{ "find: two bridges into each other through one namespace", "-c self host:9000 "
	  "container:8000 host:8000 host:9000", true,
	  "SERVICE host:9000 is the same socket as EXPOSE host:9000, and SERVICE host:8000 as "
	  "EXPOSE container:8000 (container self is the same network namespace as host): the "
	  "two bridges would relay to each other" },
	{ "find: a chain of two bridges leaves", "-c web host:9000 container:8000 "
	  "host:8000 host:9000", false, NULL },
	{ "find: ranges that come back to themselves", "-c web host:1000-1010 "
	  "container:2000-2010 container:2005-2015 host:1005-1015", false,
	  "SERVICE host:1000-1010 is the same socket as EXPOSE host:1005-1015, and SERVICE "
	  "container:2005-2015 as EXPOSE container:2000-2010: the two bridges would relay to "
	  "each other" },
	{ "find: ranges shifted apart leave", "-c web host:1000-1010 container:2000-2010 "
	  "container:2005-2015 host:995-1005", false, NULL },
	{ "find: a unix SERVICE", "-c self unix:/run/x.sock container:80", true, NULL },
};

static void test_find(void **state)
{
	const struct find_case *c = *state;
	const char *const labels[SIDE_MAX] = { "host", "container self" };
	char copy[512], error[CLI_ERROR_MAX], line[1024];
	char *argv[ARGS_MAX] = { "nsbridge" };
	struct selfloop loop;
	struct config cfg;
	int argc = 1;

	snprintf(copy, sizeof(copy), "%s", c->args);
	for (char *w = strtok(copy, " "); w && argc < ARGS_MAX - 1; w = strtok(NULL, " "))
		argv[argc++] = w;
	if (cli_parse_text(argc, argv, &cfg, error, sizeof(error)) < 0)
		fail_msg("'%s' does not parse: %s", c->args, error);
	if (!c->line) {
		assert_false(selfloop_find(cfg.bridges, cfg.n_bridges, c->sides_same, &loop));
	} else {
		assert_true(selfloop_find(cfg.bridges, cfg.n_bridges, c->sides_same, &loop));
		selfloop_describe(&loop, labels, c->sides_same, line, sizeof(line));
		assert_string_equal(line, c->line);
	}
	config_free(&cfg);
}

#define N_TESTS	(ARRAY_SIZE(reach_cases) + ARRAY_SIZE(find_cases))

/* Turn each table row into one named test, so TAP reports rows one by one */
#define ADD_ROWS(tests, n, table, fn)						\
	do {									\
		for (size_t i_ = 0; i_ < ARRAY_SIZE(table); i_++)		\
			(tests)[(n)++] = (struct CMUnitTest){			\
				.name = (table)[i_].name,			\
				.test_func = (fn),				\
				.initial_state = (void *)&(table)[i_],		\
			};							\
	} while (0)

int main(void)
{
	static struct CMUnitTest tests[N_TESTS];
	size_t n = 0;

	ADD_ROWS(tests, n, reach_cases, test_reach);
	ADD_ROWS(tests, n, find_cases, test_find);
	return _cmocka_run_group_tests("selfloop", tests, n, NULL, NULL);
}
