/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conffile.c - --config FILE: bridges and options from a file
 *
 * Theory of operation
 *
 * The file is libconfig's syntax, read by libconfig: settings named like
 * the long options, and a list of bridges.
 *
 *   # /etc/nsbridge/web.conf
 *   container = "web";
 *   connect-timeout = "5s";
 *   max-connections = 1000;
 *   allow-nonlocal = false;
 *   bridges = (
 *     { service = "host:5432";      expose = "container:5432"; },
 *     { service = "container:9229"; expose = "host:9229"; },
 *     { service = "host:5432";      expose = "container:5432"; container = "api"; }
 *   );
 *
 * A bridge's own container wins over the file's, the environment's and a
 * single -c (pair_container.c).
 *
 * This file only reads: it turns the settings into (name, text, line)
 * entries and the bridges into (service, expose, line) ones, and checks
 * the shape - a value of a type an option can take, bridges as a list of
 * groups with both members. What the names and values mean is options.c's,
 * through the same setter as the command line and the environment, so a
 * value means the same in all three. Every error names the file and the
 * line, and what was expected there.
 */

#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsbridge/cleanup.h"
#include "nsbridge/conffile.h"
#include "nsbridge/failure.h"

/**
 * struct conffile - a file read, and what it holds
 * @cf:		libconfig's tree, which owns the strings of the entries
 * @options:	settings other than bridges, @n_options of them
 * @bridges:	@n_bridges bridges; name is SERVICE, value EXPOSE
 */
struct conffile {
	config_t cf;
	struct conffile_entry *options;
	size_t n_options;
	struct conffile_entry *bridges;
	size_t n_bridges;
};

static int fail_at(struct failure *f, const char *path, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "FILE:LINE: what": exit status 2 */
static int fail_at(struct failure *f, const char *path, int line, const char *fmt, ...)
{
	int n = snprintf(f->line, sizeof(f->line), "%s:%d: ", path, line);
	va_list ap;

	f->status = EXIT_USAGE;
	if (n >= 0 && (size_t)n < sizeof(f->line)) {
		va_start(ap, fmt);
		vsnprintf(f->line + n, sizeof(f->line) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A setting's value as the text a command line would give */
static int value_text(const config_setting_t *s, struct conffile_entry *e)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		e->value = config_setting_get_string(s);
		return 0;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(e->number, sizeof(e->number), "%lld",
			 (long long)config_setting_get_int64(s));
		e->value = e->number;
		return 0;
	case CONFIG_TYPE_BOOL:
		e->value = config_setting_get_bool(s) ? "true" : "false";
		e->is_bool = true;
		return 0;
	default:
		return -EINVAL;
	}
}

/* One bridge: a group with a string service and a string expose, and
 * maybe a container, its source and proxy-protocol */
static int read_bridge(const config_setting_t *g, const char *path, struct conffile_entry *e,
		       struct failure *fail)
{
	int line = (int)config_setting_source_line(g), proxy = 0, n_known;

	*e = (struct conffile_entry){ .line = line };
	if (!config_setting_is_group(g) ||
	    !config_setting_lookup_string(g, "service", &e->name) ||
	    !config_setting_lookup_string(g, "expose", &e->value))
		return fail_at(fail, path, line, "a bridge: expected "
			       "{ service = \"SIDE:PORT\"; expose = \"SIDE:PORT\"; }");
	config_setting_lookup_string(g, "container", &e->container);
	if (e->container && !*e->container)
		return fail_at(fail, path, line, "a bridge's container: expected a REF, "
			       "not \"\"");
	config_setting_lookup_string(g, "source", &e->source);
	if (config_setting_get_member(g, "proxy-protocol") &&
	    !config_setting_lookup_bool(g, "proxy-protocol", &proxy))
		return fail_at(fail, path, line, "a bridge's proxy-protocol: expected true "
			       "or false");
	e->proxy_protocol = proxy;
	n_known = 2 + (e->container != NULL) + (e->source != NULL) +
		  (config_setting_get_member(g, "proxy-protocol") != NULL);
	if (config_setting_length(g) != n_known)
		return fail_at(fail, path, line, "a bridge: expected only service, expose, "
			       "container, source and proxy-protocol");
	return 0;
}

static int read_bridges(struct conffile *f, const config_setting_t *list, const char *path,
			struct failure *fail)
{
	int n = config_setting_length(list);

	if (!config_setting_is_list(list))
		return fail_at(fail, path, (int)config_setting_source_line(list),
			       "bridges: expected a list, ( { service = ...; expose = ...; }, ... )");
	f->bridges = calloc((size_t)n + 1, sizeof(*f->bridges));
	if (!f->bridges)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		int r = read_bridge(config_setting_get_elem(list, (unsigned)i), path,
				    &f->bridges[f->n_bridges], fail);

		if (r < 0)
			return r;
		f->n_bridges++;
	}
	return 0;
}

static int read_settings(struct conffile *f, const char *path, struct failure *fail)
{
	const config_setting_t *root = config_root_setting(&f->cf);
	int n = config_setting_length(root);

	f->options = calloc((size_t)n + 1, sizeof(*f->options));
	if (!f->options)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		struct conffile_entry *e = &f->options[f->n_options];
		int r;

		if (strcmp(config_setting_name(s), "bridges") == 0) {
			r = read_bridges(f, s, path, fail);
			if (r < 0)
				return r;
			continue;
		}
		*e = (struct conffile_entry){
			.name = config_setting_name(s),
			.line = (int)config_setting_source_line(s),
		};
		if (value_text(s, e) < 0)
			return fail_at(fail, path, e->line, "%s: expected a string, a number, "
				       "true or false", e->name);
		f->n_options++;
	}
	return 0;
}

/* _cleanup_(conffile_freep): a file read only partly, released on its way out */
DEFINE_CLEANUP_FUNC(struct conffile *, conffile_free)

/**
 * conffile_read() - read and check the shape of a --config file
 * @path:	the file
 * @ret:	what it holds, to conffile_free(); written only on success
 * @fail:	on failure, exit status 2 and one line naming the file and line, without
 *		"nsbridge: "
 *
 * Return: 0, -EINVAL with @fail set, or -ENOMEM
 */
int conffile_read(const char *path, struct conffile **ret, struct failure *fail)
{
	_cleanup_(conffile_freep) struct conffile *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;
	config_init(&f->cf);
	if (!config_read_file(&f->cf, path)) {
		if (config_error_type(&f->cf) == CONFIG_ERR_FILE_IO)
			failure_set(fail, EXIT_USAGE, -EINVAL, "--config '%s': %s", path,
				    strerror(errno));
		else
			fail_at(fail, config_error_file(&f->cf) ? config_error_file(&f->cf) : path,
				config_error_line(&f->cf), "%s: expected NAME = VALUE; settings and "
				"bridges = ( { service = ...; expose = ...; } );",
				config_error_text(&f->cf));
		return -EINVAL;
	}
	r = read_settings(f, path, fail);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(f);
	return 0;
}

/**
 * conffile_options() - the settings of a file, in its order
 * @f:		file read
 * @ret_n:	their number
 *
 * Return: the entries, owned by @f
 */
const struct conffile_entry *conffile_options(const struct conffile *f, size_t *ret_n)
{
	*ret_n = f->n_options;
	return f->options;
}

/**
 * conffile_bridges() - the bridges of a file, in its order
 * @f:		file read
 * @ret_n:	their number
 *
 * Return: the entries (name SERVICE, value EXPOSE), owned by @f
 */
const struct conffile_entry *conffile_bridges(const struct conffile *f, size_t *ret_n)
{
	*ret_n = f->n_bridges;
	return f->bridges;
}

/**
 * conffile_free() - release a file read and everything pointing into it
 * @f:		file, or NULL
 */
void conffile_free(struct conffile *f)
{
	if (!f)
		return;
	config_destroy(&f->cf);
	free(f->options);
	free(f->bridges);
	free(f);
}
