/* SPDX-License-Identifier: GPL-2.0-or-later */
/* runas.c - the user the relay becomes after set-up, and what it leaves to root
 *
 * Theory of operation
 *
 * Without capabilities uid 0 still owns every root-owned file and
 * socket: a relay left at uid 0 could connect to a root-only unix socket
 * such as the Docker API's, which is root on the host. So a relay
 * started as root becomes an unprivileged user in the staged drop
 * (caps_drop_all_as()): --user USER, by default a dedicated "nsbridge"
 * user where one exists, else "nobody"; its primary group, and no
 * supplementary group. Started as any other user, nsbridge keeps its
 * uid: it has no other to give up, and could not switch anyway.
 *
 * Who keeps the uid that started nsbridge, and why:
 *
 *   opener    a separate process that keeps the capabilities set-up
 *             needs (opener.c); it never sees traffic
 *   -- CMD    forked before the drop, it runs as the user who started
 *             nsbridge (without capabilities): `docker exec` must
 *             still reach the Docker socket
 *   watcher   forked before the drop (watcher.c): following a named
 *             container means talking to the engine's API socket, which
 *             only root (or its group) may open. It reads nothing from
 *             the relay, and the relay, now another uid, can neither
 *             signal nor ptrace it
 *   keeper    below
 *
 * What the relay needs of uid 0 is arranged before the switch:
 *
 *   - listeners, the control socket (/run/nsbridge is root's), the
 *     --port-file and the --metrics socket are made before it;
 *   - a unix: SERVICE is connected to for each client, by the relay,
 *     as USER. runas_check_services() asks at start, in a child that
 *     becomes USER, whether USER may connect to each one, and nsbridge
 *     refuses to start, naming the socket, its mode and the user, when
 *     it may not - rather than reset every client later;
 *   - what the relay's new uid no longer allows is left to the keeper,
 *     a child forked just before the switch that keeps uid 0 without any
 *     capability and holds nothing of the relay's but CMD's pidfd. At
 *     exit the control socket and the --port-file must go, but unlinking
 *     needs write permission on their directory, which USER does not
 *     have in /run/nsbridge; and the stop signals nsbridge passes on to
 *     -- CMD may not cross from USER to CMD's uid (the kernel's kill()
 *     rule, for pidfds too). So the relay sends the keeper a signal
 *     number, one byte, for each signal CMD is to get; when the relay
 *     closes its end (at exit, or by dying), the keeper sends CMD
 *     SIGTERM as PR_SET_PDEATHSIG would, unlinks the two paths fixed at
 *     fork, and exits. A subverted relay can make it do no more than
 *     that: signal CMD with a stop signal, remove the relay's own files
 *     early. The relay waits for it at a clean exit, so the files are
 *     gone when nsbridge has exited.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nsbridge/caps.h"
#include "nsbridge/control.h"
#include "nsbridge/runas.h"

#define RUNAS_DEFAULT		"nsbridge"
#define RUNAS_FALLBACK		"nobody"
#define KEEPER_FD		3
#define KEEPER_PIDFD		4

static int keeper_fd = -1;	/* the relay's end of the keeper's socket */

static void set_user(struct runas *ret, const char *name, uid_t uid, gid_t gid)
{
	snprintf(ret->name, sizeof(ret->name), "%s", name);
	ret->uid = uid;
	ret->gid = gid;
	ret->switching = geteuid() == 0 && uid != 0;
}

/* NAME from the passwd database, or a number (its entry's group, else the same number) */
static int lookup(const char *name, struct runas *ret)
{
	struct passwd *pw = getpwnam(name);
	unsigned long n;
	char *end;

	if (pw) {
		set_user(ret, name, pw->pw_uid, pw->pw_gid);
		return 0;
	}
	errno = 0;
	n = strtoul(name, &end, 10);
	if (*name < '0' || *name > '9' || *end || errno || n >= (uid_t)-1)
		return -ENOENT;
	pw = getpwuid((uid_t)n);
	set_user(ret, name, (uid_t)n, pw ? pw->pw_gid : (gid_t)n);
	return 0;
}

/**
 * runas_resolve() - who the relay runs as after set-up
 * @user:	--user USER, NULL for the default
 * @ret:	the user; @ret->switching is false when nsbridge does not run
 *		as root, or USER is root
 * @why:	what went wrong, on failure
 * @why_len:	size of @why
 *
 * Return: 0, -ENOENT for a user that does not exist, -EPERM for a --user
 * that is not the caller when the caller is not root
 */
int runas_resolve(const char *user, struct runas *ret, char *why, size_t why_len)
{
	if (geteuid() != 0) {
		/* nothing to give up: run as the user who started it */
		if (user && (lookup(user, ret) < 0 || ret->uid != geteuid())) {
			snprintf(why, why_len, "--user %s: only root can switch to another "
				 "user; nsbridge runs as uid %u", user, (unsigned)geteuid());
			return -EPERM;
		}
		set_user(ret, "", geteuid(), getegid());
		return 0;
	}
	if (user) {
		if (lookup(user, ret) == 0)
			return 0;
		snprintf(why, why_len, "--user %s: no such user", user);
		return -ENOENT;
	}
	if (lookup(RUNAS_DEFAULT, ret) == 0 || lookup(RUNAS_FALLBACK, ret) == 0)
		return 0;
	snprintf(why, why_len, "no user '%s' or '%s' to run the relay as: name one with --user",
		 RUNAS_DEFAULT, RUNAS_FALLBACK);
	return -ENOENT;
}

/* In a child become @as and try each unix: SERVICE; exit with the index of
 * the first it may not connect to, plus one, or 0 */
static __attribute__((noreturn)) void check_child(const struct config *cfg,
						  const struct runas *as)
{
	int k = 0;

	if (setgroups(0, NULL) < 0 || setresgid(as->gid, as->gid, as->gid) < 0 ||
	    setresuid(as->uid, as->uid, as->uid) < 0)
		_exit(255);
	for (size_t i = 0; i < cfg->n_bridges; i++)
		for (unsigned s = 0; s < cfg->bridges[i].n_services; s++, k++) {
			const struct endpoint *svc = &cfg->bridges[i].services[s];

			/* connect() needs write permission on the socket and search
			 * on its directories; one that is not there yet may come */
			if (svc->kind == ENDPOINT_UNIX && access(svc->path, W_OK) < 0 &&
			    (errno == EACCES || errno == EPERM))
				_exit(k + 1 < 255 ? k + 1 : 254);
		}
	_exit(0);
}

/* "srwx------ root:root", as ls shows a socket */
static void describe(const char *path, char *buf, size_t len)
{
	static const char rwx[] = "rwxrwxrwx";
	char mode[11] = "?---------", owner[64], group[64];
	struct passwd *pw;
	struct group *gr;
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(buf, len, "in a directory it cannot search");
		return;
	}
	mode[0] = S_ISSOCK(st.st_mode) ? 's' : S_ISDIR(st.st_mode) ? 'd' : '-';
	for (int i = 0; i < 9; i++)
		if (st.st_mode & (0400u >> i))
			mode[i + 1] = rwx[i];
	pw = getpwuid(st.st_uid);
	gr = getgrgid(st.st_gid);
	if (pw)
		snprintf(owner, sizeof(owner), "%s", pw->pw_name);
	else
		snprintf(owner, sizeof(owner), "%u", (unsigned)st.st_uid);
	if (gr)
		snprintf(group, sizeof(group), "%s", gr->gr_name);
	else
		snprintf(group, sizeof(group), "%u", (unsigned)st.st_gid);
	snprintf(buf, len, "%s %s:%s", mode, owner, group);
}

/* The @k-th SERVICE of @cfg, counting every bridge's in order */
static const struct endpoint *nth_service(const struct config *cfg, int k)
{
	for (size_t i = 0; i < cfg->n_bridges; i++) {
		if (k < (int)cfg->bridges[i].n_services)
			return &cfg->bridges[i].services[k];
		k -= (int)cfg->bridges[i].n_services;
	}
	return NULL;
}

/**
 * runas_check_services() - refuse a unix: SERVICE that @as may not connect to
 * @cfg:	the configuration
 * @as:		the user the relay will be
 *
 * Logs one line naming the socket, its mode and owner, and the user.
 *
 * Return: 0, -EACCES when a SERVICE is out of reach, other -errno when
 * the check itself failed
 */
int runas_check_services(const struct config *cfg, const struct runas *as)
{
	const struct endpoint *svc;
	char text[160];
	int status;
	pid_t pid;

	if (!as->switching)
		return 0;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		check_child(cfg, as);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 255)
		return -EPERM;
	if (WEXITSTATUS(status) == 0)
		return 0;
	svc = nth_service(cfg, WEXITSTATUS(status) - 1);
	if (!svc)
		return -EIO;
	describe(svc->path, text, sizeof(text));
	log_error("unix:%s (%s): user %s cannot connect to it, and the relay runs as %s "
		  "after set-up; give %s access, or name another user with --user", svc->path,
		  text, as->name, as->name, as->name);
	return -EACCES;
}

/* Pass on a stop signal the relay asks for, only to CMD: the signals of command.c */
static void keeper_signal(int pidfd, unsigned char signo)
{
	switch (signo) {
	case SIGTERM:
	case SIGINT:
	case SIGHUP:
	case SIGUSR1:
	case SIGUSR2:
		if (pidfd >= 0)
			syscall(SYS_pidfd_send_signal, pidfd, (int)signo, NULL, 0);
		break;
	default:
		break;
	}
}

/* Serve the relay until it goes, then do what it no longer can */
static __attribute__((noreturn)) void keeper_main(const char *paths[], int n, int pidfd,
						   pid_t parent)
{
	unsigned char signo;
	ssize_t n_read;

	prctl(PR_SET_NAME, "nsbridge-keeper", 0, 0, 0);
	/* no PR_SET_PDEATHSIG: it must outlive the relay by an instant */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (getppid() != parent || caps_drop_all() < 0)
		_exit(EXIT_FAILURE);
	for (;;) {
		n_read = read(KEEPER_FD, &signo, 1);
		if (n_read == 1)
			keeper_signal(pidfd, signo);
		else if (n_read == 0 || errno != EINTR)
			break;
	}
	/* as PR_SET_PDEATHSIG would, where the relay's uid may not */
	keeper_signal(pidfd, SIGTERM);
	for (int i = 0; i < n; i++)
		unlink(paths[i]);
	_exit(EXIT_SUCCESS);
}

/**
 * runas_keeper_start() - before the switch: fork the keeper, which keeps
 *			  the uid nsbridge was started with
 * @c:		context, set-up done, -- CMD forked, still root
 *
 * Return: 0 or -errno
 */
int runas_keeper_start(const struct ctx *c)
{
	const char *paths[2];
	pid_t parent = getpid(), pid;
	int n = 0, sv[2];

	if (control_path(c))
		paths[n++] = control_path(c);
	if (c->port_file_written)
		paths[n++] = c->config->port_file;
	if (n == 0 && c->command_pidfd < 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		/* nothing of the relay's but CMD's pidfd: no listener, no namespace */
		int sock = fcntl(sv[1], F_DUPFD_CLOEXEC, KEEPER_PIDFD + 1);
		int pidfd = c->command_pidfd < 0 ? -1 :
			    fcntl(c->command_pidfd, F_DUPFD_CLOEXEC, KEEPER_PIDFD + 1);

		if (sock < 0 || (c->command_pidfd >= 0 && pidfd < 0) ||
		    dup2(sock, KEEPER_FD) < 0 || (pidfd >= 0 && dup2(pidfd, KEEPER_PIDFD) < 0) ||
		    syscall(SYS_close_range, KEEPER_PIDFD + (pidfd >= 0), ~0U, 0) < 0)
			_exit(EXIT_FAILURE);
		keeper_main(paths, n, c->command_pidfd >= 0 ? KEEPER_PIDFD : -1, parent);
	}
	close(sv[1]);
	keeper_fd = sv[0];
	return 0;
}

/**
 * runas_keeper_signal() - have the keeper pass @signo on to -- CMD
 * @signo:	SIGTERM, SIGINT, SIGHUP, SIGUSR1 or SIGUSR2
 *
 * CMD runs as the user who started nsbridge; the relay, once it left uid
 * 0, may not signal it itself.
 *
 * Return: 0, -ENOTCONN when there is no keeper (the relay did not switch:
 * it signals CMD itself), other -errno
 */
int runas_keeper_signal(int signo)
{
	unsigned char byte = (unsigned char)signo;

	if (keeper_fd < 0)
		return -ENOTCONN;
	if (send(keeper_fd, &byte, 1, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

/**
 * runas_keeper_finish() - at exit: let the keeper stop CMD and remove the
 *			   files, and wait until it has
 */
void runas_keeper_finish(void)
{
	char byte;

	if (keeper_fd < 0)
		return;
	shutdown(keeper_fd, SHUT_WR);
	/* end of file when the keeper has exited (it never writes) */
	while (read(keeper_fd, &byte, 1) < 0 && errno == EINTR)
		;
	close(keeper_fd);
	keeper_fd = -1;
}
