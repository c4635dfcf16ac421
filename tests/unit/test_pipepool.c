/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_pipepool.c - the pipe pool when descriptors or pipe pages run out
 *
 * EMFILE is real: the test lowers RLIMIT_NOFILE to what is open. What a
 * kernel will not do on demand is mocked through -Wl,--wrap: ENFILE (the
 * system-wide file table full) from pipe2(), and the refusal of
 * F_SETPIPE_SZ (the per-user pipe page limit, which root does not hit)
 * from fcntl64, the symbol glibc's fcntl is in the library. The mock
 * also checks that no pipe holding bytes is ever shrunk (growing one, for
 * bulk, is safe). The log lines
 * about the fall-back and the recovery are read from stderr, sent to a
 * file.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "fdcount.h"
#include "nsbridge/pipepool.h"

#define BIG_PIPE	(256 * 1024)
#define DEFAULT_PIPE	65536

static bool refuse_pipe_size;		/* F_SETPIPE_SZ fails with EPERM */
static int setpipe_calls;
static int pipe2_errno;			/* pipe2 fails with it, 0 = real */
static int pipe2_left;			/* real pipes before it fails */

int __real_fcntl64(int fd, int cmd, ...);
int __wrap_fcntl64(int fd, int cmd, ...);
int __real_pipe2(int fds[2], int flags);
int __wrap_pipe2(int fds[2], int flags);

int __wrap_pipe2(int fds[2], int flags)
{
	if (pipe2_errno && pipe2_left-- <= 0) {
		errno = pipe2_errno;
		return -1;
	}
	return __real_pipe2(fds, flags);
}

int __wrap_fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	if (cmd == F_SETPIPE_SZ) {
		int queued = -1;

		assert_int_equal(ioctl(fd, FIONREAD, &queued), 0);
		if (queued)	/* never shrink a pipe that holds bytes */
			assert_true(arg >= __real_fcntl64(fd, F_GETPIPE_SZ, 0L));
		setpipe_calls++;
		if (refuse_pipe_size) {
			errno = EPERM;
			return -1;
		}
	}
	return __real_fcntl64(fd, cmd, arg);
}

/* Below it every descriptor is taken: as RLIMIT_NOFILE, no new one fits */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

static FILE *log_file;		/* stderr goes here during a test */
static int saved_stderr = -1;

/* Lines logged so far that contain @needle */
static int logged(const char *needle)
{
	char line[512];
	int n = 0;

	fflush(stderr);
	rewind(log_file);
	while (fgets(line, sizeof(line), log_file))
		n += strstr(line, needle) != NULL;
	return n;
}

static int setup(void **state)
{
	refuse_pipe_size = false;
	setpipe_calls = 0;
	pipe2_errno = 0;
	pipe2_left = 0;
	log_file = tmpfile();
	assert_non_null(log_file);
	fflush(stderr);
	saved_stderr = dup(2);
	assert_true(dup2(fileno(log_file), 2) == 2);
	return 0;
}

static int teardown(void **state)
{
	pipepool_release();
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	fclose(log_file);
	return 0;
}

#define FELL_BACK	"pipes cannot grow to 262144 bytes"
#define RECOVERED	"pipes hold 262144 bytes again"

/* A pipe taken holds nothing, and one given back is reused */
static void take_put_reuses_pipes(void **state)
{
	struct pipe_pair a, b;

	pipepool_init(BIG_PIPE, 2);
	assert_int_equal(pipepool_idle(), 2);
	assert_int_equal(pipepool_pipe_size(), BIG_PIPE);
	assert_int_equal(pipepool_take(&a), 0);
	assert_int_equal(fcntl(a.wr, F_GETPIPE_SZ), BIG_PIPE);
	assert_int_equal(pipepool_idle(), 1);
	pipepool_put(&a);
	assert_int_equal(a.rd, -1);
	assert_int_equal(pipepool_idle(), 2);
	assert_int_equal(pipepool_take(&b), 0);
	pipepool_put(&b);
}

/* Beyond the kept count, a pipe given back is closed */
static void put_beyond_kept_closes(void **state)
{
	struct pipe_pair p[3];
	int before;

	pipepool_init(BIG_PIPE, 2);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pipepool_take(&p[i]), 0);
	before = open_fd_count();
	for (int i = 0; i < 3; i++)
		pipepool_put(&p[i]);
	assert_int_equal(pipepool_idle(), 2);
	assert_int_equal(open_fd_count(), before - 2);	/* two kept, the third closed */
}

/* Out of descriptors: -EMFILE, nothing leaked; it works again after */
static void take_without_descriptors_is_emfile(void **state)
{
	struct rlimit old, tight;
	struct pipe_pair p = PIPE_PAIR_NONE, q;

	pipepool_init(BIG_PIPE, 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	tight = old;
	tight.rlim_cur = (rlim_t)lowest_free_fd();	/* no room for a pipe's two fds */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
	assert_int_equal(pipepool_take(&p), -EMFILE);
	assert_int_equal(p.rd, -1);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(pipepool_take(&q), 0);
	assert_true(write(q.wr, "x", 1) == 1);
	pipepool_discard(&q);
}

/* The system's file table full: -ENFILE, nothing opened; it works again after */
static void take_with_file_table_full_is_enfile(void **state)
{
	struct pipe_pair p = PIPE_PAIR_NONE, q;
	int before;

	pipepool_init(BIG_PIPE, 0);
	before = open_fd_count();
	pipe2_errno = ENFILE;
	assert_int_equal(pipepool_take(&p), -ENFILE);
	assert_int_equal(p.rd, -1);
	assert_int_equal(p.wr, -1);
	assert_int_equal(open_fd_count(), before);
	pipe2_errno = 0;
	assert_int_equal(pipepool_take(&q), 0);
	assert_int_equal(fcntl(q.wr, F_GETPIPE_SZ), BIG_PIPE);
	pipepool_discard(&q);
}

/* Stocking stops at the first failure instead of spinning, and the pool
 * fills up later, when pipes can be made again */
static void stocking_stops_when_pipes_run_out(void **state)
{
	pipe2_errno = EMFILE;
	pipe2_left = 2;
	pipepool_init(BIG_PIPE, 4);
	assert_int_equal(pipepool_idle(), 2);
	pipepool_top_up();
	assert_int_equal(pipepool_idle(), 2);
	pipe2_errno = 0;
	pipepool_top_up();
	assert_int_equal(pipepool_idle(), 4);
}

/* F_SETPIPE_SZ refused: default-sized pipes that say their size, one
 * log line, and every new pipe tries again */
static void refused_pipe_size_falls_back(void **state)
{
	struct pipe_pair a, b;

	refuse_pipe_size = true;
	pipepool_init(BIG_PIPE, 0);
	assert_false(pipepool_short());
	assert_int_equal(pipepool_take(&a), 0);
	assert_true(pipepool_short());
	assert_int_equal(pipepool_pipe_size(), DEFAULT_PIPE);
	assert_int_equal(a.size, DEFAULT_PIPE);
	assert_int_equal(fcntl(a.wr, F_GETPIPE_SZ), DEFAULT_PIPE);
	assert_int_equal(pipepool_take(&b), 0);
	assert_int_equal(setpipe_calls, 2);
	assert_int_equal(b.size, DEFAULT_PIPE);
	assert_int_equal(logged(FELL_BACK), 1);
	assert_int_equal(logged("they hold 65536 bytes"), 1);
	pipepool_discard(&a);
	pipepool_discard(&b);
	assert_int_equal(logged(RECOVERED), 0);	/* nothing grew yet */
}

/* Once pages are free, small pipes kept grow when taken again, and the
 * recovery is logged once, when no small pipe is left */
static void small_pipes_grow_back(void **state)
{
	struct pipe_pair a, b;

	refuse_pipe_size = true;
	pipepool_init(BIG_PIPE, 2);
	assert_int_equal(pipepool_idle(), 2);
	assert_true(pipepool_short());
	refuse_pipe_size = false;
	assert_int_equal(pipepool_take(&a), 0);
	assert_int_equal(a.size, BIG_PIPE);
	assert_int_equal(fcntl(a.wr, F_GETPIPE_SZ), BIG_PIPE);
	assert_int_equal(pipepool_pipe_size(), BIG_PIPE);
	assert_true(pipepool_short());	/* the other kept pipe is still small */
	assert_int_equal(logged(RECOVERED), 0);
	assert_int_equal(pipepool_take(&b), 0);
	assert_int_equal(b.size, BIG_PIPE);
	assert_false(pipepool_short());
	assert_int_equal(logged(FELL_BACK), 1);
	assert_int_equal(logged(RECOVERED), 1);
	pipepool_put(&a);
	pipepool_put(&b);
	assert_int_equal(pipepool_take(&a), 0);
	pipepool_put(&a);
	assert_int_equal(logged(FELL_BACK), 1);
	assert_int_equal(logged(RECOVERED), 1);
}

/* A small pipe that holds bytes is left as it is, and closing it ends
 * the fall-back if pipes grow again */
static void pipe_with_bytes_is_not_resized(void **state)
{
	struct pipe_pair a, b;

	refuse_pipe_size = true;
	pipepool_init(BIG_PIPE, 0);
	assert_int_equal(pipepool_take(&a), 0);
	assert_true(write(a.wr, "in flight", 9) == 9);
	refuse_pipe_size = false;
	assert_int_equal(pipepool_take(&b), 0);	/* the mock checks a is not touched */
	assert_int_equal(b.size, BIG_PIPE);
	assert_true(pipepool_short());
	assert_int_equal(fcntl(a.wr, F_GETPIPE_SZ), DEFAULT_PIPE);
	pipepool_discard(&a);
	assert_false(pipepool_short());
	assert_int_equal(logged(RECOVERED), 1);
	pipepool_discard(&b);
}

/* A limit at the edge, granting one pipe and refusing the next, does not
 * make the log flap: the recovery waits for the last small pipe */
static void edge_of_the_limit_does_not_flap(void **state)
{
	struct pipe_pair p[7];

	refuse_pipe_size = true;
	pipepool_init(BIG_PIPE, 0);
	for (int i = 0; i < 7; i++) {
		refuse_pipe_size = i % 2 == 0;	/* refused, granted, ..., refused */
		assert_int_equal(pipepool_take(&p[i]), 0);
		assert_true(pipepool_short());
	}
	for (int i = 0; i < 7; i++)
		pipepool_discard(&p[i]);
	assert_int_equal(logged(FELL_BACK), 1);
	assert_true(pipepool_short());	/* the last attempt was refused */
	assert_int_equal(logged(RECOVERED), 0);
	refuse_pipe_size = false;
	assert_int_equal(pipepool_take(&p[0]), 0);
	assert_false(pipepool_short());
	assert_int_equal(logged(RECOVERED), 1);
	pipepool_discard(&p[0]);
}

/* At rest, top-up grows the small pipes kept, and while pages are short
 * tries at most once a call */
static void top_up_grows_kept_pipes(void **state)
{
	struct pipe_pair p;
	int before;

	refuse_pipe_size = true;
	pipepool_init(BIG_PIPE, 4);
	before = setpipe_calls;
	pipepool_top_up();
	assert_int_equal(setpipe_calls, before + 1);
	assert_true(pipepool_short());
	refuse_pipe_size = false;
	pipepool_top_up();
	assert_false(pipepool_short());
	assert_int_equal(logged(RECOVERED), 1);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pipepool_take(&p), 0);
		assert_int_equal(fcntl(p.wr, F_GETPIPE_SZ), BIG_PIPE);
		pipepool_discard(&p);
	}
}

/* Pipes discarded with bytes in them are replaced by top-up */
static void top_up_replaces_discarded_pipes(void **state)
{
	struct pipe_pair p[2];

	pipepool_init(BIG_PIPE, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pipepool_take(&p[i]), 0);
		assert_true(write(p[i].wr, "left over", 9) == 9);
		pipepool_discard(&p[i]);
	}
	assert_int_equal(pipepool_idle(), 0);
	pipepool_top_up();
	assert_int_equal(pipepool_idle(), 2);
}

#define BULK_PIPE	(1024 * 1024)

/* A pipe its direction filled grows to the bulk size with its bytes in
 * it, and is shrunk back when given back empty */
static void bulk_pipe_grows_and_shrinks_back(void **state)
{
	char buf[16];
	struct pipe_pair a;

	pipepool_init(BIG_PIPE, 2);
	pipepool_set_bulk(BULK_PIPE, 32);
	assert_int_equal(pipepool_take(&a), 0);
	assert_true(write(a.wr, "in flight", 9) == 9);
	assert_true(pipepool_grow_bulk(&a));
	assert_int_equal(a.size, BULK_PIPE);
	assert_int_equal(fcntl(a.wr, F_GETPIPE_SZ), BULK_PIPE);
	assert_false(pipepool_grow_bulk(&a));	/* grown already */
	assert_true(read(a.rd, buf, sizeof(buf)) == 9);
	assert_memory_equal(buf, "in flight", 9);
	pipepool_put(&a);
	assert_int_equal(pipepool_take(&a), 0);	/* the same pipe, shrunk */
	assert_int_equal(a.size, BIG_PIPE);
	assert_int_equal(fcntl(a.wr, F_GETPIPE_SZ), BIG_PIPE);
	pipepool_put(&a);
}

/* At most so many pipes are grown at once; one given back makes room */
static void bulk_pipes_are_bounded(void **state)
{
	struct pipe_pair p[3];

	pipepool_init(BIG_PIPE, 0);
	pipepool_set_bulk(BULK_PIPE, 2);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pipepool_take(&p[i]), 0);
	assert_true(pipepool_grow_bulk(&p[0]));
	assert_true(pipepool_grow_bulk(&p[1]));
	assert_false(pipepool_grow_bulk(&p[2]));
	assert_int_equal(p[2].size, BIG_PIPE);
	pipepool_discard(&p[0]);
	assert_true(pipepool_grow_bulk(&p[2]));
	pipepool_discard(&p[1]);
	pipepool_discard(&p[2]);
}

/* A refused growth is not asked again until a grown pipe gives its
 * pages back; while pipes are short of pages, none is asked at all */
static void refused_bulk_growth_waits_for_pages(void **state)
{
	struct pipe_pair a, b, c;
	int calls;

	pipepool_init(BIG_PIPE, 0);
	pipepool_set_bulk(BULK_PIPE, 32);
	assert_int_equal(pipepool_take(&a), 0);
	assert_int_equal(pipepool_take(&b), 0);
	assert_int_equal(pipepool_take(&c), 0);
	assert_true(pipepool_grow_bulk(&a));
	refuse_pipe_size = true;
	assert_false(pipepool_grow_bulk(&b));
	calls = setpipe_calls;
	assert_false(pipepool_grow_bulk(&c));
	assert_int_equal(setpipe_calls, calls);
	refuse_pipe_size = false;
	assert_false(pipepool_grow_bulk(&c));	/* still waiting for pages */
	pipepool_discard(&a);
	assert_true(pipepool_grow_bulk(&b));
	assert_int_equal(logged(FELL_BACK), 0);	/* the base size was never short */
	pipepool_discard(&b);
	pipepool_discard(&c);

	refuse_pipe_size = true;
	pipepool_init(BIG_PIPE, 0);
	pipepool_set_bulk(BULK_PIPE, 32);
	assert_int_equal(pipepool_take(&a), 0);
	assert_true(pipepool_short());
	calls = setpipe_calls;
	refuse_pipe_size = false;
	assert_false(pipepool_grow_bulk(&a));	/* short of pages: not asked */
	assert_int_equal(setpipe_calls, calls);
	pipepool_discard(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(take_put_reuses_pipes, setup, teardown),
		cmocka_unit_test_setup_teardown(put_beyond_kept_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(take_without_descriptors_is_emfile, setup, teardown),
		cmocka_unit_test_setup_teardown(take_with_file_table_full_is_enfile, setup, teardown),
		cmocka_unit_test_setup_teardown(stocking_stops_when_pipes_run_out, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_pipe_size_falls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(small_pipes_grow_back, setup, teardown),
		cmocka_unit_test_setup_teardown(pipe_with_bytes_is_not_resized, setup, teardown),
		cmocka_unit_test_setup_teardown(edge_of_the_limit_does_not_flap, setup, teardown),
		cmocka_unit_test_setup_teardown(top_up_grows_kept_pipes, setup, teardown),
		cmocka_unit_test_setup_teardown(top_up_replaces_discarded_pipes, setup, teardown),
		cmocka_unit_test_setup_teardown(bulk_pipe_grows_and_shrinks_back, setup, teardown),
		cmocka_unit_test_setup_teardown(bulk_pipes_are_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_bulk_growth_waits_for_pages, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
