/* SPDX-License-Identifier: GPL-2.0-or-later */
/* opener.h - the privileged helper that makes sockets inside namespaces */
#ifndef NSBRIDGE_OPENER_H
#define NSBRIDGE_OPENER_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "nsbridge/endpoint.h"
#include "nsbridge/sock.h"

#define OPENER_MAX_FDS	32

/*
 * What every request answers once the opener has exited: nothing can
 * start it again (the relay has no capability left), and the callers'
 * lines say so rather than the transport's "Broken pipe"
 */
#define OPENER_EXITED	(-EOWNERDEAD)

enum opener_op {
	OPENER_SOCKET,		/* make @count sockets */
	OPENER_LISTEN,		/* make a TCP socket, bind to @addr, listen */
	OPENER_LO_UP,		/* bring lo up */
	OPENER_OPEN_PID,	/* @side's namespace is now @pid's: reply with a pidfd */
	OPENER_FORGET,		/* close @side's namespace: it must not be kept alive */
	OPENER_SOCKET_OWNER,	/* which pid holds socket @inode: in the result */
	OPENER_OP_MAX,
};

/**
 * struct opener_req - one request from the relay
 * @op:		what to do
 * @side:	in which namespace, enum side
 * @tag:	echoed in the reply, to route asynchronous replies
 * @family:	socket family (OPENER_SOCKET)
 * @type:	socket type (OPENER_SOCKET)
 * @protocol:	socket protocol (OPENER_SOCKET)
 * @count:	sockets wanted (OPENER_SOCKET), at most OPENER_MAX_FDS
 * @addr:	address (OPENER_LISTEN)
 * @pid:	process whose namespace to open (OPENER_OPEN_PID)
 * @inode:	socket inode (OPENER_SOCKET_OWNER)
 * @start:	@pid's start time as the report had it (OPENER_OPEN_PID):
 *		another process of that pid is refused with -ESTALE
 */
struct opener_req {
	uint32_t op;
	uint32_t side;
	uint32_t tag;
	int32_t family;
	int32_t type;
	int32_t protocol;
	uint32_t count;
	struct sock_addr addr;
	int32_t pid;
	uint32_t inode;
	uint64_t start;
};

/**
 * struct opener_reply - the answer, with its fds in SCM_RIGHTS
 * @tag:	the request's tag
 * @error:	0 or -errno; on error no fds come
 * @count:	fds attached
 * @result:	OPENER_LO_UP: 1 if lo was brought up, 0 if it was up already;
 *		OPENER_SOCKET_OWNER: the pid
 */
struct opener_reply {
	uint32_t tag;
	int32_t error;
	uint32_t count;
	int32_t result;
};

int opener_start(const int ns_fds[SIDE_MAX]);
int opener_fd(void);
pid_t opener_pid(void);
void opener_exited(void);
bool opener_gone(void);
int opener_call(const struct opener_req *req, int *ret_fds, unsigned max_fds);
int opener_send(const struct opener_req *req);
int opener_receive(struct opener_reply *ret, int *ret_fds, unsigned max_fds);

#endif /* NSBRIDGE_OPENER_H */
