/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_proxy.c - the PROXY v2 header, read back byte by byte as the
 * specification (haproxy.org, proxy-protocol.txt, 2.2) lays it out
 *
 * The expected bytes are written out here by hand from the specification,
 * not from proxy.c's constants, so a wrong constant there fails here.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nsbridge/proxy.h"

/* "\r\n\r\n\0\r\nQUIT\n" */
static const uint8_t spec_signature[12] = {
	'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n',
};

static struct sockaddr_storage v4(const char *addr, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *addr, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
	return ss;
}

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* One TLV at @p: its type, length and value as the reader finds them */
static size_t expect_tlv(const uint8_t *p, uint8_t type, const char *value)
{
	assert_int_equal(p[0], type);
	assert_int_equal(be16(p + 1), strlen(value));
	assert_memory_equal(p + 3, value, strlen(value));
	return 3 + strlen(value);
}

/* A client of container web on 127.0.0.1:40000 that connected to 127.0.0.1:5432 */
static void test_ipv4_with_container(void **state)
{
	struct sockaddr_storage client = v4("127.0.0.1", 40000), dest = v4("127.0.0.1", 5432);
	static const char id[] = "3f2a9c0d1e2b3f2a9c0d1e2b3f2a9c0d1e2b3f2a9c0d1e2b3f2a9c0d1e2b3f2a";
	static const uint8_t localhost[4] = { 127, 0, 0, 1 };
	uint8_t buf[PROXY_HEADER_MAX];
	ssize_t n;
	size_t at;

	(void)state;
	n = proxy_header(&client, &dest, "web", id, buf, sizeof(buf));
	assert_int_equal(n, 16 + 12 + (3 + 3) + (3 + 64));
	assert_memory_equal(buf, spec_signature, 12);
	assert_int_equal(buf[12], 0x21);	/* version 2 (high nibble), PROXY (low) */
	assert_int_equal(buf[13], 0x11);	/* AF_INET (high), STREAM (low) */
	assert_int_equal(be16(buf + 14), (size_t)n - 16);
	assert_memory_equal(buf + 16, localhost, 4);	/* src_addr */
	assert_memory_equal(buf + 20, localhost, 4);	/* dst_addr */
	assert_int_equal(be16(buf + 24), 40000);			/* src_port */
	assert_int_equal(be16(buf + 26), 5432);				/* dst_port */
	at = 28;
	at += expect_tlv(buf + at, 0x30, "web");	/* PP2_TYPE_NETNS */
	at += expect_tlv(buf + at, 0x05, id);		/* PP2_TYPE_UNIQUE_ID */
	assert_int_equal(at, (size_t)n);
}

/* A client of [::1] on the host: 36 bytes of addresses, no TLV */
static void test_ipv6_from_host(void **state)
{
	struct sockaddr_storage client = v6("::1", 51000), dest = v6("::1", 9229);
	uint8_t buf[PROXY_HEADER_MAX], one[16] = { [15] = 1 };
	ssize_t n;

	(void)state;
	n = proxy_header(&client, &dest, NULL, "", buf, sizeof(buf));
	assert_int_equal(n, 16 + 36);
	assert_memory_equal(buf, spec_signature, 12);
	assert_int_equal(buf[12], 0x21);
	assert_int_equal(buf[13], 0x21);	/* AF_INET6, STREAM */
	assert_int_equal(be16(buf + 14), 36);
	assert_memory_equal(buf + 16, one, 16);
	assert_memory_equal(buf + 32, one, 16);
	assert_int_equal(be16(buf + 48), 51000);
	assert_int_equal(be16(buf + 50), 9229);
}

/* A name longer than a TLV keeps is cut, an ID to the specification's 128 */
static void test_long_values_cut(void **state)
{
	struct sockaddr_storage client = v4("127.0.0.1", 1), dest = v4("127.0.0.1", 2);
	char name[400], id[300];
	uint8_t buf[PROXY_HEADER_MAX];
	ssize_t n;

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	n = proxy_header(&client, &dest, name, id, buf, sizeof(buf));
	assert_int_equal(n, 16 + 12 + 3 + 255 + 3 + 128);
	assert_int_equal(be16(buf + 28 + 1), 255);
	assert_int_equal(buf[28 + 3 + 255], 0x05);
	assert_int_equal(be16(buf + 28 + 3 + 255 + 1), 128);
}

/* Addresses of two families, or no room: refused, nothing written */
static void test_refusals(void **state)
{
	struct sockaddr_storage a = v4("127.0.0.1", 1), b = v6("::1", 2);
	uint8_t buf[PROXY_HEADER_MAX], small[20];

	(void)state;
	assert_int_equal(proxy_header(&a, &b, "web", NULL, buf, sizeof(buf)), -EAFNOSUPPORT);
	memset(small, 0xaa, sizeof(small));
	assert_int_equal(proxy_header(&a, &a, "web", NULL, small, sizeof(small)), -ENOBUFS);
	for (size_t i = 0; i < sizeof(small); i++)
		assert_int_equal(small[i], 0xaa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_with_container),
		cmocka_unit_test(test_ipv6_from_host),
		cmocka_unit_test(test_long_values_cut),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
