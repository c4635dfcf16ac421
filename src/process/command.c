/* SPDX-License-Identifier: GPL-2.0-or-later */
/* command.c - nsbridge ... -- CMD: run a command while the bridges stand
 *
 * Theory of operation
 *
 * CMD must start once every bridge is ready, without nsbridge's
 * capabilities, and nsbridge must end with it, exiting with its status.
 * Making a process is no longer possible once the relay has dropped its
 * capabilities and entered its seccomp filter, so the child is forked
 * before, and waits on a pipe:
 *
 *   relay --"NSBRIDGE_PORT=5432\n..."--> child: drop every capability,
 *                                        set the environment, execvp(CMD)
 *
 * The fork comes before the relay leaves uid 0 (runas.c), so CMD runs as
 * the user who started nsbridge: `-- docker exec app npm test` must still
 * reach the Docker socket, which the relay must not.
 *
 * The relay writes the environment and closes the pipe when the ready
 * lines are printed. If set-up fails instead, the relay exits, the pipe
 * closes empty, and the child leaves without running anything. Between
 * fork and exec the child holds nothing of the relay's: every descriptor
 * but stdin, stdout, stderr and the pipe is closed at once.
 *
 * The relay follows the child through a pidfd, a source registered with
 * event.c. When CMD ends, nsbridge stops as on SIGTERM - no new clients,
 * open connections may finish for --drain-timeout - and exits with CMD's
 * status, 128 + N for a signal N as shells report it.
 *
 * CMD never outlives nsbridge, nor do the processes it starts. Two
 * things stood in the way. PR_SET_PDEATHSIG reaches CMD alone, not a
 * shell's children (`sh -c 'server; cleanup'` left the server running);
 * and the kernel sends it with the credentials of the dying relay, which
 * after the switch to USER (runas.c) may not signal CMD, of uid 0. So:
 *
 *   - CMD leads a process group of its own (when its stdin is not a
 *     terminal: an interactive CMD must stay in the terminal's
 *     foreground group, to read from it and get its ^C), and the group
 *     is what gets signalled;
 *   - the signal comes from a pipe, not from a kill(). Before the drop,
 *     still root, the relay makes both ends of a pipe O_ASYNC, owned by
 *     CMD's group (F_SETOWN_EX), with F_SETSIG naming the signal. The
 *     kernel checks a SIGIO against the credentials recorded by
 *     F_SETOWN, root's, so whatever the relay's uid later:
 *
 *       signal to pass on   F_SETSIG SIGNO on the read end, write a
 *                           byte; read it back with the write end's
 *                           O_ASYNC off (a read signals the writers)
 *       the relay's end     one end is closed before the other (at
 *                           exit, or by the kernel when the relay dies,
 *                           kill -9 too, in an order of its own): the
 *                           other end's owner, CMD's group, gets SIGTERM
 *
 *     The pipe targets the group's struct pid, not its number: a reused
 *     number is another struct pid, and is never signalled. No helper
 *     takes part: a scoped run ends on SIGTERM or SIGINT whatever helper
 *     has died, and a kill -9 of the relay ends CMD's group.
 *
 * Signals: SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 sent to nsbridge
 * are passed on to CMD, and nsbridge waits for CMD to end. With CMD in
 * the terminal's group, one typed at the terminal (si_code SI_KERNEL)
 * reached CMD already, so it is not sent twice.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nsbridge/caps.h"
#include "nsbridge/child.h"
#include "nsbridge/command.h"
#include "nsbridge/event.h"

#define ENV_MAX		(64 * 1024)
#define GO_FD		3	/* the pipe's read end, in the child */

/* The pipe whose read end signals CMD's group (theory of operation) */
static int signal_rd = -1, signal_wr = -1;
static bool own_group;		/* CMD leads a process group of its own */

/* Read the whole environment block the relay sends; NULL if it sent none */
static char *read_env(void)
{
	char *buf = malloc(ENV_MAX);
	size_t len = 0;

	if (!buf)
		return NULL;
	for (;;) {
		ssize_t n = read(GO_FD, buf + len, ENV_MAX - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) == ENV_MAX - 1)
			break;
	}
	if (len == 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

static void apply_env(char *block)
{
	for (char *line = strtok(block, "\n"); line; line = strtok(NULL, "\n"))
		putenv(line);	/* the block lives until exec */
}

/* Reset what exec would otherwise pass on from the relay */
static void reset_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
}

static __attribute__((noreturn)) void child_main(char **argv, int go_fd, pid_t parent)
{
	char *env;

	/* a relay that dies before go closes the pipe: read_env() ends it */
	if (getppid() != parent || (own_group && setpgid(0, 0) < 0))
		_exit(EXIT_FAILURE);
	if (dup2(go_fd, GO_FD) < 0 || syscall(SYS_close_range, GO_FD + 1, ~0U, 0) < 0)
		_exit(EXIT_FAILURE);
	env = read_env();
	if (!env)
		_exit(EXIT_FAILURE);	/* the relay gave up before it was ready */
	close(GO_FD);
	if (caps_drop_all() < 0) {
		fprintf(stderr, "nsbridge: %s: cannot drop capabilities: %s\n", argv[0],
			strerror(errno));
		_exit(126);
	}
	reset_signals();
	apply_env(env);
	execvp(argv[0], argv);
	fprintf(stderr, "nsbridge: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/*
 * The pipe that signals @pid's group (or @pid alone, in the terminal's
 * group), made while the relay is root: see the theory of operation
 */
static int make_signal_pipe(pid_t pid)
{
	struct f_owner_ex owner = { .type = own_group ? F_OWNER_PGRP : F_OWNER_PID, .pid = pid };
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	signal_rd = p[0];
	signal_wr = p[1];
	for (int i = 0; i < 2; i++)
		if (fcntl(p[i], F_SETOWN_EX, &owner) < 0 || fcntl(p[i], F_SETSIG, SIGTERM) < 0 ||
		    fcntl(p[i], F_SETFL, O_NONBLOCK | O_ASYNC) < 0)
			return -errno;
	return 0;
}

static void on_cmd_exit(struct ctx *c, struct event_source *s, uint32_t events);
static void release(struct ctx *c);

/**
 * command_start() - fork the child that will run -- CMD, waiting to be told
 * @c:		context with its loop set up, before the capability drop
 *
 * Return: 0 (also without -- CMD), or -errno
 */
int command_start(struct ctx *c)
{
	const enum child_link go = CHILD_PIPE_TO;
	pid_t parent = getpid(), pid;
	int go_fd, r;

	if (!c->config->command)
		return 0;
	event_add_exit(c, release);
	own_group = !isatty(STDIN_FILENO);
	pid = child_fork(&go, 1, &go_fd);
	if (pid < 0)
		return pid;
	if (pid == 0)
		child_main(c->config->command, go_fd, parent);
	c->command_go_fd = go_fd;
	/* in the child too: whichever runs first, the group is there */
	if (own_group)
		setpgid(pid, pid);
	c->command_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (c->command_pidfd < 0)
		return -errno;
	r = make_signal_pipe(pid);
	if (r < 0)
		return r;
	return event_add_io(c, &c->command_source, c->command_pidfd, EPOLLIN, on_cmd_exit);
}

/* Have the kernel send @signo to CMD's group, with the credentials of set-up */
static int signal_group(int signo)
{
	char byte = 0;
	int r = 0;

	if (signal_wr < 0)
		return -EBADF;
	if (fcntl(signal_rd, F_SETSIG, signo) < 0)
		return -errno;
	if (write(signal_wr, &byte, 1) != 1)
		r = -errno;
	/* empty again, for the next, without the writers' SIGIO of a read */
	if (fcntl(signal_wr, F_SETFL, O_NONBLOCK) == 0) {
		while (read(signal_rd, &byte, 1) == 1)
			;
		fcntl(signal_wr, F_SETFL, O_NONBLOCK | O_ASYNC);
	}
	if (fcntl(signal_rd, F_SETSIG, SIGTERM) < 0 && r == 0)	/* what a death sends */
		r = -errno;
	return r;
}

/* NAME=PORT and a newline at @off of @buf */
static int append(char *buf, size_t len, size_t *off, const char *name, unsigned port)
{
	int n = snprintf(buf + *off, len - *off, "%s=%u\n", name, port);

	if (n < 0 || (size_t)n >= len - *off)
		return -ENOSPC;
	*off += (size_t)n;
	return 0;
}

/**
 * command_go() - the bridges are ready: give CMD its ports and let it run
 * @c:		context
 *
 * NSBRIDGE_PORT is the first bridge's EXPOSE port, NSBRIDGE_PORT_<n> the
 * n-th's, from 1: the port the kernel picked where EXPOSE asked for 0.
 */
void command_go(struct ctx *c)
{
	char env[ENV_MAX];
	size_t off = 0;
	bool first = true;

	if (c->command_go_fd < 0)
		return;
	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct bridge *b = &c->bridges[i];
		char name[32];

		if (b->spec->mirror)
			continue;
		if (first && append(env, sizeof(env), &off, "NSBRIDGE_PORT", b->expose.port_first) < 0)
			break;
		first = false;
		snprintf(name, sizeof(name), "NSBRIDGE_PORT_%u", b->index + 1);
		if (append(env, sizeof(env), &off, name, b->expose.port_first) < 0)
			break;
	}
	if (off == 0)
		env[off++] = '\n';	/* something, so that the child knows to go on */
	if (write(c->command_go_fd, env, off) != (ssize_t)off)
		log_errno(LOG_LEVEL_WARNING, -errno, "telling %s its ports", c->config->command[0]);
	close(c->command_go_fd);
	c->command_go_fd = -1;
}

/* CMD ended: stop as on SIGTERM, and exit with its status */
static void on_cmd_exit(struct ctx *c, struct event_source *s, uint32_t events)
{
	siginfo_t info = { 0 };

	(void)s;
	(void)events;
	if (waitid((idtype_t)P_PIDFD, (id_t)c->command_pidfd, &info, WEXITED | WNOHANG) < 0 ||
	    info.si_pid == 0)
		return;
	if (info.si_code == CLD_EXITED) {
		c->exit_status = info.si_status;
		log_info("%s exited with status %d; stopping", c->config->command[0],
			 info.si_status);
	} else {
		c->exit_status = 128 + info.si_status;
		log_info("%s was killed by signal %d (%s); stopping", c->config->command[0],
			 info.si_status, strsignal(info.si_status));
	}
	event_del_io(c, &c->command_source);
	close(c->command_pidfd);
	c->command_pidfd = -1;
	event_stop(c);
}

/**
 * command_forward() - pass a signal on to CMD while it runs
 * @c:		context
 * @signo:	the signal
 * @from_tty:	typed at the terminal: CMD, if in the terminal's group, has it
 *
 * Return: true if CMD runs and nsbridge waits for it to end
 */
bool command_forward(struct ctx *c, int signo, bool from_tty)
{
	int r;

	if (c->command_pidfd < 0)
		return false;
	if (from_tty && !own_group)
		return true;
	/* CMD keeps the uid nsbridge started with, which the relay may have left */
	r = signal_group(signo);
	if (r < 0)
		log_errno(LOG_LEVEL_WARNING, r, "passing signal %d on to %s", signo,
			  c->config->command[0]);
	return true;
}

/*
 * Close what is left of CMD's child, at exit. Closing the signal pipe's
 * write end sends SIGTERM to whatever is left of CMD's group (CMD alone,
 * in the terminal's group), as a kill -9 of the relay would.
 */
static void release(struct ctx *c)
{
	if (c->command_go_fd >= 0)
		close(c->command_go_fd);
	c->command_go_fd = -1;
	event_del_io(c, &c->command_source);
	if (c->command_pidfd >= 0)
		close(c->command_pidfd);
	c->command_pidfd = -1;
	if (signal_wr >= 0)
		close(signal_wr);
	if (signal_rd >= 0)
		close(signal_rd);
	signal_wr = signal_rd = -1;
}
