/* SPDX-License-Identifier: GPL-2.0-or-later */
/* runas.h - the user the relay becomes after set-up, and what it leaves to root */
#ifndef NSBRIDGE_RUNAS_H
#define NSBRIDGE_RUNAS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "nsbridge/ctx.h"

/**
 * struct runas - who the relay runs as after set-up
 * @name:	the user as named (--user, or the default found), for messages
 * @uid:	its uid
 * @gid:	its primary group
 * @switching:	started as root, and @uid is not 0: the relay changes uid
 */
struct runas {
	char name[64];
	uid_t uid;
	gid_t gid;
	bool switching;
};

int runas_resolve(const char *user, struct runas *ret, struct failure *f);
int runas_check_services(const struct config *cfg, const struct runas *as, struct failure *f);
int runas_check_set(const struct bridge_spec *bridges, size_t n, struct failure *f);
/* The files the keeper rewrites for the relay, and removes at its exit */
enum keeper_file {
	KEEPER_PORT_FILE,	/* --port-file, after a reload or an add */
	KEEPER_SOURCES_FILE,	/* the source addresses (sourcemap.c) */
	KEEPER_FILE_MAX,
};

/* What a --port-file rewrite answers once the keeper has exited */
#define KEEPER_EXITED	(-EOWNERDEAD)

int runas_keeper_start(const struct ctx *c);
pid_t runas_keeper_pid(void);
void runas_keeper_exited(void);
int runas_keeper_file(enum keeper_file which, const char *text, size_t len);
void runas_keeper_finish(const char *user);

#endif /* NSBRIDGE_RUNAS_H */
