/* SPDX-License-Identifier: GPL-2.0-or-later */
/* help.c - nsbridge --help and --version
 *
 * The option lines of --help are made from the rows of options.c that
 * have a help text, in their order; a row with @join goes on the line of
 * the one before it. The free text around them names the few options
 * that have no line of their own.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "nsbridge/cli.h"

#include "cli_internal.h"

#define HELP_COLUMN	27

/* Help text; a "\n" in it goes on in the help column of the next line */
static void print_help_text(const char *text)
{
	for (; *text; text++)
		if (*text == '\n')
			printf("\n%*s", HELP_COLUMN, "");
		else
			putchar(*text);
}

/* "  -v, --verbose", "      --[no-]follow", "      --max-connections N" */
static void print_option_start(const struct cli_option *o)
{
	char no[64], lead[96];

	snprintf(no, sizeof(no), "no-%s", o->name);
	snprintf(lead, sizeof(lead), "  %c%c%c --%s%s%s%s", o->short_name ? '-' : ' ',
		 o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ',
		 option_by_name(no) ? "[no-]" : "", o->name, o->arg ? " " : "",
		 o->arg ? o->arg : "");
	printf("%-*s ", HELP_COLUMN - 1, lead);
}

/* "; --max-udp-flows N", "; -q": an option joined to the one before */
static void print_option_joined(const struct cli_option *o)
{
	print_help_text(o->join);
	if (o->short_name)
		printf("-%c", o->short_name);
	else
		printf("--%s", o->name);
	if (o->arg)
		printf(" %s", o->arg);
}

/* The option lines of --help, from the rows that have help */
static void print_options_help(void)
{
	size_t n;
	const struct cli_option *options = cli_options(&n);
	bool started = false;

	for (size_t i = 0; i < n; i++) {
		const struct cli_option *o = &options[i];

		if (!o->help)
			continue;
		if (o->join) {
			print_option_joined(o);
		} else {
			if (started)
				putchar('\n');
			print_option_start(o);
			started = true;
		}
		print_help_text(o->help);
	}
	if (started)
		putchar('\n');
}

/**
 * cli_print_help() - the usage screen, on stdout
 */
void cli_print_help(void)
{
	fputs(
"Usage: nsbridge [OPTIONS] SERVICE EXPOSE [...] [-- CMD [ARG...]]\n"
"       nsbridge ports|status [--watch] | add|remove [PID] [SERVICE] EXPOSE | -h\n"
"SERVICE is where it listens now, EXPOSE where it should appear (cp SRC DEST):\n"
"  nsbridge -c web host:5432 container:5432   host's 127.0.0.1:5432 inside web\n"
"  nsbridge -c web container:9229 host:9229   web's debugger on the host\n"
"Endpoints: host|container:[ADDR:]PORT[-LAST][/udp], or unix:PATH for SERVICE.\n"
"  No ADDR: EXPOSE binds 127.0.0.1 and [::1]; SERVICE is 127.0.0.1 (TCP: or ::1).\n"
"  SERVICE,SERVICE...: round-robin. EXPOSE port 0: any free; --port-file FILE\n"
"-- CMD: run CMD once ready, with $NSBRIDGE_PORT; pass it SIGTERM; exit with it\n",
	      stdout);
	print_options_help();
	fputs(
"Durations 500ms, 5s, 2m, 1h. NSBRIDGE_<OPTION> beats --config; a flag beats both\n"
"Exit: 0 ok, 1 failure, 2 usage, 3 port in use, 4 no container, 5 no privilege.\n",
	      stdout);
}

/**
 * cli_print_version() - the version line, on stdout
 */
void cli_print_version(void)
{
	printf("nsbridge %s\n", NSBRIDGE_VERSION);
}
