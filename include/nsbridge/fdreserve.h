/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fdreserve.h - descriptors held back for nsbridge status and --metrics */
#ifndef NSBRIDGE_FDRESERVE_H
#define NSBRIDGE_FDRESERVE_H

int fdreserve_init(void);
void fdreserve_lend(void);
void fdreserve_refill(void);
int fdreserve_placeholder(void);
unsigned fdreserve_spares(void);
void fdreserve_release(void);

#endif /* NSBRIDGE_FDRESERVE_H */
