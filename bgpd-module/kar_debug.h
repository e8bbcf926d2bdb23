// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: `debug bgp keep-all-routes` and its log lines.
 */
#ifndef KAR_DEBUG_H
#define KAR_DEBUG_H

/*
 * bgpd/bgp_debug.h defines its own DEBUG_ON(a, b), and lib/debug.h a
 * DEBUG_ON(name); the module uses neither.  Drop both, whichever header
 * came first, so a file can include bgp_debug.h and this one.
 */
#undef DEBUG_ON
#include "debug.h"
#undef DEBUG_ON
#include "log.h"

extern struct debug kar_debug;

#define KAR_DEBUG(fmt, ...)                                                    \
	do {                                                                   \
		if (DEBUG_MODE_CHECK(&kar_debug, DEBUG_MODE_ALL))              \
			zlog_debug("keep-all-routes: " fmt, ##__VA_ARGS__);    \
	} while (0)

extern void kar_debug_init(void);

/* bgp_hook_config_write_debug: the config line, or the show line. */
extern int kar_debug_write(struct vty *vty, bool running);

#endif /* KAR_DEBUG_H */
