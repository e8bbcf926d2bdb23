// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: configuration commands and the lines they write.
 */
#ifndef KAR_VTY_H
#define KAR_VTY_H

#include "bgpd/bgpd.h"

extern void kar_vty_init(void);

/* bgp_peer_af_config_write and bgp_inst_config_write callbacks. */
extern int kar_config_write_peer_af(struct vty *vty, struct peer *peer,
				    afi_t afi, safi_t safi);
extern int kar_config_write_inst(struct bgp *bgp, struct vty *vty);

#endif /* KAR_VTY_H */
