/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nl.h - rtnetlink through libnl-route: the loopback link */
#ifndef NSBRIDGE_NL_H
#define NSBRIDGE_NL_H

int nl_lo_up(void);

#endif /* NSBRIDGE_NL_H */
