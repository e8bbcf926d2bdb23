// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: turning configuration changes into what bgpd does with
 * the Adj-RIB-In.
 */
#include <zebra.h>

#include "log.h"
#include "vrf.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_route.h"

#include "kar_retention.h"
#include "kar_state.h"

bool kar_debug;

const char *kar_inst_name(const struct bgp *bgp)
{
	return bgp->name ? bgp->name : VRF_DEFAULT_NAME;
}

static enum kar_action kar_action_from(enum bgp_adj_in_refill refill)
{
	switch (refill) {
	case BGP_ADJ_IN_REFILL_ROUTE_REFRESH:
		return KAR_ACTION_ROUTE_REFRESH;
	case BGP_ADJ_IN_REFILL_SESSION_RESET:
		return KAR_ACTION_SESSION_RESET;
	case BGP_ADJ_IN_REFILL_NONE:
		break;
	}
	return KAR_ACTION_NONE;
}

/* Remember what enabling @af for @peer did, for show. */
static void kar_note_enable(struct peer *peer, enum kar_af af,
			    enum kar_action action)
{
	struct kar_peer *kp = kar_peer_get(peer);

	kp->last[af].action = action;
	kp->last[af].when = time(NULL);
}

/*
 * One peer/AF went from @before to @after because @source changed.  bgpd's
 * bgp_adj_in_needed() already answers with the new sources, so bgpd is only
 * told that the answer changed; it sends what the native flag would send.
 * Enabling for a peer that has not negotiated the AF sends nothing: no
 * route of that AF was received, and a reset would be for nothing.
 */
static void kar_apply(struct peer *peer, enum kar_af af, unsigned int before,
		      unsigned int after, unsigned int source)
{
	enum kar_change change = kar_change(before, after);
	bool added = after & source;
	struct kar_peer_facts facts;
	enum kar_action action = KAR_ACTION_NONE;
	struct kar_peer *kp;
	int afi, safi;

	kar_af_to(af, &afi, &safi);

	switch (change) {
	case KAR_CHANGE_NONE:
		/* Another source already held it (SPEC 3) or still does. */
		if (added)
			kar_note_enable(peer, af, KAR_ACTION_NONE);
		if (kar_debug)
			zlog_debug(
				"keep-all-routes: %pBP vrf %s %s: %s %s, retention %s, nothing to do",
				peer, kar_inst_name(peer->bgp), kar_af_name(af),
				kar_source_name(source),
				added ? "added" : "removed",
				kar_retained(after) ? "stays on" : "stays off");
		return;

	case KAR_CHANGE_DISABLE:
		bgp_adj_in_needed_changed(peer, afi, safi, true);
		if (kar_debug)
			zlog_debug(
				"keep-all-routes: %pBP vrf %s %s: %s removed, retention off, Adj-RIB-In freed",
				peer, kar_inst_name(peer->bgp), kar_af_name(af),
				kar_source_name(source));
		kp = kar_peer_find(peer);
		if (kp)
			kar_peer_release(kp);
		return;

	case KAR_CHANGE_ENABLE:
		break;
	}

	facts.established = peer_established(peer);
	facts.af_negotiated = peer->afc_nego[afi][safi];
	facts.route_refresh = CHECK_FLAG(peer->cap, PEER_CAP_REFRESH_OLD_RCV) ||
			      CHECK_FLAG(peer->cap, PEER_CAP_REFRESH_NEW_RCV);
	if (kar_enable_action(&facts) != KAR_ACTION_NONE)
		action = kar_action_from(
			bgp_adj_in_needed_changed(peer, afi, safi, false));
	kar_note_enable(peer, af, action);

	if (kar_debug)
		zlog_debug(
			"keep-all-routes: %pBP vrf %s %s: %s added, retention on, action %s",
			peer, kar_inst_name(peer->bgp), kar_af_name(af),
			kar_source_name(source), kar_action_name(action));
}

/* @source was @was_on for @peer and has just been flipped in the records. */
static void kar_apply_flip(struct peer *peer, enum kar_af af,
			   unsigned int source, bool was_on)
{
	unsigned int after = kar_sources(peer, af);
	unsigned int before = (after & ~source) | (was_on ? source : 0);

	kar_apply(peer, af, before, after, source);
}

bool kar_set_peer(struct peer *peer, enum kar_af af, bool on)
{
	struct kar_peer *kp = on ? kar_peer_get(peer) : kar_peer_find(peer);

	if (!kp || kp->configured[af] == on)
		return false;
	kp->configured[af] = on;
	kar_apply_flip(peer, af, KAR_SRC_PEER, !on);
	kp = kar_peer_find(peer);
	if (kp)
		kar_peer_release(kp);
	return true;
}

bool kar_set_group(struct peer_group *group, enum kar_af af, bool on)
{
	struct kar_peer *kp =
		on ? kar_peer_get(group->conf) : kar_peer_find(group->conf);
	struct listnode *node;
	struct peer *member;

	if (!kp || kp->configured[af] == on)
		return false;
	kp->configured[af] = on;
	for (ALL_LIST_ELEMENTS_RO(group->peer, node, member))
		kar_apply_flip(member, af, KAR_SRC_GROUP, !on);
	kar_peer_release(kp);
	return true;
}

bool kar_set_instance(struct bgp *bgp, bool on)
{
	struct kar_inst *ki = on ? kar_inst_get(bgp) : kar_inst_find(bgp);
	struct listnode *node;
	struct peer *peer;

	if (!ki || ki->configured == on)
		return false;
	ki->configured = on;
	for (ALL_LIST_ELEMENTS_RO(bgp->peer, node, peer)) {
		if (!CHECK_FLAG(peer->flags, PEER_FLAG_CONFIG_NODE))
			continue;
		for (int af = 0; af < KAR_AF_MAX; af++)
			kar_apply_flip(peer, af, KAR_SRC_INSTANCE, !on);
	}
	if (!on)
		kar_inst_forget(bgp);
	return true;
}
