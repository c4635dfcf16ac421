/* SPDX-License-Identifier: GPL-2.0-or-later */
/* histogram.c - durations counted into fixed buckets, for --metrics
 *
 * Two durations a user debugging a bridge asks about: how long SERVICE
 * takes to answer a connect, and how long connections live. Each bridge
 * counts them in buckets fixed here, so that every bridge's (and every
 * nsbridge's) histograms add up in a query. Observing is a search of at
 * most HISTOGRAM_BUCKETS_MAX bounds and two additions; buckets hold their
 * own count, and the cumulative counts Prometheus wants are summed when
 * printed, which is rarer than observing.
 *
 * The bounds are for loopback. A connect to a listening service on the
 * same machine takes tens of microseconds; a refused or timed-out one is
 * not observed (it is counted by reason, status.c); the slowest that
 * succeeds is cut by --connect-timeout, 5 s by default, up to minutes if
 * given. A connection lives from a request's milliseconds to a debugging
 * session's hours.
 */

#include "nsbridge/histogram.h"

#define MS	1000ULL
#define S	1000000ULL

const struct histogram_buckets histogram_connect = {
	.name = "connect",
	.le_us = { 25, 50, 100, 250, 500, 1 * MS, 2500, 5 * MS, 10 * MS, 25 * MS, 50 * MS,
		   100 * MS, 250 * MS, 500 * MS, 1 * S, 2500 * MS, 5 * S, 10 * S, 30 * S, 60 * S },
	.n = 20,
};

const struct histogram_buckets histogram_lifetime = {
	.name = "lifetime",
	.le_us = { 1 * MS, 10 * MS, 100 * MS, 1 * S, 10 * S, 60 * S, 300 * S, 1800 * S,
		   3600 * S, 6 * 3600 * S, 24 * 3600 * S },
	.n = 11,
};

/**
 * histogram_observe() - count one duration
 * @h:		histogram
 * @b:		its buckets
 * @us:		the duration, in microseconds
 */
void histogram_observe(struct histogram *h, const struct histogram_buckets *b, uint64_t us)
{
	unsigned i = 0;

	while (i < b->n && us > b->le_us[i])
		i++;
	h->count[i]++;
	h->total++;
	h->sum_us += us;
}

/**
 * histogram_cumulative() - observations at or below the bound of @bucket
 * @h:		histogram
 * @bucket:	index of a bound; its number of bounds for +Inf
 *
 * Return: the count Prometheus calls the bucket's
 */
uint64_t histogram_cumulative(const struct histogram *h, unsigned bucket)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i <= bucket; i++)
		sum += h->count[i];
	return sum;
}
