// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes for bgpd (the vendor's `peer keep-all-routes`): module
 * life cycle.  Load with `bgpd -M keep_all_routes`.
 */
#include <zebra.h>

#include "hook.h"
#include "libfrr.h"
#include "memory.h"
#include "lib/version.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_debug.h"
#include "bgpd/bgp_fsm.h"
#include "bgpd/bgp_route.h"

#include "kar_compat.h"
#include "kar_debug.h"
#include "kar_show.h"
#include "kar_state.h"
#include "kar_vty.h"

DEFINE_MGROUP(KAR, "keep-all-routes");

/*
 * The bgp_adj_in_needed hook: whether this module needs the peer's
 * Adj-RIB-In, from its records alone (bgpd ORs it with the other consumers'
 * answers and soft-reconfiguration inbound).  bgpd asks on a change of
 * configuration or session and keeps the answer for the UPDATE path.  A
 * peer-group's conf (asked about when a group's soft-reconfiguration
 * changes) has no Adj-RIB-In of its own.
 */
static int kar_adj_in_needed(struct peer *peer, afi_t afi, safi_t safi)
{
	if (!kar_af_covered(afi, safi) || kar_state_empty() ||
	    CHECK_FLAG(peer->sflags, PEER_STATUS_GROUP))
		return 0;
	return kar_module_sources(peer, afi, safi) != 0;
}

/* A deleted peer or peer-group takes its keep-all-routes with it. */
static int kar_peer_status_changed(struct peer *peer)
{
	if (kar_peer_status(peer) == Deleted)
		kar_peer_forget(peer);
	return 0;
}

static int kar_bgp_deleted(struct bgp *bgp)
{
	kar_inst_set(bgp, false);
	return 0;
}

static int kar_init(kar_event_loop *loop)
{
	kar_vty_init();
	kar_show_init();
	kar_debug_init();
	return 0;
}

static int kar_fini(void)
{
	kar_state_fini();
	return 0;
}

static int kar_module_init(void)
{
	/* Refuse what we do not understand before touching any state. */
	if (THIS_MODULE->load_args && THIS_MODULE->load_args[0]) {
		fprintf(stderr,
			"keep_all_routes: the module takes no arguments (got \"%s\")\n",
			THIS_MODULE->load_args);
		return -1;
	}

	kar_state_init();
	hook_register(bgp_adj_in_needed, kar_adj_in_needed);
	hook_register(bgp_peer_af_config_write, kar_config_write_peer_af);
	hook_register(bgp_inst_config_write, kar_config_write_inst);
	hook_register(bgp_hook_config_write_debug, kar_debug_write);
	hook_register(peer_status_changed, kar_peer_status_changed);
	hook_register(bgp_inst_delete, kar_bgp_deleted);
	hook_register(frr_late_init, kar_init);
	hook_register(frr_fini, kar_fini);
	return 0;
}

FRR_MODULE_SETUP(.name = "bgpd_keep_all_routes", .version = FRR_VERSION,
		 .description = "bgpd keep-all-routes (peer keep-all-routes)",
		 .init = kar_module_init,
);
