// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: the module's records and their life cycle.
 *
 * One record per configured peer or peer-group (keyed by the struct peer
 * bgpd uses for it; a group's is group->conf) and one per instance that
 * has the instance-wide command.  Records exist only while something is
 * configured or worth showing; they die with the peer or the instance.
 */
#ifndef KAR_STATE_H
#define KAR_STATE_H

#include <time.h>

#include "memory.h"
#include "typesafe.h"

#include "kar_rules.h"

struct bgp;
struct peer;

DECLARE_MGROUP(KAR);

PREDECL_HASH(kar_peers);
PREDECL_HASH(kar_insts);

/* The last time retention started for one peer/AF, for show. */
struct kar_enable_event {
	enum kar_action action;
	time_t when; /* wall clock, 0 = never */
};

struct kar_peer {
	struct kar_peers_item item;
	struct peer *peer;	     /* key: the peer, or a peer-group's conf */
	bool configured[KAR_AF_MAX]; /* this peer's own line */
	struct kar_enable_event last[KAR_AF_MAX];
};

struct kar_inst {
	struct kar_insts_item item;
	struct bgp *bgp; /* key */
	bool configured; /* instance-wide keep-all-routes */
};

/* Map bgpd's afi/safi to the AFs keep-all-routes covers; KAR_AF_MAX if none. */
extern enum kar_af kar_af_from(int afi, int safi);
extern void kar_af_to(enum kar_af af, int *afi, int *safi);

extern struct kar_peer *kar_peer_find(const struct peer *peer);
extern struct kar_peer *kar_peer_get(struct peer *peer);
/* Free @kp if it holds nothing worth keeping (no line, nothing to show). */
extern void kar_peer_release(struct kar_peer *kp);
extern void kar_peer_forget(const struct peer *peer);

extern struct kar_inst *kar_inst_find(const struct bgp *bgp);
extern struct kar_inst *kar_inst_get(struct bgp *bgp);
extern void kar_inst_forget(const struct bgp *bgp);

/*
 * Every source of retention for @peer in @af, read from bgpd (native flag,
 * group membership) and from the records.  @peer is a real peer, not a
 * group's conf.
 */
extern unsigned int kar_sources(const struct peer *peer, enum kar_af af);

/* Only the module's sources; the bgp_adj_in_needed callback runs this. */
extern unsigned int kar_module_sources(const struct peer *peer, enum kar_af af);

/* Whether any record exists; lets the per-prefix path return at once. */
extern bool kar_state_empty(void);

extern void kar_state_init(void);
extern void kar_state_fini(void);

#endif /* KAR_STATE_H */
