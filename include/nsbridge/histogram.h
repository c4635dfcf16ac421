/* SPDX-License-Identifier: GPL-2.0-or-later */
/* histogram.h - durations counted into fixed buckets, for --metrics */
#ifndef NSBRIDGE_HISTOGRAM_H
#define NSBRIDGE_HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_BUCKETS_MAX	20

/**
 * struct histogram_buckets - the upper bounds of a histogram's buckets
 * @name:	what it measures, for the code that prints it
 * @le_us:	each bucket's inclusive upper bound, in microseconds, rising;
 *		a last bucket without bound (+Inf) is implied
 * @n:		bounds in @le_us
 */
struct histogram_buckets {
	const char *name;
	uint64_t le_us[HISTOGRAM_BUCKETS_MAX];
	unsigned n;
};

/**
 * struct histogram - observations, Prometheus-style
 * @count:	in each bucket alone (not cumulative); [n] is above the last bound
 * @total:	observations in all
 * @sum_us:	their sum, in microseconds
 */
struct histogram {
	uint64_t count[HISTOGRAM_BUCKETS_MAX + 1];
	uint64_t total;
	uint64_t sum_us;
};

extern const struct histogram_buckets histogram_connect;
extern const struct histogram_buckets histogram_lifetime;

void histogram_observe(struct histogram *h, const struct histogram_buckets *b, uint64_t us);
uint64_t histogram_cumulative(const struct histogram *h, unsigned bucket);

#endif /* NSBRIDGE_HISTOGRAM_H */
