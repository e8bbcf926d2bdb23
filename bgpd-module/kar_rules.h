// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: the rules of SPEC.md as plain data and functions.
 *
 * Nothing here knows bgpd: the module feeds these functions what it reads
 * from bgpd, so the C unit tests can drive every rule without a daemon.
 */
#ifndef KAR_RULES_H
#define KAR_RULES_H

#include <stdbool.h>

/* The address families keep-all-routes covers. */
enum kar_af {
	KAR_AF_IPV4_UNICAST,
	KAR_AF_IPV6_UNICAST,
	KAR_AF_MAX,
};

/* Sources of retention for one peer in one AF, as a bit set. */
#define KAR_SRC_NATIVE (1u << 0)   /* neighbor P soft-reconfiguration inbound */
#define KAR_SRC_PEER (1u << 1)	   /* peer P keep-all-routes */
#define KAR_SRC_GROUP (1u << 2)	   /* peer GROUP keep-all-routes, P a member */
#define KAR_SRC_INSTANCE (1u << 3) /* keep-all-routes of P's instance */
#define KAR_SRC_ALL                                                            \
	(KAR_SRC_NATIVE | KAR_SRC_PEER | KAR_SRC_GROUP | KAR_SRC_INSTANCE)
/* The sources this module answers for through bgpd's bgp_adj_in_needed. */
#define KAR_SRC_MODULE (KAR_SRC_PEER | KAR_SRC_GROUP | KAR_SRC_INSTANCE)

/* What a change of sources asks bgpd to do with the Adj-RIB-In. */
enum kar_change {
	KAR_CHANGE_NONE,    /* retention unchanged: send nothing, keep all */
	KAR_CHANGE_ENABLE,  /* retention starts: refill (SPEC 1, 2, 4) */
	KAR_CHANGE_DISABLE, /* retention ends: free (SPEC 5) */
};

/* How a newly retained Adj-RIB-In gets the routes sent before. */
enum kar_action {
	KAR_ACTION_NONE,
	KAR_ACTION_ROUTE_REFRESH,
	KAR_ACTION_SESSION_RESET,
};

/* The peer's state when retention starts, as the rules need it. */
struct kar_peer_facts {
	bool established;
	bool af_negotiated;
	bool route_refresh; /* RFC 2918 or the old Cisco code received */
};

extern bool kar_retained(unsigned int sources);
extern enum kar_change kar_change(unsigned int before, unsigned int after);
extern enum kar_action kar_enable_action(const struct kar_peer_facts *facts);

/*
 * After the peer's own line is removed, the source that still holds
 * retention (to tell the operator in one line), or 0 if none does.  The
 * instance-wide command is named first: it is the one the vendor documents
 * as overriding the per-peer undo.
 */
extern unsigned int kar_still_held_by(unsigned int after);

extern const char *kar_af_name(enum kar_af af);
extern const char *kar_action_name(enum kar_action action);
extern const char *kar_source_name(unsigned int source);

#endif /* KAR_RULES_H */
