/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pipepool.c - pipes for splice(), taken only while bytes are in flight
 *
 * Theory of operation
 *
 * splice() moves bytes socket -> pipe -> socket without copying them to
 * user space, so every direction of every connection needs a pipe while
 * it has bytes in flight - and only then. A connection takes a pipe from
 * this pool when its socket has something to read and gives it back as
 * soon as the pipe is empty again; an idle connection holds none. Only an
 * empty pipe comes back: one that still holds bytes belongs to its
 * connection until they are written, or is closed with it.
 *
 * Pipes are grown to the size probed at start: F_SETPIPE_SZ can fail
 * under the per-user pipe page limit, and then the default size serves.
 * The pool is stocked with @max_idle pipes at start and keeps at most
 * that many; pipes made beyond it in a burst are closed when given back,
 * so at rest the process holds the same descriptors as after start.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "nsbridge/pipepool.h"

#define PIPE_DEFAULT_SIZE	65536	/* 16 pages, until a pipe says otherwise */

static struct pipe_pair *idle;
static unsigned n_idle, max_idle;
static size_t pipe_size;		/* the smallest pipe handed out, 0 before the first */
static size_t want_size;

static int make_pipe(struct pipe_pair *ret)
{
	int p[2], size;

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	if (want_size && fcntl(p[1], F_SETPIPE_SZ, (int)want_size) < 0)
		want_size = 0;	/* over the per-user page limit: default pipes from now on */
	size = fcntl(p[1], F_GETPIPE_SZ);
	if (size > 0 && (!pipe_size || (size_t)size < pipe_size))
		pipe_size = (size_t)size;
	ret->rd = p[0];
	ret->wr = p[1];
	return 0;
}

/**
 * pipepool_init() - size the pool and probe the pipe size
 * @want:	pipe size to ask for, bytes
 * @max:	empty pipes to keep for reuse
 */
void pipepool_init(size_t want, unsigned max)
{
	want_size = want;
	pipe_size = 0;
	max_idle = max;
	free(idle);
	idle = calloc(max ? max : 1, sizeof(*idle));
	n_idle = 0;
	pipepool_top_up();
}

/**
 * pipepool_top_up() - make pipes until the pool holds its full count again
 *
 * Pipes that still held bytes when their connection was reset are closed,
 * not kept; the loop calls this when no connection is open, so that the
 * pool, and the process's descriptor count, come back to where they
 * started.
 */
void pipepool_top_up(void)
{
	while (idle && n_idle < max_idle && make_pipe(&idle[n_idle]) == 0)
		n_idle++;
}

/**
 * pipepool_pipe_size() - capacity of the pipes handed out
 *
 * Return: bytes
 */
size_t pipepool_pipe_size(void)
{
	return pipe_size ? pipe_size : PIPE_DEFAULT_SIZE;
}

/**
 * pipepool_take() - an empty pipe
 * @ret:	the pipe, on success
 *
 * Return: 0 or -errno (-EMFILE, -ENFILE when out of descriptors)
 */
int pipepool_take(struct pipe_pair *ret)
{
	if (n_idle) {
		*ret = idle[--n_idle];
		return 0;
	}
	return make_pipe(ret);
}

/**
 * pipepool_put() - give back an empty pipe
 * @p:		the pipe, which must hold no bytes; reset to none
 */
void pipepool_put(struct pipe_pair *p)
{
	if (p->rd < 0)
		return;
	if (idle && n_idle < max_idle) {
		idle[n_idle++] = *p;
		*p = PIPE_PAIR_NONE;
		return;
	}
	pipepool_discard(p);
}

/**
 * pipepool_discard() - close a pipe that may still hold bytes
 * @p:		the pipe; reset to none
 */
void pipepool_discard(struct pipe_pair *p)
{
	if (p->rd >= 0) {
		close(p->rd);
		close(p->wr);
	}
	*p = PIPE_PAIR_NONE;
}

/**
 * pipepool_release() - close the kept pipes and free the pool
 */
void pipepool_release(void)
{
	while (n_idle)
		pipepool_discard(&idle[--n_idle]);
	free(idle);
	idle = NULL;
}

/**
 * pipepool_idle() - empty pipes kept for reuse
 *
 * Return: their number
 */
unsigned pipepool_idle(void)
{
	return n_idle;
}
