/* The free-interval range allocator: lowest-free order, take/give merging,
 * reservations, big ranges costing one node, exact counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ipam/range.h"
#include "lib/util.h"

static struct ipam_range *mk(const char *cidr)
{
        struct iprange r;

        assert_int_equal(iprange_parse_cidr(cidr, &r), 0);
        return range_new(&r, true, NULL);
}

static u128 v4(const char *s)
{
        struct ipaddr a;

        assert_int_equal(ipaddr_parse(s, &a), 0);
        return a.v;
}

static char *count(struct bigcount c)
{
        static char buf[64];

        return bigcount_format(&c, buf);
}

static void test_lowest_free_and_merge(void **state)
{
        struct ipam_range *r = mk("10.0.0.0/29");
        u128 v;

        (void)state;
        for (int i = 0; i < 8; i++) {
                assert_true(range_lowest_free(r, &v));
                assert_true(v == v4("10.0.0.0") + (u128)i);
                assert_true(range_take(r, v));
        }
        assert_false(range_lowest_free(r, &v));
        assert_int_equal(range_n_intervals(r), 0);
        assert_string_equal(count(range_available(r)), "0");
        /* give back out of order: intervals merge to one */
        range_give(r, v4("10.0.0.5"));
        range_give(r, v4("10.0.0.3"));
        assert_int_equal(range_n_intervals(r), 2);
        range_give(r, v4("10.0.0.4"));
        assert_int_equal(range_n_intervals(r), 1);
        assert_true(range_lowest_free(r, &v));
        assert_true(v == v4("10.0.0.3"));
        range_give(r, v4("10.0.0.0"));
        range_give(r, v4("10.0.0.7"));
        range_give(r, v4("10.0.0.6"));
        range_give(r, v4("10.0.0.6")); /* already free: no-op */
        range_give(r, v4("10.0.0.1"));
        range_give(r, v4("10.0.0.2"));
        assert_int_equal(range_n_intervals(r), 1);
        assert_string_equal(count(range_available(r)), "8");
        range_free(r);
}

static void test_take_specific(void **state)
{
        struct ipam_range *r = mk("10.0.0.0/24");
        u128 v;

        (void)state;
        assert_true(range_take(r, v4("10.0.0.200")));
        assert_false(range_take(r, v4("10.0.0.200")));
        assert_false(range_take(r, v4("10.0.1.0")));
        assert_false(range_is_free(r, v4("10.0.0.200")));
        assert_true(range_is_free(r, v4("10.0.0.201")));
        assert_int_equal(range_n_intervals(r), 2);
        /* #38358: the next automatic IP is the lowest, not .201 */
        assert_true(range_lowest_free(r, &v));
        assert_true(v == v4("10.0.0.0"));
        assert_true(range_take(r, v4("10.0.0.0")));
        assert_true(range_take(r, v4("10.0.0.255")));
        assert_int_equal(range_n_intervals(r), 2);
        assert_string_equal(count(range_total(r)), "256");
        assert_string_equal(count(range_available(r)), "253");
        range_free(r);
}

static void test_reserved_first_last(void **state)
{
        struct ipam_range *r = mk("10.0.10.16/30");
        u128 v;

        (void)state;
        assert_true(range_can_reserve(r));
        range_set_reserved(r, true, true, NULL, NULL);
        assert_string_equal(count(range_available(r)), "2");
        assert_true(range_lowest_free(r, &v));
        assert_true(v == v4("10.0.10.17"));
        assert_false(range_take(r, v4("10.0.10.16")));
        /* a reserved address given back stays reserved */
        range_give(r, v4("10.0.10.19"));
        assert_false(range_is_free(r, v4("10.0.10.19")));
        range_set_reserved(r, false, false, NULL, NULL);
        assert_string_equal(count(range_available(r)), "4");
        assert_true(range_lowest_free(r, &v));
        assert_true(v == v4("10.0.10.16"));
        range_free(r);
}

static bool held_yes(const struct ipam_range *r, u128 v, void *u)
{
        return true;
}

static void test_reserve_while_held(void **state)
{
        struct ipam_range *r = mk("10.0.10.16/30");

        (void)state;
        /* a service holds .16; reserving does not take it away... */
        assert_true(range_take(r, v4("10.0.10.16")));
        range_set_reserved(r, true, true, held_yes, NULL);
        assert_string_equal(count(range_available(r)), "2");
        /* ...and once it lets go the address stays reserved */
        range_give(r, v4("10.0.10.16"));
        assert_false(range_is_free(r, v4("10.0.10.16")));
        assert_string_equal(count(range_available(r)), "2");
        /* unreserving an address still held leaves it with its holder */
        assert_true(range_take(r, v4("10.0.10.17")));
        range_set_reserved(r, false, true, held_yes, NULL);
        assert_false(range_is_free(r, v4("10.0.10.16")));
        range_free(r);
}

static void test_tiny_blocks_not_reserved(void **state)
{
        const char *cidrs[] = {"10.0.0.0/31", "10.0.0.1/32", "ff::/127", "ff::1/128"};

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cidrs); i++) {
                struct ipam_range *r = mk(cidrs[i]);

                assert_false(range_can_reserve(r));
                range_set_reserved(r, true, true, NULL, NULL);
                assert_false(r->reserve_first);
                assert_string_equal(count(range_available(r)), i % 2 ? "1" : "2");
                range_free(r);
        }
}

static void test_start_stop_not_reserved(void **state)
{
        struct iprange ir;
        struct ipam_range *r;

        (void)state;
        assert_int_equal(iprange_from_start_stop("10.0.0.10", "10.0.0.20", &ir, NULL), 0);
        r = range_new(&ir, false, NULL);
        range_set_reserved(r, true, true, NULL, NULL);
        assert_string_equal(count(range_available(r)), "11");
        range_free(r);
}

static void test_huge_ranges(void **state)
{
        struct ipam_range *r = mk("2001:db8::/64");
        struct ipam_range *all = mk("::/0");
        struct ipam_range *eight = mk("10.0.0.0/8");
        u128 v;

        (void)state;
        assert_string_equal(count(range_total(r)), "18446744073709551616");
        assert_int_equal(range_n_intervals(r), 1);
        assert_string_equal(count(range_total(all)), "340282366920938463463374607431768211456");
        assert_string_equal(count(range_total(eight)), "16777216");
        /* the last address of ::/0 (no overflow on +1) */
        assert_true(range_take(all, ~(u128)0));
        assert_true(range_take(all, 0));
        assert_true(range_lowest_free(all, &v));
        assert_true(v == 1);
        range_give(all, ~(u128)0);
        range_give(all, 0);
        assert_int_equal(range_n_intervals(all), 1);
        for (int i = 0; i < 1000; i++)
                assert_true(range_take(r, r->r.from + (u128)(2 * i)));
        assert_int_equal(range_n_intervals(r), 1000);
        assert_string_equal(count(range_available(r)), "18446744073709550616");
        range_free(r);
        range_free(all);
        range_free(eight);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lowest_free_and_merge),
            cmocka_unit_test(test_take_specific),
            cmocka_unit_test(test_reserved_first_last),
            cmocka_unit_test(test_reserve_while_held),
            cmocka_unit_test(test_tiny_blocks_not_reserved),
            cmocka_unit_test(test_start_stop_not_reserved),
            cmocka_unit_test(test_huge_ranges),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
