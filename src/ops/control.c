/* SPDX-License-Identifier: GPL-2.0-or-later */
/* control.c - the control socket, which nsbridge status reads
 *
 * Theory of operation
 *
 * Each nsbridge process listens on a unix socket named after its pid,
 * /run/nsbridge/PID.sock, or $XDG_RUNTIME_DIR/nsbridge/PID.sock for a
 * user who cannot write /run. Its mode is 0600: the status names
 * addresses and errors, so only the user nsbridge runs as may read it.
 *
 * Whoever connects gets one JSON document (status.c) and then end of
 * file; nothing is read from them, so `socat - UNIX:PATH` works too.
 * The answer never blocks the loop: what the socket buffer does not take
 * at once waits for EPOLLOUT. At most CONTROL_READERS are answered at a
 * time, each for at most CONTROL_TIMEOUT_MS (a deadline registered with
 * event.c); a reader past either limit is closed, so a stuck client costs
 * nothing but its descriptor for a while. The socket and each reader are
 * sources registered with event.c, with the callback to call.
 *
 * The status matters most when client connections have taken every
 * descriptor, so the accepts borrow the reserve kept for this
 * (fdreserve.c). Should even that be taken, the socket is not watched
 * until the loop's next retry for descriptors: it is level-triggered,
 * and a reader the loop cannot accept would wake it at once, for ever.
 *
 * nsbridge add and remove (control_client.c) use the same socket. Such a
 * client binds its own end to the abstract name CONTROL_CHANGE_NAME
 * before it connects, which accept4() shows; it is sent nothing until it
 * has written one line ("add SERVICE EXPOSE" or "remove EXPOSE"), and
 * then one line back: the exit status a start would give and what was
 * done or why not (reload.c does it, through ctx.on_change). Only the
 * uid that started nsbridge and the uid its relay runs as (--user) may
 * change it, asked of the kernel with SO_PEERCRED; the mode 0600 already
 * keeps most others from connecting at all. A reader that sends nothing
 * is closed at CONTROL_TIMEOUT_MS, like any other.
 *
 * The socket is bound before capabilities are dropped, and unlinked when
 * nsbridge exits (by runas.c's keeper when the relay left uid 0, since
 * /run/nsbridge is root's). One left behind by a process that was killed is
 * removed by the next nsbridge that starts in the same directory.
 */

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "nsbridge/control.h"
#include "nsbridge/event.h"
#include "nsbridge/fdreserve.h"
#include "nsbridge/status.h"

#define CONTROL_READERS		8
#define CONTROL_TIMEOUT_MS	2000
#define CONTROL_REQUEST_MAX	1024

/**
 * struct control_reader - one client being sent the status
 * @fd:		its socket, -1 for a free entry
 * @text:	the document
 * @len:	its length
 * @off:	how much was written
 * @since_ms:	when it connected
 * @asking:	nsbridge add or remove: its request line is being read
 * @request:	what came of it, @got bytes
 * @got:	bytes of @request
 * @source:	@fd registered: for EPOLLIN while @asking, then EPOLLOUT
 */
struct control_reader {
	int fd;
	char *text;
	size_t len;
	size_t off;
	uint64_t since_ms;
	bool asking;
	char request[CONTROL_REQUEST_MAX];
	size_t got;
	struct event_source source;
};

/**
 * struct control - the control socket
 * @fd:		listening socket
 * @paused:	not watched: out of descriptors, until control_resume()
 * @path:	where it is bound
 * @readers:	clients being answered
 * @owner:	the uid that started nsbridge, which may change it
 * @source:	@fd registered
 */
struct control {
	int fd;
	bool paused;
	uid_t owner;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct control_reader readers[CONTROL_READERS];
	struct event_source source;
};

static void on_accept(struct ctx *c, struct event_source *s, uint32_t events);
static void on_reader(struct ctx *c, struct event_source *s, uint32_t events);
static uint64_t next_deadline(const struct ctx *c);
static void tick(struct ctx *c);
static void release(struct ctx *c);

static const struct event_deadline deadlines = { .next = next_deadline, .expire = tick };

/**
 * control_dir() - the directory control sockets go in
 * @which:	0 for /run/nsbridge, 1 for $XDG_RUNTIME_DIR/nsbridge
 * @buf:	where the path is written
 * @len:	size of @buf
 *
 * Return: @buf, or NULL when there is no such directory to consider
 */
const char *control_dir(int which, char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (which == 0)
		n = snprintf(buf, len, "%s", CONTROL_RUN_DIR);
	else if (which == 1 && xdg && *xdg == '/')
		n = snprintf(buf, len, "%s/nsbridge", xdg);
	else
		return NULL;
	return n > 0 && (size_t)n < len ? buf : NULL;
}

/* Unlink the sockets (and maps of sourcemap.c) of processes that are gone:
 * they were killed */
static void remove_stale(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (pid <= 0 || (strcmp(end, ".sock") != 0 && strcmp(end, ".sources") != 0))
			continue;
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH &&
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
			unlink(path);
	}
	closedir(d);
}

static int bind_in(struct control *ctl, const char *dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old_mask;
	int fd, r = 0;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	remove_stale(dir);
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%d.sock", dir,
			     (int)getpid()) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(sun.sun_path);		/* our pid's, left by an earlier life */
	old_mask = umask(0177);		/* born 0600: no window where others may connect */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, CONTROL_READERS) < 0)
		r = -errno;
	umask(old_mask);
	if (r < 0) {
		close(fd);
		return r;
	}
	ctl->fd = fd;
	memcpy(ctl->path, sun.sun_path, sizeof(ctl->path));
	return 0;
}

/**
 * control_setup() - bind the control socket and watch it
 * @c:		context with its loop set up
 *
 * Return: 0, or -errno when no directory would take it (nsbridge then
 * runs without one)
 */
int control_setup(struct ctx *c)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	int r = -ENOENT;

	if (!ctl)
		return -ENOMEM;
	for (int i = 0; i < CONTROL_READERS; i++)
		ctl->readers[i].fd = -1;
	ctl->owner = getuid();	/* before the relay leaves it (runas.c) */
	for (int which = 0; which < 2; which++) {
		char dir[PATH_MAX];

		if (!control_dir(which, dir, sizeof(dir)))
			continue;
		r = bind_in(ctl, dir);
		if (r == 0)
			break;
	}
	if (r == 0 && (r = event_add_io(c, &ctl->source, ctl->fd, EPOLLIN, on_accept)) < 0) {
		close(ctl->fd);
		unlink(ctl->path);
	}
	if (r < 0) {
		free(ctl);
		return r;
	}
	c->control = ctl;
	event_add_deadline(c, &deadlines);
	event_add_exit(c, release);
	return 0;
}

/**
 * control_path() - where the control socket is
 * @c:		context
 *
 * Return: the path, or NULL without a control socket
 */
const char *control_path(const struct ctx *c)
{
	return c->control ? c->control->path : NULL;
}

static void reader_close(struct ctx *c, struct control_reader *rd)
{
	event_del_io(c, &rd->source);
	close(rd->fd);
	free(rd->text);
	*rd = (struct control_reader){ .fd = -1 };
}

/* Write what the socket takes; true when the reader is done with */
static bool reader_push(struct control_reader *rd)
{
	while (rd->off < rd->len) {
		ssize_t n = send(rd->fd, rd->text + rd->off, rd->len - rd->off, MSG_NOSIGNAL);

		if (n < 0)
			return errno != EAGAIN && errno != EINTR;
		rd->off += (size_t)n;
	}
	return true;
}

static void expire_readers(struct ctx *c)
{
	for (int i = 0; i < CONTROL_READERS; i++) {
		struct control_reader *rd = &c->control->readers[i];

		if (rd->fd >= 0 && c->now_ms - rd->since_ms >= CONTROL_TIMEOUT_MS)
			reader_close(c, rd);
	}
}

static struct control_reader *free_reader(struct control *ctl)
{
	for (unsigned i = 0; i < CONTROL_READERS; i++)
		if (ctl->readers[i].fd < 0)
			return &ctl->readers[i];
	return NULL;
}

/* The status document, with a newline, as a string to free() */
static char *status_text(const struct ctx *c, size_t *ret_len)
{
	json_object *doc = status_json(c);
	const char *s;
	char *text = NULL;

	if (!doc)
		return NULL;
	s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	if (s && asprintf(&text, "%s\n", s) < 0)
		text = NULL;
	json_object_put(doc);
	if (text)
		*ret_len = strlen(text);
	return text;
}

static void answer(struct ctx *c, int fd, bool asking)
{
	struct control_reader *rd = free_reader(c->control);

	if (!rd) {
		close(fd);	/* too many at once; that reader may ask again */
		return;
	}
	*rd = (struct control_reader){ .fd = fd, .since_ms = c->now_ms, .asking = asking };
	if (asking) {
		if (event_add_io(c, &rd->source, fd, EPOLLIN, on_reader) < 0)
			reader_close(c, rd);
		return;
	}
	rd->text = status_text(c, &rd->len);
	if (!rd->text || reader_push(rd) ||
	    event_add_io(c, &rd->source, fd, EPOLLOUT, on_reader) < 0)
		reader_close(c, rd);
}

/* Whether a client bound its end to CONTROL_CHANGE_NAME: nsbridge add or remove */
static bool wants_change(const struct sockaddr_un *peer, socklen_t len)
{
	size_t n = sizeof(CONTROL_CHANGE_NAME) - 1;

	return len >= offsetof(struct sockaddr_un, sun_path) + 1 + n && peer->sun_path[0] == '\0' &&
	       memcmp(peer->sun_path + 1, CONTROL_CHANGE_NAME, n) == 0;
}

/* The answer to a change: "STATUS TEXT\n"; who may ask is checked first */
static char *change_text(struct ctx *c, struct control_reader *rd, size_t *ret_len)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char line[BRIDGE_ERROR_MAX + 64];
	char *nl, *text = NULL;
	int status;

	nl = memchr(rd->request, '\n', rd->got);
	rd->request[nl ? (size_t)(nl - rd->request) : rd->got] = '\0';
	if (getsockopt(rd->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		status = EXIT_RUNTIME;
		snprintf(line, sizeof(line), "who is asking cannot be told: %s", strerror(errno));
	} else if (cred.uid != c->control->owner && cred.uid != geteuid()) {
		status = EXIT_PRIVILEGE;
		snprintf(line, sizeof(line), "uid %u may not change nsbridge %d: only uid %u, "
			 "which started it, and uid %u, which its relay runs as, may",
			 (unsigned)cred.uid, (int)getpid(), (unsigned)c->control->owner,
			 (unsigned)geteuid());
	} else if (!c->on_change) {
		status = EXIT_RUNTIME;
		snprintf(line, sizeof(line), "this nsbridge cannot be changed");
	} else {
		status = c->on_change(c, rd->request, line, sizeof(line));
	}
	if (asprintf(&text, "%d %s\n", status, line) < 0)
		return NULL;
	*ret_len = strlen(text);
	return text;
}

/* A change client wrote: once its line is whole, answer it */
static bool reader_pull(struct ctx *c, struct control_reader *rd)
{
	while (rd->got < sizeof(rd->request) - 1) {
		ssize_t n = recv(rd->fd, rd->request + rd->got, sizeof(rd->request) - 1 - rd->got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno != EAGAIN;
		if (n == 0)
			break;
		rd->got += (size_t)n;
		if (memchr(rd->request, '\n', rd->got))
			break;
	}
	rd->asking = false;
	rd->text = change_text(c, rd, &rd->len);
	if (!rd->text || reader_push(rd))
		return true;
	return event_mod_io(c, &rd->source, EPOLLOUT) < 0;
}

static void watch(struct ctx *c, bool on)
{
	if (event_mod_io(c, &c->control->source, on ? EPOLLIN : 0) == 0)
		c->control->paused = !on;
}

/* Accept and answer until none is left; -errno when one could not be accepted */
static int accept_all(struct ctx *c)
{
	for (;;) {
		struct sockaddr_un peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(c->control->fd, (struct sockaddr *)&peer, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0)
			return errno == EAGAIN ? 0 : -errno;
		answer(c, fd, wants_change(&peer, len));
	}
}

/* Readers connected: send each the status */
static void on_accept(struct ctx *c, struct event_source *s, uint32_t events)
{
	int r;

	(void)s;
	(void)events;
	expire_readers(c);
	fdreserve_lend();
	r = accept_all(c);
	fdreserve_refill();
	if (r < 0) {
		/* the readers left wait in the backlog until control_resume() */
		watch(c, false);
		event_starve(c);
	}
}

/**
 * control_resume() - watch the socket again after a shortage of descriptors
 * @c:		context
 */
void control_resume(struct ctx *c)
{
	if (c->control && c->control->paused)
		watch(c, true);
}

/* When the oldest reader runs out of time; 0 for none */
static uint64_t next_deadline(const struct ctx *c)
{
	uint64_t next = 0;

	for (int i = 0; c->control && i < CONTROL_READERS; i++) {
		const struct control_reader *rd = &c->control->readers[i];

		if (rd->fd >= 0 && (!next || rd->since_ms + CONTROL_TIMEOUT_MS < next))
			next = rd->since_ms + CONTROL_TIMEOUT_MS;
	}
	return next;
}

/* Close the readers past CONTROL_TIMEOUT_MS */
static void tick(struct ctx *c)
{
	if (c->control)
		expire_readers(c);
}

/* A reader can take more of its document, or a change client wrote (part
 * of) its request */
static void on_reader(struct ctx *c, struct event_source *s, uint32_t events)
{
	struct control_reader *rd = container_of(s, struct control_reader, source);

	(void)events;
	if (rd->fd >= 0 && (rd->asking ? reader_pull(c, rd) : reader_push(rd)))
		reader_close(c, rd);
	expire_readers(c);
}

/* Close and unlink the control socket, at exit */
static void release(struct ctx *c)
{
	struct control *ctl = c->control;

	if (!ctl)
		return;
	for (int i = 0; i < CONTROL_READERS; i++)
		if (ctl->readers[i].fd >= 0)
			reader_close(c, &ctl->readers[i]);
	event_del_io(c, &ctl->source);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl);
	c->control = NULL;
}
