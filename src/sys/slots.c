/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slots.c - numbered places for objects that epoll references name
 *
 * An epoll reference carries a 32-bit index, not a pointer, so that an
 * event still queued for an object freed in the same batch finds an
 * empty slot (or the check of its owner) rather than freed memory. The
 * table grows by doubling and never shrinks; freed numbers are reused
 * last-in, first-out.
 */

#include <errno.h>
#include <stdlib.h>

#include "nsbridge/slots.h"

#define SLOTS_FIRST	256

static int grow(struct slot_table *t)
{
	unsigned more = t->n ? t->n : SLOTS_FIRST;
	void **objs;
	unsigned *free_slots;

	objs = realloc(t->objs, sizeof(*objs) * (t->n + more));
	if (!objs)
		return -ENOMEM;
	t->objs = objs;
	free_slots = realloc(t->free, sizeof(*free_slots) * (t->n + more));
	if (!free_slots)
		return -ENOMEM;
	t->free = free_slots;
	for (unsigned i = more; i-- > 0;) {
		t->objs[t->n + i] = NULL;
		t->free[t->n_free++] = t->n + i;
	}
	t->n += more;
	return 0;
}

/**
 * slots_alloc() - give @obj a slot
 * @t:		table
 * @obj:	the object
 * @ret_slot:	its slot number, on success
 *
 * Return: 0 or -ENOMEM
 */
int slots_alloc(struct slot_table *t, void *obj, unsigned *ret_slot)
{
	unsigned slot;

	if (!t->n_free && grow(t) < 0)
		return -ENOMEM;
	slot = t->free[--t->n_free];
	t->objs[slot] = obj;
	*ret_slot = slot;
	return 0;
}

/**
 * slots_put() - free a slot
 * @t:		table
 * @slot:	a slot given by slots_alloc()
 */
void slots_put(struct slot_table *t, unsigned slot)
{
	t->objs[slot] = NULL;
	t->free[t->n_free++] = slot;
}

/**
 * slots_get() - the object in a slot
 * @t:		table
 * @slot:	any number, from an epoll reference
 *
 * Return: the object, or NULL if the slot is free or out of range
 */
void *slots_get(const struct slot_table *t, unsigned slot)
{
	return slot < t->n ? t->objs[slot] : NULL;
}

/**
 * slots_release() - free the table itself
 * @t:		table; empty afterwards
 */
void slots_release(struct slot_table *t)
{
	free(t->objs);
	free(t->free);
	*t = (struct slot_table){ 0 };
}
