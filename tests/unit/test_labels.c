// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * test_labels.c - the nsbridge.bridges label: labels_split() into pairs,
 * labels_spec() into bridges of the labelled container within the
 * operator's limits (--labels-allow-nonlocal, --labels-min-port);
 * labels_options() for PREFIX.options
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nsbridge/cli.h"
#include "nsbridge/labels.h"

/* The label functions, their failure's line copied where the tests read it */
static int split_text(const char *value, struct label_pair *pairs, size_t max, size_t *ret_n,
		      char *why, size_t len)
{
	struct failure f = FAILURE_INIT;
	int r = labels_split(value, pairs, max, ret_n, &f);

	snprintf(why, len, "%s", f.line);
	return r;
}

static int spec_text(const struct config *cfg, const struct label_pair *pair, enum side side,
		     struct bridge_spec *ret, char *why, size_t len)
{
	struct failure f = FAILURE_INIT;
	int r = labels_spec(cfg, pair, side, ret, &f);

	snprintf(why, len, "%s", f.line);
	return r;
}

static int options_text(struct config *cfg, const char *value, char *why, size_t len)
{
	struct failure f = FAILURE_INIT;
	int r = labels_options(cfg, value, &f);

	snprintf(why, len, "%s", f.line);
	return r;
}

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define SIDE_OF_LABEL	((enum side)(SIDE_CONTAINER + CONTAINERS_MAX + 3))

/* The options a running nsbridge --labels has by default */
static struct config defaults(void)
{
	return (struct config){
		.labels = true,
		.labels_prefix = CLI_DEFAULT_LABELS_PREFIX,
		.labels_min_port = CLI_DEFAULT_LABELS_MIN_PORT,
	};
}

/* The example: two pairs, spaces around the comma */
static void test_split_two(void **state)
{
	struct label_pair p[LABEL_PAIRS_MAX];
	char why[256] = "";
	size_t n = 0;

	(void)state;
	assert_int_equal(split_text("host:5432 container:5432, container:9229 host:9229", p,
				      LABEL_PAIRS_MAX, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(p[0].service, "host:5432");
	assert_string_equal(p[0].expose, "container:5432");
	assert_string_equal(p[1].service, "container:9229");
	assert_string_equal(p[1].expose, "host:9229");
}

struct bad_split {
	const char *value;
	const char *why;	/* a part of the reason */
};

static const struct bad_split bad_splits[] = {
	{ "", "expected SERVICE EXPOSE" },
	{ "host:5432", "'host:5432': expected SERVICE EXPOSE" },
	{ "host:1 container:1 host:2", "expected SERVICE EXPOSE" },
	{ "host:1 container:1,", "'': expected SERVICE EXPOSE" },
	{ "host:1 container:1,, host:2 container:2", "expected SERVICE EXPOSE" },
};

static void test_split_bad(void **state)
{
	struct label_pair p[LABEL_PAIRS_MAX];
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_splits); i++) {
		char why[256] = "";

		assert_int_equal(split_text(bad_splits[i].value, p, LABEL_PAIRS_MAX, &n, why,
					      sizeof(why)), -EINVAL);
		if (!strstr(why, bad_splits[i].why))
			fail_msg("'%s': '%s' does not say '%s'", bad_splits[i].value, why,
				 bad_splits[i].why);
	}
}

/* More pairs than a label may ask for: refused, naming the limit */
static void test_split_too_many(void **state)
{
	struct label_pair p[LABEL_PAIRS_MAX];
	char value[4096] = "", why[256] = "";
	size_t n = 0;

	(void)state;
	for (int i = 0; i <= LABEL_PAIRS_MAX; i++)
		snprintf(value + strlen(value), sizeof(value) - strlen(value), "%shost:%d container:%d",
			 i ? "," : "", 2000 + i, 2000 + i);
	assert_int_equal(split_text(value, p, LABEL_PAIRS_MAX, &n, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "more than 16 bridges"));
}

/* "container" is the labelled container's side, both ways */
static void test_spec_sides(void **state)
{
	struct config cfg = defaults();
	struct label_pair in = { "host:5432", "container:5432" };
	struct label_pair out = { "container:9229", "host:9229" };
	struct bridge_spec b;
	char why[256] = "";

	(void)state;
	assert_int_equal(spec_text(&cfg, &in, SIDE_OF_LABEL, &b, why, sizeof(why)), 0);
	assert_int_equal(b.service.side, SIDE_HOST);
	assert_int_equal(b.expose.side, SIDE_OF_LABEL);
	assert_int_equal(b.expose.port_first, 5432);
	assert_null(b.container);
	assert_true(b.labelled);	/* the label's: a reload leaves it be */
	assert_int_equal(spec_text(&cfg, &out, SIDE_OF_LABEL, &b, why, sizeof(why)), 0);
	assert_int_equal(b.service.side, SIDE_OF_LABEL);
	assert_int_equal(b.services[0].side, SIDE_OF_LABEL);
	assert_int_equal(b.expose.side, SIDE_HOST);
}

struct spec_case {
	const char *service;
	const char *expose;
	bool allow_nonlocal;
	unsigned min_port;
	int result;
	const char *why;
};

static const struct spec_case spec_cases[] = {
	/* the floor: host EXPOSE ports below it are the operator's */
	{ "container:80", "host:80", false, 1024, -EPERM, "below 1024" },
	{ "container:80", "host:1023", false, 1024, -EPERM, "--labels-min-port" },
	{ "container:80", "host:1024", false, 1024, 0, NULL },
	{ "container:80", "host:80", false, 80, 0, NULL },
	{ "container:80", "host:0", false, 1024, 0, NULL },	/* any free port */
	{ "host:80", "container:80", false, 1024, 0, NULL },	/* inside: the container's */
	{ "container:1000-1030", "host:1000-1030", false, 1024, -EPERM, "below 1024" },
	/* a non-loopback EXPOSE only with --labels-allow-nonlocal */
	{ "container:80", "host:0.0.0.0:8080", false, 1024, -EPERM, "not a loopback" },
	{ "container:80", "host:0.0.0.0:8080", true, 1024, 0, NULL },
	/* the grammar of the command line */
	{ "container:80", "nowhere:8080", false, 1024, -EINVAL, "'nowhere:8080'" },
	{ "container:80", "host:8080/udp", false, 1024, -EINVAL, "same protocol" },
	{ "host:80", "host:80", false, 1024, -EINVAL, "relay to itself" },
	{ "unix:/run/x.sock", "container:8080", false, 1024, 0, NULL },
	{ "container:80", "unix:/run/x.sock", false, 1024, -EINVAL, NULL },
};

static void test_spec_limits(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(spec_cases); i++) {
		const struct spec_case *t = &spec_cases[i];
		struct config cfg = defaults();
		struct label_pair p;
		struct bridge_spec b;
		char why[256] = "";
		int r;

		cfg.labels_allow_nonlocal = t->allow_nonlocal;
		cfg.labels_min_port = t->min_port;
		snprintf(p.service, sizeof(p.service), "%s", t->service);
		snprintf(p.expose, sizeof(p.expose), "%s", t->expose);
		r = spec_text(&cfg, &p, SIDE_OF_LABEL, &b, why, sizeof(why));
		if (r != t->result)
			fail_msg("'%s %s': %d (%s), expected %d", t->service, t->expose, r, why,
				 t->result);
		if (t->why && !strstr(why, t->why))
			fail_msg("'%s %s': '%s' does not say '%s'", t->service, t->expose, why, t->why);
	}
}

/* --allow-nonlocal is the command line's, not a label's */
static void test_spec_allow_nonlocal_not_inherited(void **state)
{
	struct config cfg = defaults();
	struct label_pair p = { "container:80", "host:0.0.0.0:8080" };
	struct bridge_spec b;
	char why[256] = "";

	(void)state;
	cfg.allow_nonlocal = true;
	assert_int_equal(spec_text(&cfg, &p, SIDE_OF_LABEL, &b, why, sizeof(why)), -EPERM);
}

/* PREFIX.options: the per-bridge rows of the option table, nothing else */
static void test_options(void **state)
{
	struct config cfg = defaults();
	char why[256] = "";

	(void)state;
	cfg.connect_timeout_ms = CLI_DEFAULT_CONNECT_TIMEOUT_MS;
	assert_int_equal(options_text(&cfg, "--allow-uid 1000,1001 --connect-timeout=2s "
					"--max-connections 3", why, sizeof(why)), 0);
	assert_int_equal(cfg.n_allow_uids, 2);
	assert_int_equal(cfg.allow_uids[1], 1001);
	assert_int_equal(cfg.connect_timeout_ms, 2000);
	assert_int_equal(cfg.max_connections, 3);
	assert_int_equal(options_text(&cfg, "--user root", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "--user is not an option a label may set"));
	assert_int_equal(options_text(&cfg, "--allow-nonlocal", why, sizeof(why)), -EINVAL);
	assert_int_equal(options_text(&cfg, "--idle-timeout 1s", why, sizeof(why)), -EINVAL);
	assert_int_equal(options_text(&cfg, "--max-connections lots", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "--max-connections 'lots'"));
	assert_int_equal(options_text(&cfg, "--connect-timeout", why, sizeof(why)), -EINVAL);
	assert_int_equal(options_text(&cfg, "allow-uid 0", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "'allow-uid' is not an option"));
}

/* --proxy-protocol, a switch, takes no word after it; --source is never a label's */
static void test_options_identity(void **state)
{
	struct config cfg = defaults();
	char why[256] = "";

	(void)state;
	assert_int_equal(options_text(&cfg, "--proxy-protocol --max-connections 3", why,
				      sizeof(why)), 0);
	assert_true(cfg.proxy_protocol);
	assert_int_equal(cfg.max_connections, 3);
	assert_int_equal(options_text(&cfg, "--source 127.77.0.1", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "--source: a container's address is given by "
				    "--labels-sources, never by its own label"));
	assert_int_equal(options_text(&cfg, "--labels-sources=127.77.0.0/24", why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "--labels-sources is not an option a label may set"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_two),
		cmocka_unit_test(test_split_bad),
		cmocka_unit_test(test_split_too_many),
		cmocka_unit_test(test_spec_sides),
		cmocka_unit_test(test_spec_limits),
		cmocka_unit_test(test_spec_allow_nonlocal_not_inherited),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_options_identity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
