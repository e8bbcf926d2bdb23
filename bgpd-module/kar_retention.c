// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: configuration changes and what they do to the
 * Adj-RIB-In.  kar_decide() (kar_rules.c) decides; this file reads the
 * facts it needs from bgpd and carries the decision out with bgpd's own
 * functions, as native soft-reconfiguration inbound does.
 */
#include <zebra.h>

#include "bgpd/bgpd.h"
#include "bgpd/bgp_packet.h"
#include "bgpd/bgp_route.h"
#include "bgpd/bgp_vty.h"

#include "kar_compat.h"
#include "kar_debug.h"
#include "kar_retention.h"
#include "kar_rules.h"
#include "kar_state.h"

/* Remember what enabling the AF for @peer did, for show. */
static void kar_note_enable(struct peer *peer, afi_t afi, safi_t safi,
			    enum kar_action action)
{
	struct kar_af_state *as = &kar_peer_get(peer)->af[afi][safi];

	as->last_action = action;
	as->last_when = time(NULL);
}

/*
 * @source has just been flipped in the records for @peer, from @was_on.
 * bgp_adj_in_needed() already answers with the new sources.
 */
static void kar_apply(struct peer *peer, afi_t afi, safi_t safi,
		      unsigned int source, bool was_on)
{
	unsigned int after = kar_sources(peer, afi, safi);
	unsigned int before = (after & ~source) | (was_on ? source : 0);
	struct kar_peer_facts facts = {
		.established = kar_peer_established(peer),
		.af_negotiated = peer->afc_nego[afi][safi],
		.route_refresh = kar_peer_can_refresh(peer),
	};
	enum kar_action action = kar_decide(before, after, &facts);

	/* This module is the only other consumer of the Adj-RIB-In. */
	assert(bgp_adj_in_needed(peer, afi, safi) == kar_retained(after));

	switch (action) {
	case KAR_ACTION_ROUTE_REFRESH:
		bgp_route_refresh_send(peer, afi, safi, 0, 0, 0,
				       BGP_ROUTE_REFRESH_NORMAL);
		break;
	case KAR_ACTION_SESSION_RESET:
		/* Cease/Configuration Change, doppelganger included. */
		peer_change_action(peer, afi, safi, peer_change_reset);
		break;
	case KAR_ACTION_FREE:
		bgp_clear_adj_in(peer, afi, safi);
		break;
	case KAR_ACTION_NONE:
		break;
	}

	if (!was_on)
		kar_note_enable(peer, afi, safi, action);

	KAR_DEBUG("%pBP vrf %s %s: %s %s, retention %s, action %s", peer,
		  kar_inst_name(peer->bgp), get_afi_safi_str(afi, safi, true),
		  kar_source_name(source), was_on ? "removed" : "added",
		  kar_retained(after) ? "on" : "off", kar_action_name(action));
}

void kar_set_peer(struct peer *peer, afi_t afi, safi_t safi, bool on)
{
	struct kar_peer *kp;

	assert(kar_af_covered(afi, safi));
	if (kar_peer_configured(peer, afi, safi) == on)
		return;
	kp = kar_peer_get(peer);
	kar_peer_set_configured(kp, afi, safi, on);
	kar_apply(peer, afi, safi, KAR_SRC_PEER, !on);
	kar_peer_release(kp);
}

void kar_set_group(struct peer_group *group, afi_t afi, safi_t safi, bool on)
{
	struct kar_peer *kp;
	struct listnode *node;
	struct peer *member;

	assert(kar_af_covered(afi, safi));
	if (kar_peer_configured(group->conf, afi, safi) == on)
		return;
	kp = kar_peer_get(group->conf);
	kar_peer_set_configured(kp, afi, safi, on);
	for (ALL_LIST_ELEMENTS_RO(group->peer, node, member))
		kar_apply(member, afi, safi, KAR_SRC_GROUP, !on);
	kar_peer_release(kp);
}

void kar_set_instance(struct bgp *bgp, bool on)
{
	struct list *peers;
	struct listnode *node;
	struct peer *peer;
	afi_t afi;
	safi_t safi;

	if (kar_inst_configured(bgp) == on)
		return;
	kar_inst_set(bgp, on);

	/* A session reset deletes a peer's doppelganger from bgp->peer, where
	 * it is usually the next node: walk a copy.
	 */
	peers = list_new();
	for (ALL_LIST_ELEMENTS_RO(bgp->peer, node, peer))
		if (CHECK_FLAG(peer->flags, PEER_FLAG_CONFIG_NODE))
			listnode_add(peers, peer);
	for (ALL_LIST_ELEMENTS_RO(peers, node, peer))
		FOREACH_AFI_SAFI (afi, safi)
			if (kar_af_covered(afi, safi))
				kar_apply(peer, afi, safi, KAR_SRC_INSTANCE,
					  !on);
	list_delete(&peers);
}
