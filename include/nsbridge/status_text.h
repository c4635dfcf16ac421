/* SPDX-License-Identifier: GPL-2.0-or-later */
/* status_text.h - a status document as nsbridge status prints it */
#ifndef NSBRIDGE_STATUS_TEXT_H
#define NSBRIDGE_STATUS_TEXT_H

#include <json-c/json.h>

const char *status_member_str(json_object *o, const char *key);
void status_text_print(json_object *doc, const char *path, json_object *prev, double secs);

#endif /* NSBRIDGE_STATUS_TEXT_H */
