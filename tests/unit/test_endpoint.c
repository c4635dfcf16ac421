/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_endpoint.c - table-driven tests of the endpoint grammar of SPEC.md
 *
 * Every row of a table is one cmocka test, named after what it checks, so
 * the TAP output says which input broke. Good rows assert every field of
 * the parsed endpoint; bad rows assert -EINVAL, a phrase that contains a
 * word a user could act on, and that the out-parameter was left alone.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "nsbridge/endpoint.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Paths of 107 bytes (the longest that fits sun_path with its NUL) and 108 */
#define P10		"/aaaaaaaaa"
#define P100		P10 P10 P10 P10 P10 P10 P10 P10 P10 P10
#define PATH_107	P100 "/abcdef"
#define PATH_108	P100 "/abcdefg"

/**
 * struct parse_case - one input of endpoint_parse() and what it must give
 * @name:	test name in the TAP output
 * @text:	what the user wrote
 * @ok:		the input is valid
 * @why:	bad input: a word the "expected ..." phrase must contain
 * @kind:	good input: the fields the endpoint must have
 * @side:	...
 * @proto:	...
 * @addr:	textual address, NULL when none was given
 * @family:	AF_INET or AF_INET6 with @addr
 * @first:	first port
 * @last:	last port
 * @path:	unix socket path, NULL for inet endpoints
 */
struct parse_case {
	const char *name;
	const char *text;
	bool ok;
	const char *why;
	enum endpoint_kind kind;
	enum side side;
	enum proto proto;
	const char *addr;
	int family;
	uint16_t first;
	uint16_t last;
	const char *path;
};

#define GOOD(n, t, s, p, a, f, lo, hi)						\
	{ .name = n, .text = t, .ok = true, .kind = ENDPOINT_INET, .side = s,	\
	  .proto = p, .addr = a, .family = f, .first = lo, .last = hi }
#define GOOD_UNIX(n, t, p)							\
	{ .name = n, .text = t, .ok = true, .kind = ENDPOINT_UNIX,		\
	  .side = SIDE_HOST, .proto = PROTO_TCP, .path = p }
#define BAD(n, t, w)								\
	{ .name = n, .text = t, .ok = false, .why = w }

static const struct parse_case parse_cases[] = {
	/* sides and single ports */
	GOOD("host side, port only", "host:5432",
	     SIDE_HOST, PROTO_TCP, NULL, 0, 5432, 5432),
	GOOD("container side, port only", "container:5432",
	     SIDE_CONTAINER, PROTO_TCP, NULL, 0, 5432, 5432),
	GOOD("lowest port 1", "host:1",
	     SIDE_HOST, PROTO_TCP, NULL, 0, 1, 1),
	GOOD("highest port 65535", "container:65535",
	     SIDE_CONTAINER, PROTO_TCP, NULL, 0, 65535, 65535),
	GOOD("port 0: any free port", "container:0",
	     SIDE_CONTAINER, PROTO_TCP, NULL, 0, 0, 0),
	GOOD("leading zeros are decimal, not octal", "host:0080",
	     SIDE_HOST, PROTO_TCP, NULL, 0, 80, 80),

	/* addresses */
	GOOD("IPv4 loopback literal", "host:127.0.0.1:8080",
	     SIDE_HOST, PROTO_TCP, "127.0.0.1", AF_INET, 8080, 8080),
	GOOD("IPv4 non-loopback literal", "container:10.1.2.3:80",
	     SIDE_CONTAINER, PROTO_TCP, "10.1.2.3", AF_INET, 80, 80),
	GOOD("IPv4 wildcard literal", "host:0.0.0.0:80",
	     SIDE_HOST, PROTO_TCP, "0.0.0.0", AF_INET, 80, 80),
	GOOD("bracketed IPv6 loopback", "host:[::1]:8080",
	     SIDE_HOST, PROTO_TCP, "::1", AF_INET6, 8080, 8080),
	GOOD("bracketed IPv4-mapped IPv6", "host:[::ffff:127.0.0.1]:5432",
	     SIDE_HOST, PROTO_TCP, "::ffff:127.0.0.1", AF_INET6, 5432, 5432),
	GOOD("bracketed global IPv6", "container:[2001:db8::1]:22",
	     SIDE_CONTAINER, PROTO_TCP, "2001:db8::1", AF_INET6, 22, 22),

	/* ranges */
	GOOD("port range", "host:8000-8010",
	     SIDE_HOST, PROTO_TCP, NULL, 0, 8000, 8010),
	GOOD("range of one port", "host:80-80",
	     SIDE_HOST, PROTO_TCP, NULL, 0, 80, 80),
	GOOD("range of every port", "container:1-65535",
	     SIDE_CONTAINER, PROTO_TCP, NULL, 0, 1, 65535),
	GOOD("range on IPv6 address", "host:[::1]:9000-9005",
	     SIDE_HOST, PROTO_TCP, "::1", AF_INET6, 9000, 9005),

	/* transports */
	GOOD("explicit /tcp", "host:5432/tcp",
	     SIDE_HOST, PROTO_TCP, NULL, 0, 5432, 5432),
	GOOD("/udp", "container:53/udp",
	     SIDE_CONTAINER, PROTO_UDP, NULL, 0, 53, 53),
	GOOD("IPv4, range and /tcp", "host:127.0.0.1:9000-9001/tcp",
	     SIDE_HOST, PROTO_TCP, "127.0.0.1", AF_INET, 9000, 9001),
	GOOD("IPv6 and /udp", "host:[::1]:53/udp",
	     SIDE_HOST, PROTO_UDP, "::1", AF_INET6, 53, 53),

	/* unix sockets */
	GOOD_UNIX("unix absolute path", "unix:/run/app.sock", "/run/app.sock"),
	GOOD_UNIX("unix path keeps colons and '/tcp'", "unix:/tmp/a:b/tcp", "/tmp/a:b/tcp"),
	GOOD_UNIX("unix path of 107 bytes", "unix:" PATH_107, PATH_107),

	/* sides */
	BAD("empty string", "", "SIDE"),
	BAD("no side", "5432", "SIDE"),
	BAD("side without colon", "host", "SIDE"),
	BAD("unknown side", "vm:5432", "SIDE"),
	BAD("uppercase side", "HOST:5432", "host"),
	BAD("capitalised side", "Container:80", "container"),
	BAD("side with a suffix", "hosts:80", "SIDE"),
	BAD("leading space before side", " host:80", "SIDE"),
	BAD("uppercase unix", "UNIX:/run/app.sock", "SIDE"),

	/* ports */
	BAD("empty port", "host:", "port"),
	BAD("port 0 in a range", "host:0-10", "FIRST-LAST"),
	BAD("port 65536", "host:65536", "65535"),
	BAD("port 99999", "host:99999", "65535"),
	BAD("six digit port", "host:100000", "65535"),
	BAD("leading plus", "host:+80", "65535"),
	BAD("space before port", "host: 80", "65535"),
	BAD("space after port", "host:80 ", "65535"),
	BAD("letter in port", "host:8o", "65535"),
	BAD("hex port", "host:0x50", "65535"),
	BAD("port 65536 on IPv6", "host:[::1]:65536", "65535"),

	/* ranges */
	BAD("range without last", "host:8000-", "FIRST-LAST"),
	BAD("range without first", "host:-8000", "FIRST-LAST"),
	BAD("range from 0", "host:0-10", "FIRST-LAST"),
	BAD("range past 65535", "host:10-65536", "65535"),
	BAD("reversed range", "host:8010-8000", "first port"),
	BAD("two dashes", "host:1-2-3", "FIRST-LAST"),

	/* transports */
	BAD("trailing slash", "host:80/", "/tcp"),
	BAD("/sctp", "host:80/sctp", "/udp"),
	BAD("uppercase /TCP", "host:80/TCP", "/tcp"),
	BAD("two transports", "host:80/tcp/udp", "/tcp"),
	BAD("space after transport", "host:80/udp ", "/udp"),
	BAD("transport without port", "host:/tcp", "port"),

	/* IPv4 */
	BAD("IPv4 without port", "host:127.0.0.1:", "port"),
	BAD("address where port belongs", "host:127.0.0.1", "port"),
	BAD("host name instead of address", "host:localhost:80", "IPv4"),
	BAD("IPv4 octet 256", "host:127.0.0.256:80", "IPv4"),
	BAD("short IPv4 form", "host:127.1:80", "IPv4"),
	BAD("empty IPv4 address", "host::80", "IPv4"),

	/* IPv6 */
	BAD("unbracketed IPv6 with port", "host:::1:80", "bracket"),
	BAD("unbracketed IPv6 alone", "host:::1", "bracket"),
	BAD("unbracketed global IPv6", "container:fe80::1:80", "bracket"),
	BAD("missing closing bracket", "host:[::1:80", "]"),
	BAD("bracketed IPv6 without port", "host:[::1]", ":PORT"),
	BAD("no colon after bracket", "host:[::1]80", ":PORT"),
	BAD("IPv6 with empty port", "host:[::1]:", "port"),
	BAD("empty brackets", "host:[]:80", "IPv6"),
	BAD("IPv4 inside brackets", "host:[127.0.0.1]:80", "IPv6"),
	BAD("bad IPv6 digit", "host:[::g]:80", "IPv6"),
	BAD("IPv6 with zone", "host:[fe80::1%eth0]:80", "IPv6"),
	BAD("too long for IPv6", "host:[0000:0000:0000:0000:0000:0000:0000:0000:0000]:80", "IPv6"),

	/* unix sockets */
	BAD("unix relative path", "unix:relative.sock", "absolute"),
	BAD("unix empty path", "unix:", "absolute"),
	BAD("unix path of 108 bytes", "unix:" PATH_108, "108"),
	BAD("unix path far too long", "unix:" P100 P100, "108"),
};

/* Fill an endpoint with a pattern that no parse produces */
static void poison(struct endpoint *ep)
{
	memset(ep, 0xa5, sizeof(*ep));
}

static void assert_addr(const struct endpoint *ep, const char *addr, int family)
{
	unsigned char want[sizeof(struct in6_addr)];

	if (!addr) {
		assert_false(ep->has_addr);
		return;
	}
	assert_true(ep->has_addr);
	assert_int_equal(ep->family, family);
	assert_int_equal(inet_pton(family, addr, want), 1);
	if (family == AF_INET)
		assert_memory_equal(&ep->addr.v4, want, sizeof(ep->addr.v4));
	else
		assert_memory_equal(&ep->addr.v6, want, sizeof(ep->addr.v6));
}

static void test_parse(void **state)
{
	const struct parse_case *c = *state;
	struct endpoint ep, untouched;
	const char *why = NULL;
	int r;

	poison(&ep);
	untouched = ep;
	r = endpoint_parse(c->text, &ep, &why);
	if (!c->ok) {
		assert_int_equal(r, -EINVAL);
		assert_non_null(why);
		if (!strstr(why, c->why))
			fail_msg("'%s': why \"%s\" lacks \"%s\"", c->text, why, c->why);
		/* ret_ out-parameters are written only on success */
		assert_memory_equal(&ep, &untouched, sizeof(ep));
		return;
	}
	if (r != 0)
		fail_msg("'%s': %d, expected %s", c->text, r, why ? why : "(null)");
	assert_int_equal(ep.kind, c->kind);
	assert_int_equal(ep.side, c->side);
	assert_int_equal(ep.proto, c->proto);
	if (c->kind == ENDPOINT_UNIX) {
		assert_false(ep.has_addr);
		assert_string_equal(ep.path, c->path);
		assert_int_equal(endpoint_port_count(&ep), 1);
		return;
	}
	assert_addr(&ep, c->addr, c->family);
	assert_int_equal(ep.port_first, c->first);
	assert_int_equal(ep.port_last, c->last);
	assert_string_equal(ep.path, "");
}

/* Parse a row's text that is known to be good */
static struct endpoint parse_good(const char *text)
{
	struct endpoint ep;
	const char *why = NULL;

	if (endpoint_parse(text, &ep, &why) < 0)
		fail_msg("'%s' does not parse: %s", text, why);
	return ep;
}

/**
 * struct count_case - endpoint_port_count() of one endpoint
 * @name:	test name
 * @text:	the endpoint
 * @count:	ports it covers
 */
struct count_case {
	const char *name;
	const char *text;
	unsigned count;
};

static const struct count_case count_cases[] = {
	{ "count of a single port", "host:80", 1 },
	{ "count of a one-port range", "host:80-80", 1 },
	{ "count of a range", "container:8000-8009", 10 },
	{ "count of every port", "host:1-65535", 65535 },
	{ "count of a unix socket", "unix:/run/app.sock", 1 },
};

static void test_count(void **state)
{
	const struct count_case *c = *state;
	struct endpoint ep = parse_good(c->text);

	assert_int_equal(endpoint_port_count(&ep), c->count);
}

/**
 * struct loopback_case - endpoint_addr_is_loopback() of one endpoint
 * @name:	test name
 * @text:	the endpoint
 * @loopback:	whether it stays on loopback
 */
struct loopback_case {
	const char *name;
	const char *text;
	bool loopback;
};

static const struct loopback_case loopback_cases[] = {
	{ "loopback: no address", "host:80", true },
	{ "loopback: 127.0.0.1", "host:127.0.0.1:80", true },
	{ "loopback: 127.0.0.2", "host:127.0.0.2:80", true },
	{ "loopback: 127.255.255.254", "host:127.255.255.254:80", true },
	{ "loopback: 10.0.0.1 is not", "host:10.0.0.1:80", false },
	{ "loopback: 128.0.0.1 is not", "host:128.0.0.1:80", false },
	{ "loopback: 0.0.0.0 is not", "host:0.0.0.0:80", false },
	{ "loopback: ::1", "host:[::1]:80", true },
	{ "loopback: :: is not", "host:[::]:80", false },
	{ "loopback: 2001:db8::1 is not", "host:[2001:db8::1]:80", false },
	{ "loopback: ::ffff:127.0.0.1", "host:[::ffff:127.0.0.1]:80", true },
	{ "loopback: ::ffff:10.0.0.1 is not", "host:[::ffff:10.0.0.1]:80", false },
	{ "loopback: unix socket", "unix:/run/app.sock", true },
};

static void test_loopback(void **state)
{
	const struct loopback_case *c = *state;
	struct endpoint ep = parse_good(c->text);

	assert_int_equal(endpoint_addr_is_loopback(&ep), c->loopback);
}

/**
 * struct overlap_case - endpoint_overlaps() of two endpoints, both ways
 * @name:	test name
 * @a:		one endpoint
 * @b:		the other
 * @overlaps:	whether they could name the same socket
 */
struct overlap_case {
	const char *name;
	const char *a;
	const char *b;
	bool overlaps;
};

static const struct overlap_case overlap_cases[] = {
	{ "overlap: same port", "host:80", "host:80", true },
	{ "overlap: ranges that cross", "host:80-90", "host:85-95", true },
	{ "overlap: range ends on the other's port", "host:80-90", "host:90", true },
	{ "overlap: range inside range", "host:1-65535", "host:5432", true },
	{ "overlap: adjacent ranges do not", "host:80-90", "host:91-95", false },
	{ "overlap: two free ports do not", "host:0", "host:0", false },
	{ "overlap: a free port and a range do not", "host:0", "host:1-65535", false },
	{ "overlap: different sides do not", "host:80", "container:80", false },
	{ "overlap: tcp and udp do not", "host:80/tcp", "host:80/udp", false },
	{ "overlap: same IPv4 address", "host:127.0.0.1:80", "host:127.0.0.1:80", true },
	{ "overlap: different IPv4 addresses do not",
	  "host:127.0.0.1:80", "host:127.0.0.2:80", false },
	{ "overlap: same IPv6 address", "host:[::1]:80", "host:[::1]:80", true },
	{ "overlap: different IPv6 addresses do not",
	  "host:[::1]:80", "host:[2001:db8::1]:80", false },
	{ "overlap: explicit IPv4 and IPv6 do not", "host:127.0.0.1:80", "host:[::1]:80", false },
	{ "overlap: no address meets IPv4 loopback", "host:80", "host:127.0.0.1:80", true },
	{ "overlap: no address meets IPv6 loopback", "host:80", "host:[::1]:80", true },
	{ "overlap: no address misses another address", "host:80", "host:10.0.0.1:80", false },
	{ "overlap: no address meets the IPv4 wildcard", "host:80", "host:0.0.0.0:80", true },
	{ "overlap: no address meets the IPv6 wildcard", "host:80", "host:[::]:80", true },
	{ "overlap: IPv4 wildcard meets IPv4 loopback",
	  "host:0.0.0.0:80", "host:127.0.0.1:80", true },
	{ "overlap: IPv6 wildcard meets IPv6 loopback", "host:[::]:80", "host:[::1]:80", true },
	{ "overlap: IPv4 wildcard and IPv6 do not", "host:0.0.0.0:80", "host:[::1]:80", false },
	{ "overlap: IPv6 wildcard and IPv4 do not", "host:[::]:80", "host:127.0.0.1:80", false },
	{ "overlap: wildcard on other ports does not",
	  "host:0.0.0.0:80", "host:127.0.0.1:81", false },
	{ "overlap: same address, other side does not",
	  "host:127.0.0.1:80", "container:127.0.0.1:80", false },
	{ "overlap: unix sockets never", "unix:/run/a.sock", "unix:/run/a.sock", false },
	{ "overlap: unix and inet never", "unix:/run/a.sock", "host:80", false },
};

static void test_overlap(void **state)
{
	const struct overlap_case *c = *state;
	struct endpoint a = parse_good(c->a), b = parse_good(c->b);

	assert_int_equal(endpoint_overlaps(&a, &b), c->overlaps);
	assert_int_equal(endpoint_overlaps(&b, &a), c->overlaps);
}

/* The words the ready line and the error lines print */
static void test_names(void **state)
{
	assert_string_equal(side_name(SIDE_HOST), "host");
	assert_string_equal(side_name(SIDE_CONTAINER), "container");
	assert_string_equal(side_name(SIDE_MAX), "?");
	assert_string_equal(proto_name(PROTO_TCP), "tcp");
	assert_string_equal(proto_name(PROTO_UDP), "udp");
	assert_string_equal(proto_name(PROTO_MAX), "?");
}

#define N_TESTS	(ARRAY_SIZE(parse_cases) + ARRAY_SIZE(count_cases) +		\
		 ARRAY_SIZE(loopback_cases) + ARRAY_SIZE(overlap_cases) + 1)

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

	ADD_ROWS(tests, n, parse_cases, test_parse);
	ADD_ROWS(tests, n, count_cases, test_count);
	ADD_ROWS(tests, n, loopback_cases, test_loopback);
	ADD_ROWS(tests, n, overlap_cases, test_overlap);
	tests[n++] = (struct CMUnitTest){ .name = "side and proto names", .test_func = test_names };
	return _cmocka_run_group_tests("endpoint", tests, n, NULL, NULL);
}
