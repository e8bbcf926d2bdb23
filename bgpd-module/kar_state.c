// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: the module's records and their life cycle.
 */
#include <zebra.h>

#include "jhash.h"
#include "memory.h"

#include "bgpd/bgpd.h"

#include "kar_state.h"

DEFINE_MTYPE_STATIC(KAR, KAR_PEER, "keep-all-routes peer");
DEFINE_MTYPE_STATIC(KAR, KAR_INST, "keep-all-routes instance");

static int kar_peer_cmp(const struct kar_peer *a, const struct kar_peer *b)
{
	return numcmp((uintptr_t)a->peer, (uintptr_t)b->peer);
}

static uint32_t kar_peer_hash(const struct kar_peer *kp)
{
	return jhash(&kp->peer, sizeof(kp->peer), 0x6b617270);
}

DECLARE_HASH(kar_peers, struct kar_peer, item, kar_peer_cmp, kar_peer_hash);

static int kar_inst_cmp(const struct kar_inst *a, const struct kar_inst *b)
{
	return numcmp((uintptr_t)a->bgp, (uintptr_t)b->bgp);
}

static uint32_t kar_inst_hash(const struct kar_inst *ki)
{
	return jhash(&ki->bgp, sizeof(ki->bgp), 0x6b617269);
}

DECLARE_HASH(kar_insts, struct kar_inst, item, kar_inst_cmp, kar_inst_hash);

static struct kar_peers_head kar_peers;
static struct kar_insts_head kar_insts;

enum kar_af kar_af_from(int afi, int safi)
{
	if (safi != SAFI_UNICAST)
		return KAR_AF_MAX;
	if (afi == AFI_IP)
		return KAR_AF_IPV4_UNICAST;
	if (afi == AFI_IP6)
		return KAR_AF_IPV6_UNICAST;
	return KAR_AF_MAX;
}

void kar_af_to(enum kar_af af, int *afi, int *safi)
{
	*afi = af == KAR_AF_IPV6_UNICAST ? AFI_IP6 : AFI_IP;
	*safi = SAFI_UNICAST;
}

struct kar_peer *kar_peer_find(const struct peer *peer)
{
	struct kar_peer key = {.peer = (struct peer *)peer};

	return kar_peers_find(&kar_peers, &key);
}

struct kar_peer *kar_peer_get(struct peer *peer)
{
	struct kar_peer *kp = kar_peer_find(peer);

	if (kp)
		return kp;
	kp = XCALLOC(MTYPE_KAR_PEER, sizeof(*kp));
	kp->peer = peer;
	kar_peers_add(&kar_peers, kp);
	return kp;
}

/*
 * A record with no line of its own is still kept while it remembers an
 * enable action: show reports it for peers retained through their group or
 * instance.  It goes when the peer goes.
 */
void kar_peer_release(struct kar_peer *kp)
{
	for (int af = 0; af < KAR_AF_MAX; af++)
		if (kp->configured[af] || kp->last[af].when)
			return;
	kar_peers_del(&kar_peers, kp);
	XFREE(MTYPE_KAR_PEER, kp);
}

/* The peer (or group) is being deleted: nothing of it survives (SPEC 12). */
void kar_peer_forget(const struct peer *peer)
{
	struct kar_peer *kp = kar_peer_find(peer);

	if (!kp)
		return;
	kar_peers_del(&kar_peers, kp);
	XFREE(MTYPE_KAR_PEER, kp);
}

struct kar_inst *kar_inst_find(const struct bgp *bgp)
{
	struct kar_inst key = {.bgp = (struct bgp *)bgp};

	return kar_insts_find(&kar_insts, &key);
}

struct kar_inst *kar_inst_get(struct bgp *bgp)
{
	struct kar_inst *ki = kar_inst_find(bgp);

	if (ki)
		return ki;
	ki = XCALLOC(MTYPE_KAR_INST, sizeof(*ki));
	ki->bgp = bgp;
	kar_insts_add(&kar_insts, ki);
	return ki;
}

void kar_inst_forget(const struct bgp *bgp)
{
	struct kar_inst *ki = kar_inst_find(bgp);

	if (!ki)
		return;
	kar_insts_del(&kar_insts, ki);
	XFREE(MTYPE_KAR_INST, ki);
}

bool kar_state_empty(void)
{
	return kar_peers_count(&kar_peers) == 0 &&
	       kar_insts_count(&kar_insts) == 0;
}

unsigned int kar_module_sources(const struct peer *peer, enum kar_af af)
{
	const struct kar_peer *kp;
	const struct kar_inst *ki;
	unsigned int sources = 0;

	kp = kar_peer_find(peer);
	if (kp && kp->configured[af])
		sources |= KAR_SRC_PEER;
	if (peer->group) {
		kp = kar_peer_find(peer->group->conf);
		if (kp && kp->configured[af])
			sources |= KAR_SRC_GROUP;
	}
	ki = kar_inst_find(peer->bgp);
	if (ki && ki->configured)
		sources |= KAR_SRC_INSTANCE;
	return sources;
}

unsigned int kar_sources(const struct peer *peer, enum kar_af af)
{
	int afi, safi;
	unsigned int sources = kar_module_sources(peer, af);

	kar_af_to(af, &afi, &safi);
	if (CHECK_FLAG(peer->af_flags[afi][safi], PEER_FLAG_SOFT_RECONFIG))
		sources |= KAR_SRC_NATIVE;
	return sources;
}

void kar_state_init(void)
{
	kar_peers_init(&kar_peers);
	kar_insts_init(&kar_insts);
}

void kar_state_fini(void)
{
	struct kar_peer *kp;
	struct kar_inst *ki;

	while ((kp = kar_peers_pop(&kar_peers)))
		XFREE(MTYPE_KAR_PEER, kp);
	while ((ki = kar_insts_pop(&kar_insts)))
		XFREE(MTYPE_KAR_INST, ki);
	kar_peers_fini(&kar_peers);
	kar_insts_fini(&kar_insts);
}
