/* SPDX-License-Identifier: GPL-2.0-or-later */
/* control_client.c - nsbridge status: what running nsbridge processes carry
 *
 * Every running nsbridge answers on its control socket (control.c) with
 * one JSON document. This command finds those sockets - all of them in
 * /run/nsbridge and $XDG_RUNTIME_DIR/nsbridge, or the one a PID or a path
 * names - reads each answer, and prints a few lines per bridge, or with
 * --json an array of the documents as they came. A socket nobody answers
 * on belongs to a process that is gone, and is passed over.
 *
 * nsbridge status --watch asks one of them again every INTERVAL and prints
 * each answer as a frame (status_text.c adds the rates since the frame
 * before): on a terminal over the last one, else one after the other
 * under a time stamp, to be logged. It ends on SIGINT, SIGTERM or SIGHUP,
 * and when the process it watches exits, which a pidfd tells at once.
 *
 * nsbridge add and remove ask one of them to change: the one PID or PATH
 * names, or the only one running. They bind their end of the connection
 * to the abstract name CONTROL_CHANGE_NAME, which tells control.c not to
 * send the status, send one line, and print the line that comes back,
 * exiting with the status it starts with.
 */

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <stddef.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nsbridge/cleanup.h"
#include "nsbridge/control.h"
#include "nsbridge/control_client.h"
#include "nsbridge/event.h"
#include "nsbridge/status_text.h"

#define ANSWER_MAX	(4 << 20)
#define ANSWER_TIMEOUT_S 2

/* _cleanup_(json_object_putp): a document, put on every way out */
DEFINE_CLEANUP_FUNC(json_object *, json_object_put)

/* Read the whole answer of the control socket at @path */
static int ask(const char *path, json_object **ret_doc)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = ANSWER_TIMEOUT_S };
	json_tokener *tok;
	json_object *doc = NULL;
	char buf[16384];
	size_t total = 0;
	_cleanup_close_ int fd = -1;
	int r = 0;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return -errno;
	tok = json_tokener_new();
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0 || (total += (size_t)n) > ANSWER_MAX) {
			r = n < 0 ? -errno : (n == 0 ? 0 : -EMSGSIZE);
			break;
		}
		doc = json_tokener_parse_ex(tok, buf, (int)n);
		if (doc || json_tokener_get_error(tok) != json_tokener_continue)
			break;
	}
	json_tokener_free(tok);
	if (!doc)
		return r < 0 ? r : -EBADMSG;
	*ret_doc = doc;
	return 0;
}

/* Ask one socket; add its document to @all (--json) or print it */
static int show(const char *path, bool json, json_object *all)
{
	json_object *doc;
	int r = ask(path, &doc);

	if (r < 0)
		return r;
	if (json) {
		json_object_array_add(all, doc);
		return 0;
	}
	status_text_print(doc, path, NULL, 0);
	json_object_put(doc);
	return 0;
}

/* Every *.sock in @dir; returns how many answered */
static unsigned show_dir(const char *dir, bool json, json_object *all)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned shown = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		const char *dot = strrchr(e->d_name, '.');
		char path[PATH_MAX];

		if (!dot || strcmp(dot, ".sock") != 0 ||
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		if (show(path, json, all) == 0)
			shown++;
	}
	closedir(d);
	return shown;
}

/* nsbridge status PID|PATH: the socket it names */
static int show_one(const char *what, bool json, json_object *all)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int r = -ENOENT;

	if (strchr(what, '/'))
		return show(what, json, all);
	for (int which = 0; which < 2 && r == -ENOENT; which++)
		if (control_dir(which, dir, sizeof(dir)) &&
		    snprintf(path, sizeof(path), "%s/%s.sock", dir, what) < (int)sizeof(path))
			r = show(path, json, all);
	return r;
}

/**
 * control_client_status() - nsbridge status [--json] [PID|PATH]
 * @cfg:	the parsed command line
 * @f:		on failure, the line and exit status 1
 *
 * Return: 0 when some nsbridge answered, else -errno with @f set
 */
int control_client_status(const struct config *cfg, struct failure *f)
{
	_cleanup_(json_object_putp) json_object *all = cfg->json ? json_object_new_array() : NULL;
	char dir[PATH_MAX];
	unsigned shown = 0;
	int r;

	if (cfg->status_of) {
		r = show_one(cfg->status_of, cfg->json, all);
		if (r < 0)
			return failure_errno(f, r, "no answer from nsbridge %s", cfg->status_of);
		shown = 1;
	}
	for (int which = 0; which < 2 && !cfg->status_of; which++)
		if (control_dir(which, dir, sizeof(dir)))
			shown += show_dir(dir, cfg->json, all);
	if (!shown)
		return failure_set(f, EXIT_RUNTIME, -ENOENT, "no nsbridge is running here: no "
				   "control socket answers in %s", CONTROL_RUN_DIR);
	if (all)
		puts(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

/* The control socket of the only nsbridge running, into @path; -errno and @f if none or many */
static int only_one(char *path, size_t len, struct failure *f)
{
	char dir[PATH_MAX];
	unsigned found = 0;

	for (int which = 0; which < 2; which++) {
		DIR *d = control_dir(which, dir, sizeof(dir)) ? opendir(dir) : NULL;
		struct dirent *e;

		while (d && (e = readdir(d))) {
			const char *dot = strrchr(e->d_name, '.');
			char *end;
			long pid = strtol(e->d_name, &end, 10);

			if (!dot || strcmp(dot, ".sock") != 0 || end != dot || pid <= 0 ||
			    (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
				continue;
			if (found++ == 0 &&
			    snprintf(path, len, "%s/%s", dir, e->d_name) >= (int)len)
				found = 2;	/* cannot be named: make the user name it */
		}
		if (d)
			closedir(d);
	}
	if (found == 1)
		return 0;
	if (!found)
		return failure_set(f, EXIT_RUNTIME, -ENOENT, "no nsbridge is running here: no "
				   "control socket in %s", CONTROL_RUN_DIR);
	return failure_set(f, EXIT_USAGE, -ENOTUNIQ, "%u nsbridge processes run here: name one "
			   "by PID or control socket path (nsbridge status lists them)", found);
}

/* The socket PID or PATH names; -ENOENT and @f if none */
static int named(const char *what, char *path, size_t len, struct failure *f)
{
	char dir[PATH_MAX];

	if (strchr(what, '/')) {
		snprintf(path, len, "%s", what);
		return 0;
	}
	for (int which = 0; which < 2; which++)
		if (control_dir(which, dir, sizeof(dir)) &&
		    snprintf(path, len, "%s/%s.sock", dir, what) < (int)len &&
		    access(path, F_OK) == 0)
			return 0;
	return failure_set(f, EXIT_RUNTIME, -ENOENT, "no nsbridge %s here: no control socket in %s",
			   what, CONTROL_RUN_DIR);
}

/* The stop signals, blocked and read from a descriptor, so that a frame is never cut */
static int stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	int fd;

	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* A pidfd of the process that answered @doc, -1 where none can be had */
static int watched_pidfd(json_object *doc)
{
	json_object *v;
	long pid;

	if (!json_object_object_get_ex(doc, "pid", &v))
		return -1;
	pid = (long)json_object_get_int64(v);
	return pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
}

/* What comes before a frame: on a terminal, a clear screen and a title */
static void frame_start(const struct config *cfg, bool tty)
{
	char when[32];
	time_t now = time(NULL);

	strftime(when, sizeof(when), tty ? "%H:%M:%S" : "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
	if (tty)
		printf("\033[H\033[2J" "every %gs, Ctrl-C to stop; * moved, + new since the last "
		       "frame%*s\n\n", cfg->watch_ms / 1000.0, 10, when);
	else
		printf("--- %s\n", when);
}

enum frame_next { FRAME_DUE, FRAME_STOPPED, FRAME_EXITED };

/* Wait @ms for the next frame, unless a stop signal comes or the watched
 * process exits (@pidfd readable); -errno if poll() fails */
static int frame_wait(int sigfd, int pidfd, unsigned ms)
{
	struct pollfd fds[2] = { { .fd = sigfd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
	int n = poll(fds, pidfd >= 0 ? 2 : 1, (int)ms);

	if (n < 0)
		return errno == EINTR ? FRAME_DUE : -errno;
	if (fds[0].revents & POLLIN)
		return FRAME_STOPPED;
	return n > 0 ? FRAME_EXITED : FRAME_DUE;
}

static void say_exited(json_object *doc)
{
	json_object *v;

	printf("nsbridge %lld has exited\n", json_object_object_get_ex(doc, "pid", &v) ?
	       (long long)json_object_get_int64(v) : 0LL);
}

/**
 * control_client_watch() - nsbridge status --watch [INTERVAL] [PID|PATH]
 * @cfg:	the parsed command line
 * @f:		on failure, the line and exit status 1
 *
 * Return: 0 once stopped, or once the watched nsbridge exited; -errno
 * with @f set when none answered at all
 */
int control_client_watch(const struct config *cfg, struct failure *f)
{
	_cleanup_(json_object_putp) json_object *prev = NULL;
	_cleanup_close_ int sigfd = -1, pidfd = -1;
	bool tty = isatty(STDOUT_FILENO);
	char path[PATH_MAX];
	uint64_t then = 0;
	int r;

	r = cfg->status_of ? named(cfg->status_of, path, sizeof(path), f) :
			     only_one(path, sizeof(path), f);
	if (r < 0)
		return r;
	sigfd = stop_signals();
	if (sigfd < 0)
		return failure_errno(f, sigfd, "taking the stop signals");
	for (r = FRAME_DUE; r == FRAME_DUE;) {
		json_object *doc;
		uint64_t now = event_clock_ms();

		r = ask(path, &doc);
		if (r < 0 && !prev)
			return failure_errno(f, r, "no answer from %s", path);
		if (r < 0) {	/* between two frames, without a pidfd */
			say_exited(prev);
			return 0;
		}
		if (pidfd < 0)
			pidfd = watched_pidfd(doc);
		frame_start(cfg, tty);
		status_text_print(doc, path, prev, prev ? (double)(now - then) / 1000 : 0);
		fflush(stdout);
		json_object_put(prev);
		prev = doc;
		then = now;
		r = frame_wait(sigfd, pidfd, cfg->watch_ms);
	}
	if (r == FRAME_EXITED)
		say_exited(prev);
	return r < 0 ? failure_errno(f, r, "waiting for the next frame") : 0;
}

/* Connect as a change client: our end bound to CONTROL_CHANGE_NAME */
static int connect_change(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX }, me = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = ANSWER_TIMEOUT_S };
	int fd, n, r;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	n = snprintf(me.sun_path + 1, sizeof(me.sun_path) - 1, "%s%d", CONTROL_CHANGE_NAME,
		     (int)getpid());
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&me,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/**
 * control_client_change() - nsbridge add [PID|PATH] SERVICE EXPOSE, nsbridge
 *			remove [PID|PATH] EXPOSE
 * @cfg:	the parsed command line
 * @f:		on failure, the line and the exit status: those the running
 *		nsbridge answered with, or this side's own
 *
 * Return: 0, or -errno with @f set (-EREMOTEIO: the nsbridge refused)
 */
int control_client_change(const struct config *cfg, struct failure *f)
{
	char path[PATH_MAX], request[2048], reply[1024];
	size_t got = 0;
	int fd, status, off = 0, r;
	ssize_t n;

	r = cfg->status_of ? named(cfg->status_of, path, sizeof(path), f) :
			     only_one(path, sizeof(path), f);
	if (r < 0)
		return r;
	fd = connect_change(path);
	if (fd == -EACCES || fd == -EPERM)
		return failure_set(f, EXIT_PRIVILEGE, fd, "%s: only the user that started "
				   "nsbridge, or the one its relay runs as, may change it", path);
	if (fd < 0)
		return failure_errno(f, fd, "no answer from %s", path);
	if (cfg->action == CLI_ADD)
		snprintf(request, sizeof(request), "add %s %s\n", cfg->change[0], cfg->change[1]);
	else
		snprintf(request, sizeof(request), "remove %s\n", cfg->change[0]);
	if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0)
		r = -errno;
	while (!r && got < sizeof(reply) - 1 &&
	       (n = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	reply[got] = '\0';
	if (r < 0 || sscanf(reply, "%d %n", &status, &off) != 1 || !off)
		return failure_set(f, EXIT_RUNTIME, r < 0 ? r : -EBADMSG, "%s: no answer to '%s'",
				   path, cfg->action == CLI_ADD ? "add" : "remove");
	reply[strcspn(reply, "\n")] = '\0';
	if (status != EXIT_OK)	/* passed on as the nsbridge gave it */
		return failure_set(f, (enum exit_status)status, -EREMOTEIO, "%s", reply + off);
	printf("%s\n", reply + off);
	return 0;
}

/* Whether the EXPOSE text "host 127.0.0.1:8080-8082, [::1]:8080-8082" has @port */
static bool exposes(const char *text, unsigned port)
{
	for (const char *p = strchr(text, ':'); p; p = strchr(p + 1, ':')) {
		char *end;
		unsigned long first = strtoul(p + 1, &end, 10), last = first;

		if (end == p + 1)
			continue;
		if (*end == '-')
			last = strtoul(end + 1, &end, 10);
		if (port >= first && port <= last && (*end == '\0' || *end == ',' || *end == ' ' ||
						      *end == '/'))
			return true;
	}
	return false;
}

/* The "source" of container @ref in a status document, "" if none */
static const char *source_of(json_object *doc, const char *ref)
{
	json_object *list;

	if (!json_object_object_get_ex(doc, "containers", &list))
		return "";
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *ct = json_object_array_get_idx(list, i);
		const char *name = status_member_str(ct, "container");
		const char *source = status_member_str(ct, "source");

		if (name && source && strcmp(name, ref) == 0)
			return source;
	}
	return "";
}

/**
 * control_client_serves() - which container a listener of a running nsbridge
 *			serves, from its status document
 * @pid:	the nsbridge that holds it
 * @port:	its port
 * @ret:	the container's name (REF), "" for a bridge of the host only
 * @len:	room in @ret
 * @source:	the address that container dials the host from (--source,
 *		--labels-sources), "" for none
 * @source_len:	room in @source
 *
 * Return: 0, -ENOENT if no bridge of it exposes @port, or -errno: it
 * could not be asked
 */
int control_client_serves(pid_t pid, unsigned port, char *ret, size_t len, char *source,
			  size_t source_len)
{
	char what[16], path[PATH_MAX], dir[PATH_MAX];
	json_object *doc = NULL, *bridges;
	int r = -ENOENT;

	snprintf(what, sizeof(what), "%d", (int)pid);
	path[0] = '\0';
	for (int which = 0; which < 2 && !path[0]; which++)
		if (control_dir(which, dir, sizeof(dir)) &&
		    (snprintf(path, sizeof(path), "%s/%s.sock", dir, what) >= (int)sizeof(path) ||
		     access(path, F_OK) < 0))
			path[0] = '\0';
	if (!path[0])
		return -ENOENT;
	r = ask(path, &doc);
	if (r < 0)
		return r;
	r = -ENOENT;
	if (json_object_object_get_ex(doc, "bridges", &bridges)) {
		for (size_t i = 0; r && i < json_object_array_length(bridges); i++) {
			json_object *b = json_object_array_get_idx(bridges, i);
			const char *exp = status_member_str(b, "expose");
			const char *ct = status_member_str(b, "container");

			if (exp && exposes(exp, port)) {
				snprintf(ret, len, "%s", ct ? ct : "");
				r = 0;
			}
		}
	}
	snprintf(source, source_len, "%s", r == 0 && *ret ? source_of(doc, ret) : "");
	json_object_put(doc);
	return r;
}
