// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: the rules of the behaviour contract (see kar_rules.h).
 */
#include "kar_rules.h"

bool kar_retained(unsigned int sources)
{
	return (sources & KAR_SRC_ALL) != 0;
}

/*
 * Only a change of what bgpd keeps does anything: adding a second source
 * (or a second consumer) or removing one of two leaves the stored routes
 * as they are.  When bgpd starts keeping the table, the routes the peer
 * sent earlier were not kept, so the peer is asked again; a session that
 * has not negotiated the AF sent nothing that was lost, and its next
 * UPDATEs are stored as they come.  When no consumer keeps the table any
 * more, it is freed; Loc-RIB and the session are untouched.
 */
enum kar_change kar_decide(bool was_kept, bool kept, bool negotiated)
{
	if (was_kept == kept)
		return KAR_CHANGE_NONE;
	if (!kept)
		return KAR_CHANGE_FREE;
	return negotiated ? KAR_CHANGE_FILL : KAR_CHANGE_NONE;
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
