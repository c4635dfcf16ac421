/* SPDX-License-Identifier: GPL-2.0-or-later */
/* list.h - intrusive circular doubly linked list */
#ifndef NSBRIDGE_LIST_H
#define NSBRIDGE_LIST_H

#include <stdbool.h>
#include <stddef.h>

/* A node that is in no list points at itself, so unlinking twice is harmless */
struct list_node {
	struct list_node *next;
	struct list_node *prev;
};

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void list_init(struct list_node *node)
{
	node->next = node;
	node->prev = node;
}

static inline bool list_empty(const struct list_node *head)
{
	return head->next == head;
}

static inline void list_del(struct list_node *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	list_init(node);
}

/* Append at the tail: lists used as FIFOs keep their oldest entry at head->next */
static inline void list_add_tail(struct list_node *head, struct list_node *node)
{
	node->prev = head->prev;
	node->next = head;
	head->prev->next = node;
	head->prev = node;
}

static inline void list_move_tail(struct list_node *head, struct list_node *node)
{
	list_del(node);
	list_add_tail(head, node);
}

#endif /* NSBRIDGE_LIST_H */
