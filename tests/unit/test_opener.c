/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_opener.c - the privileged opener: sockets made in the right place,
 *		   requests refused, and a relay whose opener died
 *
 * A real opener serves a namespace the test makes with unshare(); the
 * sockets it returns are checked with SIOCGSKNS, which names the
 * namespace a socket was made in. Needs root, like the opener itself.
 */


#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratchns.h"
#include "nsbridge/netns.h"
#include "nsbridge/opener.h"

static int target_ns_fd = -1;	/* the namespace the opener serves as "container" */
static int second_ns_fd = -1;	/* a second container's, served by the same opener */

static int start(void **state)
{
	int ns_fds[SIDE_MAX];

	for (int i = 0; i < SIDE_MAX; i++)
		ns_fds[i] = -1;
	if (geteuid() != 0)
		return 0;	/* each test skips */
	target_ns_fd = make_namespace();
	second_ns_fd = make_namespace();
	ns_fds[SIDE_CONTAINER] = target_ns_fd;
	ns_fds[SIDE_CONTAINER + 1] = second_ns_fd;
	return opener_start(ns_fds);
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip();
}

static struct opener_req socket_req(int family, int type, unsigned count)
{
	return (struct opener_req){
		.op = OPENER_SOCKET, .side = SIDE_CONTAINER,
		.family = family, .type = type, .count = count,
	};
}

static void sockets_are_made_in_the_namespace(void **state)
{
	struct opener_req req = socket_req(AF_INET, SOCK_STREAM, 3);
	int fds[OPENER_MAX_FDS];

	need_root();
	assert_int_equal(opener_call(&req, fds, OPENER_MAX_FDS), 3);
	for (int i = 0; i < 3; i++) {
		int ns_fd = ioctl(fds[i], SIOCGSKNS);

		assert_true(ns_fd >= 0);
		assert_int_equal(netns_same(ns_fd, target_ns_fd), 1);
		assert_true(fcntl(fds[i], F_GETFL) & O_NONBLOCK);
		close(ns_fd);
		close(fds[i]);
	}
}

static void lo_up_reports_whether_it_changed(void **state)
{
	struct opener_req req = { .op = OPENER_LO_UP, .side = SIDE_CONTAINER };

	need_root();
	assert_int_equal(opener_call(&req, NULL, 0), 1);	/* a fresh namespace: down */
	assert_int_equal(opener_call(&req, NULL, 0), 0);
}

static void listener_is_bound_in_the_namespace(void **state)
{
	struct opener_req req = { .op = OPENER_LISTEN, .side = SIDE_CONTAINER };
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&req.addr.ss;
	int fd, ns_fd, type;
	socklen_t len = sizeof(type);

	need_root();
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(40123);
	req.addr.len = sizeof(*sin);
	assert_int_equal(opener_call(&req, &fd, 1), 1);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &type, &len), 0);
	assert_int_equal(type, 1);
	ns_fd = ioctl(fd, SIOCGSKNS);
	assert_int_equal(netns_same(ns_fd, target_ns_fd), 1);
	close(ns_fd);
	close(fd);
}

/* One opener serves every container: each side's socket is made in its own namespace */
static void each_container_has_its_namespace(void **state)
{
	struct opener_req req = socket_req(AF_INET, SOCK_STREAM, 1);
	int fd, ns_fd;

	need_root();
	req.side = SIDE_CONTAINER + 1;
	assert_int_equal(opener_call(&req, &fd, 1), 1);
	ns_fd = ioctl(fd, SIOCGSKNS);
	assert_int_equal(netns_same(ns_fd, second_ns_fd), 1);
	assert_int_equal(netns_same(ns_fd, target_ns_fd), 0);
	close(ns_fd);
	close(fd);
	req.side = SIDE_CONTAINER + 2;	/* no namespace there */
	assert_int_equal(opener_call(&req, &fd, 1), -EBADF);
	req.side = SIDE_MAX;
	assert_int_equal(opener_call(&req, &fd, 1), -EBADF);
}

static void bad_requests_are_refused(void **state)
{
	struct opener_req no_side = socket_req(AF_INET, SOCK_STREAM, 1);
	struct opener_req too_many = socket_req(AF_INET, SOCK_STREAM, OPENER_MAX_FDS + 1);
	struct opener_req none = socket_req(AF_INET, SOCK_STREAM, 0);
	struct opener_req raw = socket_req(AF_PACKET, SOCK_RAW, 1);
	struct opener_req unknown = { .op = OPENER_OP_MAX, .side = SIDE_CONTAINER };
	int fds[OPENER_MAX_FDS];

	need_root();
	no_side.side = SIDE_HOST;	/* the opener holds no namespace for it */
	assert_int_equal(opener_call(&no_side, fds, OPENER_MAX_FDS), -EBADF);
	assert_int_equal(opener_call(&too_many, fds, OPENER_MAX_FDS), -EINVAL);
	assert_int_equal(opener_call(&none, fds, OPENER_MAX_FDS), -EINVAL);
	assert_int_equal(opener_call(&raw, fds, OPENER_MAX_FDS), -EINVAL);
	assert_int_equal(opener_call(&unknown, fds, OPENER_MAX_FDS), -EINVAL);
}

/* The opener: the one child of this process (SO_PEERCRED would name us,
 * who made the socket pair before the fork) */
static pid_t only_child(void)
{
	char path[64], buf[64] = "";
	int pid = 0, other = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)gettid());
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_int_equal(sscanf(buf, "%d %d", &pid, &other), 1);
	return (pid_t)pid;
}

/* Last: the opener dies, and the relay gets OPENER_EXITED, not a signal, a
 * hang or the transport's error, from every request after */
static void dead_opener_is_an_error(void **state)
{
	struct opener_req req = socket_req(AF_INET, SOCK_STREAM, 1);
	pid_t opener;
	int fd;

	need_root();
	opener = only_child();
	assert_int_equal(opener_pid(), opener);
	assert_int_equal(kill(opener, SIGKILL), 0);
	assert_int_equal(waitpid(opener, NULL, 0), opener);
	assert_int_equal(opener_call(&req, &fd, 1), OPENER_EXITED);
	assert_int_equal(opener_send(&req), OPENER_EXITED);
	assert_int_equal(opener_call(&req, &fd, 1), OPENER_EXITED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sockets_are_made_in_the_namespace),
		cmocka_unit_test(lo_up_reports_whether_it_changed),
		cmocka_unit_test(listener_is_bound_in_the_namespace),
		cmocka_unit_test(each_container_has_its_namespace),
		cmocka_unit_test(bad_requests_are_refused),
		cmocka_unit_test(dead_opener_is_an_error),
	};

	return cmocka_run_group_tests(tests, start, NULL);
}
