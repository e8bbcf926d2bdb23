// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: `show bgp [vrf <NAME|all>] keep-all-routes [json]`.
 */
#ifndef KAR_SHOW_H
#define KAR_SHOW_H

extern void kar_show_init(void);

#endif /* KAR_SHOW_H */
