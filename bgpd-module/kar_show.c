// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: `show bgp [vrf <NAME|all>] keep-all-routes [json]`.
 *
 * Text and JSON are built from the same per-peer facts (struct kar_facts)
 * so they cannot say different things.
 */
#include <zebra.h>

#include "command.h"
#include "lib/json.h"
#include "vrf.h"
#include "vty.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_advertise.h"
#include "bgpd/bgp_route.h"
#include "bgpd/bgp_vty.h"

#include "kar_compat.h"
#include "kar_show.h"
#include "kar_state.h"

#ifndef VTYSH_EXTRACT_PL
#include "bgpd/kar_show_clippy.c"
#endif

/* What show reports for one peer in one AF. */
struct kar_facts {
	unsigned int sources;
	bool retained;
	bool rr_received;
	bool enhanced_rr_received;
	unsigned long stored;
	unsigned long stored_bytes;
	struct kar_af_state last;
};

static void kar_facts_get(struct peer *peer, afi_t afi, safi_t safi,
			  struct kar_facts *f)
{
	const struct kar_peer *kp = kar_peer_find(peer);

	memset(f, 0, sizeof(*f));
	f->sources = kar_sources(peer, afi, safi);
	f->retained = bgp_adj_in_needed(peer, afi, safi);
	f->rr_received = kar_peer_refresh_received(peer);
	f->enhanced_rr_received =
		CHECK_FLAG(peer->cap, PEER_CAP_ENHANCED_RR_RCV);
	/* Counted by bgpd as entries come and go (patch "count each peer's
	 * Adj-RIB-In per AF"): show costs no table walk.
	 */
	f->stored = peer->adj_in_count[afi][safi];
	f->stored_bytes = f->stored * sizeof(struct bgp_adj_in);
	if (kp)
		f->last = kp->af[afi][safi];
}

static const char *kar_peer_name(const struct peer *peer)
{
	return peer->conf_if ? peer->conf_if : peer->host;
}

static void kar_sources_text(unsigned int sources, char *buf, size_t len)
{
	buf[0] = '\0';
	for (unsigned int bit = KAR_SRC_NATIVE; bit <= KAR_SRC_INSTANCE;
	     bit <<= 1) {
		if (!(sources & bit))
			continue;
		if (buf[0])
			strlcat(buf, ", ", len);
		strlcat(buf, kar_source_name(bit), len);
	}
	if (!buf[0])
		strlcpy(buf, "none", len);
}

static void kar_iso_time(time_t when, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void kar_show_peer_text(struct vty *vty, struct peer *peer, afi_t afi,
			       safi_t safi, const struct kar_facts *f)
{
	char buf[128];

	kar_sources_text(f->sources, buf, sizeof(buf));
	vty_out(vty, " Peer %s, %s %s\n", kar_peer_name(peer),
		afi2str_lower(afi), safi2str(safi));
	vty_out(vty, "  Sources: %s\n", buf);
	vty_out(vty, "  Retained: %s\n", f->retained ? "yes" : "no");
	vty_out(vty, "  Route-refresh received: %s, enhanced: %s\n",
		f->rr_received ? "yes" : "no",
		f->enhanced_rr_received ? "yes" : "no");
	vty_out(vty, "  Stored prefixes: %lu, using %lu bytes\n", f->stored,
		f->stored_bytes);
	if (f->last.last_when) {
		kar_iso_time(f->last.last_when, buf, sizeof(buf));
		vty_out(vty, "  Last enable action: %s (%s, %lld s ago)\n",
			kar_action_name(f->last.last_action), buf,
			(long long)(time(NULL) - f->last.last_when));
	} else
		vty_out(vty, "  Last enable action: never enabled\n");
}

static json_object *kar_show_peer_json(const struct kar_facts *f)
{
	json_object *j = json_object_new_object();
	json_object *srcs = json_object_new_array();
	char buf[64];

	for (unsigned int bit = KAR_SRC_NATIVE; bit <= KAR_SRC_INSTANCE;
	     bit <<= 1)
		if (f->sources & bit)
			json_object_array_add(
				srcs,
				json_object_new_string(kar_source_name(bit)));
	json_object_object_add(j, "sources", srcs);
	json_object_boolean_add(j, "retained", f->retained);
	json_object_boolean_add(j, "routeRefreshReceived", f->rr_received);
	json_object_boolean_add(j, "enhancedRouteRefreshReceived",
				f->enhanced_rr_received);
	json_object_int_add(j, "storedPrefixes", f->stored);
	json_object_int_add(j, "storedBytes", f->stored_bytes);
	json_object_string_add(j, "lastEnableAction",
			       f->last.last_when
				       ? kar_action_name(f->last.last_action)
				       : "never");
	if (f->last.last_when) {
		kar_iso_time(f->last.last_when, buf, sizeof(buf));
		json_object_string_add(j, "lastEnableTime", buf);
		json_object_int_add(j, "lastEnableEpoch", f->last.last_when);
	}
	return j;
}

/* Peers shown: every configured neighbor activated in the AF. */
static bool kar_peer_shown(const struct peer *peer, afi_t afi, safi_t safi)
{
	return CHECK_FLAG(peer->flags, PEER_FLAG_CONFIG_NODE) &&
	       peer->afc[afi][safi];
}

static void kar_show_groups(struct vty *vty, struct bgp *bgp,
			    json_object *jinst)
{
	json_object *jgroups = NULL, *jg;
	struct listnode *node;
	struct peer_group *group;
	afi_t afi;
	safi_t safi;

	if (jinst) {
		jgroups = json_object_new_object();
		json_object_object_add(jinst, "peerGroups", jgroups);
	}
	for (ALL_LIST_ELEMENTS_RO(bgp->group, node, group)) {
		FOREACH_AFI_SAFI (afi, safi) {
			if (!kar_af_covered(afi, safi) ||
			    !kar_peer_configured(group->conf, afi, safi))
				continue;
			if (!jgroups) {
				vty_out(vty,
					" Peer-group %s, %s %s: keep-all-routes\n",
					group->name, afi2str_lower(afi),
					safi2str(safi));
				continue;
			}
			/* json-c's _ex() lookup: FRR 10.7's lib/json.h forbids
			 * the plain json_object_object_get().
			 */
			if (!json_object_object_get_ex(jgroups, group->name,
						       &jg)) {
				jg = json_object_new_object();
				json_object_object_add(jgroups, group->name,
						       jg);
			}
			json_object_boolean_true_add(
				jg, get_afi_safi_str(afi, safi, true));
		}
	}
}

static void kar_show_inst(struct vty *vty, struct bgp *bgp, json_object *json)
{
	bool inst_on = kar_inst_configured(bgp);
	json_object *jinst = NULL, *jpeers = NULL, *jpeer;
	struct listnode *node;
	struct peer *peer;
	struct kar_facts f;
	afi_t afi;
	safi_t safi;

	if (json) {
		jinst = json_object_new_object();
		json_object_object_add(json, kar_inst_name(bgp), jinst);
		json_object_boolean_add(jinst, "instanceKeepAllRoutes",
					inst_on);
		jpeers = json_object_new_object();
	} else
		vty_out(vty,
			"BGP instance %s: instance-wide keep-all-routes %s\n",
			kar_inst_name(bgp), inst_on ? "on" : "off");

	kar_show_groups(vty, bgp, jinst);

	for (ALL_LIST_ELEMENTS_RO(bgp->peer, node, peer)) {
		jpeer = NULL;
		FOREACH_AFI_SAFI (afi, safi) {
			if (!kar_af_covered(afi, safi) ||
			    !kar_peer_shown(peer, afi, safi))
				continue;
			kar_facts_get(peer, afi, safi, &f);
			if (!json) {
				kar_show_peer_text(vty, peer, afi, safi, &f);
				continue;
			}
			if (!jpeer)
				jpeer = json_object_new_object();
			json_object_object_add(
				jpeer, get_afi_safi_str(afi, safi, true),
				kar_show_peer_json(&f));
		}
		if (jpeer)
			json_object_object_add(jpeers, kar_peer_name(peer),
					       jpeer);
	}
	if (json)
		json_object_object_add(jinst, "peers", jpeers);
	else
		vty_out(vty, "\n");
}

/* `vrf all` lists the instances operators configured, not views. */
static bool kar_inst_listed(const struct bgp *bgp)
{
	return bgp->inst_type != BGP_INSTANCE_TYPE_VIEW && !kar_bgp_hidden(bgp);
}

DEFPY(kar_show, kar_show_cmd,
      "show bgp [vrf <NAME$vrf_name|all$vrf_all>] keep-all-routes [json$uj]",
      SHOW_STR BGP_STR VRF_FULL_CMD_HELP_STR
      "keep-all-routes state per instance, address family and peer\n" JSON_STR)
{
	json_object *json = uj ? json_object_new_object() : NULL;
	struct listnode *node;
	struct bgp *bgp;

	if (vrf_all) {
		for (ALL_LIST_ELEMENTS_RO(bm->bgp, node, bgp))
			if (kar_inst_listed(bgp))
				kar_show_inst(vty, bgp, json);
	} else {
		bgp = vrf_name ? bgp_lookup_by_name(vrf_name)
			       : bgp_get_default();
		if (vrf_name && strcmp(vrf_name, VRF_DEFAULT_NAME) == 0)
			bgp = bgp_get_default();
		if (bgp && !kar_bgp_hidden(bgp))
			kar_show_inst(vty, bgp, json);
		else if (!json)
			vty_out(vty, "%% BGP instance %s not found\n",
				vrf_name ? vrf_name : VRF_DEFAULT_NAME);
	}
	if (json)
		return vty_json(vty, json);
	return CMD_SUCCESS;
}

void kar_show_init(void)
{
	install_element(VIEW_NODE, &kar_show_cmd);
}
