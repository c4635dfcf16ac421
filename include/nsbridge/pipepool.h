/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pipepool.h - pipes for splice(), taken only while bytes are in flight */
#ifndef NSBRIDGE_PIPEPOOL_H
#define NSBRIDGE_PIPEPOOL_H

#include <stdbool.h>
#include <stddef.h>

/**
 * struct pipe_pair - the two ends of one pipe
 * @rd:		read end, -1 when none is held
 * @wr:		write end
 * @size:	its capacity, bytes: pipes made under the per-user page
 *		limit are smaller than the rest
 */
struct pipe_pair {
	int rd;
	int wr;
	size_t size;
};

#define PIPE_PAIR_NONE	((struct pipe_pair){ .rd = -1, .wr = -1, .size = 0 })

void pipepool_init(size_t want_size, unsigned max_idle);
size_t pipepool_pipe_size(void);
int pipepool_take(struct pipe_pair *ret);
void pipepool_put(struct pipe_pair *p);
void pipepool_discard(struct pipe_pair *p);
void pipepool_set_bulk(size_t size, unsigned max);
bool pipepool_grow_bulk(struct pipe_pair *p);
void pipepool_release(void);
void pipepool_top_up(void);
unsigned pipepool_idle(void);
bool pipepool_short(void);

#endif /* NSBRIDGE_PIPEPOOL_H */
