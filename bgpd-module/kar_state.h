// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: the module's records.
 *
 * A struct kar_peer belongs to one peer or peer-group (keyed by the
 * struct peer bgpd uses for it; a group's is group->conf), a struct
 * kar_inst to one instance.  Their lifetime rule:
 *
 *   - a peer record lives while it holds something: its own line in some
 *     AF, or an enable action remembered for show.  kar_peer_get()
 *     creates it when it is about to hold something; kar_peer_release()
 *     is the one place that frees one, and does so exactly when it holds
 *     nothing.  When the peer goes, kar_peer_forget() empties the record
 *     and releases it.
 *   - an instance record lives exactly while the instance-wide line is
 *     configured: kar_inst_set() creates and frees it, and
 *     kar_inst_set(bgp, false) is what the instance's deletion runs.
 *   - kar_state_fini() forgets every record.
 */
#ifndef KAR_STATE_H
#define KAR_STATE_H

#include <time.h>

#include "memory.h"
#include "typesafe.h"

#include "bgpd/bgpd.h"

#include "kar_rules.h"

DECLARE_MGROUP(KAR);

PREDECL_HASH(kar_peers);

/* One AF of a peer or peer-group. */
struct kar_af_state {
	bool configured;	     /* this peer's own line */
	enum kar_action last_action; /* the last enable action, for show */
	time_t last_when;	     /* its wall-clock time; 0 = never */
};

struct kar_peer {
	struct kar_peers_item item;
	struct peer *peer; /* key: the peer, or a peer-group's conf */
	struct kar_af_state af[AFI_MAX][SAFI_MAX];
};

/* The AFs keep-all-routes covers: ipv4 unicast and ipv6 unicast. */
static inline bool kar_af_covered(afi_t afi, safi_t safi)
{
	return safi == SAFI_UNICAST && (afi == AFI_IP || afi == AFI_IP6);
}

/* The instance name operators know: "default" or the VRF's name. */
extern const char *kar_inst_name(const struct bgp *bgp);

extern struct kar_peer *kar_peer_find(const struct peer *peer);
extern struct kar_peer *kar_peer_get(struct peer *peer);
extern void kar_peer_release(struct kar_peer *kp);
extern void kar_peer_forget(const struct peer *peer);

/* The instance-wide line: whether it is configured, and setting it. */
extern bool kar_inst_configured(const struct bgp *bgp);
extern void kar_inst_set(struct bgp *bgp, bool on);

/*
 * Sets @kp's own line.  The caller asks bgp_adj_in_needed() for every peer
 * the line covers before and after (kar_retention.c), which is how bgpd
 * learns the new answer.
 */
extern void kar_peer_set_configured(struct kar_peer *kp, afi_t afi, safi_t safi,
				    bool on);

/* Whether @peer (or group conf) has its own line in the AF. */
extern bool kar_peer_configured(const struct peer *peer, afi_t afi,
				safi_t safi);

/*
 * The sources this module holds for @peer in the AF: its own line, its
 * group's, its instance's: a few hash look-ups.  The bgp_adj_in_needed
 * callback runs this when bgpd asks, on a change of configuration or of
 * the session, not per received prefix (bgpd keeps the answer).  @peer is
 * a real peer, not a group's conf.
 */
extern unsigned int kar_module_sources(const struct peer *peer, afi_t afi,
				       safi_t safi);

/* Every source, the native soft-reconfiguration flag included. */
extern unsigned int kar_sources(const struct peer *peer, afi_t afi,
				safi_t safi);

/* Whether any record exists; lets the bgp_adj_in_needed callback return at
 * once.
 */
extern bool kar_state_empty(void);

extern void kar_state_init(void);
extern void kar_state_fini(void);

#endif /* KAR_STATE_H */
