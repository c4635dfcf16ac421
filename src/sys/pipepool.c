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
 * Pipes are grown to the size asked for (F_SETPIPE_SZ) when made, and a
 * pipe that is smaller is grown when it is taken from the pool again -
 * always while it is empty: a pipe that holds bytes is never resized.
 * Under the per-user pipe page limit (fs.pipe-user-pages-soft; the relay
 * has no CAP_SYS_RESOURCE) the kernel makes new pipes small and refuses
 * to grow them. Such pipes serve as they are, each connection's pump
 * knowing its own pipe's size, and each new or reused small pipe tries to
 * grow again, so the pool recovers as soon as pages are free: one burst
 * does not shrink every later connection's pipes for good.
 *
 * The log says so once each way: when a pipe is first refused, and when
 * the pool has recovered - the last attempt to grow succeeded and no
 * small pipe is left, kept or in use. Waiting for the last small pipe
 * keeps a limit that hovers at the edge from making the log flap.
 *
 * A direction that fills its pipe is moving bulk: its pipe grows to the
 * bulk size (pipepool_set_bulk()), which halves the system calls a
 * gigabyte costs, and shrinks back when it is given back empty, so that
 * only pipes in bulk use spend the per-user pipe pages on it, and at most
 * @bulk_max of them at once. Growing a pipe that holds bytes is safe; only
 * shrinking needs it empty. A refusal (the page limit) stops growth until a
 * bulk pipe gives its pages back: no failed call a transfer.
 *
 * The pool is stocked with @max_idle pipes at start and keeps at most
 * that many; pipes made beyond it in a burst are closed when given back,
 * so at rest the process holds the same descriptors as after start.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsbridge/log.h"
#include "nsbridge/pipepool.h"

#define PIPE_DEFAULT_SIZE	65536	/* 16 pages, until a pipe says otherwise */

static struct pipe_pair *idle;
static unsigned n_idle, max_idle;
static size_t want_size;	/* asked of every pipe, 0 to take the kernel's */
static size_t new_size;		/* what the last pipe made or grown holds */
static unsigned n_small;	/* open pipes smaller than want_size, kept or in use */
static bool refused;		/* the last attempt to grow a pipe failed */
static bool short_of_pages;	/* the log said pipes are small for now */
static size_t bulk_size;	/* what a full pipe grows to, 0 for never */
static unsigned n_bulk, bulk_max;	/* pipes grown to bulk_size, and the most */
static bool bulk_refused;	/* the last growth was refused: wait for pages */

static bool is_small(const struct pipe_pair *p)
{
	return want_size && p->size < want_size;
}

/* Grown beyond want_size for bulk: shrunk again when given back */
static bool is_bulk(const struct pipe_pair *p)
{
	return want_size && p->size > want_size;
}

/* A bulk pipe is closed or shrunk: its pages are free for another */
static void bulk_done(void)
{
	n_bulk--;
	bulk_refused = false;
}

static void note_refused(int err, size_t size)
{
	refused = true;
	new_size = size;
	if (short_of_pages)
		return;
	short_of_pages = true;
	log_warn("pipes cannot grow to %zu bytes (%s: the per-user pipe page limit, "
		 "fs.pipe-user-pages-soft, is reached, or fs.pipe-max-size is lower); "
		 "they hold %zu bytes until pipe pages are free again",
		 want_size, strerror(-err), size);
}

static void check_recovered(void)
{
	if (!short_of_pages || refused || n_small)
		return;
	short_of_pages = false;
	log_info("pipes hold %zu bytes again: pipe pages are free", new_size);
}

/* Grow @p, which must be empty, to want_size if it is smaller */
static void grow(struct pipe_pair *p)
{
	int size;

	if (!is_small(p))
		return;
	size = fcntl(p->wr, F_SETPIPE_SZ, (int)want_size);
	if (size < 0) {
		note_refused(-errno, p->size);
		return;
	}
	p->size = (size_t)size;
	new_size = p->size;
	n_small--;
	refused = false;
	check_recovered();
}

static int make_pipe(struct pipe_pair *ret)
{
	int p[2], size;

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	size = fcntl(p[1], F_GETPIPE_SZ);
	*ret = (struct pipe_pair){
		.rd = p[0], .wr = p[1], .size = size > 0 ? (size_t)size : PIPE_DEFAULT_SIZE,
	};
	if (is_small(ret))
		n_small++;
	grow(ret);
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
	new_size = 0;
	n_small = 0;
	refused = short_of_pages = false;
	bulk_size = 0;
	n_bulk = 0;
	bulk_refused = false;
	max_idle = max;
	free(idle);
	idle = calloc(max ? max : 1, sizeof(*idle));
	n_idle = 0;
	pipepool_top_up();
}

/**
 * pipepool_top_up() - make pipes until the pool holds its full count
 *		       again, and grow the small ones kept
 *
 * Pipes that still held bytes when their connection was reset are closed,
 * not kept; the loop calls this when no connection is open, so that the
 * pool, and the process's descriptor count, come back to where they
 * started. Growing stops at the first refusal: at most one failed
 * F_SETPIPE_SZ a call while pipe pages are short.
 */
void pipepool_top_up(void)
{
	for (unsigned i = 0; i < n_idle; i++) {
		grow(&idle[i]);
		if (is_small(&idle[i]))
			break;
	}
	while (idle && n_idle < max_idle && make_pipe(&idle[n_idle]) == 0)
		n_idle++;
}

/**
 * pipepool_pipe_size() - capacity of a new pipe: what the last one made
 *			  or grown holds
 *
 * Each pipe handed out says its own size (struct pipe_pair.size); under
 * the per-user page limit they differ.
 *
 * Return: bytes
 */
size_t pipepool_pipe_size(void)
{
	if (new_size)
		return new_size;
	return want_size ? want_size : PIPE_DEFAULT_SIZE;
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
		grow(ret);	/* empty, as every kept pipe is */
		return 0;
	}
	return make_pipe(ret);
}

/**
 * pipepool_put() - give back an empty pipe
 * @p:		the pipe, which must hold no bytes; reset to none
 *
 * A small one is kept too: it grows when taken again, if it can.
 */
void pipepool_put(struct pipe_pair *p)
{
	if (p->rd < 0)
		return;
	if (is_bulk(p)) {
		int size = fcntl(p->wr, F_SETPIPE_SZ, (int)want_size);

		if (size < 0) {
			pipepool_discard(p);
			return;
		}
		p->size = (size_t)size;
		bulk_done();
	}
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
	if (p->rd < 0)
		return;
	close(p->rd);
	close(p->wr);
	if (is_bulk(p))
		bulk_done();
	if (is_small(p)) {
		n_small--;
		check_recovered();
	}
	*p = PIPE_PAIR_NONE;
}

/**
 * pipepool_set_bulk() - let pipes that fill grow for bulk transfers
 * @size:	bytes a full pipe grows to; 0, or not above the pool's size,
 *		for never
 * @max:	pipes grown at once, at most
 */
void pipepool_set_bulk(size_t size, unsigned max)
{
	bulk_size = size > want_size ? size : 0;
	bulk_max = max;
	bulk_refused = false;
}

/**
 * pipepool_grow_bulk() - grow a pipe its direction has filled
 * @p:		the pipe, which may hold bytes
 *
 * Nothing is asked of the kernel while pipes are short of pages, while
 * @bulk_max pipes are grown already, or after a refusal until a grown
 * pipe is given back.
 *
 * Return: true if @p grew
 */
bool pipepool_grow_bulk(struct pipe_pair *p)
{
	int size;

	if (!bulk_size || p->size >= bulk_size || is_small(p) || short_of_pages ||
	    bulk_refused || n_bulk >= bulk_max)
		return false;
	size = fcntl(p->wr, F_SETPIPE_SZ, (int)bulk_size);
	if (size < 0) {
		bulk_refused = true;
		return false;
	}
	p->size = (size_t)size;
	n_bulk++;
	return true;
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

/**
 * pipepool_short() - whether pipes are smaller than asked for, for want
 *		      of pipe pages, as the log said
 *
 * Return: true from the first refusal to grow a pipe until the pool has
 * recovered
 */
bool pipepool_short(void)
{
	return short_of_pages;
}
