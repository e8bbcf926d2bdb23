// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: the rules of the behaviour contract (see kar_rules.h).
 */
#include "kar_rules.h"

/* retained(P, A): true iff at least one source is configured. */
bool kar_retained(unsigned int sources)
{
	return (sources & KAR_SRC_ALL) != 0;
}

/*
 * Only a change of retained() does anything: adding a second source or
 * removing one of two leaves the stored routes as they are.  When retention
 * starts, the routes the peer sent earlier were not kept, so an Established
 * peer is asked again: by ROUTE-REFRESH when it can, by resetting the
 * session when it cannot.  A peer that is not Established, or has not
 * negotiated the AF, sent nothing that was lost: its next UPDATEs are
 * stored as they come.  When retention ends, the stored routes are freed;
 * Loc-RIB and the session are untouched.
 */
enum kar_action kar_decide(unsigned int before, unsigned int after,
			   const struct kar_peer_facts *facts)
{
	bool was = kar_retained(before), now = kar_retained(after);

	if (was == now)
		return KAR_ACTION_NONE;
	if (!now)
		return KAR_ACTION_FREE;
	if (!facts->established || !facts->af_negotiated)
		return KAR_ACTION_NONE;
	return facts->route_refresh ? KAR_ACTION_ROUTE_REFRESH
				    : KAR_ACTION_SESSION_RESET;
}

unsigned int kar_still_held_by(unsigned int after)
{
	static const unsigned int order[] = {
		KAR_SRC_INSTANCE,
		KAR_SRC_GROUP,
		KAR_SRC_NATIVE,
		KAR_SRC_PEER,
	};

	for (unsigned int i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (after & order[i])
			return order[i];
	return 0;
}

const char *kar_action_name(enum kar_action action)
{
	switch (action) {
	case KAR_ACTION_NONE:
		return "none";
	case KAR_ACTION_ROUTE_REFRESH:
		return "route-refresh";
	case KAR_ACTION_SESSION_RESET:
		return "session-reset";
	case KAR_ACTION_FREE:
		return "free";
	}
	return "unknown";
}

const char *kar_source_name(unsigned int source)
{
	switch (source) {
	case KAR_SRC_NATIVE:
		return "soft-reconfiguration";
	case KAR_SRC_PEER:
		return "peer";
	case KAR_SRC_GROUP:
		return "peer-group";
	case KAR_SRC_INSTANCE:
		return "instance";
	}
	return "unknown";
}
