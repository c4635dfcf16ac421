/* SPDX-License-Identifier: GPL-2.0-or-later */
/* engine.h - Docker and Podman containers by name, over the engine's API socket */
#ifndef NSBRIDGE_ENGINE_H
#define NSBRIDGE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "nsbridge/failure.h"

#define ENGINE_ID_MAX		65	/* 64 hex digits */
#define ENGINE_NAME_MAX		256
#define ENGINE_PATH_MAX		108
#define ENGINE_WHY_MAX		512

/**
 * struct engine_container - what the engine says of one container
 * @id:		full ID
 * @name:	name, without Docker's leading '/'
 * @pid:	init process, 0 unless running
 * @start:	@pid's start time (netns_pid_start()), with @pid the identity
 *		of the container's init; 0 unless running
 * @running:	whether it runs
 */
struct engine_container {
	char id[ENGINE_ID_MAX];
	char name[ENGINE_NAME_MAX];
	pid_t pid;
	unsigned long long start;
	bool running;
};

#define ENGINE_LABEL_MAX	1024

/**
 * struct engine_labelled - a running container that carries a label
 * @id:		full ID
 * @name:	name, without Docker's leading '/'
 * @value:	the label's value, "" if empty
 * @options:	the value of the second label asked for, "" if none
 */
struct engine_labelled {
	char id[ENGINE_ID_MAX];
	char name[ENGINE_NAME_MAX];
	char value[ENGINE_LABEL_MAX];
	char options[ENGINE_LABEL_MAX];
};

#define ENGINE_SOCKETS_MAX	6

unsigned engine_sockets_all(char ret[][ENGINE_PATH_MAX], unsigned max);
int engine_list_labelled(const char *sock_path, const char *key, const char *options_key,
			 struct engine_labelled **ret, size_t *ret_n);
int engine_socket_path(char *ret_path, size_t len, struct failure *f);
const char *engine_sockets_text(char *buf, size_t len);
int engine_locate(const char *ref, struct engine_container *ret, char *ret_sock,
		  struct failure *f);
int engine_find(const char *sock_path, const char *ref, struct engine_container *ret,
		struct failure *f);

#endif /* NSBRIDGE_ENGINE_H */
