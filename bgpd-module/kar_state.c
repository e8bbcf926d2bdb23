// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * keep-all-routes: the module's records (lifetime rule in kar_state.h).
 */
#include <zebra.h>

#include "jhash.h"
#include "memory.h"
#include "vrf.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_route.h"

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

PREDECL_HASH(kar_insts);

struct kar_inst {
	struct kar_insts_item item;
	struct bgp *bgp; /* key */
};

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

const char *kar_inst_name(const struct bgp *bgp)
{
	return bgp->name ? bgp->name : VRF_DEFAULT_NAME;
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

static bool kar_peer_holds_something(const struct kar_peer *kp)
{
	afi_t afi;
	safi_t safi;

	FOREACH_AFI_SAFI (afi, safi)
		if (kp->af[afi][safi].configured || kp->af[afi][safi].last_when)
			return true;
	return false;
}

void kar_peer_release(struct kar_peer *kp)
{
	if (kar_peer_holds_something(kp))
		return;
	kar_peers_del(&kar_peers, kp);
	XFREE(MTYPE_KAR_PEER, kp);
}

void kar_peer_set_configured(struct kar_peer *kp, afi_t afi, safi_t safi,
			     bool on)
{
	kp->af[afi][safi].configured = on;
}

/* The peer (or group) is being deleted: nothing of it survives. */
void kar_peer_forget(const struct peer *peer)
{
	struct kar_peer *kp = kar_peer_find(peer);

	if (!kp)
		return;
	memset(kp->af, 0, sizeof(kp->af));
	kar_peer_release(kp);
}

static struct kar_inst *kar_inst_find(const struct bgp *bgp)
{
	struct kar_inst key = {.bgp = (struct bgp *)bgp};

	return kar_insts_find(&kar_insts, &key);
}

bool kar_inst_configured(const struct bgp *bgp)
{
	return kar_inst_find(bgp) != NULL;
}

void kar_inst_set(struct bgp *bgp, bool on)
{
	struct kar_inst *ki = kar_inst_find(bgp);

	if (on == (ki != NULL))
		return;
	if (on) {
		ki = XCALLOC(MTYPE_KAR_INST, sizeof(*ki));
		ki->bgp = bgp;
		kar_insts_add(&kar_insts, ki);
	} else {
		kar_insts_del(&kar_insts, ki);
		XFREE(MTYPE_KAR_INST, ki);
	}
}

bool kar_peer_configured(const struct peer *peer, afi_t afi, safi_t safi)
{
	const struct kar_peer *kp = kar_peer_find(peer);

	return kp && kp->af[afi][safi].configured;
}

bool kar_state_empty(void)
{
	return kar_peers_count(&kar_peers) == 0 &&
	       kar_insts_count(&kar_insts) == 0;
}

unsigned int kar_module_sources(const struct peer *peer, afi_t afi, safi_t safi)
{
	unsigned int sources = 0;

	assert(!CHECK_FLAG(peer->sflags, PEER_STATUS_GROUP));
	if (kar_peer_configured(peer, afi, safi))
		sources |= KAR_SRC_PEER;
	if (peer->group && kar_peer_configured(peer->group->conf, afi, safi))
		sources |= KAR_SRC_GROUP;
	if (kar_inst_configured(peer->bgp))
		sources |= KAR_SRC_INSTANCE;
	return sources;
}

unsigned int kar_sources(const struct peer *peer, afi_t afi, safi_t safi)
{
	unsigned int sources = kar_module_sources(peer, afi, safi);

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

	while ((kp = kar_peers_first(&kar_peers)))
		kar_peer_forget(kp->peer);
	while ((ki = kar_insts_first(&kar_insts)))
		kar_inst_set(ki->bgp, false);
	kar_peers_fini(&kar_peers);
	kar_insts_fini(&kar_insts);
}
