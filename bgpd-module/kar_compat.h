// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: every difference between the FRR lines the module is
 * built for, 8.4, 10.3 and 10.7.  No other file of the module tests a
 * version.
 *
 * FRR states its version only as a string (FRR_VERSION), which the
 * preprocessor cannot compare, so the line is told by a header: FRR 9.0
 * replaced thread.h with frrevent.h.  The other differences came in 9.0 -
 * 10.2, so a line in between is refused below rather than half supported.
 *
 * 10.3 and 10.7 share the second branch: every name and type it uses is
 * the same in both.  10.7's lib/json.h forbids json-c's
 * json_object_object_get() (since FRR 10.5), so the module uses
 * json_object_object_get_ex(), which every line has; that needs no test
 * here.
 */
#ifndef KAR_COMPAT_H
#define KAR_COMPAT_H

#include "bgpd/bgpd.h"

#if __has_include("frrevent.h")
#define KAR_FRR_8_4 0
#ifndef PEER_CAP_REFRESH_RCV
#error "keep-all-routes is built for FRR 8.4, 10.3 and 10.7"
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

/* Route-refresh capability received (RFC 2918 or the old Cisco code), as
 * show reports it; bgpd's peer_change_action() decides what is sent.
 */
static inline bool kar_peer_refresh_received(const struct peer *peer)
{
	return CHECK_FLAG(peer->cap, PEER_CAP_REFRESH_OLD_RCV) ||
	       CHECK_FLAG(peer->cap, PEER_CAP_REFRESH_NEW_RCV);
}

/* 8.4 has no hidden instances. */
static inline bool kar_bgp_hidden(const struct bgp *bgp)
{
	return false;
}

#else /* FRR 10.3 and 10.7 */

typedef struct event_loop kar_event_loop;

static inline bool kar_peer_established(struct peer *peer)
{
	return peer_established(peer->connection);
}

static inline enum bgp_fsm_status kar_peer_status(const struct peer *peer)
{
	return peer->connection->status;
}

static inline bool kar_peer_refresh_received(const struct peer *peer)
{
	return CHECK_FLAG(peer->cap, PEER_CAP_REFRESH_RCV);
}

/* The default instance bgpd creates, hidden, for VRF route leaking. */
static inline bool kar_bgp_hidden(const struct bgp *bgp)
{
	return IS_BGP_INSTANCE_HIDDEN(bgp);
}

#endif

#endif /* KAR_COMPAT_H */
