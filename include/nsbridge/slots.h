/* SPDX-License-Identifier: GPL-2.0-or-later */
/* slots.h - numbered places for objects that epoll references name */
#ifndef NSBRIDGE_SLOTS_H
#define NSBRIDGE_SLOTS_H

/**
 * struct slot_table - objects by a small number that fits an epoll_ref
 * @objs:	the objects, NULL where a slot is free; @n long
 * @n:		slots in all
 * @free:	stack of free slot numbers, @n_free of them
 * @n_free:	free slots
 */
struct slot_table {
	void **objs;
	unsigned n;
	unsigned *free;
	unsigned n_free;
};

int slots_alloc(struct slot_table *t, void *obj, unsigned *ret_slot);
void slots_put(struct slot_table *t, unsigned slot);
void *slots_get(const struct slot_table *t, unsigned slot);
void slots_release(struct slot_table *t);

#endif /* NSBRIDGE_SLOTS_H */
