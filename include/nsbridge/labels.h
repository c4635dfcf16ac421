/* SPDX-License-Identifier: GPL-2.0-or-later */
/* labels.h - containers that ask for bridges with a label (--labels) */
#ifndef NSBRIDGE_LABELS_H
#define NSBRIDGE_LABELS_H

#include <stddef.h>

#include "nsbridge/ctx.h"

#define LABEL_PAIRS_MAX	16	/* bridges one label may ask for */
#define LABEL_ITEM_MAX	400

/**
 * struct label_pair - one "SERVICE EXPOSE" of a label, as text
 * @service:	SERVICE
 * @expose:	EXPOSE
 */
struct label_pair {
	char service[256];
	char expose[128];
};

int labels_split(const char *value, struct label_pair *pairs, size_t max, size_t *ret_n,
		 struct failure *f);
int labels_spec(const struct config *cfg, const struct label_pair *pair, enum side side,
		struct bridge_spec *ret, struct failure *f);
int labels_options(struct config *cfg, const char *value, struct failure *f);
void labels_setup(struct ctx *c);
void labels_on_reload(struct ctx *c);

#endif /* NSBRIDGE_LABELS_H */
