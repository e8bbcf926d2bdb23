// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of keep-all-routes' rules (bgpd-module/kar_rules.c): which
 * sources hold retention, and what a change of sources must trigger.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kar_rules.h"

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
 * Every state and every single toggle out of it: enable only when the
 * first source arrives, disable only when the last one goes (SPEC 1-6, 10).
 */
static void test_change_every_single_toggle(void **state)
{
	static const unsigned int sources[] = {
		KAR_SRC_NATIVE,
		KAR_SRC_PEER,
		KAR_SRC_GROUP,
		KAR_SRC_INSTANCE,
	};

	(void)state;
	for (unsigned int before = 0; before <= KAR_SRC_ALL; before++) {
		for (size_t i = 0; i < 4; i++) {
			unsigned int after = before ^ sources[i];
			enum kar_change want = KAR_CHANGE_NONE;

			if (before == 0)
				want = KAR_CHANGE_ENABLE;
			else if (after == 0)
				want = KAR_CHANGE_DISABLE;
			assert_int_equal(kar_change(before, after), want);
		}
	}
}

static void test_change_same_state_is_none(void **state)
{
	(void)state;
	for (unsigned int s = 0; s <= KAR_SRC_ALL; s++)
		assert_int_equal(kar_change(s, s), KAR_CHANGE_NONE);
}

/* SPEC 1: Established, route-refresh capable -> ROUTE-REFRESH. */
static void test_enable_route_refresh(void **state)
{
	struct kar_peer_facts f = {true, true, true};

	(void)state;
	assert_int_equal(kar_enable_action(&f), KAR_ACTION_ROUTE_REFRESH);
}

/* SPEC 2: Established, no route-refresh -> session reset. */
static void test_enable_reset(void **state)
{
	struct kar_peer_facts f = {true, true, false};

	(void)state;
	assert_int_equal(kar_enable_action(&f), KAR_ACTION_SESSION_RESET);
}

/* SPEC 4: not Established -> nothing sent, whatever the capability. */
static void test_enable_not_established(void **state)
{
	struct kar_peer_facts rr = {false, false, true};
	struct kar_peer_facts norr = {false, false, false};

	(void)state;
	assert_int_equal(kar_enable_action(&rr), KAR_ACTION_NONE);
	assert_int_equal(kar_enable_action(&norr), KAR_ACTION_NONE);
}

/* An AF the session did not negotiate has no routes to ask for again. */
static void test_enable_af_not_negotiated(void **state)
{
	struct kar_peer_facts f = {true, false, false};

	(void)state;
	assert_int_equal(kar_enable_action(&f), KAR_ACTION_NONE);
}

/* SPEC 6: after a peer's undo, the instance-wide command is named first. */
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

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(kar_action_name(KAR_ACTION_NONE), "none");
	assert_string_equal(kar_action_name(KAR_ACTION_ROUTE_REFRESH),
			    "route-refresh");
	assert_string_equal(kar_action_name(KAR_ACTION_SESSION_RESET),
			    "session-reset");
	assert_string_equal(kar_af_name(KAR_AF_IPV4_UNICAST), "ipv4Unicast");
	assert_string_equal(kar_af_name(KAR_AF_IPV6_UNICAST), "ipv6Unicast");
	assert_string_equal(kar_source_name(KAR_SRC_NATIVE),
			    "soft-reconfiguration");
	assert_string_equal(kar_source_name(KAR_SRC_INSTANCE), "instance");
	assert_string_equal(kar_source_name(KAR_SRC_PEER | KAR_SRC_GROUP),
			    "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retained_all_16),
		cmocka_unit_test(test_retained_ignores_unknown_bits),
		cmocka_unit_test(test_change_every_single_toggle),
		cmocka_unit_test(test_change_same_state_is_none),
		cmocka_unit_test(test_enable_route_refresh),
		cmocka_unit_test(test_enable_reset),
		cmocka_unit_test(test_enable_not_established),
		cmocka_unit_test(test_enable_af_not_negotiated),
		cmocka_unit_test(test_still_held_by),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("kar_rules", tests, NULL, NULL);
}
