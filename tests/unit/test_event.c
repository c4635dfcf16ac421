/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_event.c - the event layer: registered sources, deadlines and exits
 *
 * Real descriptors in a real epoll set (pipes made readable by writing
 * to them) and the loop that runs nsbridge (loop_run_once()). What is
 * checked is who is called, with what, and in which order - and that an
 * event queued for a source removed in the same batch reaches nobody,
 * not even the source registered in its place.
 */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "fdcount.h"
#include "nsbridge/event.h"
#include "nsbridge/loop.h"

static struct fixture {
	struct config config;
	struct ctx c;
	int pipes[2][2];	/* read end, write end */
	int fds_before;
} fx;

/* What the callbacks saw, in order: one letter a call */
static char calls[16];

static void record(char what)
{
	size_t n = strlen(calls);

	assert_true(n < sizeof(calls) - 1);
	calls[n] = what;
}

static int setup(void **state)
{
	(void)state;
	memset(&fx, 0, sizeof(fx));
	memset(calls, 0, sizeof(calls));
	fx.fds_before = open_fd_count();
	log_setup(-1, LOG_FORMAT_TEXT);
	loop_init(&fx.c, &fx.config);
	for (int i = 0; i < 2; i++)
		if (pipe2(fx.pipes[i], O_NONBLOCK | O_CLOEXEC) < 0)
			return -1;
	return event_open(&fx.c);
}

static int teardown(void **state)
{
	(void)state;
	loop_release(&fx.c);
	for (int i = 0; i < 2; i++) {
		close(fx.pipes[i][0]);
		close(fx.pipes[i][1]);
	}
	return 0;
}

static void on_a(struct ctx *c, struct event_source *s, uint32_t events)
{
	(void)c;
	assert_int_equal(s->fd, fx.pipes[0][0]);
	assert_true(events & EPOLLIN);
	record('a');
}

static void on_b(struct ctx *c, struct event_source *s, uint32_t events)
{
	(void)c;
	(void)events;
	assert_int_equal(s->fd, fx.pipes[1][0]);
	record('b');
}

/* A readable pipe calls its source, through the loop, with EPOLLIN */
static void a_source_is_called_with_its_events(void **state)
{
	struct event_source a = { 0 };

	(void)state;
	assert_int_equal(event_add_io(&fx.c, &a, fx.pipes[0][0], EPOLLIN, on_a), 0);
	assert_int_equal(loop_run_once(&fx.c, 0), 0);
	assert_string_equal(calls, "");
	assert_int_equal(write(fx.pipes[0][1], "x", 1), 1);
	assert_int_equal(loop_run_once(&fx.c, 1000), 0);
	assert_string_equal(calls, "a");
	event_del_io(&fx.c, &a);
	assert_false(a.added);
}

/* An event queued for a removed source is dropped, though the next
 * source registered has its slot */
static void a_stale_event_reaches_nobody(void **state)
{
	struct event_source a = { 0 }, b = { 0 };
	struct epoll_event ev;
	union epoll_ref ref;

	(void)state;
	assert_int_equal(event_add_io(&fx.c, &a, fx.pipes[0][0], EPOLLIN, on_a), 0);
	assert_int_equal(write(fx.pipes[0][1], "x", 1), 1);
	assert_int_equal(epoll_wait(fx.c.epoll_fd, &ev, 1, 1000), 1);
	event_del_io(&fx.c, &a);
	assert_int_equal(event_add_io(&fx.c, &b, fx.pipes[1][0], EPOLLIN, on_b), 0);
	assert_int_equal(b.slot, a.slot);	/* the case that matters */
	ref.u64 = ev.data.u64;
	assert_int_equal(ref.type, EPOLL_TYPE_SOURCE);
	event_dispatch(&fx.c, ref, ev.events);
	assert_string_equal(calls, "");
	assert_int_equal(write(fx.pipes[1][1], "x", 1), 1);
	assert_int_equal(loop_run_once(&fx.c, 1000), 0);
	assert_string_equal(calls, "b");
	event_del_io(&fx.c, &b);
}

/* A source left unwatched (events 0) is not called until watched again */
static void a_source_can_be_paused(void **state)
{
	struct event_source a = { 0 };

	(void)state;
	assert_int_equal(event_add_io(&fx.c, &a, fx.pipes[0][0], EPOLLIN, on_a), 0);
	assert_int_equal(write(fx.pipes[0][1], "x", 1), 1);
	assert_int_equal(event_mod_io(&fx.c, &a, 0), 0);
	assert_int_equal(loop_run_once(&fx.c, 10), 0);
	assert_string_equal(calls, "");
	assert_int_equal(event_mod_io(&fx.c, &a, EPOLLIN), 0);
	assert_int_equal(loop_run_once(&fx.c, 1000), 0);
	assert_string_equal(calls, "a");
	event_del_io(&fx.c, &a);
	assert_int_equal(event_mod_io(&fx.c, &a, EPOLLIN), -ENOENT);
}

static uint64_t due_x, due_y;	/* what each module's next() says */

static uint64_t next_x(const struct ctx *c)
{
	(void)c;
	return due_x;
}

static uint64_t next_y(const struct ctx *c)
{
	(void)c;
	return due_y;
}

static void expire_x(struct ctx *c)
{
	(void)c;
	record('x');
}

static void expire_y(struct ctx *c)
{
	(void)c;
	record('y');
	due_y = 0;	/* acted on: moved on, here to none */
}

/* The earliest deadline of any module arms the timer, 0 meaning none; after
 * every batch each module acts on its own, in the order registered */
static void deadlines_are_asked_and_acted_on_in_order(void **state)
{
	static const struct event_deadline x = { .next = next_x, .expire = expire_x };
	static const struct event_deadline y = { .next = next_y, .expire = expire_y };
	uint64_t start = event_clock_ms();

	(void)state;
	event_add_deadline(&fx.c, &x);
	event_add_deadline(&fx.c, &y);
	due_x = 0;
	due_y = start + 20;
	assert_int_equal(event_next_deadline(&fx.c), due_y);
	due_x = start + 5000;
	assert_int_equal(event_next_deadline(&fx.c), due_y);
	assert_int_equal(loop_run_once(&fx.c, 2000), 0);	/* the timer ends the wait */
	assert_true(event_clock_ms() < start + 2000);
	assert_string_equal(calls, "xy");
	assert_int_equal(event_next_deadline(&fx.c), due_x);
}

static void exit_1(struct ctx *c)
{
	(void)c;
	record('1');
}

static void exit_2(struct ctx *c)
{
	(void)c;
	record('2');
}

/* What the modules registered to undo at exit is done in that order, once */
static void exits_run_in_order_once(void **state)
{
	(void)state;
	event_add_exit(&fx.c, exit_1);
	event_add_exit(&fx.c, exit_2);
	event_release(&fx.c);
	event_release(&fx.c);
	assert_string_equal(calls, "12");
}

/* After loop_release(), no descriptor of the loop's is left open */
static void release_leaves_nothing_open(void **state)
{
	(void)state;
	loop_release(&fx.c);
	assert_int_equal(open_fd_count(), fx.fds_before + 4);	/* the two pipes */
	assert_int_equal(fx.c.epoll_fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_source_is_called_with_its_events, setup, teardown),
		cmocka_unit_test_setup_teardown(a_stale_event_reaches_nobody, setup, teardown),
		cmocka_unit_test_setup_teardown(a_source_can_be_paused, setup, teardown),
		cmocka_unit_test_setup_teardown(deadlines_are_asked_and_acted_on_in_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(exits_run_in_order_once, setup, teardown),
		cmocka_unit_test_setup_teardown(release_leaves_nothing_open, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
