// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of keep-all-routes' rules (bgpd-module/kar_rules.c): which
 * sources hold retention, and what the module does to the Adj-RIB-In on
 * each change.  kar_decide() is the function the module runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kar_rules.h"

static const unsigned int sources[] = {
	KAR_SRC_NATIVE,
	KAR_SRC_PEER,
	KAR_SRC_GROUP,
	KAR_SRC_INSTANCE,
};

/* Every one of the 16 combinations of sources is retained iff non-empty. */
static void test_retained_all_16(void **state)
{
	(void)state;
	for (unsigned int s = 0; s <= KAR_SRC_ALL; s++)
		assert_int_equal(kar_retained(s), s != 0);
}

/* Bits outside the four sources never count as a source. */
static void test_retained_ignores_unknown_bits(void **state)
{
	(void)state;
	assert_false(kar_retained(1u << 7));
	assert_true(kar_retained((1u << 7) | KAR_SRC_PEER));
}

/*
 * Every state, every single toggle out of it, every peer state: refill
 * only when the first source arrives, free only when the last one goes,
 * and nothing otherwise.
 */
static void test_decide_every_toggle(void **state)
{
	(void)state;
	for (unsigned int before = 0; before <= KAR_SRC_ALL; before++)
		for (size_t i = 0; i < 4; i++)
			for (unsigned int bits = 0; bits < 8; bits++) {
				unsigned int after = before ^ sources[i];
				struct kar_peer_facts f = {
					.established = bits & 1,
					.af_negotiated = bits & 2,
					.route_refresh = bits & 4,
				};
				enum kar_action want = KAR_ACTION_NONE;

				if (before == 0 && f.established &&
				    f.af_negotiated)
					want = f.route_refresh
						       ? KAR_ACTION_ROUTE_REFRESH
						       : KAR_ACTION_SESSION_RESET;
				else if (after == 0)
					want = KAR_ACTION_FREE;
				assert_int_equal(kar_decide(before, after, &f),
						 want);
			}
}

/* A step that changes nothing does nothing, whatever the peer. */
static void test_decide_same_state_is_none(void **state)
{
	struct kar_peer_facts f = {true, true, true};

	(void)state;
	for (unsigned int s = 0; s <= KAR_SRC_ALL; s++)
		assert_int_equal(kar_decide(s, s, &f), KAR_ACTION_NONE);
}

/* Established, route-refresh capable -> ROUTE-REFRESH. */
static void test_enable_route_refresh(void **state)
{
	struct kar_peer_facts f = {true, true, true};

	(void)state;
	assert_int_equal(kar_decide(0, KAR_SRC_PEER, &f),
			 KAR_ACTION_ROUTE_REFRESH);
}

/* Established, no route-refresh -> session reset. */
static void test_enable_reset(void **state)
{
	struct kar_peer_facts f = {true, true, false};

	(void)state;
	assert_int_equal(kar_decide(0, KAR_SRC_INSTANCE, &f),
			 KAR_ACTION_SESSION_RESET);
}

/* Not Established -> nothing sent, whatever the capability. */
static void test_enable_not_established(void **state)
{
	struct kar_peer_facts rr = {false, false, true};
	struct kar_peer_facts norr = {false, false, false};

	(void)state;
	assert_int_equal(kar_decide(0, KAR_SRC_GROUP, &rr), KAR_ACTION_NONE);
	assert_int_equal(kar_decide(0, KAR_SRC_GROUP, &norr),
			 KAR_ACTION_NONE);
}

/* An AF the session did not negotiate has no routes to ask for again. */
static void test_enable_af_not_negotiated(void **state)
{
	struct kar_peer_facts f = {true, false, false};

	(void)state;
	assert_int_equal(kar_decide(0, KAR_SRC_PEER, &f), KAR_ACTION_NONE);
}

/* Enable while another source holds it: nothing is sent. */
static void test_enable_already_retained(void **state)
{
	struct kar_peer_facts f = {true, true, false};

	(void)state;
	assert_int_equal(kar_decide(KAR_SRC_NATIVE,
				    KAR_SRC_NATIVE | KAR_SRC_PEER, &f),
			 KAR_ACTION_NONE);
}

/* The last source goes: freed, even for a peer that is down. */
static void test_disable_frees(void **state)
{
	struct kar_peer_facts up = {true, true, true};
	struct kar_peer_facts down = {false, false, false};

	(void)state;
	assert_int_equal(kar_decide(KAR_SRC_PEER, 0, &up), KAR_ACTION_FREE);
	assert_int_equal(kar_decide(KAR_SRC_GROUP, 0, &down),
			 KAR_ACTION_FREE);
}

/* After a peer's undo, the instance-wide command is named first. */
static void test_still_held_by(void **state)
{
	(void)state;
	assert_int_equal(kar_still_held_by(0), 0);
	assert_int_equal(kar_still_held_by(KAR_SRC_INSTANCE | KAR_SRC_GROUP |
					   KAR_SRC_NATIVE),
			 KAR_SRC_INSTANCE);
	assert_int_equal(kar_still_held_by(KAR_SRC_GROUP | KAR_SRC_NATIVE),
			 KAR_SRC_GROUP);
	assert_int_equal(kar_still_held_by(KAR_SRC_NATIVE), KAR_SRC_NATIVE);
}

/* The names show and the JSON use. */
static void test_names(void **state)
{
	(void)state;
	assert_string_equal(kar_action_name(KAR_ACTION_NONE), "none");
	assert_string_equal(kar_action_name(KAR_ACTION_ROUTE_REFRESH),
			    "route-refresh");
	assert_string_equal(kar_action_name(KAR_ACTION_SESSION_RESET),
			    "session-reset");
	assert_string_equal(kar_source_name(KAR_SRC_NATIVE),
			    "soft-reconfiguration");
	assert_string_equal(kar_source_name(KAR_SRC_PEER), "peer");
	assert_string_equal(kar_source_name(KAR_SRC_GROUP), "peer-group");
	assert_string_equal(kar_source_name(KAR_SRC_INSTANCE), "instance");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retained_all_16),
		cmocka_unit_test(test_retained_ignores_unknown_bits),
		cmocka_unit_test(test_decide_every_toggle),
		cmocka_unit_test(test_decide_same_state_is_none),
		cmocka_unit_test(test_enable_route_refresh),
		cmocka_unit_test(test_enable_reset),
		cmocka_unit_test(test_enable_not_established),
		cmocka_unit_test(test_enable_af_not_negotiated),
		cmocka_unit_test(test_enable_already_retained),
		cmocka_unit_test(test_disable_frees),
		cmocka_unit_test(test_still_held_by),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("kar_rules", tests, NULL, NULL);
}
