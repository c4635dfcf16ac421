/* SPDX-License-Identifier: GPL-2.0-or-later */
/* side.h - the host and container namespaces, and sockets made in them */
#ifndef NSBRIDGE_SIDE_H
#define NSBRIDGE_SIDE_H

#include "nsbridge/ctx.h"
#include "nsbridge/sock.h"

int side_open_host(struct side_ns *s, const char *host_netns);
int side_open_container(struct side_ns *s, const char *ref, struct failure *f);
bool sides_need_opener(const struct ctx *c);
int sides_check_entry(const struct ctx *c, struct failure *f);
int sides_start_opener(struct ctx *c);
int side_socket(struct ctx *c, enum side side, int family, int type, int protocol);
int side_listen(struct ctx *c, enum side side, int type, const struct sock_addr *a);
int side_lo_up(struct ctx *c, enum side side);
void sides_close(struct ctx *c);
const struct in_addr *side_source_toward(const struct ctx *c, const struct bridge *b,
					 const struct endpoint *svc);

#endif /* NSBRIDGE_SIDE_H */
