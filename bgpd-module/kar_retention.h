// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: configuration changes and what they do to the
 * Adj-RIB-In of every peer they cover.
 */
#ifndef KAR_RETENTION_H
#define KAR_RETENTION_H

#include "bgpd/bgpd.h"

/*
 * Each sets one source on or off and applies the result to every peer it
 * covers.  The AF is one kar_af_covered() accepts.
 */
extern void kar_set_peer(struct peer *peer, afi_t afi, safi_t safi, bool on);
extern void kar_set_group(struct peer_group *group, afi_t afi, safi_t safi,
			  bool on);
extern void kar_set_instance(struct bgp *bgp, bool on);

#endif /* KAR_RETENTION_H */
