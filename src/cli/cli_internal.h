/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli_internal.h - what the files of the command line share, and nothing else
 *
 * The config layer reads the command line, NSBRIDGE_* and --config into a
 * struct config in five files: cli.c (cli_parse(), the order of the
 * layers), options.c (the table of options), pairs.c (SERVICE EXPOSE
 * pairs), pair_container.c (which container a pair is for) and help.c (--help).
 * include/nsbridge/cli.h is what the rest of nsbridge sees of them; this
 * header is only for the five, which is why it is not under
 * include/nsbridge/. Calls go one way: cli.c calls pairs.c, pair_container.c and
 * options.c; pairs.c calls pair_container.c and options.c; pair_container.c and help.c call
 * options.c, which calls none of them.
 */
#ifndef NSBRIDGE_CLI_INTERNAL_H
#define NSBRIDGE_CLI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsbridge/cli.h"

/* Room for what option_expected() writes */
#define OPTION_EXPECTED_MAX	64

/* The one line a parse fails with, exit status 2; -EINVAL to return with it */
#define cli_fail(f, ...)	failure_set(f, EXIT_USAGE, -EINVAL, __VA_ARGS__)

/* options.c */
const struct cli_option *option_by_name(const char *name);
const struct cli_option *option_by_val(int val);
bool option_takes_value(const struct cli_option *o);
bool option_takes_next(const char *arg);
const char *option_getenv(const struct cli_option *o);
const char *option_expected(const struct cli_option *o, char *buf, size_t len);
int option_apply(struct config *cfg, const struct cli_option *o, const char *value);
void options_apply_environment(struct config *cfg, uint64_t *ret_bad);
int options_check_environment(uint64_t bad, uint64_t given, struct failure *f);
int options_apply_command_line(int argc, char *argv[], struct config *cfg, uint64_t *given,
			       struct failure *f);

/* pair_container.c */
int pair_container_scan(int argc, char *argv[], struct config *cfg);
const char *pair_container_ref(const struct config *cfg, size_t pair, const char **ret_split);
int pair_container_place(struct config *cfg, struct bridge_spec *b, struct failure *f);

/* sources.c */
int cli_set_source(struct config *cfg, const char *value);
int cli_set_labels_sources(struct config *cfg, const char *value);
int sources_resolve(struct config *cfg, struct failure *f);

/* pairs.c */
int pairs_parse(struct config *cfg, int n_args, char *args[], struct failure *f);

#endif /* NSBRIDGE_CLI_INTERNAL_H */
