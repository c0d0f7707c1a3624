/* Pools through the whole core, Cilium's scenarios by name: conflicts,
 * blocks added and removed, disabled, first/last addresses, counts, bad
 * input, and l2lb's pool priority. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <stdio.h>

#include "helpers.h"
#include "lib/addr.h"
#include "lib/util.h"

#define CONFLICT "cilium.io/PoolConflict"
#define TOTAL    "cilium.io/IPsTotal"
#define AVAIL    "cilium.io/IPsAvailable"
#define USED     "cilium.io/IPsUsed"

#define POOL_A "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.0/24'}]}}"
#define SVC(name, extra_spec)                                                                      \
        "{'metadata':{'name':'" name "'},'spec':{'type':'LoadBalancer'" extra_spec "}}"

/* TestConflictResolution: the younger pool is marked, and unmarked once the
 * overlapping block is gone. */
static void test_conflict_resolution(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, POOL_A);
        api_pool(api, "{'metadata':{'name':'pool-b'},'spec':{'cidrs':[{'cidr':'10.0.10.0/24'},"
                      "{'cidr':'FF::0/48'}]}}");
        assert_string_equal(pool_cond(api, "pool-b", CONFLICT, "status"), "True");
        assert_string_equal(pool_cond(api, "pool-b", CONFLICT, "reason"), "cidr_overlap");
        assert_string_equal(pool_cond(api, "pool-b", CONFLICT, "message"),
                            "Pool conflicts since range '10.0.10.0 - 10.0.10.255' overlaps range "
                            "'10.0.10.0 - 10.0.10.255' from IP Pool 'pool-a'");
        assert_string_equal(pool_cond(api, "pool-a", CONFLICT, "status"), "False");
        assert_string_equal(pool_cond(api, "pool-a", CONFLICT, "reason"), "resolved");
        assert_string_equal(pool_cond(api, "pool-a", CONFLICT, "message"), "");
        assert_true(events_contain(api, "Warning pool/pool-b PoolConflict: Pool conflicts since"));
        /* a marked pool allocates nothing */
        api_svc(api, SVC("v6", ",'ipFamilies':['IPv6']"));
        assert_string_equal(svc_reason(api, "default", "v6"), "no_pool");
        api_svc(api, SVC("req", ",'loadBalancerIP':'ff::5'"));
        assert_string_equal(svc_reason(api, "default", "req"), "no_pool");

        api_pool(api, "{'metadata':{'name':'pool-b'},'spec':{'cidrs':[{'cidr':'FF::0/48'}]}}");
        assert_string_equal(pool_cond(api, "pool-b", CONFLICT, "status"), "False");
        assert_string_equal(pool_cond(api, "pool-b", CONFLICT, "reason"), "resolved");
        assert_true(events_contain(api, "Normal pool/pool-b PoolConflictResolved"));
        assert_string_equal(svc_ips(api, "default", "v6"), "ff::");
        assert_string_equal(svc_ips(api, "default", "req"), "ff::5");
        api_free(api);
}

/* TestPoolInternalConflict */
static void test_pool_internal_conflict(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.0/24'},"
                      "{'cidr':'10.0.10.64/28'}]}}");
        assert_string_equal(pool_cond(api, "pool-a", CONFLICT, "status"), "True");
        assert_string_equal(pool_cond(api, "pool-a", CONFLICT, "message"),
                            "Pool conflicts since range '10.0.10.0 - 10.0.10.255' overlaps range "
                            "'10.0.10.64 - 10.0.10.79' from IP Pool 'pool-a'");
        api_pool(api, POOL_A);
        assert_string_equal(pool_cond(api, "pool-a", CONFLICT, "status"), "False");
        api_free(api);
}

/* Same creationTimestamp: the name decides; the older one by timestamp
 * wins even when created second; existing allocations stay and are never
 * handed out twice. */
static void test_conflict_order_and_uniqueness(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, "{'metadata':{'name':'pool-y','creationTimestamp':'2024-05-01T00:00:00Z'},"
                      "'spec':{'blocks':[{'cidr':'10.0.0.0/24'}]}}");
        api_pool(api, "{'metadata':{'name':'pool-x','creationTimestamp':'2024-05-01T00:00:00Z'},"
                      "'spec':{'blocks':[{'cidr':'10.0.0.128/25'}]}}");
        assert_string_equal(pool_cond(api, "pool-x", CONFLICT, "status"), "False");
        assert_string_equal(pool_cond(api, "pool-y", CONFLICT, "status"), "True");
        api_delete_pool(api, "pool-x");
        api_delete_pool(api, "pool-y");

        api_pool(api, "{'metadata':{'name':'pool-a','creationTimestamp':'2024-05-01T00:00:00Z'},"
                      "'spec':{'blocks':[{'cidr':'10.0.10.0/30'}]}}");
        api_svc(api, SVC("s1", ""));
        assert_string_equal(svc_ips(api, "default", "s1"), "10.0.10.0");
        /* an older pool appears (restored from a backup): pool-a is marked */
        api_pool(api, "{'metadata':{'name':'pool-old','creationTimestamp':'2020-01-01T00:00:00Z'},"
                      "'spec':{'blocks':[{'cidr':'10.0.10.0/30'}]}}");
        assert_string_equal(pool_cond(api, "pool-a", CONFLICT, "status"), "True");
        assert_string_equal(pool_cond(api, "pool-a", CONFLICT, "message"),
                            "Pool conflicts since range '10.0.10.0 - 10.0.10.3' overlaps range "
                            "'10.0.10.0 - 10.0.10.3' from IP Pool 'pool-old'");
        assert_string_equal(svc_ips(api, "default", "s1"), "10.0.10.0");
        api_svc(api, SVC("s2", ""));
        assert_string_equal(svc_ips(api, "default", "s2"), "10.0.10.1");
        assert_string_equal(pool_cond(api, "pool-old", USED, "message"), "2");
        api_free(api);
}

/* TestIntersects: overlap is from1 <= to2 && from2 <= to1. */
static void test_intersects(void **state)
{
        static const struct {
                const char *a, *b;
                bool want;
        } cases[] = {
            {"10.0.0.0/28", "10.0.0.16/28", false}, /* no overlap, right */
            {"10.0.0.16/28", "10.0.0.0/28", false}, /* no overlap, left */
            {"10.0.0.0/28", "10.0.0.15/32", true},  /* edge overlap, right */
            {"10.0.0.15/32", "10.0.0.0/28", true},  /* edge overlap, left */
            {"10.0.0.8/29", "10.0.0.0/28", true},   /* partial */
            {"10.0.0.0/24", "10.0.0.0/24", true},   /* full */
            {"10.0.0.0/24", "::/0", false},         /* families never overlap */
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct iprange a, b;

                assert_int_equal(iprange_parse_cidr(cases[i].a, &a), 0);
                assert_int_equal(iprange_parse_cidr(cases[i].b, &b), 0);
                assert_int_equal(iprange_overlaps(&a, &b), cases[i].want);
        }
}

/* TestRangeFromPrefix: cidrs are masked. */
static void test_range_from_prefix(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api,
                 "{'metadata':{'name':'p'},'spec':{'blocks':[{'cidr':'192.168.100.200/28'}]}}");
        api_svc(api, SVC("a", ""));
        assert_string_equal(svc_ips(api, "default", "a"), "192.168.100.192");
        assert_string_equal(pool_cond(api, "p", TOTAL, "message"), "16");
        api_free(api);
}

/* TestAddPool */
static void test_add_pool(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, SVC("service-a", ",'loadBalancerIP':'10.0.20.10'"));
        assert_string_equal(svc_reason(api, "default", "service-a"), "no_pool");
        api_pool(api, "{'metadata':{'name':'pool-b'},'spec':{'blocks':[{'cidr':'10.0.20.0/24'}]}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.20.10");
        assert_string_equal(svc_reason(api, "default", "service-a"), "satisfied");
        api_free(api);
}

/* TestAddRange */
static void test_add_range(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, SVC("a", ""));
        api_svc(api, SVC("service-a", ",'loadBalancerIP':'10.0.20.10'"));
        assert_string_equal(svc_reason(api, "default", "service-a"), "no_pool");
        api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.0/24'},"
                      "{'cidr':'10.0.20.0/24'}]}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.20.10");
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.0");
        assert_string_equal(pool_cond(api, "pool-a", TOTAL, "message"), "512");
        assert_int_equal(pool_cond_generation(api, "pool-a", TOTAL), 2);
        api_free(api);
}

/* TestDisablePool: drain — existing stay, no new ones. */
static void test_disable_pool(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, POOL_A);
        api_svc(api, SVC("service-a", ""));
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        api_patch_pool(api, "pool-a", "{'spec':{'disabled':true}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        assert_string_equal(svc_reason(api, "default", "service-a"), "satisfied");
        api_svc(api, SVC("service-b", ""));
        assert_string_equal(svc_ips(api, "default", "service-b"), "");
        assert_string_equal(svc_reason(api, "default", "service-b"), "no_pool");
        api_svc(api, SVC("service-c", ",'loadBalancerIP':'10.0.10.50'"));
        assert_string_equal(svc_reason(api, "default", "service-c"), "no_pool");
        api_patch_pool(api, "pool-a", "{'spec':{'disabled':false}}");
        assert_string_equal(svc_ips(api, "default", "service-b"), "10.0.10.1");
        assert_string_equal(svc_ips(api, "default", "service-c"), "10.0.10.50");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        api_free(api);
}

/* TestPoolDelete: satisfied again from another pool. */
static void test_pool_delete(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, POOL_A);
        api_pool(api, "{'metadata':{'name':'pool-b'},'spec':{'blocks':[{'cidr':'10.0.20.0/24'}]}}");
        api_svc(api, SVC("service-a", ""));
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        api_delete_pool(api, "pool-a");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.20.0");
        assert_true(events_contain(api, "Released IP 10.0.10.0: pool 'pool-a' was deleted"));
        assert_true(events_contain(api, "Allocated IP 10.0.20.0 from pool 'pool-b'"));
        api_free(api);
}

/* TestRangeDelete: a removed block's allocations go; unchanged blocks keep
 * theirs. */
static void test_range_delete(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.0/24'},"
                      "{'cidr':'10.0.30.0/24'}]}}");
        api_svc(api, SVC("service-a", ""));
        api_svc(api, SVC("service-b", ",'loadBalancerIP':'10.0.30.5'"));
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.0");
        api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.20.0/24'},"
                      "{'cidr':'10.0.30.0/24'}]}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.20.0");
        assert_string_equal(svc_ips(api, "default", "service-b"), "10.0.30.5");
        assert_true(events_contain(api, "Released IP 10.0.10.0: the block of pool 'pool-a' "
                                        "containing it was removed"));
        api_free(api);
}

/* TestAllowFirstLastIPs */
static void test_allow_first_last_ips(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.16/30'}],"
                      "'allowFirstLastIPs':'Yes'}}");
        api_svc(api, SVC("service-a", ",'loadBalancerIP':'10.0.10.16'"));
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.16");
        assert_string_equal(svc_status(api, "default", "service-a"), "True");
        api_free(api);
}

/* TestUpdateAllowFirstAndLastIPs */
static void test_update_allow_first_and_last_ips(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':'10.0.10.16/30'}],"
                      "'allowFirstLastIPs':'No'}}");
        assert_string_equal(pool_cond(api, "pool-a", TOTAL, "message"), "4");
        assert_string_equal(pool_cond(api, "pool-a", AVAIL, "message"), "2");
        assert_string_equal(pool_cond(api, "pool-a", USED, "message"), "2");
        api_svc(api, SVC("service-a", ",'loadBalancerIP':'10.0.10.16'"));
        assert_string_equal(svc_ips(api, "default", "service-a"), "");
        assert_string_equal(svc_reason(api, "default", "service-a"), "already_allocated");
        api_svc(api, SVC("b", ""));
        api_svc(api, SVC("c", ""));
        api_svc(api, SVC("d", ""));
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.10.17");
        assert_string_equal(svc_ips(api, "default", "c"), "10.0.10.18");
        assert_string_equal(svc_reason(api, "default", "d"), "out_of_ips");
        api_patch_pool(api, "pool-a", "{'spec':{'allowFirstLastIPs':'Yes'}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.16");
        assert_string_equal(svc_ips(api, "default", "d"), "10.0.10.19");
        /* back to No: holders keep them, and they are counted once */
        api_patch_pool(api, "pool-a", "{'spec':{'allowFirstLastIPs':'No'}}");
        assert_string_equal(svc_ips(api, "default", "service-a"), "10.0.10.16");
        assert_string_equal(svc_ips(api, "default", "d"), "10.0.10.19");
        assert_string_equal(pool_cond(api, "pool-a", USED, "message"), "4");
        /* once let go, they stay reserved */
        api_delete_svc(api, "default", "d");
        assert_string_equal(pool_cond(api, "pool-a", USED, "message"), "4");
        api_svc(api, SVC("e", ""));
        assert_string_equal(svc_reason(api, "default", "e"), "out_of_ips");
        api_free(api);
}

/* /31, /32, /127, /128 have no reserved addresses even with No. */
static void test_tiny_blocks(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, "{'metadata':{'name':'p'},'spec':{'allowFirstLastIPs':'No','blocks':["
                      "{'cidr':'10.0.0.0/31'},{'cidr':'10.0.1.7/32'},{'cidr':'ff::/127'},"
                      "{'cidr':'ff:1::1/128'}]}}");
        assert_string_equal(pool_cond(api, "p", TOTAL, "message"), "6");
        assert_string_equal(pool_cond(api, "p", AVAIL, "message"), "6");
        for (int i = 0; i < 3; i++)
                api_svc(api, "{'metadata':{'name':'v4-%d'},'spec':{'type':'LoadBalancer'}}", i);
        for (int i = 0; i < 3; i++)
                api_svc(api,
                        "{'metadata':{'name':'v6-%d'},'spec':{'type':'LoadBalancer',"
                        "'ipFamilies':['IPv6']}}",
                        i);
        assert_string_equal(svc_ips(api, "default", "v4-0"), "10.0.0.0");
        assert_string_equal(svc_ips(api, "default", "v4-1"), "10.0.0.1");
        assert_string_equal(svc_ips(api, "default", "v4-2"), "10.0.1.7");
        assert_string_equal(svc_ips(api, "default", "v6-0"), "ff::");
        assert_string_equal(svc_ips(api, "default", "v6-1"), "ff::1");
        assert_string_equal(svc_ips(api, "default", "v6-2"), "ff:1::1");
        assert_string_equal(pool_cond(api, "p", AVAIL, "message"), "0");
        assert_string_equal(pool_cond(api, "p", USED, "message"), "6");
        api_free(api);
}

/* Exact big counts: an IPv6 /64 has 2^64 addresses and costs one node. */
static void test_big_counts(void **state)
{
        struct api *api = api_new_started(true, true);

        (void)state;
        api_pool(api, "{'metadata':{'name':'v6'},'spec':{'blocks':[{'cidr':'2001:db8::/64'}]}}");
        assert_string_equal(pool_cond(api, "v6", TOTAL, "message"), "18446744073709551616");
        assert_string_equal(pool_cond(api, "v6", AVAIL, "message"), "18446744073709551616");
        assert_string_equal(pool_cond(api, "v6", USED, "message"), "0");
        assert_string_equal(pool_cond(api, "v6", TOTAL, "status"), "Unknown");
        assert_string_equal(pool_cond(api, "v6", TOTAL, "reason"), "noreason");
        api_svc(api, SVC("a", ",'ipFamilies':['IPv6']"));
        assert_string_equal(svc_ips(api, "default", "a"), "2001:db8::");
        assert_string_equal(pool_cond(api, "v6", AVAIL, "message"), "18446744073709551615");
        assert_string_equal(pool_cond(api, "v6", USED, "message"), "1");
        api_pool(api, "{'metadata':{'name':'v4'},'spec':{'blocks':[{'cidr':'10.0.0.0/8'}],"
                      "'allowFirstLastIPs':'No'}}");
        assert_string_equal(pool_cond(api, "v4", TOTAL, "message"), "16777216");
        assert_string_equal(pool_cond(api, "v4", AVAIL, "message"), "16777214");
        api_pool(api, "{'metadata':{'name':'all'},'spec':{'blocks':[{'cidr':'8000::/1'}]}}");
        assert_string_equal(pool_cond(api, "all", TOTAL, "message"),
                            "170141183460469231731687303715884105728");
        assert_true(ipam_n_free_intervals(api->ipam) <= 4);
        api_free(api);
}

/* Bad blocks reject the whole update; the previous spec and its
 * allocations stay; the reason is reported. */
static void test_bad_blocks(void **state)
{
        static const struct {
                const char *blocks, *error;
        } cases[] = {
            {"{'cidr':'10.0.10.0/33'}", "blocks[1]: invalid CIDR '10.0.10.0/33'"},
            {"{'cidr':'banana'}", "blocks[1]: invalid CIDR 'banana'"},
            {"{'start':'10.0.0.1','stop':'ff::1'}",
             "blocks[1]: start and stop IPs are of different families (start '10.0.0.1', "
             "stop 'ff::1')"},
            {"{'start':'10.0.0.9','stop':'10.0.0.1'}",
             "blocks[1]: start IP is greater than stop IP (start '10.0.0.9', stop "
             "'10.0.0.1')"},
            {"{'start':'10.0.0.x'}",
             "blocks[1]: unable to parse start IP (start '10.0.0.x', stop '')"},
            {"{'start':'10.0.0.1','stop':'y'}",
             "blocks[1]: unable to parse stop IP (start '10.0.0.1', stop 'y')"},
            {"{}", "blocks[1]: needs a cidr or a start address"},
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct api *api = api_new_started(true, true);
                struct ipam_pool_status st;

                api_pool(api, POOL_A);
                api_svc(api, SVC("a", ""));
                assert_int_equal(api_pool(api,
                                          "{'metadata':{'name':'pool-a'},'spec':{'blocks':"
                                          "[{'cidr':'10.0.20.0/24'},%s]}}",
                                          cases[i].blocks),
                                 -EINVAL);
                assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.0");
                ipam_pool_status(api->ipam, "pool-a", &st);
                assert_string_equal(st.error, cases[i].error);
                ipam_pool_status_done(&st);
                assert_string_equal(pool_cond(api, "pool-a", TOTAL, "message"), "256");
                /* observedGeneration stays at the accepted spec */
                assert_int_equal(pool_cond_generation(api, "pool-a", TOTAL), 1);
                assert_true(events_contain(api, "Warning pool/pool-a InvalidSpec: Pool update "
                                                "rejected, the previous spec stays in effect: "));
                assert_true(events_contain(api, cases[i].error));
                /* the next good version is taken; the error goes */
                api_pool(api, "{'metadata':{'name':'pool-a'},'spec':{'blocks':[{'cidr':"
                              "'10.0.10.0/24'},{'cidr':'10.0.20.0/24'}]}}");
                ipam_pool_status(api->ipam, "pool-a", &st);
                assert_null(st.error);
                ipam_pool_status_done(&st);
                assert_string_equal(pool_cond(api, "pool-a", TOTAL, "message"), "512");
                assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.0");
                api_free(api);
        }
}

/* A never-valid pool allocates nothing; an empty pool is accepted with a
 * warning. */
static void test_invalid_new_pool_and_empty_pool(void **state)
{
        struct api *api = api_new_started(true, false);
        struct ipam_pool_status st;

        (void)state;
        assert_int_equal(api_pool(api, "{'metadata':{'name':'bad'},'spec':{'blocks':[{'cidr':"
                                       "'10.0.0.0/24'},{'cidr':'nope'}]}}"),
                         -EINVAL);
        assert_true(events_contain(api, "Warning pool/bad InvalidSpec: Pool update rejected, the "
                                        "pool allocates nothing: blocks[1]: invalid CIDR 'nope'"));
        api_svc(api, SVC("a", ""));
        assert_string_equal(svc_reason(api, "default", "a"), "no_pool");
        assert_string_equal(pool_cond(api, "bad", TOTAL, "message"), "0");

        api_pool(api, "{'metadata':{'name':'empty'},'spec':{}}");
        ipam_pool_status(api->ipam, "empty", &st);
        assert_true(st.known);
        assert_null(st.error);
        assert_string_equal(st.warning, "the pool has no blocks");
        ipam_pool_status_done(&st);
        assert_string_equal(pool_cond(api, "empty", TOTAL, "message"), "0");
        assert_string_equal(svc_reason(api, "default", "a"), "no_pool");
        api_free(api);
}

/* A pool whose selector is broken selects nothing and never takes IPs away
 * from services of other pools; an update breaking it keeps the previous. */
static void test_broken_selector(void **state)
{
        struct api *api = api_new_started(true, false);
        struct ipam_pool_status st;

        (void)state;
        api_pool(api, "{'metadata':{'name':'good'},'spec':{'blocks':[{'cidr':'10.0.10.0/24'}],"
                      "'serviceSelector':{'matchLabels':{'color':'blue'}}}}");
        api_svc(api, "{'metadata':{'name':'a','labels':{'color':'blue'}},'spec':{'type':"
                     "'LoadBalancer'}}");
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.0");
        /* a new broken pool with priority and a block containing a's IP */
        assert_int_equal(api_pool(api, "{'metadata':{'name':'broken','annotations':{"
                                       "'lbipam.l2lb.io/priority':'100'}},'spec':{'blocks':[{"
                                       "'cidr':'10.0.10.0/24'}],'serviceSelector':{"
                                       "'matchExpressions':[{'key':'color','operator':'Like',"
                                       "'values':['b']}]}}}"),
                         -EINVAL);
        ipam_pool_status(api->ipam, "broken", &st);
        assert_string_equal(st.error,
                            "serviceSelector: \"Like\" is not a valid label selector operator");
        ipam_pool_status_done(&st);
        api_svc(api, "{'metadata':{'name':'b','labels':{'color':'blue'}},'spec':{'type':"
                     "'LoadBalancer'}}");
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.10.1");
        assert_string_equal(pool_cond(api, "good", CONFLICT, "status"), "False");
        /* the good pool gets a broken selector: the update is rejected */
        assert_int_equal(api_pool(api, "{'metadata':{'name':'good'},'spec':{'blocks':[{'cidr':"
                                       "'10.0.10.0/24'}],'serviceSelector':{'matchExpressions':"
                                       "[{'key':'color','operator':'In','values':[]}]}}}"),
                         -EINVAL);
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.10.0");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.10.1");
        api_free(api);
}

/* l2lb's priority: higher first, then name; invalid values are rejected. */
static void test_pool_priority(void **state)
{
        struct api *api = api_new_started(true, false);
        struct ipam_pool_status st;

        (void)state;
        api_pool(api, "{'metadata':{'name':'a-pool'},'spec':{'blocks':[{'cidr':'10.1.0.0/24'}]}}");
        api_pool(api, "{'metadata':{'name':'b-pool'},'spec':{'blocks':[{'cidr':'10.2.0.0/24'}]}}");
        api_svc(api, SVC("s1", ""));
        assert_string_equal(svc_ips(api, "default", "s1"), "10.1.0.0"); /* by name */
        api_pool(api, "{'metadata':{'name':'z-pool','annotations':{'lbipam.l2lb.io/priority':"
                      "'10'}},'spec':{'blocks':[{'cidr':'10.26.0.0/24'}]}}");
        api_svc(api, SVC("s2", ""));
        assert_string_equal(svc_ips(api, "default", "s2"), "10.26.0.0");
        /* existing allocations do not move with priorities */
        assert_string_equal(svc_ips(api, "default", "s1"), "10.1.0.0");
        api_pool(api, "{'metadata':{'name':'a-pool','annotations':{'lbipam.l2lb.io/priority':"
                      "'-5'}},'spec':{'blocks':[{'cidr':'10.1.0.0/24'}]}}");
        api_pool(api, "{'metadata':{'name':'z-pool','annotations':{'lbipam.l2lb.io/priority':"
                      "'-1'}},'spec':{'blocks':[{'cidr':'10.26.0.0/24'}]}}");
        api_svc(api, SVC("s3", ""));
        assert_string_equal(svc_ips(api, "default", "s3"), "10.2.0.0");
        assert_int_equal(api_pool(api, "{'metadata':{'name':'b-pool','annotations':{"
                                       "'lbipam.l2lb.io/priority':'high'}},'spec':{'blocks':[{"
                                       "'cidr':'10.2.0.0/24'}]}}"),
                         -EINVAL);
        ipam_pool_status(api->ipam, "b-pool", &st);
        assert_string_equal(st.error, "annotation lbipam.l2lb.io/priority: 'high' is not an "
                                      "integer between -2147483648 and 2147483647");
        assert_int_equal(st.priority, 0);
        ipam_pool_status_done(&st);
        assert_int_equal(api_pool(api, "{'metadata':{'name':'b-pool','annotations':{"
                                       "'lbipam.l2lb.io/priority':'99999999999'}},'spec':{"
                                       "'blocks':[{'cidr':'10.2.0.0/24'}]}}"),
                         -EINVAL);
        api_free(api);
}

/* Requested IPs follow priority too when pools overlap? They cannot (one is
 * marked); but a service matched by several pools takes the first in order
 * and moves on when it is full. */
static void test_order_spills_over(void **state)
{
        struct api *api = api_new_started(true, false);

        (void)state;
        api_pool(api, "{'metadata':{'name':'first','annotations':{'lbipam.l2lb.io/priority':"
                      "'1'}},'spec':{'blocks':[{'start':'10.0.0.5','stop':'10.0.0.6'}]}}");
        api_pool(api, "{'metadata':{'name':'second'},'spec':{'blocks':[{'start':'10.9.0.1'}]}}");
        api_svc(api, SVC("a", ""));
        api_svc(api, SVC("b", ""));
        api_svc(api, SVC("c", ""));
        api_svc(api, SVC("d", ""));
        assert_string_equal(svc_ips(api, "default", "a"), "10.0.0.5");
        assert_string_equal(svc_ips(api, "default", "b"), "10.0.0.6");
        assert_string_equal(svc_ips(api, "default", "c"), "10.9.0.1");
        assert_string_equal(svc_reason(api, "default", "d"), "out_of_ips");
        api_free(api);
}

/* ---- pools with many blocks (issue 11: a pool with 10,000 blocks) ---- */

/* A pool of n /30 blocks at 10.128.0.0 + 4 i, without block skip, plus
 * extra (a JSON fragment, or ""). */
static char *many_blocks_pool(const char *name, int n, int skip, const char *extra)
{
        GString *s = g_string_new(NULL);

        g_string_append_printf(s, "{'metadata':{'name':'%s'},'spec':{'blocks':[", name);
        for (int i = 0; i < n; i++) {
                uint32_t a = (10u << 24 | 128u << 16) + 4u * (uint32_t)i;

                if (i != skip)
                        g_string_append_printf(s, "{'cidr':'%u.%u.%u.%u/30'},", a >> 24,
                                               a >> 16 & 255, a >> 8 & 255, a & 255);
        }
        g_string_append(s, extra);
        if (s->str[s->len - 1] == ',')
                g_string_truncate(s, s->len - 1);
        g_string_append(s, "]}}");
        return g_string_free(s, FALSE);
}

/* Creating, editing and settling conflicts of a pool with 40,000 blocks:
 * the counts, the conflict messages at the very end of the pool, the
 * allocation. What it costs is measured by bench/ipam/bench-ipam-blocks
 * (it took seconds when every pair of ranges was compared), not here. */
static void test_many_blocks(void **state)
{
        enum { N = 40000 };
        struct api *api = api_new_started(true, false);
        g_autofree char *big = many_blocks_pool("big", N, -1, "");
        g_autofree char *edited = many_blocks_pool("big", N, N / 2, "");
        g_autofree char *dup = many_blocks_pool("big", N, N / 2, "{'cidr':'10.130.112.253/32'}");
        g_autofree char *count = NULL;

        (void)state;
        assert_int_equal(api_pool(api, "%s", big), 0);
        count = g_strdup_printf("%d", 4 * N);
        assert_string_equal(pool_cond(api, "big", TOTAL, "message"), count);
        assert_string_equal(pool_cond(api, "big", CONFLICT, "status"), "False");
        api_svc(api, SVC("s1", ""));
        assert_string_equal(svc_ips(api, "default", "s1"), "10.128.0.0");

        /* a younger pool overlapping the last block: marked, naming it */
        api_pool(api, "{'metadata':{'name':'late'},'spec':{'blocks':[{'cidr':'10.200.0.0/24'},"
                      "{'cidr':'10.130.112.254/31'}]}}");
        assert_string_equal(pool_cond(api, "late", CONFLICT, "message"),
                            "Pool conflicts since range '10.130.112.254 - 10.130.112.255' overlaps "
                            "range '10.130.112.252 - 10.130.112.255' from IP Pool 'big'");
        assert_string_equal(pool_cond(api, "big", CONFLICT, "status"), "False");
        api_delete_pool(api, "late");

        /* an edit keeping every block but one */
        api_pool(api, "%s", edited);
        g_free(count);
        count = g_strdup_printf("%d", 4 * (N - 1));
        assert_string_equal(pool_cond(api, "big", TOTAL, "message"), count);
        assert_string_equal(svc_ips(api, "default", "s1"), "10.128.0.0");

        /* an overlap inside it, at the very end */
        api_pool(api, "%s", dup);
        assert_string_equal(pool_cond(api, "big", CONFLICT, "message"),
                            "Pool conflicts since range '10.130.112.252 - 10.130.112.255' overlaps "
                            "range '10.130.112.253 - 10.130.112.253' from IP Pool 'big'");
        api_delete_pool(api, "big");
        assert_string_equal(svc_reason(api, "default", "s1"), "no_pool");
        api_free(api);
}

/* The conflict found (and named in the message) is the first overlapping
 * pair in the order of a nested loop over the sorted ranges, as the
 * pairwise check found it: random pools against a brute-force reference. */
static int range_qcmp(const void *a, const void *b)
{
        return iprange_cmp(a, b);
}

static void random_block(GRand *rng, bool v6, int slot_bits, int slot, char *buf, size_t size,
                         struct iprange *ret)
{
        int len = g_rand_int_range(rng, 32 - slot_bits, 33);
        uint32_t off = (uint32_t)slot << slot_bits;

        off += (uint32_t)g_rand_int_range(rng, 0, 1 << slot_bits) & ~((1u << (32 - len)) - 1);
        if (v6)
                (void)snprintf(buf, size, "fd00::%x:%x/%d", off >> 16, off & 0xffff, 96 + len);
        else
                (void)snprintf(buf, size, "10.0.%u.%u/%d", off >> 8 & 255, off & 255, len);
        assert_int_equal(iprange_parse_cidr(buf, ret), 0);
}

/* n blocks, each in a slot of its own (2^slot_bits addresses) when
 * disjoint, anywhere in 10.0.0.0/22 otherwise; some IPv6 */
static char *random_pool(GRand *rng, const char *name, int n, int slot_bits, bool disjoint,
                         struct iprange *ranges)
{
        GString *s = g_string_new(NULL);
        int nslots = 1 << (10 - slot_bits);
        bool used[2][1 << 10] = {{false}};

        g_string_append_printf(s, "{'metadata':{'name':'%s'},'spec':{'blocks':[", name);
        for (int i = 0; i < n; i++) {
                bool v6 = g_rand_int_range(rng, 0, 4) == 0;
                int slot;
                char buf[64];

                do
                        slot = g_rand_int_range(rng, 0, nslots);
                while (disjoint && used[v6][slot]);
                used[v6][slot] = true;
                random_block(rng, v6, slot_bits, slot, buf, sizeof(buf), &ranges[i]);
                g_string_append_printf(s, "%s{'cidr':'%s'}", i ? "," : "", buf);
        }
        g_string_append(s, "]}}");
        qsort(ranges, (size_t)n, sizeof(*ranges), range_qcmp);
        return g_string_free(s, FALSE);
}

static char *expected_message(const struct iprange *a, int na, const struct iprange *b, int nb,
                              const char *b_name, bool same)
{
        char x[2 * IPADDR_STRLEN + 4], y[2 * IPADDR_STRLEN + 4];

        for (int i = 0; i < na; i++)
                for (int j = same ? i + 1 : 0; j < nb; j++)
                        if (iprange_overlaps(&a[i], &b[j]))
                                return same ? g_strdup_printf(
                                                  "Pool conflicts since range '%s' overlaps range "
                                                  "'%s' from IP Pool '%s'",
                                                  iprange_format(&a[i], x, sizeof(x)),
                                                  iprange_format(&b[j], y, sizeof(y)), b_name)
                                            : g_strdup_printf(
                                                  "Pool conflicts since range '%s' overlaps range "
                                                  "'%s' from IP Pool '%s'",
                                                  iprange_format(&b[j], y, sizeof(y)),
                                                  iprange_format(&a[i], x, sizeof(x)), b_name);
        return NULL;
}

static void test_conflict_first_overlap_random(void **state)
{
        g_autoptr(GRand) rng = g_rand_new_with_seed(11);
        int found[2][2] = {{0}}; /* [two pools][conflict] */

        (void)state;
        for (int round = 0; round < 300; round++) {
                struct api *api = api_new_started(true, true);
                struct iprange a[24], b[12];
                int na = g_rand_int_range(rng, 1, 24), nb = g_rand_int_range(rng, 1, 12);
                g_autofree char *ja = NULL, *jb = NULL, *want = NULL;

                if (round % 2) {
                        /* one pool, blocks anywhere: its own first overlap */
                        ja = random_pool(rng, "a", na, 4, false, a);
                        api_pool(api, "%s", ja);
                        want = expected_message(a, na, a, na, "a", true);
                        if (want)
                                assert_string_equal(pool_cond(api, "a", CONFLICT, "message"), want);
                        else
                                assert_string_equal(pool_cond(api, "a", CONFLICT, "status"),
                                                    "False");
                } else {
                        /* two internally disjoint pools: the younger names the first
                         * overlap, in the older one's order */
                        ja = random_pool(rng, "a", na, 4, true, a);
                        jb = random_pool(rng, "b", nb, 6, true, b);
                        api_pool(api, "%s", ja);
                        api_pool(api, "%s", jb);
                        want = expected_message(a, na, b, nb, "a", false);
                        assert_string_equal(pool_cond(api, "a", CONFLICT, "status"), "False");
                        if (want)
                                assert_string_equal(pool_cond(api, "b", CONFLICT, "message"), want);
                        else
                                assert_string_equal(pool_cond(api, "b", CONFLICT, "status"),
                                                    "False");
                }
                found[round % 2 == 0][want != NULL]++;
                api_free(api);
        }
        print_message("rounds (one pool, two pools) without / with a conflict: %d/%d, %d/%d\n",
                      found[0][0], found[0][1], found[1][0], found[1][1]);
        for (int i = 0; i < 4; i++)
                assert_true(found[i / 2][i % 2] >= 20);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_conflict_resolution),
            cmocka_unit_test(test_pool_internal_conflict),
            cmocka_unit_test(test_conflict_order_and_uniqueness),
            cmocka_unit_test(test_intersects),
            cmocka_unit_test(test_range_from_prefix),
            cmocka_unit_test(test_add_pool),
            cmocka_unit_test(test_add_range),
            cmocka_unit_test(test_disable_pool),
            cmocka_unit_test(test_pool_delete),
            cmocka_unit_test(test_range_delete),
            cmocka_unit_test(test_allow_first_last_ips),
            cmocka_unit_test(test_update_allow_first_and_last_ips),
            cmocka_unit_test(test_tiny_blocks),
            cmocka_unit_test(test_big_counts),
            cmocka_unit_test(test_bad_blocks),
            cmocka_unit_test(test_invalid_new_pool_and_empty_pool),
            cmocka_unit_test(test_broken_selector),
            cmocka_unit_test(test_pool_priority),
            cmocka_unit_test(test_order_spills_over),
            cmocka_unit_test(test_many_blocks),
            cmocka_unit_test(test_conflict_first_overlap_random),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
