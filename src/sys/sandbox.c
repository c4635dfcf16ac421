/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sandbox.c - the relay's system call filter (seccomp, through libseccomp)
 *
 * Theory of operation
 *
 * Once the capability drop (caps.c) is done, the relay only moves bytes
 * between sockets it holds or is handed by the opener. sandbox_enter()
 * then installs a seccomp filter that allows just the system calls that
 * work needs, found by tracing the relay through every integration and
 * container test (strace from the capability drop to the exit), and
 * traps every other one. It applies to the relay alone: the opener and
 * the engine watcher were forked before it, and the relay forks nothing
 * afterwards.
 *
 * A forbidden call is a bug in nsbridge, and must not look like a
 * mysterious crash. So the default action is SECCOMP_RET_TRAP: the
 * kernel skips the call and sends SIGSYS, whose handler writes one line
 * naming the call to stderr, in the log's format, and then dies of
 * SIGSYS, so that a supervisor sees the signal. The handler may use only
 * async-signal-safe calls, and the filter is already in force when it
 * runs: the names of the calls are resolved into a table before the
 * filter is loaded, the line is put together by hand in a buffer, and
 * its only calls - write, clock_gettime, raise (rt_sigprocmask, getpid,
 * gettid, tgkill) and exit_group - are allowed. SA_RESETHAND makes the
 * second SIGSYS deadly; SA_NODEFER lets it arrive inside the handler.
 * The filter also asks the kernel to log what it traps (the audit line
 * "type=1326 ... syscall=N" in dmesg), which names the call even where
 * the handler cannot run: a thread with SIGSYS blocked dies unwarned.
 *
 * Where an argument says what a call may do, and comparing it costs
 * nothing, the filter checks it: socket() makes only IP, unix and socket
 * diagnostics sockets; mmap() and mprotect() never make memory
 * executable (nothing is loaded after start-up); openat() opens for
 * reading only (a --port-file a reload changes is written by runas.c's
 * keeper, which the relay sends the text);
 * ioctl() and fcntl() take only the few requests the relay
 * makes; tgkill() signals only the relay itself, for abort() and for the
 * handler's own death, and fcntl(F_SETSIG) names only the signals of a
 * scoped run (stop signals, SIGUSR1, SIGUSR2), which command.c's pipe
 * passes on to -- CMD; the relay sends no signal by kill() but to itself. No call
 * that changes namespaces, mounts, credentials, or starts a process or a
 * program is allowed.
 *
 * Two kinds of build need more. A sanitizer runtime (ASan, UBSan, LSan)
 * stops the world at exit with a ptrace()ing clone to look for leaks,
 * and symbolizes a report in a child it starts: those calls are added
 * when the runtime is linked in (the child itself, filtered too, cannot
 * run, and reports keep raw addresses). Valgrind executes the guest's system
 * calls itself and makes many of its own (its translation cache is
 * executable memory), all subject to the filter; there is no sound
 * allowlist for it, so under valgrind the filter is not installed.
 */

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <linux/sock_diag.h>

#include "nsbridge/log.h"
#include "nsbridge/sandbox.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND	0
#endif

#define NAMES_MAX	1024	/* above every system call number of the native ABI */
#define NAME_LEN	32	/* above the longest name ("set_mempolicy_home_node") */
#define ARGS_MAX	3

/* Flags by which openat() could write, create or truncate */
#define OPEN_WRITING	(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | \
			 (O_TMPFILE & ~O_DIRECTORY))

/**
 * struct rule - one allowed system call, if its arguments match
 * @nr:		the call, SCMP_SYS(name)
 * @n_args:	number of comparisons, all of which must hold
 * @args:	the comparisons
 *
 * A call listed in several rules is allowed if any of them matches.
 */
struct rule {
	int nr;
	unsigned n_args;
	struct scmp_arg_cmp args[ARGS_MAX];
};

#define ALLOW(name)			{ .nr = SCMP_SYS(name) }
#define ALLOW_IF(name, a)		{ .nr = SCMP_SYS(name), .n_args = 1, .args = { a } }
#define ALLOW_IF2(name, a, b)		{ .nr = SCMP_SYS(name), .n_args = 2, .args = { a, b } }
#define ARG_EQ(i, v)			{ .arg = (i), .op = SCMP_CMP_EQ, .datum_a = (v) }
#define ARG_NONE_OF(i, mask)		{ .arg = (i), .op = SCMP_CMP_MASKED_EQ, \
					  .datum_a = (mask), .datum_b = 0 }

/* What the relay does from the capability drop to its exit */
static const struct rule relay_rules[] = {
	/* the loop: epoll, its timerfd; its signalfd is read() */
	ALLOW(epoll_wait), ALLOW(epoll_pwait), ALLOW(epoll_ctl),
	ALLOW(timerfd_settime), ALLOW(clock_gettime), ALLOW(restart_syscall),

	/* the sockets of bridges, flows and the opener; sd_notify's datagram
	 * socket; unix: SERVICEs; the control socket and --metrics (served
	 * by libmicrohttpd in the loop). Addresses are behind pointers:
	 * seccomp cannot see them. */
	ALLOW_IF(socket, ARG_EQ(0, AF_INET)),
	ALLOW_IF(socket, ARG_EQ(0, AF_INET6)),
	ALLOW_IF(socket, ARG_EQ(0, AF_UNIX)),
	/* socket diagnostics (--mirror, --allow-uid, a port's holder) of a
	 * side that is the relay's own, made afresh while running */
	ALLOW_IF2(socket, ARG_EQ(0, AF_NETLINK), ARG_EQ(2, NETLINK_SOCK_DIAG)),
	ALLOW(accept4), ALLOW(connect), ALLOW(bind), ALLOW(listen), ALLOW(shutdown),
	ALLOW(getsockopt), ALLOW(setsockopt), ALLOW(getsockname), ALLOW(getpeername),
	ALLOW(recvfrom), ALLOW(sendto), ALLOW(recvmsg), ALLOW(sendmsg),
	ALLOW(recvmmsg), ALLOW(sendmmsg),

	/* moving bytes: splice through pipes from the pipe pool */
	ALLOW(splice), ALLOW(pipe2), ALLOW(read), ALLOW(write), ALLOW(readv), ALLOW(writev),
	ALLOW(close),
	ALLOW_IF(fcntl, ARG_EQ(1, F_GETFL)),	/* a diag socket made blocking */
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETFL)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_GETFD)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETFD)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETPIPE_SZ)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_GETPIPE_SZ)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_DUPFD_CLOEXEC)),	/* the descriptor reserve's refill */
	ALLOW_IF(ioctl, ARG_EQ(1, TCGETS)),	/* isatty(), by stdio's first write */
	/* relay.c: a socket's queues (a reset waits for what went before it;
	 * --idle-timeout) and its urgent mark */
	ALLOW_IF(ioctl, ARG_EQ(1, SIOCINQ)),
	ALLOW_IF(ioctl, ARG_EQ(1, SIOCOUTQ)),
	ALLOW_IF(ioctl, ARG_EQ(1, SIOCOUTQNSD)),
	ALLOW_IF(ioctl, ARG_EQ(1, SIOCATMARK)),

	/* files, read only: /proc for the holder of a port when there is no
	 * opener to ask, /etc/localtime for the time in a status document */
	ALLOW_IF(openat, ARG_NONE_OF(2, OPEN_WRITING)),
	ALLOW(getdents64), ALLOW(readlinkat), ALLOW(newfstatat), ALLOW(fstat), ALLOW(lseek),
	/* whether the relay's user may connect to each unix: SERVICE of a
	 * reload or nsbridge add (runas_check_set()); the sanitizers' too */
	ALLOW(access), ALLOW(faccessat),
	/* at exit: the control socket and the --port-file go. Paths are
	 * behind pointers: this is the one call that changes the file
	 * system, with only the permissions of a user without capability
	 * (a relay that left uid 0 fails in root's directories: runas.c's
	 * keeper removes them) */
	ALLOW(unlink), ALLOW(unlinkat),

	/* -- CMD and the helpers, forked before the filter: followed by
	 * pidfd, reaped; CMD's group is sent the signals nsbridge gets
	 * through the pipe command.c owns, with F_SETSIG naming the signal */
	ALLOW_IF(waitid, ARG_EQ(0, P_PIDFD)),
	ALLOW_IF2(fcntl, ARG_EQ(1, F_SETSIG), ARG_EQ(2, SIGTERM)),
	ALLOW_IF2(fcntl, ARG_EQ(1, F_SETSIG), ARG_EQ(2, SIGINT)),
	ALLOW_IF2(fcntl, ARG_EQ(1, F_SETSIG), ARG_EQ(2, SIGHUP)),
	ALLOW_IF2(fcntl, ARG_EQ(1, F_SETSIG), ARG_EQ(2, SIGUSR1)),
	ALLOW_IF2(fcntl, ARG_EQ(1, F_SETSIG), ARG_EQ(2, SIGUSR2)),

	/* malloc, and libc's locks; never executable memory */
	ALLOW(brk), ALLOW(munmap), ALLOW(mremap), ALLOW(madvise), ALLOW(futex),
	ALLOW_IF(mmap, ARG_NONE_OF(2, PROT_EXEC)),
	ALLOW_IF(mprotect, ARG_NONE_OF(2, PROT_EXEC)),
	ALLOW(getrandom),

	/* identity: sd_notify passes its credentials */
	ALLOW(getpid), ALLOW(gettid), ALLOW(getuid), ALLOW(geteuid), ALLOW(getgid),
	ALLOW(getegid),

	/* signals: abort() and this file's handler raise() their own; the
	 * tgkill rules, which name the pid, are added by sandbox_enter() */
	ALLOW(rt_sigprocmask), ALLOW(rt_sigreturn),
	ALLOW(exit_group), ALLOW(exit),
};

/* The sanitizer runtimes' own work, which the relay's code never does */
static const struct rule sanitizer_rules[] = {
	/* LeakSanitizer at exit: a clone of the relay, with every signal
	 * blocked, lists /proc/self/task and ptrace()s each thread to read
	 * its registers while the relay waits; the runtime makes its own
	 * system calls, the legacy ones on x86_64 */
	ALLOW(clone), ALLOW(ptrace), ALLOW(wait4), ALLOW(prctl), ALLOW(getppid),
	ALLOW(sched_yield), ALLOW(sigaltstack), ALLOW(rt_sigaction),
	ALLOW(open), ALLOW(getdents), ALLOW(readlink), ALLOW(stat), ALLOW(lstat),
	ALLOW(nanosleep), ALLOW(clock_nanosleep), ALLOW(kill), ALLOW(tgkill),
	/* a report's stack goes to llvm-symbolizer in a child. The child
	 * inherits the filter and dies as its loader maps code, so the
	 * report keeps module+offset - but the relay, starting it, must not
	 * die mid-report */
	ALLOW(fork), ALLOW(vfork), ALLOW(clone3), ALLOW(execve), ALLOW(pipe), ALLOW(dup2),
	ALLOW(dup3), ALLOW(prlimit64), ALLOW(poll), ALLOW(ppoll),
};

/* For the SIGSYS handler, ready before the filter is */
static char names[NAMES_MAX][NAME_LEN];
static uint32_t native_arch;
static bool json;

/* Every sanitizer runtime defines this; weak, so that it is NULL in other
 * builds. Asked at run time because no macro tells UBSan alone under gcc.
 * Only its address is used. */
extern void __sanitizer_sandbox_on_notify(void *args) __attribute__((weak));

/* -------- the SIGSYS handler: async-signal-safe only -------- */

struct line {
	char buf[256];
	size_t len;
};

static void put(struct line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

static void put_uint(struct line *l, unsigned long long v, int min_digits)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v || n < min_digits);
	while (n && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = digits[--n];
}

static void on_sigsys(int sig, siginfo_t *si, void *ucontext)
{
	int nr = si->si_syscall;
	const char *name = "unknown";
	struct line l = { .len = 0 };

	if (si->si_arch == native_arch && nr >= 0 && nr < NAMES_MAX && names[nr][0])
		name = names[nr];
	if (json) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		put(&l, "{\"time\":");
		put_uint(&l, (unsigned long long)ts.tv_sec, 1);
		put(&l, ".");
		put_uint(&l, (unsigned long long)ts.tv_nsec / 1000000, 3);
		put(&l, ",\"level\":\"error\",\"msg\":\"");
	} else {
		put(&l, "nsbridge: ");
	}
	put(&l, "seccomp: forbidden system call ");
	put(&l, name);
	put(&l, " (");
	put_uint(&l, (unsigned)nr, 1);
	put(&l, "); this is a bug in nsbridge, please report it");
	put(&l, json ? "\"}\n" : "\n");
	if (write(STDERR_FILENO, l.buf, l.len) < 0)
		l.len = 0;	/* nowhere to say it: die all the same */

	/* SA_RESETHAND made SIGSYS deadly again; die of it */
	raise(SIGSYS);
	_exit(128 + SIGSYS);
}

/* -------- set-up -------- */

static void resolve_names(void)
{
	native_arch = seccomp_arch_native();
	for (int nr = 0; nr < NAMES_MAX; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		names[nr][0] = '\0';
		if (!name)
			continue;
		strncat(names[nr], name, NAME_LEN - 1);
		free(name);
	}
}

static int add_rules(scmp_filter_ctx ctx, const struct rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, rules[i].nr,
					       rules[i].n_args, rules[i].args);

		/* -EDOM: a call this architecture does not have (epoll_wait,
		 * say, is epoll_pwait only on arm64): nothing to allow */
		if (r < 0 && r != -EDOM)
			return r;
	}
	return 0;
}

/* Signals to the relay itself only: its pid no longer changes */
static int add_own_signals(scmp_filter_ctx ctx)
{
	static const int signals[] = { SIGABRT, SIGSYS };
	pid_t pid = getpid();

	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		struct scmp_arg_cmp args[] = {
			ARG_EQ(0, (scmp_datum_t)pid), ARG_EQ(2, (scmp_datum_t)signals[i]),
		};
		int r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2, args);

		if (r < 0)
			return r;
	}
	return 0;
}

static int build(scmp_filter_ctx ctx)
{
	int r;

	/* a binary tree of calls: splice is checked in a few steps, not 60 */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	/* an x32 or i386 call on x86_64 says so, rather than dying unexplained */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
	if (r < 0)
		return r;
	/* the kernel's log names the call too (dmesg, audit: type=1326),
	 * even where the handler cannot run; kernels before 4.14 do not */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	r = add_rules(ctx, relay_rules, sizeof(relay_rules) / sizeof(relay_rules[0]));
	if (r < 0)
		return r;
	r = add_own_signals(ctx);
	if (r < 0)
		return r;
	if (__sanitizer_sandbox_on_notify)
		r = add_rules(ctx, sanitizer_rules,
			      sizeof(sanitizer_rules) / sizeof(sanitizer_rules[0]));
	return r;
}

/**
 * sandbox_enter() - allow the relay only the system calls its loop makes
 *
 * Call once set-up is over and capabilities are dropped (caps.c sets
 * no_new_privs, without which an unprivileged process may not install a
 * filter), with one thread. From then on a forbidden call ends the
 * process by SIGSYS, with one line naming it on stderr. Under valgrind
 * nothing is installed (see the top of this file).
 *
 * Return: 0 or -errno
 */
int sandbox_enter(void)
{
	struct sigaction sa = {
		.sa_sigaction = on_sigsys,
		.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER,
	};
	scmp_filter_ctx ctx;
	sigset_t sys;
	int r;

	if (RUNNING_ON_VALGRIND) {
		log_debug("seccomp: no system call filter under valgrind");
		return 0;
	}
	json = log_get_format() == LOG_FORMAT_JSON;
	resolve_names();
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	/* a blocked SIGSYS would kill at once, without the line */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	if (sigprocmask(SIG_UNBLOCK, &sys, NULL) < 0)
		return -errno;

	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	r = build(ctx);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}
