/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h - one line per event on stderr, text or JSON, with rate limits */
#ifndef NSBRIDGE_LOG_H
#define NSBRIDGE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_NOTICE,	/* ready lines: shown even with -q */
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_MAX,
};

enum log_format {
	LOG_FORMAT_TEXT,
	LOG_FORMAT_JSON,
	LOG_FORMAT_MAX,
};

/**
 * struct ratelimit - at most @burst messages per @interval_ms
 * @interval_ms:	length of a window
 * @burst:		messages allowed in one window
 * @begin_ms:		start of the current window
 * @printed:		messages printed in the current window
 * @missed:		messages suppressed in the current window
 */
struct ratelimit {
	uint64_t interval_ms;
	unsigned burst;
	uint64_t begin_ms;
	unsigned printed;
	unsigned missed;
};

/**
 * struct log_field - one named value a JSON log line carries besides its
 *		      message; text lines say it in the message instead
 * @key:	JSON member name
 * @str:	string value, or NULL for @num
 * @num:	number value
 */
struct log_field {
	const char *key;
	const char *str;
	uint64_t num;
};

#define LOG_STR(k, v)	((struct log_field){ .key = (k), .str = (v) })
#define LOG_NUM(k, v)	((struct log_field){ .key = (k), .num = (uint64_t)(v) })

/* log_fields() with the fields given as an array literal */
#define log_with(level, fields, ...) \
	log_fields((level), (fields), sizeof(fields) / sizeof((fields)[0]), __VA_ARGS__)

#define RATELIMIT_INIT(ms, n)	{ .interval_ms = (ms), .burst = (n) }

void log_setup(int verbosity, enum log_format format);
enum log_format log_get_format(void);
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_fields(enum log_level level, const struct log_field *fields, size_t n_fields,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int log_errno(enum log_level level, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool ratelimit_pass(struct ratelimit *rl, uint64_t now_ms, unsigned *ret_missed);

#define log_error(...)	log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)	do { if (log_enabled(LOG_LEVEL_DEBUG)) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

#endif /* NSBRIDGE_LOG_H */
