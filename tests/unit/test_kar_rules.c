// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of keep-all-routes' rules (bgpd-module/kar_rules.c): which
 * sources claim a peer, and what a change of what bgpd keeps does to the
 * Adj-RIB-In.  kar_decide() is the function the module runs.
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
 * Every combination: fill only when bgpd starts keeping the table on a
 * negotiated AF, free only when it stops keeping it, nothing otherwise.
 */
static void test_decide_every_case(void **state)
{
	(void)state;
	for (unsigned int bits = 0; bits < 8; bits++) {
		bool was = bits & 1, now = bits & 2, nego = bits & 4;
		enum kar_change want = KAR_CHANGE_NONE;

		if (!was && now && nego)
			want = KAR_CHANGE_FILL;
		else if (was && !now)
			want = KAR_CHANGE_FREE;
		assert_int_equal(kar_decide(was, now, nego), want);
	}
}

/* A change that leaves the table kept (another source or consumer holds
 * it) or unkept does nothing, whatever the session.
 */
static void test_decide_same_state_is_none(void **state)
{
	(void)state;
	assert_int_equal(kar_decide(true, true, true), KAR_CHANGE_NONE);
	assert_int_equal(kar_decide(true, true, false), KAR_CHANGE_NONE);
	assert_int_equal(kar_decide(false, false, true), KAR_CHANGE_NONE);
	assert_int_equal(kar_decide(false, false, false), KAR_CHANGE_NONE);
}

/* An AF the session did not negotiate has no routes to ask for again. */
static void test_enable_af_not_negotiated(void **state)
{
	(void)state;
	assert_int_equal(kar_decide(false, true, false), KAR_CHANGE_NONE);
	assert_int_equal(kar_decide(false, true, true), KAR_CHANGE_FILL);
}

/* The last consumer goes: freed, even on a session without the AF. */
static void test_disable_frees(void **state)
{
	(void)state;
	assert_int_equal(kar_decide(true, false, true), KAR_CHANGE_FREE);
	assert_int_equal(kar_decide(true, false, false), KAR_CHANGE_FREE);
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
	assert_int_equal(kar_still_held_by(KAR_SRC_PEER), KAR_SRC_PEER);
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
		cmocka_unit_test(test_decide_every_case),
		cmocka_unit_test(test_decide_same_state_is_none),
		cmocka_unit_test(test_enable_af_not_negotiated),
		cmocka_unit_test(test_disable_frees),
		cmocka_unit_test(test_still_held_by),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("kar_rules", tests, NULL, NULL);
}
