/* SPDX-License-Identifier: GPL-2.0-or-later */
/* watcher.c - a child that tells the relay when a container runs again
 *
 * Theory of operation
 *
 * To follow a named container across restarts, nsbridge must learn that
 * it started again - at once, and without polling. The engine says so on
 * its events stream (GET /events, filtered to container starts), a
 * response that never ends. Reading it with libcurl blocks, so it is read
 * by a child process, not by the relay's loop:
 *
 *   watcher --"SIDE PID START\n"--> relay (pipe, a source of lifecycle.c)
 *
 * One watcher follows every container of the process: it keeps one
 * events stream per engine socket (curl's multi interface, so that a
 * podman and a docker container are followed at once), and on each start
 * event of an engine it asks the engine what each REF followed there
 * names now (engine_find(): a restart keeps the ID, a "docker rm -f;
 * docker run --name web" makes a new one) and writes the side and init
 * process of each running container: its pid and the pid's start time,
 * which together name that process and no later one of the same pid
 * (netns.c). The relay ignores a process it already serves.
 *
 * Subscribe, then list, as a controller does: a stream that ends (the
 * engine restarted, or was upgraded) may have missed anything, and the
 * engine that comes back may have restarted every container (new pids)
 * or kept them running (--live-restore: the same pids). So each time a
 * stream is opened it asks for the events since a moment before, and
 * once the engine has answered it, everything remembered of that engine
 * is dropped and its containers are listed and reported again. A start
 * between the listing and the subscription cannot be lost: the stream
 * replays it. The relay reconciles: a new process is bridged anew, one it
 * serves already is left alone with its connections, and one that is
 * gone has said so through its pidfd.
 *
 * The watcher holds no capability, no namespace
 * and no socket of the relay; it dies with the relay (PR_SET_PDEATHSIG,
 * or EPIPE on its pipe; the keeper of runas.c when the relay left uid 0,
 * since the kernel then no longer sends the death signal). It keeps the uid nsbridge was started with when
 * the relay leaves uid 0 (runas.c): the engine's socket is root's (or its
 * group's), and following a container is talking to it. It reads nothing
 * from the relay, which, another uid by then, cannot signal or ptrace it.
 *
 * With --labels it also keeps a stream open on every engine socket nsbridge
 * knows (engine_sockets_all(): root's and the rootless ones, retried each
 * second while one is missing), filtered to starts and deaths, and on each
 * event, and each time a stream opens, lists that engine's running
 * containers carrying PREFIX.bridges and reports each it has not reported
 * since its last death as one line,
 *
 *   "L PID START ID NAME\tBRIDGES\tOPTIONS\n"   (shorter than PIPE_BUF: written whole)
 *
 * for labels.c. A death forgets what was reported, so that a container
 * started again is reported with its new pid; the relay ignores a pid it
 * serves already, so a repeat costs nothing.
 */

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "nsbridge/caps.h"
#include "nsbridge/child.h"
#include "nsbridge/engine.h"
#include "nsbridge/log.h"
#include "nsbridge/watcher.h"

#define RECONNECT_DELAY_S	1
#define REPLAY_S		2	/* a new stream replays the events of this long before */
#define POLL_MS			1000
/* {"type":["container"],"event":["start"]} */
#define EVENTS_PATH	"/events?filters=%7B%22type%22%3A%5B%22container%22%5D%2C" \
			"%22event%22%3A%5B%22start%22%5D%7D"
/* {"type":["container"],"event":["start","die"]} */
#define EVENTS_PATH_LABELS "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%2C" \
			"%22event%22%3A%5B%22start%22%2C%22die%22%5D%7D"
#define LABEL_KEY_MAX	96
#define REPORT_MAX	4000	/* below PIPE_BUF */

static int watcher_pid_fd = -1;	/* the relay's pidfd of the watcher */

struct watch;

/**
 * struct stream - the events stream of one engine socket
 * @w:		the watch it belongs to
 * @sock_path:	the socket
 * @curl:	the transfer, NULL between a stream's end and its retry
 * @retry_at:	when to open it again, CLOCK_MONOTONIC seconds
 * @listed:	the engine answered this transfer, and its containers were
 *		listed since
 * @lost:	a stream that had answered ended: say so when it is back
 */
struct stream {
	struct watch *w;
	const char *sock_path;
	CURL *curl;
	time_t retry_at;
	bool listed;
	bool lost;
};

/**
 * struct watch - what the watcher follows
 * @targets:	the containers named on the command line, @n_targets
 * @streams:	one events stream per engine socket, @n_streams
 * @out_fd:	the pipe to the relay
 * @labels:	--labels: the label prefix; NULL without
 * @key:	"PREFIX.bridges"
 * @options_key: "PREFIX.options"
 * @sockets:	with --labels, every engine socket, which @streams point into
 * @known:	IDs of labelled containers reported since the last death,
 *		@n_known of them in room for @known_cap
 */
struct watch {
	struct watch_target targets[WATCHER_TARGETS_MAX];
	size_t n_targets;
	struct stream streams[WATCHER_TARGETS_MAX];
	size_t n_streams;
	int out_fd;
	const char *labels;
	char key[LABEL_KEY_MAX];
	char options_key[LABEL_KEY_MAX];
	char sockets[ENGINE_SOCKETS_MAX][ENGINE_PATH_MAX];
	char (*known)[ENGINE_ID_MAX];
	size_t n_known;
	size_t known_cap;
};

static time_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Tell the relay where one REF runs now, if it runs */
static void report_one(struct watch *w, struct watch_target *t)
{
	struct engine_container ct;
	char line[64];
	int n;

	if (engine_find(t->sock_path, t->ref, &ct, NULL) < 0)
		return;
	if (ct.pid == t->known_pid)
		return;
	n = snprintf(line, sizeof(line), "%u %d %llu\n", t->side, (int)ct.pid, ct.start);
	if (write(w->out_fd, line, (size_t)n) != n)
		_exit(EXIT_SUCCESS);	/* the relay is gone */
	t->known_pid = ct.pid;
}

static bool known(const struct watch *w, const char *id)
{
	for (size_t i = 0; i < w->n_known; i++)
		if (strcmp(w->known[i], id) == 0)
			return true;
	return false;
}

static void remember(struct watch *w, const char *id)
{
	if (w->n_known == w->known_cap) {
		size_t cap = w->known_cap ? w->known_cap * 2 : 64;
		char (*k)[ENGINE_ID_MAX] = realloc(w->known, cap * sizeof(*k));

		if (!k)
			return;	/* reported again next time: the relay ignores it */
		w->known = k;
		w->known_cap = cap;
	}
	snprintf(w->known[w->n_known++], ENGINE_ID_MAX, "%s", id);
}

/* "L PID START ID NAME\tBRIDGES\tOPTIONS\n" for one labelled container that runs */
static void report_labelled_one(struct watch *w, const char *sock_path,
				const struct engine_labelled *e)
{
	struct engine_container ct;
	char line[REPORT_MAX];
	int n;

	if (known(w, e->id) || engine_find(sock_path, e->id, &ct, NULL) < 0)
		return;
	n = snprintf(line, sizeof(line), "L %d %llu %s %s\t%.1400s\t%.1400s\n", (int)ct.pid,
		     ct.start, e->id, e->name, e->value, e->options);
	if (n <= 0 || n >= (int)sizeof(line))
		return;
	if (write(w->out_fd, line, (size_t)n) != n)
		_exit(EXIT_SUCCESS);	/* the relay is gone */
	remember(w, e->id);
}

/* Every running container of @sock_path's engine that carries the label */
static void report_labelled(struct watch *w, const char *sock_path)
{
	struct engine_labelled *list;
	size_t n;

	if (!w->labels || engine_list_labelled(sock_path, w->key, w->options_key, &list, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		report_labelled_one(w, sock_path, &list[i]);
	free(list);
}

/* Look again at every REF the engine of @sock_path knows, and its labels */
static void report(struct watch *w, const char *sock_path)
{
	for (size_t i = 0; i < w->n_targets; i++)
		if (strcmp(w->targets[i].sock_path, sock_path) == 0)
			report_one(w, &w->targets[i]);
	report_labelled(w, sock_path);
}

static void forget(struct watch *w, const char *id, size_t len)
{
	for (size_t i = 0; i < w->n_known; i++) {
		if (strlen(w->known[i]) == len && memcmp(w->known[i], id, len) == 0) {
			memcpy(w->known[i], w->known[--w->n_known], ENGINE_ID_MAX);
			return;
		}
	}
}

/*
 * A container an event is about may run with a new pid (a start after a
 * stop): forget having reported it. Docker's events carry its ID as "id"
 * and Actor's "ID", Podman's compat ones too; an event cut between two
 * chunks is caught by the next listing after a death.
 */
static void forget_named(struct watch *w, const char *data, size_t len)
{
	static const char *const keys[] = { "\"id\":\"", "\"ID\":\"" };

	for (size_t k = 0; k < 2; k++) {
		const char *p = data, *end = data + len;

		while ((p = memmem(p, (size_t)(end - p), keys[k], strlen(keys[k])))) {
			const char *id = p + strlen(keys[k]), *q = memchr(id, '"', (size_t)(end - id));

			if (!q)
				break;
			forget(w, id, (size_t)(q - id));
			p = q;
		}
	}
}

/* Every chunk of the filtered stream is a container start (or death): look again */
static size_t on_events(char *data, size_t size, size_t n, void *userdata)
{
	struct stream *st = userdata;

	if (memmem(data, size * n, "\"die", 4))
		st->w->n_known = 0;	/* a container that runs again has a new pid */
	else
		forget_named(st->w, data, size * n);
	report(st->w, st->sock_path);
	return size * n;
}

static void open_stream(CURLM *multi, struct stream *st)
{
	char url[512];

	/* the events of a moment before, replayed: those of a start that the
	 * listing after the engine's answer may come too late to see */
	snprintf(url, sizeof(url), "http://localhost%s&since=%lld",
		 st->w->labels ? EVENTS_PATH_LABELS : EVENTS_PATH,
		 (long long)time(NULL) - REPLAY_S);
	st->listed = false;
	st->curl = curl_easy_init();
	if (!st->curl) {
		st->retry_at = now_s() + RECONNECT_DELAY_S;
		return;
	}
	curl_easy_setopt(st->curl, CURLOPT_UNIX_SOCKET_PATH, st->sock_path);
	curl_easy_setopt(st->curl, CURLOPT_URL, url);
	curl_easy_setopt(st->curl, CURLOPT_WRITEFUNCTION, on_events);
	curl_easy_setopt(st->curl, CURLOPT_WRITEDATA, st);
	curl_easy_setopt(st->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(st->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_multi_add_handle(multi, st->curl);
}

/*
 * The engine answered a new stream: the subscription stands. Whatever was
 * reported of it before may have changed unseen, so it is all reported
 * again, as it is now; the relay leaves alone what it serves already.
 */
static void list_again(struct watch *w, struct stream *st)
{
	long status = 0;

	curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return;
	st->listed = true;
	for (size_t i = 0; i < w->n_targets; i++)
		if (strcmp(w->targets[i].sock_path, st->sock_path) == 0)
			w->targets[i].known_pid = 0;
	w->n_known = 0;		/* every engine's: a repeat costs the relay nothing */
	report(w, st->sock_path);
	if (st->lost)
		log_notice("the engine at %s is back: its running containers were listed again",
			   st->sock_path);
	st->lost = false;
}

/* A stream that ended (the engine restarted, or went away) is retried later */
static void end_stream(CURLM *multi, struct stream *st, CURLcode result)
{
	if (st->listed)
		log_warn("the engine at %s went away (its events stream ended: %s); its "
			 "containers are listed again when it is back", st->sock_path,
			 curl_easy_strerror(result));
	st->lost = st->lost || st->listed;
	curl_multi_remove_handle(multi, st->curl);
	curl_easy_cleanup(st->curl);
	st->curl = NULL;
	st->listed = false;
	st->retry_at = now_s() + RECONNECT_DELAY_S;
}

static void reap_streams(CURLM *multi, struct watch *w)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		for (size_t i = 0; i < w->n_streams; i++) {
			if (w->streams[i].curl == msg->easy_handle) {
				end_stream(multi, &w->streams[i], msg->data.result);
				break;
			}
		}
	}
}

static void add_stream(struct watch *w, const char *sock_path)
{
	if (w->n_streams == WATCHER_TARGETS_MAX)
		return;
	for (size_t i = 0; i < w->n_streams; i++)
		if (strcmp(w->streams[i].sock_path, sock_path) == 0)
			return;
	w->streams[w->n_streams++] = (struct stream){ .w = w, .sock_path = sock_path };
}

static __attribute__((noreturn)) void follow(struct watch *w)
{
	CURLM *multi = curl_multi_init();

	if (!multi)
		_exit(EXIT_FAILURE);
	for (size_t i = 0; i < w->n_targets; i++)
		add_stream(w, w->targets[i].sock_path);
	for (unsigned i = 0; w->labels && i < ENGINE_SOCKETS_MAX && w->sockets[i][0]; i++)
		add_stream(w, w->sockets[i]);
	for (;;) {
		int running;

		for (size_t i = 0; i < w->n_streams; i++)
			if (!w->streams[i].curl && now_s() >= w->streams[i].retry_at)
				open_stream(multi, &w->streams[i]);
		curl_multi_perform(multi, &running);
		for (size_t i = 0; i < w->n_streams; i++)
			if (w->streams[i].curl && !w->streams[i].listed)
				list_again(w, &w->streams[i]);
		reap_streams(multi, w);
		curl_multi_poll(multi, NULL, 0, POLL_MS, NULL);
	}
}

static __attribute__((noreturn)) void watcher_main(struct watch *w, pid_t parent)
{
	child_setup("nsbridge-watch", parent);
	/* keep nothing of the relay: a listener or a namespace fd held here
	 * would keep a stopped container's namespace alive */
	if (dup2(w->out_fd, STDERR_FILENO + 1) < 0)
		_exit(EXIT_FAILURE);
	w->out_fd = STDERR_FILENO + 1;
	close_range(STDERR_FILENO + 2, ~0U, 0);
	if (caps_drop_all() < 0)
		_exit(EXIT_FAILURE);
	follow(w);
}

/**
 * watcher_start() - fork the watcher for the containers of @targets
 * @targets:	each container to follow: its engine's socket, REF as the
 *		user gave it, the pid the relay serves already (not to be
 *		reported) and its side, for the reports
 * @n:		how many, at most WATCHER_TARGETS_MAX
 * @labels:	--labels PREFIX: report labelled containers of every engine
 *		too; NULL without
 * @ret_fd:	the relay's end of the pipe, non-blocking, on success
 *
 * Return: 0 or -errno
 */
int watcher_start(const struct watch_target *targets, size_t n, const char *labels, int *ret_fd)
{
	const enum child_link to_relay = CHILD_PIPE_FROM;
	static struct watch w;	/* the child's, and big */
	pid_t parent = getpid(), pid;
	int fd;

	if (n > WATCHER_TARGETS_MAX)
		return -E2BIG;
	memset(&w, 0, sizeof(w));
	w.n_targets = n;
	memcpy(w.targets, targets, n * sizeof(*targets));
	if (labels) {
		w.labels = labels;
		snprintf(w.key, sizeof(w.key), "%s.bridges", labels);
		snprintf(w.options_key, sizeof(w.options_key), "%s.options", labels);
		engine_sockets_all(w.sockets, ENGINE_SOCKETS_MAX);
	}
	pid = child_fork(&to_relay, 1, &fd);
	if (pid < 0)
		return pid;
	if (pid == 0) {
		w.out_fd = fd;
		watcher_main(&w, parent);
	}
	/* for the keeper (runas.c), which ends it when the relay goes */
	watcher_pid_fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/**
 * watcher_pidfd() - a pidfd of the watcher, for the keeper of runas.c
 *
 * Return: the fd, or -1 when no watcher was started
 */
int watcher_pidfd(void)
{
	return watcher_pid_fd;
}

/**
 * watcher_read_line() - the next whole line the watcher wrote
 * @fd:		the relay's end of the pipe
 * @line:	the line, without its newline, on success
 * @len:	room in @line; a longer line is cut
 *
 * Lines may come in pieces, so what follows the last newline read is kept
 * for the next call.
 *
 * Return: 1 with a line, 0 if no whole line is waiting, -EPIPE if the
 * watcher is gone
 */
int watcher_read_line(int fd, char *line, size_t len)
{
	static char buf[2 * REPORT_MAX];
	static size_t used;
	char *nl;
	ssize_t n;

	for (;;) {
		nl = memchr(buf, '\n', used);
		if (nl) {
			size_t k = (size_t)(nl - buf);

			snprintf(line, len, "%.*s", (int)k, buf);
			memmove(buf, nl + 1, used - k - 1);
			used -= k + 1;
			return 1;
		}
		if (used == sizeof(buf))
			used = 0;	/* no line is this long: drop it */
		n = read(fd, buf + used, sizeof(buf) - used);
		if (n == 0)
			return -EPIPE;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		used += (size_t)n;
	}
}
