/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_sockpool.c - pooled sockets after a side's namespace was replaced
 *
 * A container that restarts, or a labelled container whose side is given
 * to the next one, replaces the namespace of a side while a refill for
 * the old one may be on its way. The answer to it holds sockets made in
 * the namespace that was: stocked, each would be handed to a connection
 * that then finds nothing listening. Here the real opener answers a
 * refill for namespace A, the side goes down and comes up in namespace B
 * before the relay reads that answer, and every socket the pool then
 * holds must be B's (SIOCGSKNS names a socket's namespace). Needs root,
 * like the opener.
 */

#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratchns.h"
#include "nsbridge/netns.h"
#include "nsbridge/opener.h"
#include "nsbridge/sockpool.h"

static struct ctx c;
static int ns_a = -1;		/* the side's namespace at first */

static void ready(struct ctx *ctx, struct list_node *waiter, int fd)
{
	(void)ctx;
	(void)waiter;
	close(fd);
}

static void failed(struct ctx *ctx, struct list_node *waiter, int error)
{
	(void)ctx;
	(void)waiter;
	(void)error;
}

static const struct sockpool_ops ops = { .ready = ready, .failed = failed };

static int start(void **state)
{
	int ns_fds[SIDE_MAX];

	(void)state;
	for (int i = 0; i < SIDE_MAX; i++)
		ns_fds[i] = -1;
	if (geteuid() != 0)
		return 0;	/* the test skips */
	ns_a = make_namespace();
	ns_fds[SIDE_CONTAINER] = ns_a;
	c.sockpool_ops = &ops;
	c.epoll_fd = -1;
	sockpool_init(&c);
	return opener_start(ns_fds);
}

/* A child in a namespace of its own, the side's next "container"; its pid */
static pid_t container_in_new_namespace(int *ret_ns)
{
	int p[2];
	int pidfd;
	char byte;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		/* gone with the test, should an assertion end it first */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || unshare(CLONE_NEWNET) < 0 ||
		    write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &byte, 1), 1);	/* it has its namespace */
	close(p[0]);
	assert_int_equal(netns_open_pid(pid, 0, ret_ns, &pidfd), 0);
	close(pidfd);
	return pid;
}

/* Until the opener's answer is there to read: a state, not a time */
static void wait_for_answer(void)
{
	struct pollfd pfd = { .fd = opener_fd(), .events = POLLIN };

	while (poll(&pfd, 1, -1) < 0)
		assert_int_equal(errno, EINTR);
}

static bool answer_waiting(void)
{
	struct pollfd pfd = { .fd = opener_fd(), .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

static void stale_refill_is_not_stocked(void **state)
{
	struct sockpool *p = &c.pools[SIDE_CONTAINER][POOL_TCP4];
	struct opener_req forget = { .op = OPENER_FORGET, .side = SIDE_CONTAINER };
	struct opener_req open = { .op = OPENER_OPEN_PID, .side = SIDE_CONTAINER };
	int ns_b, pidfd, status;
	pid_t child;

	(void)state;
	if (geteuid() != 0)
		skip();
	/* a connection finds the pool empty: a refill for A goes out, and
	 * the opener answers it with sockets made in A */
	assert_int_equal(sockpool_take(&c, SIDE_CONTAINER, AF_INET, SOCK_STREAM), -EAGAIN);
	assert_true(p->requested > 0);
	wait_for_answer();

	/* the container stops and runs again in B before that answer is read */
	sockpool_side_down(&c, SIDE_CONTAINER, -EHOSTDOWN);
	assert_int_equal(opener_call(&forget, NULL, 0), 0);
	child = container_in_new_namespace(&ns_b);
	open.pid = child;
	assert_int_equal(opener_call(&open, &pidfd, 1), 1);
	sockpool_side_up(&c, SIDE_CONTAINER);

	/* every answer read: the pool is full, and of B only */
	while (p->requested > 0 || answer_waiting()) {
		wait_for_answer();
		sockpool_on_reply(&c);
	}
	assert_int_equal(p->error, 0);
	assert_int_equal(p->n, SOCKPOOL_SIZE);
	for (unsigned i = 0; i < p->n; i++) {
		int ns = ioctl(p->fds[i], SIOCGSKNS);

		assert_true(ns >= 0);
		assert_int_equal(netns_same(ns, ns_a), 0);
		assert_int_equal(netns_same(ns, ns_b), 1);
		close(ns);
	}
	sockpool_close(&c);
	close(pidfd);
	close(ns_b);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &status, 0), child);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stale_refill_is_not_stocked),
	};

	return cmocka_run_group_tests(tests, start, NULL);
}
