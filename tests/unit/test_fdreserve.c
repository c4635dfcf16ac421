/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_fdreserve.c - the descriptors held back for nsbridge status and --metrics
 *
 * EMFILE is real: the tests lower RLIMIT_NOFILE to what is open, as
 * client connections would have taken everything else.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "fdcount.h"
#include "nsbridge/fdreserve.h"

#define SPARES	4

static struct rlimit saved;

/* Below it every descriptor is taken: as RLIMIT_NOFILE, no new one fits */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

/* Every descriptor taken from now on */
static void use_every_descriptor(void)
{
	struct rlimit tight = saved;

	tight.rlim_cur = (rlim_t)lowest_free_fd();
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
	assert_int_equal(dup(0), -1);
	assert_int_equal(errno, EMFILE);
}

static int setup(void **state)
{
	(void)state;
	return getrlimit(RLIMIT_NOFILE, &saved);
}

static int teardown(void **state)
{
	(void)state;
	fdreserve_release();
	return setrlimit(RLIMIT_NOFILE, &saved);
}

/* The anchor and the spares, all closed again on release */
static void init_holds_spares_release_closes(void **state)
{
	int before = open_fd_count();

	assert_int_equal(fdreserve_init(), 0);
	assert_int_equal(fdreserve_spares(), SPARES);
	assert_int_equal(open_fd_count(), before + 1 + SPARES);
	fdreserve_release();
	assert_int_equal(open_fd_count(), before);
}

/* At the limit, lending gives exactly the spares; closing gives them back */
static void lend_at_the_limit(void **state)
{
	int readers[SPARES];

	assert_int_equal(fdreserve_init(), 0);
	use_every_descriptor();
	fdreserve_lend();
	for (int i = 0; i < SPARES; i++)
		assert_true((readers[i] = dup(0)) >= 0);
	assert_int_equal(dup(0), -1);
	fdreserve_refill();
	assert_int_equal(fdreserve_spares(), 0);

	close(readers[0]);
	fdreserve_refill();
	assert_int_equal(fdreserve_spares(), 1);
	for (int i = 1; i < SPARES; i++)
		close(readers[i]);
	fdreserve_refill();
	assert_int_equal(fdreserve_spares(), SPARES);
	assert_int_equal(dup(0), -1);	/* the reserve took them first */
}

/* A placeholder exists only where a descriptor is free */
static void placeholder_needs_room(void **state)
{
	int fd;

	assert_int_equal(fdreserve_init(), 0);
	fd = fdreserve_placeholder();
	assert_true(fd >= 0);
	close(fd);
	use_every_descriptor();
	assert_int_equal(fdreserve_placeholder(), -EMFILE);
	assert_int_equal(fdreserve_spares(), SPARES);	/* never the reserve's */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(init_holds_spares_release_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(lend_at_the_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(placeholder_needs_room, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
