/* SPDX-License-Identifier: GPL-2.0-or-later */
/* portowner.h - who holds a listening TCP address */
#ifndef NSBRIDGE_PORTOWNER_H
#define NSBRIDGE_PORTOWNER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/**
 * struct port_owner - the process that holds a listening socket
 * @pid:	its pid
 * @comm:	its command name, from /proc/PID/comm
 */
struct port_owner {
	pid_t pid;
	char comm[64];
};

int portowner_find(int diag_fd, const struct sockaddr *sa, struct port_owner *ret);
int portowner_of_inode(uint32_t inode, struct port_owner *ret);
void portowner_comm(pid_t pid, char *comm, size_t len);

#endif /* NSBRIDGE_PORTOWNER_H */
