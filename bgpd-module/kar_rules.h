// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: the rules of the behaviour contract as plain data and
 * functions.
 *
 * Nothing here knows bgpd: the module feeds these functions what it reads
 * from bgpd and does what they decide, so the C unit tests drive the very
 * rules that run, without a daemon.  What bgpd decides itself (whether its
 * Adj-RIB-In is kept for a peer: bgp_adj_in_needed(), all consumers
 * together; how an Established peer is asked again: peer_change_action())
 * is not repeated here.
 */
#ifndef KAR_RULES_H
#define KAR_RULES_H

#include <stdbool.h>

/* Sources of retention for one peer in one AF, as a bit set. */
#define KAR_SRC_NATIVE (1u << 0)   /* neighbor P soft-reconfiguration inbound */
#define KAR_SRC_PEER (1u << 1)	   /* peer P keep-all-routes */
#define KAR_SRC_GROUP (1u << 2)	   /* peer GROUP keep-all-routes, P a member */
#define KAR_SRC_INSTANCE (1u << 3) /* keep-all-routes of P's instance */
#define KAR_SRC_ALL                                                            \
	(KAR_SRC_NATIVE | KAR_SRC_PEER | KAR_SRC_GROUP | KAR_SRC_INSTANCE)

/* What a change of configuration does to a peer's Adj-RIB-In. */
enum kar_change {
	KAR_CHANGE_NONE, /* leave it as it is */
	KAR_CHANGE_FILL, /* bgpd starts keeping it: ask the peer again */
	KAR_CHANGE_FREE, /* no consumer keeps it any more: free it */
};

/* What bgpd did to fill it, as show reports the last enable. */
enum kar_action {
	KAR_ACTION_NONE,	  /* nothing was sent */
	KAR_ACTION_ROUTE_REFRESH, /* ROUTE-REFRESH, same session */
	KAR_ACTION_SESSION_RESET, /* Cease/Configuration Change */
};

/* Whether this module's sources (any but the native one) claim the peer. */
extern bool kar_retained(unsigned int sources);

/*
 * The one decision: bgpd kept the peer's Adj-RIB-In in the AF (@was_kept)
 * before a change of configuration, and keeps it (@kept) after it; the
 * session has the AF negotiated (@negotiated).
 */
extern enum kar_change kar_decide(bool was_kept, bool kept, bool negotiated);

/*
 * After the peer's own line is removed, the source that still holds
 * retention (to tell the operator in one line), or 0 if none does.  The
 * instance-wide command is named first: it is the one the vendor documents
 * as overriding the per-peer undo.
 */
extern unsigned int kar_still_held_by(unsigned int after);

extern const char *kar_action_name(enum kar_action action);
extern const char *kar_source_name(unsigned int source);

#endif /* KAR_RULES_H */
