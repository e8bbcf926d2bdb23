// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: configuration changes and what they do to the
 * Adj-RIB-In.
 *
 * The module is one consumer of a peer's Adj-RIB-In among several
 * (soft-reconfiguration inbound, BMP pre-policy monitoring, any other
 * module answering the bgp_adj_in_needed hook).  Whether bgpd keeps the
 * table is bgpd's answer, bgp_adj_in_needed(), asked before and after a
 * change of this module's records; kar_decide() (kar_rules.c) turns the
 * two answers into nothing, a fill or a free, and both are done with
 * bgpd's own functions, as upstream's BMP consumer does (25024e0434).
 */
#include <zebra.h>

#include "frratomic.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_route.h"
#include "bgpd/bgp_vty.h"

#include "kar_compat.h"
#include "kar_debug.h"
#include "kar_retention.h"
#include "kar_rules.h"
#include "kar_state.h"

DEFINE_MTYPE_STATIC(KAR, KAR_CHANGE, "keep-all-routes change");

/* One peer and AF a change of the records covers, and whether bgpd kept
 * its Adj-RIB-In before the change.
 */
struct kar_touched {
	struct peer *peer;
	afi_t afi;
	safi_t safi;
	bool was_kept;
};

/* The peers and AFs one change of the records covers. */
struct kar_change_set {
	struct kar_touched *item;
	unsigned int count, size;
	unsigned int source; /* for the debug line */
	bool on;
};

/* Add @peer/AF to @cs with what bgpd keeps now, before the change. */
static void kar_touch(struct kar_change_set *cs, struct peer *peer, afi_t afi,
		      safi_t safi)
{
	if (cs->count == cs->size) {
		cs->size = cs->size ? cs->size * 2 : 8;
		cs->item = XREALLOC(MTYPE_KAR_CHANGE, cs->item,
				    cs->size * sizeof(*cs->item));
	}
	cs->item[cs->count++] = (struct kar_touched){
		.peer = peer,
		.afi = afi,
		.safi = safi,
		.was_kept = bgp_adj_in_needed(peer, afi, safi),
	};
}

/*
 * Ask the peer for its routes again, as bgpd does when soft-reconfiguration
 * inbound is set: peer_change_action(..., peer_change_reset_in) sends a
 * ROUTE-REFRESH to a peer that can take one and resets the session of one
 * that cannot.  Returns which of the two bgpd did, for show.
 */
static enum kar_action kar_fill(struct peer *peer, afi_t afi, safi_t safi)
{
	uint32_t notified =
		atomic_load_explicit(&peer->notify_out, memory_order_relaxed);

	if (!kar_peer_established(peer))
		return KAR_ACTION_NONE;
	peer_change_action(peer, afi, safi, peer_change_reset_in);
	if (atomic_load_explicit(&peer->notify_out, memory_order_relaxed) !=
	    notified)
		return KAR_ACTION_SESSION_RESET;
	return KAR_ACTION_ROUTE_REFRESH;
}

/* Free the stored routes, unless labeled-unicast ones, which share the
 * unicast table, are still needed.
 */
static void kar_free(struct peer *peer, afi_t afi, safi_t safi)
{
	if (safi == SAFI_UNICAST &&
	    bgp_adj_in_needed(peer, afi, SAFI_LABELED_UNICAST))
		return;
	bgp_clear_adj_in(peer, afi, safi);
}

/* Remember what enabling the AF for @peer did, for show. */
static void kar_note_enable(struct peer *peer, afi_t afi, safi_t safi,
			    enum kar_action action)
{
	struct kar_af_state *as = &kar_peer_get(peer)->af[afi][safi];

	as->last_action = action;
	as->last_when = time(NULL);
}

/* The records have changed: do, for every peer/AF in @cs, what bgpd's new
 * answer asks for, and free @cs.
 */
static void kar_apply(struct kar_change_set *cs)
{
	for (unsigned int i = 0; i < cs->count; i++) {
		struct kar_touched *t = &cs->item[i];
		bool kept = bgp_adj_in_needed(t->peer, t->afi, t->safi);
		enum kar_change change = kar_decide(
			t->was_kept, kept, t->peer->afc_nego[t->afi][t->safi]);
		enum kar_action action = KAR_ACTION_NONE;

		if (change == KAR_CHANGE_FILL)
			action = kar_fill(t->peer, t->afi, t->safi);
		else if (change == KAR_CHANGE_FREE)
			kar_free(t->peer, t->afi, t->safi);
		if (cs->on)
			kar_note_enable(t->peer, t->afi, t->safi, action);

		KAR_DEBUG("%pBP vrf %s %s: %s %s, retention %s, action %s",
			  t->peer, kar_inst_name(t->peer->bgp),
			  get_afi_safi_str(t->afi, t->safi, true),
			  kar_source_name(cs->source),
			  cs->on ? "added" : "removed", kept ? "on" : "off",
			  change == KAR_CHANGE_FREE ? "free"
						    : kar_action_name(action));
	}
	XFREE(MTYPE_KAR_CHANGE, cs->item);
}

void kar_set_peer(struct peer *peer, afi_t afi, safi_t safi, bool on)
{
	struct kar_change_set cs = {.source = KAR_SRC_PEER, .on = on};
	struct kar_peer *kp;

	if (kar_peer_configured(peer, afi, safi) == on)
		return;
	kar_touch(&cs, peer, afi, safi);
	kp = kar_peer_get(peer);
	kar_peer_set_configured(kp, afi, safi, on);
	kar_apply(&cs);
	kar_peer_release(kp);
}

void kar_set_group(struct peer_group *group, afi_t afi, safi_t safi, bool on)
{
	struct kar_change_set cs = {.source = KAR_SRC_GROUP, .on = on};
	struct kar_peer *kp;
	struct listnode *node;
	struct peer *member;

	if (kar_peer_configured(group->conf, afi, safi) == on)
		return;
	for (ALL_LIST_ELEMENTS_RO(group->peer, node, member))
		kar_touch(&cs, member, afi, safi);
	kp = kar_peer_get(group->conf);
	kar_peer_set_configured(kp, afi, safi, on);
	kar_apply(&cs);
	kar_peer_release(kp);
}

void kar_set_instance(struct bgp *bgp, bool on)
{
	struct kar_change_set cs = {.source = KAR_SRC_INSTANCE, .on = on};
	struct listnode *node;
	struct peer *peer;
	afi_t afi;
	safi_t safi;

	if (kar_inst_configured(bgp) == on)
		return;
	/* The list is copied before anything is done: a session reset
	 * deletes a peer's doppelganger from bgp->peer, where it is usually
	 * the next node.
	 */
	for (ALL_LIST_ELEMENTS_RO(bgp->peer, node, peer))
		if (CHECK_FLAG(peer->flags, PEER_FLAG_CONFIG_NODE))
			FOREACH_AFI_SAFI (afi, safi)
				if (kar_af_covered(afi, safi))
					kar_touch(&cs, peer, afi, safi);
	kar_inst_set(bgp, on);
	kar_apply(&cs);
}
