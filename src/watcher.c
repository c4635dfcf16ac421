/* SPDX-License-Identifier: GPL-2.0-or-later */
/* watcher.c - a child that tells the relay when the container runs again
 *
 * Theory of operation
 *
 * To follow a named container across restarts, nsbridge must learn that
 * it started again - at once, and without polling. The engine says so on
 * its events stream (GET /events, filtered to container starts), a
 * response that never ends. Reading it with libcurl blocks, so it is read
 * by a child process, not by the relay's loop:
 *
 *   watcher --"PID\n"--> relay (pipe, EPOLL_TYPE_WATCHER)
 *
 * On each start event, and each time the stream is (re)opened, the
 * watcher asks the engine what REF names now (engine_find(): a restart
 * keeps the ID, a "docker rm -f; docker run --name web" makes a new one)
 * and writes the init pid of the running container. The relay ignores a
 * pid it already serves. The watcher holds no capability, no namespace
 * and no socket of the relay; it dies with the relay (PR_SET_PDEATHSIG,
 * or EPIPE on its pipe; the keeper of runas.c when the relay left uid 0,
 * since the kernel then no longer sends the death signal). It keeps the uid nsbridge was started with when
 * the relay leaves uid 0 (runas.c): the engine's socket is root's (or its
 * group's), and following a container is talking to it. It reads nothing
 * from the relay, which, another uid by then, cannot signal or ptrace it.
 */

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nsbridge/caps.h"
#include "nsbridge/child.h"
#include "nsbridge/engine.h"
#include "nsbridge/watcher.h"

#define RECONNECT_DELAY_S	1
/* {"type":["container"],"event":["start"]} */
#define EVENTS_PATH	"/events?filters=%7B%22type%22%3A%5B%22container%22%5D%2C" \
			"%22event%22%3A%5B%22start%22%5D%7D"

static int watcher_pid_fd = -1;	/* the relay's pidfd of the watcher */

struct watch {
	const char *sock_path;
	const char *ref;
	int out_fd;
	pid_t last_pid;
};

/* Tell the relay where REF runs now, if it runs */
static void report(struct watch *w)
{
	struct engine_container ct;
	char why[ENGINE_WHY_MAX], line[32];
	int n;

	if (engine_find(w->sock_path, w->ref, &ct, why, sizeof(why)) < 0)
		return;
	if (ct.pid == w->last_pid)
		return;
	n = snprintf(line, sizeof(line), "%d\n", (int)ct.pid);
	if (write(w->out_fd, line, (size_t)n) != n)
		_exit(EXIT_SUCCESS);	/* the relay is gone */
	w->last_pid = ct.pid;
}

/* Every chunk of the filtered stream is a container start: look again */
static size_t on_events(char *data, size_t size, size_t n, void *userdata)
{
	report(userdata);
	return size * n;
}

static void stream_events(struct watch *w)
{
	CURL *curl = curl_easy_init();

	if (!curl)
		return;
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, w->sock_path);
	curl_easy_setopt(curl, CURLOPT_URL, "http://localhost" EVENTS_PATH);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_events);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_perform(curl);
	curl_easy_cleanup(curl);
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
	for (;;) {
		report(w);	/* a start missed while the stream was down */
		stream_events(w);
		sleep(RECONNECT_DELAY_S);
	}
}

/**
 * watcher_start() - fork the watcher for container REF
 * @sock_path:	the engine's socket
 * @ref:	the container reference, as the user gave it
 * @known_pid:	the pid the relay serves already, not to be reported
 * @ret_fd:	the relay's end of the pipe, non-blocking, on success
 *
 * Return: 0 or -errno
 */
int watcher_start(const char *sock_path, const char *ref, pid_t known_pid, int *ret_fd)
{
	struct watch w = { .sock_path = sock_path, .ref = ref, .last_pid = known_pid };
	pid_t parent = getpid(), pid;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		close(p[0]);
		w.out_fd = p[1];
		watcher_main(&w, parent);
	}
	close(p[1]);
	/* for the keeper (runas.c), which ends it when the relay goes */
	watcher_pid_fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;

		close(p[0]);
		return r;
	}
	*ret_fd = p[0];
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
 * watcher_read_pid() - the latest pid the watcher reported
 * @fd:		the relay's end of the pipe
 * @ret_pid:	the last pid read, on success
 *
 * Return: 1 if a pid was read, 0 if none was waiting, -EPIPE if the
 * watcher is gone
 */
int watcher_read_pid(int fd, pid_t *ret_pid)
{
	char buf[4096];	/* lines are written whole (< PIPE_BUF) */
	int found = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		char *line = buf, *end;

		buf[n] = '\0';
		while ((end = strchr(line, '\n'))) {
			long v = strtol(line, NULL, 10);

			if (v > 0) {
				*ret_pid = (pid_t)v;
				found = 1;
			}
			line = end + 1;
		}
	}
	if (n == 0)
		return found ? found : -EPIPE;
	return found;
}
