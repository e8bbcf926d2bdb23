// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: every difference between the FRR lines the module is
 * built for, 8.4 and 10.3.  No other file of the module tests a version.
 *
 * FRR states its version only as a string (FRR_VERSION), which the
 * preprocessor cannot compare, so the line is told by a header: FRR 9.0
 * replaced thread.h with frrevent.h.  The other differences came in 9.0 -
 * 10.2, so a line in between is refused below rather than half supported.
 */
#ifndef KAR_COMPAT_H
#define KAR_COMPAT_H

#include "bgpd/bgpd.h"

#if __has_include("frrevent.h")
#define KAR_FRR_8_4 0
#ifndef PEER_CAP_REFRESH_RCV
#error "keep-all-routes is built for FRR 8.4 and 10.3"
#endif
#else
#define KAR_FRR_8_4 1
#endif

#if KAR_FRR_8_4

/* The event loop frr_late_init hands to modules. */
typedef struct thread_master kar_event_loop;

static inline bool kar_peer_established(struct peer *peer)
{
	return peer_established(peer);
}

static inline enum bgp_fsm_status kar_peer_status(const struct peer *peer)
{
	return peer->status;
}

/* Route-refresh capability received: RFC 2918 or the old Cisco code. */
static inline bool kar_peer_can_refresh(const struct peer *peer)
{
	return CHECK_FLAG(peer->cap, PEER_CAP_REFRESH_OLD_RCV) ||
	       CHECK_FLAG(peer->cap, PEER_CAP_REFRESH_NEW_RCV);
}

/* 8.4 has no hidden instances. */
static inline bool kar_bgp_hidden(const struct bgp *bgp)
{
	return false;
}

/* FRR 9.0's lib/prefix.c afi2str_lower(), which 8.4 lacks. */
static inline const char *afi2str_lower(afi_t afi)
{
	switch (afi) {
	case AFI_IP:
		return "ipv4";
	case AFI_IP6:
		return "ipv6";
	case AFI_L2VPN:
		return "l2vpn";
	case AFI_MAX:
	case AFI_UNSPEC:
		return "bad-value";
	}

	assert(!"Reached end of function we should never reach");
}

/*
 * 8.4's vtysh/extract.pl runs each command file through cpp with
 * VTYSH_EXTRACT_PL defined, before its clippy output may exist: there the
 * include is of this (already included) header instead.  Use as
 * #include KAR_CLIPPY("bgpd/kar_vty_clippy.c").
 */
#ifdef VTYSH_EXTRACT_PL
#define KAR_CLIPPY(file) "kar_compat.h"
#else
#define KAR_CLIPPY(file) file
#endif

#else /* FRR 10.3 */

typedef struct event_loop kar_event_loop;

static inline bool kar_peer_established(struct peer *peer)
{
	return peer_established(peer->connection);
}

static inline enum bgp_fsm_status kar_peer_status(const struct peer *peer)
{
	return peer->connection->status;
}

static inline bool kar_peer_can_refresh(const struct peer *peer)
{
	return CHECK_FLAG(peer->cap, PEER_CAP_REFRESH_RCV);
}

/* The default instance bgpd creates, hidden, for VRF route leaking. */
static inline bool kar_bgp_hidden(const struct bgp *bgp)
{
	return IS_BGP_INSTANCE_HIDDEN(bgp);
}

/* vtysh learns commands from the binaries' xref data, not from cpp. */
#define KAR_CLIPPY(file) file

#endif

#endif /* KAR_COMPAT_H */
