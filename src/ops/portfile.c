/* SPDX-License-Identifier: GPL-2.0-or-later */
/* portfile.c - --port-file: the bridges that run, one "SERVICE EXPOSE" line
 * each, with the port bound for an EXPOSE port 0
 *
 * A script reads the file to learn the ports it was given, so it must
 * never see half of it: the start writes it aside and renames it over
 * the path. After a change (a reload, nsbridge add or remove) the relay
 * may no longer create files in the directory, and its filter opens
 * nothing for writing: it sends portfile_text() to the keeper of runas.c,
 * which puts it in place the same way.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nsbridge/portfile.h"

/* One "SERVICE EXPOSE" line per bridge that runs */
static void print_ports(const struct ctx *c, FILE *f)
{
	for (size_t i = 0; i < c->n_bridges; i++) {
		char svc[ENDPOINT_TEXT_MAX], exp[ENDPOINT_TEXT_MAX];
		const struct bridge *b = &c->bridges[i];

		if (!b->spec->mirror && !b->removed)
			fprintf(f, "%s %s\n", endpoint_format(&b->spec->service, svc, sizeof(svc)),
				endpoint_format(&b->expose, exp, sizeof(exp)));
	}
}

/**
 * portfile_write() - write --port-file, if asked for, whole or not at all
 * @c:		context, listeners bound, before the drop
 *
 * Return: 0 or -errno
 */
int portfile_write(const struct ctx *c)
{
	const char *path = c->config->port_file;
	char tmp[PATH_MAX];
	FILE *f;
	int r = 0;

	if (!path)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	print_ports(c, f);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/**
 * portfile_text() - what --port-file holds for the bridges that run
 * @c:		context
 * @ret:	the text, allocated, for the caller to free
 * @len:	its length
 *
 * Return: 0 or -ENOMEM
 */
int portfile_text(const struct ctx *c, char **ret, size_t *len)
{
	FILE *f = open_memstream(ret, len);

	if (!f)
		return -ENOMEM;
	print_ports(c, f);
	if (fclose(f) != 0) {
		free(*ret);
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}
