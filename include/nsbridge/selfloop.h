/* SPDX-License-Identifier: GPL-2.0-or-later */
/* selfloop.h - refuse bridges that would relay to themselves */
#ifndef NSBRIDGE_SELFLOOP_H
#define NSBRIDGE_SELFLOOP_H

#include <stdbool.h>
#include <stddef.h>

#include "nsbridge/cli.h"
#include "nsbridge/ctx.h"

/**
 * struct selfloop - a SERVICE that is some bridge's own EXPOSE
 * @from:	the bridge whose SERVICE it is
 * @service:	that SERVICE, one of @from's
 * @to:		the bridge whose EXPOSE it reaches; @from for a bridge that
 *		would relay to itself
 * @back:	with @to != @from, the SERVICE of @to that reaches @from's
 *		EXPOSE and closes the circle
 */
struct selfloop {
	const struct bridge_spec *from;
	const struct endpoint *service;
	const struct bridge_spec *to;
	const struct endpoint *back;
};

bool selfloop_reaches(const struct endpoint *service, const struct endpoint *expose,
		      bool sides_same);
bool selfloop_find(const struct bridge_spec *bridges, size_t n, bool sides_same,
		   struct selfloop *ret);
void selfloop_describe(const struct selfloop *loop, const char *const labels[SIDE_MAX],
		       bool sides_same, char *buf, size_t len);
int selfloop_check(const struct ctx *c, struct failure *f);
int selfloop_check_set(const struct ctx *c, const struct bridge_spec *bridges, size_t n,
		       struct failure *f);

#endif /* NSBRIDGE_SELFLOOP_H */
