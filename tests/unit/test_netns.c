/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_netns.c - opening and verifying namespaces, including the races
 *
 * Real kernel objects wherever they can produce the case: a regular file,
 * a UTS namespace file, a child process that is alive, a zombie or gone,
 * one of another user seen without CAP_KILL or CAP_SYS_PTRACE. Mocks,
 * through -Wl,--wrap, only for what a kernel will not do on demand: a pid
 * reused between pidfd_open() and the re-check, pidfd_open() refused, and
 * a kernel without NS_GET_NSTYPE. Every failure must leave no fd behind.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/nsfs.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fdcount.h"
#include "nsbridge/netns.h"

/* -------- mocks: armed by a test, pass through otherwise -------- */

static int fail_pidfd_open;		/* errno for pidfd_open, 0 = real */
static bool pid_reused;			/* the re-check finds the process gone */
static int fail_nstype;			/* errno for NS_GET_NSTYPE, 0 = real */

long __real_syscall(long number, ...);
long __wrap_syscall(long number, ...);
int __real_ioctl(int fd, unsigned long request, ...);
int __wrap_ioctl(int fd, unsigned long request, ...);

/* Four arguments are read whatever the call: the most either call here
 * passes, and what glibc's own syscall() reads from registers anyway */
long __wrap_syscall(long number, ...)
{
	long a[4];
	va_list ap;

	va_start(ap, number);
	for (int i = 0; i < 4; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (number == SYS_pidfd_open && fail_pidfd_open) {
		errno = fail_pidfd_open;
		return -1;
	}
	if (number == SYS_pidfd_send_signal && pid_reused) {
		errno = ESRCH;
		return -1;
	}
	return __real_syscall(number, a[0], a[1], a[2], a[3]);
}

int __wrap_ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (request == NS_GET_NSTYPE && fail_nstype) {
		errno = fail_nstype;
		return -1;
	}
	return __real_ioctl(fd, request, arg);
}

/* -------- helpers -------- */

/* A child that lives until killed */
static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

/* A child that lives as user @uid, once it has become that user */
static pid_t spawn_sleeper_as(uid_t uid)
{
	int sync[2];
	pid_t pid;
	char ok;

	assert_int_equal(pipe2(sync, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
			_exit(1);
		if (write(sync[1], "k", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(sync[1]);
	assert_int_equal(read(sync[0], &ok, 1), 1);
	close(sync[0]);
	return pid;
}

/* A child that has exited and is not reaped yet: its pid still names it */
static pid_t spawn_zombie(void)
{
	siginfo_t si;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Raise or lower one capability in the effective set; permitted stays */
static void set_effective(cap_value_t cap, cap_flag_value_t value)
{
	cap_t caps = cap_get_proc();

	assert_non_null(caps);
	assert_int_equal(cap_set_flag(caps, CAP_EFFECTIVE, 1, &cap, value), 0);
	assert_int_equal(cap_set_proc(caps), 0);
	cap_free(caps);
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip();
}

static int reset_mocks(void **state)
{
	fail_pidfd_open = 0;
	pid_reused = false;
	fail_nstype = 0;
	return 0;
}

/* -------- netns_verify -------- */

static void verify_accepts_a_network_namespace(void **state)
{
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(netns_verify(fd), 0);
	close(fd);
}

static void verify_refuses_a_regular_file(void **state)
{
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(netns_verify(fd), -ENOTTY);
	close(fd);
}

static void verify_refuses_another_namespace_type(void **state)
{
	int fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(netns_verify(fd), -EINVAL);
	close(fd);
}

static void verify_of_a_closed_fd_is_ebadf(void **state)
{
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(netns_verify(fd), -EBADF);
}

static void verify_reports_a_kernel_without_nstype(void **state)
{
	int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	fail_nstype = ENOTTY;
	assert_int_equal(netns_verify(fd), -ENOTTY);
	close(fd);
}

/* -------- netns_open_path -------- */

static void open_path_missing_is_enoent(void **state)
{
	int fd = 12345, before = open_fd_count();

	assert_int_equal(netns_open_path("/run/netns/nsbridge-test-no-such", &fd), -ENOENT);
	assert_int_equal(fd, 12345);
	assert_int_equal(open_fd_count(), before);
}

static void open_path_of_wrong_type_leaves_no_fd(void **state)
{
	int fd = 12345, before = open_fd_count();

	assert_int_equal(netns_open_path("/proc/self/ns/uts", &fd), -EINVAL);
	assert_int_equal(fd, 12345);
	assert_int_equal(open_fd_count(), before);
}

/* -------- netns_open_pid -------- */

static void open_pid_of_live_process(void **state)
{
	pid_t pid = spawn_sleeper();
	int ns_fd = -1, pidfd = -1, self_fd = -1, r;

	r = netns_open_pid(pid, 0, &ns_fd, &pidfd);
	reap(pid);	/* the namespace lives on in ns_fd */
	assert_int_equal(r, 0);
	assert_true(ns_fd >= 0 && pidfd >= 0);
	assert_int_equal(netns_open_self(&self_fd), 0);
	assert_int_equal(netns_same(ns_fd, self_fd), 1);
	close(ns_fd);
	close(pidfd);
	close(self_fd);
}

static void open_pid_of_gone_process_is_esrch(void **state)
{
	pid_t pid = spawn_sleeper();
	int ns_fd = 12345, pidfd = 12345, before;

	reap(pid);
	before = open_fd_count();
	assert_int_equal(netns_open_pid(pid, 0, &ns_fd, &pidfd), -ESRCH);
	assert_int_equal(ns_fd, 12345);
	assert_int_equal(pidfd, 12345);
	assert_int_equal(open_fd_count(), before);
}

/* -------- a process by pid and start time -------- */

static void start_time_is_read_while_the_process_lives(void **state)
{
	unsigned long long start = 0, again = 0;
	pid_t pid = spawn_sleeper();

	assert_int_equal(netns_pid_start(pid, &start), 0);
	assert_int_equal(netns_pid_start(pid, &again), 0);
	reap(pid);
	assert_true(start > 0);
	assert_true(start == again);
	assert_int_equal(netns_pid_start(pid, &again), -ESRCH);
}

/* Another process of that pid (its start differs): refused, nothing left open */
static void open_pid_with_another_start_is_estale(void **state)
{
	unsigned long long start = 0;
	pid_t pid = spawn_sleeper();
	int ns_fd = 12345, pidfd = 12345, before = open_fd_count(), r;

	assert_int_equal(netns_pid_start(pid, &start), 0);
	r = netns_open_pid(pid, start + 1, &ns_fd, &pidfd);
	assert_int_equal(r, -ESTALE);
	assert_int_equal(ns_fd, 12345);
	assert_int_equal(pidfd, 12345);
	assert_int_equal(open_fd_count(), before);
	r = netns_open_pid(pid, start, &ns_fd, &pidfd);
	reap(pid);
	assert_int_equal(r, 0);
	close(ns_fd);
	close(pidfd);
}

/* Exited, not reaped: pidfd_open() works, /proc/PID/ns/net is gone */
static void open_pid_of_zombie_is_esrch(void **state)
{
	pid_t pid = spawn_zombie();
	int ns_fd = 12345, pidfd = 12345, before = open_fd_count(), r;

	r = netns_open_pid(pid, 0, &ns_fd, &pidfd);
	reap(pid);
	assert_int_equal(r, -ESRCH);
	assert_int_equal(ns_fd, 12345);
	assert_int_equal(pidfd, 12345);
	assert_int_equal(open_fd_count(), before);
}

/*
 * The opener keeps CAP_SYS_PTRACE but not CAP_KILL, and a setcap'd
 * nsbridge has neither CAP_KILL nor the uid of a container's init: the
 * re-check cannot signal the process, yet it lives and must be opened.
 */
static void open_pid_of_another_user_without_cap_kill(void **state)
{
	int ns_fd = -1, pidfd = -1, self_fd = -1, r, killed = -1;
	pid_t pid;

	need_root();
	pid = spawn_sleeper_as(65534);
	set_effective(CAP_KILL, CAP_CLEAR);
	r = netns_open_pid(pid, 0, &ns_fd, &pidfd);
	set_effective(CAP_KILL, CAP_SET);
	if (r == 0)	/* the pidfd is the child's: it can kill it */
		killed = (int)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	reap(pid);
	assert_int_equal(r, 0);
	assert_int_equal(killed, 0);
	assert_int_equal(netns_open_self(&self_fd), 0);
	assert_int_equal(netns_same(ns_fd, self_fd), 1);
	close(ns_fd);
	close(pidfd);
	close(self_fd);
}

/* Not allowed to look into it: the kernel's answer, and no pidfd kept */
static void open_pid_without_cap_sys_ptrace_is_eacces(void **state)
{
	int ns_fd = 12345, pidfd = 12345, before, r;
	pid_t pid;

	need_root();
	pid = spawn_sleeper_as(65534);
	before = open_fd_count();
	set_effective(CAP_SYS_PTRACE, CAP_CLEAR);
	r = netns_open_pid(pid, 0, &ns_fd, &pidfd);
	set_effective(CAP_SYS_PTRACE, CAP_SET);
	reap(pid);
	assert_int_equal(r, -EACCES);
	assert_int_equal(ns_fd, 12345);
	assert_int_equal(pidfd, 12345);
	assert_int_equal(open_fd_count(), before);
}

/* The process died and its pid was given to another between pidfd_open()
 * and the open of /proc/PID: the re-check finds the pidfd's process gone */
static void open_pid_reused_before_recheck_is_esrch(void **state)
{
	pid_t pid = spawn_sleeper();
	int ns_fd = 12345, pidfd = 12345, before = open_fd_count(), r;

	pid_reused = true;
	r = netns_open_pid(pid, 0, &ns_fd, &pidfd);
	pid_reused = false;
	reap(pid);
	assert_int_equal(r, -ESRCH);
	assert_int_equal(ns_fd, 12345);
	assert_int_equal(pidfd, 12345);
	assert_int_equal(open_fd_count(), before);
}

static void open_pid_not_allowed_is_eperm(void **state)
{
	pid_t pid = spawn_sleeper();
	int ns_fd = 12345, pidfd = 12345, before = open_fd_count(), r;

	fail_pidfd_open = EPERM;
	r = netns_open_pid(pid, 0, &ns_fd, &pidfd);
	fail_pidfd_open = 0;
	reap(pid);
	assert_int_equal(r, -EPERM);
	assert_int_equal(ns_fd, 12345);
	assert_int_equal(pidfd, 12345);
	assert_int_equal(open_fd_count(), before);
}

/* -------- netns_owner, netns_enter -------- */

static void owner_of_own_namespace_is_own_user_namespace(void **state)
{
	struct netns_owner o;
	int fd = -1, before = open_fd_count();

	assert_int_equal(netns_open_self(&fd), 0);
	assert_int_equal(netns_owner(fd, &o), 0);
	close(fd);
	assert_true(o.own_userns);
	assert_int_equal(o.uid, 0);	/* the initial user namespace is root's */
	assert_int_equal(open_fd_count(), before);
}

#define NOBODY	65534

static int become_nobody(void)
{
	return setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	       setresuid(NOBODY, NOBODY, NOBODY) ? -1 : 0;
}

/* What a rootless engine does: nobody makes a user and a network namespace */
static pid_t spawn_rootless_owner(void)
{
	int ready[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		c = become_nobody() || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) ||
		    unshare(CLONE_NEWUSER | CLONE_NEWNET) ? 'n' : 'y';
		if (write(ready[1], &c, 1) != 1 || c == 'n')
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	if (c == 'n') {
		reap(pid);
		skip();	/* user namespaces are disabled here */
	}
	return pid;
}

/* As nobody, without a capability: what netns_owner and netns_enter see of @pid's namespace */
static int enter_as_nobody(pid_t pid)
{
	struct netns_owner o;
	bool joined = false;
	char path[64];
	int fd, self;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (become_nobody() || netns_open_path(path, &fd) < 0)
		return 10;
	if (netns_owner(fd, &o) < 0 || o.own_userns || o.uid != NOBODY)
		return 11;
	if (netns_enter(fd, &joined) < 0 || !joined)
		return 12;
	if (netns_open_self(&self) < 0 || netns_same(fd, self) != 1)
		return 13;
	return 0;
}

static void enter_joins_the_owning_user_namespace(void **state)
{
	pid_t owner = spawn_rootless_owner(), joiner;
	int status;

	joiner = fork();
	assert_true(joiner >= 0);
	if (joiner == 0)
		_exit(enter_as_nobody(owner));
	assert_int_equal(waitpid(joiner, &status, 0), joiner);
	kill(owner, SIGKILL);
	reap(owner);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* nobody may not enter a namespace of the initial user namespace, and joins nothing */
static void enter_own_user_namespace_without_cap_is_eperm(void **state)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		bool joined = false;
		int fd;

		if (netns_open_self(&fd) < 0 || become_nobody())
			_exit(10);
		_exit(netns_enter(fd, &joined) == -EPERM && !joined ? 0 : 11);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* -------- the settings that leave a user without rootless containers -------- */

/*
 * A directory standing in for /proc/sys: this kernel has no AppArmor, so
 * its restriction can only be written out; the parsing is what is tested.
 */
static void write_sysctl(const char *dir, const char *name, const char *value)
{
	char path[256], sub[256];
	FILE *f;

	snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)(strchr(name, '/') - name), name);
	mkdir(sub, 0700);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", value);
	fclose(f);
}

static void remove_sysctls(const char *dir)
{
	static const char *const names[] = {
		"user/max_user_namespaces", "kernel/apparmor_restrict_unprivileged_userns",
		"user", "kernel", "",
	};
	char path[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		assert_int_equal(remove(path), 0);
	}
}

static void userns_restriction_names_the_setting(void **state)
{
	char dir[] = "/tmp/nsbt-sysctl-XXXXXX";

	assert_non_null(mkdtemp(dir));
	assert_string_equal(netns_userns_restriction(dir), "");	/* neither file */
	write_sysctl(dir, "user/max_user_namespaces", "63379");
	write_sysctl(dir, "kernel/apparmor_restrict_unprivileged_userns", "0");
	assert_string_equal(netns_userns_restriction(dir), "");
	write_sysctl(dir, "kernel/apparmor_restrict_unprivileged_userns", "1");
	assert_non_null(strstr(netns_userns_restriction(dir),
			       "kernel.apparmor_restrict_unprivileged_userns is 1"));
	write_sysctl(dir, "user/max_user_namespaces", "0");
	assert_non_null(strstr(netns_userns_restriction(dir), "user.max_user_namespaces is 0"));
	/* the machine's own: this one has user namespaces and no AppArmor */
	assert_string_equal(netns_userns_restriction("/proc/sys"), "");
	remove_sysctls(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(verify_accepts_a_network_namespace, reset_mocks),
		cmocka_unit_test_setup(verify_refuses_a_regular_file, reset_mocks),
		cmocka_unit_test_setup(verify_refuses_another_namespace_type, reset_mocks),
		cmocka_unit_test_setup(verify_of_a_closed_fd_is_ebadf, reset_mocks),
		cmocka_unit_test_setup(verify_reports_a_kernel_without_nstype, reset_mocks),
		cmocka_unit_test_setup(open_path_missing_is_enoent, reset_mocks),
		cmocka_unit_test_setup(open_path_of_wrong_type_leaves_no_fd, reset_mocks),
		cmocka_unit_test_setup(open_pid_of_live_process, reset_mocks),
		cmocka_unit_test_setup(open_pid_of_gone_process_is_esrch, reset_mocks),
		cmocka_unit_test_setup(open_pid_of_zombie_is_esrch, reset_mocks),
		cmocka_unit_test_setup(open_pid_of_another_user_without_cap_kill, reset_mocks),
		cmocka_unit_test_setup(open_pid_without_cap_sys_ptrace_is_eacces, reset_mocks),
		cmocka_unit_test_setup(open_pid_reused_before_recheck_is_esrch, reset_mocks),
		cmocka_unit_test_setup(open_pid_not_allowed_is_eperm, reset_mocks),
		cmocka_unit_test_setup(start_time_is_read_while_the_process_lives, reset_mocks),
		cmocka_unit_test_setup(open_pid_with_another_start_is_estale, reset_mocks),
		cmocka_unit_test_setup(owner_of_own_namespace_is_own_user_namespace, reset_mocks),
		cmocka_unit_test_setup(enter_joins_the_owning_user_namespace, reset_mocks),
		cmocka_unit_test_setup(enter_own_user_namespace_without_cap_is_eperm, reset_mocks),
		cmocka_unit_test_setup(userns_restriction_names_the_setting, reset_mocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
