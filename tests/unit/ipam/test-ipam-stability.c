/* Stability, the point of l2lb's LB-IPAM: a satisfied service keeps its IP
 * across pool edits — adding blocks, widening or shrinking blocks around it
 * (Cilium #40358, #41458), rewriting a cidr as start/stop, moving a block to
 * another pool, adding pools (even of higher priority), unrelated edits —
 * as long as the IP stays valid for it. And determinism: the same inputs
 * give the same IPs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <stdio.h>

#include "helpers.h"
#include "lib/util.h"

#define SVC(name, extra_spec)                                                                      \
        "{'metadata':{'name':'" name "'},'spec':{'type':'LoadBalancer'" extra_spec "}}"

static void assert_unchanged(struct api *api, const char *before)
{
        g_autofree char *after = api_ip_map(api);

        assert_string_equal(after, before);
}

/* Cilium #40358: widening a start/stop block. */
static void test_widen_block(void **state)
{
        struct api *api = api_new_started(true, false);
        g_autofree char *before = NULL;

        (void)state;
        api_pool(api, "{'metadata':{'name':'public'},'spec':{'blocks':[{'start':'192.168.1.120',"
                      "'stop':'192.168.1.127'}],'serviceSelector':{'matchExpressions':[{'key':"
                      "'public','operator':'In','values':['true']}]}}}");
        for (int i = 0; i < 9; i++)
                api_svc(api,
                        "{'metadata':{'name':'s%d','labels':{'public':'true'}},'spec':{"
                        "'type':'LoadBalancer'}}",
                        i);
        api_delete_svc(api, "default", "s2");
        assert_string_equal(svc_reason(api, "default", "s8"), "satisfied");
        api_svc(api, "{'metadata':{'name':'s9','labels':{'public':'true'}},'spec':{"
                     "'type':'LoadBalancer'}}");
        assert_string_equal(svc_reason(api, "default", "s9"), "out_of_ips");
        before = api_ip_map(api);
        api_patch_pool(api, "public",
                       "{'spec':{'blocks':[{'start':'192.168.1.117','stop':"
                       "'192.168.1.127'}]}}");
        /* only the waiting one changes: it gets the lowest new address */
        assert_string_equal(svc_ips(api, "default", "s9"), "192.168.1.117");
        api_patch_svc(api, "default", "s9", "{'spec':{'type':'ClusterIP'}}");
        assert_unchanged(api, before);
        assert_false(events_contain(api, "IPReleased: Released IP 192.168.1.12"));
        api_free(api);
}

/* Cilium #41458: shrinking (splitting) a block around used addresses. */
static void test_shrink_block(void **state)
{
        struct api *api = api_new_started(true, false);
        g_autofree char *before = NULL;

        (void)state;
        api_pool(api, "{'metadata':{'name':'p'},'spec':{'blocks':[{'start':'192.168.15.9',"
                      "'stop':'192.168.15.50'}]}}");
        for (int i = 0; i < 20; i++)
                api_svc(api, "{'metadata':{'name':'s%02d'},'spec':{'type':'LoadBalancer'}}", i);
        api_svc(api, SVC("high", ",'loadBalancerIP':'192.168.15.49'"));
        api_svc(api, "{'metadata':{'name':'shared1','annotations':{'lbipam.cilium.io/sharing-"
                     "key':'ingress'}},'spec':{'type':'LoadBalancer','ports':[{'port':80}]}}");
        api_svc(api, "{'metadata':{'name':'shared2','annotations':{'lbipam.cilium.io/sharing-"
                     "key':'ingress'}},'spec':{'type':'LoadBalancer','ports':[{'port':443}]}}");
        before = api_ip_map(api);
        api_patch_pool(api, "p",
                       "{'spec':{'blocks':[{'start':'192.168.15.9','stop':"
                       "'192.168.15.39'},{'start':'192.168.15.49','stop':"
                       "'192.168.15.50'}]}}");
        assert_unchanged(api, before);
        assert_false(events_contain(api, "IPReleased"));
        api_free(api);
}

/* Adding blocks, adding pools (even preferred ones), unrelated edits,
 * a cidr rewritten as start/stop, a block moved to another pool. */
static void test_edits_never_move_ips(void **state)
{
        struct api *api = api_new_started(true, true);
        g_autofree char *before = NULL;

        (void)state;
        api_pool(api, "{'metadata':{'name':'a'},'spec':{'blocks':[{'cidr':'10.0.0.0/28'},"
                      "{'cidr':'fd00::/120'}]}}");
        for (int i = 0; i < 6; i++)
                api_svc(api,
                        "{'metadata':{'name':'s%d','labels':{'team':'x'}},'spec':{'type':"
                        "'LoadBalancer','ipFamilyPolicy':'%s'}}",
                        i, i % 2 ? "SingleStack" : "PreferDualStack");
        before = api_ip_map(api);

        api_patch_pool(api, "a",
                       "{'spec':{'blocks':[{'cidr':'10.0.0.0/28'},{'cidr':'fd00::/120'},"
                       "{'cidr':'10.9.0.0/24'}]}}");
        assert_unchanged(api, before);
        api_pool(api, "{'metadata':{'name':'0-first','annotations':{'lbipam.l2lb.io/priority':"
                      "'100'}},'spec':{'blocks':[{'cidr':'10.5.0.0/24'}]}}");
        assert_unchanged(api, before);
        api_patch_pool(api, "a",
                       "{'metadata':{'labels':{'owner':'me'},'annotations':{"
                       "'lbipam.l2lb.io/priority':'7'}}}");
        assert_unchanged(api, before);
        api_patch_pool(api, "a", "{'spec':{'serviceSelector':{'matchLabels':{'team':'x'}}}}");
        assert_unchanged(api, before);
        api_patch_pool(api, "a", "{'spec':{'allowFirstLastIPs':'No'}}");
        assert_unchanged(api, before);
        api_patch_pool(api, "a", "{'spec':{'disabled':true}}");
        assert_unchanged(api, before);
        api_patch_pool(api, "a", "{'spec':{'disabled':false}}");
        assert_unchanged(api, before);
        /* the cidr as an equivalent start/stop: same range */
        api_patch_pool(api, "a",
                       "{'spec':{'blocks':[{'start':'10.0.0.0','stop':'10.0.0.15'},"
                       "{'cidr':'fd00::/120'},{'cidr':'10.9.0.0/24'}]}}");
        assert_unchanged(api, before);
        /* widen the v6 block, narrow the v4 one around its users */
        api_patch_pool(api, "a",
                       "{'spec':{'blocks':[{'start':'10.0.0.0','stop':'10.0.0.9'},"
                       "{'cidr':'fd00::/64'}]}}");
        assert_unchanged(api, before);
        /* move the v4 block to a new pool that selects the same services */
        api_pool(api, "{'metadata':{'name':'b'},'spec':{'blocks':[{'cidr':'10.0.0.0/28'}],"
                      "'serviceSelector':{'matchLabels':{'team':'x'}}}}");
        api_patch_pool(api, "a", "{'spec':{'blocks':[{'cidr':'fd00::/64'}]}}");
        assert_string_equal(pool_cond(api, "b", "cilium.io/PoolConflict", "status"), "False");
        assert_unchanged(api, before);
        assert_false(events_contain(api, "IPReleased"));
        assert_string_equal(pool_cond(api, "b", "cilium.io/IPsUsed", "message"), "6");
        api_free(api);
}

/* A pool deleted while another pool contains the same addresses (the
 * conflicting one, now unmarked): the services keep their IPs. */
static void test_pool_replaced_by_overlapping_pool(void **state)
{
        struct api *api = api_new_started(true, false);
        g_autofree char *before = NULL;

        (void)state;
        api_pool(api, "{'metadata':{'name':'old'},'spec':{'blocks':[{'cidr':'10.0.0.0/24'}]}}");
        for (int i = 0; i < 4; i++)
                api_svc(api, "{'metadata':{'name':'s%d'},'spec':{'type':'LoadBalancer'}}", i);
        before = api_ip_map(api);
        api_pool(api, "{'metadata':{'name':'new'},'spec':{'blocks':[{'cidr':'10.0.0.0/23'}]}}");
        assert_string_equal(pool_cond(api, "new", "cilium.io/PoolConflict", "status"), "True");
        api_delete_pool(api, "old");
        assert_string_equal(pool_cond(api, "new", "cilium.io/PoolConflict", "status"), "False");
        assert_unchanged(api, before);
        api_free(api);
}

/* The same sequence of inputs always gives the same IPs. */
static void run_scenario(struct api *api)
{
        api_pool(api, "{'metadata':{'name':'p1'},'spec':{'blocks':[{'cidr':'10.0.0.0/27'}]}}");
        api_pool(api, "{'metadata':{'name':'p2','annotations':{'lbipam.l2lb.io/priority':'2'}},"
                      "'spec':{'blocks':[{'cidr':'10.1.0.0/29'}],'serviceSelector':{"
                      "'matchLabels':{'tier':'front'}}}}");
        for (int i = 0; i < 30; i++) {
                api_svc(api,
                        "{'metadata':{'name':'s%d','labels':{'tier':'%s'}},'spec':{'type':"
                        "'LoadBalancer'}}",
                        i, i % 3 ? "back" : "front");
                if (i % 7 == 6)
                        api_delete_svc(api, "default", "s3");
                if (i % 5 == 4)
                        api_patch_svc(api, "default", "s1", "{'metadata':{'labels':{'tier':'%s'}}}",
                                      i % 2 ? "front" : "back");
        }
        api_patch_pool(api, "p2", "{'spec':{'blocks':[{'cidr':'10.1.0.0/28'}]}}");
}

static void test_deterministic(void **state)
{
        struct api *a = api_new_started(true, false), *b = api_new_started(true, false);
        g_autofree char *da = NULL, *db = NULL;

        (void)state;
        run_scenario(a);
        run_scenario(b);
        da = api_dump(a);
        db = api_dump(b);
        assert_string_equal(da, db);
        assert_string_equal(api_events(a), api_events(b));
        api_free(a);
        api_free(b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_widen_block),
            cmocka_unit_test(test_shrink_block),
            cmocka_unit_test(test_edits_never_move_ips),
            cmocka_unit_test(test_pool_replaced_by_overlapping_pool),
            cmocka_unit_test(test_deterministic),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
