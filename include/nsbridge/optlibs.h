/* SPDX-License-Identifier: GPL-2.0-or-later */
/* optlibs.h - libcurl and libmicrohttpd, loaded only by the runs that use them */
#ifndef NSBRIDGE_OPTLIBS_H
#define NSBRIDGE_OPTLIBS_H

struct failure;

int optlibs_need_curl(struct failure *f);
int optlibs_need_mhd(struct failure *f);

#endif /* NSBRIDGE_OPTLIBS_H */
