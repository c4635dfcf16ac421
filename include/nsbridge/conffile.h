/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conffile.h - --config FILE: bridges and options from a file */
#ifndef NSBRIDGE_CONFFILE_H
#define NSBRIDGE_CONFFILE_H

#include <stdbool.h>
#include <stddef.h>

/**
 * struct conffile_entry - one setting, or one bridge, of a --config file
 * @name:	option name; for a bridge, its SERVICE
 * @value:	the value as command-line text; for a bridge, its EXPOSE
 * @line:	where it is in the file
 * @is_bool:	the file said true or false
 * @number:	room for the text of a number
 * @container:	for a bridge, the container it names, NULL if none
 * @source:	for a bridge, its container's source address, NULL if none
 * @proxy_protocol: for a bridge, "proxy-protocol = true"
 */
struct conffile_entry {
	const char *name;
	const char *value;
	const char *container;
	const char *source;
	bool proxy_protocol;
	int line;
	bool is_bool;
	char number[24];
};

struct conffile;
struct failure;

int conffile_read(const char *path, struct conffile **ret, struct failure *fail);
const struct conffile_entry *conffile_options(const struct conffile *f, size_t *ret_n);
const struct conffile_entry *conffile_bridges(const struct conffile *f, size_t *ret_n);
void conffile_free(struct conffile *f);

#endif /* NSBRIDGE_CONFFILE_H */
