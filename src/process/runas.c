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
 *             still reach the Docker socket. The relay signals it
 *             through a descriptor owned while it was still root
 *             (command.c), so CMD needs nothing of the keeper
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
 *     it may not - rather than reset every client later. A reload or
 *     nsbridge add checks the whole new set again (runas_check_set()),
 *     in the relay itself, which is USER by then, and is refused so;
 *   - what the relay's new uid no longer allows is left to the keeper,
 *     a child forked just before the switch that keeps uid 0 without any
 *     capability and holds nothing of the relay's but a pidfd of the
 *     watcher. At
 *     exit the control socket and the --port-file must go, but unlinking
 *     needs write permission on their directory, which USER does not
 *     have in /run/nsbridge; a --port-file rewritten after a reload must
 *     replace the old one by a rename, for a reader to see the old lines
 *     or the new ones and never a mix, which needs the same. So the relay
 *     sends the keeper KEEPER_PORT_FILE with the file's new text (and
 *     KEEPER_SOURCES_FILE with the map of source addresses, sourcemap.c,
 *     which changes as labelled containers come and go), which
 *     the keeper writes aside and renames over the path fixed at fork
 *     before it answers; when the relay closes its end (at exit, or by
 *     dying: kill -9 too), the keeper sends the engine watcher SIGKILL, as
 *     its PR_SET_PDEATHSIG would (the kernel sends that with the dying
 *     relay's credentials, which no longer may), unlinks the two paths
 *     fixed at fork, and exits. The opener needs none of it: it ends at
 *     its socket's end of file. A subverted relay can make it do no more
 *     than that: remove the relay's own files early, write text of its
 *     choice into its own --port-file. The relay waits for it at a clean
 *     exit, so the files are gone when nsbridge has exited.
 *
 * Any relay that made a file has a keeper, whatever its user: one that
 * keeps its uid (started as a user, or --user root) has it for a kill -9,
 * after which nothing else would remove the control socket, and for a
 * --port-file rewrite (its filter opens nothing for writing).
 *
 * The keeper may die before the relay (kill -9, the OOM killer). The
 * relay sees it by pidfd (children.c) and logs it at once. Nothing starts
 * it again (forking needs what the filter forbids): a --port-file rewrite
 * after a reload is refused with a line, and at exit the relay removes
 * the two paths itself, saying in one line which it could not remove
 * (USER, in root's /run/nsbridge). CMD is not affected.
 */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
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
#include "nsbridge/child.h"
#include "nsbridge/control.h"
#include "nsbridge/runas.h"
#include "nsbridge/watcher.h"

#define RUNAS_LINE_MAX		256	/* main.c's buffer for these lines was as long */
#define RUNAS_DEFAULT		"nsbridge"
#define RUNAS_FALLBACK		"nobody"

/* The keeper's descriptors, at fixed places; -1 in the relay for one it lacks */
enum keeper_fd {
	KEEPER_SOCKET = 3,	/* to the relay */
	KEEPER_WATCHER,		/* the engine watcher's pidfd */
	KEEPER_FD_END,
};

/* What the relay sends: the byte of a file (enum keeper_file), the text's
 * length, then the text */
#define KEEPER_TEXT_MAX		(16u << 20)

#define KEEPER_PATHS	3	/* the control socket, the --port-file, the sources file */

static int keeper_fd = -1;	/* the relay's end of the keeper's socket */
static pid_t keeper_pid;	/* 0 if none was started */
static bool keeper_gone;	/* it has exited before the relay */
static char keeper_paths[KEEPER_PATHS][PATH_MAX];	/* the relay's copy */

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

/* The line a start says, at most 255 characters as it ever was, and @r */
#define runas_fail(f, status, r, ...) \
	failure_setn(f, RUNAS_LINE_MAX, status, r, __VA_ARGS__)

/**
 * runas_resolve() - who the relay runs as after set-up
 * @user:	--user USER, NULL for the default
 * @ret:	the user; @ret->switching is false when nsbridge does not run
 *		as root, or USER is root
 * @f:		on failure, what went wrong and the exit status: 5 for -EPERM,
 *		2 for -ENOENT
 *
 * Return: 0, -ENOENT for a user that does not exist, -EPERM for a --user
 * that is not the caller when the caller is not root
 */
int runas_resolve(const char *user, struct runas *ret, struct failure *f)
{
	if (geteuid() != 0) {
		/* nothing to give up: run as the user who started it */
		if (user && (lookup(user, ret) < 0 || ret->uid != geteuid()))
			return runas_fail(f, EXIT_PRIVILEGE, -EPERM, "--user %s: only root can "
					  "switch to another user; nsbridge runs as uid %u", user,
					  (unsigned)geteuid());
		set_user(ret, "", geteuid(), getegid());
		return 0;
	}
	if (user) {
		if (lookup(user, ret) == 0)
			return 0;
		return runas_fail(f, EXIT_USAGE, -ENOENT, "--user %s: no such user", user);
	}
	if (lookup(RUNAS_DEFAULT, ret) == 0 || lookup(RUNAS_FALLBACK, ret) == 0)
		return 0;
	return runas_fail(f, EXIT_USAGE, -ENOENT, "no user '%s' or '%s' to run the relay as: "
			  "name one with --user", RUNAS_DEFAULT, RUNAS_FALLBACK);
}

/* Who the relay becomes, for the checks of a reload or an add */
static struct runas relay_as;

/**
 * struct check - what the child of runas_check_services() found
 * @error:	0, -errno of the switch (@service -1), or -EACCES for @service
 * @service:	index of the SERVICE out of reach, counting every bridge's
 */
struct check {
	int32_t error;
	int32_t service;
};

/* Become @as, as the relay will, and try each unix: SERVICE */
static __attribute__((noreturn)) void check_child(const struct config *cfg,
						  const struct runas *as, int out_fd)
{
	struct check res = { .service = -1 };
	int k = 0;

	if (setgroups(0, NULL) < 0 || setresgid(as->gid, as->gid, as->gid) < 0 ||
	    setresuid(as->uid, as->uid, as->uid) < 0)
		res.error = -errno;
	for (size_t i = 0; i < cfg->n_bridges && !res.error; i++)
		for (unsigned s = 0; s < cfg->bridges[i].n_services && !res.error; s++, k++) {
			const struct endpoint *svc = &cfg->bridges[i].services[s];

			/* connect() needs write permission on the socket and search
			 * on its directories; one that is not there yet may come */
			if (svc->kind == ENDPOINT_UNIX && access(svc->path, W_OK) < 0 &&
			    (errno == EACCES || errno == EPERM))
				res = (struct check){ .error = -EACCES, .service = k };
		}
	_exit(write(out_fd, &res, sizeof(res)) == sizeof(res) ? EXIT_SUCCESS : EXIT_FAILURE);
}

/*
 * "srwx------ root:root", as ls shows a socket; with @numbers, "0:0": the
 * running relay must not look names up, which may load an NSS module
 * (nsswitch.conf's "systemd"), code its filter does not let it map
 */
static void describe(const char *path, bool numbers, char *buf, size_t len)
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
	pw = numbers ? NULL : getpwuid(st.st_uid);
	gr = numbers ? NULL : getgrgid(st.st_gid);
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

/* The one line that refuses @svc, out of reach of @as; its length, as snprintf() */
static int refusal(const struct endpoint *svc, const struct runas *as, bool numbers,
		    char *buf, size_t len)
{
	char text[160];

	describe(svc->path, numbers, text, sizeof(text));
	return snprintf(buf, len, "unix:%s (%s): user %s cannot connect to it, and the relay runs as "
		 "%s after set-up; give %s access, or name another user with --user", svc->path,
		 text, as->name, as->name, as->name);
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

/* Run check_child() and take its answer */
static int run_check(const struct config *cfg, const struct runas *as, struct check *ret)
{
	const enum child_link to_relay = CHILD_PIPE_FROM;
	int fd, status, r = 0;
	pid_t pid;

	pid = child_fork(&to_relay, 1, &fd);
	if (pid < 0)
		return pid;
	if (pid == 0)
		check_child(cfg, as, fd);
	if (read(fd, ret, sizeof(*ret)) != sizeof(*ret))
		r = -EIO;
	close(fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return r;
}


/**
 * runas_check_services() - before set-up: that the relay can become @as,
 *			    and reach every unix: SERVICE as @as
 * @cfg:	the configuration
 * @as:		the user the relay will be
 *
 * @f:		on failure, the line and the exit status: 5 for -EACCES and
 *		-EPERM, else 1
 *
 * Tried in a child that becomes @as, so the kernel answers (groups,
 * ACLs and all). For a SERVICE out of reach, the line names the socket,
 * its mode and owner, and the user.
 *
 * @as is kept for runas_check_set().
 *
 * Return: 0, -EACCES when a SERVICE is out of reach, other -errno when
 * the relay could not become @as or the check failed
 */
int runas_check_services(const struct config *cfg, const struct runas *as, struct failure *f)
{
	const struct endpoint *svc;
	struct check res;
	char text[BRIDGE_ERROR_MAX];
	int r;

	relay_as = *as;
	if (!as->switching)
		return 0;
	r = run_check(cfg, as, &res);
	if (r < 0)
		return failure_errno_refused(f, r, "checking what user %s may connect to", as->name);
	if (res.error == 0)
		return 0;
	svc = res.service >= 0 ? nth_service(cfg, res.service) : NULL;
	if (!svc)
		return failure_errno_refused(f, res.error,
					     "becoming user %s (uid %u, gid %u) after set-up",
					     as->name, (unsigned)as->uid, (unsigned)as->gid);
	refusal(svc, as, false, text, sizeof(text));
	return failure_set(f, EXIT_PRIVILEGE, -EACCES, "%s", text);
}

/**
 * runas_check_set() - runas_check_services() for the bridges a running
 *		       relay is to have after a reload or an add
 * @bridges:	the whole new set, running bridges and new ones
 * @n:		how many
 * @f:		when refused, the line a start would log and its exit status (5)
 *
 * The relay is the user by now (no supplementary group, as the child of
 * the start's check made itself), so it asks the kernel itself, with
 * access(2) on each unix: SERVICE; a socket's owner is given as numbers.
 *
 * Return: 0, or -EACCES with @f set
 */
int runas_check_set(const struct bridge_spec *bridges, size_t n, struct failure *f)
{
	for (size_t i = 0; relay_as.switching && i < n; i++)
		for (unsigned k = 0; k < bridges[i].n_services; k++) {
			const struct endpoint *svc = &bridges[i].services[k];

			if (svc->kind == ENDPOINT_UNIX && access(svc->path, W_OK) < 0 &&
			    (errno == EACCES || errno == EPERM)) {
				refusal(svc, &relay_as, true, f->line, sizeof(f->line));
				f->status = EXIT_PRIVILEGE;
				return -EACCES;
			}
		}
	return 0;
}

/* Exactly @len bytes from @fd, or -errno; -EPIPE at end of file */
static int read_exact(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

/* All of @len bytes to the socket @fd, or -errno */
static int send_all(int fd, const void *buf, size_t len)
{
	for (size_t sent = 0; sent < len;) {
		ssize_t n = send(fd, (const char *)buf + sent, len - sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		sent += (size_t)n;
	}
	return 0;
}

/* @text of @len bytes as the file at @path: written aside, then renamed over it */
static int replace_file(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX];
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0)
		return -errno;
	for (size_t done = 0; done < len && r == 0;) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			done += (size_t)n;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* A file's new text: take it, put it in place, answer with 0 or -errno */
static int keeper_file(const char *path)
{
	uint32_t len;
	int32_t answer;
	char *text;
	int r = read_exact(KEEPER_SOCKET, &len, sizeof(len));

	if (r < 0)
		return r;
	if (len > KEEPER_TEXT_MAX)
		return -EPROTO;
	text = malloc(len ? len : 1);
	if (!text)
		return -ENOMEM;
	r = read_exact(KEEPER_SOCKET, text, len);
	if (r == 0) {
		answer = path ? replace_file(path, text, len) : -ENOENT;
		r = send_all(KEEPER_SOCKET, &answer, sizeof(answer));
	}
	free(text);
	return r;
}

/* Serve the relay until it goes, then do what it no longer can */
static __attribute__((noreturn)) void keeper_main(const char *paths[], int n, pid_t parent,
						  const char *files[KEEPER_FILE_MAX])
{
	unsigned char kind;
	ssize_t n_read;

	prctl(PR_SET_NAME, "nsbridge-keeper", 0, 0, 0);
	/* no PR_SET_PDEATHSIG: it must outlive the relay by an instant */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (getppid() != parent || caps_drop_all() < 0)
		_exit(EXIT_FAILURE);
	for (;;) {
		n_read = read(KEEPER_SOCKET, &kind, 1);
		if (n_read == 1 && (kind >= KEEPER_FILE_MAX || keeper_file(files[kind]) < 0))
			break;	/* the relay broke the protocol, or went */
		if (n_read == 0 || (n_read < 0 && errno != EINTR))
			break;
	}
	/* as PR_SET_PDEATHSIG would: the kernel sends that with the dying
	 * relay's credentials, and USER may not signal a process of uid 0 */
	syscall(SYS_pidfd_send_signal, KEEPER_WATCHER, SIGKILL, NULL, 0);
	for (int i = 0; i < n; i++)
		unlink(paths[i]);
	_exit(EXIT_SUCCESS);
}

/* Nothing of the relay's but @fds, moved to their places: no listener, no namespace */
static int keep_only(int fds[KEEPER_FD_END])
{
	/* first out of the way, as one may sit where another goes */
	for (int i = KEEPER_SOCKET; i < KEEPER_FD_END; i++)
		if (fds[i] >= 0 && (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, KEEPER_FD_END)) < 0)
			return -errno;
	for (int i = KEEPER_SOCKET; i < KEEPER_FD_END; i++) {
		if (fds[i] >= 0 && dup2(fds[i], i) < 0)
			return -errno;
		if (fds[i] < 0)
			close(i);
	}
	if (syscall(SYS_close_range, KEEPER_FD_END, ~0U, 0) < 0)
		return -errno;
	return 0;
}

/**
 * runas_keeper_start() - before the switch: fork the keeper, which keeps
 *			  the uid nsbridge was started with
 * @c:		context, set-up done, -- CMD forked, still root
 *
 * Started when there is a file to remove at exit, or a watcher to end.
 *
 * Return: 0 or -errno
 */
int runas_keeper_start(const struct ctx *c)
{
	const enum child_link to_keeper = CHILD_STREAM;
	const char *paths[KEEPER_PATHS];
	const char *files[KEEPER_FILE_MAX] = {
		[KEEPER_PORT_FILE] = c->port_file_written ? c->config->port_file : NULL,
		[KEEPER_SOURCES_FILE] = c->sources_file,
	};
	pid_t parent = getpid(), pid;
	int n = 0, fd;

	if (control_path(c))
		paths[n++] = control_path(c);
	for (int i = 0; i < KEEPER_FILE_MAX; i++)
		if (files[i])
			paths[n++] = files[i];
	if (n == 0 && watcher_pidfd() < 0)
		return 0;
	pid = child_fork(&to_keeper, 1, &fd);
	if (pid < 0)
		return pid;
	if (pid == 0) {
		int fds[KEEPER_FD_END] = {
			[KEEPER_SOCKET] = fd,
			[KEEPER_WATCHER] = watcher_pidfd(),
		};

		if (keep_only(fds) < 0)
			_exit(EXIT_FAILURE);
		keeper_main(paths, n, parent, files);
	}
	keeper_fd = fd;
	keeper_pid = pid;
	for (int i = 0; i < n; i++)
		snprintf(keeper_paths[i], sizeof(keeper_paths[i]), "%s", paths[i]);
	return 0;
}

/**
 * runas_keeper_pid() - the keeper's pid, for the relay to watch it (children.c)
 *
 * Return: the pid, 0 when no keeper was started
 */
pid_t runas_keeper_pid(void)
{
	return keeper_pid;
}

/**
 * runas_keeper_exited() - the keeper has exited before the relay: what it
 *			   did is the relay's to try from now on
 */
void runas_keeper_exited(void)
{
	keeper_gone = true;
	if (keeper_fd >= 0)
		close(keeper_fd);
	keeper_fd = -1;
}

/**
 * runas_keeper_file() - have the keeper put @text in place as one of the
 *			 files it keeps, by a rename
 * @which:	the --port-file or the sources file
 * @text:	the file's new content
 * @len:	its length
 *
 * Waits for the keeper's answer, so the file is in place on return.
 *
 * Return: 0, KEEPER_EXITED once the keeper has exited, -ENOTCONN without
 * a keeper, the keeper's -errno (the directory not writable by it), other
 * -errno
 */
int runas_keeper_file(enum keeper_file which, const char *text, size_t len)
{
	unsigned char kind = (unsigned char)which;
	uint32_t len32 = (uint32_t)len;
	int32_t answer;
	int r;

	if (keeper_gone)
		return KEEPER_EXITED;
	if (keeper_fd < 0)
		return -ENOTCONN;
	if (len > KEEPER_TEXT_MAX)
		return -EFBIG;
	if ((r = send_all(keeper_fd, &kind, 1)) < 0 ||
	    (r = send_all(keeper_fd, &len32, sizeof(len32))) < 0 ||
	    (r = send_all(keeper_fd, text, len)) < 0 ||
	    (r = read_exact(keeper_fd, &answer, sizeof(answer))) < 0)
		return r == -EPIPE || r == -ECONNRESET ? KEEPER_EXITED : r;
	return answer;
}

/* The keeper is gone: remove its paths as the relay, and say which stay */
static void remove_paths_self(const char *user)
{
	char left[KEEPER_PATHS * (PATH_MAX + 2)] = "";
	int error = 0;

	for (int i = 0; i < KEEPER_PATHS; i++) {
		if (!*keeper_paths[i] || unlink(keeper_paths[i]) == 0 || errno == ENOENT)
			continue;
		error = errno;
		if (*left)
			strcat(left, ", ");
		strcat(left, keeper_paths[i]);
	}
	if (*left && *user)
		log_warn("cannot remove %s: the keeper has exited, and user %s may not (%s)",
			 left, user, strerror(error));
	else if (*left)
		log_warn("cannot remove %s: the keeper has exited, and uid %u may not (%s)",
			 left, (unsigned)getuid(), strerror(error));
}

/**
 * runas_keeper_finish() - at exit: let the keeper remove the files, and
 *			   wait until it has
 * @user:	who the relay runs as, for the line when the keeper has
 *		exited before and the relay cannot remove a file itself; ""
 *		for the uid nsbridge started with
 */
void runas_keeper_finish(const char *user)
{
	char byte;

	if (keeper_gone)
		remove_paths_self(user);
	if (keeper_fd < 0)
		return;
	shutdown(keeper_fd, SHUT_WR);
	/* end of file when the keeper has exited (it writes only answers,
	 * each read as it came) */
	while (read(keeper_fd, &byte, 1) < 0 && errno == EINTR)
		;
	close(keeper_fd);
	keeper_fd = -1;
}
