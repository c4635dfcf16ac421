/* SPDX-License-Identifier: GPL-2.0-or-later */
/* note.c - what the modules serving a bridge write down about it: its last
 * error, for nsbridge status, and its endpoints as log lines name them
 *
 * Theory of operation
 *
 * Accepting (listener.c), dialling (dial.c), UDP flows (udp.c) and
 * --allow-uid (access.c) all say, in the same words, what went wrong
 * with a bridge. These few functions only read and write the shared
 * state of ctx.h, so they sit below all four: a module that notes an
 * error need not call up into listener.c, which calls down into it.
 */

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "nsbridge/note.h"
#include "nsbridge/sock.h"

/**
 * note_endpoint_text() - an endpoint's address and ports for messages:
 *			  "127.0.0.1:8000-8099", "[::1]:53/udp"
 * @ep:		endpoint
 * @family:	which of its addresses, for an endpoint without one
 * @buf:	where to write
 * @len:	its size
 */
void note_endpoint_text(const struct endpoint *ep, int family, char *buf, size_t len)
{
	char addr[SOCK_ADDR_TEXT_MAX];
	struct sock_addr a;

	const char *proto = ep->proto == PROTO_UDP ? "/udp" : "";

	sock_addr_endpoint(&a, ep, 0, family);
	sock_addr_format(&a, addr, sizeof(addr));
	if (ep->port_last != ep->port_first)
		snprintf(buf, len, "%s-%u%s", addr, ep->port_last, proto);
	else
		snprintf(buf, len, "%s%s", addr, proto);
}

/**
 * note_service_text() - one SERVICE of a bridge for messages: "host
 *			   127.0.0.1:5432", "unix:/run/x.sock"
 * @c:		context
 * @svc:	the SERVICE
 * @buf:	where to write
 * @len:	its size
 *
 * Return: @buf
 */
const char *note_service_text(const struct ctx *c, const struct endpoint *svc, char *buf,
				size_t len)
{
	char text[SOCK_ADDR_TEXT_MAX + 16];
	int family = svc->kind == ENDPOINT_UNIX ? AF_UNIX : svc->has_addr ? svc->family : AF_INET;

	note_endpoint_text(svc, family, text, sizeof(text));
	if (svc->kind == ENDPOINT_UNIX)
		snprintf(buf, len, "%s", text);
	else
		snprintf(buf, len, "%s %s", c->sides[svc->side].label, text);
	return buf;
}

/**
 * note_error() - remember what went wrong last, for nsbridge status
 * @b:		bridge
 * @fmt:	printf format of one line; the caller logs it, rate limited
 *
 * Return: the formatted line, kept in @b until the next error
 */
const char *note_error(struct bridge *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->stats.last_error, sizeof(b->stats.last_error), fmt, ap);
	va_end(ap);
	b->stats.last_error_time = (int64_t)time(NULL);
	return b->stats.last_error;
}
