/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_histogram.c - durations into buckets, and the cumulative counts
 * Prometheus reads: a bound is inclusive ("le"), the last bucket has none */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nsbridge/histogram.h"

static void bounds_are_inclusive(void **state)
{
	struct histogram h = { 0 };

	histogram_observe(&h, &histogram_connect, 25);	/* le 0.000025 */
	histogram_observe(&h, &histogram_connect, 26);	/* le 0.00005 */
	histogram_observe(&h, &histogram_connect, 0);
	assert_int_equal(h.count[0], 2);
	assert_int_equal(h.count[1], 1);
	assert_int_equal(h.total, 3);
	assert_int_equal(h.sum_us, 51);
}

static void above_the_last_bound_is_inf(void **state)
{
	const struct histogram_buckets *b = &histogram_lifetime;
	struct histogram h = { 0 };

	histogram_observe(&h, b, b->le_us[b->n - 1]);
	histogram_observe(&h, b, b->le_us[b->n - 1] + 1);
	assert_int_equal(h.count[b->n - 1], 1);
	assert_int_equal(h.count[b->n], 1);
	assert_int_equal(histogram_cumulative(&h, b->n - 1), 1);
	assert_int_equal(histogram_cumulative(&h, b->n), 2);	/* +Inf: every one */
}

static void cumulative_rises_to_the_total(void **state)
{
	const struct histogram_buckets *b = &histogram_connect;
	struct histogram h = { 0 };
	uint64_t last = 0;

	for (uint64_t us = 1; us < 100000000; us *= 3)
		histogram_observe(&h, b, us);
	for (unsigned k = 0; k <= b->n; k++) {
		uint64_t c = histogram_cumulative(&h, k);

		assert_true(c >= last);
		last = c;
	}
	assert_int_equal(last, h.total);
}

static void bounds_rise(void **state)
{
	const struct histogram_buckets *all[] = { &histogram_connect, &histogram_lifetime };

	for (size_t i = 0; i < 2; i++) {
		assert_true(all[i]->n > 0 && all[i]->n <= HISTOGRAM_BUCKETS_MAX);
		for (unsigned k = 1; k < all[i]->n; k++)
			assert_true(all[i]->le_us[k] > all[i]->le_us[k - 1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bounds_are_inclusive),
		cmocka_unit_test(above_the_last_bound_is_inf),
		cmocka_unit_test(cumulative_rises_to_the_total),
		cmocka_unit_test(bounds_rise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
