// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: the rules of the behaviour contract as plain data and
 * functions.
 *
 * Nothing here knows bgpd: the module feeds these functions what it reads
 * from bgpd and does what they decide, so the C unit tests drive the very
 * rules that run, without a daemon.
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

/* What the module does to a peer's Adj-RIB-In after a change of sources. */
enum kar_action {
	KAR_ACTION_NONE,	  /* leave it as it is */
	KAR_ACTION_ROUTE_REFRESH, /* retention starts: ask the peer again */
	KAR_ACTION_SESSION_RESET, /* the same, for a peer that cannot refresh */
	KAR_ACTION_FREE,	  /* retention ends: free the stored paths */
};

/* The peer's state at the change, as the rules need it. */
struct kar_peer_facts {
	bool established;
	bool af_negotiated;
	bool route_refresh; /* RFC 2918 or the old Cisco code received */
};

extern bool kar_retained(unsigned int sources);

/* The one decision: the sources of one peer/AF went from @before to @after. */
extern enum kar_action kar_decide(unsigned int before, unsigned int after,
				  const struct kar_peer_facts *facts);

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
