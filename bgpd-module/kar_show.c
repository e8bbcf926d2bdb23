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
#include "bgpd/bgp_table.h"

#include "kar_retention.h"
#include "kar_state.h"
#include "kar_vty.h"

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
	struct kar_enable_event last;
};

static unsigned long kar_count_adj_in(const struct peer *peer, afi_t afi,
				      safi_t safi)
{
	struct bgp_table *table = peer->bgp->rib[afi][safi];
	struct bgp_dest *dest;
	struct bgp_adj_in *ain;
	unsigned long count = 0;

	if (!table)
		return 0;
	for (dest = bgp_table_top(table); dest; dest = bgp_route_next(dest))
		for (ain = dest->adj_in; ain; ain = ain->next)
			if (ain->peer == peer)
				count++;
	return count;
}

static void kar_facts_get(struct peer *peer, enum kar_af af,
			  struct kar_facts *f)
{
	const struct kar_peer *kp = kar_peer_find(peer);
	int afi, safi;

	kar_af_to(af, &afi, &safi);
	memset(f, 0, sizeof(*f));
	f->sources = kar_sources(peer, af);
	f->retained = bgp_adj_in_needed(peer, afi, safi);
	f->rr_received = CHECK_FLAG(peer->cap, PEER_CAP_REFRESH_OLD_RCV) ||
			 CHECK_FLAG(peer->cap, PEER_CAP_REFRESH_NEW_RCV);
	f->enhanced_rr_received =
		CHECK_FLAG(peer->cap, PEER_CAP_ENHANCED_RR_RCV);
	f->stored = kar_count_adj_in(peer, afi, safi);
	f->stored_bytes = f->stored * sizeof(struct bgp_adj_in);
	if (kp)
		f->last = kp->last[af];
}

static const char *kar_af_text(enum kar_af af)
{
	return af == KAR_AF_IPV6_UNICAST ? "ipv6 unicast" : "ipv4 unicast";
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

static void kar_when_text(time_t when, char *buf, size_t len)
{
	struct tm tm;
	time_t ago = time(NULL) - when;

	gmtime_r(&when, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), ", %lld s ago",
		 (long long)ago);
}

static void kar_show_peer_text(struct vty *vty, struct peer *peer,
			       enum kar_af af, const struct kar_facts *f)
{
	char buf[128];

	kar_sources_text(f->sources, buf, sizeof(buf));
	vty_out(vty, " Peer %s, %s\n",
		peer->conf_if ? peer->conf_if : peer->host, kar_af_text(af));
	vty_out(vty, "  Sources: %s\n", buf);
	vty_out(vty, "  Retained: %s\n", f->retained ? "yes" : "no");
	vty_out(vty, "  Route-refresh received: %s, enhanced: %s\n",
		f->rr_received ? "yes" : "no",
		f->enhanced_rr_received ? "yes" : "no");
	vty_out(vty, "  Stored prefixes: %lu, using %lu bytes\n", f->stored,
		f->stored_bytes);
	if (f->last.when) {
		kar_when_text(f->last.when, buf, sizeof(buf));
		vty_out(vty, "  Last enable action: %s (%s)\n",
			kar_action_name(f->last.action), buf);
	} else
		vty_out(vty, "  Last enable action: never enabled\n");
}

static json_object *kar_show_peer_json(const struct kar_facts *f)
{
	json_object *j = json_object_new_object();
	json_object *srcs = json_object_new_array();
	struct tm tm;
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
			       f->last.when ? kar_action_name(f->last.action)
					    : "never");
	if (f->last.when) {
		gmtime_r(&f->last.when, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_string_add(j, "lastEnableTime", buf);
		json_object_int_add(j, "lastEnableEpoch", f->last.when);
	}
	return j;
}

/* Peers shown: every configured neighbor activated in the AF. */
static bool kar_peer_shown(const struct peer *peer, enum kar_af af)
{
	int afi, safi;

	kar_af_to(af, &afi, &safi);
	return CHECK_FLAG(peer->flags, PEER_FLAG_CONFIG_NODE) &&
	       peer->afc[afi][safi];
}

static void kar_show_groups(struct vty *vty, struct bgp *bgp,
			    json_object *jinst)
{
	json_object *jgroups = NULL, *jg;
	struct listnode *node;
	struct peer_group *group;
	const struct kar_peer *kp;

	if (jinst) {
		jgroups = json_object_new_object();
		json_object_object_add(jinst, "peerGroups", jgroups);
	}
	for (ALL_LIST_ELEMENTS_RO(bgp->group, node, group)) {
		kp = kar_peer_find(group->conf);
		if (!kp)
			continue;
		for (int af = 0; af < KAR_AF_MAX; af++) {
			if (!kp->configured[af])
				continue;
			if (jgroups) {
				jg = json_object_object_get(jgroups,
							    group->name);
				if (!jg) {
					jg = json_object_new_object();
					json_object_object_add(jgroups,
							       group->name, jg);
				}
				json_object_boolean_true_add(jg,
							     kar_af_name(af));
			} else
				vty_out(vty,
					" Peer-group %s, %s: keep-all-routes\n",
					group->name, kar_af_text(af));
		}
	}
}

static void kar_show_inst(struct vty *vty, struct bgp *bgp, json_object *json)
{
	const struct kar_inst *ki = kar_inst_find(bgp);
	bool inst_on = ki && ki->configured;
	json_object *jinst = NULL, *jpeers = NULL, *jpeer;
	struct listnode *node;
	struct peer *peer;
	struct kar_facts f;

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
		for (int af = 0; af < KAR_AF_MAX; af++) {
			if (!kar_peer_shown(peer, af))
				continue;
			kar_facts_get(peer, af, &f);
			if (!json) {
				kar_show_peer_text(vty, peer, af, &f);
				continue;
			}
			if (!jpeer)
				jpeer = json_object_new_object();
			json_object_object_add(jpeer, kar_af_name(af),
					       kar_show_peer_json(&f));
		}
		if (jpeer)
			json_object_object_add(jpeers,
					       peer->conf_if ? peer->conf_if
							     : peer->host,
					       jpeer);
	}
	if (json)
		json_object_object_add(jinst, "peers", jpeers);
	else
		vty_out(vty, "\n");
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
			if (bgp->inst_type != BGP_INSTANCE_TYPE_VIEW)
				kar_show_inst(vty, bgp, json);
	} else {
		bgp = vrf_name ? bgp_lookup_by_name(vrf_name)
			       : bgp_get_default();
		if (vrf_name && strcmp(vrf_name, VRF_DEFAULT_NAME) == 0)
			bgp = bgp_get_default();
		if (bgp)
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
