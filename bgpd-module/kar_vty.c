// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: configuration commands and the lines they write.
 *
 * The vendor's `undo` is accepted wherever FRR's `no` is.
 */
#include <zebra.h>

#include "command.h"
#include "sockunion.h"
#include "vty.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_route.h"
#include "bgpd/bgp_vty.h"

#include "kar_compat.h"
#include "kar_retention.h"
#include "kar_state.h"
#include "kar_vty.h"

#ifndef VTYSH_EXTRACT_PL
#include "bgpd/kar_vty_clippy.c"
#endif

#define KAR_PEER_STR "Specify a peer or peer-group (vendor syntax)\n"
#define KAR_UNDO_STR "Negate a command (vendor syntax, same as no)\n"
#define KAR_STR                                                                \
	"Keep all routes received, including those the import policy rejects\n"

/* Tell the operator which source still holds retention after an undo. */
static void kar_say_still_held(struct vty *vty, const char *name,
			       unsigned int held_by, const struct peer *peer)
{
	switch (held_by) {
	case KAR_SRC_INSTANCE:
		vty_out(vty,
			"%% %s still keeps all routes: keep-all-routes is configured for BGP instance %s\n",
			name, kar_inst_name(peer->bgp));
		break;
	case KAR_SRC_GROUP:
		assert(peer->group);
		vty_out(vty,
			"%% %s still keeps all routes: peer-group %s has keep-all-routes\n",
			name, peer->group->name);
		break;
	case KAR_SRC_NATIVE:
		vty_out(vty,
			"%% %s still keeps all routes: soft-reconfiguration inbound is configured\n",
			name);
		break;
	case KAR_SRC_PEER:
		/* The peer's own line was just removed. */
		assert(!"the removed line still holds");
		break;
	case 0:
		break;
	}
}

/*
 * `peer X keep-all-routes` names a neighbor address, an interface
 * neighbor or a peer-group of this very instance, found by bgpd's own
 * peer_and_group_lookup() (address; else interface, then group, as every
 * `neighbor X ...` command finds it); anything else is refused before any
 * state changes, in one line that names the instance.  It is installed in
 * the ipv4 unicast and ipv6 unicast nodes only.
 */
DEFPY(kar_peer, kar_peer_cmd,
      "[<no|undo>$neg] peer <A.B.C.D|X:X::X:X|WORD>$name keep-all-routes",
      NO_STR KAR_UNDO_STR KAR_PEER_STR
      "Neighbor address\n"
      "Neighbor IPv6 address\n"
      "Peer-group name or interface neighbor\n" KAR_STR)
{
	VTY_DECLVAR_CONTEXT(bgp, bgp);
	afi_t afi = bgp_node_afi(vty);
	safi_t safi = bgp_node_safi(vty);
	bool on = !neg;
	union sockunion su;
	struct peer *peer;

	assert(kar_af_covered(afi, safi));

	/* What looks like an address but does not parse is a typo, not a
	 * peer-group name.
	 */
	if (str2sockunion(name, &su) != 0 &&
	    (strspn(name, "0123456789.") == strlen(name) ||
	     strchr(name, ':'))) {
		vty_out(vty, "%% Malformed peer address: %s\n", name);
		return CMD_WARNING_CONFIG_FAILED;
	}

	peer = peer_and_group_lookup(bgp, name);
	if (!peer) {
		vty_out(vty,
			"%% peer %s is not configured in BGP instance %s\n",
			name, kar_inst_name(bgp));
		return CMD_WARNING_CONFIG_FAILED;
	}
	if (peer_dynamic_neighbor(peer)) {
		assert(peer->group);
		vty_out(vty,
			"%% peer %s is a dynamic neighbor; configure its peer-group %s instead\n",
			name, peer->group->name);
		return CMD_WARNING_CONFIG_FAILED;
	}

	if (CHECK_FLAG(peer->sflags, PEER_STATUS_GROUP)) {
		kar_set_group(peer->group, afi, safi, on);
		return CMD_SUCCESS;
	}

	kar_set_peer(peer, afi, safi, on);
	if (!on)
		kar_say_still_held(
			vty, name,
			kar_still_held_by(kar_sources(peer, afi, safi)), peer);
	return CMD_SUCCESS;
}

/* The vendor's global command: every peer of the instance, every AF. */
DEFPY(kar_instance, kar_instance_cmd, "[<no|undo>$neg] keep-all-routes",
      NO_STR KAR_UNDO_STR
      "Keep all routes received from every peer of this instance, including those the import policy rejects\n")
{
	VTY_DECLVAR_CONTEXT(bgp, bgp);

	kar_set_instance(bgp, !neg);
	return CMD_SUCCESS;
}

int kar_config_write_peer_af(struct vty *vty, struct peer *peer, afi_t afi,
			     safi_t safi)
{
	if (kar_af_covered(afi, safi) && kar_peer_configured(peer, afi, safi))
		vty_out(vty, "  peer %s keep-all-routes\n",
			peer->conf_if ? peer->conf_if : peer->host);
	return 0;
}

int kar_config_write_inst(struct bgp *bgp, struct vty *vty)
{
	if (kar_inst_configured(bgp))
		vty_out(vty, " keep-all-routes\n");
	return 0;
}

void kar_vty_init(void)
{
	install_element(BGP_IPV4_NODE, &kar_peer_cmd);
	install_element(BGP_IPV6_NODE, &kar_peer_cmd);
	install_element(BGP_NODE, &kar_instance_cmd);
}
