// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: turning configuration changes into what bgpd does with
 * the Adj-RIB-In (refill by ROUTE-REFRESH or reset, free, or nothing).
 */
#ifndef KAR_RETENTION_H
#define KAR_RETENTION_H

#include "kar_rules.h"

struct bgp;
struct peer;
struct peer_group;

/* `debug bgp keep-all-routes` */
extern bool kar_debug;

/* The instance name operators know: "default" or the VRF's name. */
extern const char *kar_inst_name(const struct bgp *bgp);

/*
 * Each sets one source on or off and applies the result to every peer it
 * covers; each returns whether the configuration changed.
 */
extern bool kar_set_peer(struct peer *peer, enum kar_af af, bool on);
extern bool kar_set_group(struct peer_group *group, enum kar_af af, bool on);
extern bool kar_set_instance(struct bgp *bgp, bool on);

#endif /* KAR_RETENTION_H */
