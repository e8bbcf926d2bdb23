// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: `debug bgp keep-all-routes`.
 *
 * Typed in the config node it is on for the terminal and in the
 * configuration; typed in enable mode only for the terminal
 * (DEBUG_NODE2MODE), as bgpd's own debug commands are.
 */
#include <zebra.h>

#include "command.h"
#include "vty.h"

#include "bgpd/bgp_vty.h"

#include "kar_compat.h"
#include "kar_debug.h"

#ifndef VTYSH_EXTRACT_PL
#include "bgpd/kar_debug_clippy.c"
#endif

struct debug kar_debug = {.desc = "BGP keep-all-routes"};

DEFPY(kar_debug_cmd_fn, kar_debug_cmd, "[no$neg] debug bgp keep-all-routes",
      NO_STR DEBUG_STR BGP_STR "keep-all-routes retention changes\n")
{
	DEBUG_MODE_SET(&kar_debug, DEBUG_NODE2MODE(vty->node), !neg);
	if (vty->node != CONFIG_NODE)
		vty_out(vty, "BGP keep-all-routes debugging is %s\n",
			neg ? "off" : "on");
	return CMD_SUCCESS;
}

int kar_debug_write(struct vty *vty, bool running)
{
	if (running && DEBUG_MODE_CHECK(&kar_debug, DEBUG_MODE_CONF)) {
		vty_out(vty, "debug bgp keep-all-routes\n");
		return 1;
	}
	if (!running && DEBUG_MODE_CHECK(&kar_debug, DEBUG_MODE_ALL))
		vty_out(vty, "  %s debugging is on\n", kar_debug.desc);
	return 0;
}

void kar_debug_init(void)
{
	install_element(ENABLE_NODE, &kar_debug_cmd);
	install_element(CONFIG_NODE, &kar_debug_cmd);
}
