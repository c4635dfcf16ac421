/* SPDX-License-Identifier: GPL-2.0-or-later */
/* caps.h - capability checks and the staged drop */
#ifndef NSBRIDGE_CAPS_H
#define NSBRIDGE_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/types.h>

bool caps_have(cap_value_t cap);
int caps_keep_only(const cap_value_t *keep, size_t n_keep);
int caps_drop_all(void);
int caps_drop_all_as(uid_t uid, gid_t gid);
const char *caps_grant_hint(void);

#endif /* NSBRIDGE_CAPS_H */
