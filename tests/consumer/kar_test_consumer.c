// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A second consumer of bgpd's Adj-RIB-In, for keep-all-routes' tests only
 * (built by `make check`, never packaged or installed).
 *
 * It claims the Adj-RIB-In of the peers it is told to, exactly as upstream's
 * BMP pre-policy monitoring does (FRR master, 25024e0434), and knows nothing
 * of keep_all_routes: it answers the bgp_adj_in_needed hook; a new claim on
 * a session that negotiated the AF and has no soft-reconfiguration inbound
 * fills the table with peer_change_action(..., peer_change_reset_in); a
 * claim given up frees the table unless bgp_adj_in_needed() says another
 * consumer still needs it.  It never calls anything else of bgpd's
 * Adj-RIB-In interface, so it shows what a consumer written for upstream's
 * hook meets beside keep_all_routes.
 *
 * Its commands are exec commands of bgpd, reached through bgpd's vty
 * socket (vtysh knows no command of a module built outside FRR's tree):
 *
 *   [no] test adj-in-consumer claim [vrf NAME] <A.B.C.D|X:X::X:X> <ipv4|ipv6>
 *   show test adj-in-consumer
 */
#include <zebra.h>

#include "command.h"
#include "hook.h"
#include "libfrr.h"
#include "memory.h"
#include "sockunion.h"
#include "vty.h"
#include "lib/version.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_fsm.h"
#include "bgpd/bgp_route.h"

#include "kar_compat.h"

DEFINE_MGROUP(KARTC, "keep-all-routes test consumer");
DEFINE_MTYPE_STATIC(KARTC, KARTC_CLAIM, "test consumer claim");

/* One claimed peer and AF (unicast). */
struct kartc_claim {
	struct peer *peer;
	afi_t afi;
};

static struct list *kartc_claims;

static struct kartc_claim *kartc_find(const struct peer *peer, afi_t afi)
{
	struct listnode *node;
	struct kartc_claim *c;

	for (ALL_LIST_ELEMENTS_RO(kartc_claims, node, c))
		if (c->peer == peer && c->afi == afi)
			return c;
	return NULL;
}

static int kartc_adj_in_needed(struct peer *peer, afi_t afi, safi_t safi)
{
	return safi == SAFI_UNICAST && kartc_find(peer, afi);
}

/* As bmp_adj_in_refresh_bgp() does for one peer. */
static void kartc_fill(struct peer *peer, afi_t afi)
{
	if (peer->afc_nego[afi][SAFI_UNICAST] &&
	    !CHECK_FLAG(peer->af_flags[afi][SAFI_UNICAST],
			PEER_FLAG_SOFT_RECONFIG))
		peer_change_action(peer, afi, SAFI_UNICAST,
				   peer_change_reset_in);
}

/* As bmp_adj_in_release_bgp() does for one peer. */
static void kartc_release(struct peer *peer, afi_t afi)
{
	if (bgp_adj_in_needed(peer, afi, SAFI_UNICAST))
		return;
	if (bgp_adj_in_needed(peer, afi, SAFI_LABELED_UNICAST))
		return;
	bgp_clear_adj_in(peer, afi, SAFI_UNICAST);
}

static int kartc_peer_status_changed(struct peer *peer)
{
	struct listnode *node, *nnode;
	struct kartc_claim *c;

	if (kar_peer_status(peer) != Deleted)
		return 0;
	for (ALL_LIST_ELEMENTS(kartc_claims, node, nnode, c))
		if (c->peer == peer) {
			listnode_delete(kartc_claims, c);
			XFREE(MTYPE_KARTC_CLAIM, c);
		}
	return 0;
}

#ifndef VTYSH_EXTRACT_PL
#include "tests/consumer/kar_test_consumer_clippy.c"
#endif

DEFPY(kartc_claim, kartc_claim_cmd,
      "[no$neg] test adj-in-consumer claim [vrf NAME$vrf] <A.B.C.D|X:X::X:X>$addr <ipv4|ipv6>$af",
      NO_STR
      "Test commands\n"
      "The keep-all-routes tests' second Adj-RIB-In consumer\n"
      "Claim a peer's Adj-RIB-In\n" VRF_CMD_HELP_STR
      "Neighbor address\n"
      "Neighbor IPv6 address\n"
      "IPv4 unicast\n"
      "IPv6 unicast\n")
{
	struct bgp *bgp = vrf ? bgp_lookup_by_name(vrf) : bgp_get_default();
	afi_t afi = strcmp(af, "ipv4") == 0 ? AFI_IP : AFI_IP6;
	struct kartc_claim *c;
	struct peer *peer;

	if (!bgp) {
		vty_out(vty, "%% no BGP instance %s\n", vrf ? vrf : "default");
		return CMD_WARNING;
	}
	peer = peer_lookup(bgp, (union sockunion *)addr);
	if (!peer) {
		vty_out(vty, "%% no peer %s\n", addr_str);
		return CMD_WARNING;
	}
	c = kartc_find(peer, afi);
	if (!neg == !!c)
		return CMD_SUCCESS;
	if (neg) {
		listnode_delete(kartc_claims, c);
		XFREE(MTYPE_KARTC_CLAIM, c);
		kartc_release(peer, afi);
		return CMD_SUCCESS;
	}
	c = XCALLOC(MTYPE_KARTC_CLAIM, sizeof(*c));
	c->peer = peer;
	c->afi = afi;
	listnode_add(kartc_claims, c);
	kartc_fill(peer, afi);
	return CMD_SUCCESS;
}

DEFPY(kartc_show, kartc_show_cmd, "show test adj-in-consumer",
      SHOW_STR
      "Test commands\n"
      "The keep-all-routes tests' second Adj-RIB-In consumer\n")
{
	struct listnode *node;
	struct kartc_claim *c;

	for (ALL_LIST_ELEMENTS_RO(kartc_claims, node, c))
		vty_out(vty, "%s %s %s\n",
			c->peer->bgp->name ? c->peer->bgp->name : "default",
			c->peer->host, afi2str(c->afi));
	return CMD_SUCCESS;
}

static int kartc_init(kar_event_loop *loop)
{
	install_element(ENABLE_NODE, &kartc_claim_cmd);
	install_element(VIEW_NODE, &kartc_show_cmd);
	return 0;
}

static int kartc_fini(void)
{
	struct kartc_claim *c;

	while ((c = listnode_head(kartc_claims))) {
		listnode_delete(kartc_claims, c);
		XFREE(MTYPE_KARTC_CLAIM, c);
	}
	list_delete(&kartc_claims);
	return 0;
}

static int kartc_module_init(void)
{
	kartc_claims = list_new();
	hook_register(bgp_adj_in_needed, kartc_adj_in_needed);
	hook_register(peer_status_changed, kartc_peer_status_changed);
	hook_register(frr_late_init, kartc_init);
	hook_register(frr_fini, kartc_fini);
	return 0;
}

FRR_MODULE_SETUP(.name = "bgpd_kar_test_consumer", .version = FRR_VERSION,
		 .description = "keep-all-routes tests' second consumer",
		 .init = kartc_module_init,
);
