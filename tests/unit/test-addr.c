/* Addresses, prefixes, ranges and big counts (IPv4 and IPv6 edge cases). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/addr.h"
#include "lib/util.h"

static void parse_format(const char *in, const char *want)
{
        struct ipaddr a;
        char buf[IPADDR_STRLEN];

        assert_int_equal(ipaddr_parse(in, &a), 0);
        assert_string_equal(ipaddr_format(&a, buf), want);
}

static void test_parse(void **state)
{
        struct ipaddr a;

        (void)state;
        parse_format("10.0.0.1", "10.0.0.1");
        parse_format("0.0.0.0", "0.0.0.0");
        parse_format("255.255.255.255", "255.255.255.255");
        parse_format("2001:DB8::1", "2001:db8::1");
        parse_format("::", "::");
        parse_format("fe80:0:0:0:0:0:0:1", "fe80::1");
        assert_int_equal(ipaddr_parse("10.0.0.256", &a), -EINVAL);
        assert_int_equal(ipaddr_parse("10.0.0", &a), -EINVAL);
        assert_int_equal(ipaddr_parse("010.0.0.1", &a), -EINVAL);
        assert_int_equal(ipaddr_parse(" 10.0.0.1", &a), -EINVAL);
        assert_int_equal(ipaddr_parse("", &a), -EINVAL);
        assert_int_equal(ipaddr_parse("fe80::1%eth0", &a), -EINVAL);
        assert_int_equal(ipaddr_parse("1:2:3:4:5:6:7:8:9", &a), -EINVAL);
        assert_int_equal(ipaddr_parse("abc", &a), -EINVAL);
}

static void test_cidr(void **state)
{
        struct iprange r;
        char buf[128];

        (void)state;
        assert_int_equal(iprange_parse_cidr("192.168.100.200/28", &r), 0);
        assert_string_equal(iprange_format(&r, buf, sizeof(buf)),
                            "192.168.100.192 - 192.168.100.207");
        assert_int_equal(iprange_parse_cidr("12.0.0.128/25", &r), 0);
        assert_string_equal(iprange_format(&r, buf, sizeof(buf)), "12.0.0.128 - 12.0.0.255");
        assert_int_equal(iprange_parse_cidr("10.0.0.1/32", &r), 0);
        assert_true(iprange_span(&r) == 0);
        assert_int_equal(iprange_parse_cidr("10.0.0.0/31", &r), 0);
        assert_true(iprange_span(&r) == 1);
        assert_int_equal(iprange_parse_cidr("0.0.0.0/0", &r), 0);
        assert_true(iprange_span(&r) == UINT32_MAX);
        assert_int_equal(iprange_parse_cidr("2001:db8::/64", &r), 0);
        assert_string_equal(iprange_format(&r, buf, sizeof(buf)),
                            "2001:db8:: - 2001:db8::ffff:ffff:ffff:ffff");
        assert_int_equal(iprange_parse_cidr("2001:db8::1/128", &r), 0);
        assert_true(iprange_span(&r) == 0);
        assert_int_equal(iprange_parse_cidr("2001:db8::/127", &r), 0);
        assert_true(iprange_span(&r) == 1);
        assert_int_equal(iprange_parse_cidr("::/0", &r), 0);
        assert_true(iprange_span(&r) == ~(u128)0);
        assert_int_equal(iprange_parse_cidr("10.0.0.0/33", &r), -EINVAL);
        assert_int_equal(iprange_parse_cidr("10.0.0.0/", &r), -EINVAL);
        assert_int_equal(iprange_parse_cidr("10.0.0.0/024", &r), -EINVAL);
        assert_int_equal(iprange_parse_cidr("10.0.0.0/-1", &r), -EINVAL);
        assert_int_equal(iprange_parse_cidr("10.0.0.0", &r), -EINVAL);
        assert_int_equal(iprange_parse_cidr("/24", &r), -EINVAL);
        assert_int_equal(iprange_parse_cidr("2001:db8::/129", &r), -EINVAL);
        assert_int_equal(iprange_parse_cidr("10.0.0.0/2 4", &r), -EINVAL);
}

static void test_start_stop(void **state)
{
        struct iprange r;
        const char *why = NULL;

        (void)state;
        assert_int_equal(iprange_from_start_stop("10.0.0.5", NULL, &r, &why), 0);
        assert_true(r.from == r.to);
        assert_int_equal(iprange_from_start_stop("10.0.0.5", "10.0.0.9", &r, &why), 0);
        assert_true(iprange_span(&r) == 4);
        assert_int_equal(iprange_from_start_stop("10.0.0.9", "10.0.0.5", &r, &why), -EINVAL);
        assert_string_equal(why, "start IP is greater than stop IP");
        assert_int_equal(iprange_from_start_stop("10.0.0.9", "::1", &r, &why), -EINVAL);
        assert_string_equal(why, "start and stop IPs are of different families");
        assert_int_equal(iprange_from_start_stop("x", "10.0.0.1", &r, &why), -EINVAL);
        assert_int_equal(iprange_from_start_stop("10.0.0.1", "y", &r, &why), -EINVAL);
        assert_int_equal(iprange_from_start_stop("", "10.0.0.1", &r, &why), -EINVAL);
}

static struct iprange R(const char *cidr) {
        struct iprange r;

        assert_int_equal(iprange_parse_cidr(cidr, &r), 0);
        return r;
}

/* Cilium's Intersects cases */
static void
test_overlap(void **state)
{
        struct iprange a = R("10.0.0.0/24"), b;

        (void)state;
        b = R("10.0.1.0/24"); /* no overlap right */
        assert_false(iprange_overlaps(&a, &b));
        b = R("9.255.255.0/24"); /* no overlap left */
        assert_false(iprange_overlaps(&a, &b));
        assert_int_equal(iprange_from_start_stop("10.0.0.255", "10.0.1.5", &b, NULL), 0);
        assert_true(iprange_overlaps(&a, &b)); /* edge right */
        assert_int_equal(iprange_from_start_stop("9.0.0.0", "10.0.0.0", &b, NULL), 0);
        assert_true(iprange_overlaps(&a, &b)); /* edge left */
        b = R("10.0.0.128/25");                /* inside */
        assert_true(iprange_overlaps(&a, &b));
        assert_true(iprange_overlaps(&b, &a));
        b = R("10.0.0.0/16"); /* full */
        assert_true(iprange_overlaps(&a, &b));
        b = R("::/0"); /* other family */
        assert_false(iprange_overlaps(&a, &b));
}

static void test_contains(void **state)
{
        struct iprange r = R("12.0.0.128/25");
        struct ipaddr a;

        (void)state;
        assert_int_equal(ipaddr_parse("12.0.0.128", &a), 0);
        assert_true(iprange_contains(&r, &a));
        assert_int_equal(ipaddr_parse("12.0.0.255", &a), 0);
        assert_true(iprange_contains(&r, &a));
        assert_int_equal(ipaddr_parse("12.0.0.127", &a), 0);
        assert_false(iprange_contains(&r, &a));
        assert_int_equal(ipaddr_parse("::ffff:12.0.0.130", &a), 0);
        assert_false(iprange_contains(&r, &a));
}

static void test_bigcount(void **state)
{
        struct bigcount c = {0, 0}, d;
        struct iprange r = R("2001:db8::/64");
        char buf[80];

        (void)state;
        assert_string_equal(bigcount_format(&c, buf), "0");
        bigcount_add(&c, iprange_span(&r));
        bigcount_add_one(&c);
        assert_string_equal(bigcount_format(&c, buf), "18446744073709551616");
        r = R("::/0");
        c = (struct bigcount){0, 0};
        bigcount_add(&c, iprange_span(&r));
        bigcount_add_one(&c);
        assert_string_equal(bigcount_format(&c, buf), "340282366920938463463374607431768211456");
        bigcount_add(&c, iprange_span(&r));
        bigcount_add_one(&c);
        assert_string_equal(bigcount_format(&c, buf), "680564733841876926926749214863536422912");
        d = (struct bigcount){5, 0};
        c = bigcount_minus(c, d);
        assert_string_equal(bigcount_format(&c, buf), "680564733841876926926749214863536422907");
        c = bigcount_minus(d, c);
        assert_string_equal(bigcount_format(&c, buf), "0");
        c = (struct bigcount){256, 0};
        assert_string_equal(bigcount_format(&c, buf), "256");
}

static void test_bytes(void **state)
{
        struct ipaddr a, b;
        uint8_t raw[16];

        (void)state;
        assert_int_equal(ipaddr_parse("12.0.0.100", &a), 0);
        ipaddr_to_bytes(&a, raw);
        assert_int_equal(raw[0], 12);
        assert_int_equal(raw[3], 100);
        ipaddr_from_bytes(&b, AF_INET, raw);
        assert_true(ipaddr_equal(&a, &b));
        assert_int_equal(ipaddr_parse("2001:db8::abcd", &a), 0);
        ipaddr_to_bytes(&a, raw);
        assert_int_equal(raw[0], 0x20);
        assert_int_equal(raw[15], 0xcd);
        ipaddr_from_bytes(&b, AF_INET6, raw);
        assert_true(ipaddr_equal(&a, &b));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse),      cmocka_unit_test(test_cidr),
            cmocka_unit_test(test_start_stop), cmocka_unit_test(test_overlap),
            cmocka_unit_test(test_contains),   cmocka_unit_test(test_bigcount),
            cmocka_unit_test(test_bytes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
