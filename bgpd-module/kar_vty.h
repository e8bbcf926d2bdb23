// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: configuration commands and config-write callbacks.
 */
#ifndef KAR_VTY_H
#define KAR_VTY_H

#include "bgpd/bgpd.h"

extern void kar_vty_init(void);
extern void kar_show_init(void);

extern int kar_config_write_peer_af(struct vty *vty, struct peer *peer,
				    afi_t afi, safi_t safi);
extern int kar_config_write_inst(struct bgp *bgp, struct vty *vty);
extern int kar_debug_config_write(struct vty *vty);
extern int kar_debug_show(struct vty *vty);

#endif /* KAR_VTY_H */
