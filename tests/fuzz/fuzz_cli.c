/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_cli.c - libFuzzer target: the endpoint grammar and the command line
 *
 * The input is split at NUL bytes into at most MAX_ARGS arguments. Each
 * goes through endpoint_parse() alone, then all of them through
 * cli_parse() as a command line; a config that parses is checked for what
 * cli_parse() promises and freed. ASan and UBSan, which the fuzz build
 * runs under, turn any overflow or undefined step into a crash.
 */

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nsbridge/cli.h"
#include "nsbridge/endpoint.h"

#define MAX_ARGS	16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_endpoint(const char *text)
{
	struct endpoint ep;
	const char *why = NULL;

	if (endpoint_parse(text, &ep, &why) < 0) {
		assert(why && *why);
		return;
	}
	/* port 0 (any free port) only alone, never in a range */
	assert(ep.kind == ENDPOINT_UNIX ||
	       (ep.port_first <= ep.port_last && (ep.port_first > 0 || ep.port_last == 0)));
	assert(endpoint_port_count(&ep) >= 1);
}

static void check_config(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_bridges; i++) {
		const struct bridge_spec *b = &cfg->bridges[i];

		assert(endpoint_port_count(&b->expose) >= 1);
		assert(b->mirror || b->service.kind == ENDPOINT_UNIX ||
		       endpoint_port_count(&b->service) == endpoint_port_count(&b->expose));
		assert(b->n_services >= 1 && b->n_services <= SERVICES_MAX);
		assert(memcmp(&b->services[0], &b->service, sizeof(b->service)) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *argv[MAX_ARGS + 2] = { "nsbridge" };
	struct failure f = FAILURE_INIT;
	struct config cfg;
	int argc = 1;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (char *p = copy; argc <= MAX_ARGS && p <= copy + size; p += strlen(p) + 1) {
		check_endpoint(p);
		argv[argc++] = p;
	}
	argv[argc] = NULL;
	/* the grammar is the target, not the filesystem: --config (and the
	 * prefixes getopt_long takes for it) would read whatever file it names */
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "--conf", 6) == 0) {
			free(copy);
			return 0;
		}
	if (cli_parse(argc, argv, &cfg, &f) == 0) {
		check_config(&cfg);
		config_free(&cfg);
	} else {
		/* one line, as long as a parse's lines ever were, and a status */
		assert(f.line[0] != '\0' && strlen(f.line) < CLI_ERROR_MAX);
		assert(f.status != EXIT_OK);
	}
	free(copy);
	return 0;
}
