/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c - one line per event on stderr, text or JSON, with rate limits */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nsbridge/log.h"

static enum log_level max_level = LOG_LEVEL_INFO;
static enum log_format format = LOG_FORMAT_TEXT;

static const char *const level_names[LOG_LEVEL_MAX] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/**
 * log_setup() - choose what is printed and how
 * @verbosity:	0 normal, > 0 adds debug, < 0 keeps errors and ready lines
 * @fmt:	text or JSON lines
 */
void log_setup(int verbosity, enum log_format fmt)
{
	if (verbosity > 0)
		max_level = LOG_LEVEL_DEBUG;
	else if (verbosity < 0)
		max_level = LOG_LEVEL_NOTICE;
	else
		max_level = LOG_LEVEL_INFO;
	format = fmt;
}

/**
 * log_get_format() - text or JSON, as log_setup() chose
 *
 * Return: the format
 */
enum log_format log_get_format(void)
{
	return format;
}

/**
 * log_enabled() - whether a message of @level would be printed
 * @level:	level to check
 *
 * Return: true when printed; callers skip formatting costly details otherwise
 */
bool log_enabled(enum log_level level)
{
	if (level == LOG_LEVEL_WARNING && max_level == LOG_LEVEL_NOTICE)
		return false;	/* -q: errors and ready lines only */
	return level <= max_level;
}

static void json_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
}

static void json_field(FILE *f, const struct log_field *field)
{
	fputs(",\"", f);
	json_escape(f, field->key);
	if (field->str) {
		fputs("\":\"", f);
		json_escape(f, field->str);
		fputc('"', f);
	} else {
		fprintf(f, "\":%llu", (unsigned long long)field->num);
	}
}

static __attribute__((format(printf, 4, 0)))
void log_vmsg(enum log_level level, const struct log_field *fields, size_t n_fields,
	      const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (format == LOG_FORMAT_JSON) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		flockfile(stderr);
		fprintf(stderr, "{\"time\":%lld.%03ld,\"level\":\"%s\",\"msg\":\"",
			(long long)ts.tv_sec, ts.tv_nsec / 1000000, level_names[level]);
		json_escape(stderr, line);
		fputc('"', stderr);
		for (size_t i = 0; i < n_fields; i++)
			json_field(stderr, &fields[i]);
		fputs("}\n", stderr);
		funlockfile(stderr);
	} else {
		fprintf(stderr, "nsbridge: %s\n", line);
	}
}

/**
 * log_msg() - print one line at @level
 * @level:	severity
 * @fmt:	printf format, no trailing newline
 */
void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vmsg(level, NULL, 0, fmt, ap);
	va_end(ap);
}

/**
 * log_fields() - print one line at @level with named values for JSON logs
 * @level:	severity
 * @fields:	@n_fields values, members of the JSON object after "msg"
 * @n_fields:	how many
 * @fmt:	printf format of the message, which says the same for people
 */
void log_fields(enum log_level level, const struct log_field *fields, size_t n_fields,
		const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vmsg(level, fields, n_fields, fmt, ap);
	va_end(ap);
}

/**
 * log_errno() - print one line ending in the text of error @r, return @r
 * @level:	severity
 * @r:		negative errno value
 * @fmt:	printf format of what failed
 *
 * Return: @r, so that callers log and return in one statement
 */
int log_errno(enum log_level level, int r, const char *fmt, ...)
{
	char what[768];
	va_list ap;

	if (!log_enabled(level))
		return r;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_msg(level, "%s: %s", what, strerror(r < 0 ? -r : r));
	return r;
}

/**
 * ratelimit_pass() - whether one more message fits in the current window
 * @rl:		limiter state
 * @now_ms:	monotonic time
 * @ret_missed:	set, on a pass that opens a new window, to the messages
 *		suppressed in the window before; 0 otherwise
 *
 * Return: true if the caller may print
 */
bool ratelimit_pass(struct ratelimit *rl, uint64_t now_ms, unsigned *ret_missed)
{
	*ret_missed = 0;
	if (rl->begin_ms == 0 || now_ms - rl->begin_ms >= rl->interval_ms) {
		*ret_missed = rl->missed;
		rl->begin_ms = now_ms ? now_ms : 1;
		rl->printed = 0;
		rl->missed = 0;
	}
	if (rl->printed < rl->burst) {
		rl->printed++;
		return true;
	}
	rl->missed++;
	return false;
}
